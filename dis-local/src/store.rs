//! Streams, partitions, sequence numbers and the stored records.
//!
//! Each stream has one `std::sync::Mutex` over its partitions; it is held only while sequence
//! numbers are assigned and records pushed (never across an `.await`). A partition's sequence
//! numbers start at 0 and grow by 1 per stored record, so when payloads are retained a record's
//! sequence number is its position in the partition's vector.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::config::StreamConfig;
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

pub(crate) struct Stream {
    pub(crate) name: String,
    pub(crate) partitions: u32,
    state: Mutex<StreamState>,
}

impl Stream {
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
    pub(crate) fn new(streams: &[StreamConfig]) -> std::io::Result<Store> {
        let invalid = |msg: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, msg);
        let mut by_name = HashMap::new();
        let mut by_id = HashMap::new();
        for sc in streams {
            if sc.name.is_empty() {
                return Err(invalid("a stream name must not be empty".into()));
            }
            if sc.partitions == 0 {
                return Err(invalid(format!(
                    "stream {:?} must have at least one partition",
                    sc.name
                )));
            }
            let stream = Arc::new(Stream {
                name: sc.name.clone(),
                partitions: sc.partitions,
                state: Mutex::new(StreamState {
                    spread: 0,
                    partitions: (0..sc.partitions).map(|_| Partition::default()).collect(),
                }),
            });
            if by_name.insert(sc.name.clone(), stream.clone()).is_some() {
                return Err(invalid(format!("stream {:?} is configured twice", sc.name)));
            }
            by_id.insert(sc.stream_id(), stream);
        }
        Ok(Store { by_name, by_id })
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<&Arc<Stream>> {
        self.by_name.get(name)
    }

    pub(crate) fn by_id(&self, id: &str) -> Option<&Arc<Stream>> {
        self.by_id.get(id)
    }
}
