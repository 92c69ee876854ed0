//! What the producer's metrics cost a library user who installs no recorder, against a
//! baseline in this process: the producer's own time per record.
//!
//! 1. Baseline: `Producer::spawn` sends N records of 100 bytes to dis-local (no retain), no
//!    recorder installed; run twice, to show the run-to-run spread.
//! 2. The metric updates the producer makes, timed alone with no recorder: one counter update
//!    per record taken in, and per request (500 records) two counters, a histogram, two more
//!    counters for the outcomes and three gauges. Their cost per record is set against (1).
//! 3. For scale, the same run with a recorder installed (a counting one written here).
//!
//! `cargo bench --bench metrics` (N=200000; `METRICS_BENCH_RECORDS` to change).

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dis_local::{LocalConfig, LocalDis, StreamConfig};
use dis_records::{Credentials, DisClient, Producer, ProducerConfig, Record};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

async fn run(endpoint: &str, n: u64) -> Duration {
    let client = DisClient::builder(endpoint, "p")
        .credentials(Credentials::token("t"))
        .build()
        .unwrap();
    let producer = Producer::new(client, "newstream", ProducerConfig::default()).unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let a = acked.clone();
    let started = Instant::now();
    let handle = producer.spawn(move |d| {
        if d.result.is_ok() {
            a.fetch_add(1, Ordering::Relaxed);
        }
    });
    for i in 0..n {
        let mut data = format!("{i:012}").into_bytes();
        data.resize(100, b'x');
        handle.send(Record::new(data)).await.unwrap();
    }
    let summary = handle.close(Duration::from_secs(60)).await;
    assert_eq!(summary.acknowledged, n);
    started.elapsed()
}

/// The updates of one record's share of the producer's metrics, `n` times, no recorder.
fn updates(n: u64) -> Duration {
    let labels = [("stream", "newstream".to_owned())];
    let sent = metrics::counter!("a", &labels);
    let acknowledged = metrics::counter!("b", &labels);
    let duplicates = metrics::counter!("c", &labels);
    let requests = metrics::counter!("d", &labels);
    let duration = metrics::histogram!("e", &labels);
    let gauges = [
        metrics::gauge!("f", &labels),
        metrics::gauge!("g", &labels),
        metrics::gauge!("h", &labels),
    ];
    let started = Instant::now();
    for i in 0..n {
        black_box(&sent).increment(1);
        if i.is_multiple_of(500) {
            black_box(&requests).increment(1);
            black_box(&duration).record(black_box(0.001));
            black_box(&acknowledged).increment(500);
            black_box(&duplicates).increment(0);
            for g in &gauges {
                black_box(g).set(black_box(1.0));
            }
        }
    }
    started.elapsed()
}

/// A recorder that counts: every handle adds to one shared atomic.
struct Counting(Arc<AtomicU64>);
struct Handle(Arc<AtomicU64>);
impl CounterFn for Handle {
    fn increment(&self, v: u64) {
        self.0.fetch_add(v, Ordering::Relaxed);
    }
    fn absolute(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
}
impl GaugeFn for Handle {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, _: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}
impl HistogramFn for Handle {
    fn record(&self, _: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}
impl Recorder for Counting {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Handle(self.0.clone())))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(Handle(self.0.clone())))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Handle(self.0.clone())))
    }
}

fn main() {
    let n: u64 = std::env::var("METRICS_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let local = rt
        .block_on(LocalDis::start(
            LocalConfig::default()
                .with_streams([StreamConfig::new("newstream", 4)])
                .with_retain(false),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))
        .unwrap();
    let endpoint = local.endpoint();
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;

    rt.block_on(run(&endpoint, n / 10)); // warm-up
    let a1 = per(rt.block_on(run(&endpoint, n)));
    let a2 = per(rt.block_on(run(&endpoint, n)));
    let baseline = a1.min(a2);
    let metric = per(updates(n)).min(per(updates(n)));
    println!("records: {n} of 100 bytes, spawned producer to dis-local (no retain)");
    println!(
        "baseline, no recorder: {a1:.0} and {a2:.0} ns/record (runs differ by {:.1}%)",
        (a1 - a2).abs() / baseline * 100.0
    );
    println!(
        "the producer's metric updates alone, no recorder: {metric:.2} ns/record = {:.3}% of the baseline",
        metric / baseline * 100.0
    );

    let updates_seen = Arc::new(AtomicU64::new(0));
    metrics::set_global_recorder(Counting(updates_seen.clone())).unwrap();
    let b = per(rt.block_on(run(&endpoint, n)));
    println!(
        "with a counting recorder: {b:.0} ns/record, ratio {:.3} to the baseline ({} updates seen)",
        b / baseline,
        updates_seen.load(Ordering::Relaxed)
    );
}
