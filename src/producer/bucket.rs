//! A partition's write quota, kept on the client: a token bucket of records and one of bytes at
//! DIS's documented rate for the stream kind, as the KPL's `RateLimit` keeps a shard's. Records
//! go out only as the buckets allow, so DIS's own buckets are not run dry and hardly ever answer
//! `DIS.4303`.
//!
//! The buckets follow DIS's rules: a record refused with `DIS.4303` took nothing from DIS's
//! bucket, so it gives its tokens back here and waits for the bucket again when it is sent again
//! (no backoff on top). A `Retry-After` holds every record of the lane until then. The rate
//! goes down only when DIS says so (`DIS.4303`), by the share refused (a rate `r` over what DIS has left `q` sees about
//! `(r - q) / r` refused), and comes back to the quota a little every second. So several
//! producers sharing a stream settle at their shares of it. A decrease after which the share
//! refused does not fall is undone: those refusals do not follow the rate (faults injected at
//! random, say), and their share is not held against the rate again until it is forgotten.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

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
/// The share of the quota the rate never falls below.
const MIN_SCALE: f64 = 0.02;
/// How fast the rate comes back towards the quota after a decrease: this share of the quota per
/// second (slow, so that producers sharing a partition probe it gently).
const RECOVERY_PER_SECOND: f64 = 0.03;
/// How long after a decrease a request must go for its answer to say whether the refusals
/// followed the rate.
const SETTLE: Duration = Duration::from_millis(300);
/// How fast the share of refusals known not to follow the rate is forgotten (halved per second),
/// so that a wrong guess heals.
const BACKGROUND_HALF_LIFE: f64 = 1.0;

/// True when `share` of records refused, answered to a request sent after the rate went from
/// `before` to `after` because `cause` of them were refused, is closer to `cause` than to what
/// refusals that follow the rate would give at `after` (DIS leaves `before * (1 - cause)`, so
/// about `1 - before * (1 - cause) / after` are refused): the refusals did not follow the rate.
pub(crate) fn unmoved(cause: f64, before: f64, after: f64, share: f64) -> bool {
    let expected = (1.0 - before * (1.0 - cause) / after.max(f64::MIN_POSITIVE)).max(0.0);
    share > 0.0 && share > (cause + expected) / 2.0
}

/// Refusals in excess of the share known not to follow the rate below this are noise.
const NOISE: f64 = 0.02;
/// Fewer records than this in an answer say nothing of the rate (small requests, ordered mode
/// with few keys): one wholly refused is as likely a chance as a quota.
const MIN_SAMPLE: usize = 20;

/// True when `share` refused of `sent` records is more than the `background` share refused
/// whatever the rate, by more than chance explains: two standard deviations of a share among
/// `sent` records at worst (`1 / sqrt(sent)`), plus [`NOISE`]; and never for fewer than
/// [`MIN_SAMPLE`] records. Three records of which two are refused say nothing (a refusal at
/// random of 30% does that often); 500 of which 375 are refused say much.
pub(crate) fn in_excess(share: f64, background: f64, sent: usize) -> bool {
    if sent < MIN_SAMPLE {
        return false;
    }
    let spread = 1.0 / (sent as f64).sqrt();
    share - background > NOISE + spread
}

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
    /// When the rate last went down: answers to requests sent before say nothing of the new
    /// rate.
    lowered_at: Instant,
    /// The last decrease, until the first answer to a request sent after it says whether the
    /// refusals followed the rate: the scale before it and the share of refusals that caused it.
    probe: Option<(f64, f64)>,
    /// The share of refusals that did not follow the rate (forgotten over time).
    background: f64,
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
                lowered_at: now,
                probe: None,
                background: 0.0,
                hold_until: now,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refills the buckets, recovers the scale and forgets the background up to `now`.
    fn catch_up(&self, s: &mut State, now: Instant) {
        let dt = now.saturating_duration_since(s.last).as_secs_f64();
        s.last = now.max(s.last);
        s.scale = (s.scale + RECOVERY_PER_SECOND * dt).min(1.0);
        s.background *= 0.5f64.powf(dt / BACKGROUND_HALF_LIFE);
        let (r, b) = (self.records_rate * s.scale, self.bytes_rate * s.scale);
        s.records = (s.records + r * dt).min(r * BURST);
        s.bytes = (s.bytes + b * dt).min(b * BURST);
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

    /// What DIS answered to a request of `sent` records sent at `sent_at`: `throttled` of them
    /// (`throttled_bytes` of data) refused with `DIS.4303`, and the answer's `Retry-After`.
    pub(crate) fn feedback(
        &self,
        sent: usize,
        throttled: usize,
        throttled_bytes: usize,
        sent_at: Instant,
        retry_after: Option<Duration>,
    ) {
        if sent == 0 && retry_after.is_none() {
            return;
        }
        let mut s = self.lock();
        let now = Instant::now();
        self.catch_up(&mut s, now);
        let share = throttled as f64 / sent.max(1) as f64;
        // Refused records took nothing from DIS's bucket: their tokens come back, unless the
        // refusals say the rate is too high (then they wait for the bucket anew).
        let over = self.adapt && in_excess(share, s.background, sent);
        if !over {
            s.records += throttled as f64;
            s.bytes += throttled_bytes as f64;
        }
        if !self.adapt {
            return;
        }
        // DIS asks to wait: nothing goes before then (the refused records' tokens wait too).
        if let Some(wait) = retry_after {
            s.hold_until = s.hold_until.max(now + wait.min(Duration::from_secs(60)));
            return;
        }
        if sent_at < s.lowered_at {
            return;
        }
        // Whether the refusals followed the rate is read from a request sent a while after the
        // decrease, when other producers sharing the partition have had their answers too.
        let settled = sent_at >= s.lowered_at + SETTLE;
        if settled
            && let Some((before, cause)) = s.probe.take()
            && unmoved(cause, before, s.scale, share)
        {
            // The rate went down and the refusals did not: they do not follow the rate.
            s.scale = before;
            s.background = s.background.max(share);
            return;
        }
        let excess = share - s.background;
        if over && (s.probe.is_none() || settled) {
            // A rate `r` over what DIS has left `q` sees about `(r - q) / r` refused: `r` times
            // one minus that share is `q`. At most halved at once: a small request wholly
            // refused says the rate is too high, not by how much.
            s.probe = Some((s.scale, share));
            s.scale = (s.scale * (1.0 - excess).max(0.5)).max(MIN_SCALE);
            s.lowered_at = now;
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

    #[test]
    fn records_go_at_the_quota() {
        let b = TokenBucket::new(StreamKind::Common, 2, true);
        // A fifth of a second's worth goes at once; the next 500 wait a quarter of a second.
        assert_eq!(b.reserve(400, 400), Duration::ZERO);
        let wait = b.reserve(500, 500);
        assert!((wait.as_secs_f64() - 0.25).abs() < 0.02, "{wait:?}");
        // Bytes bind when records are large: 1 MiB/s a partition.
        let b = TokenBucket::new(StreamKind::Common, 1, true);
        let wait = b.reserve(1, 1024 * 1024);
        assert!((wait.as_secs_f64() - 0.8).abs() < 0.02, "{wait:?}");
    }

    #[test]
    fn refused_records_give_their_tokens_back() {
        let b = TokenBucket::new(StreamKind::Advanced, 1, false);
        assert_eq!(b.reserve(400, 0), Duration::ZERO);
        let sent_at = Instant::now();
        b.feedback(400, 400, 0, sent_at, None);
        assert_eq!(
            b.reserve(400, 0),
            Duration::ZERO,
            "the refused 400 go again"
        );
        assert_eq!(b.scale(), 1.0, "not adapting");
    }

    #[test]
    fn refusals_that_follow_the_rate_lower_it_and_others_do_not_for_long() {
        // Four producers on one partition: three quarters refused.
        let b = TokenBucket::new(StreamKind::Common, 1, true);
        // Ten records refused say nothing.
        b.feedback(10, 10, 0, Instant::now(), None);
        assert_eq!(b.scale(), 1.0);
        b.feedback(100, 75, 0, Instant::now(), None);
        assert!((b.scale() - 0.5).abs() < 0.01, "{}", b.scale());
        // Sent before the decrease: already answered for.
        b.feedback(100, 75, 0, Instant::now() - Duration::from_secs(1), None);
        assert!((b.scale() - 0.5).abs() < 0.01, "{}", b.scale());
        // Sent after, once the others have had their answers: half refused now (four at half
        // the quota each on one): halved again.
        let later = || Instant::now() + SETTLE + Duration::from_millis(100);
        b.feedback(100, 50, 0, later(), None);
        assert!((b.scale() - 0.25).abs() < 0.01, "{}", b.scale());
        // Then the refusals stop: the rate stays.
        b.feedback(100, 0, 0, Instant::now(), None);
        assert!((b.scale() - 0.25).abs() < 0.01, "{}", b.scale());
        // A fixed share refused whatever the rate: after one decrease that changes nothing, the
        // rate goes back and stays.
        let b = TokenBucket::new(StreamKind::Common, 1, true);
        b.feedback(100, 30, 0, Instant::now(), None);
        assert!((b.scale() - 0.7).abs() < 0.01, "{}", b.scale());
        for _ in 0..200 {
            b.feedback(100, 30, 0, later(), None);
        }
        assert!(b.scale() > 0.9, "{}", b.scale());
    }

    #[test]
    fn refusals_that_do_not_fall_with_the_rate_are_told_apart() {
        // 90% refused, the rate halved: DIS's quota would refuse 80% now.
        assert!(!unmoved(0.9, 1.0, 0.5, 0.8));
        assert!(unmoved(0.9, 1.0, 0.5, 0.9));
        // 30% refused at random, the rate lowered by 30%: a quota would refuse none now.
        assert!(unmoved(0.3, 1.0, 0.7, 0.3));
        assert!(!unmoved(0.3, 1.0, 0.7, 0.05));
        // Everything refused, the rate halved: still everything, as a quota of 0 would.
        assert!(!unmoved(1.0, 1.0, 0.5, 1.0));
    }

    #[test]
    fn retry_after_holds_the_records() {
        let b = TokenBucket::new(StreamKind::Common, 1, true);
        b.feedback(10, 0, 0, Instant::now(), Some(Duration::from_secs(2)));
        let wait = b.reserve(1, 1);
        assert!(wait >= Duration::from_millis(1900), "{wait:?}");
    }
}
