//! Records in, the generated request out: every DIS limit checked on the way, and the way back
//! from a wire entry to the caller's record.

use std::time::Duration;

use crate::error::ValidationError;
use crate::ext::Base64Data;
use crate::generated::types;
use crate::record::Record;
use crate::validate::{self, Limits};

/// The checked form of a record's `explicit_hash_key` and `partition_id`.
type Keys = (
    Option<types::PutRecordsRequestEntryExplicitHashKey>,
    Option<crate::ids::PartitionId>,
);

/// Checks `record` as record `index` of a request: its size, and its `explicit_hash_key` and
/// `partition_id` against the spec's patterns, through the generated newtypes (built only for
/// the keys a record has).
fn checked(
    record: &Record,
    index: usize,
    limits: &Limits,
) -> Result<(Keys, usize), ValidationError> {
    validate::record_size(index, record.data.len(), limits)?;
    let wire = fits_a_request(record, index, limits)?;
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
    Ok(((hash, id), wire))
}

/// Checks `record` as record `index` of a request and makes its wire entry (the data shared,
/// not copied).
pub(crate) fn entry(
    record: &Record,
    index: usize,
    limits: &Limits,
) -> Result<types::PutRecordsRequestEntry, ValidationError> {
    let ((explicit_hash_key, partition_id), _) = checked(record, index, limits)?;
    Ok(types::PutRecordsRequestEntry {
        data: Base64Data(record.data.clone()),
        explicit_hash_key,
        partition_id,
        partition_key: record.partition_key.clone(),
    })
}

/// A record refused by validation, handed back with what is wrong with it.
pub(crate) type Refused = (ValidationError, Record);

/// A record checked into its wire entry.
pub(crate) struct Checked {
    pub(crate) entry: types::PutRecordsRequestEntry,
    /// The record's own deadline setting.
    pub(crate) deadline: Option<Duration>,
    /// Bytes the entry adds to a JSON body.
    pub(crate) wire: usize,
}

/// As [`entry`], taking the record: its wire entry, its deadline and its size on the wire, or
/// the record back with what is wrong with it.
pub(crate) fn into_entry(
    record: Record,
    index: usize,
    limits: &Limits,
) -> Result<Checked, Box<Refused>> {
    match checked(&record, index, limits) {
        Err(e) => Err(Box::new((e, record))),
        Ok(((explicit_hash_key, partition_id), wire)) => Ok(Checked {
            entry: types::PutRecordsRequestEntry {
                data: Base64Data(record.data),
                explicit_hash_key,
                partition_id,
                partition_key: record.partition_key,
            },
            deadline: record.deadline,
            wire,
        }),
    }
}

/// The caller's record again, from its wire entry and its deadline.
pub(crate) fn record_of(
    entry: types::PutRecordsRequestEntry,
    deadline: Option<Duration>,
) -> Record {
    let mut record = Record::new(entry.data.0);
    record.partition_key = entry.partition_key;
    record.partition_id = entry.partition_id.map(String::from);
    record.explicit_hash_key = entry.explicit_hash_key.map(String::from);
    record.deadline = deadline;
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

/// Bytes an entry adds to a JSON request body: its data in Base64, its keys escaped, framing.
fn entry_wire_size(data: usize, keys: [Option<&str>; 3]) -> usize {
    data.div_ceil(3) * 4 + keys.iter().flatten().map(|k| json_len(k)).sum::<usize>() + ENTRY_FRAME
}

/// Bytes `entry` adds to a JSON request body.
pub(crate) fn wire_size(entry: &types::PutRecordsRequestEntry) -> usize {
    let keys = [
        entry.partition_key.as_deref(),
        entry.partition_id.as_deref(),
        entry.explicit_hash_key.as_deref().map(String::as_str),
    ];
    entry_wire_size(entry.data.0.len(), keys)
}

/// Largest JSON body sent: the request's data budget in Base64, plus room for keys and
/// framing. Partition keys are not in DIS's data budget, but they are on the wire: 500 records
/// with 8 KiB keys would otherwise make a 4 MB body that an endpoint refuses (413).
pub(crate) fn max_wire_bytes(limits: &Limits) -> usize {
    limits.max_request_bytes.div_ceil(3) * 4 + 64 * 1024 + BODY_FRAME
}

/// Checks that `record`'s entry fits one request's body; returns the bytes it adds to one.
fn fits_a_request(
    record: &Record,
    index: usize,
    limits: &Limits,
) -> Result<usize, ValidationError> {
    let keys = [
        record.partition_key.as_deref(),
        record.partition_id.as_deref(),
        record.explicit_hash_key.as_deref(),
    ];
    let wire = entry_wire_size(record.data.len(), keys);
    let max = max_wire_bytes(limits) - BODY_FRAME;
    validate::entry_size(
        index,
        record.data.len(),
        keys.map(|k| k.map_or(0, str::len)),
        wire,
        max,
    )?;
    Ok(wire)
}

/// Checks `record` alone, as the only record of a request, building nothing.
pub(crate) fn check(record: &Record, limits: &Limits) -> Result<(), ValidationError> {
    checked(record, 0, limits).map(|_| ())
}

/// The bytes a producer holds for `record` while it waits: its data and its keys.
pub(crate) fn held_bytes(record: &Record) -> usize {
    let keys = [
        &record.partition_key,
        &record.partition_id,
        &record.explicit_hash_key,
    ];
    record.data.len()
        + keys
            .iter()
            .filter_map(|k| k.as_ref())
            .map(String::len)
            .sum::<usize>()
}

/// The size of `request`'s JSON body, about: room to write it without growing.
pub(crate) fn body_size(request: &types::PutRecordsRequest) -> usize {
    body_size_of(request.records.iter().map(wire_size))
}

/// The size of a JSON body of entries of these sizes on the wire ([`wire_size`]), about.
pub(crate) fn body_size_of(wires: impl IntoIterator<Item = usize>) -> usize {
    BODY_FRAME + wires.into_iter().sum::<usize>()
}
