//! Turns records into the generated request body, checking every DIS limit on the way.

use crate::error::ValidationError;
use crate::ext::Base64Data;
use crate::generated::types;
use crate::record::Record;
use crate::validate::{self, Limits};

/// The checked form of a record's `explicit_hash_key` and `partition_id`.
type Keys = (
    Option<types::PutRecordsRequestEntryExplicitHashKey>,
    Option<types::PutRecordsRequestEntryPartitionId>,
);

/// Checks `record` as record `index` of a request: its size, and its `explicit_hash_key` and
/// `partition_id` against the spec's patterns, through the generated newtypes (built only for
/// the keys a record has).
fn checked(record: &Record, index: usize, limits: &Limits) -> Result<Keys, ValidationError> {
    validate::record_size(index, record.data.len(), limits)?;
    let hash = record
        .explicit_hash_key
        .as_deref()
        .map(|k| validate::explicit_hash_key(index, k))
        .transpose()?;
    let id = record
        .partition_id
        .as_deref()
        .map(|p| validate::partition_id(index, p))
        .transpose()?;
    Ok((hash, id))
}

/// Checks `record` as record `index` of a request and makes its wire entry.
pub(crate) fn entry(
    record: &Record,
    index: usize,
    limits: &Limits,
) -> Result<types::PutRecordsRequestEntry, ValidationError> {
    let (explicit_hash_key, partition_id) = checked(record, index, limits)?;
    Ok(types::PutRecordsRequestEntry {
        data: Base64Data(record.data.clone()),
        explicit_hash_key,
        partition_id,
        partition_key: record.partition_key.clone(),
    })
}

/// Checks `record` as record `index` of a request, building nothing (the producer writes its
/// body itself).
pub(crate) fn check(record: &Record, index: usize, limits: &Limits) -> Result<(), ValidationError> {
    checked(record, index, limits).map(|_| ())
}

/// Validates `records` for `stream_name` and builds the generated request body.
pub(crate) fn build(
    stream_name: &str,
    records: &[Record],
    limits: &Limits,
) -> Result<types::PutRecordsRequest, ValidationError> {
    let stream_name = validate::stream_name(stream_name)?;
    validate::record_count(records.len(), limits)?;
    // Each record before the total, so that one record too large is reported as itself.
    let entries = records
        .iter()
        .enumerate()
        .map(|(i, r)| entry(r, i, limits))
        .collect::<Result<Vec<_>, _>>()?;
    let total: usize = records.iter().map(|r| r.data.len()).sum();
    validate::request_bytes(total, limits)?;
    let records = entries;
    Ok(types::PutRecordsRequest {
        stream_name,
        stream_id: None,
        records,
    })
}
