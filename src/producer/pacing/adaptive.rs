//! The send rate of one partition when its quota is not known (`Pacing::Adaptive`, or DIS
//! could not describe the stream): adapted from the throttling DIS answers, additive increase,
//! multiplicative decrease (AIMD). Under sustained overload the producer then holds near the
//! partition's quota instead of bursting into it and backing off. It reads the refusals as the
//! quota pacer does ([`Refusals`]): those that do not fall with the rate (faults) do not hold it
//! down. A request carries at most a tenth of a second of the rate, so that a lowered rate
//! never makes one request wait long (which would do worse than no pacing at all).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::refusals::{Refusals, Verdict, decrease};
use super::sample::Sample;

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
/// The share of the first refusals scattered among stored records from which they are taken
/// for faults without a test: refusals at random leave nearly all of them scattered in requests
/// of many records, a partition's quota running dry none.
const UNPROVEN_SCATTER: f64 = 0.5;
/// Growth after an answer without refusals beyond those taken for faults, while no refusal has
/// been shown to follow the rate (slow start, as TCP's): the rate doubles, so that a producer
/// under faults is not held to the first guess, [`START_RATE`], for its whole run.
const FAULTS_INCREASE: f64 = 1.0;
/// Time a partition left unused (batching, a slow answer) that may be made up for at once: a
/// small burst, as DIS's buckets allow one second's worth.
const CATCH_UP: Duration = Duration::from_millis(250);

/// What one request carries at most: this long at the rate (at least one record).
const REQUEST_SPAN: f64 = 0.1;

/// One partition's pace: the rate, and when the next records may go.
#[derive(Debug)]
pub(crate) struct AdaptivePacer {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rate: f64,
    next: Instant,
    /// Whether the refusals follow the rate; throttling of requests reserved before the last
    /// decrease was already answered for (one decrease per round, as in TCP).
    refusals: Refusals,
    /// No refusal shown to follow the rate yet, in a partition's own lane (see
    /// [`Pacer::feedback`]).
    unproven: bool,
    /// The lane of the records DIS spreads over the partitions itself: there a quota's
    /// refusals are scattered and do not fall with the lane's rate (each partition's share of
    /// it is DIS's draw), so they cannot be told from faults, and the lane keeps the plain AIMD
    /// of before the refusal judge (every refusal lowers the rate by half its share, once a
    /// round).
    spread: bool,
    /// When the rate last went down (the spread lane's AIMD).
    lowered_at: Instant,
}

impl AdaptivePacer {
    /// A pacer for `partitions` partitions' worth of records (1 for a partition's own lane;
    /// all of them for the records DIS spreads itself).
    pub(crate) fn new(partitions: u32) -> AdaptivePacer {
        AdaptivePacer {
            state: Mutex::new(State {
                rate: START_RATE * f64::from(partitions.max(1)),
                next: Instant::now(),
                refusals: Refusals::new(),
                // DIS spreads the records of a lane paced for several partitions, so a quota
                // scatters its refusals there too: those are always tested.
                unproven: partitions <= 1,
                spread: partitions > 1,
                lowered_at: Instant::now(),
            }),
        }
    }

    /// The current rate, records per second.
    #[cfg(test)]
    pub(crate) fn rate(&self) -> f64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).rate
    }

    /// The most records one request should carry now: [`REQUEST_SPAN`] at the rate.
    pub(crate) fn request_cap(&self) -> usize {
        let rate = self.state.lock().unwrap_or_else(|e| e.into_inner()).rate;
        (rate * REQUEST_SPAN).max(1.0) as usize
    }

    /// Takes the room for `records` records at the current rate;
    /// returns how long to wait before sending them.
    pub(crate) fn reserve(&self, records: usize) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let start = s.next.max(now.checked_sub(CATCH_UP).unwrap_or(now));
        s.next = start + Duration::from_secs_f64(records as f64 / s.rate);
        start.saturating_duration_since(now)
    }

    /// What DIS answered to `sent` records: `throttled` of them were refused with `DIS.4303`.
    /// A clean answer (no refusals beyond those that do not follow the rate) raises the rate;
    /// throttling lowers it by the share refused (a rate `r` above a quota `q` sees about
    /// `(r - q) / r` refused: [`decrease`]), and a decrease after which the share refused stays
    /// is undone.
    /// Throttling of a request reserved before the last decrease does not lower the rate
    /// again. The refused records' data and `Retry-After` count at a quota only.
    ///
    /// Until a refusal is shown to follow the rate (a partition's own lane only), refusals
    /// scattered among stored records are taken for faults at once, without a decrease to test
    /// them, and while they are held the rate doubles per clean answer; refusals beyond them end
    /// that, and are tested as above from then on. The records refused whatever the rate give
    /// their room back (they took nothing from DIS's quota), unless the whole request was.
    pub(crate) fn feedback(&self, answer: &Sample) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if s.spread {
            return spread_feedback(&mut s, answer, now);
        }
        let rate = s.rate;
        let verdict = s.refusals.judge(rate, answer, now);
        // Faults seen, and no quota yet: slow start.
        let increase = if s.unproven && s.refusals.has_background(now) {
            FAULTS_INCREASE
        } else {
            INCREASE
        };
        let new = match verdict {
            Verdict::Clean => rate * (1.0 + increase),
            Verdict::Wait => rate,
            Verdict::Undo(before) => before,
            // Refusals scattered among stored records, none held as the background yet, and
            // none shown to follow the rate so far: the background at once rather than tested
            // with a decrease (which costs a producer under faults a good part of a short run).
            // Refusals beyond it are a decrease, and from then on every one is tested.
            Verdict::Lower(_)
                if s.unproven
                    && s.refusals.scattered() >= UNPROVEN_SCATTER
                    && !s.refusals.has_background(now) =>
            {
                s.refusals.learn(now);
                rate * (1.0 + FAULTS_INCREASE)
            }
            Verdict::Lower(excess) => {
                s.unproven = false;
                let after = (rate * decrease(excess)).clamp(MIN_RATE, MAX_RATE);
                s.refusals.lowered(rate, after, now);
                after
            }
        }
        .clamp(MIN_RATE, MAX_RATE);
        s.rate = new;
        // The records refused whatever the rate took nothing from DIS's quota: their room comes
        // back, as a token bucket's tokens do, so that faults do not hold the lane below it. A
        // request refused whole gets none: sent again at once, it would spin on a quota.
        let back = s.refusals.explained(answer, now);
        if back > 0 && answer.throttled < answer.sent {
            let room = Duration::from_secs_f64(back as f64 / new);
            s.next = s.next.checked_sub(room).unwrap_or(s.next);
        }
    }
}

/// The spread lane's AIMD: a clean answer raises the rate by [`INCREASE`], throttling lowers
/// it by half the share refused (at least 5%), once per round (requests sent before the last
/// decrease were answered for by it).
fn spread_feedback(s: &mut State, answer: &Sample, now: Instant) {
    if answer.sent == 0 {
        return;
    }
    if answer.throttled == 0 {
        s.rate = (s.rate * (1.0 + INCREASE)).clamp(MIN_RATE, MAX_RATE);
        return;
    }
    if answer.sent_at < s.lowered_at {
        return;
    }
    s.lowered_at = now;
    let share = answer.throttled as f64 / answer.sent as f64;
    s.rate = (s.rate * (1.0 - share / 2.0).min(0.95)).clamp(MIN_RATE, MAX_RATE);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half a second later than now, when answers to requests reserved now are settled.
    fn settled() -> Instant {
        Instant::now() + Duration::from_millis(500)
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_lowers_the_rate_and_clean_answers_raise_it() {
        let p = AdaptivePacer::new(1);
        p.feedback(&Sample::quota(100, 50, Instant::now()));
        assert!((p.rate() - 500.0).abs() < 1e-6, "{}", p.rate());
        // Settled, and the refusals fell with the rate: clean, up 10%.
        p.feedback(&Sample::quota(100, 0, settled()));
        assert!((p.rate() - 550.0).abs() < 1e-6, "{}", p.rate());
        // Everything refused, round after round: down to the floor.
        for _ in 0..1000 {
            tokio::time::advance(Duration::from_secs(1)).await;
            p.feedback(&Sample::quota(100, 100, Instant::now()));
        }
        assert_eq!(p.rate(), MIN_RATE);
    }

    #[tokio::test(start_paused = true)]
    async fn random_refusals_do_not_wear_the_rate_down() {
        // 30% refused whatever the rate, answer after answer: the rate still grows.
        let p = AdaptivePacer::new(1);
        for _ in 0..200 {
            tokio::time::advance(Duration::from_millis(10)).await;
            p.feedback(&Sample::random(200, 60, Instant::now()));
        }
        assert!(p.rate() > START_RATE * 10.0, "{}", p.rate());
    }

    #[tokio::test(start_paused = true)]
    async fn scattered_refusals_before_a_quota_are_faults_at_once() {
        // 30% refused at random from the first answer: no decrease, and the rate doubles.
        let p = AdaptivePacer::new(1);
        p.feedback(&Sample::random(500, 150, Instant::now()));
        assert!((p.rate() - 2.0 * START_RATE).abs() < 1e-6, "{}", p.rate());
        p.feedback(&Sample::random(350, 100, Instant::now()));
        assert!((p.rate() - 4.0 * START_RATE).abs() < 1e-6, "{}", p.rate());
        // The 150 refused gave their room back: of the 500 reserved, the next reservation
        // waits for 350 records' worth at most.
        let p = AdaptivePacer::new(1);
        assert_eq!(p.reserve(500), Duration::ZERO);
        p.feedback(&Sample::random(500, 150, Instant::now()));
        let wait = p.reserve(1);
        assert!(wait < Duration::from_millis(500), "{wait:?}");
        // Refusals at a request's tail (a quota) beyond the faults: a decrease, and from then
        // on the additive increase.
        let p = AdaptivePacer::new(1);
        p.feedback(&Sample::random(500, 150, Instant::now()));
        p.feedback(&Sample::quota(500, 400, Instant::now()));
        let lowered = p.rate();
        assert!(lowered < 2.0 * START_RATE, "{lowered}");
        tokio::time::advance(Duration::from_secs(3)).await;
        p.feedback(&Sample::quota(500, 0, Instant::now()));
        assert!(
            (p.rate() - lowered * (1.0 + INCREASE)).abs() < 1e-6,
            "{}",
            p.rate()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lane_of_several_partitions_tests_scattered_refusals() {
        // DIS spreads such a lane's records: a quota's refusals are scattered too.
        let p = AdaptivePacer::new(4);
        p.feedback(&Sample::random(500, 150, Instant::now()));
        assert!(p.rate() < 4.0 * START_RATE, "{}", p.rate());
    }

    #[tokio::test(start_paused = true)]
    async fn a_lane_of_several_partitions_keeps_lowering_while_refused() {
        // Refusals that never fall (a quota DIS spreads over the partitions looks the same):
        // the rate goes down round after round, by half the share each time, never undone.
        let p = AdaptivePacer::new(16);
        let start = p.rate();
        p.feedback(&Sample::random(500, 150, Instant::now()));
        assert!((p.rate() - start * 0.85).abs() < 1e-6, "{}", p.rate());
        // Reserved before that decrease: already answered for.
        p.feedback(&Sample::random(
            500,
            150,
            Instant::now() - Duration::from_secs(1),
        ));
        assert!((p.rate() - start * 0.85).abs() < 1e-6, "{}", p.rate());
        for _ in 0..20 {
            tokio::time::advance(Duration::from_millis(100)).await;
            p.feedback(&Sample::random(500, 150, Instant::now()));
        }
        assert!(p.rate() < start * 0.1, "{}", p.rate());
        // Clean answers bring it back, 10% each.
        let low = p.rate();
        p.feedback(&Sample::random(500, 0, Instant::now()));
        assert!((p.rate() - low * 1.1).abs() < 1e-6, "{}", p.rate());
    }

    #[tokio::test(start_paused = true)]
    async fn reservations_are_spaced_by_the_rate() {
        let p = AdaptivePacer::new(1);
        assert_eq!(p.reserve(500), Duration::ZERO);
        // 500 records at 1000/s take half a second: the next ones wait for it.
        assert_eq!(p.reserve(100), Duration::from_millis(500));
        assert_eq!(p.request_cap(), 100, "a tenth of a second at 1,000/s");
    }
}
