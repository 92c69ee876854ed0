//! Streams, partitions, sequence numbers and the stored records: [`Stream::store`] takes the
//! validated records of one request ([`Prepared`]) and tells what became of each
//! ([`Outcome`]).
//!
//! Each stream has one `std::sync::Mutex` over its partitions; it is held only while sequence
//! numbers are assigned and records pushed, and while the records of a read-back page
//! ([`Stream::page`]) or of one chunk of a snapshot ([`Stream::snapshot`]) are cloned (never
//! across an `.await`, never while serializing). A partition's sequence
//! numbers start at 0 and grow by 1 per stored record, so when payloads are retained a record's
//! sequence number is its position in the partition's vector.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::config::StreamConfig;
use crate::quota::Quotas;
use crate::routing::shard_id;
use crate::stream_kind::StreamKind;

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

/// Which records one page of the read-back (`GET /local/v1/streams/{s}/records`) takes.
pub(crate) struct PageQuery {
    /// One partition's records only (`from` is then a sequence number there), or all of them
    /// (partition 0's, then partition 1's, ...; `from` is a position in that order).
    pub(crate) partition: Option<u32>,
    /// The first record's position.
    pub(crate) from: u64,
    /// Most records in the page.
    pub(crate) limit: usize,
    /// The page ends before a record that would take its payloads past this many bytes (it
    /// always has at least one record, when any is left).
    pub(crate) max_bytes: usize,
}

/// One page of the read-back.
pub(crate) struct Page {
    pub(crate) records: Vec<PageRecord>,
    /// Records stored in the stream (or the partition) when the page was taken.
    pub(crate) total: u64,
    /// The `from` of the next page, when records follow this one.
    pub(crate) next: Option<u64>,
}

/// One record of a [`Page`].
pub(crate) struct PageRecord {
    pub(crate) partition: u32,
    pub(crate) sequence: u64,
    pub(crate) rec: Rec,
}

/// Marks "no explicit_hash_key" (valid hashes are at most `i64::MAX`).
pub(crate) const NO_HASH: u64 = u64::MAX;

/// Records per storage chunk: partitions grow by whole chunks instead of doubling a vector
/// (no large copies while the stream lock is held).
const CHUNK: usize = 4096;

/// One stored record, kept compact (48 bytes, no allocation of its own): `bytes` is a slice of
/// the request's decoded buffer (or of a copy of the request's stored records, when most of the
/// request was not stored) holding the payload followed by the partition key.
#[derive(Clone)]
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

    pub(crate) fn data(&self) -> Bytes {
        self.bytes.slice(..self.data_len as usize)
    }

    /// The payload's length.
    pub(crate) fn data_len(&self) -> usize {
        self.data_len as usize
    }

    /// The partition key's bytes (UTF-8: they came from a string), if the record had one.
    pub(crate) fn key_bytes(&self) -> Option<&[u8]> {
        self.has_key.then(|| &self.bytes[self.data_len as usize..])
    }

    fn partition_key(&self) -> Option<String> {
        self.key_bytes()
            .map(|key| String::from_utf8_lossy(key).into_owned())
    }

    /// The `explicit_hash_key`, if the record had one.
    pub(crate) fn hash(&self) -> Option<u64> {
        (self.explicit_hash_key != NO_HASH).then_some(self.explicit_hash_key)
    }

    fn explicit_hash_key(&self) -> Option<String> {
        self.hash().map(|h| h.to_string())
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

    /// The record at position `i` (< `len()`; every chunk but the last is full).
    fn get(&self, i: usize) -> &Rec {
        &self.chunks[i / CHUNK][i % CHUNK]
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
    /// The partition count: it only grows ([`Stream::grow`]), so an index checked against it
    /// stays valid.
    partitions: AtomicU32,
    /// The stream's kind, as DescribeStream tells it.
    pub(crate) kind: StreamKind,
    /// Whether payloads (and partition keys) are kept, or only counted.
    pub(crate) retain: bool,
    state: Mutex<StreamState>,
}

impl Stream {
    /// Stores the records of one request: skips those `failures` marks, routes the others
    /// (their partition, or round robin), checks the write quotas, assigns sequence numbers and
    /// keeps the payloads when retained: slices of `data`, or of a copy of only the stored
    /// records' bytes when they are less than half of `data`, so that a stored
    /// record never keeps much more than itself alive (a 1-byte record stored beside a 600 KiB
    /// one throttled kept the 600 KiB).
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
        let partitions = state.partitions.len() as u64;
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
            results.push((index, seq));
        }
        drop(quota);
        if self.retain {
            // Still under the stream's lock: the records are pushed in the order their
            // sequence numbers were given.
            let stored = || {
                records
                    .iter()
                    .zip(&results)
                    .filter(|(_, (partition, _))| *partition != NOT_STORED)
                    .map(|(rec, &(partition, _))| (rec, partition))
            };
            let kept: usize = stored().map(|(rec, _)| rec.end - rec.start).sum();
            // Less than half of the buffer is kept: copy it out (at most half the request's
            // data, under the lock), so the rest is freed with the request.
            let compact = kept * 2 < data.len();
            let buf = if compact {
                let mut buf = Vec::with_capacity(kept);
                for (rec, _) in stored() {
                    buf.extend_from_slice(&data[rec.start..rec.end]);
                }
                Bytes::from(buf)
            } else {
                data
            };
            let mut at = 0;
            for (rec, partition) in stored() {
                let len = rec.end - rec.start;
                let start = if compact { at } else { rec.start };
                at += len;
                state.partitions[partition as usize].push(Rec::new(
                    buf.slice(start..start + len),
                    rec.data_len,
                    rec.has_key,
                    rec.explicit_hash_key,
                ));
            }
        }
        Outcome {
            results,
            failed,
            throttled,
        }
    }

    /// The partition count now.
    pub(crate) fn partitions(&self) -> u32 {
        self.partitions.load(Ordering::Acquire)
    }

    /// Grows the stream to `partitions` partitions (never shrinks it); returns the count
    /// after. The new partitions are empty; keys are mapped over the new count from then on.
    pub(crate) fn grow(&self, partitions: u32) -> u32 {
        let mut state = self.lock();
        while (state.partitions.len() as u32) < partitions {
            state.partitions.push(Partition::default());
        }
        let count = state.partitions.len() as u32;
        self.partitions.store(count, Ordering::Release);
        count
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, StreamState> {
        // A panic while holding the lock cannot leave the state inconsistent in a way that
        // matters to a test server; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stored records in partition order, then arrival order: the records stored when it is
    /// called (each partition's length is read once, under the lock), copied out
    /// [`CHUNK`] records at a time, the lock taken for each chunk only while its records are
    /// cloned (`Bytes`, no copy of the payloads): a writer waits for one chunk's clones at
    /// most, not for the whole copy (which held the lock 0.3 s for 1,000,000 records).
    pub(crate) fn snapshot(&self) -> Vec<StoredRecord> {
        let lens: Vec<usize> = self.lock().partitions.iter().map(Partition::len).collect();
        let mut out = Vec::with_capacity(lens.iter().sum());
        let mut batch: Vec<Rec> = Vec::with_capacity(CHUNK.min(out.capacity()));
        for (index, &len) in lens.iter().enumerate() {
            let pid = shard_id(index as u32);
            let mut at = 0;
            while at < len {
                let end = (at + CHUNK).min(len);
                {
                    let state = self.lock();
                    let part = &state.partitions[index];
                    batch.extend((at..end).map(|i| part.get(i).clone()));
                }
                for (seq, rec) in (at..).zip(batch.drain(..)) {
                    out.push(StoredRecord {
                        partition_id: pid.clone(),
                        sequence_number: seq.to_string(),
                        data: rec.data(),
                        partition_key: rec.partition_key(),
                        explicit_hash_key: rec.explicit_hash_key(),
                    });
                }
                at = end;
            }
        }
        out
    }

    /// One page of the read-back ([`PageQuery`]), its records cloned under the lock (`Bytes`,
    /// no copy of the payloads) for the caller to serialize without it.
    pub(crate) fn page(&self, query: &PageQuery) -> Page {
        let state = self.lock();
        let lens: Vec<u64> = state.partitions.iter().map(|p| p.len() as u64).collect();
        let (partitions, total) = match query.partition {
            Some(p) => (p as usize..p as usize + 1, lens[p as usize]),
            None => (0..lens.len(), lens.iter().sum()),
        };
        let mut page = Page {
            records: Vec::new(),
            total,
            next: None,
        };
        let mut skip = query.from;
        let mut position = query.from;
        let mut bytes = 0usize;
        for index in partitions {
            let len = lens[index];
            if skip >= len {
                skip -= len;
                continue;
            }
            let part = &state.partitions[index];
            for sequence in skip..len {
                let rec = part.get(sequence as usize);
                let full = page.records.len() >= query.limit
                    || (!page.records.is_empty()
                        && bytes.saturating_add(rec.data_len()) > query.max_bytes);
                if full {
                    page.next = Some(position);
                    return page;
                }
                bytes += rec.data_len();
                position += 1;
                page.records.push(PageRecord {
                    partition: index as u32,
                    sequence,
                    rec: rec.clone(),
                });
            }
            skip = 0;
        }
        page
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
                partitions: AtomicU32::new(sc.partitions),
                kind: sc.kind,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LocalConfig;

    /// A stream of `partitions` partitions, retained, and no quotas.
    fn stream(partitions: u32) -> (Arc<Stream>, Quotas) {
        let streams = [StreamConfig::new("s", partitions)];
        let store = Store::new(&streams, true);
        let quotas = Quotas::new(&LocalConfig::default().with_streams(streams));
        (store.by_name("s").unwrap().clone(), quotas)
    }

    /// One request's records of these lengths (payload only) to `partition`, in one buffer.
    fn request(lens: &[usize], partition: u32) -> (Vec<Prepared>, Bytes) {
        let mut buf = Vec::new();
        let mut records = Vec::new();
        for (i, &len) in lens.iter().enumerate() {
            let start = buf.len();
            buf.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
            records.push(Prepared {
                start,
                data_len: len as u32,
                end: buf.len(),
                has_key: false,
                target: Some(partition),
                explicit_hash_key: None,
            });
        }
        (records, Bytes::from(buf))
    }

    /// Whether `inner` points into `outer`'s bytes.
    fn inside(inner: &Bytes, outer: &Bytes) -> bool {
        let range = outer.as_ptr_range();
        range.contains(&inner.as_ptr())
    }

    #[test]
    fn a_small_stored_part_is_copied_out_of_its_request() {
        let (stream, quotas) = stream(1);
        let (records, data) = request(&[1, 1000, 2], 0);
        let outcome = stream.store(&records, data.clone(), Some(&[false, true, false]), &quotas);
        assert_eq!((outcome.stored(), outcome.failed), (2, 1));
        let stored = stream.snapshot();
        assert_eq!(&stored[0].data[..], b"a");
        assert_eq!(&stored[1].data[..], b"cc");
        assert!(!stored.iter().any(|r| inside(&r.data, &data)));

        // Most of the request stored: its buffer is kept as it is.
        let (records, data) = request(&[600, 1, 400], 0);
        stream.store(&records, data.clone(), Some(&[false, false, true]), &quotas);
        let stored = stream.snapshot();
        assert_eq!(stored.len(), 4);
        assert_eq!(stored[2].data.len(), 600);
        assert_eq!(stored[2].sequence_number, "2");
        assert!(inside(&stored[2].data, &data) && inside(&stored[3].data, &data));
    }

    #[test]
    fn pages_in_partition_order_within_limits() {
        let (stream, quotas) = stream(2);
        let (records, data) = request(&[3, 3, 3], 1);
        stream.store(&records, data, None, &quotas);
        let (records, data) = request(&[5, 5], 0);
        stream.store(&records, data, None, &quotas);
        let query = |partition, from, limit, max_bytes| PageQuery {
            partition,
            from,
            limit,
            max_bytes,
        };
        let seen = |page: &Page| -> Vec<(u32, u64, usize)> {
            page.records
                .iter()
                .map(|r| (r.partition, r.sequence, r.rec.data_len()))
                .collect()
        };
        let page = stream.page(&query(None, 0, 100, 1 << 20));
        assert_eq!(
            seen(&page),
            [(0, 0, 5), (0, 1, 5), (1, 0, 3), (1, 1, 3), (1, 2, 3)]
        );
        assert_eq!((page.total, page.next), (5, None));
        let page = stream.page(&query(None, 1, 2, 1 << 20));
        assert_eq!(seen(&page), [(0, 1, 5), (1, 0, 3)]);
        assert_eq!(page.next, Some(3));
        // The byte cap ends a page before the record that would pass it, never empty.
        let page = stream.page(&query(None, 0, 100, 9));
        assert_eq!(seen(&page), [(0, 0, 5)]);
        assert_eq!(page.next, Some(1));
        let page = stream.page(&query(None, 0, 100, 1));
        assert_eq!(seen(&page), [(0, 0, 5)]);
        // One partition: `from` is a sequence number there.
        let page = stream.page(&query(Some(1), 1, 100, 1 << 20));
        assert_eq!(seen(&page), [(1, 1, 3), (1, 2, 3)]);
        assert_eq!((page.total, page.next), (3, None));
        let page = stream.page(&query(Some(0), 7, 100, 1 << 20));
        assert!(page.records.is_empty() && page.next.is_none());
    }

    #[test]
    fn snapshots_cross_chunks() {
        let (stream, quotas) = stream(1);
        let lens = vec![1; CHUNK + 3];
        let (records, data) = request(&lens, 0);
        stream.store(&records, data, None, &quotas);
        let stored = stream.snapshot();
        assert_eq!(stored.len(), CHUNK + 3);
        assert_eq!(stored[CHUNK + 2].sequence_number, (CHUNK + 2).to_string());
        let page = stream.page(&PageQuery {
            partition: None,
            from: CHUNK as u64 - 1,
            limit: 3,
            max_bytes: 1 << 20,
        });
        let sequences: Vec<u64> = page.records.iter().map(|r| r.sequence).collect();
        assert_eq!(
            sequences,
            [CHUNK as u64 - 1, CHUNK as u64, CHUNK as u64 + 1]
        );
    }
}
