//! Feeding a producer that runs on its own task, through a bounded buffer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::delivery::Summary;
use super::engine::Input;
use super::stats::{ProducerStats, StatsCell};
use crate::record::Record;

/// Feeds a spawned producer. Its buffer is bounded in records and in bytes
/// ([`ProducerConfig::with_buffer`](crate::ProducerConfig::with_buffer)). Dropping it without
/// [`ProducerHandle::close`] still delivers every record already handed in.
#[derive(Debug)]
pub struct ProducerHandle {
    pub(crate) tx: mpsc::Sender<Input>,
    pub(crate) task: tokio::task::JoinHandle<Summary>,
    pub(crate) close_at: watch::Sender<Option<Instant>>,
    pub(crate) bytes: Arc<Semaphore>,
    pub(crate) stats: Arc<StatsCell>,
}

/// The permits a record of `len` bytes takes in the byte budget (a record of 0 bytes takes 1).
fn permits(len: usize) -> u32 {
    u32::try_from(len.max(1)).unwrap_or(u32::MAX)
}

impl ProducerHandle {
    /// Hands one record in; waits while the buffer is full (in records or in bytes). Gives the
    /// record back if the producer has stopped.
    pub async fn send(&self, record: Record) -> Result<(), Record> {
        let Ok(permit) = self
            .bytes
            .clone()
            .acquire_many_owned(permits(record.data.len()))
            .await
        else {
            return Err(record);
        };
        self.stats.buffered();
        self.tx
            .send(Input::Record(record, Some(permit)))
            .await
            .map_err(|e| self.handed_back(e.0))
    }

    /// Hands one record in if the buffer has room now; else gives it straight back.
    pub fn try_send(&self, record: Record) -> Result<(), Record> {
        let Ok(permit) = self
            .bytes
            .clone()
            .try_acquire_many_owned(permits(record.data.len()))
        else {
            return Err(record);
        };
        self.stats.buffered();
        self.tx
            .try_send(Input::Record(record, Some(permit)))
            .map_err(|e| self.handed_back(e.into_inner()))
    }

    /// The record of an input the producer did not take (it has stopped, or it is full).
    fn handed_back(&self, input: Input) -> Record {
        self.stats.taken_in(true, false);
        match input {
            Input::Record(r, _) => r,
            Input::Flush(..) => unreachable!("a record was sent"),
        }
    }

    /// Sends what is batched now and waits until every record handed in so far has had its
    /// outcome given to the callback of [`Producer::spawn`](crate::Producer::spawn), for at most
    /// `within`. Past it, those not yet acknowledged are given back as
    /// [`Failure::Expired`](crate::Failure::Expired) (they are not sent again), and the
    /// producer goes on with later records. Returns true when everything was delivered in time.
    pub async fn flush(&self, within: Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        let at = Instant::now() + within;
        if self.tx.send(Input::Flush(tx, at)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// A snapshot of the producer's counters, at any time.
    pub fn stats(&self) -> ProducerStats {
        self.stats.snapshot()
    }

    /// Stops taking records and waits, at most `within`, until every record has had its
    /// outcome; then returns the totals. Past `within` nothing more is sent or retried: every
    /// record not yet acknowledged, in the buffer or in flight, is given to the callback as
    /// [`Failure::Expired`](crate::Failure::Expired) (flagged when a request carrying it was
    /// unanswered, see [`Delivery::maybe_duplicated`](crate::Delivery::maybe_duplicated)), so
    /// this returns soon after `within`, with an outcome for every record, whatever the
    /// callback does with them.
    pub async fn close(self, within: Duration) -> Summary {
        let ProducerHandle {
            tx, task, close_at, ..
        } = self;
        // Out of band: the buffer may be full.
        let _ = close_at.send(Some(Instant::now() + within));
        drop(tx);
        task.await.expect("the producer task panicked")
    }
}
