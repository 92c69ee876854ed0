//! A deterministic simulation of producers sharing a stream, on Tokio's paused clock: a
//! simulated DIS (each partition a bucket of records at its kind's quota holding one second's
//! worth, as DIS's; random refusals; random latency) and producers pacing each partition with
//! the producer's own [`Pacer`]s, as the engine's lanes do (a request of at most the pacer's
//! cap, sent once the pacer gives room, its answer fed back). Seeded: the same run every time.
//!
//! It holds the pacing's targets in loose form (the benchmarks, `scripts/bench-quotas.sh`, keep
//! the exact figures against dis-local): one producer fills the quota; producers sharing a
//! stream neither flood the first second nor keep overshooting; a producer joining late gets
//! in; when the partition count doubles, the new quota is filled within seconds.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use super::{Pacer, Pacing, Sample, StreamKind};

/// Records in a request when the pacer does not cap it (DIS's default per request).
const MAX_RECORDS: usize = 500;
/// Bytes of one simulated record: the records quota binds first.
const RECORD_BYTES: usize = 100;

/// One partition of the simulated DIS: a bucket of records, one second's worth at most.
struct Partition {
    tokens: f64,
    last: Instant,
    stored: u64,
    refused: u64,
    /// Refused in the first second.
    refused_first: u64,
    /// Stored per whole second of the run.
    per_second: Vec<u64>,
}

/// The simulated DIS: a stream's partitions at a kind's quota, refusals at random, latency.
struct Dis {
    rate: f64,
    partitions: Vec<Partition>,
    start: Instant,
    fail_records: f64,
    rng: SmallRng,
}

impl Dis {
    fn new(kind: StreamKind, partitions: usize, fail_records: f64, seed: u64) -> Dis {
        let rate = f64::from(kind.records_per_second());
        let now = Instant::now();
        Dis {
            rate,
            partitions: (0..partitions).map(|_| Dis::partition(rate, now)).collect(),
            start: now,
            fail_records,
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    fn partition(rate: f64, now: Instant) -> Partition {
        Partition {
            tokens: rate,
            last: now,
            stored: 0,
            refused: 0,
            refused_first: 0,
            per_second: Vec::new(),
        }
    }

    /// Grows the stream to `n` partitions, the new ones with full buckets.
    fn grow(&mut self, n: usize) {
        let now = Instant::now();
        while self.partitions.len() < n {
            self.partitions.push(Dis::partition(self.rate, now));
        }
    }

    /// A request of `n` records to `partition`: the answer, as the engine reads it.
    fn put(&mut self, partition: usize, n: usize, reserved_at: Instant) -> Sample {
        let now = Instant::now();
        let second = now.duration_since(self.start).as_secs() as usize;
        let rate = self.rate;
        let p = &mut self.partitions[partition];
        p.tokens = (p.tokens + rate * now.duration_since(p.last).as_secs_f64()).min(rate);
        p.last = now;
        if p.per_second.len() <= second {
            p.per_second.resize(second + 1, 0);
        }
        let (mut throttled, mut scattered, mut pending) = (0, 0, 0);
        for _ in 0..n {
            let refused = if self.rng.random_bool(self.fail_records) {
                true
            } else if p.tokens >= 1.0 {
                p.tokens -= 1.0;
                false
            } else {
                true
            };
            if refused {
                throttled += 1;
                pending += 1;
            } else {
                // Refused records followed by a stored one.
                scattered += pending;
                pending = 0;
                p.stored += 1;
                p.per_second[second] += 1;
            }
        }
        p.refused += throttled as u64;
        if second == 0 {
            p.refused_first += throttled as u64;
        }
        Sample {
            sent: n,
            throttled,
            throttled_bytes: throttled * RECORD_BYTES,
            scattered,
            reserved_at,
            sent_at: reserved_at,
            retry_after: None,
        }
    }
}

/// How a simulated producer is set up.
#[derive(Clone, Copy)]
struct Setup {
    pacing: Pacing,
    /// The stream's kind, as described or told (none: not known).
    kind: Option<StreamKind>,
}

/// One producer's lane for one partition, sending as fast as its pacer lets it, until `end`.
async fn lane(dis: Rc<RefCell<Dis>>, pacer: Arc<Pacer>, partition: usize, end: Instant, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    while Instant::now() < end {
        let n = pacer.request_cap().0.min(MAX_RECORDS);
        let reserved_at = Instant::now();
        let wait = pacer.reserve(n, n * RECORD_BYTES);
        tokio::time::sleep(wait).await;
        let sent_at = Instant::now();
        // Half the round trip there, the rest back.
        let latency = Duration::from_micros(rng.random_range(2_000..30_000));
        tokio::time::sleep(latency / 2).await;
        let mut answer = dis.borrow_mut().put(partition, n, reserved_at);
        answer.sent_at = sent_at;
        tokio::time::sleep(latency / 2).await;
        pacer.feedback(&answer);
    }
}

/// A pacer for one partition as the engine makes it.
fn pacer(setup: Setup) -> Arc<Pacer> {
    Arc::new(Pacer::new(setup.pacing, setup.kind, 1).expect("a paced setup"))
}

/// One producer: a lane per partition, from `start` to `end`; learns a grown stream at
/// `grown`'s instant (as a description does) and starts lanes for the new partitions.
async fn producer(
    dis: Rc<RefCell<Dis>>,
    setup: Setup,
    partitions: usize,
    grown: Option<(Instant, usize)>,
    (start, end): (Instant, Instant),
    seed: u64,
) {
    tokio::time::sleep_until(start).await;
    let spawn = |p: usize| {
        let lane = lane(dis.clone(), pacer(setup), p, end, seed * 1000 + p as u64);
        tokio::task::spawn_local(lane)
    };
    let mut lanes: Vec<_> = (0..partitions).map(spawn).collect();
    if let Some((at, n)) = grown {
        tokio::time::sleep_until(at.max(start)).await;
        lanes.extend((partitions..n).map(spawn));
    }
    for l in lanes {
        let _ = l.await;
    }
}

/// One simulated run: a stream, the producers on it, and what happens to it.
#[derive(Clone, Copy)]
struct Scenario {
    kind: StreamKind,
    partitions: usize,
    setup: Setup,
    producers: usize,
    /// The last producer joins this many seconds in.
    late: Option<u64>,
    /// The stream doubles its partitions this many seconds in.
    double_at: Option<u64>,
    /// Half the producers (rounded down) stop this many seconds in.
    leave: Option<u64>,
    /// The share of records DIS refuses at random (faults).
    fail_records: f64,
    seconds: u64,
    seed: u64,
}

impl Scenario {
    /// One producer on a `kind` stream of `partitions`, pacing as `pacing` says with `kind`
    /// known, for 10 s.
    fn alone(kind: StreamKind, partitions: usize, pacing: Pacing) -> Scenario {
        Scenario {
            kind,
            partitions,
            setup: Setup {
                pacing,
                kind: Some(kind),
            },
            producers: 1,
            late: None,
            double_at: None,
            leave: None,
            fail_records: 0.0,
            seconds: 10,
            seed: 7,
        }
    }
}

/// What a run gave.
#[derive(Debug)]
struct Outcome {
    /// Records stored over the quota of the whole run.
    share: f64,
    /// Refused tries per stored record, over the whole run.
    refused: f64,
    /// Refused tries in the first second per record DIS took then.
    first_second: f64,
    /// Stored per second, all partitions.
    per_second: Vec<u64>,
}

/// Runs a scenario to its end.
async fn run(sc: Scenario) -> Outcome {
    let Scenario {
        kind,
        partitions,
        setup,
        producers,
        late,
        double_at,
        leave,
        fail_records,
        seconds,
        seed,
    } = sc;
    let dis = Rc::new(RefCell::new(Dis::new(kind, partitions, fail_records, seed)));
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(seconds);
    // The producers learn the new count 2 s after the change (an answer naming a new
    // partition, then a description).
    let grown = double_at.map(|s| (t0 + Duration::from_secs(s + 2), partitions * 2));
    let local = tokio::task::LocalSet::new();
    for i in 0..producers {
        let start = match late {
            Some(s) if i + 1 == producers => t0 + Duration::from_secs(s),
            _ => t0,
        };
        let stop = match leave {
            Some(s) if i < producers / 2 => t0 + Duration::from_secs(s),
            _ => end,
        };
        local.spawn_local(producer(
            dis.clone(),
            setup,
            partitions,
            grown,
            (start, stop),
            seed + i as u64,
        ));
    }
    let grower = dis.clone();
    local.spawn_local(async move {
        if let Some(s) = double_at {
            tokio::time::sleep_until(t0 + Duration::from_secs(s)).await;
            grower.borrow_mut().grow(partitions * 2);
        }
    });
    local.await;
    let dis = dis.borrow();
    let mut per_second = vec![0u64; seconds as usize + 1];
    for p in &dis.partitions {
        for (s, n) in p.per_second.iter().enumerate() {
            per_second[s] += n;
        }
    }
    let stored: u64 = dis.partitions.iter().map(|p| p.stored).sum();
    let refused: u64 = dis.partitions.iter().map(|p| p.refused).sum();
    let rate = dis.rate;
    let quota: f64 = (0..seconds)
        .map(|s| {
            let n = match double_at {
                Some(d) if s >= d => partitions * 2,
                _ => partitions,
            };
            rate * n as f64
        })
        .sum();
    let taken: u64 = per_second[..seconds as usize].iter().sum();
    let first_refused: u64 = dis.partitions.iter().map(|p| p.refused_first).sum();
    Outcome {
        share: taken as f64 / quota,
        refused: refused as f64 / stored.max(1) as f64,
        first_second: first_refused as f64 / per_second[0].max(1) as f64,
        per_second,
    }
}

const SHARED: Pacing = Pacing::Quota { shared: true };

#[tokio::test(start_paused = true)]
async fn one_producer_fills_the_quota() {
    for kind in [StreamKind::Common, StreamKind::Advanced] {
        for partitions in [2, 16] {
            for pacing in [SHARED, Pacing::Quota { shared: false }] {
                let o = run(Scenario::alone(kind, partitions, pacing)).await;
                eprintln!("1 producer, {kind:?} x{partitions}, {pacing:?}: {o:?}");
                assert!(o.share >= 0.95, "{kind:?} x{partitions} {pacing:?}: {o:?}");
                assert!(
                    o.refused <= 0.03,
                    "{kind:?} x{partitions} {pacing:?}: {o:?}"
                );
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn one_producer_not_knowing_the_kind_adapts() {
    for partitions in [2, 16] {
        let mut sc = Scenario::alone(StreamKind::Common, partitions, SHARED);
        sc.setup.kind = None;
        sc.seconds = 20;
        let o = run(sc).await;
        eprintln!("1 producer, kind unknown, x{partitions}: {o:?}");
        assert!(o.share >= 0.9, "x{partitions}: {o:?}");
        assert!(o.refused <= 0.15, "x{partitions}: {o:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn producers_share_a_stream() {
    for producers in [2, 4, 8, 16] {
        let o = run(Scenario {
            producers,
            late: Some(8),
            seconds: 24,
            seed: 11,
            ..Scenario::alone(StreamKind::Common, 4, SHARED)
        })
        .await;
        eprintln!("{producers} producers: {o:?}");
        assert!(o.share >= 0.9, "{producers} producers: {o:?}");
        assert!(o.refused <= 0.05, "{producers} producers: {o:?}");
        // The first second: refused tries per record stored then.
        assert!(o.first_second <= 0.5, "{producers} producers: {o:?}");
        // The late joiner got in without a collapse: no second after it fell below 75% of the
        // quota.
        let low = o.per_second[9..24].iter().min().copied().unwrap_or(0);
        assert!(low as f64 >= 0.75 * 4000.0, "{producers} producers: {o:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn producers_left_on_a_stream_fill_it() {
    // Eight producers; four stop 8 s in: within 4 s the other four take the whole quota.
    let o = run(Scenario {
        producers: 8,
        leave: Some(8),
        seconds: 20,
        seed: 17,
        ..Scenario::alone(StreamKind::Common, 4, SHARED)
    })
    .await;
    eprintln!("4 of 8 producers leave at 8 s: {o:?}");
    let after = o.per_second[12..20].iter().sum::<u64>() as f64 / 8.0;
    assert!(after >= 0.9 * 4000.0, "{after}: {o:?}");
    assert!(o.refused <= 0.05, "{o:?}");
}

#[tokio::test(start_paused = true)]
async fn the_partition_count_doubles() {
    let o = run(Scenario {
        producers: 4,
        double_at: Some(10),
        seconds: 24,
        seed: 13,
        ..Scenario::alone(StreamKind::Common, 2, SHARED)
    })
    .await;
    eprintln!("doubled at 10 s: {o:?}");
    // Within 10 s of the change (by second 20), the new quota (4 partitions) is filled.
    let quota = 4.0 * 1000.0;
    let late = o.per_second[20..24].iter().sum::<u64>() as f64 / 4.0;
    assert!(late >= 0.9 * quota, "{late} of {quota}: {o:?}");
    assert!(o.refused <= 0.05, "{o:?}");
}

#[tokio::test(start_paused = true)]
async fn random_refusals_do_not_hold_the_pace_down() {
    // 30% of records refused at random, whatever the rate: the pace stays near the quota of
    // what DIS stores.
    for pacing in [SHARED, Pacing::Adaptive] {
        let o = run(Scenario {
            fail_records: 0.3,
            seconds: 20,
            ..Scenario::alone(StreamKind::Common, 4, pacing)
        })
        .await;
        eprintln!("30% refused at random, {pacing:?}: {o:?}");
        assert!(o.share >= 0.8, "{pacing:?}: {o:?}");
    }
}
