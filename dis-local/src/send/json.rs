//! SendRecords in JSON (`Content-Type: application/json`), the DIS document's bodies: the
//! request read with serde, borrowing `data` and keys from the body (no allocation per record
//! unless a string has escapes) and keeping at most the record limit's worth of records, and
//! the 200 answer written by hand into one buffer.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::refusal::{Refusal, THROTTLED_CODE, THROTTLED_MESSAGE};
use super::validate::{Fields, SendEntry, SendRequest};
use crate::routing::{push_shard_id, push_u64};
use crate::store::{Outcome, Placed};

/// Reads a JSON `PutRecordsRequest`, keeping at most `keep` records (the record limit): past
/// it every record is still read (a mistyped one refuses the body, as within it) and counted, but
/// dropped at once, so a body of a million `{"data":""}` costs no more than its size.
pub(super) fn parse(body: &[u8], keep: usize) -> Result<PutRecords<'_>, Refusal> {
    // What `serde_json::from_slice` does, with a seed.
    let mut de = serde_json::Deserializer::from_slice(body);
    let request = Request { keep }
        .deserialize(&mut de)
        .map_err(Refusal::invalid_body)?;
    de.end().map_err(Refusal::invalid_body)?;
    Ok(request)
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
/// types these fields `string` (not nullable) and DIS's SDKs never send `null`. (`stream_id`
/// of [`PutRecords`] is read the same way by its visitor.)
fn present<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Str<'a>>, D::Error> {
    Str::deserialize(d).map(Some)
}

/// The JSON `PutRecordsRequest`: `stream_name` (a string), `stream_id` (a string when
/// present, `null` refused), `records` (an array of [`Entry`]); other fields are ignored.
pub(super) struct PutRecords<'a> {
    stream_name: Str<'a>,
    stream_id: Option<Str<'a>>,
    /// The first records, at most the record limit.
    records: Vec<Entry<'a>>,
    /// How many records the body has.
    count: usize,
}

/// Reads a [`PutRecords`] as `#[derive(Deserialize)]` did (the same errors: missing and
/// duplicate fields, mistyped values), keeping at most `keep` records.
struct Request {
    keep: usize,
}

const FIELDS: &[&str] = &["stream_name", "stream_id", "records"];

impl<'de> DeserializeSeed<'de> for Request {
    type Value = PutRecords<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_struct("PutRecords", FIELDS, self)
    }
}

impl<'de> Visitor<'de> for Request {
    type Value = PutRecords<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct PutRecords")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut stream_name = None;
        let mut stream_id = None;
        let mut records = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::StreamName if stream_name.is_some() => {
                    return Err(de::Error::duplicate_field("stream_name"));
                }
                Field::StreamName => stream_name = Some(map.next_value::<Str<'de>>()?),
                Field::StreamId if stream_id.is_some() => {
                    return Err(de::Error::duplicate_field("stream_id"));
                }
                Field::StreamId => stream_id = Some(map.next_value::<Str<'de>>()?),
                Field::Records if records.is_some() => {
                    return Err(de::Error::duplicate_field("records"));
                }
                Field::Records => records = Some(map.next_value_seed(Records { keep: self.keep })?),
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let stream_name = stream_name.ok_or_else(|| de::Error::missing_field("stream_name"))?;
        let (records, count) = records.ok_or_else(|| de::Error::missing_field("records"))?;
        Ok(PutRecords {
            stream_name,
            stream_id,
            records,
            count,
        })
    }
}

/// A field name of a `PutRecordsRequest`.
enum Field {
    StreamName,
    StreamId,
    Records,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("field identifier")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "stream_name" => Field::StreamName,
                    "stream_id" => Field::StreamId,
                    "records" => Field::Records,
                    _ => Field::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// The `records` array: its first `keep` entries, and how many it has.
struct Records {
    keep: usize,
}

impl<'de> DeserializeSeed<'de> for Records {
    type Value = (Vec<Entry<'de>>, usize);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records {
    type Value = (Vec<Entry<'de>>, usize);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::new();
        let mut count = 0usize;
        while let Some(entry) = seq.next_element::<Entry<'de>>()? {
            count += 1;
            if records.len() < self.keep {
                records.push(entry);
            }
        }
        Ok((records, count))
    }
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
    fn record_count(&self) -> usize {
        self.count
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
