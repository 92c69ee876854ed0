//! A producer that never loses a record: it splits any number of records into requests within
//! DIS limits, keeps up to N requests in flight, retries what is worth retrying, and hands every
//! record back with its outcome.
//!
//! # Delivery guarantee: at least once
//! Every record ends as exactly one [`Delivery`]: acknowledged (partition and sequence number)
//! or failed (with the final error and the number of attempts), with its payload, so nothing is
//! dropped silently. Duplicates can arise in two places, both where DIS may have stored a
//! request without the producer learning it:
//! - a request whose answer was lost (a timeout or a reset after it was written, or an
//!   unreadable answer). Such records are not sent again unless
//!   [`RetryPolicy::retry_ambiguous`] is set;
//! - a request answered 500, 502 or 504 (a server or gateway failure), which is retried.
//!
//! Each such resend is counted in [`Delivery::ambiguous_attempts`], an upper bound on the extra
//! copies in the stream; [`Delivery::maybe_duplicated`] says whether a record is concerned.
//!
//! Dropping the future of [`Producer::send_all`] / [`Producer::send_stream`] before it ends
//! aborts the requests in flight: their records get no outcome. Let it finish, or use
//! [`Producer::spawn`] and [`ProducerHandle::close`].
//!
//! # Retries
//! - Per record: only records whose `error_code` is retryable (by default `DIS.4303` and
//!   `DIS.5xxx`) are sent again, matched to their results by position.
//! - Whole request: connect errors, HTTP 429, 500, 502, 503, 504, and whole-request errors with a
//!   retryable code.
//! - Exponential backoff with jitter, a cap on each wait, a cap on attempts per record.
//!
//! # Memory
//! Bounded by the in-flight window: at most one open batch per lane plus `max_in_flight`
//! requests, whatever the number of records; input is pulled only when there is room.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use futures_util::{FutureExt, Stream, StreamExt};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::{Error, ValidationError};
use crate::ext::{DisClient, Record, RecordResult};
use crate::types;
use crate::validate::{self, Limits};

/// When and how often to send again.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Tries per record, the first included (default 10).
    pub max_attempts: u32,
    /// First wait (default 100 ms).
    pub initial_backoff: Duration,
    /// Growth of the wait per try (default 2.0).
    pub multiplier: f64,
    /// Cap on one wait (default 5 s).
    pub max_backoff: Duration,
    /// Error codes (exact, or a prefix ending in `*`) worth retrying per record
    /// (default `DIS.4303`, `DIS.5*`).
    pub retryable_codes: Vec<String>,
    /// Send again a request whose answer was lost (timeout, reset, unreadable answer). It may
    /// have been stored, so this can duplicate records. Default: off.
    pub retry_ambiguous: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(5),
            retryable_codes: vec!["DIS.4303".into(), "DIS.5*".into()],
            retry_ambiguous: false,
        }
    }
}

impl RetryPolicy {
    /// True when a record refused with `code` is worth sending again.
    pub fn is_retryable_code(&self, code: &str) -> bool {
        self.retryable_codes
            .iter()
            .any(|c| match c.strip_suffix('*') {
                Some(prefix) => code.starts_with(prefix),
                None => code == c,
            })
    }

    /// The wait before try `attempt + 1` (`attempt` >= 1), with jitter in [half, full].
    pub fn backoff(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let exp = self.initial_backoff.as_secs_f64()
            * self
                .multiplier
                .powi(attempt.saturating_sub(1).min(64) as i32);
        // min() also turns an overflow to infinity back into the cap.
        let full = exp.min(self.max_backoff.as_secs_f64()).max(0.0);
        Duration::from_secs_f64(rng.random_range(full / 2.0..=full))
    }

    /// Checks that the policy can be followed: at least one try, a finite multiplier of at
    /// least 1, and waits of at most an hour.
    pub fn check(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::Config(format!("retry policy: {m}")));
        if self.max_attempts == 0 {
            return bad("max_attempts must be at least 1");
        }
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return bad("multiplier must be a finite number of at least 1.0");
        }
        if self.max_backoff > Duration::from_secs(3600) || self.initial_backoff > self.max_backoff {
            return bad("initial_backoff <= max_backoff <= 1 hour");
        }
        Ok(())
    }

    fn is_retryable_request(&self, err: &Error) -> bool {
        match err {
            Error::Transport { connect: true, .. } => true,
            Error::Dis { status, code, .. } => {
                matches!(status, 429 | 500 | 502 | 503 | 504)
                    || code.as_deref().is_some_and(|c| self.is_retryable_code(c))
            }
            e => self.retry_ambiguous && e.maybe_delivered(),
        }
    }
}

/// How the producer batches and sends.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerConfig {
    /// Limits of one request (default: a DIS common stream).
    pub limits: Limits,
    /// Requests in flight at most (default 4).
    pub max_in_flight: usize,
    /// How long a partial batch may wait for more records (default 20 ms).
    pub linger: Duration,
    /// Retry rules.
    pub retry: RetryPolicy,
    /// Keeps records of one `partition_key` in order across requests: no two requests in
    /// flight carry the same key (default off). Caveat: a record retried on its own (for
    /// example after `DIS.4303` throttling) lands after the later records of its key that were
    /// stored by the same request.
    pub order_by_key: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            limits: Limits::default(),
            max_in_flight: 4,
            linger: Duration::from_millis(20),
            retry: RetryPolicy::default(),
            order_by_key: false,
        }
    }
}

/// Where a record ended.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Position of the record in the input, from 0.
    pub id: u64,
    /// The record, handed back.
    pub record: Record,
    /// Tries made (0 when it was invalid and never sent).
    pub attempts: u32,
    /// Tries whose answer was lost and that were sent again: each may have left a copy.
    pub ambiguous_attempts: u32,
    /// Acknowledged, or failed for good.
    pub result: Result<Ack, Failure>,
}

/// A record DIS stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// Partition it went to.
    pub partition_id: String,
    /// Its sequence number there.
    pub sequence_number: String,
}

/// Why a record was not stored (as far as the producer knows).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    /// It breaks a DIS limit; it was never sent.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// DIS refused this record (its own `error_code`), for good or after the last try.
    #[error("DIS refused the record: {code}: {message}")]
    Refused {
        /// DIS error code.
        code: String,
        /// DIS error message.
        message: String,
    },
    /// The whole request failed, for good or after the last try.
    #[error("{0}")]
    Request(Error),
}

impl Failure {
    /// True when the final error says the record may have been stored anyway (its answer was
    /// lost, or a 500/502/504). See [`Delivery::maybe_duplicated`] for earlier tries.
    pub fn maybe_stored(&self) -> bool {
        matches!(self, Failure::Request(e) if e.maybe_delivered())
    }
}

impl Delivery {
    /// True when a copy of this record may be in the stream although the result says failed,
    /// or more than one copy although it says acknowledged: some try's answer was lost (or a
    /// 500/502/504) and it was sent again, or the final error is such a failure.
    pub fn maybe_duplicated(&self) -> bool {
        self.ambiguous_attempts > 0 || matches!(&self.result, Err(f) if f.maybe_stored())
    }
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records taken in.
    pub sent: u64,
    /// Records stored.
    pub acknowledged: u64,
    /// Records handed back as failed.
    pub failed: u64,
    /// Tries beyond the first, over all records.
    pub retries: u64,
    /// Resends after a lost answer (possible duplicates).
    pub ambiguous: u64,
    /// Requests made.
    pub requests: u64,
}

impl Summary {
    fn add(&mut self, d: &Delivery) {
        self.retries += u64::from(d.attempts.saturating_sub(1));
        self.ambiguous += u64::from(d.ambiguous_attempts);
        match d.result {
            Ok(_) => self.acknowledged += 1,
            Err(_) => self.failed += 1,
        }
    }
}

/// A record waiting in a batch. Its wire entry sits at the same index of the batch's body.
struct Pending {
    id: u64,
    record: Record,
    attempts: u32,
    ambiguous_attempts: u32,
}

/// Records of one future request: the generated body and, at the same indexes, the records.
struct Batch {
    lane: usize,
    pending: Vec<Pending>,
    entries: Vec<types::PutRecordsRequestEntry>,
    bytes: usize,
    since: Instant,
}

impl Batch {
    fn new(lane: usize) -> Batch {
        Batch {
            lane,
            pending: Vec::new(),
            entries: Vec::new(),
            bytes: 0,
            since: Instant::now(),
        }
    }

    fn fits(&self, size: usize, limits: &Limits) -> bool {
        self.pending.len() < limits.max_records_per_request
            && self.bytes + size <= limits.max_request_bytes
    }
}

/// A validated record on its way into a lane.
struct Placed {
    lane: usize,
    pending: Pending,
    entry: types::PutRecordsRequestEntry,
}

/// A lane holds one open batch; with `order_by_key` each key always maps to the same lane
/// and a lane has at most one request in flight.
struct Lane {
    open: Option<Batch>,
    in_flight: usize,
}

/// Sends records to one stream through a [`DisClient`].
#[derive(Debug, Clone)]
pub struct Producer {
    client: DisClient,
    stream: types::PutRecordsRequestStreamName,
    config: ProducerConfig,
}

/// Requests in flight, each answering with its lane, its outcomes and how many tries it made.
type Flights = JoinSet<(usize, Vec<Delivery>, u64)>;

/// What the engine takes in.
enum Input {
    Record(Record),
    Flush(oneshot::Sender<()>),
}

impl Producer {
    /// A producer for `stream_name`. The stream name and the limits are checked here.
    pub fn new(
        client: DisClient,
        stream_name: &str,
        config: ProducerConfig,
    ) -> Result<Producer, Error> {
        let stream = validate::stream_name(stream_name)?;
        config.limits.check()?;
        if config.max_in_flight == 0 {
            return Err(Error::Config("max_in_flight must be at least 1".into()));
        }
        config.retry.check()?;
        Ok(Producer {
            client,
            stream,
            config,
        })
    }

    /// Sends every record of `records` and calls `on_delivery` once per record, as outcomes
    /// arrive. Returns when every record has an outcome.
    pub async fn send_all<I, F>(&self, records: I, on_delivery: F) -> Summary
    where
        I: IntoIterator<Item = Record>,
        F: FnMut(Delivery),
    {
        self.send_stream(futures_util::stream::iter(records), on_delivery)
            .await
    }

    /// Like [`Producer::send_all`], for an async stream of records.
    pub async fn send_stream<S, F>(&self, records: S, on_delivery: F) -> Summary
    where
        S: Stream<Item = Record>,
        F: FnMut(Delivery),
    {
        self.run(records.map(Input::Record), FnSink(on_delivery))
            .await
    }

    /// Starts the producer on its own task, fed one record at a time through the returned
    /// handle; outcomes arrive on the returned receiver (bounded: read it, or sending stalls).
    pub fn spawn(self) -> (ProducerHandle, mpsc::Receiver<Delivery>) {
        let window = self.config.limits.max_records_per_request;
        let (tx, rx) = mpsc::channel::<Input>(window);
        let (out_tx, out_rx) = mpsc::channel::<Delivery>(window * (self.config.max_in_flight + 1));
        let task = tokio::spawn(async move {
            let input = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|i| (i, rx))
            });
            self.run(input, ChannelSink(out_tx)).await
        });
        (ProducerHandle { tx, task }, out_rx)
    }

    fn lane_of(&self, record: &Record) -> usize {
        if !self.config.order_by_key {
            return 0;
        }
        let mut h = DefaultHasher::new();
        record.partition_key.hash(&mut h);
        (h.finish() % self.config.max_in_flight as u64) as usize
    }

    fn lane_capacity(&self) -> usize {
        if self.config.order_by_key {
            1
        } else {
            self.config.max_in_flight
        }
    }

    /// True when `lane` may start another request.
    fn has_room(&self, lane: &Lane) -> bool {
        lane.in_flight < self.lane_capacity()
    }

    /// The engine: batches input, keeps the window full, and reports outcomes.
    async fn run<S: Stream<Item = Input>>(&self, input: S, mut sink: impl Sink) -> Summary {
        let lanes_n = if self.config.order_by_key {
            self.config.max_in_flight
        } else {
            1
        };
        let mut lanes: Vec<Lane> = (0..lanes_n)
            .map(|_| Lane {
                open: None,
                in_flight: 0,
            })
            .collect();
        let mut flights: Flights = JoinSet::new();
        let mut summary = Summary::default();
        let mut next_id = 0u64;
        // A record taken in whose lane has no room yet; input waits until it is placed.
        let mut stash: Option<Placed> = None;
        let mut flush_waiters: Vec<oneshot::Sender<()>> = Vec::new();
        let mut input_open = true;
        let mut input = std::pin::pin!(input);

        loop {
            if let Some(placed) = stash.take() {
                stash = self.place(&mut lanes, &mut flights, placed);
            }
            // Send batches that waited long enough, or all of them when draining.
            let draining = !input_open || !flush_waiters.is_empty();
            let now = Instant::now();
            for lane in 0..lanes.len() {
                let ready = lanes[lane]
                    .open
                    .as_ref()
                    .is_some_and(|b| draining || now.duration_since(b.since) >= self.config.linger);
                if ready && self.has_room(&lanes[lane]) {
                    self.dispatch(&mut lanes, &mut flights, lane);
                }
            }
            let idle =
                flights.is_empty() && stash.is_none() && lanes.iter().all(|l| l.open.is_none());
            if idle {
                for w in flush_waiters.drain(..) {
                    let _ = w.send(());
                }
                if !input_open {
                    break;
                }
            }
            // Only lanes that may send now have a deadline: a full window waits for a flight.
            let deadline = lanes
                .iter()
                .filter(|l| self.has_room(l))
                .filter_map(|l| l.open.as_ref().map(|b| b.since + self.config.linger))
                .min();

            tokio::select! {
                next = input.next(), if input_open && stash.is_none() && flush_waiters.is_empty() => {
                    // Take in what is ready now without going round the select per record.
                    let mut next = Some(next);
                    while let Some(item) = next.take() {
                        match item {
                            None => input_open = false,
                            Some(Input::Flush(w)) => flush_waiters.push(w),
                            Some(Input::Record(record)) => {
                                let id = next_id;
                                next_id += 1;
                                summary.sent += 1;
                                // The index in a validation error is the record's input position.
                                match record.to_entry(id as usize, &self.config.limits) {
                                    Err(e) => {
                                        let d = Delivery { id, record, attempts: 0, ambiguous_attempts: 0, result: Err(Failure::Invalid(e)) };
                                        summary.add(&d);
                                        sink.deliver(d).await;
                                    }
                                    Ok(entry) => {
                                        let lane = self.lane_of(&record);
                                        let pending = Pending { id, record, attempts: 0, ambiguous_attempts: 0 };
                                        stash = self.place(&mut lanes, &mut flights, Placed { lane, pending, entry });
                                    }
                                }
                                if stash.is_none() {
                                    next = input.next().now_or_never();
                                }
                            }
                        }
                    }
                },
                Some(done) = flights.join_next(), if !flights.is_empty() => {
                    let (lane, deliveries, requests) = done.expect("a request task panicked");
                    lanes[lane].in_flight -= 1;
                    summary.requests += requests;
                    for d in deliveries {
                        summary.add(&d);
                        sink.deliver(d).await;
                    }
                }
                _ = sleep_until(deadline), if deadline.is_some() => {}
            }
        }
        summary
    }

    /// Puts a record into its lane's open batch, sending the batch first when the record
    /// would not fit. Gives the record back when the lane has no room for another request.
    fn place(&self, lanes: &mut [Lane], flights: &mut Flights, placed: Placed) -> Option<Placed> {
        let limits = &self.config.limits;
        let size = placed.pending.record.data.len();
        let lane = placed.lane;
        if lanes[lane]
            .open
            .as_ref()
            .is_some_and(|b| !b.fits(size, limits))
        {
            if !self.has_room(&lanes[lane]) {
                return Some(placed);
            }
            self.dispatch(lanes, flights, lane);
        }
        let batch = lanes[lane].open.get_or_insert_with(|| Batch::new(lane));
        batch.bytes += size;
        batch.pending.push(placed.pending);
        batch.entries.push(placed.entry);
        // A full batch goes now when the window allows.
        if batch.pending.len() >= limits.max_records_per_request && self.has_room(&lanes[lane]) {
            self.dispatch(lanes, flights, lane);
        }
        None
    }

    /// Sends the open batch of `lane` as one request on its own task.
    fn dispatch(&self, lanes: &mut [Lane], flights: &mut Flights, lane: usize) {
        let Some(batch) = lanes[lane].open.take() else {
            return;
        };
        lanes[lane].in_flight += 1;
        let (client, stream, policy) = (
            self.client.clone(),
            self.stream.clone(),
            self.config.retry.clone(),
        );
        flights.spawn(deliver(client, stream, policy, batch));
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Sends one batch until every record in it is acknowledged or failed for good.
/// Returns the lane, the outcomes, and the number of requests made.
async fn deliver(
    client: DisClient,
    stream: types::PutRecordsRequestStreamName,
    policy: RetryPolicy,
    batch: Batch,
) -> (usize, Vec<Delivery>, u64) {
    let Batch {
        lane,
        mut pending,
        entries,
        ..
    } = batch;
    let mut body = types::PutRecordsRequest {
        stream_name: stream,
        stream_id: None,
        records: entries,
    };
    let mut out = Vec::with_capacity(pending.len());
    let mut rng = SmallRng::from_os_rng();
    let mut requests = 0u64;
    // Tries without progress, for the backoff; reset whenever a record gets stored.
    let mut streak = 0u32;

    while !pending.is_empty() {
        for p in pending.iter_mut() {
            p.attempts += 1;
        }
        requests += 1;
        let bytes: usize = pending.iter().map(|p| p.record.data.len()).sum();
        let span = tracing::info_span!(
            "dis.put_records",
            stream = body.stream_name.as_str(),
            records = pending.len(),
            bytes,
            attempt = pending.iter().map(|p| p.attempts).max().unwrap_or(1),
            status = tracing::field::Empty,
            failed = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let result = client.send_request(&body).instrument(span.clone()).await;
        let mut retry_after = None;
        // For each record: Some(outcome) when it is done, None to send again.
        let verdicts: Vec<Option<Result<Ack, Failure>>> = match result {
            Ok(outcome) => {
                span.record("status", 200);
                span.record("failed", outcome.failed_record_count);
                if let Some(id) = &outcome.request_id {
                    span.record("request_id", id.as_str());
                }
                outcome
                    .results
                    .into_iter()
                    .zip(&pending)
                    .map(|(r, p)| match r {
                        RecordResult::Stored {
                            partition_id,
                            sequence_number,
                        } => Some(Ok(Ack {
                            partition_id,
                            sequence_number,
                        })),
                        RecordResult::Failed { code, .. }
                            if policy.is_retryable_code(&code)
                                && p.attempts < policy.max_attempts =>
                        {
                            None
                        }
                        RecordResult::Failed { code, message } => {
                            Some(Err(Failure::Refused { code, message }))
                        }
                    })
                    .collect()
            }
            Err(err) => {
                if let Some(status) = err.status() {
                    span.record("status", status);
                }
                if let Some(id) = err.request_id() {
                    span.record("request_id", id);
                }
                tracing::debug!(parent: &span, error = %err, "request failed");
                if let Error::Dis {
                    retry_after: Some(d),
                    ..
                } = &err
                {
                    retry_after = Some(*d);
                }
                let again = policy.is_retryable_request(&err);
                let ambiguous = err.maybe_delivered();
                pending
                    .iter_mut()
                    .map(|p| {
                        if again && p.attempts < policy.max_attempts {
                            if ambiguous {
                                p.ambiguous_attempts += 1;
                            }
                            None
                        } else {
                            Some(Err(Failure::Request(err.clone())))
                        }
                    })
                    .collect()
            }
        };

        // Hand out the finished records; keep the rest (record and wire entry, in lockstep).
        let mut progress = false;
        let mut keep_pending = Vec::new();
        let mut keep_entries = Vec::new();
        for ((p, e), v) in pending
            .into_iter()
            .zip(std::mem::take(&mut body.records))
            .zip(verdicts)
        {
            match v {
                Some(result) => {
                    progress |= result.is_ok();
                    out.push(Delivery {
                        id: p.id,
                        record: p.record,
                        attempts: p.attempts,
                        ambiguous_attempts: p.ambiguous_attempts,
                        result,
                    });
                }
                None => {
                    keep_pending.push(p);
                    keep_entries.push(e);
                }
            }
        }
        pending = keep_pending;
        body.records = keep_entries;
        if pending.is_empty() {
            break;
        }
        streak = if progress { 1 } else { streak + 1 };
        let mut wait = policy.backoff(streak, &mut rng);
        if let Some(d) = retry_after {
            wait = wait.max(d.min(policy.max_backoff));
        }
        tokio::time::sleep(wait).await;
    }
    (lane, out, requests)
}

/// Feeds a spawned producer. Dropping it without [`ProducerHandle::close`] still delivers
/// every record already sent.
#[derive(Debug)]
pub struct ProducerHandle {
    tx: mpsc::Sender<Input>,
    task: tokio::task::JoinHandle<Summary>,
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

    /// Sends what is batched now and waits until every record queued so far has an outcome.
    /// Outcomes go to the receiver [`Producer::spawn`] returned, which holds a bounded number:
    /// keep reading it (from another task) while flushing, or this waits forever.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Input::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Stops taking records, waits for everything in flight, and returns the totals. As with
    /// [`ProducerHandle::flush`], keep reading the outcomes meanwhile.
    pub async fn close(self) -> Summary {
        drop(self.tx);
        self.task.await.expect("the producer task panicked")
    }
}

/// Where the engine hands outcomes: a caller's callback, or the spawned producer's channel.
trait Sink {
    fn deliver(&mut self, d: Delivery) -> impl std::future::Future<Output = ()>;
}

struct FnSink<F>(F);

impl<F: FnMut(Delivery)> Sink for FnSink<F> {
    async fn deliver(&mut self, d: Delivery) {
        (self.0)(d)
    }
}

/// Bounded: a reader that stops reading stops the producer (backpressure, not a queue).
struct ChannelSink(mpsc::Sender<Delivery>);

impl Sink for ChannelSink {
    async fn deliver(&mut self, d: Delivery) {
        // A dropped receiver means nobody wants outcomes any more; keep sending records.
        let _ = self.0.send(d).await;
    }
}
