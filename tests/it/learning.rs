//! The producer learns its stream from DIS (DescribeStream): told nothing, it paces each
//! partition at its kind's quota; told otherwise, DIS wins with a warning; when the stream
//! grows while it runs, an answer naming a new partition makes it describe the stream again.
//! Against dis-local with its quotas on; only 127.0.0.1.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dis_local::{LocalConfig, LocalDis, StreamConfig, StreamKind as LocalKind};
use dis_records::{Credentials, DisClient, Producer, ProducerConfig, Record, StreamKind};

async fn endpoint(streams: impl IntoIterator<Item = StreamConfig>) -> LocalDis {
    let config = LocalConfig::default()
        .with_streams(streams)
        .with_quotas(true)
        .with_retain(false);
    LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn producer(dis: &LocalDis, config: ProducerConfig) -> Producer {
    let client = DisClient::builder(dis.endpoint(), "0123456789abcdef")
        .credentials(Credentials::token("t"))
        .build()
        .unwrap();
    Producer::new(client, "s", config).unwrap()
}

/// The warnings logged while `f` runs (on this thread: the tests' runtime has one).
#[derive(Clone, Default)]
struct Logged(Arc<Mutex<Vec<u8>>>);

impl Write for Logged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logged {
    fn capture() -> (Logged, tracing::subscriber::DefaultGuard) {
        let logged = Logged::default();
        let writer = logged.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logged, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn keyed(n: usize) -> impl Iterator<Item = Record> + Send + 'static {
    (0..n).map(|i| Record::new(format!("{i:08}")).with_partition_key(format!("key-{}", i % 64)))
}

/// Told nothing: the producer learns 4 advanced partitions and paces them, nothing refused.
#[tokio::test]
async fn told_nothing_it_learns_the_stream() {
    let dis = endpoint([StreamConfig::new("s", 4).with_kind(LocalKind::Advanced)]).await;
    let (logged, _guard) = Logged::capture();
    let producer = producer(&dis, ProducerConfig::default());
    let summary = producer.send_all(keyed(12_000), |_| {}).await;
    assert_eq!(summary.acknowledged, 12_000, "{summary:?}");
    let stats = producer.stats();
    assert_eq!(stats.partitions, Some(4));
    assert_eq!(stats.stream_kind, Some(StreamKind::Advanced));
    assert_eq!(
        stats.throttled.len(),
        5,
        "a lane per partition and one unkeyed"
    );
    // 12,000 records over 4 partitions of 2,000/s (buckets full at the start): at the quota,
    // hardly any refused.
    assert!(
        dis.stats().records_throttled <= 120,
        "{} refused",
        dis.stats().records_throttled
    );
    assert_eq!(logged.text(), "", "no warning");
}

/// Told half the partitions and the wrong kind: DIS wins, with a warning for each.
#[tokio::test]
async fn dis_wins_over_what_it_was_told() {
    let dis = endpoint([StreamConfig::new("s", 4)]).await;
    let (logged, _guard) = Logged::capture();
    let config = ProducerConfig::default()
        .with_partitions(2)
        .with_stream_kind(StreamKind::Advanced);
    let producer = producer(&dis, config);
    let summary = producer.send_all(keyed(6_000), |_| {}).await;
    assert_eq!(summary.acknowledged, 6_000, "{summary:?}");
    assert_eq!(producer.stats().partitions, Some(4));
    assert_eq!(producer.stats().stream_kind, Some(StreamKind::Common));
    let text = logged.text();
    assert!(text.contains("told 2 partitions"), "{text}");
    assert!(text.contains("told a Advanced stream"), "{text}");
    assert!(
        dis.stats().records_throttled <= 60,
        "{} refused",
        dis.stats().records_throttled
    );
}

/// Describing off, told too few partitions: DIS answers a partition beyond them, and the
/// producer says so once.
#[tokio::test]
async fn an_unknown_partition_is_said_when_dis_cannot_be_asked() {
    let dis = endpoint([StreamConfig::new("s", 4)]).await;
    let (logged, _guard) = Logged::capture();
    let config = ProducerConfig::default()
        .with_partitions(2)
        .with_describe(false);
    let producer = producer(&dis, config);
    let summary = producer.send_all(keyed(2_000), |_| {}).await;
    assert_eq!(summary.acknowledged, 2_000, "{summary:?}");
    assert_eq!(producer.stats().partitions, None);
    let text = logged.text();
    assert_eq!(text.matches("beyond the 2 partitions").count(), 1, "{text}");
}

/// The stream grows from 2 to 4 partitions while a spawned producer runs: an answer names
/// partition 2 or 3, the producer describes the stream again and paces 4 partitions.
#[tokio::test]
async fn a_stream_that_grows_is_learned_again() {
    let dis = endpoint([StreamConfig::new("s", 2)]).await;
    let handle = producer(&dis, ProducerConfig::default()).spawn(|_| {});
    for r in keyed(1_000) {
        handle.send(r).await.unwrap();
    }
    handle.flush(Duration::from_secs(10)).await;
    assert_eq!(handle.stats().partitions, Some(2));
    dis.grow_partitions("s", 4);
    // Past the least time between two descriptions asked for by answers.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut learned = false;
    for round in 0..20 {
        for r in keyed(200) {
            handle.send(r).await.unwrap();
        }
        handle.flush(Duration::from_secs(10)).await;
        if handle.stats().partitions == Some(4) {
            learned = true;
            assert!(round <= 2, "learned only in round {round}");
            break;
        }
    }
    assert!(learned, "{:?}", handle.stats());
    let summary = handle.close(Duration::from_secs(10)).await;
    assert_eq!(summary.failed, 0, "{summary:?}");
    let counts = dis.record_counts("s").unwrap();
    assert!(counts[2] > 0 && counts[3] > 0, "{counts:?}");
}
