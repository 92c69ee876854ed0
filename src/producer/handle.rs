//! Feeding a producer that runs on its own task.

use tokio::sync::{mpsc, oneshot};

use super::delivery::Summary;
use super::engine::Input;
use crate::record::Record;

/// Feeds a spawned producer. Dropping it without [`ProducerHandle::close`] still delivers
/// every record already sent.
#[derive(Debug)]
pub struct ProducerHandle {
    pub(crate) tx: mpsc::Sender<Input>,
    pub(crate) task: tokio::task::JoinHandle<Summary>,
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

    /// Stops taking records, waits until every record has had its outcome, and returns the
    /// totals.
    pub async fn close(self) -> Summary {
        drop(self.tx);
        self.task.await.expect("the producer task panicked")
    }
}
