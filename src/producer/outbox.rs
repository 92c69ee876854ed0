//! The delivery callback, called on a thread of its own: a slow or blocking callback neither
//! stalls the engine (sending, retries, deadlines go on) nor holds a runtime worker, and a
//! `close` deadline holds whatever the callback does.
//!
//! Outcomes wait here in order; the engine stops taking input while too many (or too many
//! bytes) wait, so a callback slower than the network slows the input, not the memory.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::delivery::Delivery;
use super::stats::StatsCell;

/// Outcomes on their way to the callback's thread.
pub(crate) struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Outcomes not yet through the callback (waiting, or being called), and their bytes:
    /// atomics, so that the engine reads them without the lock.
    records: AtomicUsize,
    bytes: AtomicUsize,
    /// The callback's thread waits on it for outcomes (or the end).
    ready: Condvar,
    /// The engine waits on it when the backlog shrinks below its caps, or empties.
    shrunk: Notify,
    panics: AtomicU64,
    /// Outcomes through the callback so far.
    given: AtomicU64,
    /// The backlog's caps: records, and bytes of record data and keys.
    max_records: usize,
    max_bytes: usize,
}

#[derive(Default)]
struct Queue {
    /// Outcomes in order, each with the bytes it holds (counted once, on the way in).
    waiting: VecDeque<(Delivery, usize)>,
    /// The last batch's buffer, emptied, for the next one (no new buffer per request).
    spare: VecDeque<(Delivery, usize)>,
    /// No more outcomes will come: the thread ends once it has given the last.
    closed: bool,
}

/// Outcomes through the callback between two updates of the counts.
const DONE_EVERY: usize = 32;

/// Bytes an outcome holds: its record's data and keys.
fn held(d: &Delivery) -> usize {
    crate::request::held_bytes(&d.record)
}

impl Outbox {
    /// Starts the callback's thread. The callback runs inside the current Tokio runtime's
    /// context (it may spawn, or send on Tokio channels), at most `max_records` outcomes and
    /// `max_bytes` bytes waiting for it before the engine stops taking input.
    pub(crate) fn start<F>(
        mut on_delivery: F,
        stats: Arc<StatsCell>,
        max_records: usize,
        max_bytes: usize,
    ) -> Outbox
    where
        F: FnMut(Delivery) + Send + 'static,
    {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            records: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            ready: Condvar::new(),
            shrunk: Notify::new(),
            panics: AtomicU64::new(0),
            given: AtomicU64::new(0),
            max_records: max_records.max(1),
            max_bytes: max_bytes.max(1),
        });
        let runtime = tokio::runtime::Handle::try_current().ok();
        let theirs = shared.clone();
        std::thread::Builder::new()
            .name("dis-producer-deliveries".into())
            .spawn(move || {
                let _runtime = runtime.as_ref().map(|r| r.enter());
                // All that waits, taken in one lock.
                while let Some(mut batch) = theirs.next_batch() {
                    // Counted down a few at a time: the engine reads the counts for each
                    // record it takes in, and a write per outcome made both sides wait on the
                    // same cache line.
                    let (mut records, mut bytes) = (0, 0);
                    for (d, held) in batch.drain(..) {
                        let call = std::panic::AssertUnwindSafe(|| on_delivery(d));
                        if std::panic::catch_unwind(call).is_err() {
                            theirs.panics.fetch_add(1, Ordering::Relaxed);
                            stats.callback_panicked();
                            tracing::error!("the delivery callback panicked; the producer goes on");
                        }
                        // Exact, for `close`'s count of outcomes not given (read only there).
                        theirs.given.fetch_add(1, Ordering::Relaxed);
                        records += 1;
                        bytes += held;
                        if records == DONE_EVERY {
                            theirs.done(records, bytes);
                            (records, bytes) = (0, 0);
                        }
                    }
                    theirs.done(records, bytes);
                    theirs.give_back(batch);
                }
            })
            .expect("the producer's delivery thread could not start");
        Outbox { shared }
    }

    /// Queues outcomes for the callback, in order (one lock and one wake-up for a request's
    /// worth).
    pub(crate) fn give(&self, deliveries: Vec<Delivery>) {
        let records = deliveries.len();
        let mut queue = self.shared.lock();
        let mut bytes = 0;
        for d in deliveries {
            let held = held(&d);
            bytes += held;
            queue.waiting.push_back((d, held));
        }
        // Counted before the lock is let go: the thread counts each down once through the
        // callback, and cannot take them before.
        self.shared.records.fetch_add(records, Ordering::Relaxed);
        self.shared.bytes.fetch_add(bytes, Ordering::Relaxed);
        drop(queue);
        self.shared.ready.notify_one();
    }

    /// Outcomes not yet through the callback.
    pub(crate) fn backlog(&self) -> usize {
        self.shared.records.load(Ordering::Relaxed)
    }

    /// True when the backlog is at a cap: the engine takes no input then.
    pub(crate) fn is_full(&self) -> bool {
        self.shared.is_full()
    }

    /// Returns when the backlog has shrunk below its caps or emptied since the last call (at
    /// once if it did before this call).
    pub(crate) async fn shrunk(&self) {
        self.shared.shrunk.notified().await
    }

    /// Calls of the callback that panicked so far.
    pub(crate) fn panics(&self) -> u64 {
        self.shared.panics.load(Ordering::Relaxed)
    }

    /// Its counters, readable by the producer's handle while the engine owns the outbox.
    pub(crate) fn tally(&self) -> Tally {
        Tally(self.shared.clone())
    }
}

/// The outbox's counters, seen from outside the engine.
#[derive(Clone)]
pub(crate) struct Tally(Arc<Shared>);

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tally")
            .field("given", &self.given())
            .field("panics", &self.panics())
            .finish()
    }
}

impl Tally {
    /// Outcomes through the callback so far.
    pub(crate) fn given(&self) -> u64 {
        self.0.given.load(Ordering::Relaxed)
    }

    /// Calls of the callback that panicked so far.
    pub(crate) fn panics(&self) -> u64 {
        self.0.panics.load(Ordering::Relaxed)
    }
}

impl Drop for Outbox {
    /// No more outcomes: the thread gives those waiting, then ends.
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_one();
    }
}

impl Shared {
    /// The queue, even if a thread panicked while holding it (the counts stay consistent:
    /// nothing panics between their updates).
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_full(&self) -> bool {
        self.records.load(Ordering::Relaxed) >= self.max_records
            || self.bytes.load(Ordering::Relaxed) >= self.max_bytes
    }

    /// The outcomes waiting, in order, waiting for one; `None` once closed and empty.
    fn next_batch(&self) -> Option<VecDeque<(Delivery, usize)>> {
        let mut q = self.lock();
        loop {
            if !q.waiting.is_empty() {
                let spare = std::mem::take(&mut q.spare);
                return Some(std::mem::replace(&mut q.waiting, spare));
            }
            if q.closed {
                return None;
            }
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// An emptied batch's buffer, kept for the next batch.
    fn give_back(&self, batch: VecDeque<(Delivery, usize)>) {
        let mut q = self.lock();
        if q.spare.capacity() < batch.capacity() {
            q.spare = batch;
        }
    }

    /// `n` outcomes holding `bytes` went through the callback: the engine is told when that
    /// brings the backlog below a cap, or to nothing.
    fn done(&self, n: usize, bytes: usize) {
        if n == 0 {
            return;
        }
        let records = self.records.fetch_sub(n, Ordering::Relaxed) - n;
        let left = self.bytes.fetch_sub(bytes, Ordering::Relaxed) - bytes;
        let was_full = records + n >= self.max_records || left + bytes >= self.max_bytes;
        let full = records >= self.max_records || left >= self.max_bytes;
        if (was_full && !full) || records == 0 {
            self.shrunk.notify_one();
        }
    }
}
