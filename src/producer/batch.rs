//! A batch: the records of one future request, and how large its body will be.

use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::delivery::{Ack, Delivery, Failure, LastError};
use crate::generated::types;
use crate::request;
use crate::validate::{BODY_FRAME, Keys, Limits};

/// A record waiting in a batch, as its checked wire entry, with the tries it has made and its
/// deadline.
pub(crate) struct Pending {
    pub(crate) id: u64,
    pub(crate) entry: types::PutRecordsRequestEntry,
    /// Bytes the entry adds to a JSON body (measured once: keys are scanned for escapes).
    pub(crate) wire: usize,
    /// The record's own time limit, handed back with it.
    pub(crate) time_limit: Option<Duration>,
    /// Tries made, throttled ones included.
    pub(crate) attempts: u32,
    /// Of those, tries answered `DIS.4303` (traffic control): not counted against the cap.
    pub(crate) throttled_attempts: u32,
    pub(crate) ambiguous_attempts: u32,
    /// Undelivered past this instant, it ends as expired.
    pub(crate) deadline: Instant,
    /// What its last try ran into, told when it expires.
    pub(crate) last_error: Option<LastError>,
    /// Its share of a spawned producer's byte budget, given back with its outcome.
    pub(crate) _budget: Option<OwnedSemaphorePermit>,
}

impl Pending {
    /// Record `id` (checked into its wire entry), to be delivered by `deadline`, holding
    /// `permit` (its share of a spawned producer's buffer) until its outcome.
    pub(crate) fn new(
        id: u64,
        checked: request::Checked,
        deadline: Instant,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Pending {
        let request::Checked {
            entry,
            time_limit,
            wire,
        } = checked;
        Pending {
            id,
            wire,
            entry,
            time_limit,
            attempts: 0,
            throttled_attempts: 0,
            ambiguous_attempts: 0,
            deadline,
            last_error: None,
            _budget: permit,
        }
    }

    /// Tries counted against [`RetryPolicy::with_max_attempts`](crate::RetryPolicy::with_max_attempts):
    /// those not answered `DIS.4303` (throttling is not a failed try).
    pub(crate) fn counted_attempts(&self) -> u32 {
        self.attempts - self.throttled_attempts
    }

    /// The record's partition key.
    pub(crate) fn partition_key(&self) -> Option<&str> {
        self.entry.partition_key.as_deref()
    }

    /// The record, expired (`unanswered`: a request carrying it was cut off unanswered), with
    /// what its last try ran into.
    pub(crate) fn expire(mut self, unanswered: bool) -> Delivery {
        let last_error = self.last_error.take();
        self.into_delivery(Err(Failure::Expired {
            unanswered,
            last_error,
        }))
    }

    /// What the record holds while it waits for its key (ordered mode), as the waiting cap
    /// counts it: its data and keys, as the buffer counts them, and the producer's own record
    /// of it (so that empty records count too).
    pub(crate) fn waiting_cost(&self) -> usize {
        let e = &self.entry;
        e.data.0.len() + Keys::of_entry(e).bytes() + std::mem::size_of::<Pending>()
    }

    /// The record's outcome, with the tries it made.
    pub(crate) fn into_delivery(self, result: Result<Ack, Failure>) -> Delivery {
        Delivery {
            id: self.id,
            record: request::record_of(self.entry, self.time_limit),
            attempts: self.attempts,
            throttled_attempts: self.throttled_attempts,
            ambiguous_attempts: self.ambiguous_attempts,
            result,
        }
    }
}

/// The instant `within` after `now`; a `within` too large for the clock is a century.
pub(crate) fn later(now: Instant, within: Duration) -> Instant {
    now.checked_add(within)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// Records a new batch has room for before it grows: a full request at DIS's limits (500),
/// whatever a custom limit says.
const MAX_PREALLOCATED: usize = 1000;

/// Records of one future request, in order.
pub(crate) struct Batch {
    pub(crate) lane: usize,
    /// What this request may carry: the client's limits, or less at a quota (decided when the
    /// batch opens).
    limits: Limits,
    pub(crate) pending: Vec<Pending>,
    /// Raw bytes of the records' data (what DIS's request limit counts).
    pub(crate) bytes: usize,
    /// Bytes of the JSON body on the wire (Base64 data, keys, framing).
    pub(crate) wire: usize,
    pub(crate) since: Instant,
}

impl Batch {
    /// An empty batch for `lane`, within `limits`, with room for a full request's records so
    /// that it never grows by copying.
    pub(crate) fn new(lane: usize, limits: Limits) -> Batch {
        Batch {
            lane,
            limits,
            pending: Vec::with_capacity(limits.max_records_per_request.min(MAX_PREALLOCATED)),
            bytes: 0,
            wire: BODY_FRAME,
            since: Instant::now(),
        }
    }

    /// True when `pending` still fits this batch: by count, by DIS's data budget, and by the
    /// size of the body on the wire.
    pub(crate) fn fits(&self, pending: &Pending) -> bool {
        let limits = &self.limits;
        !self.is_full()
            && self.bytes + pending.entry.data.0.len() <= limits.max_request_bytes
            && self.wire + pending.wire <= limits.max_body_bytes()
    }

    /// True when the batch holds as many records as one request may.
    pub(crate) fn is_full(&self) -> bool {
        self.pending.len() >= self.limits.max_records_per_request
    }

    /// Adds a record.
    pub(crate) fn push(&mut self, pending: Pending) {
        self.bytes += pending.entry.data.0.len();
        self.wire += pending.wire;
        self.pending.push(pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;

    #[test]
    fn a_waiting_record_counts_its_data_its_keys_and_itself() {
        let record = Record::new(vec![0u8; 10]).with_partition_key("key");
        let checked = request::into_entry(record, 0, &Limits::default())
            .unwrap_or_else(|_| panic!("a valid record"));
        let pending = Pending::new(0, checked, Instant::now(), None);
        let own = std::mem::size_of::<Pending>();
        assert_eq!(pending.waiting_cost(), 10 + 3 + own);
        // About 200 bytes, as the docs say: an empty record is not free.
        assert!((100..=400).contains(&own), "{own}");
    }
}
