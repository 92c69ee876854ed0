//! Ordered mode under every fault the local endpoint injects, and under its quotas: for each
//! partition key, the acknowledged records appear in the stream (sequence-number order within
//! their partition) in input order. Checked against the endpoint's read-back.

use std::collections::HashMap;
use std::time::Duration;

use dis_local::{Faults, LocalConfig, LocalDis, StreamConfig};
use dis_records::{
    Credentials, Delivery, DisClient, Pacing, Producer, ProducerConfig, Record, RetryPolicy,
};

fn payload(i: u64) -> String {
    format!("record-{i:08}")
}

/// Sends `n` records over `keys` keys in ordered mode. `adaptive`: pace each partition from the
/// throttling (for quotas; injected random DIS.4303 failures do not depend on the rate, and
/// pacing down from them only slows the run).
async fn run_ordered(
    dis: &LocalDis,
    n: u64,
    keys: u64,
    partitions: u32,
    adaptive: bool,
) -> Vec<Delivery> {
    let client = DisClient::builder(dis.endpoint(), "p")
        .credentials(Credentials::token("t"))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let config = ProducerConfig::default()
        .with_order_by_key(true)
        .with_partitions(partitions)
        .with_pacing(if adaptive {
            Pacing::Adaptive
        } else {
            Pacing::Off
        })
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(30)
                .with_backoff(Duration::from_millis(1), 2.0, Duration::from_millis(20))
                .with_retry_ambiguous(true),
        );
    let producer = Producer::new(client, "s", config).unwrap();
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = out.clone();
    let summary = producer
        .send_all(
            (0..n).map(move |i| {
                Record::new(payload(i)).with_partition_key(format!("key-{}", i % keys))
            }),
            move |d| sink.lock().unwrap().push(d),
        )
        .await;
    assert_eq!(summary.sent, n);
    std::mem::take(&mut *out.lock().unwrap())
}

/// Checks the guarantee against what the endpoint stored; returns (acknowledged, failed).
fn check_order(dis: &LocalDis, deliveries: &[Delivery], keys: u64) -> (usize, usize) {
    // Where each copy of each record is in the stream.
    let stored = dis.records("s").unwrap();
    let mut position: HashMap<(String, String), (String, u64)> = HashMap::new();
    for r in &stored {
        let data = String::from_utf8(r.data.to_vec()).unwrap();
        let seq: u64 = r.sequence_number.parse().unwrap();
        position.insert(
            (r.partition_id.clone(), r.sequence_number.clone()),
            (data, seq),
        );
    }
    let mut by_key: HashMap<u64, Vec<(u64, String, u64)>> = HashMap::new();
    let mut failed = 0;
    for d in deliveries {
        match &d.result {
            Ok(ack) => {
                // The acknowledgement points at this record's copy in the stream.
                let (data, seq) = position
                    .get(&(
                        ack.partition_id.to_string(),
                        ack.sequence_number.to_string(),
                    ))
                    .unwrap_or_else(|| panic!("record {} acknowledged but not stored", d.id));
                assert_eq!(data, &payload(d.id));
                by_key.entry(d.id % keys).or_default().push((
                    d.id,
                    ack.partition_id.to_string(),
                    *seq,
                ));
            }
            Err(e) => {
                if failed < 3 {
                    println!("record {} failed after {} tries: {e}", d.id, d.attempts);
                }
                failed += 1
            }
        }
    }
    let mut acknowledged = 0;
    for (key, mut acks) in by_key {
        acks.sort_by_key(|(id, _, _)| *id);
        acknowledged += acks.len();
        for pair in acks.windows(2) {
            let ((a, pa, sa), (b, pb, sb)) = (&pair[0], &pair[1]);
            assert_eq!(pa, pb, "key {key}: one partition");
            assert!(
                sa < sb,
                "key {key}: record {b} (seq {sb}) is before record {a} (seq {sa})"
            );
        }
    }
    (acknowledged, failed)
}

async fn faulty() -> LocalDis {
    let faults = Faults::default()
        .with_fail_records(0.3)
        .with_fail_requests(0.05)
        .with_drop_before(0.02)
        .with_drop_after(0.02)
        .with_seed(42);
    LocalDis::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("s", 4)])
            .with_faults(faults),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_under_faults_with_10_keys() {
    let dis = faulty().await;
    let deliveries = run_ordered(&dis, 3_000, 10, 4, false).await;
    let (acknowledged, failed) = check_order(&dis, &deliveries, 10);
    println!("10 keys: {acknowledged} acknowledged in key order, {failed} failed");
    assert_eq!(acknowledged + failed, 3_000);
    assert!(acknowledged > 2_900, "{acknowledged}");
    let stats = dis.stats();
    assert!(stats.records_failed > 0 && stats.failed_requests > 0 && stats.dropped_after > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_under_faults_with_1000_keys() {
    let dis = faulty().await;
    let deliveries = run_ordered(&dis, 20_000, 1_000, 4, false).await;
    let (acknowledged, failed) = check_order(&dis, &deliveries, 1_000);
    println!("1000 keys: {acknowledged} acknowledged in key order, {failed} failed");
    assert_eq!(acknowledged + failed, 20_000);
    assert!(acknowledged > 19_500, "{acknowledged}");
}

/// Throttling by the endpoint's quotas: order holds, and nothing fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_under_quotas() {
    let dis = LocalDis::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("s", 2)])
            .with_quotas(true)
            .with_quota_scale(1.0),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let deliveries = run_ordered(&dis, 4_000, 10, 2, true).await;
    let (acknowledged, failed) = check_order(&dis, &deliveries, 10);
    assert_eq!((acknowledged, failed), (4_000, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_keys_behind_a_hot_keys_backlog_are_read_when_the_buffer_holds_it() {
    // 12 records of one hot key, then one of a cold key, 1,000 times. The hot key goes one
    // record per round trip; with a buffer larger than its backlog, the cold records behind
    // it in the input are read at once and acknowledged in the first round trips. With a cap of
    // 10,000 records whatever the buffer, the last cold record would wait for about 2,000 hot
    // ones.
    let dis = LocalDis::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("s", 4)])
            .with_retain(false),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let client = DisClient::builder(dis.endpoint(), "p")
        .credentials(Credentials::token("t"))
        .build()
        .unwrap();
    let config = ProducerConfig::default()
        .with_order_by_key(true)
        .with_max_in_flight(8)
        .with_buffer(20_000, 64 * 1024 * 1024);
    let records = (0..13_000u64).map(|i| {
        if i % 13 == 12 {
            Record::new(payload(i)).with_partition_key(format!("cold-{i}"))
        } else {
            Record::new(payload(i)).with_partition_key("hot")
        }
    });
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = order.clone();
    let summary = Producer::new(client, "s", config)
        .unwrap()
        .send_all(records, move |d: Delivery| {
            let hot = d.record.partition_key.as_deref() == Some("hot");
            seen.lock().unwrap().push(hot);
        })
        .await;
    assert_eq!(summary.acknowledged, 13_000, "{summary:?}");
    let order = order.lock().unwrap();
    let last_cold = order.iter().rposition(|hot| !hot).unwrap();
    let hot_before = order[..last_cold].iter().filter(|&&hot| hot).count();
    assert!(
        hot_before < 1000,
        "{hot_before} hot records were acknowledged before the last cold one"
    );
}

/// Sends `records` in ordered mode with the default buffer (10,000 records, 64 MiB); returns
/// the requests the endpoint saw and, in the order they were acknowledged, whether each
/// record was of the hot key.
async fn ordered_with_default_buffer(dis: &LocalDis, records: Vec<Record>) -> (u64, Vec<bool>) {
    let client = DisClient::builder(dis.endpoint(), "p")
        .credentials(Credentials::token("t"))
        .build()
        .unwrap();
    let config = ProducerConfig::default()
        .with_order_by_key(true)
        .with_max_in_flight(8);
    let n = records.len() as u64;
    let before = dis.stats().requests;
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = order.clone();
    let summary = Producer::new(client, "s", config)
        .unwrap()
        .send_all(records, move |d: Delivery| {
            assert!(d.result.is_ok(), "{:?}", d.result);
            let hot = d.record.partition_key.as_deref() == Some("hot");
            seen.lock().unwrap().push(hot);
        })
        .await;
    assert_eq!(summary.acknowledged, n, "{summary:?}");
    let order = std::mem::take(&mut *order.lock().unwrap());
    (dis.stats().requests - before, order)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_keys_small_records_do_not_hold_back_other_keys() {
    // 1,000 records of other keys, alone, then interleaved with 12,000 small records of one
    // hot key (12 hot, 1 cold, 1,000 times), with the default buffer. The hot key goes one
    // record per round trip by design; the records waiting behind it are capped by the
    // buffer's bytes (about 2.6 MB here, of 64 MiB), so the cold records behind them in the
    // input are read at once and go in the first round trips, as they do alone. Counted in
    // round trips, not time: the hot key's acknowledgements (one per round trip of its lane)
    // before the last cold one, against the requests the cold keys need alone (a few per
    // lane). A one-record round trip is quicker than a cold request of about 125 records, so
    // ten hot acknowledgements per such request are allowed. A cap that counted records
    // (10,000, the buffer's count) would stop input at the hot key's 10,000th waiting record,
    // and the last cold record would wait for about 2,000 hot round trips.
    let dis = LocalDis::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("s", 4)])
            .with_retain(false),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let cold = |i: u64| Record::new(payload(i)).with_partition_key(format!("cold-{i}"));
    let alone = (0..1000).map(cold).collect();
    let (alone_requests, alone) = ordered_with_default_buffer(&dis, alone).await;
    assert!(alone.iter().all(|hot| !hot));
    let mixed = (0..13_000u64)
        .map(|i| {
            if i % 13 == 12 {
                cold(i / 13)
            } else {
                Record::new(payload(i)).with_partition_key("hot")
            }
        })
        .collect();
    let (_, order) = ordered_with_default_buffer(&dis, mixed).await;
    let last_cold = order.iter().rposition(|hot| !hot).unwrap();
    let hot_before = order[..last_cold].iter().filter(|&&hot| hot).count() as u64;
    println!(
        "cold keys alone: {alone_requests} requests; beside the hot key: {hot_before} hot \
         records acknowledged before the last cold one"
    );
    assert!(
        hot_before <= 10 * alone_requests,
        "{hot_before} hot records (one per round trip) were acknowledged before the last cold \
         one; alone, the cold keys took {alone_requests} requests"
    );
}
