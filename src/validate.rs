//! Checks a request against DIS limits before any byte is sent.
//!
//! The patterns (`explicit_hash_key`, `partition_id`) and `stream_name`'s length are checked by
//! the newtypes that progenitor generates from the spec, so the spec stays the one source of
//! truth; this module turns their errors into [`ValidationError`]s that name the field, the
//! record's index and the limit.

use crate::error::{ConfigError, Error, ValidationError};
use crate::generated::types;
use crate::ids::PartitionId;

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

/// Checks `explicit_hash_key` of record `index` against the spec's pattern.
pub(crate) fn explicit_hash_key(
    index: usize,
    value: &str,
) -> Result<types::PutRecordsRequestEntryExplicitHashKey, ValidationError> {
    types::PutRecordsRequestEntryExplicitHashKey::try_from(value).map_err(|_| {
        ValidationError::ExplicitHashKey {
            index,
            value: value.to_owned(),
        }
    })
}

/// Checks `partition_id` of record `index` against the spec's pattern.
pub(crate) fn partition_id(index: usize, value: &str) -> Result<PartitionId, ValidationError> {
    PartitionId::try_from(value).map_err(|_| ValidationError::PartitionId {
        index,
        value: value.to_owned(),
    })
}

/// Checks one record's raw size.
pub(crate) fn record_size(
    index: usize,
    size: usize,
    limits: &Limits,
) -> Result<(), ValidationError> {
    if size > limits.max_record_bytes {
        return Err(ValidationError::RecordTooLarge {
            index,
            size,
            max: limits.max_record_bytes,
        });
    }
    Ok(())
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

/// Checks that record `index`'s entry, `wire` bytes in a JSON body, fits one request's body
/// (`max`); when not, the error names its largest part: `data` (`data` bytes) or one of its
/// keys (`keys`: the sizes of `partition_key`, `partition_id`, `explicit_hash_key`).
pub(crate) fn entry_size(
    index: usize,
    data: usize,
    keys: [usize; 3],
    wire: usize,
    max: usize,
) -> Result<(), ValidationError> {
    if wire <= max {
        return Ok(());
    }
    let names = ["partition_key", "partition_id", "explicit_hash_key"];
    let (field, field_bytes) = names
        .into_iter()
        .zip(keys)
        .chain([("data", data)])
        .max_by_key(|(_, n)| *n)
        .unwrap_or(("data", data));
    Err(ValidationError::EntryTooLarge {
        index,
        field,
        field_bytes,
        wire,
        max,
    })
}
