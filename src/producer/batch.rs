//! A batch: the records of one future request, and how large its body will be.

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::delivery::{Ack, Delivery, Failure};
use crate::record::Record;
use crate::validate::Limits;

/// A record waiting in a batch, with the tries it has made and its deadline.
pub(crate) struct Pending {
    pub(crate) id: u64,
    pub(crate) record: Record,
    pub(crate) attempts: u32,
    pub(crate) ambiguous_attempts: u32,
    /// Undelivered past this instant, it ends as expired.
    pub(crate) deadline: Instant,
    /// Its share of a spawned producer's byte budget, given back with its outcome.
    pub(crate) _budget: Option<OwnedSemaphorePermit>,
}

impl Pending {
    /// Record `id`, taken in now, to be delivered within `deadline` (bounded by the config).
    pub(crate) fn new(
        id: u64,
        record: Record,
        deadline: std::time::Duration,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Pending {
        Pending {
            id,
            record,
            attempts: 0,
            ambiguous_attempts: 0,
            deadline: Instant::now() + deadline,
            _budget: permit,
        }
    }

    /// The record's outcome, with the tries it made.
    pub(crate) fn into_delivery(self, result: Result<Ack, Failure>) -> Delivery {
        Delivery {
            id: self.id,
            record: self.record,
            attempts: self.attempts,
            ambiguous_attempts: self.ambiguous_attempts,
            result,
        }
    }
}

/// Records of one future request, in order.
pub(crate) struct Batch {
    pub(crate) lane: usize,
    pub(crate) pending: Vec<Pending>,
    /// Raw bytes of the records' data (what DIS's request limit counts).
    pub(crate) bytes: usize,
    /// Bytes of the JSON body on the wire (Base64 data, keys, framing).
    pub(crate) wire: usize,
    pub(crate) since: Instant,
}

/// Room in a body for the JSON around the entries (`{"stream_name":...,"records":[...]}`).
const BODY_FRAME: usize = 512;
/// What one entry adds around its fields (`{"data":"","partition_key":""},` and the like).
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

/// Bytes `record` adds to a JSON request body: its data in Base64, its keys escaped, framing.
pub(crate) fn wire_size(record: &Record) -> usize {
    let keys = [
        &record.partition_key,
        &record.partition_id,
        &record.explicit_hash_key,
    ];
    record.data.len().div_ceil(3) * 4
        + keys
            .iter()
            .filter_map(|k| k.as_deref())
            .map(json_len)
            .sum::<usize>()
        + ENTRY_FRAME
}

/// Largest JSON body the producer writes: the request's data budget in Base64, plus room for
/// keys and framing. Partition keys are not in DIS's data budget, but they are on the wire: 500
/// records with 8 KiB keys would otherwise make a 4 MB body that an endpoint refuses (413).
pub(crate) fn max_wire_bytes(limits: &Limits) -> usize {
    limits.max_request_bytes.div_ceil(3) * 4 + 64 * 1024 + BODY_FRAME
}

impl Batch {
    pub(crate) fn new(lane: usize) -> Batch {
        Batch {
            lane,
            pending: Vec::new(),
            bytes: 0,
            wire: BODY_FRAME,
            since: Instant::now(),
        }
    }

    /// True when `record` still fits this batch: by count, by DIS's data budget, and by the
    /// size of the body on the wire.
    pub(crate) fn fits(&self, record: &Record, limits: &Limits) -> bool {
        self.pending.len() < limits.max_records_per_request
            && self.bytes + record.data.len() <= limits.max_request_bytes
            && self.wire + wire_size(record) <= max_wire_bytes(limits)
    }

    /// Adds a record.
    pub(crate) fn push(&mut self, pending: Pending) {
        self.bytes += pending.record.data.len();
        self.wire += wire_size(&pending.record);
        self.pending.push(pending);
    }
}
