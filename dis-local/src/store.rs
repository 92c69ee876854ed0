//! Streams, partitions, sequence numbers and the stored records: [`Stream::store`] takes the
//! validated records of one request ([`Prepared`]) and tells what became of each
//! ([`Outcome`]).
//!
//! Each stream has one `std::sync::Mutex` over its partitions; it is held only while sequence
//! numbers are assigned and records pushed (never across an `.await`). A partition's sequence
//! numbers start at 0 and grow by 1 per stored record, so when payloads are retained a record's
//! sequence number is its position in the partition's vector.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::config::StreamConfig;
use crate::quota::Quotas;
use crate::routing::shard_id;

/// A record as stored by a [`LocalDis`](crate::LocalDis).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredRecord {
    /// `shardId-` and 10 digits.
    pub partition_id: String,
    /// Decimal sequence number in its partition (from 0).
    pub sequence_number: String,
    /// The decoded payload.
    pub data: Bytes,
    /// The record's `partition_key`, if any.
    pub partition_key: Option<String>,
    /// The record's `explicit_hash_key`, if any.
    pub explicit_hash_key: Option<String>,
}

/// Marks "no explicit_hash_key" (valid hashes are at most `i64::MAX`).
pub(crate) const NO_HASH: u64 = u64::MAX;

/// Records per storage chunk: partitions grow by whole chunks instead of doubling a vector
/// (no large copies while the stream lock is held).
const CHUNK: usize = 4096;

/// One stored record, kept compact (48 bytes, no allocation of its own): `bytes` is a slice of
/// the request's decoded buffer holding the payload followed by the partition key.
pub(crate) struct Rec {
    bytes: Bytes,
    data_len: u32,
    has_key: bool,
    explicit_hash_key: u64,
}

impl Rec {
    /// `bytes[..data_len]` is the payload, `bytes[data_len..]` the key when `has_key`.
    pub(crate) fn new(
        bytes: Bytes,
        data_len: u32,
        has_key: bool,
        explicit_hash_key: Option<u64>,
    ) -> Rec {
        Rec {
            bytes,
            data_len,
            has_key,
            explicit_hash_key: explicit_hash_key.unwrap_or(NO_HASH),
        }
    }

    fn data(&self) -> Bytes {
        self.bytes.slice(..self.data_len as usize)
    }

    fn partition_key(&self) -> Option<String> {
        self.has_key
            .then(|| String::from_utf8_lossy(&self.bytes[self.data_len as usize..]).into_owned())
    }

    fn explicit_hash_key(&self) -> Option<String> {
        (self.explicit_hash_key != NO_HASH).then(|| self.explicit_hash_key.to_string())
    }
}

#[derive(Default)]
pub(crate) struct Partition {
    /// The next sequence number (= number of records ever stored in this partition).
    pub(crate) next_seq: u64,
    /// Stored records in arrival order, in chunks of [`CHUNK`]; empty when payloads are not
    /// retained.
    chunks: Vec<Vec<Rec>>,
}

impl Partition {
    pub(crate) fn push(&mut self, rec: Rec) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(rec),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(rec);
                self.chunks.push(chunk);
            }
        }
    }

    fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    fn iter(&self) -> impl Iterator<Item = &Rec> {
        self.chunks.iter().flatten()
    }
}

pub(crate) struct StreamState {
    /// Round-robin cursor for records that name no partition, key or hash.
    pub(crate) spread: u64,
    pub(crate) partitions: Vec<Partition>,
}

/// One validated record of a request, as [`Stream::store`] takes it: its bytes sit in the
/// request's decoded buffer.
pub(crate) struct Prepared {
    /// Where its decoded data, then its partition key (when retained), sit in the request's
    /// buffer: `start .. start + data_len .. end`.
    pub(crate) start: usize,
    pub(crate) data_len: u32,
    pub(crate) end: usize,
    pub(crate) has_key: bool,
    /// The partition, or `None` to spread round robin.
    pub(crate) target: Option<u32>,
    pub(crate) explicit_hash_key: Option<u64>,
}

/// Marks a record that was not stored in [`Outcome`]'s list.
const NOT_STORED: u32 = u32::MAX;

/// What [`Stream::store`] did with each record of a request.
pub(crate) struct Outcome {
    /// Per record, in request order: `(partition, sequence number)`, or `(NOT_STORED, 0)`.
    results: Vec<(u32, u64)>,
    /// Records failed by injection.
    pub(crate) failed: u64,
    /// Records refused by the write quotas.
    pub(crate) throttled: u64,
}

/// What became of one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placed {
    /// Stored in this partition with this sequence number.
    Stored { partition: u32, sequence: u64 },
    /// Refused by traffic control (an injected failure or the write quota): `DIS.4303`.
    Throttled,
}

impl Outcome {
    /// Records stored.
    pub(crate) fn stored(&self) -> u64 {
        self.results.len() as u64 - self.failed - self.throttled
    }

    /// Records not stored: the answer's `failed_record_count` (injected failures and quota
    /// throttling are both `DIS.4303` there).
    pub(crate) fn not_stored(&self) -> u64 {
        self.failed + self.throttled
    }

    /// What became of each record, in request order.
    pub(crate) fn records(&self) -> impl ExactSizeIterator<Item = Placed> + '_ {
        self.results.iter().map(|&(partition, sequence)| {
            if partition == NOT_STORED {
                Placed::Throttled
            } else {
                Placed::Stored {
                    partition,
                    sequence,
                }
            }
        })
    }
}

pub(crate) struct Stream {
    pub(crate) name: String,
    pub(crate) partitions: u32,
    /// Whether payloads (and partition keys) are kept, or only counted.
    pub(crate) retain: bool,
    state: Mutex<StreamState>,
}

impl Stream {
    /// Stores the records of one request: skips those `failures` marks, routes the others
    /// (their partition, or round robin), checks the write quotas, assigns sequence numbers and
    /// keeps the payloads (slices of `data`) when retained.
    pub(crate) fn store(
        &self,
        records: &[Prepared],
        data: Bytes,
        failures: Option<&[bool]>,
        quotas: &Quotas,
    ) -> Outcome {
        let mut results: Vec<(u32, u64)> = Vec::with_capacity(records.len());
        let mut failed = 0u64;
        let mut throttled = 0u64;
        let mut guard = self.lock();
        let state = &mut *guard;
        // Write quotas (`None` when off): checked once routing chose the partition.
        let mut quota = quotas.begin(&self.name);
        let partitions = u64::from(self.partitions);
        for (i, rec) in records.iter().enumerate() {
            if failures.is_some_and(|f| f[i]) {
                failed += 1;
                results.push((NOT_STORED, 0));
                continue;
            }
            let index = rec.target.unwrap_or_else(|| {
                let index = (state.spread % partitions) as u32;
                state.spread = state.spread.wrapping_add(1);
                index
            });
            if let Some(q) = quota.as_mut()
                && !q.admit(index, rec.data_len)
            {
                throttled += 1;
                results.push((NOT_STORED, 0));
                continue;
            }
            let part = &mut state.partitions[index as usize];
            let seq = part.next_seq;
            part.next_seq += 1;
            if self.retain {
                part.push(Rec::new(
                    data.slice(rec.start..rec.end),
                    rec.data_len,
                    rec.has_key,
                    rec.explicit_hash_key,
                ));
            }
            results.push((index, seq));
        }
        Outcome {
            results,
            failed,
            throttled,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, StreamState> {
        // A panic while holding the lock cannot leave the state inconsistent in a way that
        // matters to a test server; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stored records in partition order, then arrival order.
    pub(crate) fn snapshot(&self) -> Vec<StoredRecord> {
        let state = self.lock();
        let total = state.partitions.iter().map(Partition::len).sum();
        let mut out = Vec::with_capacity(total);
        for (index, part) in state.partitions.iter().enumerate() {
            let pid = shard_id(index as u32);
            for (seq, rec) in part.iter().enumerate() {
                out.push(StoredRecord {
                    partition_id: pid.clone(),
                    sequence_number: seq.to_string(),
                    data: rec.data(),
                    partition_key: rec.partition_key(),
                    explicit_hash_key: rec.explicit_hash_key(),
                });
            }
        }
        out
    }

    /// Number of records stored per partition (also counted when payloads are not retained).
    pub(crate) fn counts(&self) -> Vec<u64> {
        self.lock().partitions.iter().map(|p| p.next_seq).collect()
    }
}

/// All configured streams, by name and by stream id. Fixed at start.
pub(crate) struct Store {
    by_name: HashMap<String, Arc<Stream>>,
    by_id: HashMap<String, Arc<Stream>>,
}

impl Store {
    /// The streams, empty; `retain` keeps payloads. The list was validated
    /// ([`LocalConfig::validate`](crate::LocalConfig::validate)): names are unique and not
    /// empty, every stream has partitions.
    pub(crate) fn new(streams: &[StreamConfig], retain: bool) -> Store {
        let mut by_name = HashMap::new();
        let mut by_id = HashMap::new();
        for sc in streams {
            let stream = Arc::new(Stream {
                name: sc.name.clone(),
                partitions: sc.partitions,
                retain,
                state: Mutex::new(StreamState {
                    spread: 0,
                    partitions: (0..sc.partitions).map(|_| Partition::default()).collect(),
                }),
            });
            by_name.insert(sc.name.clone(), stream.clone());
            by_id.insert(sc.stream_id(), stream);
        }
        Store { by_name, by_id }
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<&Arc<Stream>> {
        self.by_name.get(name)
    }

    pub(crate) fn by_id(&self, id: &str) -> Option<&Arc<Stream>> {
        self.by_id.get(id)
    }
}
