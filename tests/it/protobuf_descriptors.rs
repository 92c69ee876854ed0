//! The crate's prost messages (`dis-records-proto`, used through `src/proto.rs`) checked
//! against the reviewer's copy `openapi/dis-records.proto`, compiled here with protox (pure
//! Rust, no protoc) and read with prost-reflect's `DynamicMessage`: only the .proto's
//! descriptors and the public API count.
//!
//! - Request: a request with every field set, written by `BodyFormat::Protobuf`, decodes with
//!   no unknown field, under the descriptor's names, with the values it was built from, also
//!   after re-encoding; every field the descriptor declares is written or allow-listed.
//! - Answer (behavioural): a loopback server answers a producer sending protobuf with a
//!   `PutRecordsResult` built from the descriptor, every field set; each value must come back
//!   in the deliveries, `failedRecordCount` in the warning that reports a wrong count.

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

use bytes::Bytes;
use dis_records::generated::{Base64Data, types};
use dis_records::{BodyFormat, Credentials, DisClient, Failure, Producer, ProducerConfig, Record};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage, Value};
use support::CannedServer;

static PROTO: LazyLock<DescriptorPool> = LazyLock::new(|| {
    let openapi = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
    protox::Compiler::new([&openapi])
        .unwrap()
        .open_file(openapi.join("dis-records.proto"))
        .expect("openapi/dis-records.proto compiles")
        .descriptor_pool()
});

fn message(name: &str) -> MessageDescriptor {
    PROTO
        .get_message_by_name(&format!("com.huaweicloud.dis.iface.data.request.{name}"))
        .unwrap_or_else(|| panic!("dis-records.proto declares no {name}"))
}

/// Request fields the .proto declares that dis-records never writes. (`extendedInfo` = 7 is
/// commented out in the .proto, so its descriptor has no such field.)
const NOT_WRITTEN: &[(&str, &str)] = &[
    // Not in the DIS document's JSON tables, so the generated request has nowhere to hold it;
    // src/proto.rs always leaves it empty.
    ("PutRecordsRequestEntry", "timestamp"),
];

const STREAM_NAME: &str = "stream-1";
const STREAM_ID: &str = "0bd1fd0b-0b27-4d8c-9c1a-6ae1e5f1b6c4";

/// `(data, partitionKey, partitionId, explicitHashKey)` of each record.
type Row = (
    &'static [u8],
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);
const RECORDS: &[Row] = &[
    (
        b"\x00\xff raw, not Base64",
        Some("key \"1\" \u{2713}"),
        Some("shardId-0000000001"),
        Some("9223372036854775807"),
    ),
    // Empty data is still written: proto2 keeps its presence.
    (b"", Some("k"), Some("2"), Some("0")),
    // Nothing optional: only `data` may be written.
    (b"text", None, None, None),
];

/// The generated request of `RECORDS`, with every field the generated type has.
fn request() -> types::PutRecordsRequest {
    types::PutRecordsRequest {
        stream_name: STREAM_NAME.try_into().unwrap(),
        stream_id: Some(STREAM_ID.into()),
        records: RECORDS
            .iter()
            .map(|&(data, key, id, hash)| types::PutRecordsRequestEntry {
                data: Base64Data(Bytes::from_static(data)),
                partition_key: key.map(str::to_owned),
                partition_id: id.map(|p| p.try_into().unwrap()),
                explicit_hash_key: hash.map(|h| h.try_into().unwrap()),
            })
            .collect(),
    }
}

/// The same request built from the descriptor, by the .proto's field names (`set_field_by_name`
/// panics on a name or value type the .proto does not declare).
fn expected() -> DynamicMessage {
    let string = |s: &str| Value::String(s.to_owned());
    let mut m = DynamicMessage::new(message("PutRecordsRequest"));
    m.set_field_by_name("streamName", string(STREAM_NAME));
    m.set_field_by_name("streamId", string(STREAM_ID));
    let records = RECORDS.iter().map(|&(data, key, id, hash)| {
        let mut e = DynamicMessage::new(message("PutRecordsRequestEntry"));
        e.set_field_by_name("data", Value::Bytes(Bytes::from_static(data)));
        for (name, value) in [
            ("partitionKey", key),
            ("partitionId", id),
            ("explicitHashKey", hash),
        ] {
            if let Some(v) = value {
                e.set_field_by_name(name, string(v));
            }
        }
        Value::Message(e)
    });
    m.set_field_by_name("records", Value::List(records.collect()));
    m
}

fn protobuf_body(request: &types::PutRecordsRequest) -> Vec<u8> {
    let mut out = Vec::new();
    BodyFormat::Protobuf.encode(request, &mut out);
    out
}

fn decode(name: &str, body: &[u8]) -> DynamicMessage {
    DynamicMessage::decode(message(name), body)
        .unwrap_or_else(|e| panic!("does not decode as the .proto's {name}: {e}"))
}

/// The messages nested in `value` (a message field, or a list of them).
fn messages(value: &Value) -> Vec<&DynamicMessage> {
    match value {
        Value::Message(m) => vec![m],
        Value::List(items) => items.iter().flat_map(messages).collect(),
        _ => vec![],
    }
}

/// `(message, field)` of every field set in `m` and the messages in it.
fn fields_set(m: &DynamicMessage, out: &mut BTreeSet<(String, String)>) {
    for (field, value) in m.fields() {
        out.insert((m.descriptor().name().into(), field.name().into()));
        messages(value)
            .into_iter()
            .for_each(|inner| fields_set(inner, out));
    }
}

/// `(message, field)` of every field the .proto declares in `names`.
fn fields_declared(names: &[&str]) -> BTreeSet<(String, String)> {
    let mut declared = BTreeSet::new();
    for name in names {
        declared.extend(
            message(name)
                .fields()
                .map(|f| (name.to_string(), f.name().into())),
        );
    }
    declared
}

/// Fields in `m` (and nested) that the descriptor does not know, by path and number.
fn unknown_fields(m: &DynamicMessage, path: &str) -> Vec<String> {
    let mut found: Vec<String> = m
        .unknown_fields()
        .map(|u| format!("{path}: field {} ({:?})", u.number(), u.wire_type()))
        .collect();
    for (field, value) in m.fields() {
        for (i, inner) in messages(value).into_iter().enumerate() {
            found.extend(unknown_fields(
                inner,
                &format!("{path}.{}[{i}]", field.name()),
            ));
        }
    }
    found
}

#[test]
fn request_bytes_carry_no_field_the_proto_does_not_declare() {
    let decoded = decode("PutRecordsRequest", &protobuf_body(&request()));
    assert_eq!(
        unknown_fields(&decoded, "PutRecordsRequest"),
        Vec::<String>::new()
    );
}

#[test]
fn request_values_arrive_under_the_proto_field_names() {
    let decoded = decode("PutRecordsRequest", &protobuf_body(&request()));
    assert_eq!(decoded, expected());
}

#[test]
fn request_reencoded_from_the_proto_decodes_to_the_same_values() {
    let decoded = decode("PutRecordsRequest", &protobuf_body(&request()));
    let again = decode("PutRecordsRequest", &decoded.encode_to_vec());
    assert_eq!(again, decoded);
    assert_eq!(again, expected());
}

#[test]
fn every_request_field_the_proto_declares_is_written_or_allow_listed() {
    let decoded = decode("PutRecordsRequest", &protobuf_body(&request()));
    let mut written = BTreeSet::new();
    fields_set(&decoded, &mut written);
    let not_written: BTreeSet<_> = NOT_WRITTEN
        .iter()
        .map(|&(m, f)| (m.to_owned(), f.to_owned()))
        .collect();
    let declared = fields_declared(&["PutRecordsRequest", "PutRecordsRequestEntry"]);
    let missing: Vec<_> = declared
        .difference(&written)
        .filter(|f| !not_written.contains(f))
        .collect();
    assert!(missing.is_empty(), "declared, never written: {missing:?}");
    // An allow-listed field must exist in the .proto and stay unwritten, or the list is stale.
    assert!(
        not_written.is_subset(&declared),
        "{not_written:?} not all in {declared:?}"
    );
    assert!(
        written.is_disjoint(&not_written),
        "allow-listed but written: {written:?}"
    );
}

/// The descriptor's answer to one request: each record stored or refused by its data, and a
/// `failedRecordCount` of 7, wrong on purpose: the entries decide, so the count shows only in
/// the warning that reports a disagreement.
fn answer_to(request: &DynamicMessage) -> DynamicMessage {
    let records = request.get_field_by_name("records").unwrap();
    let entries = messages(&records).into_iter().map(|record| {
        let data = record.get_field_by_name("data").unwrap();
        let fields: &[(&str, &str)] = match data.as_bytes().unwrap().as_ref() {
            b"stored" => &[("shardId", "shardId-0000000003"), ("sequenceNumber", "42")],
            b"refused" => &[("errorCode", "DIS.4302"), ("errorMessage", "refused here")],
            other => panic!("unexpected record {other:?}"),
        };
        let mut entry = DynamicMessage::new(message("PutRecordsResultEntry"));
        for &(name, value) in fields {
            entry.set_field_by_name(name, Value::String(value.into()));
        }
        Value::Message(entry)
    });
    let mut result = DynamicMessage::new(message("PutRecordsResult"));
    result.set_field_by_name("failedRecordCount", Value::I32(7));
    result.set_field_by_name("records", Value::List(entries.collect()));
    result
}

/// What the tracing subscriber writes, kept.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn http_answer(body: &[u8]) -> Vec<u8> {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf";
    let mut out = format!("{head}\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

#[tokio::test]
async fn every_answer_field_the_proto_declares_reaches_the_producer() {
    // Warnings of this test's thread (the current-thread runtime runs every task here).
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let served = Arc::new(Mutex::new(Vec::new()));
    let answers = served.clone();
    let server = CannedServer::start(move |req| {
        let answer = answer_to(&decode("PutRecordsRequest", &req.body));
        let body = answer.encode_to_vec();
        answers.lock().unwrap().push(answer);
        http_answer(&body)
    })
    .await;
    let client = DisClient::builder(&server.endpoint, "p")
        .credentials(Credentials::token("t"))
        .build()
        .unwrap();
    let config = ProducerConfig::default().with_body_format(BodyFormat::Protobuf);
    let producer = Producer::new(client, "s", config).unwrap();
    let kept = support::Kept::default();
    let records = [Record::new("stored"), Record::new("refused")];
    producer.send_all(records, kept.sink()).await;
    let mut deliveries = kept.take();

    // What was served covers every field the .proto declares in the answer.
    let mut served_fields = BTreeSet::new();
    served
        .lock()
        .unwrap()
        .iter()
        .for_each(|a| fields_set(a, &mut served_fields));
    assert_eq!(
        served_fields,
        fields_declared(&["PutRecordsResult", "PutRecordsResultEntry"])
    );
    // And each value came back.
    assert_eq!(deliveries.len(), 2);
    deliveries.sort_by_key(|d| d.id);
    let ack = deliveries[0].result.as_ref().expect("stored");
    assert_eq!(
        (ack.partition_id.as_str(), ack.sequence_number.as_str()),
        ("shardId-0000000003", "42")
    );
    match &deliveries[1].result {
        Err(Failure::Refused { code, message }) => {
            assert_eq!(
                (code.as_str(), message.as_str()),
                ("DIS.4302", "refused here")
            )
        }
        other => panic!("expected DIS.4302, got {other:?}"),
    }
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("failed_record_count=7"),
        "failedRecordCount not read:\n{log}"
    );
}
