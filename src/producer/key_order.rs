//! Ordered mode's bookkeeping: a key has at most one record in the open batch or in flight,
//! and later records of the key wait, in input order, until it comes free.

use std::collections::{HashMap, HashSet, VecDeque};

use super::batch::Pending;
use super::delivery::Delivery;

/// Most records waiting for their key (ordered mode), whatever they hold: a safety bound far
/// above what the buffer's bytes let wait (64 MiB: about 300,000 empty records).
const MAX_WAITING_RECORDS: usize = 1_000_000;

/// The keys held per lane (ordered mode), the records waiting for them, and what those hold.
pub(crate) struct KeyOrder {
    /// Each lane's keys.
    lanes: Vec<LaneKeys>,
    /// Records waiting for their key, over all lanes.
    waiting: usize,
    /// What they hold ([`Pending::waiting_cost`]): input stops while it is the buffer's bytes
    /// or more.
    waiting_bytes: usize,
}

impl KeyOrder {
    /// No key held, in each of `lanes` lanes.
    pub(crate) fn new(lanes: usize) -> Self {
        KeyOrder {
            lanes: (0..lanes).map(|_| LaneKeys::default()).collect(),
            waiting: 0,
            waiting_bytes: 0,
        }
    }

    /// True when more records may wait for their key (ordered mode): what waits holds less
    /// than the buffer's bytes (`buffer_bytes`, [`ProducerConfig::with_buffer`]), each record
    /// counted with its data, its keys and the producer's own record of it, and fewer than
    /// [`MAX_WAITING_RECORDS`] wait. The buffer's record count does not cap them: a hot key's
    /// small records would fill it and hold back the other keys behind them in the input.
    ///
    /// [`ProducerConfig::with_buffer`]: super::config::ProducerConfig::with_buffer
    pub(crate) fn has_room(&self, buffer_bytes: usize) -> bool {
        self.waiting_bytes < buffer_bytes && self.waiting < MAX_WAITING_RECORDS
    }

    /// True when no record waits for its key.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    /// True when a record of `key` must wait: one of its key is in the batch or in flight, or
    /// others of its key already wait.
    pub(crate) fn is_held(&self, lane: usize, key: &str) -> bool {
        let l = &self.lanes[lane];
        l.active.contains(key) || l.waiting.contains_key(key)
    }

    /// `pending` waits for its key (at the back of its key's queue, or the front when it is
    /// put back).
    pub(crate) fn wait(&mut self, lane: usize, pending: Pending, front: bool) {
        self.waiting += 1;
        self.waiting_bytes += pending.waiting_cost();
        let key = pending.partition_key().unwrap_or_default().to_owned();
        let queue = self.lanes[lane].waiting.entry(key).or_default();
        if front {
            queue.push_front(pending);
        } else {
            queue.push_back(pending);
        }
    }

    /// `key` has a record in the open batch or in flight.
    pub(crate) fn activate(&mut self, lane: usize, key: &str) {
        self.lanes[lane].active.insert(key.to_owned());
    }

    /// A flight of `lane` landed: its keys come free, and those with records waiting are
    /// promoted in that order.
    pub(crate) fn landed(&mut self, lane: usize, deliveries: &[Delivery]) {
        let l = &mut self.lanes[lane];
        for d in deliveries {
            if let Some(key) = d.record.partition_key.as_deref()
                && l.active.remove(key)
                && l.waiting.contains_key(key)
            {
                l.freed.push_back(key.to_owned());
            }
        }
    }

    /// The next waiting record of the next key of `lane` that has come free, with its key, in
    /// the order the keys came free: the cost is per key freed, not per record waiting.
    pub(crate) fn next_freed(&mut self, lane: usize) -> Option<(String, Pending)> {
        let l = &mut self.lanes[lane];
        while let Some(key) = l.freed.pop_front() {
            let Some(queue) = l.waiting.get_mut(&key) else {
                continue;
            };
            let Some(pending) = queue.pop_front() else {
                l.waiting.remove(&key);
                continue;
            };
            if queue.is_empty() {
                l.waiting.remove(&key);
            }
            self.waiting -= 1;
            self.waiting_bytes -= pending.waiting_cost();
            return Some((key, pending));
        }
        None
    }

    /// No room for another request: what [`KeyOrder::next_freed`] gave waits again, first of
    /// its key, for the next landing.
    pub(crate) fn put_back(&mut self, lane: usize, key: String, pending: Pending) {
        self.wait(lane, pending, true);
        self.lanes[lane].freed.push_front(key);
    }

    /// Every record waiting in `lane`, taken out; no key of the lane is held any more.
    pub(crate) fn take_lane(&mut self, lane: usize) -> Vec<Pending> {
        let l = &mut self.lanes[lane];
        let held: Vec<Pending> = l.waiting.drain().flat_map(|(_, queue)| queue).collect();
        l.freed.clear();
        l.active.clear();
        self.waiting -= held.len();
        self.waiting_bytes -= held.iter().map(Pending::waiting_cost).sum::<usize>();
        held
    }
}

/// The keys of one lane.
#[derive(Default)]
struct LaneKeys {
    /// Records waiting for an earlier record of their key (ordered mode), per key, in input
    /// order.
    waiting: HashMap<String, VecDeque<Pending>>,
    /// Keys whose record in flight has landed and that have records waiting, in the order they
    /// came free.
    freed: VecDeque<String>,
    /// Keys with a record in the open batch or in flight.
    active: HashSet<String>,
}
