//! A partition's write quota, kept on the client: a token bucket of records and one of bytes at
//! DIS's documented rate for the stream kind, as the KPL's `RateLimit` keeps a shard's. Records
//! go out only as the buckets allow, so DIS's own buckets are not run dry and hardly ever answer
//! `DIS.4303`.
//!
//! The buckets follow DIS's rules: a record refused with `DIS.4303` took nothing from DIS's
//! bucket, so it gives its tokens back here and waits for the bucket again when it is sent again
//! (no backoff on top). A `Retry-After` holds every record of the lane until then. The rate
//! goes down only when DIS says so (`DIS.4303` beyond the refusals that do not follow the rate:
//! [`super::refusals`]), by the share refused (a rate `r` over what DIS has left `q` sees about
//! `(r - q) / r` refused), and comes back to the quota a little every second. So several
//! producers sharing a stream settle at their shares of it. A request carries at most 25 ms of
//! the rate, so that what a producer has reserved before it learns of the others is small.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::refusals::{Answer, Refusals, Verdict, decrease};
use crate::validate::Limits;

/// The kind of a DIS stream, which sets the write quota of each partition and the largest
/// request (DIS's documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamKind {
    /// A common stream: per partition, 1,000 records/s or 1 MiB/s; 1 MiB per request.
    #[default]
    Common,
    /// An advanced stream: per partition, 2,000 records/s or 5 MiB/s; 5 MiB per request.
    Advanced,
}

impl StreamKind {
    /// Records per second one partition accepts.
    pub const fn records_per_second(self) -> u32 {
        match self {
            StreamKind::Common => 1_000,
            StreamKind::Advanced => 2_000,
        }
    }

    /// Bytes of record data per second one partition accepts (DIS's "1 MB" and "5 MB", read
    /// as MiB, as its request limits are).
    pub const fn bytes_per_second(self) -> u32 {
        match self {
            StreamKind::Common => 1024 * 1024,
            StreamKind::Advanced => 5 * 1024 * 1024,
        }
    }

    /// The limits of a request to a stream of this kind ([`Limits::COMMON`] or
    /// [`Limits::ADVANCED`]).
    pub const fn limits(self) -> Limits {
        match self {
            StreamKind::Common => Limits::COMMON,
            StreamKind::Advanced => Limits::ADVANCED,
        }
    }

    /// Bytes of record data one request may carry: its [`limits`](StreamKind::limits)'.
    pub const fn request_bytes(self) -> usize {
        self.limits().max_request_bytes
    }

    /// The kind named `common` or `advanced` (any case).
    pub fn from_name(name: &str) -> Option<StreamKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "common" => Some(StreamKind::Common),
            "advanced" => Some(StreamKind::Advanced),
            _ => None,
        }
    }
}

/// What the client's bucket holds at most: a fifth of a second of the rate (DIS's holds one
/// second; the client's must not burst past what DIS has left).
const BURST: f64 = 0.2;
/// What one request carries at most: this long at the rate. Small requests when the rate is
/// shared: a producer learns of the others only from refusals, and what it has reserved at the
/// old rate goes out before a decrease takes hold.
const REQUEST_SPAN: f64 = 0.025;
/// The share of the quota the rate never falls below.
const MIN_SCALE: f64 = 0.02;
/// How fast the rate comes back towards the quota after a decrease: this share of what is left
/// to the quota per second. Fast far below (a producer that lost a race for DIS's bucket, or
/// whose neighbours have finished), gentle near it; the lower of two producers sharing a
/// partition gains faster, so they draw level.
const RECOVERY_PER_SECOND: f64 = 0.1;

/// One lane's buckets.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    /// The quota: records and bytes per second.
    records_rate: f64,
    bytes_rate: f64,
    /// Lower the rate on `DIS.4303`, and hold the records on `Retry-After`.
    adapt: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The share of the quota this producer takes now, in `MIN_SCALE..=1`.
    scale: f64,
    /// Tokens; negative while records wait for them (each reservation takes them at once).
    records: f64,
    bytes: f64,
    /// When the tokens and the scale were last brought up to date.
    last: Instant,
    /// Whether the refusals follow the rate.
    refusals: Refusals,
    /// No record goes before this (a `Retry-After`).
    hold_until: Instant,
}

impl TokenBucket {
    /// Buckets for `partitions` partitions of a `kind` stream (several for the records without
    /// a key, which DIS spreads itself); `adapt`: lower the rate when DIS refuses.
    pub(crate) fn new(kind: StreamKind, partitions: u32, adapt: bool) -> TokenBucket {
        let n = f64::from(partitions.max(1));
        let records_rate = f64::from(kind.records_per_second()) * n;
        let bytes_rate = f64::from(kind.bytes_per_second()) * n;
        let now = Instant::now();
        TokenBucket {
            records_rate,
            bytes_rate,
            adapt,
            state: Mutex::new(State {
                scale: 1.0,
                records: records_rate * BURST,
                bytes: bytes_rate * BURST,
                last: now,
                refusals: Refusals::new(),
                hold_until: now,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refills the buckets and recovers the scale up to `now`.
    fn catch_up(&self, s: &mut State, now: Instant) {
        let dt = now.saturating_duration_since(s.last).as_secs_f64();
        s.last = now.max(s.last);
        s.scale = 1.0 - (1.0 - s.scale) * (-RECOVERY_PER_SECOND * dt).exp();
        let (r, b) = (self.records_rate * s.scale, self.bytes_rate * s.scale);
        s.records = (s.records + r * dt).min(r * BURST);
        s.bytes = (s.bytes + b * dt).min(b * BURST);
    }

    /// The most records, and bytes of data, one request should carry now: [`REQUEST_SPAN`] at
    /// the rate (at least one record).
    pub(crate) fn request_cap(&self) -> (usize, usize) {
        let scale = self.lock().scale;
        let records = (self.records_rate * scale * REQUEST_SPAN).max(1.0);
        let bytes = (self.bytes_rate * scale * REQUEST_SPAN).max(1.0);
        (records as usize, bytes as usize)
    }

    /// Takes the tokens of `records` records of `bytes` bytes of data; returns how long to wait
    /// before sending them.
    pub(crate) fn reserve(&self, records: usize, bytes: usize) -> Duration {
        let mut s = self.lock();
        let now = Instant::now();
        self.catch_up(&mut s, now);
        s.records -= records as f64;
        s.bytes -= bytes as f64;
        let (r, b) = (self.records_rate * s.scale, self.bytes_rate * s.scale);
        let debt = (-s.records / r).max(-s.bytes / b).max(0.0);
        let wait = Duration::from_secs_f64(debt.min(3600.0));
        wait.max(s.hold_until.saturating_duration_since(now))
    }

    /// What DIS answered to a request: refusals (`DIS.4303`) and `Retry-After`.
    pub(crate) fn feedback(&self, answer: &Answer) {
        if answer.sent == 0 && answer.retry_after.is_none() {
            return;
        }
        let mut s = self.lock();
        let now = Instant::now();
        self.catch_up(&mut s, now);
        // Refused records took nothing from DIS's bucket: as many as refusals that do not follow
        // the rate explain get their tokens back (all, not adapting); the others were refused
        // for the rate, and wait for the bucket anew.
        let back = if self.adapt {
            s.refusals.explained(answer, now)
        } else {
            answer.throttled
        };
        if back > 0 {
            s.records += back as f64;
            s.bytes += (answer.throttled_bytes as f64) * back as f64 / answer.throttled as f64;
        }
        if !self.adapt {
            return;
        }
        // DIS asks to wait: nothing goes before then (the refused records' tokens wait too).
        if let Some(wait) = answer.retry_after {
            s.hold_until = s.hold_until.max(now + wait.min(Duration::from_secs(60)));
            return;
        }
        let scale = s.scale;
        match s.refusals.judge(scale, answer, now) {
            Verdict::Lower(excess) => {
                let before = s.scale;
                s.scale = (before * decrease(excess)).max(MIN_SCALE);
                let after = s.scale;
                s.refusals.lowered(before, after, now);
            }
            Verdict::Undo(before) => s.scale = before.min(1.0),
            Verdict::Clean | Verdict::Wait => {}
        }
    }

    /// The share of the quota taken now.
    #[cfg(test)]
    pub(crate) fn scale(&self) -> f64 {
        self.lock().scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True when `a` is `b` within float rounding.
    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < Duration::from_micros(1)
    }

    /// Half a second later than now, when answers to requests reserved now are settled.
    fn settled() -> Instant {
        Instant::now() + Duration::from_millis(500)
    }

    #[tokio::test(start_paused = true)]
    async fn records_go_at_the_quota() {
        let b = TokenBucket::new(StreamKind::Common, 2, true);
        // A fifth of a second's worth goes at once; the next 500 wait a quarter of a second.
        assert_eq!(b.reserve(400, 400), Duration::ZERO);
        let wait = b.reserve(500, 500);
        assert!(close(wait, Duration::from_millis(250)), "{wait:?}");
        // Bytes bind when records are large: 1 MiB/s a partition.
        let b = TokenBucket::new(StreamKind::Common, 1, true);
        let wait = b.reserve(1, 1024 * 1024);
        assert!(close(wait, Duration::from_millis(800)), "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_carries_25_ms_of_the_rate() {
        let b = TokenBucket::new(StreamKind::Common, 2, true);
        assert_eq!(b.request_cap(), (50, 52_428));
        // A quarter of the quota after three quarters were refused: a quarter of the request.
        b.feedback(&Answer::quota(200, 150, Instant::now()));
        assert_eq!(b.request_cap(), (12, 13_107));
    }

    #[tokio::test(start_paused = true)]
    async fn refused_records_give_their_tokens_back() {
        let b = TokenBucket::new(StreamKind::Advanced, 1, false);
        assert_eq!(b.reserve(400, 0), Duration::ZERO);
        b.feedback(&Answer::quota(400, 400, Instant::now()));
        assert_eq!(
            b.reserve(400, 0),
            Duration::ZERO,
            "the refused 400 go again"
        );
        assert_eq!(b.scale(), 1.0, "not adapting");
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_that_follow_the_rate_lower_it_by_their_share() {
        // Four producers on one partition: three quarters refused.
        let b = TokenBucket::new(StreamKind::Common, 1, true);
        // Ten records refused say nothing.
        b.feedback(&Answer::quota(10, 10, Instant::now()));
        assert_eq!(b.scale(), 1.0);
        let reserved = Instant::now();
        assert_eq!(b.reserve(200, 0), Duration::ZERO);
        b.feedback(&Answer::quota(200, 150, reserved));
        assert!((b.scale() - 0.25).abs() < 1e-9, "{}", b.scale());
        // Their tokens are not given back: the refused 150 wait for the bucket anew, 0.6 s at a
        // quarter of 1,000/s.
        let wait = b.reserve(150, 0);
        assert!(close(wait, Duration::from_millis(600)), "{wait:?}");
        // Reserved before the decrease: already answered for.
        b.feedback(&Answer::quota(200, 150, reserved));
        assert!((b.scale() - 0.25).abs() < 1e-9, "{}", b.scale());
        // Once settled the refusals stop: the rate stays, and comes back a tenth of what is left
        // to the quota a second.
        b.feedback(&Answer::quota(200, 0, settled()));
        assert!((b.scale() - 0.25).abs() < 1e-9, "{}", b.scale());
        tokio::time::advance(Duration::from_secs(10)).await;
        b.reserve(0, 0);
        let expected = 1.0 - 0.75 * (-RECOVERY_PER_SECOND * 10.0).exp();
        assert!((b.scale() - expected).abs() < 1e-9, "{}", b.scale());
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_that_do_not_fall_with_the_rate_leave_it() {
        // 30% refused whatever the rate: one decrease, undone, then the rate stays.
        let b = TokenBucket::new(StreamKind::Common, 1, true);
        b.feedback(&Answer::random(200, 60, Instant::now()));
        assert!((b.scale() - 0.7).abs() < 1e-9, "{}", b.scale());
        b.feedback(&Answer::random(200, 60, settled()));
        assert_eq!(b.scale(), 1.0);
        for _ in 0..100 {
            tokio::time::advance(Duration::from_millis(10)).await;
            b.feedback(&Answer::random(200, 60, settled()));
            assert!(b.scale() > 0.69, "{}", b.scale());
        }
        // ... and the refused records' tokens come back: 60 of the burst's 200 taken.
        let b = TokenBucket::new(StreamKind::Common, 1, true);
        b.feedback(&Answer::random(200, 60, Instant::now()));
        b.feedback(&Answer::random(200, 60, settled()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(b.reserve(200, 0), Duration::ZERO);
        b.feedback(&Answer::random(200, 60, settled()));
        assert_eq!(b.reserve(60, 0), Duration::ZERO);
        assert!(b.reserve(1, 0) > Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_the_records() {
        let b = TokenBucket::new(StreamKind::Common, 1, true);
        b.feedback(&Answer {
            retry_after: Some(Duration::from_secs(2)),
            ..Answer::quota(10, 0, Instant::now())
        });
        assert_eq!(b.reserve(1, 1), Duration::from_secs(2));
    }
}
