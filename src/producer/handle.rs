//! Feeding a producer that runs on its own task.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::delivery::Summary;
use super::engine::Input;
use crate::record::Record;

/// Feeds a spawned producer. Dropping it without [`ProducerHandle::close`] still delivers
/// every record already sent.
#[derive(Debug)]
pub struct ProducerHandle {
    pub(crate) tx: mpsc::Sender<Input>,
    pub(crate) task: tokio::task::JoinHandle<Summary>,
    pub(crate) expire: watch::Sender<bool>,
}

impl ProducerHandle {
    /// Queues one record; waits while the producer is at its window (backpressure). Gives the
    /// record back if the producer has stopped.
    pub async fn send(&self, record: Record) -> Result<(), Record> {
        self.tx
            .send(Input::Record(record))
            .await
            .map_err(|e| match e.0 {
                Input::Record(r) => r,
                Input::Flush(_) => unreachable!(),
            })
    }

    /// Sends what is batched now and waits until every record queued so far has had its
    /// outcome handed to the callback given to [`Producer::spawn`](crate::Producer::spawn).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Input::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Stops taking records and waits, at most `within`, until every record has had its
    /// outcome; then returns the totals. Past `within` nothing more is sent or retried: every
    /// record not yet acknowledged is handed to the callback as
    /// [`Failure::Expired`](crate::Failure::Expired) (flagged when a request carrying it was
    /// unanswered, see [`Delivery::maybe_duplicated`](crate::Delivery::maybe_duplicated)), so
    /// this returns soon after `within` with an outcome for every record.
    pub async fn close(self, within: Duration) -> Summary {
        let ProducerHandle {
            tx,
            mut task,
            expire,
        } = self;
        drop(tx);
        match tokio::time::timeout(within, &mut task).await {
            Ok(summary) => summary.expect("the producer task panicked"),
            Err(_) => {
                let _ = expire.send(true);
                task.await.expect("the producer task panicked")
            }
        }
    }
}
