//! A partition's write quota, kept on the client: a token bucket of records and one of bytes at
//! DIS's documented rate for the stream kind, as the KPL's `RateLimit` keeps a shard's, times
//! the share of it this producer takes. Records go out only as the buckets allow, so DIS's own
//! buckets are not run dry and hardly ever answer `DIS.4303`.
//!
//! The share: a producer cannot know how many others write to its stream, only what DIS
//! refuses. Sharing (`Pacing::Quota`'s `shared`), it starts at half the quota and doubles its
//! share on clean answers (a slow start, as TCP's) until DIS first refuses or the share is
//! whole. Refusals that follow the rate ([`super::refusals`]) lower the share by the part
//! refused (a rate `r` over what DIS has left `q` sees about `(r - q) / r` refused) and a margin
//! more; then it grows again in proportion to itself, so that producers sharing a stream
//! together grow by the same part of the quota per second however many they are, and do not
//! keep overshooting. Alone, the share is whole from the first request and never lowered.
//!
//! A record refused with `DIS.4303` took nothing from DIS's bucket, so it gives its tokens back
//! here when the refusal does not follow the rate, and waits for the bucket again when it is sent
//! again (no backoff on top). A `Retry-After` holds every record of the lane until then. A
//! request carries at most 25 ms of the rate, so that what a producer has reserved before it
//! learns of the others is small.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::kind::StreamKind;
use super::refusals::{Refusals, Verdict, decrease};
use super::sample::Sample;

/// What the client's bucket holds at most: a fifth of a second of the rate (DIS's holds one
/// second; the client's must not burst past what DIS has left).
const BURST: f64 = 0.2;
/// What one request carries at most: this long at the rate. Small requests when the rate is
/// shared: a producer learns of the others only from refusals, and what it has reserved at the
/// old rate goes out before a decrease takes hold.
const REQUEST_SPAN: f64 = 0.025;
/// The share of the quota the rate never falls below.
const MIN_SCALE: f64 = 0.02;
/// The share a sharing producer starts at: eight producers starting together offer four times
/// the quota, which DIS's one-second burst absorbs for a quarter of a second, before the first
/// refusals bring them down.
const START_SCALE: f64 = 0.5;
/// During the slow start, the share doubles at most this often, on clean answers to requests
/// reserved since the last doubling.
const PROBE_EVERY: Duration = Duration::from_millis(200);
/// A share below the whole quota that no refusal has lowered for this long is probed up again
/// (a slow start), so that producers left on a stream others have finished with fill it within
/// seconds.
const REPROBE_AFTER: Duration = Duration::from_secs(3);
/// What a clean answer multiplies the share by when it is probed up again.
const REPROBE_FACTOR: f64 = 1.5;
/// After the slow start, the share grows by this part of itself per second: producers sharing
/// a stream grow by this part of the quota together, however many they are.
const GROWTH_PER_SECOND: f64 = 0.1;
/// ... and by this part of the quota per second each, so that a small share catches up with
/// larger ones.
const CATCH_UP_PER_SECOND: f64 = 0.005;
/// The share of refusals scattered among stored records from which they are taken for faults
/// (in a partition's own lane).
const SCATTERED: f64 = 0.5;
/// Lowered by refusals, the share goes this much further down than the refusals say: room for
/// DIS's bucket to fill again, so that the next overshoot is absorbed before it is refused.
const MARGIN: f64 = 0.1;

/// One lane's buckets at its share of the quota.
#[derive(Debug)]
pub(crate) struct QuotaPacer {
    /// The quota: records and bytes per second.
    records_rate: f64,
    bytes_rate: f64,
    /// Share the stream: slow start, and lower the share when DIS refuses.
    shared: bool,
    /// The lane's records are spread by DIS over several partitions (those without a key): a
    /// quota's refusals are scattered among them too.
    spread: bool,
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
    /// In the slow start: no refusal has lowered the share yet.
    probing: bool,
    /// When the share last doubled (slow start).
    raised_at: Instant,
    /// When refusals last lowered the share.
    lowered_at: Instant,
    /// What a clean answer multiplies the share by while probing: 2 at the start, less when
    /// probing again (the others may still be there).
    probe_factor: f64,
}

impl QuotaPacer {
    /// Buckets for `partitions` partitions of a `kind` stream (several for the records without
    /// a key, which DIS spreads itself); `shared`: slow start, and lower the rate when DIS
    /// refuses.
    pub(crate) fn new(kind: StreamKind, partitions: u32, shared: bool) -> QuotaPacer {
        let n = f64::from(partitions.max(1));
        let records_rate = f64::from(kind.records_per_second()) * n;
        let bytes_rate = f64::from(kind.bytes_per_second()) * n;
        let now = Instant::now();
        let scale = if shared { START_SCALE } else { 1.0 };
        QuotaPacer {
            records_rate,
            bytes_rate,
            shared,
            spread: partitions > 1,
            state: Mutex::new(State {
                scale,
                records: records_rate * scale * BURST,
                bytes: bytes_rate * scale * BURST,
                last: now,
                refusals: Refusals::new(),
                hold_until: now,
                probing: shared,
                raised_at: now,
                lowered_at: now,
                probe_factor: 2.0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refills the buckets and grows the share up to `now`.
    fn catch_up(&self, s: &mut State, now: Instant) {
        let dt = now.saturating_duration_since(s.last).as_secs_f64();
        s.last = now.max(s.last);
        if !s.probing {
            s.scale = grown(s.scale, dt);
        }
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
    pub(crate) fn feedback(&self, sample: &Sample) {
        if sample.sent == 0 && sample.retry_after.is_none() {
            return;
        }
        let mut s = self.lock();
        let now = Instant::now();
        self.catch_up(&mut s, now);
        // Refused records took nothing from DIS's bucket: as many as refusals that do not follow
        // the rate explain get their tokens back (all, alone); the others were refused for the
        // rate, and wait for the bucket anew.
        let back = if self.shared {
            s.refusals.explained(sample, now)
        } else {
            sample.throttled
        };
        if back > 0 {
            s.records += back as f64;
            s.bytes += (sample.throttled_bytes as f64) * back as f64 / sample.throttled as f64;
        }
        if !self.shared {
            return;
        }
        // DIS asks to wait: nothing goes before then (the refused records' tokens wait too).
        if let Some(wait) = sample.retry_after {
            s.hold_until = s.hold_until.max(now + wait.min(Duration::from_secs(60)));
            return;
        }
        let scale = s.scale;
        match s.refusals.judge(scale, sample, now) {
            // Refusals scattered among stored records, in a partition's own lane: faults (a
            // quota refuses a request's records from some point on). Taken as the background
            // at once, without a decrease to test them.
            Verdict::Lower(_) if !self.spread && s.refusals.scattered() >= SCATTERED => {
                s.refusals.learn(now);
            }
            Verdict::Lower(excess) => {
                s.probing = false;
                let before = s.scale;
                s.scale = (before * decrease(excess) * (1.0 - MARGIN)).max(MIN_SCALE);
                let after = s.scale;
                s.refusals.lowered(before, after, now);
                s.lowered_at = now;
            }
            Verdict::Undo(before) => s.scale = before.min(1.0),
            // Slow start: a clean answer to a request reserved at the current share doubles it.
            Verdict::Clean
                if s.probing
                    && sample.reserved_at >= s.raised_at
                    && now >= s.raised_at + PROBE_EVERY =>
            {
                s.scale = (s.scale * s.probe_factor).min(1.0);
                s.raised_at = now;
                if s.scale >= 1.0 {
                    s.probing = false;
                }
            }
            // Long without refusals below the whole quota: others have left the stream, and
            // the share is probed up again as at the start.
            Verdict::Clean if s.scale < 1.0 && now >= s.lowered_at + REPROBE_AFTER => {
                s.probing = true;
                s.probe_factor = REPROBE_FACTOR;
                s.raised_at = now;
                s.lowered_at = now;
            }
            Verdict::Clean | Verdict::Wait => {}
        }
    }

    /// The share of the quota taken now.
    #[cfg(test)]
    pub(crate) fn scale(&self) -> f64 {
        self.lock().scale
    }
}

/// The share `scale` grown over `dt` seconds after the slow start: by [`GROWTH_PER_SECOND`] of
/// itself and [`CATCH_UP_PER_SECOND`] of the quota per second, at most the whole quota.
fn grown(scale: f64, dt: f64) -> f64 {
    let g = GROWTH_PER_SECOND;
    let a = CATCH_UP_PER_SECOND / g;
    // ds/dt = g * (s + a): s + a grows as exp(g * t).
    ((scale + a) * (g * dt).exp() - a).min(1.0)
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
        let b = QuotaPacer::new(StreamKind::Common, 2, false);
        // A fifth of a second's worth goes at once; the next 500 wait a quarter of a second.
        assert_eq!(b.reserve(400, 400), Duration::ZERO);
        let wait = b.reserve(500, 500);
        assert!(close(wait, Duration::from_millis(250)), "{wait:?}");
        // Bytes bind when records are large: 1 MiB/s a partition.
        let b = QuotaPacer::new(StreamKind::Common, 1, false);
        let wait = b.reserve(1, 1024 * 1024);
        assert!(close(wait, Duration::from_millis(800)), "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_carries_25_ms_of_the_rate() {
        let b = QuotaPacer::new(StreamKind::Common, 2, false);
        assert_eq!(b.request_cap(), (50, 52_428));
        // Shared: half the quota at first.
        let b = QuotaPacer::new(StreamKind::Common, 2, true);
        assert_eq!(b.request_cap(), (25, 26_214));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shared_producer_starts_at_half_and_doubles_on_clean_answers() {
        let b = QuotaPacer::new(StreamKind::Common, 1, true);
        assert_eq!(b.scale(), START_SCALE);
        // Too soon after the start: no doubling yet.
        b.feedback(&Sample::quota(100, 0, Instant::now()));
        assert_eq!(b.scale(), START_SCALE);
        tokio::time::advance(PROBE_EVERY).await;
        b.feedback(&Sample::quota(100, 0, Instant::now()));
        assert_eq!(b.scale(), 1.0);
        // A whole share is not grown further, nor probed again.
        tokio::time::advance(PROBE_EVERY).await;
        b.feedback(&Sample::quota(100, 0, Instant::now()));
        assert_eq!(b.scale(), 1.0);
    }

    #[tokio::test(start_paused = true)]
    async fn refused_records_give_their_tokens_back_alone() {
        let b = QuotaPacer::new(StreamKind::Advanced, 1, false);
        assert_eq!(b.reserve(400, 0), Duration::ZERO);
        b.feedback(&Sample::quota(400, 400, Instant::now()));
        assert_eq!(
            b.reserve(400, 0),
            Duration::ZERO,
            "the refused 400 go again"
        );
        assert_eq!(b.scale(), 1.0, "alone: never lowered");
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_that_follow_the_rate_lower_it_by_their_share_and_a_margin() {
        // Four producers on one partition, at half each: seven eighths refused.
        let b = QuotaPacer::new(StreamKind::Common, 1, true);
        // Ten records refused say nothing.
        b.feedback(&Sample::quota(10, 10, Instant::now()));
        assert_eq!(b.scale(), START_SCALE);
        let reserved = Instant::now();
        b.feedback(&Sample::quota(200, 150, reserved));
        let lowered = START_SCALE * 0.25 * (1.0 - MARGIN);
        assert!((b.scale() - lowered).abs() < 1e-9, "{}", b.scale());
        // Their tokens are not given back: the refused 150 wait for the bucket anew (past the
        // fifth of a second's worth it holds).
        let wait = b.reserve(150, 0);
        let expected = (150.0 - 1000.0 * lowered * BURST) / (1000.0 * lowered);
        assert!(
            (wait.as_secs_f64() - expected).abs() < 0.01,
            "{wait:?}, {expected}"
        );
        // Reserved before the decrease: already answered for.
        b.feedback(&Sample::quota(200, 150, reserved));
        assert!((b.scale() - lowered).abs() < 1e-9, "{}", b.scale());
        // Once settled the refusals stop: the share grows by a part of itself a second, and no
        // longer doubles.
        b.feedback(&Sample::quota(200, 0, settled()));
        tokio::time::advance(Duration::from_secs(1)).await;
        b.reserve(0, 0);
        let expected = grown(lowered, 1.0);
        assert!((b.scale() - expected).abs() < 1e-9, "{}", b.scale());
        assert!(expected < lowered * 1.2, "{expected}");
        // ... and reaches the whole quota in time.
        tokio::time::advance(Duration::from_secs(60)).await;
        b.reserve(0, 0);
        assert_eq!(b.scale(), 1.0);
    }

    #[test]
    fn growth_is_in_proportion_to_the_share() {
        // Eight producers at an eighth each grow together as one at the whole would.
        let one = grown(0.8, 1.0) - 0.8;
        let eight = 8.0 * (grown(0.1, 1.0) - 0.1);
        assert!((one - eight).abs() < 0.05, "{one} {eight}");
        assert_eq!(grown(0.99, 10.0), 1.0);
        assert_eq!(grown(0.5, 0.0), 0.5);
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_that_do_not_fall_with_the_rate_leave_it() {
        // 30% refused at random, scattered among stored records: faults, not the rate. The
        // share stays, and their tokens come back.
        let b = QuotaPacer::new(StreamKind::Common, 1, true);
        for _ in 0..100 {
            tokio::time::advance(Duration::from_millis(10)).await;
            b.feedback(&Sample::random(200, 60, settled()));
            assert!(b.scale() >= START_SCALE, "{}", b.scale());
        }
        // Refused at requests' tails (a quota), beyond the faults: lowered.
        b.feedback(&Sample::quota(200, 150, settled()));
        assert!(b.scale() < START_SCALE, "{}", b.scale());
        // In the lane of the records DIS spreads over partitions, a quota scatters its
        // refusals too: they lower the share.
        let b = QuotaPacer::new(StreamKind::Common, 4, true);
        b.feedback(&Sample::random(200, 60, Instant::now()));
        assert!(b.scale() < START_SCALE, "{}", b.scale());
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_the_records() {
        let b = QuotaPacer::new(StreamKind::Common, 1, true);
        b.feedback(&Sample {
            retry_after: Some(Duration::from_secs(2)),
            ..Sample::quota(10, 0, Instant::now())
        });
        assert_eq!(b.reserve(1, 1), Duration::from_secs(2));
    }
}
