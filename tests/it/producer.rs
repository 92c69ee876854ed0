//! The producer against the local endpoint with injected faults, against broken answers, and
//! a property test of how it splits records into requests.

use crate::support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dis_local::{Faults, LocalConfig, LocalDis, StreamConfig};
use dis_records::{
    Credentials, Delivery, DisClient, Error, Failure, Limits, Pacing, Producer, ProducerConfig,
    Record, RetryPolicy,
};
use proptest::prelude::*;
use support::{CannedServer, json_response};

const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

fn fast_retry(retry_ambiguous: bool) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(30)
        .with_backoff(Duration::from_millis(1), 2.0, Duration::from_millis(20))
        .with_retry_ambiguous(retry_ambiguous)
}

async fn local(faults: Faults) -> LocalDis {
    let config = LocalConfig::default()
        .with_streams([StreamConfig::new("s", 4)])
        .with_faults(faults);
    LocalDis::start(config, SocketAddr::from(LOOPBACK))
        .await
        .unwrap()
}

fn producer(endpoint: &str, config: ProducerConfig) -> Producer {
    producer_with(endpoint, Limits::COMMON, config)
}

fn producer_with(endpoint: &str, limits: Limits, config: ProducerConfig) -> Producer {
    let client = DisClient::builder(endpoint, "p")
        .credentials(Credentials::token("t"))
        .limits(limits)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // dis-local runs without quotas here: unpaced, as a producer is set up for such an endpoint
    // (the pacing has tests of its own: quotas.rs, learning.rs, the simulation).
    Producer::new(client, "s", config.with_pacing(Pacing::Off)).unwrap()
}

fn payload(i: u64) -> Vec<u8> {
    format!("payload-{i:08}").into_bytes()
}

async fn run(p: &Producer, n: u64) -> (dis_records::Summary, Vec<Delivery>) {
    let kept = support::Kept::default();
    let summary = p
        .send_all((0..n).map(|i| Record::new(payload(i))), kept.sink())
        .await;
    (summary, kept.take())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_run_every_record_ends_acknowledged_or_failed_none_lost_none_duplicated() {
    let server = local(
        Faults::default()
            .with_fail_records(0.2)
            .with_fail_requests(0.05)
            .with_drop_before(0.02)
            .with_seed(7),
    )
    .await;
    let n = 100_000u64;
    let p = producer(
        &server.endpoint(),
        ProducerConfig::default().with_retry(fast_retry(false)),
    );
    let (summary, deliveries) = run(&p, n).await;

    // Exactly one outcome per record, each with its own payload handed back.
    assert_eq!(deliveries.len() as u64, n);
    let ids: HashSet<u64> = deliveries.iter().map(|d| d.id).collect();
    assert_eq!(ids.len() as u64, n);
    for d in &deliveries {
        assert_eq!(d.record.data, payload(d.id));
    }
    assert_eq!(summary.sent, n);
    assert_eq!(summary.acknowledged + summary.failed, n);
    assert!(summary.retries > 0, "faults were injected and retried");

    // Read back: every acknowledged record is stored exactly once where the producer said;
    // nothing else is stored (failed records are the dropped-before ones, never stored).
    let stored = server.records("s").unwrap();
    let mut by_payload: HashMap<Vec<u8>, (String, String)> = HashMap::new();
    for r in &stored {
        let dup = by_payload.insert(
            r.data.to_vec(),
            (r.partition_id.clone(), r.sequence_number.clone()),
        );
        assert!(
            dup.is_none(),
            "duplicated: {:?}",
            String::from_utf8_lossy(&r.data)
        );
    }
    let mut acked = 0;
    for d in &deliveries {
        match &d.result {
            Ok(ack) => {
                acked += 1;
                assert_eq!(
                    by_payload.get(&payload(d.id)[..]),
                    Some(&(
                        ack.partition_id.to_string(),
                        ack.sequence_number.to_string()
                    )),
                    "record {} missing or elsewhere",
                    d.id
                );
            }
            Err(f) => {
                assert!(d.maybe_duplicated(), "record {} failed for good: {f}", d.id);
                assert!(!by_payload.contains_key(&payload(d.id)[..]));
            }
        }
    }
    assert_eq!(stored.len(), acked);
    let stats = server.stats();
    assert!(stats.records_failed > 0 && stats.failed_requests > 0 && stats.dropped_before > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_retried_on_opt_in_duplicates_equal_what_is_reported() {
    let server = local(Faults::default().with_drop_after(0.1).with_seed(11)).await;
    let n = 20_000u64;
    let p = producer(
        &server.endpoint(),
        ProducerConfig::default().with_retry(fast_retry(true)),
    );
    let (summary, deliveries) = run(&p, n).await;
    assert_eq!(summary.acknowledged, n, "none missing: {summary:?}");
    assert!(summary.ambiguous > 0, "answers were dropped");

    let stored = server.records("s").unwrap();
    let mut copies: HashMap<Vec<u8>, u64> = HashMap::new();
    for r in &stored {
        *copies.entry(r.data.to_vec()).or_default() += 1;
    }
    assert_eq!(copies.len() as u64, n, "every record stored");
    let duplicates: u64 = copies.values().map(|c| c - 1).sum();
    assert_eq!(duplicates, summary.ambiguous);
    for d in &deliveries {
        assert_eq!(
            copies[&payload(d.id)[..]] - 1,
            u64::from(d.ambiguous_attempts),
            "record {}",
            d.id
        );
    }
}

#[tokio::test]
async fn lost_answers_are_not_retried_by_default() {
    let server = local(Faults::default().with_drop_after(1.0)).await;
    let p = producer(
        &server.endpoint(),
        ProducerConfig::default().with_retry(fast_retry(false)),
    );
    let (summary, deliveries) = run(&p, 10).await;
    assert_eq!(summary.failed, 10);
    assert_eq!(server.stats().requests, 1, "sent once, not again");
    for d in deliveries {
        assert_eq!(d.attempts, 1);
        assert!(d.maybe_duplicated());
        assert!(d.result.is_err());
    }
}

#[tokio::test]
async fn refused_records_and_requests_come_back_failed_with_their_payload() {
    let server = local(Faults::default()).await;
    // Stream "s" exists but not "absent": every record gets the whole-request DIS.4301.
    let client = DisClient::builder(server.endpoint(), "p")
        .credentials(Credentials::token("t"))
        .build()
        .unwrap();
    let p = Producer::new(client, "absent", ProducerConfig::default()).unwrap();
    let kept = support::Kept::default();
    let records = vec![
        Record::new("a"),
        Record::new("b").with_partition_id("shardId-x"),
        Record::new("c"),
    ];
    let summary = p.send_all(records, kept.sink()).await;
    let mut out = kept.take();
    assert_eq!(summary.failed, 3);
    out.sort_by_key(|d| d.id);
    assert!(
        matches!(&out[1].result, Err(Failure::Invalid(e)) if e.to_string().contains("records[1].partition_id"))
    );
    assert_eq!(out[1].attempts, 0);
    for i in [0, 2] {
        match &out[i].result {
            Err(Failure::Request(e)) => match e.as_ref() {
                Error::Dis { code, .. } => assert_eq!(code.as_deref(), Some("DIS.4301")),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        assert_eq!(out[i].attempts, 1, "DIS.4301 is not retried");
    }
    assert_eq!(out[2].record.data, &b"c"[..]);
}

#[tokio::test]
async fn malformed_answers_give_typed_errors_and_hand_records_back() {
    let huge = format!(
        r#"{{"failed_record_count":0,"records":[{}]}}"#,
        vec![r#"{"partition_id":"shardId-0000000000","sequence_number":"1"}"#; 200_000].join(",")
    );
    let answers: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", json_response(200, "this is not json")),
        ("wrong types", json_response(200, r#"{"failed_record_count":"x","records":7}"#)),
        ("count", json_response(200, r#"{"failed_record_count":0,"records":[]}"#)),
        ("empty entry", json_response(200, r#"{"failed_record_count":0,"records":[{},{}]}"#)),
        ("huge", json_response(200, &huge)),
        (
            "truncated",
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"failed_record_count\":0,\"rec".to_vec(),
        ),
    ];
    for (name, answer) in answers {
        let truncated = name == "truncated";
        let server = CannedServer::start(move |_| answer.clone()).await;
        let config = ProducerConfig::default().with_retry(fast_retry(false).with_max_attempts(1));
        let client = DisClient::builder(&server.endpoint, "p")
            .credentials(Credentials::token("t"))
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let p = Producer::new(client, "s", config).unwrap();
        let kept = support::Kept::default();
        let summary = p
            .send_all(vec![Record::new("a"), Record::new("b")], kept.sink())
            .await;
        let out = kept.take();
        assert_eq!(summary.failed, 2, "{name}");
        for d in &out {
            let err = match &d.result {
                Err(Failure::Request(e)) => e,
                other => panic!("{name}: {other:?}"),
            };
            if truncated {
                // The server never finishes the body: a timeout, reported as such.
                assert!(
                    matches!(
                        err.as_ref(),
                        Error::Transport {
                            connect: false,
                            timeout: true,
                            ..
                        }
                    ),
                    "{name}: {err:?}"
                );
            } else {
                assert!(
                    matches!(err.as_ref(), Error::InvalidResponse { .. }),
                    "{name}: {err:?}"
                );
            }
            assert!(err.maybe_duplicated(), "{name}");
            assert!(d.maybe_duplicated(), "{name}");
        }
        assert_eq!(
            out.iter().map(|d| &d.record.data[..]).collect::<Vec<_>>(),
            vec![b"a", b"b"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_by_key_keeps_each_key_in_order() {
    let server = local(Faults::default().with_delay_ms(2)).await;
    let p = producer_with(
        &server.endpoint(),
        Limits::COMMON.with_max_records_per_request(7),
        ProducerConfig::default()
            .with_max_in_flight(4)
            .with_order_by_key(true),
    );
    let records = (0..2000u64)
        .map(|i| Record::new(format!("{i}")).with_partition_key(format!("key-{}", i % 13)));
    let summary = p.send_all(records, |_| {}).await;
    assert_eq!(summary.acknowledged, 2000);
    // Per key all records land in one partition; there, arrival order must be input order.
    let mut last: HashMap<Option<String>, u64> = HashMap::new();
    for r in server.records("s").unwrap() {
        let i: u64 = std::str::from_utf8(&r.data).unwrap().parse().unwrap();
        if let Some(prev) = last.insert(r.partition_key.clone(), i) {
            assert!(prev < i, "{:?}: {i} after {prev}", r.partition_key);
        }
    }
    assert_eq!(last.len(), 13);
}

#[tokio::test]
async fn the_handle_takes_records_one_by_one_and_flushes() {
    let server = local(Faults::default()).await;
    let p = producer(&server.endpoint(), ProducerConfig::default());
    let (tx, mut deliveries) = tokio::sync::mpsc::unbounded_channel();
    let handle = p.spawn(move |d| {
        let _ = tx.send(d);
    });
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while let Some(d) = deliveries.recv().await {
            assert!(d.result.is_ok());
            n += 1;
        }
        n
    });
    for i in 0..1234u64 {
        handle.send(Record::new(payload(i))).await.unwrap();
    }
    assert!(handle.flush(Duration::from_secs(30)).await);
    assert_eq!(
        server.records("s").unwrap().len(),
        1234,
        "flush waits for everything"
    );
    handle.send(Record::new(payload(9999))).await.unwrap();
    let summary = handle.close(Duration::from_secs(30)).await;
    assert_eq!(summary.acknowledged, 1235);
    assert_eq!(reader.await.unwrap(), 1235);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Every record lands in exactly one request, in order, each request within every limit;
    /// records over the record limit are handed back invalid and never sent.
    #[test]
    fn splitting_respects_every_limit(
        sizes in proptest::collection::vec(0usize..=40, 0..120),
        max_records in 1usize..=9,
        max_record in 10usize..=30,
        extra in 0usize..=60,
    ) {
        let max_request = max_record + extra;
        let limits = Limits::COMMON
            .with_max_record_bytes(max_record)
            .with_max_request_bytes(max_request)
            .with_max_records_per_request(max_records);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let server = CannedServer::start(|req| {
                let n = req.json()["records"].as_array().unwrap().len();
                let results: Vec<String> = (0..n)
                    .map(|i| format!(r#"{{"partition_id":"shardId-0000000000","sequence_number":"{i}"}}"#))
                    .collect();
                json_response(200, &format!(r#"{{"failed_record_count":0,"records":[{}]}}"#, results.join(",")))
            })
            .await;
            let p = producer_with(
                &server.endpoint,
                limits,
                ProducerConfig::default()
                    .with_max_in_flight(1)
                    .with_linger(Duration::from_millis(50)),
            );
            let records: Vec<Record> = sizes
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let mut data = format!("{i:03}").into_bytes();
                    data.resize((*s).max(3), b'.');
                    Record::new(data)
                })
                .collect();
            let kept = support::Kept::default();
            p.send_all(records.clone(), kept.sink()).await;
            let out = kept.take();
            prop_assert_eq!(out.len(), records.len());

            let mut sent = Vec::new();
            for req in server.requests() {
                let entries = req.json()["records"].as_array().unwrap().clone();
                prop_assert!(!entries.is_empty() && entries.len() <= max_records);
                let datas: Vec<Vec<u8>> = entries
                    .iter()
                    .map(|e| B64.decode(e["data"].as_str().unwrap()).unwrap())
                    .collect();
                prop_assert!(datas.iter().map(Vec::len).sum::<usize>() <= max_request);
                sent.extend(datas);
            }
            let expected: Vec<Vec<u8>> = records
                .iter()
                .filter(|r| r.data.len() <= max_record)
                .map(|r| r.data.to_vec())
                .collect();
            prop_assert_eq!(sent, expected, "each valid record exactly once, in order");
            for d in &out {
                let big = d.record.data.len() > max_record;
                prop_assert_eq!(d.result.is_err(), big);
                if big {
                    prop_assert_eq!(d.attempts, 0);
                }
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn a_retried_gateway_timeout_counts_as_a_possible_duplicate() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = CannedServer::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            json_response(504, r#"{"error_code":"APIGW.0201","error_msg":"Gateway timeout"}"#)
        } else {
            json_response(
                200,
                r#"{"failed_record_count":0,"records":[{"partition_id":"shardId-0000000000","sequence_number":"1"}]}"#,
            )
        }
    })
    .await;
    let p = producer(
        &server.endpoint,
        ProducerConfig::default().with_retry(fast_retry(false)),
    );
    let kept = support::Kept::default();
    let summary = p.send_all([Record::new("x")], kept.sink()).await;
    let out = kept.take();
    assert_eq!(summary.acknowledged, 1, "504 is retried without opting in");
    assert_eq!(out[0].attempts, 2);
    assert_eq!(out[0].ambiguous_attempts, 1);
    assert!(out[0].maybe_duplicated());
    assert_eq!(summary.ambiguous, 1);
}

#[test]
fn impossible_retry_policies_are_refused() {
    let client = DisClient::builder("http://127.0.0.1:9", "p")
        .build()
        .unwrap();
    let backoff = |multiplier: f64, max: Duration| {
        RetryPolicy::default().with_backoff(Duration::from_millis(100), multiplier, max)
    };
    for (retry, text) in [
        (backoff(-2.0, Duration::from_secs(5)), "multiplier"),
        (backoff(f64::NAN, Duration::from_secs(5)), "multiplier"),
        (RetryPolicy::default().with_max_attempts(0), "max_attempts"),
        (backoff(2.0, Duration::from_secs(1 << 40)), "1 hour"),
    ] {
        let config = ProducerConfig::default().with_retry(retry);
        let err = Producer::new(client.clone(), "s", config).unwrap_err();
        assert!(err.to_string().contains(text), "{err}");
    }
}
