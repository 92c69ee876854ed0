//! When the records in a spawned producer's buffer arrived, sampled, to tell the age of the
//! oldest one without a clock read per record.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One arrival in this many is stamped.
const SAMPLE_EVERY: u64 = 64;

/// Arrival stamps of the buffered records: the buffer is first in, first out, so record `n` in
/// is record `n` out, and the latest stamp at or before the buffer's head bounds its age.
#[derive(Debug, Default)]
pub(crate) struct Arrivals {
    arrived: AtomicU64,
    left: AtomicU64,
    /// (arrival number, when), ascending; kept to at most the buffered records / 64 + 2.
    stamps: Mutex<VecDeque<(u64, Instant)>>,
}

impl Arrivals {
    /// A record entered the buffer.
    pub(crate) fn arrived(&self) {
        let n = self.arrived.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(SAMPLE_EVERY) {
            self.with(|s| s.push_back((n, Instant::now())));
        }
    }

    /// A record left the buffer (the oldest one).
    pub(crate) fn left(&self) {
        let head = self.left.fetch_add(1, Ordering::Relaxed) + 1;
        if head.is_multiple_of(SAMPLE_EVERY) {
            self.with(|s| prune(s, head));
        }
    }

    /// How long the oldest buffered record has waited, at most; zero when none is buffered.
    pub(crate) fn oldest_age(&self) -> Duration {
        let head = self.left.load(Ordering::Relaxed);
        if head >= self.arrived.load(Ordering::Relaxed) {
            return Duration::ZERO;
        }
        self.with(|s| {
            prune(s, head);
            match s.front() {
                Some(&(n, at)) if n <= head => at.elapsed(),
                _ => Duration::ZERO,
            }
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut VecDeque<(u64, Instant)>) -> R) -> R {
        f(&mut self.stamps.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Drops the stamps before the latest one at or before `head` (the oldest buffered record).
fn prune(stamps: &mut VecDeque<(u64, Instant)>, head: u64) {
    while stamps.len() >= 2 && stamps[1].0 <= head {
        stamps.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_is_the_oldest_buffered_records_and_zero_when_empty() {
        let a = Arrivals::default();
        assert_eq!(a.oldest_age(), Duration::ZERO);
        for _ in 0..200 {
            a.arrived();
        }
        std::thread::sleep(Duration::from_millis(30));
        assert!(a.oldest_age() >= Duration::from_millis(30));
        for _ in 0..130 {
            a.left();
        }
        // Head is record 130: stamped no later than record 128's arrival.
        assert!(a.oldest_age() >= Duration::from_millis(30));
        assert!(a.with(|s| s.len()) <= 2);
        for _ in 0..70 {
            a.left();
        }
        assert_eq!(a.oldest_age(), Duration::ZERO);
        a.arrived();
        std::thread::sleep(Duration::from_millis(5));
        // Record 200 was not stamped: the bound is record 192's stamp, older still.
        assert!(a.oldest_age() >= Duration::from_millis(35));
    }

    #[test]
    fn stamps_stay_bounded_by_the_buffer() {
        let a = Arrivals::default();
        for _ in 0..100_000 {
            a.arrived();
            a.left();
        }
        assert!(a.with(|s| s.len()) <= 2, "{}", a.with(|s| s.len()));
    }
}
