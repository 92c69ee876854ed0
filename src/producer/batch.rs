//! A batch: the records of one future request, with their wire entries at the same indexes.

use tokio::time::Instant;

use crate::generated::types;
use crate::record::Record;
use crate::validate::Limits;

/// A record waiting in a batch. Its wire entry sits at the same index of the batch's body.
pub(crate) struct Pending {
    pub(crate) id: u64,
    pub(crate) record: Record,
    pub(crate) attempts: u32,
    pub(crate) ambiguous_attempts: u32,
}

/// Records of one future request: the generated body and, at the same indexes, the records.
pub(crate) struct Batch {
    pub(crate) lane: usize,
    pub(crate) pending: Vec<Pending>,
    pub(crate) entries: Vec<types::PutRecordsRequestEntry>,
    pub(crate) bytes: usize,
    pub(crate) since: Instant,
}

impl Batch {
    pub(crate) fn new(lane: usize) -> Batch {
        Batch {
            lane,
            pending: Vec::new(),
            entries: Vec::new(),
            bytes: 0,
            since: Instant::now(),
        }
    }

    /// True when a record of `size` bytes still fits this batch.
    pub(crate) fn fits(&self, size: usize, limits: &Limits) -> bool {
        self.pending.len() < limits.max_records_per_request
            && self.bytes + size <= limits.max_request_bytes
    }
}
