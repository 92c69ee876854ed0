//! A snapshot of a producer for dashboards, readable at any time without stopping it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::arrivals::Arrivals;
use super::delivery::{Delivery, Failure};
use super::pacing::StreamKind;
use crate::error::Error;
use crate::metrics::ProducerMetrics;

/// What a producer holds and has done, at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ProducerStats {
    /// Records handed to the producer and not yet taken into a batch.
    pub buffered: u64,
    /// Records taken in (in a batch or a request) without an outcome yet.
    pub in_flight: u64,
    /// Records acknowledged so far.
    pub acknowledged: u64,
    /// Records failed so far, by error code: DIS's code (`DIS.4303`, ...), else the HTTP
    /// status (`HTTP 413`), else `invalid`, `expired`, `transport` or `unreadable`.
    pub failed: BTreeMap<String, u64>,
    /// Answers `DIS.4303` (traffic control) per partition, when the partition count is known,
    /// and in a last entry those of the records without a key, which DIS spreads itself (else
    /// all in entry 0): each is a throttled try of one record, sent again until its deadline and
    /// not counted in [`ProducerStats::retries`].
    pub throttled: Vec<u64>,
    /// Tries beyond a record's first that were not throttled (after a failed request, a
    /// retryable record code, a lost answer), over the records with an outcome so far: what
    /// [`RetryPolicy::with_max_attempts`](crate::RetryPolicy::with_max_attempts) caps.
    pub retries: u64,
    /// Records acknowledged per second over the last second or so.
    pub send_rate: f64,
    /// Calls of the delivery callback that panicked (caught; the producer went on).
    pub callback_panics: u64,
    /// How long the oldest record in a spawned producer's buffer has waited (zero when the
    /// buffer is empty; an upper bound, within the arrival spread of 64 records).
    pub oldest_buffered_age: Duration,
    /// Tries that ran into an error so far: requests that failed as a whole (no credentials,
    /// connect refused, DNS, TLS, an HTTP error answer) and answers that refused records.
    pub failed_tries: u64,
    /// What the last of those tries ran into, as text (the first refused record of an answer
    /// stands for the answer): to tell an operator why records wait before any of them fails.
    pub last_error: Option<String>,
    /// The stream's writable partitions, as DIS last described them (`None`: not described,
    /// see [`ProducerConfig::with_describe`](crate::ProducerConfig::with_describe)).
    pub partitions: Option<u32>,
    /// The stream's kind, as DIS last described it.
    pub stream_kind: Option<StreamKind>,
}

/// The live counters behind [`ProducerStats`]. The two that move once per record on the way in
/// are atomics; the rest, updated once per request, share a lock. Each count also goes to the
/// `metrics` facade (see [`ProducerMetrics`]); the gauges are set on every outcome and every
/// snapshot.
#[derive(Debug)]
pub(crate) struct StatsCell {
    buffered: AtomicU64,
    in_flight: AtomicU64,
    arrivals: Arrivals,
    metrics: ProducerMetrics,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    stats: ProducerStats,
    window_start: Instant,
    window_acked: u64,
}

/// How often the send rate is recomputed.
const RATE_WINDOW: Duration = Duration::from_secs(1);

impl StatsCell {
    /// The stats of a producer sending to `stream`, of `partitions` when known: a throttled
    /// entry per partition, and one for the records without a key (their own lane).
    pub(crate) fn new(stream: &str, partitions: Option<u32>) -> StatsCell {
        let slots = partitions.map_or(1, |p| p as usize + 1);
        StatsCell {
            buffered: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            arrivals: Arrivals::default(),
            metrics: ProducerMetrics::new(stream, partitions),
            inner: Mutex::new(Inner {
                stats: ProducerStats {
                    throttled: vec![0; slots],
                    ..ProducerStats::default()
                },
                window_start: Instant::now(),
                window_acked: 0,
            }),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The snapshot.
    pub(crate) fn snapshot(&self) -> ProducerStats {
        let oldest = self.arrivals.oldest_age();
        let stats = self.with(|i| {
            let elapsed = i.window_start.elapsed();
            let mut stats = i.stats.clone();
            stats.buffered = self.buffered.load(Ordering::Relaxed);
            stats.in_flight = self.in_flight.load(Ordering::Relaxed);
            stats.oldest_buffered_age = oldest;
            if elapsed >= RATE_WINDOW {
                // No outcome for a while: the rate has fallen.
                stats.send_rate = stats
                    .send_rate
                    .min(i.window_acked as f64 / elapsed.as_secs_f64());
            }
            stats
        });
        self.metrics
            .gauges(stats.buffered, stats.in_flight, stats.oldest_buffered_age);
        stats
    }

    /// Sets the gauges from the live counters.
    fn publish_gauges(&self) {
        self.metrics.gauges(
            self.buffered.load(Ordering::Relaxed),
            self.in_flight.load(Ordering::Relaxed),
            self.arrivals.oldest_age(),
        );
    }

    /// A try ran into `error`.
    pub(crate) fn try_failed(&self, error: String) {
        self.with(|i| {
            i.stats.failed_tries += 1;
            i.stats.last_error = Some(error);
        });
    }

    /// One request answered (or failed) after `took`.
    pub(crate) fn request(&self, took: Duration, ok: bool) {
        self.metrics.request(took, ok);
    }

    /// The delivery callback panicked once.
    pub(crate) fn callback_panicked(&self) {
        self.with(|i| i.stats.callback_panics += 1);
    }

    /// A record handed to a spawned producer's buffer.
    pub(crate) fn buffered(&self) {
        self.buffered.fetch_add(1, Ordering::Relaxed);
        self.arrivals.arrived();
    }

    /// A record taken in, out of the buffer when it `was_buffered` (a spawned producer's) and,
    /// when `valid`, into a batch.
    pub(crate) fn taken_in(&self, was_buffered: bool, valid: bool) {
        if was_buffered {
            decrement(&self.buffered, 1);
            self.arrivals.left();
        }
        if valid {
            self.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        self.metrics.sent();
    }

    /// The producer now has `lanes` lanes (partitions and the lane of records without a key):
    /// the throttled counts grow to as many entries (never shrink).
    pub(crate) fn lanes(&self, lanes: usize) {
        self.with(|i| {
            let t = &mut i.stats.throttled;
            if t.len() < lanes {
                // The last entry is the lane of the records without a key: it stays last.
                let spread = t.pop().unwrap_or(0);
                t.resize(lanes - 1, 0);
                t.push(spread);
            }
        });
    }

    /// What DIS described: the stream's writable partitions and its kind.
    pub(crate) fn learned(&self, partitions: u32, kind: Option<StreamKind>) {
        self.with(|i| {
            i.stats.partitions = Some(partitions);
            i.stats.stream_kind = kind;
        });
    }

    /// `n` answers `DIS.4303` for `partition`.
    pub(crate) fn throttled(&self, partition: usize, n: u64) {
        self.with(|i| {
            let slots = i.stats.throttled.len();
            i.stats.throttled[partition.min(slots - 1)] += n;
        });
        self.metrics.throttled(partition, n);
    }

    /// Counts the outcomes of `deliveries`.
    pub(crate) fn delivered(&self, deliveries: &[Delivery]) {
        // Invalid records were never taken in.
        let taken = deliveries
            .iter()
            .filter(|d| !matches!(d.result, Err(Failure::Invalid(_))))
            .count();
        decrement(&self.in_flight, taken as u64);
        let mut failed: BTreeMap<String, u64> = BTreeMap::new();
        let (mut acknowledged, mut duplicates, mut retries) = (0, 0, 0);
        for d in deliveries {
            retries += u64::from(d.retries());
            match &d.result {
                Ok(_) => acknowledged += 1,
                Err(f) => *failed.entry(failure_key(f)).or_default() += 1,
            }
            duplicates += u64::from(d.maybe_duplicated());
        }
        self.metrics.outcomes(acknowledged, duplicates);
        for (code, n) in &failed {
            self.metrics.failed(code, *n);
        }
        self.publish_gauges();
        self.with(|i| {
            i.stats.acknowledged += acknowledged;
            i.stats.retries += retries;
            i.window_acked += acknowledged;
            for (code, n) in failed {
                *i.stats.failed.entry(code).or_default() += n;
            }
            let elapsed = i.window_start.elapsed();
            if elapsed >= RATE_WINDOW {
                i.stats.send_rate = i.window_acked as f64 / elapsed.as_secs_f64();
                i.window_start = Instant::now();
                i.window_acked = 0;
            }
        });
    }
}

/// Lowers `counter` by `n`, never below 0.
fn decrement(counter: &AtomicU64, n: u64) {
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
        Some(v.saturating_sub(n))
    });
}

/// The key a failure is counted under.
fn failure_key(f: &Failure) -> String {
    match f {
        Failure::Invalid(_) => "invalid".into(),
        Failure::Refused { code, .. } => code.clone(),
        Failure::Expired { .. } => "expired".into(),
        Failure::Request(e) => match e.as_ref() {
            Error::Dis { code: Some(c), .. } => c.clone(),
            Error::Dis { status, .. } => format!("HTTP {status}"),
            Error::Transport { .. } => "transport".into(),
            Error::InvalidResponse { .. } => "unreadable".into(),
            _ => "request".into(),
        },
    }
}
