//! What the caller of a producer may do carelessly, and what a server may answer that makes no
//! sense: a callback that panics, futures dropped halfway, deadlines of any size, answers whose
//! values the spec does not allow. Loopback only.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dis_local::{LocalConfig, LocalDis, StreamConfig};
use dis_records::{
    BodyFormat, Credentials, DisClient, Error, Limits, Producer, ProducerConfig, Record,
    RetryPolicy, SendError,
};
use support::{CannedServer, json_response, response};

fn client(endpoint: &str) -> DisClient {
    DisClient::builder(endpoint, "p")
        .credentials(Credentials::token("t"))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn local() -> LocalDis {
    LocalDis::start(
        LocalConfig::default().with_streams([StreamConfig::new("s", 2)]),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn small_batches() -> ProducerConfig {
    ProducerConfig::default()
        .with_linger(Duration::from_millis(1))
        .with_max_in_flight(2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_callback_loses_no_outcome_in_a_spawned_producer() {
    let dis = local().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let handle = Producer::new(client(&dis.endpoint()), "s", small_batches())
        .unwrap()
        .spawn(move |_| {
            // Every tenth outcome makes the callback panic.
            if seen.fetch_add(1, Ordering::SeqCst).is_multiple_of(10) {
                panic!("the caller's bug");
            }
        });
    let work = async {
        for i in 0..3000 {
            handle.send(Record::new(format!("r{i}"))).await.unwrap();
        }
        let flushed = handle.flush(Duration::from_secs(20)).await;
        let stats = handle.stats();
        (flushed, stats, handle.close(Duration::from_secs(20)).await)
    };
    let (flushed, stats, summary) = tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("the producer wedged");
    assert!(flushed, "every outcome delivered by the flush");
    assert_eq!(stats.in_flight, 0);
    assert_eq!(summary.sent, 3000);
    assert_eq!(summary.acknowledged + summary.failed, 3000);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3000,
        "every outcome reached the callback"
    );
    assert_eq!(summary.callback_panics, 300);
    assert_eq!(stats.callback_panics, 300);
    let stored: usize = dis.records("s").unwrap().len();
    assert_eq!(stored as u64, summary.acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_all_survives_a_panicking_callback() {
    let dis = local().await;
    let producer = Producer::new(client(&dis.endpoint()), "s", small_batches()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let summary = producer
        .send_all((0..5000).map(|i| Record::new(format!("r{i}"))), move |_| {
            if seen.fetch_add(1, Ordering::SeqCst) == 119 {
                panic!("the caller's bug");
            }
        })
        .await;
    assert_eq!(summary.sent, 5000);
    assert_eq!(summary.acknowledged + summary.failed, 5000);
    assert_eq!(calls.load(Ordering::SeqCst), 5000);
    assert_eq!(summary.callback_panics, 1);
    assert!(dis.records("s").unwrap().len() as u64 >= summary.acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_returns_within_its_bound_with_a_full_buffer() {
    let endpoint = support::silent().await;
    let handle = Producer::new(
        client(&endpoint),
        "s",
        small_batches().with_buffer(10, 1024 * 1024),
    )
    .unwrap()
    .spawn(|_| {});
    // Fill the window and the buffer.
    let mut accepted = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        match handle.try_send(Record::new("x")) {
            Ok(()) => accepted += 1,
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    assert!(accepted >= 10, "accepted {accepted}");
    let start = Instant::now();
    let flushed = handle.flush(Duration::from_millis(200)).await;
    let took = start.elapsed();
    assert!(!flushed, "nothing can be delivered by a silent server");
    assert!(took < Duration::from_secs(1), "flush(200 ms) took {took:?}");
    handle.close(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn flush_and_close_take_any_duration() {
    let dis = local().await;
    let handle = Producer::new(client(&dis.endpoint()), "s", small_batches())
        .unwrap()
        .spawn(|_| {});
    handle.send(Record::new("x")).await.unwrap();
    assert!(handle.flush(Duration::MAX).await);
    let summary = handle.close(Duration::MAX).await;
    assert_eq!(summary.acknowledged, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_sends_leave_the_counters_true() {
    let endpoint = support::silent().await;
    // One record per request and one request in flight: the buffer fills after a few records.
    let one_per_request = DisClient::builder(&endpoint, "p")
        .credentials(Credentials::token("t"))
        .limits(Limits::COMMON.with_max_records_per_request(1))
        .build()
        .unwrap();
    let handle = Producer::new(
        one_per_request,
        "s",
        small_batches()
            .with_max_in_flight(1)
            .with_buffer(10, 1024 * 1024),
    )
    .unwrap()
    .spawn(|_| {});
    let mut accepted = 0u64;
    for _ in 0..50 {
        if let Ok(Ok(())) =
            tokio::time::timeout(Duration::from_millis(5), handle.send(Record::new("x"))).await
        {
            accepted += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = handle.stats();
    assert!(
        stats.buffered + stats.in_flight <= accepted,
        "buffered {} + in flight {} for {accepted} records accepted",
        stats.buffered,
        stats.in_flight
    );
    assert!(
        stats.buffered <= 10,
        "buffered {} for a buffer of 10",
        stats.buffered
    );
    let summary = handle.close(Duration::from_millis(100)).await;
    assert_eq!(summary.sent, accepted);
}

#[tokio::test]
async fn answers_that_make_no_sense_are_unreadable() {
    const STORED: &str = r#"{"partition_id":"shardId-0000000001","sequence_number":"7"}"#;
    let bad_entries = [
        r#"{"partition_id":"shardId-0000000001","sequence_number":"-1"}"#,
        r#"{"partition_id":"shardId-0000000001","sequence_number":"abc"}"#,
        r#"{"partition_id":"shardId-0000000001","sequence_number":""}"#,
        r#"{"partition_id":"shardId-0000000001","sequence_number":"\u0000\n"}"#,
        r#"{"partition_id":"","sequence_number":"7"}"#,
        r#"{"partition_id":"../../etc/passwd","sequence_number":"7"}"#,
        r#"{"partition_id":"shardId-99999999999999","sequence_number":"7"}"#,
    ];
    for entry in bad_entries {
        let body = format!(r#"{{"failed_record_count":0,"records":[{STORED},{entry}]}}"#);
        let server = CannedServer::start(move |_| json_response(200, &body)).await;
        let err = client(&server.endpoint)
            .send("s", &[Record::new("a"), Record::new("b")])
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidResponse { .. }) && err.maybe_duplicated(),
            "{entry}: {err:?}"
        );
    }
    for status in [304u16, 999] {
        let server =
            CannedServer::start(move |_| response(status, &[("content-type", "text/plain")], ""))
                .await;
        let err = client(&server.endpoint)
            .send("s", &[Record::new("a")])
            .await
            .unwrap_err();
        assert!(err.maybe_duplicated(), "HTTP {status}: {err:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_budget_counts_keys_too() {
    let endpoint = support::silent().await;
    let handle = Producer::new(
        client(&endpoint),
        "s",
        small_batches().with_buffer(10_000, 1024 * 1024),
    )
    .unwrap()
    .spawn(|_| {});
    let key = "k".repeat(32 * 1024);
    let mut accepted = 0;
    for _ in 0..10_000 {
        match handle.try_send(Record::new("").with_partition_key(key.clone())) {
            Ok(()) => accepted += 1,
            Err(SendError::Full(_)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    // 1 MiB of budget holds 32 records with 32 KiB keys, wherever they are.
    assert!(
        accepted <= 32,
        "{accepted} records of 32 KiB keys in a 1 MiB budget"
    );
    handle.close(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn an_entry_too_large_for_a_request_is_refused_before_anything_is_held() {
    let endpoint = support::silent().await;
    let huge_key = || Record::new("x").with_partition_key("k".repeat(4 * 1024 * 1024));
    let handle = Producer::new(client(&endpoint), "s", small_batches())
        .unwrap()
        .spawn(|_| {});
    let err = handle.send(huge_key()).await.unwrap_err();
    assert!(
        matches!(&err, SendError::Invalid { error, .. } if error.to_string().contains("partition_key")),
        "{err}"
    );
    assert_eq!(handle.stats().buffered, 0);
    handle.close(Duration::from_millis(100)).await;
    // The client refuses it too, before sending.
    let err = client(&endpoint)
        .send("s", &[huge_key()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(e) if e.to_string().starts_with("records[0].partition_key")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_dropped_without_close_still_delivers_while_the_runtime_runs() {
    let dis = local().await;
    let outcomes = Arc::new(AtomicUsize::new(0));
    let seen = outcomes.clone();
    let handle = Producer::new(client(&dis.endpoint()), "s", small_batches())
        .unwrap()
        .spawn(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
    for i in 0..3000 {
        handle.send(Record::new(format!("r{i}"))).await.unwrap();
    }
    drop(handle);
    let start = Instant::now();
    while outcomes.load(Ordering::SeqCst) < 3000 && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(outcomes.load(Ordering::SeqCst), 3000);
    assert_eq!(dis.records("s").unwrap().len(), 3000);
}

#[tokio::test]
async fn a_protobuf_answer_to_a_json_request_reads_the_same_on_every_path() {
    // One stored record, answered in protobuf (PutRecordsResult.records = 22, an entry with
    // shardId = 23 and sequenceNumber = 24) whatever the request's format.
    let mut entry = Vec::new();
    prost::encoding::string::encode(23, &"shardId-0000000001".to_owned(), &mut entry);
    prost::encoding::string::encode(24, &"7".to_owned(), &mut entry);
    let mut answer = Vec::new();
    prost::encoding::bytes::encode(22, &entry, &mut answer);
    let answer = Arc::new(answer);
    let server = CannedServer::start(move |_| {
        let mut out = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        )
        .into_bytes();
        out.extend_from_slice(&answer);
        out
    })
    .await;
    let outcome = client(&server.endpoint)
        .send("s", &[Record::new("a")])
        .await
        .unwrap();
    let producer = Producer::new(client(&server.endpoint), "s", small_batches()).unwrap();
    let acks = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = acks.clone();
    producer
        .send_all([Record::new("a")], move |d| {
            sink.lock().unwrap().push(d.result)
        })
        .await;
    let ack = acks.lock().unwrap()[0].clone().unwrap();
    assert_eq!(
        outcome.results[0],
        dis_records::RecordResult::Stored {
            partition_id: ack.partition_id,
            sequence_number: ack.sequence_number,
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_all_dropped_mid_flight_still_hands_back_every_outcome() {
    let dis = local().await;
    let producer = Producer::new(client(&dis.endpoint()), "s", small_batches()).unwrap();
    let kept = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = kept.clone();
    let n = 50_000;
    let run = producer.send_all((0..n).map(|i| Record::new(format!("r{i}"))), move |d| {
        sink.lock().unwrap().push(d)
    });
    // Dropped while requests are in flight.
    assert!(
        tokio::time::timeout(Duration::from_millis(20), run)
            .await
            .is_err()
    );
    let at_drop = kept.lock().unwrap().len();
    assert!(at_drop < n, "the run was over before the drop");
    let start = Instant::now();
    while kept.lock().unwrap().len() < n && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let outcomes = std::mem::take(&mut *kept.lock().unwrap());
    assert_eq!(outcomes.len(), n, "{at_drop} outcomes at the drop");
    // The read-back against the outcomes: every stored record was acknowledged, and only those.
    let acked: std::collections::HashSet<_> = outcomes
        .iter()
        .filter(|d| d.result.is_ok())
        .map(|d| d.record.data.clone())
        .collect();
    let stored = dis.records("s").unwrap();
    assert_eq!(stored.len(), acked.len());
    assert!(stored.iter().all(|r| acked.contains(&r.data)));
}

#[tokio::test]
async fn a_swapped_protobuf_body_fails_verification_unless_body_signing_is_off() {
    // The answer does not matter here: what the client signed does. The settings: the
    // default (signed, as Huawei's hand-written DIS SDK signs protobuf), off, on.
    let server = CannedServer::start(|_| json_response(500, "{}")).await;
    let settings = [None, Some(false), Some(true)];
    for setting in settings {
        let mut builder =
            DisClient::builder(&server.endpoint, "p").credentials(Credentials::aksk("ak", "sk"));
        if let Some(sign) = setting {
            builder = builder.sign_every_body(sign);
        }
        let client = builder.build().unwrap();
        let config = small_batches()
            .with_body_format(BodyFormat::Protobuf)
            .with_retry(RetryPolicy::default().with_max_attempts(1));
        Producer::new(client, "s", config)
            .unwrap()
            .send_all([Record::new("the original")], |_| {})
            .await;
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for (req, setting) in requests.iter().zip(settings) {
        let sign_every_body = setting.unwrap_or(true);
        let auth = req.header("authorization").expect("signed");
        let parsed = huaweicloud_sign::parse_authorization(auth).unwrap();
        let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        let signable = |body: &'static [u8]| huaweicloud_sign::SignableRequest {
            method: &req.method,
            path,
            query,
            headers: req.headers.clone(),
            body,
        };
        let original = huaweicloud_sign::SignableRequest {
            body: &req.body,
            ..signable(b"")
        };
        assert!(huaweicloud_sign::verify(&original, &parsed, "sk"));
        let swapped = huaweicloud_sign::verify(&signable(b"another body"), &parsed, "sk");
        assert_eq!(
            swapped, !sign_every_body,
            "sign_every_body {sign_every_body}: a swapped body verified: {swapped}"
        );
        assert_eq!(
            req.header("x-sdk-content-sha256").is_some(),
            !sign_every_body
        );
    }
}

/// A spawned producer whose callback blocks on its first outcome until the test opens the
/// gate, as a careless callback waiting on a lock or a full channel would; `n` records handed
/// in. Returns the endpoint, what the callback has had, the gate, and the handle.
async fn gated_producer(
    n: usize,
) -> (
    LocalDis,
    support::Kept,
    std::sync::mpsc::Sender<()>,
    dis_records::ProducerHandle,
) {
    let dis = local().await;
    let kept = support::Kept::default();
    let (open, gate) = std::sync::mpsc::channel::<()>();
    let mut sink = kept.sink();
    let mut first = true;
    let callback = move |d| {
        if first {
            first = false;
            let _ = gate.recv();
        }
        sink(d)
    };
    let handle = Producer::new(client(&dis.endpoint()), "s", small_batches())
        .unwrap()
        .spawn(callback);
    for i in 0..n {
        handle.send(Record::new(format!("r{i}"))).await.unwrap();
    }
    (dis, kept, open, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_returns_at_its_deadline_with_a_blocked_callback_and_loses_nothing() {
    let (dis, kept, open, handle) = gated_producer(1000).await;
    // The callback blocks on its first outcome until the gate opens: before, close waited
    // for it forever (5.6 s with a callback of 5 ms per outcome and 1,000 outcomes).
    let summary = tokio::time::timeout(
        Duration::from_secs(10),
        handle.close(Duration::from_millis(300)),
    )
    .await
    .expect("close returned soon after its deadline");
    assert_eq!(summary.undelivered, 1000, "{summary:?}");
    assert!(kept.take().is_empty());
    // Opened later, the callback gets every outcome, once, on its own thread.
    open.send(()).unwrap();
    let mut out = Vec::new();
    for _ in 0..500 {
        out.extend(kept.take());
        if out.len() >= 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    out.extend(kept.take());
    let mut ids: Vec<u64> = out.iter().map(|d| d.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((out.len(), ids.len()), (1000, 1000));
    assert_eq!((ids[0], ids[999]), (0, 999));
    // The engine did not wait for the callback: the records were acknowledged meanwhile.
    assert_eq!(summary.acknowledged + summary.failed, 1000, "{summary:?}");
    assert!(dis.records("s").unwrap().len() as u64 >= summary.acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_callback_does_not_stall_sending_and_close_waits_for_it_when_it_can() {
    let (dis, kept, open, handle) = gated_producer(500).await;
    // Every record is stored and acknowledged while the callback is still blocked on the
    // first outcome.
    let mut acknowledged = 0;
    for _ in 0..500 {
        acknowledged = handle.stats().acknowledged;
        if acknowledged == 500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(acknowledged, 500);
    assert_eq!(dis.records("s").unwrap().len(), 500);
    assert!(kept.take().is_empty());
    open.send(()).unwrap();
    // With time to spare, close waits until the callback has had everything.
    let summary = handle.close(Duration::from_secs(20)).await;
    assert_eq!(summary.undelivered, 0, "{summary:?}");
    assert_eq!(summary.acknowledged, 500);
    assert_eq!(kept.take().len(), 500);
}
