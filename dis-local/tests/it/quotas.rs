//! Write quotas of the local DIS endpoint (`LocalConfig::with_quotas`): token buckets of
//! records and bytes per partition, at DIS's rates times a small scale so that the tests run
//! in seconds. Only 127.0.0.1; every loop bounded in count and time.
//!
//! Timing: a single request is checked at one instant, so a burst against full buckets has an
//! exact outcome. Where time matters, the assertions use bounds derived from the rates and
//! the elapsed times measured around each request (never a tight wall-clock bound), so a
//! loaded machine widens them instead of failing.

use crate::support;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dis_local::{ConfigError, Faults, LocalConfig, LocalDis, StartError, StreamConfig, StreamKind};
use serde_json::{Value, json};
use support::Env;

/// A common stream at this scale: 10 records/s and 10,485.76 bytes/s per partition; an
/// advanced one: 20 records/s and 52,428.8 bytes/s.
const SCALE: f64 = 0.01;

/// What these tests ask of the endpoint: a trait of this module, since the other modules of
/// this binary give `Env` methods of the same names.
trait Calls {
    async fn quotas(scale: f64, streams: impl IntoIterator<Item = StreamConfig>) -> Env;
    async fn send(&self, stream: &str, records: Vec<Value>) -> Answer;
    async fn get(&self, path: &str) -> Value;
}

impl Calls for Env {
    /// Quotas on at `scale` for these streams.
    async fn quotas(scale: f64, streams: impl IntoIterator<Item = StreamConfig>) -> Env {
        Env::start(
            LocalConfig::default()
                .with_streams(streams)
                .with_quotas(true)
                .with_quota_scale(scale),
        )
        .await
    }

    /// SendRecords; asserts a 200 and that `failed_record_count` matches the entries.
    async fn send(&self, stream: &str, records: Vec<Value>) -> Answer {
        let n = records.len();
        let resp = self
            .http
            .post(format!(
                "{}/v2/0123456789abcdef/records",
                self.dis.endpoint()
            ))
            .header("X-Auth-Token", "test-token")
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&json!({"stream_name": stream, "records": records})).unwrap())
            .send()
            .await
            .expect("send");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("JSON body");
        assert_eq!(status, 200, "{body}");
        let entries = body["records"].as_array().expect("records").clone();
        assert_eq!(entries.len(), n, "{body}");
        let failed = entries
            .iter()
            .filter(|e| e.get("error_code").is_some())
            .count();
        assert_eq!(body["failed_record_count"], failed, "{body}");
        Answer { entries }
    }

    async fn get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.dis.endpoint()))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("JSON body")
    }
}

/// The entries of a 200 SendRecords answer.
struct Answer {
    entries: Vec<Value>,
}

impl Answer {
    fn stored(&self) -> usize {
        self.entries.len() - self.throttled().len()
    }

    /// Indices of the entries answered `DIS.4303`.
    fn throttled(&self) -> Vec<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.get("error_code").is_some())
            .map(|(i, e)| {
                assert_eq!(e["error_code"], "DIS.4303", "{e}");
                assert_eq!(e["error_message"], "Exceeded traffic control limit.", "{e}");
                assert!(e.get("sequence_number").is_none(), "{e}");
                i
            })
            .collect()
    }
}

/// A record of `size` bytes (its index in the first bytes), to `partition` when given.
fn rec(i: usize, size: usize, partition: Option<u32>) -> Value {
    let mut data = format!("r{i:05}").into_bytes();
    data.resize(size.max(data.len()), b'x');
    data.truncate(size);
    let mut r = json!({"data": B64.encode(&data)});
    if let Some(p) = partition {
        r["partition_id"] = json!(p.to_string());
    }
    r
}

fn recs(n: usize, size: usize, partition: Option<u32>) -> Vec<Value> {
    (0..n).map(|i| rec(i, size, partition)).collect()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[tokio::test]
async fn a_burst_beyond_one_second_is_throttled_and_not_stored() {
    let env = Env::quotas(SCALE, [StreamConfig::new("s", 1)]).await;
    // 30 small records against a full bucket of 10 records: the first 10 pass, in order.
    let answer = env.send("s", recs(30, 8, None)).await;
    assert_eq!(answer.throttled(), (10..30).collect::<Vec<_>>());
    for (i, e) in answer.entries[..10].iter().enumerate() {
        assert_eq!(e["partition_id"], "shardId-0000000000", "{e}");
        assert_eq!(e["sequence_number"], i.to_string(), "{e}");
    }
    let stored = env.dis.records("s").unwrap();
    let expected: Vec<Value> = recs(10, 8, None);
    assert_eq!(stored.len(), 10);
    for (r, want) in stored.iter().zip(&expected) {
        assert_eq!(B64.encode(&r.data), want["data"].as_str().unwrap());
    }
    assert_eq!(env.dis.record_counts("s"), Some(vec![10]));
    assert_eq!(env.dis.throttled_counts("s"), Some(vec![20]));
    let stats = env.dis.stats();
    assert_eq!(
        (
            stats.records_stored,
            stats.records_throttled,
            stats.records_failed
        ),
        (10, 20, 0)
    );
}

/// Sends `per_request` records of `size` bytes to partition 0 of `stream` every 50 ms for
/// about `run`, and returns what was stored with the times measured around the requests.
struct Run {
    requests: usize,
    stored: usize,
    first_sent: Instant,
    first_answered: Instant,
    last_sent: Instant,
    last_answered: Instant,
    /// Upper bound of the time between two consecutive checks beyond one second (a full
    /// bucket loses the refill of that time), summed.
    excess: Duration,
}

async fn sustain(env: &Env, stream: &str, size: usize, per_request: usize, run: Duration) -> Run {
    let start = Instant::now();
    let mut out: Option<Run> = None;
    for i in 0..60 {
        if i >= 5 && start.elapsed() >= run {
            break;
        }
        let sent = Instant::now();
        let answer = env.send(stream, recs(per_request, size, Some(0))).await;
        let answered = Instant::now();
        match out.as_mut() {
            None => {
                out = Some(Run {
                    requests: 1,
                    stored: answer.stored(),
                    first_sent: sent,
                    first_answered: answered,
                    last_sent: sent,
                    last_answered: answered,
                    excess: Duration::ZERO,
                })
            }
            Some(r) => {
                let gap = answered - r.last_sent;
                r.excess += gap.saturating_sub(Duration::from_secs(1));
                r.requests += 1;
                r.stored += answer.stored();
                r.last_sent = sent;
                r.last_answered = answered;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    out.expect("at least one request")
}

impl Run {
    /// Bounds of what a bucket of `capacity` units refilled at `rate` units/s lets through when
    /// every request asks for more than the bucket can hold (each check drains it to less
    /// than one record, `unit` units): everything from the first check to the last, minus
    /// refill lost to gaps over one second.
    fn bounds(&self, capacity: f64, rate: f64, unit: f64) -> (f64, f64) {
        let inner = self
            .last_sent
            .saturating_duration_since(self.first_answered)
            .saturating_sub(self.excess);
        let outer = self.last_answered - self.first_sent;
        let lower = capacity + rate * secs(inner) - unit;
        let upper = capacity + rate * secs(outer) + unit;
        (lower, upper)
    }
}

#[tokio::test]
async fn sustained_sending_is_held_to_the_records_rate() {
    // Common at scale 0.02: 20 records/s (20,971.52 bytes/s: 10-byte records never hit it).
    let env = Env::quotas(0.02, [StreamConfig::new("s", 1)]).await;
    let per_request = 30; // more than the bucket ever holds: every request drains it
    let run = sustain(&env, "s", 10, per_request, Duration::from_millis(1500)).await;
    let (lower, upper) = run.bounds(20.0, 20.0, 1.0);
    let stored = run.stored as f64;
    assert!(
        lower <= stored && stored <= upper,
        "{} stored in {} requests over {:?}: expected {lower:.1} ..= {upper:.1}",
        run.stored,
        run.requests,
        run.last_answered - run.first_sent
    );
    assert!(run.stored < run.requests * per_request);
    assert_eq!(env.dis.record_counts("s"), Some(vec![run.stored as u64]));
    assert_eq!(
        env.dis.throttled_counts("s"),
        Some(vec![(run.requests * per_request - run.stored) as u64])
    );
}

#[tokio::test]
async fn large_records_are_held_to_the_bytes_rate() {
    // Common at scale 0.02: 20,971.52 bytes/s (and 20 records/s, which 5,000-byte records
    // never reach: about 4 per second).
    let env = Env::quotas(0.02, [StreamConfig::new("s", 1)]).await;
    let size = 5_000;
    // A full bucket takes 4 of them (20,000 bytes), though the records bucket holds 20.
    let burst = env.send("s", recs(10, size, Some(0))).await;
    assert_eq!(burst.throttled(), (4..10).collect::<Vec<_>>());

    let env = Env::quotas(0.02, [StreamConfig::new("s", 1)]).await;
    let per_request = 10; // 50,000 bytes: more than the bucket ever holds
    let run = sustain(&env, "s", size, per_request, Duration::from_millis(1500)).await;
    let (lower, upper) = run.bounds(20_971.52, 20_971.52, size as f64);
    let bytes = (run.stored * size) as f64;
    assert!(
        lower <= bytes && bytes <= upper,
        "{} records of {size} bytes stored in {} requests over {:?}: expected {lower:.0} ..= {upper:.0} bytes",
        run.stored,
        run.requests,
        run.last_answered - run.first_sent
    );
    assert!(run.stored < run.requests * per_request);
    assert_eq!(env.dis.stats().records_stored, run.stored as u64);
}

#[tokio::test]
async fn buckets_refill_over_time() {
    // Common at scale 0.02: 20 records/s, a bucket of 20.
    let env = Env::quotas(0.02, [StreamConfig::new("s", 1)]).await;
    let t1 = Instant::now();
    assert_eq!(env.send("s", recs(30, 1, None)).await.stored(), 20);

    // Right away: only what refilled since the last check.
    let t2 = Instant::now();
    let second = env.send("s", recs(30, 1, None)).await.stored();
    let a2 = Instant::now();
    assert!(
        second as f64 <= 20.0 * secs(a2 - t1) + 1.0,
        "{second} passed within {:?}",
        a2 - t1
    );

    // About 300 ms later: about 6 records' worth, in proportion to the time that passed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t3 = Instant::now();
    let third = env.send("s", recs(30, 1, None)).await.stored() as f64;
    let a3 = Instant::now();
    // The bucket was drained (to less than one record) by the second request.
    let lower = (20.0 * secs(t3 - a2)).min(20.0) - 1.0;
    let upper = (20.0 * secs(a3 - t2) + 1.0).min(20.0);
    assert!(
        lower <= third && third <= upper,
        "{third} passed after {:?}: expected {lower:.1} ..= {upper:.1}",
        t3 - a2
    );

    // After more than a second: full again, exactly one second's worth passes.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(env.send("s", recs(30, 1, None)).await.stored(), 20);
}

#[tokio::test]
async fn common_and_advanced_rates_differ() {
    let env = Env::quotas(
        SCALE,
        [
            StreamConfig::new("common", 1),
            StreamConfig::new("advanced", 1).with_kind(StreamKind::Advanced),
            "parsed:1:advanced".parse::<StreamConfig>().unwrap(),
        ],
    )
    .await;
    // Records: 10 against 20.
    assert_eq!(env.send("common", recs(50, 1, None)).await.stored(), 10);
    assert_eq!(env.send("advanced", recs(50, 1, None)).await.stored(), 20);
    // Bytes: 10,485.76 against 52,428.8 (5,000-byte records: 2 against 10).
    let env2 = Env::quotas(
        SCALE,
        [
            StreamConfig::new("common", 1),
            StreamConfig::new("advanced", 1).with_kind(StreamKind::Advanced),
        ],
    )
    .await;
    assert_eq!(env2.send("common", recs(20, 5_000, None)).await.stored(), 2);
    assert_eq!(
        env2.send("advanced", recs(20, 5_000, None)).await.stored(),
        10
    );
    // A stream parsed from `NAME:PARTITIONS:advanced` has the advanced rates.
    assert_eq!(env.send("parsed", recs(50, 1, None)).await.stored(), 20);
    assert_eq!(
        (
            StreamKind::Common.records_per_second(),
            StreamKind::Common.bytes_per_second(),
            StreamKind::Advanced.records_per_second(),
            StreamKind::Advanced.bytes_per_second()
        ),
        (1_000, 1_048_576, 2_000, 5_242_880)
    );
}

#[tokio::test]
async fn partitions_have_their_own_buckets() {
    let env = Env::quotas(SCALE, [StreamConfig::new("p", 2)]).await;
    // One request: 30 records to partition 0 interleaved with 10 to partition 1. Partition 0
    // takes 10; partition 1 all of its 10.
    let records: Vec<Value> = (0..40)
        .map(|i| rec(i, 4, Some(if i % 4 == 3 { 1 } else { 0 })))
        .collect();
    let answer = env.send("p", records).await;
    let throttled = answer.throttled();
    assert_eq!(throttled.len(), 20);
    assert!(throttled.iter().all(|i| i % 4 != 3), "{throttled:?}");
    assert_eq!(env.dis.record_counts("p"), Some(vec![10, 10]));
    assert_eq!(env.dis.throttled_counts("p"), Some(vec![20, 0]));

    // Routing decides first: round robin spreads 40 records over both partitions (20 each),
    // each of which takes what its own bucket holds.
    let env = Env::quotas(SCALE, [StreamConfig::new("r", 2)]).await;
    let answer = env.send("r", recs(40, 4, None)).await;
    assert_eq!(answer.throttled(), (20..40).collect::<Vec<_>>());
    assert_eq!(env.dis.throttled_counts("r"), Some(vec![10, 10]));
}

#[tokio::test]
async fn counts_in_read_back_and_stats() {
    let env = Env::quotas(SCALE, [StreamConfig::new("s", 3)]).await;
    env.send("s", recs(25, 1, Some(0))).await; // 10 stored, 15 throttled
    env.send("s", recs(12, 1, Some(2))).await; // 10 stored, 2 throttled
    let stream = env.get("/local/v1/streams/s").await;
    assert_eq!(
        stream,
        json!({
            "stream_name": "s",
            "stream_id": StreamConfig::new("s", 3).stream_id(),
            "partitions": [
                {"partition_id": "shardId-0000000000", "records": 10, "throttled": 15},
                {"partition_id": "shardId-0000000001", "records": 0, "throttled": 0},
                {"partition_id": "shardId-0000000002", "records": 10, "throttled": 2},
            ],
        })
    );
    let stats = env.get("/local/v1/stats").await;
    assert_eq!(stats["records_stored"], 20, "{stats}");
    assert_eq!(stats["records_throttled"], 17, "{stats}");
    assert_eq!(stats["records_failed"], 0, "{stats}");
    assert_eq!(env.dis.stats().records_throttled, 17);
    assert_eq!(env.dis.throttled_counts("s"), Some(vec![15, 0, 2]));
    assert_eq!(env.dis.throttled_counts("nope"), None);
}

#[tokio::test]
async fn injected_failures_are_counted_apart_and_take_no_quota() {
    let env = Env::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("s", 1)])
            .with_quotas(true)
            .with_quota_scale(SCALE)
            .with_faults(Faults::default().with_fail_records(1.0)),
    )
    .await;
    // Every record fails by injection (DIS.4303 too), before routing and quotas.
    let answer = env.send("s", recs(30, 1, None)).await;
    assert_eq!(answer.throttled().len(), 30);
    let stats = env.dis.stats();
    assert_eq!((stats.records_failed, stats.records_throttled), (30, 0));
    assert_eq!(env.dis.throttled_counts("s"), Some(vec![0]));
    // They took nothing from the bucket: a full one-second burst still passes.
    env.dis.set_faults(Faults::default());
    assert_eq!(env.send("s", recs(30, 1, None)).await.stored(), 10);
    let stats = env.dis.stats();
    assert_eq!(
        (
            stats.records_stored,
            stats.records_failed,
            stats.records_throttled
        ),
        (10, 30, 20)
    );
}

#[tokio::test]
async fn quotas_are_off_by_default() {
    // Default configuration: 2,000 records into one partition at once, all stored (with
    // quotas, a common partition takes 1,000 in a burst).
    let env = Env::start(LocalConfig::default()).await;
    for _ in 0..4 {
        let answer = env.send("newstream", recs(500, 16, Some(0))).await;
        assert_eq!(answer.stored(), 500);
    }
    assert_eq!(
        env.dis.record_counts("newstream"),
        Some(vec![2000, 0, 0, 0])
    );
    assert_eq!(env.dis.throttled_counts("newstream"), Some(vec![0; 4]));
    assert_eq!(env.dis.stats().records_throttled, 0);
    let stream = env.get("/local/v1/streams/newstream").await;
    assert_eq!(stream["partitions"][0]["throttled"], 0, "{stream}");
    assert_eq!(env.get("/local/v1/stats").await["records_throttled"], 0);

    // A scale alone does not switch them on.
    let env = Env::start(LocalConfig::default().with_quota_scale(0.001)).await;
    assert_eq!(
        env.send("newstream", recs(100, 16, Some(1))).await.stored(),
        100
    );
}

#[tokio::test]
async fn dis_rates_at_full_scale() {
    // Scale 1: a common partition takes a burst of 1,000 records, then 1,000 per second.
    let env = Env::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("s", 1)])
            .with_quotas(true),
    )
    .await;
    let start = Instant::now();
    let mut stored = 0;
    for _ in 0..4 {
        stored += env.send("s", recs(500, 16, None)).await.stored();
    }
    let elapsed = start.elapsed();
    assert!(stored >= 1000, "{stored}");
    assert!(
        stored as f64 <= 1000.0 + 1000.0 * secs(elapsed) + 1.0,
        "{stored} stored in {elapsed:?}"
    );
    assert_eq!(
        env.dis.throttled_counts("s"),
        Some(vec![2000 - stored as u64])
    );
}

#[tokio::test]
async fn invalid_scales_are_refused_at_start() {
    for scale in [0.0, -0.5, f64::NAN, f64::INFINITY] {
        let err = LocalDis::start(
            LocalConfig::default()
                .with_quotas(true)
                .with_quota_scale(scale),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .expect_err("invalid scale");
        assert!(
            matches!(err, StartError::Config(ConfigError::QuotaScale { .. })),
            "{scale}: {err:?}"
        );
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{scale}");
    }
    // Without quotas the scale is not used.
    let dis = LocalDis::start(
        LocalConfig::default().with_quota_scale(0.0),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("quotas off");
    dis.shutdown().await;
}
