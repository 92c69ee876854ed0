//! The producer and DIS's write quotas: told the stream's kind, it paces each partition at the
//! quota and is hardly ever refused; records without a key have their own entry in
//! `ProducerStats::throttled`. Speed is measured by `scripts/bench-quotas.sh`, not here.

use std::net::SocketAddr;
use std::time::Duration;

use dis_local::{Faults, LocalConfig, LocalDis, StreamConfig};
use dis_records::{Credentials, DisClient, Producer, ProducerConfig, Record, StreamKind};

async fn endpoint(config: LocalConfig) -> LocalDis {
    LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn producer(dis: &LocalDis, config: ProducerConfig) -> Producer {
    let client = DisClient::builder(dis.endpoint(), "0123456789abcdef")
        .credentials(Credentials::token("t"))
        .build()
        .unwrap();
    Producer::new(client, "newstream", config).unwrap()
}

/// 3,000 records, three times what DIS's buckets hold at the start (two partitions, one second
/// each): at the quota, none is refused; keyed and unkeyed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_at_the_quota_nothing_is_refused() {
    for keyed in [true, false] {
        let dis = endpoint(
            LocalConfig::default()
                .with_streams([StreamConfig::new("newstream", 2)])
                .with_quotas(true)
                .with_retain(false),
        )
        .await;
        let config = ProducerConfig::default()
            .with_partitions(2)
            .with_stream_kind(StreamKind::Common);
        let producer = producer(&dis, config);
        let records = (0..3000).map(move |i| {
            let record = Record::new(format!("{i:08}-payload"));
            if keyed {
                record.with_partition_key(format!("key-{}", i % 100))
            } else {
                record
            }
        });
        let summary = producer.send_all(records, |_| {}).await;
        assert_eq!(summary.acknowledged, 3000, "keyed {keyed}: {summary:?}");
        assert_eq!(summary.throttled, 0, "keyed {keyed}: {summary:?}");
        assert_eq!(dis.stats().records_throttled, 0, "keyed {keyed}");
    }
}

/// Records without a key are DIS's to spread: their refusals are counted in an entry of their
/// own, after the partitions', not in the last partition's.
#[tokio::test]
async fn unkeyed_records_have_their_own_throttled_entry() {
    let dis = endpoint(
        LocalConfig::default()
            .with_streams([StreamConfig::new("newstream", 2)])
            .with_faults(Faults::default().with_fail_records(1.0)),
    )
    .await;
    let config = ProducerConfig::default()
        .with_partitions(2)
        .with_time_limit(Duration::from_millis(300));
    let producer = producer(&dis, config);
    let summary = producer
        .send_all((0..20).map(|i| Record::new(format!("{i}"))), |_| {})
        .await;
    assert_eq!(
        summary.failed, 20,
        "every record refused until its deadline"
    );
    let throttled = producer.stats().throttled;
    assert_eq!(
        throttled.len(),
        3,
        "two partitions and the records without a key"
    );
    assert_eq!(&throttled[..2], &[0, 0], "{throttled:?}");
    assert!(throttled[2] >= 20, "{throttled:?}");
}

#[test]
fn the_documented_quotas() {
    let common = StreamKind::Common;
    let advanced = StreamKind::Advanced;
    assert_eq!(
        (
            common.records_per_second(),
            common.bytes_per_second(),
            common.request_bytes()
        ),
        (1000, 1024 * 1024, 1024 * 1024)
    );
    assert_eq!(
        (
            advanced.records_per_second(),
            advanced.bytes_per_second(),
            advanced.request_bytes()
        ),
        (2000, 5 * 1024 * 1024, 5 * 1024 * 1024)
    );
    assert_eq!(StreamKind::from_name(" Advanced"), Some(advanced));
    assert_eq!(StreamKind::from_name("premium"), None);
}
