//! Fault injection: seeded random decisions per request and per record.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::config::Faults;

/// What an injected whole-request failure answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailKind {
    /// 500 `DIS.5000`.
    Internal,
    /// 503 `DIS.5250`.
    Unavailable,
    /// 429 `APIGW.0308` (gateway shape).
    Throttled,
}

/// The request-level decisions for one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    pub(crate) drop_before: bool,
    pub(crate) fail: Option<FailKind>,
    pub(crate) drop_after: bool,
    pub(crate) delay: Option<Duration>,
    /// Probability that a record fails with `DIS.4303` (0 when off).
    pub(crate) fail_records: f64,
}

struct Inner {
    faults: Faults,
    rng: SmallRng,
}

pub(crate) struct FaultState {
    inner: Mutex<Inner>,
}

/// A probability clamped into `0.0 ..= 1.0` (NaN counts as 0).
fn prob(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

fn roll(rng: &mut SmallRng, p: f64) -> bool {
    p > 0.0 && (p >= 1.0 || rng.random::<f64>() < p)
}

impl FaultState {
    pub(crate) fn new(faults: Faults) -> FaultState {
        FaultState {
            inner: Mutex::new(Inner {
                faults,
                rng: SmallRng::seed_from_u64(faults.seed),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the settings and reseeds the generator from `faults.seed`.
    pub(crate) fn set(&self, faults: Faults) {
        let mut inner = self.lock();
        inner.faults = faults;
        inner.rng = SmallRng::seed_from_u64(faults.seed);
    }

    pub(crate) fn get(&self) -> Faults {
        self.lock().faults
    }

    /// Decides the request-level faults. Dice are rolled in a fixed order (drop before, fail,
    /// drop after), and only for the faults that are switched on, so a seed replays the same
    /// sequence of decisions for the same sequence of requests.
    pub(crate) fn plan(&self) -> Plan {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let f = inner.faults;
        let rng = &mut inner.rng;
        let drop_before = roll(rng, prob(f.drop_before));
        let fail = if !drop_before && roll(rng, prob(f.fail_requests)) {
            Some(match rng.random_range(0..3u8) {
                0 => FailKind::Internal,
                1 => FailKind::Unavailable,
                _ => FailKind::Throttled,
            })
        } else {
            None
        };
        let drop_after = !drop_before && fail.is_none() && roll(rng, prob(f.drop_after));
        Plan {
            drop_before,
            fail,
            drop_after,
            delay: (f.delay_ms > 0).then(|| Duration::from_millis(f.delay_ms)),
            fail_records: prob(f.fail_records),
        }
    }

    /// Rolls the per-record failures of one request (`true` = answer `DIS.4303`).
    pub(crate) fn record_failures(&self, n: usize, p: f64) -> Vec<bool> {
        let mut inner = self.lock();
        (0..n).map(|_| roll(&mut inner.rng, p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_decisions_repeat() {
        let faults = Faults {
            fail_records: 0.5,
            fail_requests: 0.3,
            drop_before: 0.1,
            drop_after: 0.1,
            seed: 7,
            ..Faults::default()
        };
        let a = FaultState::new(faults);
        let b = FaultState::new(faults);
        for _ in 0..100 {
            let (pa, pb) = (a.plan(), b.plan());
            assert_eq!(
                (pa.drop_before, pa.fail, pa.drop_after),
                (pb.drop_before, pb.fail, pb.drop_after)
            );
            assert_eq!(a.record_failures(10, 0.5), b.record_failures(10, 0.5));
        }
    }

    #[test]
    fn extremes() {
        let s = FaultState::new(Faults {
            fail_records: 1.0,
            ..Faults::default()
        });
        assert!(s.record_failures(50, 1.0).iter().all(|&x| x));
        assert!(s.record_failures(50, 0.0).iter().all(|&x| !x));
        let p = s.plan();
        assert!(!p.drop_before && p.fail.is_none() && !p.drop_after && p.delay.is_none());
        s.set(Faults {
            drop_before: f64::NAN,
            fail_requests: 7.0,
            ..Faults::default()
        });
        let p = s.plan();
        assert!(!p.drop_before);
        assert!(p.fail.is_some());
    }
}
