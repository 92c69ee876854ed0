//! The send rate of one partition. Told the stream's kind, the partition's quota kept in a token
//! bucket ([`TokenBucket`]); told nothing, adapted from the throttling DIS answers: additive
//! increase, multiplicative decrease (AIMD). Under sustained overload the producer then holds
//! near the partition's quota instead of bursting into it and backing off.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::bucket::{StreamKind, TokenBucket};

/// DIS's documented quota of a common stream's partition, the first guess of the rate (an
/// advanced stream's partition, 2,000 records/s, is reached by the additive increase in a few
/// seconds).
const START_RATE: f64 = 1000.0;
/// The rate never falls below this (records/s), so that a partition always makes progress.
const MIN_RATE: f64 = 10.0;
/// ... nor rises above this: far beyond any DIS quota.
const MAX_RATE: f64 = 100_000_000.0;
/// Growth after an answer without throttling, once throttling has been seen, as a share of the
/// rate: additive in effect, as answers come at a pace proportional to the rate.
const INCREASE: f64 = 0.10;
/// Time a partition left unused (batching, a slow answer) that may be made up for at once: a
/// small burst, as DIS's buckets allow one second's worth.
const CATCH_UP: Duration = Duration::from_millis(250);

/// One partition's pace: the rate, and when the next records may go.
#[derive(Debug)]
pub(crate) struct Pacer {
    state: Mutex<State>,
    /// The quota, when the stream's kind is known: then it paces, not the AIMD state.
    quota: Option<TokenBucket>,
}

#[derive(Debug)]
struct State {
    rate: f64,
    next: Instant,
    /// When the rate last went down: throttling of requests sent before that was already
    /// answered for (one decrease per round, as in TCP).
    lowered_at: Instant,
}

impl Pacer {
    /// A pacer for `partitions` partitions' worth of records (1 for a partition's own lane;
    /// all of them for the records DIS spreads itself).
    pub(crate) fn new(partitions: u32) -> Pacer {
        Pacer {
            state: Mutex::new(State {
                rate: START_RATE * f64::from(partitions.max(1)),
                next: Instant::now(),
                lowered_at: Instant::now(),
            }),
            quota: None,
        }
    }

    /// A pacer at the quota of `partitions` partitions of a `kind` stream; `adapt`: lower the
    /// rate when DIS refuses.
    pub(crate) fn at_quota(kind: StreamKind, partitions: u32, adapt: bool) -> Pacer {
        Pacer {
            quota: Some(TokenBucket::new(kind, partitions, adapt)),
            ..Pacer::new(partitions)
        }
    }

    /// The current rate, records per second.
    #[cfg(test)]
    pub(crate) fn rate(&self) -> f64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).rate
    }

    /// Takes the room for `records` records of `bytes` bytes of data at the current rate;
    /// returns how long to wait before sending them.
    pub(crate) fn reserve(&self, records: usize, bytes: usize) -> Duration {
        if let Some(quota) = &self.quota {
            return quota.reserve(records, bytes);
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let start = s.next.max(now.checked_sub(CATCH_UP).unwrap_or(now));
        s.next = start + Duration::from_secs_f64(records as f64 / s.rate);
        start.saturating_duration_since(now)
    }

    /// What DIS answered to `sent` records: `throttled` of them were refused with `DIS.4303`.
    /// A clean answer raises the rate; throttling lowers it in proportion to the share refused
    /// (a rate `r` above a quota `q` sees about `(r - q) / r` refused, and `r * (1 - f / 2)`
    /// then lands halfway back to `q`).
    /// `sent_at`: when the request went out; throttling of a request sent before the last
    /// decrease does not lower the rate again. `throttled_bytes` (the data of the refused
    /// records) and `retry_after` count at a quota only.
    pub(crate) fn feedback(
        &self,
        sent: usize,
        throttled: usize,
        throttled_bytes: usize,
        sent_at: Instant,
        retry_after: Option<Duration>,
    ) {
        if let Some(quota) = &self.quota {
            return quota.feedback(sent, throttled, throttled_bytes, sent_at, retry_after);
        }
        if sent == 0 {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if throttled > 0 {
            if sent_at < s.lowered_at {
                return;
            }
            s.lowered_at = Instant::now();
        }
        s.rate = if throttled == 0 {
            s.rate * (1.0 + INCREASE)
        } else {
            let share = throttled as f64 / sent as f64;
            s.rate * (1.0 - share / 2.0).min(0.95)
        }
        .clamp(MIN_RATE, MAX_RATE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_lowers_the_rate_and_clean_answers_raise_it() {
        let p = Pacer::new(1);
        p.feedback(100, 50, 0, Instant::now(), None);
        assert!((p.rate() - 750.0).abs() < 1e-6, "{}", p.rate());
        p.feedback(100, 0, 0, Instant::now(), None);
        assert!((p.rate() - 825.0).abs() < 1e-6, "{}", p.rate());
        for _ in 0..1000 {
            p.feedback(10, 10, 0, Instant::now(), None);
        }
        assert_eq!(p.rate(), MIN_RATE);
    }

    #[test]
    fn reservations_are_spaced_by_the_rate() {
        let p = Pacer::new(1);
        assert_eq!(p.reserve(500, 0), Duration::ZERO);
        // 500 records at 1000/s take half a second: the next ones wait for it.
        let wait = p.reserve(100, 0);
        assert!((wait.as_secs_f64() - 0.5).abs() < 0.05, "{wait:?}");
    }
}
