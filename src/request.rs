//! Turns records into the generated request body, checking every DIS limit on the way.

use crate::error::ValidationError;
use crate::ext::Base64Data;
use crate::generated::types;
use crate::record::Record;
use crate::validate::{self, Limits};

/// Checks `record` as record `index` of a request and makes its wire entry.
pub(crate) fn entry(
    record: &Record,
    index: usize,
    limits: &Limits,
) -> Result<types::PutRecordsRequestEntry, ValidationError> {
    validate::record_size(index, record.data.len(), limits)?;
    Ok(types::PutRecordsRequestEntry {
        data: Base64Data(record.data.clone()),
        explicit_hash_key: record
            .explicit_hash_key
            .as_deref()
            .map(|k| validate::explicit_hash_key(index, k))
            .transpose()?,
        partition_id: record
            .partition_id
            .as_deref()
            .map(|p| validate::partition_id(index, p))
            .transpose()?,
        partition_key: record.partition_key.clone(),
    })
}

/// Checks `record` as record `index` of a request, building nothing (the producer writes its
/// body itself): its size, and its `explicit_hash_key` and `partition_id` patterns, through the
/// spec's newtypes like [`entry`].
pub(crate) fn check(record: &Record, index: usize, limits: &Limits) -> Result<(), ValidationError> {
    validate::record_size(index, record.data.len(), limits)?;
    if let Some(k) = &record.explicit_hash_key {
        validate::explicit_hash_key(index, k)?;
    }
    if let Some(p) = &record.partition_id {
        validate::partition_id(index, p)?;
    }
    Ok(())
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
