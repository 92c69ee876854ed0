//! A spawned producer's lifecycle: a bounded buffer (`send` waits, `try_send` hands back),
//! `flush` and `close` with deadlines, per-record deadlines under endless throttling, and the
//! stats snapshot.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dis_records::{
    Credentials, Delivery, DisClient, Failure, Producer, ProducerConfig, Record, RetryPolicy,
    SendError,
};
use support::{CannedServer, json_response};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

fn client(endpoint: &str) -> DisClient {
    DisClient::builder(endpoint, "p")
        .credentials(Credentials::token("t"))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Answers `{"failed_record_count":..}` with every record stored, or every record throttled.
fn answer(req: &support::Captured, throttle: bool) -> Vec<u8> {
    let n = req.json()["records"].as_array().unwrap().len();
    let entry = if throttle {
        r#"{"error_code":"DIS.4303","error_message":"Exceeded traffic control limit."}"#
    } else {
        r#"{"partition_id":"shardId-0000000001","sequence_number":"7"}"#
    };
    json_response(
        200,
        &format!(
            r#"{{"failed_record_count":{},"records":[{}]}}"#,
            if throttle { n } else { 0 },
            vec![entry; n].join(",")
        ),
    )
}

fn collector() -> (
    Arc<Mutex<Vec<Delivery>>>,
    impl FnMut(Delivery) + Send + 'static,
) {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    (out, move |d| sink.lock().unwrap().push(d))
}

#[tokio::test]
async fn the_buffer_is_bounded_in_bytes_and_try_send_hands_the_record_back() {
    let endpoint = support::silent().await;
    let producer = Producer::new(
        client(&endpoint),
        "s",
        ProducerConfig::default().with_buffer(100, 1024 * 1024),
    )
    .unwrap();
    let (out, sink) = collector();
    let handle = producer.spawn(sink);
    let big = || Record::new(vec![b'x'; 700 * 1024]);
    handle.try_send(big()).expect("room for one");
    let back = handle
        .try_send(big())
        .expect_err("no room for a second 700 KiB");
    assert!(matches!(back, SendError::Full(_)), "{back:?}");
    assert_eq!(
        back.into_record().data.len(),
        700 * 1024,
        "the record itself comes back"
    );
    // `send` waits for room rather than failing.
    let waited = tokio::time::timeout(Duration::from_millis(300), handle.send(big())).await;
    assert!(waited.is_err(), "send waits while the buffer is full");
    let summary = handle.close(Duration::from_millis(200)).await;
    assert_eq!(summary.sent, 1);
    assert!(matches!(
        out.lock().unwrap()[0].result,
        Err(Failure::Expired { .. })
    ));
}

#[tokio::test]
async fn flush_past_its_deadline_hands_back_and_the_producer_goes_on() {
    // The first request is never answered; later ones are.
    let calls = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let c = calls.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let c = c.clone();
            tokio::spawn(async move {
                while let Some(req) = support::read_request(&mut sock).await {
                    // The producer's DescribeStream: refused, and not the request held.
                    if req.method == "GET" {
                        let refused = support::json_response(403, r#"{"errorCode":"DIS.4116"}"#);
                        if sock.write_all(&refused).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    if c.fetch_add(1, Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                    if sock.write_all(&answer(&req, false)).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let producer = Producer::new(client(&endpoint), "s", ProducerConfig::default()).unwrap();
    let (out, sink) = collector();
    let handle = producer.spawn(sink);
    for i in 0..10 {
        handle.send(Record::new(format!("{i}"))).await.unwrap();
    }
    let started = Instant::now();
    assert!(
        !handle.flush(Duration::from_millis(300)).await,
        "not in time"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    {
        let out = out.lock().unwrap();
        assert_eq!(out.len(), 10, "every record handed back");
        for d in out.iter() {
            assert!(
                matches!(
                    d.result,
                    Err(Failure::Expired {
                        unanswered: true,
                        ..
                    })
                ),
                "{:?}",
                d.result
            );
            assert!(d.maybe_duplicated(), "it was sent: it may be stored");
        }
    }
    // The producer goes on.
    handle.send(Record::new("after")).await.unwrap();
    assert!(handle.flush(Duration::from_secs(10)).await);
    assert!(out.lock().unwrap()[10].result.is_ok());
    let summary = handle.close(Duration::from_secs(10)).await;
    assert_eq!((summary.acknowledged, summary.failed), (1, 10));
}

#[tokio::test]
async fn throttled_records_are_retried_until_their_deadline_and_stats_count_them() {
    let server = CannedServer::start(|req| answer(req, true)).await;
    let config = ProducerConfig::default()
        .with_time_limit(Duration::from_millis(400))
        .with_retry(RetryPolicy::default().with_max_attempts(2).with_backoff(
            Duration::from_millis(5),
            2.0,
            Duration::from_millis(20),
        ));
    let producer = Producer::new(client(&server.endpoint), "s", config).unwrap();
    let kept = support::Kept::default();
    let started = Instant::now();
    let summary = producer
        .send_all((0..5).map(|i| Record::new(format!("{i}"))), kept.sink())
        .await;
    let out = kept.take();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(summary.failed, 5);
    assert!(summary.throttled > 5, "{summary:?}");
    for d in &out {
        // The expiry says why: the last try was throttled.
        match &d.result {
            Err(Failure::Expired {
                last_error: Some(last),
                ..
            }) => assert_eq!(last.code(), "DIS.4303", "{last}"),
            other => panic!("{other:?}"),
        }
        let said = d.result.as_ref().unwrap_err().to_string();
        assert!(
            said.contains(
                "last error: DIS refused the record: DIS.4303: Exceeded traffic control limit."
            ),
            "{said}"
        );
        // Throttling does not count against max_attempts (2): it goes on until the deadline.
        assert!(d.attempts > 2, "{}", d.attempts);
    }
    let stats = producer.stats();
    assert_eq!(stats.failed.get("expired"), Some(&5));
    assert_eq!(stats.throttled.iter().sum::<u64>(), summary.throttled);
    assert_eq!(
        (stats.buffered, stats.in_flight, stats.acknowledged),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn a_record_that_waited_for_credentials_expires_naming_why() {
    // A metadata service that refuses connections: no credentials can be had.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let server = CannedServer::start(|req| answer(req, false)).await;
    let client = DisClient::builder(&server.endpoint, "p")
        .credentials(Credentials::ecs_metadata_at(&nowhere).unwrap())
        .build()
        .unwrap();
    let config = ProducerConfig::default().with_time_limit(Duration::from_millis(500));
    let producer = Producer::new(client, "s", config).unwrap();
    let kept = support::Kept::default();
    let summary = producer.send_all([Record::new("waits")], kept.sink()).await;
    assert_eq!(summary.failed, 1);
    let out = kept.take();
    let Err(Failure::Expired {
        last_error: Some(last),
        ..
    }) = &out[0].result
    else {
        panic!("{:?}", out[0].result)
    };
    assert_eq!(last.code(), "credentials");
    let said = out[0].result.as_ref().unwrap_err().to_string();
    assert!(
        said.contains("last error: credentials unavailable from ECS metadata"),
        "{said}"
    );
    // The stats told it while the record waited.
    let stats = producer.stats();
    assert!(stats.failed_tries >= 1, "{stats:?}");
    let last = stats.last_error.unwrap_or_default();
    assert!(
        last.contains("credentials unavailable from ECS metadata"),
        "{last}"
    );
}

#[tokio::test]
async fn stats_are_readable_while_a_spawned_producer_runs() {
    let server = CannedServer::start(|req| answer(req, false)).await;
    let producer = Producer::new(client(&server.endpoint), "s", ProducerConfig::default()).unwrap();
    let (_out, sink) = collector();
    let handle = producer.spawn(sink);
    for i in 0..3000 {
        handle.send(Record::new(format!("{i}"))).await.unwrap();
    }
    assert!(handle.flush(Duration::from_secs(10)).await);
    let stats = handle.stats();
    assert_eq!(stats.acknowledged, 3000);
    assert_eq!((stats.buffered, stats.in_flight), (0, 0));
    assert!(stats.failed.is_empty(), "{stats:?}");
    let summary = handle.close(Duration::from_secs(10)).await;
    assert_eq!(summary.acknowledged, 3000);
}

#[tokio::test]
async fn a_record_may_have_its_own_deadline() {
    let server = CannedServer::start(|req| answer(req, true)).await;
    let config = ProducerConfig::default()
        .with_time_limit(Duration::from_millis(800))
        .with_retry(RetryPolicy::default().with_backoff(
            Duration::from_millis(10),
            1.0,
            Duration::from_millis(10),
        ));
    let producer = Producer::new(client(&server.endpoint), "s", config).unwrap();
    let kept = support::Kept::default();
    let records = [
        Record::new("short").with_time_limit(Duration::from_millis(150)),
        Record::new("default"),
    ];
    producer.send_all(records, kept.sink()).await;
    let mut out = kept.take();
    out.sort_by_key(|d| d.id);
    assert!(
        out.iter()
            .all(|d| matches!(d.result, Err(Failure::Expired { .. })))
    );
    // The short one stopped being sent long before the other.
    assert!(
        out[0].attempts * 2 < out[1].attempts,
        "{} vs {}",
        out[0].attempts,
        out[1].attempts
    );
}

/// Answers one record: `DIS.4303` for the first `throttles` requests, then a record refused
/// with `DIS.5000`, then the whole request with 500, then stored.
fn throttled_then_5xx(calls: &AtomicUsize, throttles: usize) -> Vec<u8> {
    let n = calls.fetch_add(1, Ordering::SeqCst);
    let record = if n < throttles {
        r#"{"error_code":"DIS.4303","error_message":"Exceeded traffic control limit."}"#
    } else if n == throttles {
        r#"{"error_code":"DIS.5000","error_message":"System error."}"#
    } else if n == throttles + 1 {
        return json_response(500, r#"{"errorCode":"DIS.5000","message":"System error."}"#);
    } else {
        r#"{"partition_id":"shardId-0000000001","sequence_number":"7"}"#
    };
    let failed = usize::from(!record.contains("sequence_number"));
    json_response(
        200,
        &format!(r#"{{"failed_record_count":{failed},"records":[{record}]}}"#),
    )
}

#[tokio::test]
async fn throttled_tries_do_not_use_up_the_tries_a_5xx_may_take() {
    // Throttled 6 times, then a 5xx record answer and a 500: with 3 tries allowed, the two
    // failed tries are within them (the throttled ones are not tries against the cap), and
    // the third try stores it.
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = CannedServer::start(move |_| throttled_then_5xx(&c, 6)).await;
    let config = ProducerConfig::default().with_retry(
        RetryPolicy::default().with_max_attempts(3).with_backoff(
            Duration::from_millis(1),
            2.0,
            Duration::from_millis(5),
        ),
    );
    let producer = Producer::new(client(&server.endpoint), "s", config).unwrap();
    let kept = support::Kept::default();
    let summary = producer.send_all([Record::new("x")], kept.sink()).await;
    let out = kept.take();
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
    assert_eq!(summary.acknowledged, 1, "{summary:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 9);
    // Both counts, apart: 9 tries sent, 6 of them throttled, 2 retries of failed tries.
    assert_eq!((out[0].attempts, out[0].throttled_attempts), (9, 6));
    assert_eq!((summary.retries, summary.throttled), (2, 6));
    let stats = producer.stats();
    assert_eq!(stats.retries, 2);
    assert_eq!(stats.throttled.iter().sum::<u64>(), 6);
}
