//! Request bodies as the producer writes them: straight into one buffer per request, JSON (the
//! Base64 text encoded in place, strings escaped, no allocation per record, nothing parsed
//! again) or protobuf as Huawei's SDKs send it (the data as raw bytes, no Base64).
//!
//! `DisClient::send` keeps the generated, spec-exact path; a property test checks that both
//! write the same JSON value.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use prost::Message as _;

use crate::proto;
use crate::record::Record;

/// How the producer writes request bodies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyFormat {
    /// `application/json`, as the DIS API document describes it (the default).
    #[default]
    Json,
    /// `application/x-protobuf`, as Huawei's hand-written SDKs can send it: record data travels
    /// as raw bytes, a third smaller than Base64 and with nothing to encode.
    Protobuf,
}

impl BodyFormat {
    /// The request's `Content-Type` (and what the answer is asked for in `Accept`).
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            BodyFormat::Json => "application/json",
            BodyFormat::Protobuf => "application/x-protobuf; charset=utf-8",
        }
    }
}

/// Writes the body of a request for `stream_name` carrying `records` into `out`.
pub(crate) fn write<'a>(
    format: BodyFormat,
    stream_name: &str,
    records: impl ExactSizeIterator<Item = &'a Record>,
    out: &mut Vec<u8>,
) {
    match format {
        BodyFormat::Json => write_json(stream_name, records, out),
        BodyFormat::Protobuf => write_protobuf(stream_name, records, out),
    }
}

/// Appends `s` as a JSON string, quoted and escaped (quotes, backslashes, control characters;
/// any other Unicode as it is).
fn json_str(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, s).expect("writing JSON into a Vec cannot fail");
}

fn write_json<'a>(stream_name: &str, records: impl Iterator<Item = &'a Record>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"stream_name\":");
    json_str(stream_name, out);
    out.extend_from_slice(b",\"records\":[");
    for (i, record) in records.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"data\":\"");
        // Base64 straight into the buffer: its alphabet needs no escaping.
        let at = out.len();
        out.resize(
            at + base64::encoded_len(record.data.len(), true).unwrap_or(0),
            0,
        );
        let written = BASE64
            .encode_slice(&record.data, &mut out[at..])
            .expect("the buffer was sized for the Base64 text");
        out.truncate(at + written);
        out.push(b'"');
        let fields = [
            ("explicit_hash_key", &record.explicit_hash_key),
            ("partition_id", &record.partition_id),
            ("partition_key", &record.partition_key),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":");
                json_str(value, out);
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

fn write_protobuf<'a>(
    stream_name: &str,
    records: impl ExactSizeIterator<Item = &'a Record>,
    out: &mut Vec<u8>,
) {
    let message = proto::PutRecordsRequest {
        stream_name: Some(stream_name.to_owned()),
        records: records
            .map(|r| proto::PutRecordsRequestEntry {
                // A reference count, not a copy of the payload.
                data: Some(r.data.clone()),
                explicit_hash_key: r.explicit_hash_key.clone(),
                partition_key: r.partition_key.clone(),
                partition_id: r.partition_id.clone(),
                timestamp: None,
            })
            .collect(),
        // Python's copy of the message marks streamId required: always present, empty when
        // the stream is named.
        stream_id: Some(String::new()),
    };
    message
        .encode(out)
        .expect("encoding into a Vec cannot run out of room");
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::*;
    use crate::request;
    use crate::validate::Limits;

    /// Keys with every awkward character: quotes, backslashes, control characters, any Unicode.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("\"\\\u{0}\u{1f}\n\r\t\u{8}\u{c}\u{7f}\u{2028}\u{2029}😀é中".to_owned()),
            any::<String>(),
        ]
    }

    fn record() -> impl Strategy<Value = Record> {
        (
            prop_oneof![
                3 => proptest::collection::vec(any::<u8>(), 0..300),
                1 => Just(Vec::new()),
            ],
            proptest::option::of(key()),
            proptest::option::of(prop_oneof![
                Just("0".to_owned()),
                Just("9223372036854775807".to_owned()),
                (0u64..=i64::MAX as u64).prop_map(|n| n.to_string()),
            ]),
            proptest::option::of(prop_oneof![
                Just("shardId-0000000001".to_owned()),
                (0u32..100).prop_map(|n| n.to_string()),
            ]),
        )
            .prop_map(|(data, key, hash, id)| {
                let mut r = Record::new(data);
                r.partition_key = key;
                r.explicit_hash_key = hash;
                r.partition_id = id;
                r
            })
    }

    /// The generated types' serde serialization of the same request.
    fn generated_json(stream: &str, records: &[Record]) -> serde_json::Value {
        let limits = Limits::COMMON.with_max_records_per_request(10_000);
        let body = request::build(stream, records, &limits).unwrap();
        serde_json::to_value(&body).unwrap()
    }

    fn lean_json(stream: &str, records: &[Record]) -> serde_json::Value {
        let mut out = Vec::new();
        write(BodyFormat::Json, stream, records.iter(), &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn lean_json_equals_the_generated_serialization(
            records in proptest::collection::vec(record(), 1..20),
            stream in "[a-zA-Z0-9_\\-\"\\\\]{1,60}",
        ) {
            prop_assert_eq!(lean_json(&stream, &records), generated_json(&stream, &records));
        }

        #[test]
        fn protobuf_decodes_to_the_same_records(records in proptest::collection::vec(record(), 1..20)) {
            let mut out = Vec::new();
            write(BodyFormat::Protobuf, "s", records.iter(), &mut out);
            let back = proto::PutRecordsRequest::decode(&out[..]).unwrap();
            prop_assert_eq!(back.stream_name.as_deref(), Some("s"));
            prop_assert_eq!(back.stream_id.as_deref(), Some(""));
            prop_assert_eq!(back.records.len(), records.len());
            for (e, r) in back.records.iter().zip(&records) {
                prop_assert_eq!(e.data.as_ref(), Some(&r.data));
                prop_assert_eq!(&e.partition_key, &r.partition_key);
                prop_assert_eq!(&e.explicit_hash_key, &r.explicit_hash_key);
                prop_assert_eq!(&e.partition_id, &r.partition_id);
            }
        }
    }

    #[test]
    fn one_mib_of_data_and_empty_data() {
        let records = [
            Record::new(Bytes::from(vec![0xffu8; 1024 * 1024])),
            Record::new(Bytes::new()),
        ];
        assert_eq!(lean_json("s", &records), generated_json("s", &records));
    }
}
