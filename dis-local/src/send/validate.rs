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
use crate::state::Shared;
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

/// Checks everything that can refuse the request; decodes all payloads (and the partition
/// keys, when retained) into one buffer.
pub(super) fn validate<'s, R: SendRequest>(
    shared: &'s Shared,
    request: &R,
) -> Result<(&'s Stream, Vec<Prepared>, Bytes), Refusal> {
    let f = &R::FIELDS;
    let limits = &shared.limits;
    // Record lengths are kept as u32.
    let max_record_bytes = limits.max_record_bytes.min(u32::MAX as usize);
    let name = request.stream_name();
    if name.is_empty() || name.chars().count() > MAX_STREAM_NAME_LEN {
        return Err(Refusal::invalid(
            "DIS.4200",
            format!(
                "Invalid request: {} must have 1 to 60 characters.",
                f.stream_name
            ),
        ));
    }
    let stream = shared
        .store
        .by_name(name)
        .or_else(|| {
            request
                .stream_id()
                .filter(|id| !id.is_empty())
                .and_then(|id| shared.store.by_id(id))
        })
        .ok_or_else(|| {
            Refusal::invalid(
                "DIS.4301",
                format!("Stream does not exist. [{}]", name.escape_debug()),
            )
        })?;
    let count = request.record_count();
    if count == 0 {
        return Err(Refusal::invalid(
            "DIS.4202",
            format!("Empty request: {} is empty.", f.records),
        ));
    }
    if count > limits.max_records {
        return Err(Refusal::invalid(
            "DIS.4200",
            format!(
                "Invalid request: {count} records; at most {} records per request.",
                limits.max_records
            ),
        ));
    }
    let records = request.records();
    debug_assert_eq!(records.len(), count, "every record is kept up to the limit");
    let not_base64 = |i: usize| {
        Refusal::invalid(
            "DIS.4200",
            format!(
                "Invalid request: {}[{i}].{} is not valid Base64.",
                f.records, f.data
            ),
        )
    };
    let mut prepared = Vec::with_capacity(records.len());
    let mut total = 0usize;
    let mut keys = 0usize;
    for (i, entry) in records.iter().enumerate() {
        let size = entry.data_size().ok_or_else(|| not_base64(i))?;
        if size > max_record_bytes {
            return Err(Refusal::invalid(
                "DIS.4200",
                format!(
                    "Invalid request: {}[{i}].{} is {size} bytes{}; the limit is {} bytes per record.",
                    f.records, f.data, f.decoded, limits.max_record_bytes
                ),
            ));
        }
        total += size;
        let explicit_hash_key = match entry.explicit_hash_key() {
            None => None,
            Some(s) => Some(parse_explicit_hash_key(s).ok_or_else(|| {
                Refusal::invalid(
                    "DIS.4200",
                    format!(
                        "Invalid request: {}[{i}].{} must be a decimal integer from 0 to 9223372036854775807.",
                        f.records, f.explicit_hash_key
                    ),
                )
            })?),
        };
        let target = if let Some(pid) = entry.partition_id() {
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
            Some(index as u32)
        } else if let Some(h) = explicit_hash_key {
            Some(partition_for_hash(h, stream.partitions()))
        } else {
            entry
                .partition_key()
                .filter(|k| !k.is_empty())
                .map(|k| partition_for_hash(hash_partition_key(k), stream.partitions()))
        };
        if stream.retain {
            keys += entry.partition_key().map_or(0, str::len);
        }
        prepared.push(Prepared {
            start: 0,
            data_len: size as u32,
            end: 0,
            has_key: entry.partition_key().is_some(),
            target,
            explicit_hash_key,
        });
    }
    if total > limits.max_request_bytes {
        return Err(Refusal::DataTooLarge {
            message: format!(
                "Request too large: {total} bytes of record data{}; the limit is {} bytes per request.",
                f.decoded, limits.max_request_bytes
            ),
        });
    }
    // + 3: `decode_vec` first grows the buffer by the padded estimate.
    let mut buf = Vec::with_capacity(total + keys + 3);
    for (i, (entry, prep)) in records.iter().zip(prepared.iter_mut()).enumerate() {
        let start = buf.len();
        if !entry.decode_into(&mut buf) {
            return Err(not_base64(i));
        }
        prep.start = start;
        prep.data_len = (buf.len() - start) as u32;
        if stream.retain
            && let Some(key) = entry.partition_key()
        {
            buf.extend_from_slice(key.as_bytes());
        }
        prep.end = buf.len();
    }
    Ok((stream, prepared, Bytes::from(buf)))
}
