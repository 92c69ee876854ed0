//! Whether DIS's `DIS.4303` answers say a lane's send rate is too high, shared by the token
//! bucket at a quota ([`super::bucket`]) and the adaptive pacer ([`super::pacer`]).
//!
//! Refusals that follow the rate (a quota, DIS's or one shared with other producers) fall when
//! the rate falls; refusals that do not (faults, injected at random) stay. So a decrease is a
//! probe: the first sample of answers to requests reserved a while after it says which it was.
//! When the share refused stayed where it was, and not where a quota would have put it, the
//! decrease is undone and that share becomes the background, refused whatever the rate and not
//! held against it again for a while.
//!
//! Samples are read by the time their request took its room from the pacer (reserved), not by
//! when it went: requests reserved before a decrease still go at the old rate, and what they
//! are answered was already answered for.

use std::time::Duration;

use tokio::time::Instant;

use super::sample::Sample;

/// How long after a decrease a request must be reserved for its answer to say whether the
/// refusals followed the rate: other producers sharing the partition have had their answers
/// too by then.
const SETTLE: Duration = Duration::from_millis(150);
/// How long the share of refusals known not to follow the rate is held: then it is forgotten
/// whole, so that the next refusals are a probe again (a decrease by all of them, which the
/// answers after it tell apart), and a wrong guess heals.
const BACKGROUND_HOLD: Duration = Duration::from_secs(2);
/// The background never goes above this share: more than half the records refused whatever the
/// rate is more likely producers that have not backed off yet than faults.
const MAX_BACKGROUND: f64 = 0.5;
/// Refusals in excess of the background below this share are noise.
const NOISE: f64 = 0.02;
/// Fewer records than this say nothing of the rate (small requests, ordered mode with few
/// keys): answers are added up until there are this many.
pub(crate) const MIN_SAMPLE: usize = 20;
/// The most a rate goes down at once: to a quarter (four producers that each took the whole
/// quota).
const MAX_DECREASE: f64 = 0.25;

/// True when `share` refused of `sent` records is more than the `background` share refused
/// whatever the rate by more than chance explains: two standard deviations of the background's
/// share among `sent` records, plus [`NOISE`]; never for fewer than [`MIN_SAMPLE`] records.
/// With no background, 3 refused of 50 says the rate is too high; with 30% refused at random,
/// 20 of 50 does not.
pub(crate) fn in_excess(share: f64, background: f64, sent: usize) -> bool {
    if sent < MIN_SAMPLE {
        return false;
    }
    let spread = 2.0 * (background * (1.0 - background) / sent as f64).sqrt();
    share - background > NOISE + spread
}

/// True when `share` refused of `sent` records, answered after the rate went from `before` to
/// `after` because `cause` of them were refused, is what refusals that do not follow the rate
/// give (`cause` again, within chance) and not what a quota gives (DIS leaves
/// `before * (1 - cause)`, so about `1 - before * (1 - cause) / after` are refused), by more
/// than chance.
pub(crate) fn unmoved(cause: f64, before: f64, after: f64, share: f64, sent: usize) -> bool {
    let expected = (1.0 - before * (1.0 - cause) / after.max(f64::MIN_POSITIVE)).max(0.0);
    let spread = spread(cause, sent);
    share > 0.0 && (share - cause).abs() <= spread && share - expected > spread
}

/// How far a share refused among `sent` records may stray from `share` by chance: two standard
/// deviations, plus [`NOISE`].
fn spread(share: f64, sent: usize) -> f64 {
    NOISE + 2.0 * (share * (1.0 - share) / sent.max(1) as f64).sqrt()
}

/// The factor a rate is multiplied by when `excess` of the records were refused beyond the
/// background: a rate `r` over what DIS has left `q` sees about `(r - q) / r` refused, and `r`
/// times one minus that is `q`; at most [`MAX_DECREASE`].
pub(crate) fn decrease(excess: f64) -> f64 {
    (1.0 - excess).clamp(MAX_DECREASE, 1.0)
}

/// What the answers say of the rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Verdict {
    /// Nothing yet: too few records, or already answered for.
    Wait,
    /// No refusals beyond the background.
    Clean,
    /// Too high: this share of the records refused beyond the background. The caller lowers
    /// the rate (see [`decrease`]) and reports the new rate with [`Refusals::lowered`].
    Lower(f64),
    /// The last decrease changed nothing: back to this rate.
    Undo(f64),
}

/// A decrease on trial: the answers to requests reserved a while after it say whether the
/// refusals that caused it followed the rate.
#[derive(Debug, Clone, Copy)]
struct Probe {
    /// The rate before the decrease.
    before: f64,
    /// The share refused (background included) that caused it.
    cause: f64,
    /// The rate after it.
    after: f64,
}

/// The refusals of one lane, read against its rate.
#[derive(Debug)]
pub(crate) struct Refusals {
    /// The share refused whatever the rate, until `background_until`.
    background: f64,
    background_until: Instant,
    /// The last decrease, until a settled sample says whether the refusals followed the rate:
    /// the rate before it, the share refused that caused it, and the rate after.
    probe: Option<Probe>,
    /// When the rate last went down: answers to requests reserved before it say nothing of the
    /// new rate.
    lowered_at: Instant,
    /// Records answered, and refused, since the last verdict other than [`Verdict::Wait`].
    sent: usize,
    throttled: usize,
    scattered: usize,
    /// The share refused (background included) of the last [`Verdict::Lower`].
    cause: f64,
    /// The share of the refusals of the last [`Verdict::Lower`] scattered among stored records.
    scattered_cause: f64,
}

impl Refusals {
    /// No refusals seen yet.
    pub(crate) fn new() -> Refusals {
        let now = Instant::now();
        Refusals {
            background: 0.0,
            probe: None,
            lowered_at: now,
            sent: 0,
            throttled: 0,
            scattered: 0,
            cause: 0.0,
            scattered_cause: 0.0,
            background_until: now,
        }
    }

    /// The share refused whatever the rate, as of `now`.
    pub(crate) fn background(&mut self, now: Instant) -> f64 {
        if now >= self.background_until {
            self.background = 0.0;
        }
        self.background
    }

    /// How many of the records refused in `answer` the background explains (its share of the
    /// records sent, at most those refused): the others were refused for the rate.
    pub(crate) fn explained(&mut self, answer: &Sample, now: Instant) -> usize {
        let expected = (self.background(now) * answer.sent as f64).round() as usize;
        expected.min(answer.throttled)
    }

    /// Reads an answer at the lane's current `rate`.
    pub(crate) fn judge(&mut self, rate: f64, answer: &Sample, now: Instant) -> Verdict {
        let &Sample {
            sent,
            throttled,
            scattered,
            reserved_at,
            ..
        } = answer;
        let background = self.background(now);
        if sent == 0 {
            return Verdict::Wait;
        }
        // Reserved at the old rate, or before the others sharing the partition had their
        // answers to the decrease: a clean answer is clean, refusals say nothing new.
        if reserved_at < self.lowered_at {
            return if throttled == 0 {
                Verdict::Clean
            } else {
                Verdict::Wait
            };
        }
        self.sent += sent;
        self.throttled += throttled;
        self.scattered += scattered;
        if self.sent < MIN_SAMPLE {
            return if self.throttled == 0 {
                Verdict::Clean
            } else {
                Verdict::Wait
            };
        }
        let (n, share) = (self.sent, self.throttled as f64 / self.sent as f64);
        // Refusals scattered among stored records: they may not follow the rate. A quota
        // scatters none; faults at random leave about half at a request's tail when requests
        // carry a few records (ordered mode), so a quarter scattered is enough.
        let at_random = 4 * self.scattered >= self.throttled;
        let (scattered, throttled_all) = (self.scattered, self.throttled);
        (self.sent, self.throttled, self.scattered) = (0, 0, 0);
        if let Some(Probe {
            before,
            cause,
            after,
        }) = self.probe
        {
            if reserved_at >= self.lowered_at + SETTLE {
                self.probe = None;
                if at_random && unmoved(cause, before, after, share, n) {
                    self.background = background.max(share).min(MAX_BACKGROUND);
                    self.background_until = now + BACKGROUND_HOLD;
                    return Verdict::Undo(before.max(rate));
                }
            } else if share - cause <= spread(cause, n) {
                // Too early to tell: the others sharing the partition may not have had their
                // answers yet. Only refusals well beyond the cause say more (DIS ran dry only
                // now, or more producers came): then down again at once.
                return if throttled == 0 {
                    Verdict::Clean
                } else {
                    Verdict::Wait
                };
            }
        }
        if in_excess(share, background, n) {
            self.cause = share;
            self.scattered_cause = scattered as f64 / throttled_all.max(1) as f64;
            return Verdict::Lower(share - background);
        }
        Verdict::Clean
    }

    /// The share of the refusals of the last [`Verdict::Lower`] scattered among stored
    /// records: faults scatter them; a quota running dry refuses a request's records from some
    /// point on (but DIS spreading records without a key over several partitions scatters a
    /// quota's refusals too).
    pub(crate) fn scattered(&self) -> f64 {
        self.scattered_cause
    }

    /// Whether a share refused whatever the rate is held now.
    pub(crate) fn has_background(&mut self, now: Instant) -> bool {
        self.background(now) > 0.0
    }

    /// Takes the share refused of the last [`Verdict::Lower`] as the background, without a
    /// decrease to test it: for a rate not yet held to anything (the pacer's slow start), where
    /// refusals scattered among stored records are faults until a quota's show up.
    pub(crate) fn learn(&mut self, now: Instant) {
        self.background = self.background(now).max(self.cause).min(MAX_BACKGROUND);
        self.background_until = now + BACKGROUND_HOLD;
    }

    /// The rate went from `before` to `after` on the last [`Verdict::Lower`], now.
    pub(crate) fn lowered(&mut self, before: f64, after: f64, now: Instant) {
        self.probe = Some(Probe {
            before,
            cause: self.cause,
            after,
        });
        self.lowered_at = now;
        (self.sent, self.throttled, self.scattered) = (0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excess_is_beyond_chance_of_the_background() {
        // No background: a few refusals in a sample say the rate is too high.
        assert!(in_excess(3.0 / 50.0, 0.0, 50));
        assert!(!in_excess(1.0 / 100.0, 0.0, 100));
        // Too few records say nothing.
        assert!(!in_excess(1.0, 0.0, MIN_SAMPLE - 1));
        // 30% refused at random: 20 of 50 is chance, 30 of 50 is not.
        assert!(!in_excess(0.4, 0.3, 50));
        assert!(in_excess(0.6, 0.3, 50));
    }

    #[test]
    fn refusals_that_do_not_fall_with_the_rate_are_told_apart() {
        // 30% refused at random, the rate lowered by 30%: a quota would refuse none now.
        assert!(unmoved(0.3, 1.0, 0.7, 0.3, 200));
        assert!(unmoved(0.3, 1.0, 0.7, 0.25, 200));
        assert!(!unmoved(0.3, 1.0, 0.7, 0.05, 200));
        // Three quarters refused, the rate quartered: a quota refuses none now, and refusals
        // at half (the others sharing the partition not yet down) are not the cause again.
        assert!(!unmoved(0.75, 1.0, 0.25, 0.45, 200));
        // 90% refused, the rate halved: DIS's quota would refuse 80% now.
        assert!(!unmoved(0.9, 1.0, 0.5, 0.8, 200));
        // Everything refused, the rate halved: still everything, as a quota of 0 would.
        assert!(!unmoved(1.0, 1.0, 0.5, 1.0, 200));
        // A small cause in a small sample is within chance of both: not undone.
        assert!(!unmoved(0.05, 1.0, 0.95, 0.05, 40));
    }

    #[test]
    fn decreases_follow_the_share_within_bounds() {
        assert!((decrease(0.75) - 0.25).abs() < 1e-9);
        assert!((decrease(0.9) - 0.25).abs() < 1e-9);
        assert!((decrease(0.1) - 0.9).abs() < 1e-9);
        assert_eq!(decrease(-0.1), 1.0);
    }

    #[tokio::test(start_paused = true)]
    async fn random_refusals_become_the_background_and_a_quota_does_not() {
        let later = |d: u64| Instant::now() + Duration::from_millis(d);
        // 30% refused whatever the rate.
        let mut r = Refusals::new();
        let v = r.judge(
            1.0,
            &Sample::random(200, 60, Instant::now()),
            Instant::now(),
        );
        let Verdict::Lower(excess) = v else {
            panic!("{v:?}")
        };
        assert!((excess - 0.3).abs() < 1e-9);
        r.lowered(1.0, 0.7, Instant::now());
        // Reserved before the settling time: refusals say nothing yet.
        assert_eq!(
            r.judge(0.7, &Sample::random(200, 60, later(50)), Instant::now()),
            Verdict::Wait
        );
        // Settled, and the same share: undone, and 30% is the background now.
        assert_eq!(
            r.judge(0.7, &Sample::random(200, 60, later(400)), Instant::now()),
            Verdict::Undo(1.0)
        );
        assert_eq!(
            r.judge(1.0, &Sample::random(200, 62, later(500)), Instant::now()),
            Verdict::Clean
        );

        // A quota: three quarters refused, then none once the rate is down.
        let mut r = Refusals::new();
        let v = r.judge(
            1.0,
            &Sample::quota(200, 150, Instant::now()),
            Instant::now(),
        );
        assert!(matches!(v, Verdict::Lower(_)), "{v:?}");
        r.lowered(1.0, 0.25, Instant::now());
        // Samples to requests reserved before the decrease are answered for.
        assert_eq!(
            r.judge(
                0.25,
                &Sample::quota(200, 150, Instant::now() - Duration::from_millis(1)),
                Instant::now()
            ),
            Verdict::Wait
        );
        assert_eq!(
            r.judge(0.25, &Sample::quota(200, 0, later(400)), Instant::now()),
            Verdict::Clean
        );
        assert_eq!(
            r.judge(0.25, &Sample::quota(200, 0, later(500)), Instant::now()),
            Verdict::Clean
        );
    }

    #[tokio::test(start_paused = true)]
    async fn small_answers_add_up_and_the_background_is_forgotten() {
        let mut r = Refusals::new();
        // Ten records, five refused: not enough to say; twenty with ten refused: too high.
        assert_eq!(
            r.judge(1.0, &Sample::random(10, 5, Instant::now()), Instant::now()),
            Verdict::Wait
        );
        let v = r.judge(1.0, &Sample::random(10, 5, Instant::now()), Instant::now());
        assert_eq!(v, Verdict::Lower(0.5));
        r.lowered(1.0, 0.5, Instant::now());
        let at = Instant::now() + SETTLE;
        assert_eq!(
            r.judge(0.5, &Sample::random(100, 50, at), Instant::now()),
            Verdict::Undo(1.0)
        );
        assert!((r.background(Instant::now()) - MAX_BACKGROUND).abs() < 1e-9);
        tokio::time::advance(BACKGROUND_HOLD).await;
        assert_eq!(r.background(Instant::now()), 0.0);
    }
}
