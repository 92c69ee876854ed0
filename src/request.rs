//! Records in, the generated request out: every DIS limit checked on the way, and the way back
//! from a wire entry to the caller's record.

use std::time::Duration;

use crate::error::ValidationError;
use crate::ext::Base64Data;
use crate::generated::types;
use crate::record::Record;
use crate::validate::{self, Keys, Limits};

/// Checks `record` as record `index` of a request and makes its wire entry (the data shared,
/// not copied).
pub(crate) fn entry(
    record: &Record,
    index: usize,
    limits: &Limits,
) -> Result<types::PutRecordsRequestEntry, ValidationError> {
    let valid = validate::record(record, index, limits)?;
    Ok(types::PutRecordsRequestEntry {
        data: Base64Data(record.data.clone()),
        explicit_hash_key: valid.explicit_hash_key,
        partition_id: valid.partition_id,
        partition_key: record.partition_key.clone(),
    })
}

/// A record refused by validation, handed back with what is wrong with it.
pub(crate) struct Refused {
    pub(crate) error: ValidationError,
    pub(crate) record: Record,
}

/// A record checked into its wire entry.
pub(crate) struct Checked {
    pub(crate) entry: types::PutRecordsRequestEntry,
    /// The record's own time limit, handed back with it.
    pub(crate) time_limit: Option<Duration>,
    /// Bytes the entry adds to a JSON body.
    pub(crate) wire: usize,
}

/// As [`entry`], taking the record: its wire entry, its time limit and its size on the wire,
/// or the record back with what is wrong with it. The one check of a record on its way in.
pub(crate) fn into_entry(
    record: Record,
    index: usize,
    limits: &Limits,
) -> Result<Checked, Box<Refused>> {
    match validate::record(&record, index, limits) {
        Err(error) => Err(Box::new(Refused { error, record })),
        Ok(valid) => Ok(Checked {
            entry: types::PutRecordsRequestEntry {
                data: Base64Data(record.data),
                explicit_hash_key: valid.explicit_hash_key,
                partition_id: valid.partition_id,
                partition_key: record.partition_key,
            },
            time_limit: record.time_limit,
            wire: valid.wire,
        }),
    }
}

/// The caller's record again, from its wire entry and its time limit.
pub(crate) fn record_of(
    entry: types::PutRecordsRequestEntry,
    time_limit: Option<Duration>,
) -> Record {
    let mut record = Record::new(entry.data.0);
    record.partition_key = entry.partition_key;
    record.partition_id = entry.partition_id.map(String::from);
    record.explicit_hash_key = entry.explicit_hash_key.map(String::from);
    record.time_limit = time_limit;
    record
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
    Ok(types::PutRecordsRequest {
        stream_name,
        stream_id: None,
        records: entries,
    })
}

/// Bytes `entry` adds to a JSON request body.
fn wire_size(entry: &types::PutRecordsRequestEntry) -> usize {
    validate::wire_size(entry.data.0.len(), Keys::of_entry(entry))
}

/// The bytes a producer holds for `record` while it waits: its data and its keys.
pub(crate) fn held_bytes(record: &Record) -> usize {
    record.data.len() + Keys::of(record).bytes()
}

/// The size of `request`'s JSON body, about: room to write it without growing.
pub(crate) fn body_size(request: &types::PutRecordsRequest) -> usize {
    body_size_of(request.records.iter().map(wire_size))
}

/// The size of a JSON body of entries of these sizes on the wire ([`wire_size`]), about.
pub(crate) fn body_size_of(wires: impl IntoIterator<Item = usize>) -> usize {
    validate::BODY_FRAME + wires.into_iter().sum::<usize>()
}
