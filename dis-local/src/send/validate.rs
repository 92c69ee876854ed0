//! DIS's checks of a SendRecords request, the same for both wire formats: through the
//! [`SendRequest`] view of either, [`validate`] checks the stream, the record count, each
//! record's data, partition and hash key, and the request's size, then decodes all payloads
//! into one buffer ([`Prepared`] records for [`Stream::store`](crate::store::Stream::store)).

use bytes::Bytes;

use super::refusal::Refusal;
use crate::limits::MAX_STREAM_NAME_LEN;
use crate::routing::{
    hash_partition_key, parse_explicit_hash_key, parse_partition_id, partition_for_hash,
};
use crate::state::{RequestLimits, Shared};
use crate::store::{Prepared, Stream};

/// The field names of a body format, for error messages.
pub(super) struct Fields {
    pub(super) stream_name: &'static str,
    pub(super) records: &'static str,
    pub(super) data: &'static str,
    pub(super) partition_id: &'static str,
    pub(super) explicit_hash_key: &'static str,
    /// How the record sizes are counted: " after Base64 decoding" in JSON, "" in protobuf.
    pub(super) decoded: &'static str,
}

/// A decoded SendRecords request, JSON or protobuf: what [`validate`] reads.
pub(super) trait SendRequest {
    type Entry: SendEntry;
    const FIELDS: Fields;
    /// The stream name; `""` when absent.
    fn stream_name(&self) -> &str;
    fn stream_id(&self) -> Option<&str>;
    /// The records kept: all of them when there are at most as many as the record limit
    /// ([`record_count`](SendRequest::record_count) then tells how many), else only the first
    /// ones, as the request is refused.
    fn records(&self) -> &[Self::Entry];
    /// How many records the body has (each one decoded, not all kept).
    fn record_count(&self) -> usize;
}

/// One record of a [`SendRequest`].
pub(super) trait SendEntry {
    /// The size of the data once decoded, or `None` when it cannot be decoded (its Base64 has
    /// a length that is not a multiple of 4).
    fn data_size(&self) -> Option<usize>;
    /// Appends the decoded data to `buf`; false when it cannot be decoded.
    fn decode_into(&self, buf: &mut Vec<u8>) -> bool;
    fn partition_id(&self) -> Option<&str>;
    fn partition_key(&self) -> Option<&str>;
    fn explicit_hash_key(&self) -> Option<&str>;
}

/// A request that passed every check: its stream, its records (where each one's payload lies in
/// `data`, and where it goes), and their payloads (and retained partition keys) in one buffer.
pub(super) struct Validated<'s> {
    pub(super) stream: &'s Stream,
    pub(super) records: Vec<Prepared>,
    pub(super) data: Bytes,
}

/// What the per-record checks found: each record prepared (its payload not yet placed), and the
/// bytes of decoded data and of partition keys to keep.
struct Checked {
    prepared: Vec<Prepared>,
    data_bytes: usize,
    key_bytes: usize,
}

/// Checks everything that can refuse the request, in DIS's order (the stream, the record
/// count, each record, the request's size); decodes all payloads (and the partition keys, when
/// retained) into one buffer.
pub(super) fn validate<'s, R: SendRequest>(
    shared: &'s Shared,
    request: &R,
) -> Result<Validated<'s>, Refusal> {
    let limits = &shared.limits;
    let stream = stream_of(shared, request)?;
    let records = records_within_limit(request, limits.max_records)?;
    let mut checked = check_records::<R>(records, stream, limits)?;
    if checked.data_bytes > limits.max_request_bytes {
        return Err(Refusal::DataTooLarge {
            message: format!(
                "Request too large: {} bytes of record data{}; the limit is {} bytes per request.",
                checked.data_bytes,
                R::FIELDS.decoded,
                limits.max_request_bytes
            ),
        });
    }
    let data = decode_payloads::<R>(records, &mut checked, stream.retain)?;
    Ok(Validated {
        stream,
        records: checked.prepared,
        data,
    })
}

/// The stream the request names (by name, else by a non-empty ID).
fn stream_of<'s, R: SendRequest>(shared: &'s Shared, request: &R) -> Result<&'s Stream, Refusal> {
    let name = request.stream_name();
    if name.is_empty() || name.chars().count() > MAX_STREAM_NAME_LEN {
        return Err(Refusal::invalid(
            "DIS.4200",
            format!(
                "Invalid request: {} must have 1 to 60 characters.",
                R::FIELDS.stream_name
            ),
        ));
    }
    shared
        .store
        .by_name(name)
        .or_else(|| {
            request
                .stream_id()
                .filter(|id| !id.is_empty())
                .and_then(|id| shared.store.by_id(id))
        })
        .map(|stream| &**stream)
        .ok_or_else(|| {
            Refusal::invalid(
                "DIS.4301",
                format!("Stream does not exist. [{}]", name.escape_debug()),
            )
        })
}

/// The request's records: at least one, at most `max_records`.
fn records_within_limit<R: SendRequest>(
    request: &R,
    max_records: usize,
) -> Result<&[R::Entry], Refusal> {
    let count = request.record_count();
    if count == 0 {
        return Err(Refusal::invalid(
            "DIS.4202",
            format!("Empty request: {} is empty.", R::FIELDS.records),
        ));
    }
    if count > max_records {
        return Err(Refusal::invalid(
            "DIS.4200",
            format!("Invalid request: {count} records; at most {max_records} records per request."),
        ));
    }
    let records = request.records();
    debug_assert_eq!(records.len(), count, "every record is kept up to the limit");
    Ok(records)
}

/// Checks each record in turn (its data's size, its hash key, its partition) and prepares it.
fn check_records<R: SendRequest>(
    records: &[R::Entry],
    stream: &Stream,
    limits: &RequestLimits,
) -> Result<Checked, Refusal> {
    let f = &R::FIELDS;
    // Record lengths are kept as u32.
    let max_record_bytes = limits.max_record_bytes.min(u32::MAX as usize);
    let mut checked = Checked {
        prepared: Vec::with_capacity(records.len()),
        data_bytes: 0,
        key_bytes: 0,
    };
    for (i, entry) in records.iter().enumerate() {
        let size = entry.data_size().ok_or_else(|| not_base64(f, i))?;
        if size > max_record_bytes {
            return Err(Refusal::invalid(
                "DIS.4200",
                format!(
                    "Invalid request: {}[{i}].{} is {size} bytes{}; the limit is {} bytes per record.",
                    f.records, f.data, f.decoded, limits.max_record_bytes
                ),
            ));
        }
        checked.data_bytes += size;
        let explicit_hash_key = explicit_hash_key_of(f, i, entry)?;
        let target = target_partition(f, i, entry, explicit_hash_key, stream)?;
        if stream.retain {
            checked.key_bytes += entry.partition_key().map_or(0, str::len);
        }
        checked.prepared.push(Prepared {
            start: 0,
            data_len: size as u32,
            end: 0,
            has_key: entry.partition_key().is_some(),
            target,
            explicit_hash_key,
        });
    }
    Ok(checked)
}

/// Record `i`'s explicit hash key, when it has one: a decimal in `0..=i64::MAX`.
fn explicit_hash_key_of<E: SendEntry>(
    f: &Fields,
    i: usize,
    entry: &E,
) -> Result<Option<u64>, Refusal> {
    let Some(s) = entry.explicit_hash_key() else {
        return Ok(None);
    };
    parse_explicit_hash_key(s).map(Some).ok_or_else(|| {
        Refusal::invalid(
            "DIS.4200",
            format!(
                "Invalid request: {}[{i}].{} must be a decimal integer from 0 to 9223372036854775807.",
                f.records, f.explicit_hash_key
            ),
        )
    })
}

/// The partition record `i` goes to: the one it names (which must exist), else its explicit
/// hash key's, else its partition key's; `None` lets the store choose.
fn target_partition<E: SendEntry>(
    f: &Fields,
    i: usize,
    entry: &E,
    explicit_hash_key: Option<u64>,
    stream: &Stream,
) -> Result<Option<u32>, Refusal> {
    if let Some(pid) = entry.partition_id() {
        let index = parse_partition_id(pid).ok_or_else(|| {
            Refusal::invalid(
                "DIS.4201",
                format!(
                    "Invalid {} in {}[{i}]: expected shardId-NNNNNNNNNN or a decimal index.",
                    f.partition_id, f.records
                ),
            )
        })?;
        if index >= u64::from(stream.partitions()) {
            return Err(Refusal::invalid(
                "DIS.4302",
                format!(
                    "Partition does not exist: {}[{i}] names partition {index}; stream {} has {} partitions.",
                    f.records,
                    stream.name,
                    stream.partitions()
                ),
            ));
        }
        Ok(Some(index as u32))
    } else if let Some(h) = explicit_hash_key {
        Ok(Some(partition_for_hash(h, stream.partitions())))
    } else {
        Ok(entry
            .partition_key()
            .filter(|k| !k.is_empty())
            .map(|k| partition_for_hash(hash_partition_key(k), stream.partitions())))
    }
}

/// Decodes every payload into one buffer (each followed by its partition key when `retain`),
/// and places each prepared record in it.
fn decode_payloads<R: SendRequest>(
    records: &[R::Entry],
    checked: &mut Checked,
    retain: bool,
) -> Result<Bytes, Refusal> {
    // + 3: `decode_vec` first grows the buffer by the padded estimate.
    let mut buf = Vec::with_capacity(checked.data_bytes + checked.key_bytes + 3);
    for (i, (entry, prep)) in records.iter().zip(checked.prepared.iter_mut()).enumerate() {
        let start = buf.len();
        if !entry.decode_into(&mut buf) {
            return Err(not_base64(&R::FIELDS, i));
        }
        prep.start = start;
        prep.data_len = (buf.len() - start) as u32;
        if retain && let Some(key) = entry.partition_key() {
            buf.extend_from_slice(key.as_bytes());
        }
        prep.end = buf.len();
    }
    Ok(Bytes::from(buf))
}

/// Record `i`'s data is not valid Base64.
fn not_base64(f: &Fields, i: usize) -> Refusal {
    Refusal::invalid(
        "DIS.4200",
        format!(
            "Invalid request: {}[{i}].{} is not valid Base64.",
            f.records, f.data
        ),
    )
}
