//! Checks a request against DIS limits before any byte is sent. [`record`] is the one check of
//! a record, wherever it comes in (a request, a producer, a producer's buffer), and says its
//! size on the wire.
//!
//! The patterns (`explicit_hash_key`, `partition_id`) and `stream_name`'s length are checked by
//! the newtypes that progenitor generates from the spec, so the spec stays the one source of
//! truth; this module turns their errors into [`ValidationError`]s that name the field, the
//! record's index and the limit.

use crate::error::{ConfigError, Error, ValidationError};
use crate::generated::types;
use crate::ids::PartitionId;
use crate::record::Record;

/// `stream_name`'s maximum length in the DIS document (表3: 最大长度 60).
pub(crate) const MAX_STREAM_NAME_LEN: usize = 60;
/// One record: at most 1 MiB of raw bytes before Base64.
pub(crate) const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// One request to a common stream: at most 1 MiB of record data.
pub(crate) const COMMON_STREAM_REQUEST_BYTES: usize = 1024 * 1024;
/// One request to an advanced stream: at most 5 MiB of record data.
pub(crate) const ADVANCED_STREAM_REQUEST_BYTES: usize = 5 * 1024 * 1024;
/// Records per request: not documented by DIS; 500 is the common third-party figure.
pub(crate) const DEFAULT_RECORDS_PER_REQUEST: usize = 500;
/// Most records per request a client may be configured with (buffers are sized from it).
const MAX_RECORDS_PER_REQUEST_BOUND: usize = 10_000;
/// Largest request a client may be configured with (64 MiB; DIS's largest is 5 MiB).
const MAX_REQUEST_BYTES_BOUND: usize = 64 * 1024 * 1024;

/// Limits a request must respect, checked before any byte is sent. The default is a DIS
/// common stream ([`Limits::COMMON`]); change one with the `with_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    pub(crate) max_record_bytes: usize,
    pub(crate) max_request_bytes: usize,
    pub(crate) max_records_per_request: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self::COMMON
    }
}

impl Limits {
    /// A DIS common stream: 1 MiB per record, 1 MiB of record data per request, 500 records
    /// per request.
    pub const COMMON: Limits = Limits {
        max_record_bytes: MAX_RECORD_BYTES,
        max_request_bytes: COMMON_STREAM_REQUEST_BYTES,
        max_records_per_request: DEFAULT_RECORDS_PER_REQUEST,
    };
    /// A DIS advanced stream: as [`Limits::COMMON`], with 5 MiB of record data per request.
    pub const ADVANCED: Limits = Limits {
        max_record_bytes: MAX_RECORD_BYTES,
        max_request_bytes: ADVANCED_STREAM_REQUEST_BYTES,
        max_records_per_request: DEFAULT_RECORDS_PER_REQUEST,
    };

    /// Raw bytes of one record, before Base64 (DIS: at most 1 MiB).
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Raw bytes of all records of one request (partition keys are not counted, as in DIS).
    pub fn with_max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// Records in one request.
    pub fn with_max_records_per_request(mut self, records: usize) -> Self {
        self.max_records_per_request = records;
        self
    }

    /// Largest JSON body sent: the request's data budget in Base64, plus room for keys and
    /// framing. Partition keys are not in DIS's data budget, but they are on the wire: 500
    /// records with 8 KiB keys would otherwise make a 4 MB body that an endpoint refuses (413).
    pub(crate) fn max_body_bytes(&self) -> usize {
        self.max_request_bytes.div_ceil(3) * 4 + 64 * 1024 + BODY_FRAME
    }

    /// Checks that the limits can be met, and that nothing sized from them can exhaust memory:
    /// `max_records_per_request` in 1..=10,000, `max_request_bytes` in 1..=64 MiB,
    /// `max_record_bytes` in 1..=`max_request_bytes`.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let bad = |field: &str, value: usize, bound: String| {
            Err(Error::Config(ConfigError::new(
                format!("limits: {field}"),
                format!("is {value}, it must be in {bound}"),
            )))
        };
        if !(1..=MAX_RECORDS_PER_REQUEST_BOUND).contains(&self.max_records_per_request) {
            return bad(
                "max_records_per_request",
                self.max_records_per_request,
                format!("1..={MAX_RECORDS_PER_REQUEST_BOUND}"),
            );
        }
        if !(1..=MAX_REQUEST_BYTES_BOUND).contains(&self.max_request_bytes) {
            return bad(
                "max_request_bytes",
                self.max_request_bytes,
                format!("1..={MAX_REQUEST_BYTES_BOUND} (64 MiB)"),
            );
        }
        if !(1..=self.max_request_bytes).contains(&self.max_record_bytes) {
            return bad(
                "max_record_bytes",
                self.max_record_bytes,
                format!("1..=max_request_bytes ({})", self.max_request_bytes),
            );
        }
        Ok(())
    }
}

/// Checks `stream_name` (not empty, at most 60 characters) and returns the generated newtype.
pub(crate) fn stream_name(
    name: &str,
) -> Result<types::PutRecordsRequestStreamName, ValidationError> {
    if name.is_empty() {
        return Err(ValidationError::StreamNameEmpty);
    }
    types::PutRecordsRequestStreamName::try_from(name).map_err(|_| {
        ValidationError::StreamNameTooLong {
            len: name.chars().count(),
            max: MAX_STREAM_NAME_LEN,
        }
    })
}

/// A record's keys, each by its name on the wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys<'a> {
    /// Routes by its hash.
    pub(crate) partition_key: Option<&'a str>,
    /// Routes to this partition.
    pub(crate) partition_id: Option<&'a str>,
    /// Overrides the hash of `partition_key`.
    pub(crate) explicit_hash_key: Option<&'a str>,
}

impl<'a> Keys<'a> {
    /// The keys of `record`.
    pub(crate) fn of(record: &'a Record) -> Self {
        Keys {
            partition_key: record.partition_key.as_deref(),
            partition_id: record.partition_id.as_deref(),
            explicit_hash_key: record.explicit_hash_key.as_deref(),
        }
    }

    /// The keys of a wire entry.
    pub(crate) fn of_entry(entry: &'a types::PutRecordsRequestEntry) -> Self {
        Keys {
            partition_key: entry.partition_key.as_deref(),
            partition_id: entry.partition_id.as_deref(),
            explicit_hash_key: entry.explicit_hash_key.as_deref().map(String::as_str),
        }
    }

    /// The keys present, each with its name.
    fn named(self) -> impl Iterator<Item = (&'static str, &'a str)> {
        [
            ("partition_key", self.partition_key),
            ("partition_id", self.partition_id),
            ("explicit_hash_key", self.explicit_hash_key),
        ]
        .into_iter()
        .filter_map(|(name, key)| key.map(|k| (name, k)))
    }

    /// Their bytes, as held in memory.
    pub(crate) fn bytes(self) -> usize {
        self.named().map(|(_, k)| k.len()).sum()
    }
}

/// Room in a JSON body for what surrounds the entries (`{"stream_name":...,"records":[...]}`).
pub(crate) const BODY_FRAME: usize = 512;
/// What one entry adds around its fields (its braces, the property names, quotes and commas).
const ENTRY_FRAME: usize = 96;

/// Length of `s` as a JSON string's contents (escapes included).
fn json_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum()
}

/// Bytes an entry of `data` bytes of data and these keys adds to a JSON request body: its data
/// in Base64, its keys escaped, framing.
pub(crate) fn wire_size(data: usize, keys: Keys<'_>) -> usize {
    data.div_ceil(3) * 4 + keys.named().map(|(_, k)| json_len(k)).sum::<usize>() + ENTRY_FRAME
}

/// A record that meets every DIS limit: its keys as the spec's types, and its size on the wire.
#[derive(Debug)]
pub(crate) struct Valid {
    /// Its `explicit_hash_key`, matched against the spec's pattern.
    pub(crate) explicit_hash_key: Option<types::PutRecordsRequestEntryExplicitHashKey>,
    /// Its `partition_id`, matched against the spec's pattern.
    pub(crate) partition_id: Option<PartitionId>,
    /// Bytes its entry adds to a JSON body ([`wire_size`]).
    pub(crate) wire: usize,
}

/// Checks `record` as record `index` of a request, in this order: its data's size, its entry's
/// size on the wire (it must fit one request's body), then its `explicit_hash_key` and
/// `partition_id` against the spec's patterns, through the generated newtypes (built only for
/// the keys it has). The first limit broken is the error, naming the field and the limit.
pub(crate) fn record(
    record: &Record,
    index: usize,
    limits: &Limits,
) -> Result<Valid, ValidationError> {
    let data = record.data.len();
    if data > limits.max_record_bytes {
        return Err(ValidationError::RecordTooLarge {
            index,
            size: data,
            max: limits.max_record_bytes,
        });
    }
    let keys = Keys::of(record);
    let wire = wire_size(data, keys);
    let max = limits.max_body_bytes() - BODY_FRAME;
    if wire > max {
        // Named by its largest part; on a tie the later one (data last).
        let (field, field_bytes) = keys
            .named()
            .map(|(name, k)| (name, k.len()))
            .chain([("data", data)])
            .max_by_key(|&(_, n)| n)
            .unwrap_or(("data", data));
        return Err(ValidationError::EntryTooLarge {
            index,
            field,
            field_bytes,
            wire,
            max,
        });
    }
    let explicit_hash_key = keys
        .explicit_hash_key
        .map(|value| {
            types::PutRecordsRequestEntryExplicitHashKey::try_from(value).map_err(|_| {
                ValidationError::ExplicitHashKey {
                    index,
                    value: value.to_owned(),
                }
            })
        })
        .transpose()?;
    let partition_id = keys
        .partition_id
        .map(|value| {
            PartitionId::try_from(value).map_err(|_| ValidationError::PartitionId {
                index,
                value: value.to_owned(),
            })
        })
        .transpose()?;
    Ok(Valid {
        explicit_hash_key,
        partition_id,
        wire,
    })
}

/// Checks the number of records of one request.
pub(crate) fn record_count(count: usize, limits: &Limits) -> Result<(), ValidationError> {
    if count == 0 {
        return Err(ValidationError::NoRecords);
    }
    if count > limits.max_records_per_request {
        return Err(ValidationError::TooManyRecords {
            count,
            max: limits.max_records_per_request,
        });
    }
    Ok(())
}

/// Checks the total raw size of the records of one request.
pub(crate) fn request_bytes(total_bytes: usize, limits: &Limits) -> Result<(), ValidationError> {
    if total_bytes > limits.max_request_bytes {
        return Err(ValidationError::RequestTooLarge {
            size: total_bytes,
            max: limits.max_request_bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field an entry too large is named by, and the sizes its error gives.
    fn too_large(r: &Record, limits: &Limits) -> (&'static str, usize, usize, usize) {
        match record(r, 3, limits) {
            Err(ValidationError::EntryTooLarge {
                index: 3,
                field,
                field_bytes,
                wire,
                max,
            }) => (field, field_bytes, wire, max),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_entry_too_large_is_named_by_its_largest_part() {
        let limits = Limits::COMMON;
        let max = limits.max_body_bytes() - BODY_FRAME;
        let key = "k".repeat(max);
        let r = Record::new("data")
            .with_partition_key(key.clone())
            .with_explicit_hash_key("1");
        let wire = wire_size(4, Keys::of(&r));
        assert_eq!(too_large(&r, &limits), ("partition_key", max, wire, max));
        // On a tie, the later part: data after the keys, each key after the one before.
        let limits = Limits::COMMON.with_max_record_bytes(max);
        let r = Record::new(vec![0u8; max / 2])
            .with_partition_key("p".repeat(max / 2))
            .with_partition_id("q".repeat(max / 2));
        assert_eq!(too_large(&r, &limits).0, "data");
        let r = Record::new("")
            .with_partition_key("p".repeat(max / 2))
            .with_partition_id("q".repeat(max / 2));
        assert_eq!(too_large(&r, &limits).0, "partition_id");
    }

    #[test]
    fn a_valid_record_says_its_size_on_the_wire() {
        let r = Record::new("abcd")
            .with_partition_key("k\"")
            .with_partition_id("1")
            .with_explicit_hash_key("12");
        let valid = record(&r, 0, &Limits::COMMON).unwrap();
        // Base64 of 4 bytes is 8; the key's quote is escaped; then the frame.
        assert_eq!(valid.wire, 8 + 3 + 1 + 2 + ENTRY_FRAME);
        assert_eq!(valid.partition_id.as_deref(), Some("1"));
        assert!(valid.explicit_hash_key.is_some());
    }
}
