//! SendRecords in JSON (`Content-Type: application/json`), the DIS document's bodies: the
//! request read with serde, borrowing `data` and keys from the body (no allocation per record
//! unless a string has escapes), and the 200 answer written by hand into one buffer.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use serde::Deserialize;
use serde::de::{Deserializer, Visitor};

use super::refusal::Refusal;
use super::validate::{Fields, SendEntry, SendRequest};
use super::{THROTTLED_CODE, THROTTLED_MESSAGE};
use crate::routing::{push_shard_id, push_u64};
use crate::store::{Outcome, Placed};

/// Reads a JSON `PutRecordsRequest`.
pub(super) fn parse(body: &[u8]) -> Result<PutRecords<'_>, Refusal> {
    serde_json::from_slice(body).map_err(Refusal::invalid_body)
}

/// The 200 answer: `{"failed_record_count":N,"records":[...]}`, each record
/// `{"partition_id","sequence_number"}` or `{"error_code","error_message"}`.
pub(super) fn answer(outcome: &Outcome) -> Vec<u8> {
    let records = outcome.records();
    let mut out = Vec::with_capacity(48 + records.len() * 64);
    out.extend_from_slice(b"{\"failed_record_count\":");
    push_u64(&mut out, outcome.not_stored());
    out.extend_from_slice(b",\"records\":[");
    for (i, placed) in records.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match placed {
            Placed::Throttled => {
                out.extend_from_slice(b"{\"error_code\":\"");
                out.extend_from_slice(THROTTLED_CODE.as_bytes());
                out.extend_from_slice(b"\",\"error_message\":\"");
                out.extend_from_slice(THROTTLED_MESSAGE.as_bytes());
                out.extend_from_slice(b"\"}");
            }
            Placed::Stored {
                partition,
                sequence,
            } => {
                out.extend_from_slice(b"{\"partition_id\":\"");
                push_shard_id(&mut out, partition);
                out.extend_from_slice(b"\",\"sequence_number\":\"");
                push_u64(&mut out, sequence);
                out.extend_from_slice(b"\"}");
            }
        }
    }
    out.extend_from_slice(b"]}");
    out
}

/// A string borrowed from the body when it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// An optional string that, when present, must be a string: `null` is refused, as the spec
/// types these fields `string` (not nullable) and DIS's SDKs never send `null`.
fn present<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Str<'a>>, D::Error> {
    Str::deserialize(d).map(Some)
}

/// The JSON `PutRecordsRequest`.
#[derive(Deserialize)]
pub(super) struct PutRecords<'a> {
    #[serde(borrow)]
    stream_name: Str<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    stream_id: Option<Str<'a>>,
    #[serde(borrow)]
    records: Vec<Entry<'a>>,
}

/// One JSON `PutRecordsRequestEntry`.
#[derive(Deserialize)]
pub(super) struct Entry<'a> {
    #[serde(borrow)]
    data: Str<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    partition_id: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    partition_key: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    explicit_hash_key: Option<Str<'a>>,
}

impl<'a> SendRequest for PutRecords<'a> {
    type Entry = Entry<'a>;
    const FIELDS: Fields = Fields {
        stream_name: "stream_name",
        records: "records",
        data: "data",
        partition_id: "partition_id",
        explicit_hash_key: "explicit_hash_key",
        decoded: " after Base64 decoding",
    };
    fn stream_name(&self) -> &str {
        &self.stream_name.0
    }
    fn stream_id(&self) -> Option<&str> {
        self.stream_id.as_ref().map(|s| s.0.as_ref())
    }
    fn records(&self) -> &[Entry<'a>] {
        &self.records
    }
}

impl SendEntry for Entry<'_> {
    fn data_size(&self) -> Option<usize> {
        let data = self.data.0.as_bytes();
        if !data.len().is_multiple_of(4) {
            return None;
        }
        let pad = data
            .iter()
            .rev()
            .take(2)
            .take_while(|&&b| b == b'=')
            .count();
        Some(data.len() / 4 * 3 - pad)
    }
    fn decode_into(&self, buf: &mut Vec<u8>) -> bool {
        base64::engine::general_purpose::STANDARD
            .decode_vec(self.data.0.as_bytes(), buf)
            .is_ok()
    }
    fn partition_id(&self) -> Option<&str> {
        self.partition_id.as_ref().map(|s| s.0.as_ref())
    }
    fn partition_key(&self) -> Option<&str> {
        self.partition_key.as_ref().map(|s| s.0.as_ref())
    }
    fn explicit_hash_key(&self) -> Option<&str> {
        self.explicit_hash_key.as_ref().map(|s| s.0.as_ref())
    }
}
