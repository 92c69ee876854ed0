//! The producer: any number of records, batched within DIS limits, sent with retries, every
//! record handed back with its outcome.

mod arrivals;
mod attempts;
mod batch;
pub(crate) mod config;
pub(crate) mod delivery;
mod engine;
pub(crate) mod handle;
mod key_order;
mod layout;
mod learn;
mod outbox;
pub(crate) mod pacing;
mod partition;
pub(crate) mod stats;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::{Semaphore, mpsc, watch};

use self::config::ProducerConfig;
use self::delivery::{Delivery, Summary};
use self::engine::{Engine, Input};
use self::handle::ProducerHandle;
use self::stats::{ProducerStats, StatsCell};
use crate::client::DisClient;
use crate::error::Error;
use crate::record::Record;
use crate::validate;

/// Sends records to one stream through a [`DisClient`], and never loses one: it splits any
/// number of records into requests within the client's [`Limits`](crate::Limits), keeps up to
/// N requests in flight, retries what is worth retrying, and hands every record back with its
/// outcome.
///
/// # Delivery guarantee: at least once
/// Every record ends as exactly one [`Delivery`]: acknowledged (partition and sequence number)
/// or failed (with the final error and the number of attempts), with its payload, so nothing is
/// dropped silently. Duplicates can arise in two places, both where DIS may have stored a
/// request without the producer learning it:
/// - a request whose answer was lost (a timeout or a reset after it was written, or an
///   unreadable answer). Such records are not sent again unless
///   [`RetryPolicy::with_retry_ambiguous`](crate::RetryPolicy::with_retry_ambiguous) is set;
/// - a request answered 500, 502 or 504 (a server or gateway failure), which is retried.
///
/// Each such resend is counted in [`Delivery::ambiguous_attempts`], an upper bound on the extra
/// copies in the stream; [`Delivery::maybe_duplicated`] says whether a record is concerned.
///
/// # Bounding the time
/// [`Producer::send_all`] runs on its own Tokio task: dropping its future (a timeout around it,
/// a cancelled `select!`) stops nothing, and every record it took gets its outcome, given to
/// the callback, while the runtime runs. Each record has a deadline
/// ([`ProducerConfig::with_time_limit`](crate::ProducerConfig::with_time_limit), or its own): past
/// it, a record not yet acknowledged comes back as
/// [`Failure::Expired`](crate::Failure::Expired). To end a run at a moment of your choosing,
/// use [`Producer::spawn`], feed the [`ProducerHandle`], and call [`ProducerHandle::close`] with
/// the time you can give.
///
/// # Retries
/// - Per record: only records whose `error_code` is retryable (`DIS.4303` and `DIS.5xxx`) are
///   sent again, matched to their results by position.
/// - Whole request: connect errors, HTTP 429, 500, 502, 503, 504, and whole-request errors with a
///   retryable code.
/// - Exponential backoff with jitter, a cap on each wait, a cap on attempts per record.
///   Throttling (`DIS.4303`) is not a failed attempt: throttled records are sent again until
///   their deadline, counted apart ([`Delivery::throttled_attempts`],
///   [`ProducerStats::throttled`]), and keep every attempt for other failures.
///
/// # Memory
/// Bounded by the in-flight window: at most one open batch per lane plus `max_in_flight`
/// requests, whatever the number of records; input is pulled only when there is room. The
/// callback runs on a thread of its own; outcomes waiting for it are bounded like the buffer
/// ([`ProducerConfig::with_buffer`](crate::ProducerConfig::with_buffer)), past which input
/// waits; in ordered mode, records waiting for their key are bounded by the buffer's bytes.
#[derive(Debug, Clone)]
pub struct Producer {
    engine: Engine,
}

impl Producer {
    /// A producer for `stream_name`. The stream name and every setting are checked here.
    pub fn new(
        client: DisClient,
        stream_name: &str,
        config: ProducerConfig,
    ) -> Result<Producer, Error> {
        let stream = validate::stream_name(stream_name)?;
        config.check()?;
        // A throttled entry per partition, and one for the records without a key (their own
        // lane).
        let stats = Arc::new(StatsCell::new(stream_name, config.partitions));
        Ok(Producer {
            engine: Engine {
                client,
                stream,
                config,
                stats,
            },
        })
    }

    /// Sends every record of `records` and calls `on_delivery` once per record, as outcomes
    /// arrive. Returns when every record has an outcome.
    ///
    /// Cancel-safe: the run has a Tokio task of its own, which owns the records and the
    /// callback. Dropping this future does not stop it: every record taken from `records` still
    /// gets its outcome, given to `on_delivery` (while the runtime runs).
    pub async fn send_all<I, F>(&self, records: I, on_delivery: F) -> Summary
    where
        I: IntoIterator<Item = Record>,
        I::IntoIter: Send + 'static,
        F: FnMut(Delivery) + Send + 'static,
    {
        let engine = self.engine.clone();
        let records = records.into_iter();
        let outbox = engine.outbox(on_delivery);
        let run = tokio::spawn(async move {
            let input = futures_util::stream::iter(records.map(|r| Input::Record(r, None)));
            // No close deadline: `_never` lives as long as the run and says nothing.
            let (_never, close_at) = watch::channel(None);
            let (report, _) = watch::channel(Summary::default());
            engine.run(input, outbox, close_at, report).await
        });
        match run.await {
            Ok(summary) => summary,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("the producer's task ended without its summary: {e}"),
        }
    }

    /// Starts the producer on its own Tokio task, fed one record at a time through the
    /// returned handle (for records that arrive over time, from any task). `on_delivery` is
    /// called once per record, as outcomes arrive, in order, on a thread of its own (inside the
    /// runtime's context): a slow or blocking callback slows the input once outcomes pile up
    /// (as many as the buffer holds), never the sending.
    pub fn spawn<F>(self, on_delivery: F) -> ProducerHandle
    where
        F: FnMut(Delivery) + Send + 'static,
    {
        let config = &self.engine.config;
        let (tx, rx) = mpsc::channel::<Input>(config.buffer_records);
        let bytes = Arc::new(Semaphore::new(config.buffer_bytes));
        let buffer_bytes = config.buffer_bytes;
        let limits = *self.engine.client.limits();
        let (close_tx, close_at) = watch::channel(None);
        let stats = self.engine.stats.clone();
        let outbox = self.engine.outbox(on_delivery);
        let tally = outbox.tally();
        let (report_tx, report) = watch::channel(Summary::default());
        let task = tokio::spawn(async move {
            let input = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|i| (i, rx))
            });
            self.engine.run(input, outbox, close_at, report_tx).await
        });
        ProducerHandle {
            tx,
            task,
            close_at: close_tx,
            report,
            tally,
            handed: Arc::new(AtomicU64::new(0)),
            bytes,
            budget: buffer_bytes,
            limits,
            stats,
        }
    }

    /// A snapshot of the producer's counters (buffered, in flight, acknowledged, failed by
    /// code, throttled per partition, send rate), at any time, also while
    /// [`Producer::send_all`] runs.
    pub fn stats(&self) -> ProducerStats {
        self.engine.stats.snapshot()
    }
}
