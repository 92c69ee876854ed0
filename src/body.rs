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
