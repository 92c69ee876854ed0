//! Feeding a producer that runs on its own task, through a bounded buffer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::batch::later;
use super::delivery::Summary;
use super::engine::Input;
use super::outbox::Tally;
use super::stats::{ProducerStats, StatsCell};
use crate::error::ValidationError;
use crate::record::Record;
use crate::request;
use crate::validate::{self, Limits};

/// Feeds a spawned producer. Its buffer is bounded in records and in bytes
/// ([`ProducerConfig::with_buffer`](crate::ProducerConfig::with_buffer)).
///
/// [`ProducerHandle::close`] is the way to end a producer. Dropping the handle without it still
/// delivers every record already handed in, but only while the Tokio runtime runs: a runtime
/// shut down first (at the end of `main`, say) cancels the producer's task, and records not yet
/// delivered then get no outcome (some may be stored).
#[derive(Debug)]
pub struct ProducerHandle {
    pub(crate) tx: mpsc::Sender<Input>,
    pub(crate) task: tokio::task::JoinHandle<Summary>,
    pub(crate) close_at: watch::Sender<Option<Instant>>,
    /// The engine's totals so far, and the callback's counters: what `close` returns when the
    /// callback is still busy at its deadline.
    pub(crate) report: watch::Receiver<Summary>,
    pub(crate) tally: Tally,
    /// Records handed in (taken by `send` or `try_send`).
    pub(crate) handed: Arc<AtomicU64>,
    pub(crate) bytes: Arc<Semaphore>,
    /// The byte budget's size (`ProducerConfig::with_buffer`).
    pub(crate) budget: usize,
    /// The client's limits, checked before a record is taken.
    pub(crate) limits: Limits,
    pub(crate) stats: Arc<StatsCell>,
}

/// A record a [`ProducerHandle`] did not take, handed back with the reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// It breaks a DIS limit (the error names the field and the limit); nothing was buffered.
    #[error("record refused: {error}")]
    Invalid {
        /// The record (boxed: the error stays small).
        record: Box<Record>,
        /// What is wrong with it.
        error: ValidationError,
    },
    /// The buffer has no room now (`try_send` only).
    #[error("the producer's buffer is full")]
    Full(Record),
    /// The producer has stopped.
    #[error("the producer has stopped")]
    Stopped(Record),
}

impl SendError {
    /// The record, handed back.
    pub fn into_record(self) -> Record {
        match self {
            SendError::Invalid { record, .. } => *record,
            SendError::Full(record) | SendError::Stopped(record) => record,
        }
    }
}

/// The instant `within` from now; a `within` too large for the clock is a century.
fn after(within: Duration) -> Instant {
    later(Instant::now(), within)
}

impl ProducerHandle {
    /// Checks `record` against the client's limits, and counts the share of the byte budget it
    /// takes: every byte held for it, data and keys (at least 1, at most the whole budget).
    fn admit(&self, record: Record) -> Result<(Record, u32), SendError> {
        if let Err(error) = validate::record(&record, 0, &self.limits) {
            return Err(SendError::Invalid {
                record: Box::new(record),
                error,
            });
        }
        let held = request::held_bytes(&record).clamp(1, self.budget);
        Ok((record, u32::try_from(held).unwrap_or(u32::MAX)))
    }

    /// Hands one record in; waits while the buffer is full (in records or in bytes). Gives the
    /// record back, with the reason, if it breaks a DIS limit (checked here, before anything is
    /// held) or the producer has stopped.
    ///
    /// Cancel-safe: a `send` dropped while it waits has handed nothing in and counted nothing.
    pub async fn send(&self, record: Record) -> Result<(), SendError> {
        let (record, permits) = self.admit(record)?;
        let Ok(permit) = self.bytes.clone().acquire_many_owned(permits).await else {
            return Err(SendError::Stopped(record));
        };
        // A slot first (waiting for it is cancel-safe), then the count, then the record.
        let Ok(slot) = self.tx.reserve().await else {
            return Err(SendError::Stopped(record));
        };
        self.stats.buffered();
        self.handed.fetch_add(1, Ordering::Relaxed);
        slot.send(Input::Record(record, Some(permit)));
        Ok(())
    }

    /// Hands one record in if the buffer has room now; else gives it straight back, with the
    /// reason.
    pub fn try_send(&self, record: Record) -> Result<(), SendError> {
        let (record, permits) = self.admit(record)?;
        let Ok(permit) = self.bytes.clone().try_acquire_many_owned(permits) else {
            return Err(SendError::Full(record));
        };
        let slot = match self.tx.try_reserve() {
            Ok(slot) => slot,
            Err(mpsc::error::TrySendError::Full(())) => return Err(SendError::Full(record)),
            Err(mpsc::error::TrySendError::Closed(())) => return Err(SendError::Stopped(record)),
        };
        self.stats.buffered();
        self.handed.fetch_add(1, Ordering::Relaxed);
        slot.send(Input::Record(record, Some(permit)));
        Ok(())
    }

    /// Sends what is batched now and waits until every record handed in so far has had its
    /// outcome given to the callback of [`Producer::spawn`](crate::Producer::spawn), for at most
    /// `within`. Past it, those not yet acknowledged are given back as
    /// [`Failure::Expired`](crate::Failure::Expired) (they are not sent again), and the
    /// producer goes on with later records. Returns true when everything was delivered in time.
    ///
    /// It returns within `within` (any `Duration`) in every case: when the buffer is so full
    /// that the flush cannot even be queued behind the records by then, it returns false and
    /// nothing is expired.
    pub async fn flush(&self, within: Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        let at = after(within);
        let queued = tokio::time::timeout_at(at, self.tx.send(Input::Flush(tx, at))).await;
        if !matches!(queued, Ok(Ok(()))) {
            return false;
        }
        // The engine answers by `at` (it expires what is left then); the timeout is a backstop.
        tokio::time::timeout_at(at + Duration::from_secs(1), rx)
            .await
            .is_ok_and(|answer| answer.unwrap_or(false))
    }

    /// A snapshot of the producer's counters, at any time.
    pub fn stats(&self) -> ProducerStats {
        self.stats.snapshot()
    }

    /// Stops taking records and waits, at most `within`, until every record has had its
    /// outcome; then returns the totals. Past `within` nothing more is sent or retried: every
    /// record not yet acknowledged, in the buffer or in flight, is given to the callback as
    /// [`Failure::Expired`](crate::Failure::Expired) (flagged when a request carrying it was
    /// unanswered, see [`Delivery::maybe_duplicated`](crate::Delivery::maybe_duplicated)).
    ///
    /// It returns soon after `within` whatever the callback does: the callback runs on a
    /// thread of its own, and outcomes it has not had by then are still given to it there, in
    /// order, after `close` returns (as long as the process lives);
    /// [`Summary::undelivered`] counts them.
    pub async fn close(self, within: Duration) -> Summary {
        let ProducerHandle {
            tx,
            mut task,
            close_at,
            report,
            tally,
            handed,
            ..
        } = self;
        let at = after(within);
        // Out of band: the buffer may be full.
        let _ = close_at.send(Some(at));
        drop(tx);
        match tokio::time::timeout_at(at + CLOSE_GRACE, &mut task).await {
            Ok(summary) => summary.expect("the producer task panicked"),
            // The callback is behind (the engine ends once it has had everything): the totals
            // so far, and how many outcomes it has still to get.
            Err(_) => {
                let mut summary = *report.borrow();
                summary.callback_panics = tally.panics();
                let handed = handed.load(Ordering::Relaxed);
                summary.undelivered = handed.saturating_sub(tally.given());
                summary
            }
        }
    }
}

/// How long `close` waits past its deadline for the callback to have every outcome, before it
/// returns without.
const CLOSE_GRACE: Duration = Duration::from_millis(100);
