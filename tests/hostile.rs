//! A hostile server and careless callers: each test is named for the behaviour it checks. The
//! server is hand-rolled (tokio, 127.0.0.1:0) and misbehaves on purpose.
//!
//! The memory tests (an endless body, too many entries, one huge error) measure the client's peak RSS (`VmHWM`) in a process of their own:
//! the test re-runs this test binary for just that test with `HOSTILE_CHILD` set, the child does
//! the work and prints its peak, and the parent asserts the bound.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dis_records::{
    Credentials, DisClient, Error, Failure, Limits, Producer, ProducerConfig, Record, RetryPolicy,
};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const PROJECT: &str = "0123456789abcdef0123456789abcdef";

type Behaviour = Arc<
    dyn Fn(support::Captured, TcpStream) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync,
>;

/// Reads each request, then hands the request and the socket to `behaviour`.
async fn hostile<F, Fut>(behaviour: F) -> String
where
    F: Fn(support::Captured, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let behaviour: Behaviour = Arc::new(move |req, sock| Box::pin(behaviour(req, sock)));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let behaviour = behaviour.clone();
            tokio::spawn(async move {
                if let Some(req) = support::read_request(&mut sock).await {
                    behaviour(req, sock).await;
                }
            });
        }
    });
    endpoint
}

fn client(endpoint: &str, timeout: Duration) -> DisClient {
    DisClient::builder(endpoint, PROJECT)
        .credentials(Credentials::token("t"))
        .timeout(timeout)
        .build()
        .unwrap()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// In the parent: runs `name` alone in a fresh process of this binary and returns the peak
/// RSS (KiB) it printed. In the child (`HOSTILE_CHILD` = `name`): returns `None`, and the caller
/// does the work and prints `peak_kib=N` with [`report_peak`].
fn in_own_process(name: &str) -> Option<u64> {
    if std::env::var("HOSTILE_CHILD").as_deref() == Ok(name) {
        return None;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("HOSTILE_CHILD", name)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let peak: Option<u64> = stdout
        .lines()
        .find_map(|l| l.split("peak_kib=").nth(1))
        .and_then(|v| v.trim().parse().ok());
    if let Some(peak) = peak {
        println!("{name}: peak RSS {:.1} MiB", peak as f64 / 1024.0);
    }
    assert!(
        out.status.success(),
        "child {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peak = peak.unwrap_or_else(|| panic!("no peak in:\n{stdout}"));
    Some(peak)
}

fn report_peak() {
    println!("peak_kib={}", peak_rss_kib());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// An endless chunked 200 answer must not drive the client to any size.
#[test]
fn endless_body_is_cut_at_a_cap() {
    if let Some(peak) = in_own_process("endless_body_is_cut_at_a_cap") {
        assert!(peak < 64 * 1024, "peak {peak} KiB");
        return;
    }
    let err = runtime().block_on(async {
        let endpoint = hostile(|_req, mut sock| async move {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
            let start = Instant::now();
            // Bounded: at most 20 s, or until the client hangs up.
            while start.elapsed() < Duration::from_secs(20) {
                if sock.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
            }
        })
        .await;
        let started = Instant::now();
        let err = client(&endpoint, Duration::from_secs(5))
            .send("s", &[Record::new("x")])
            .await
            .unwrap_err();
        println!("error after {:?}: {err}", started.elapsed());
        err
    });
    report_peak();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("bytes"), "{err}");
    assert!(err.maybe_duplicated());
}

/// One record sent, answered with 3,000,000 result entries.
#[test]
fn too_many_result_entries_are_not_all_parsed() {
    if let Some(peak) = in_own_process("too_many_result_entries_are_not_all_parsed") {
        assert!(peak < 64 * 1024, "peak {peak} KiB");
        return;
    }
    let err = runtime().block_on(async {
        let body = Arc::new(format!(
            r#"{{"failed_record_count":0,"records":[{}{{}}]}}"#,
            "{},".repeat(2_999_999)
        ));
        let endpoint = hostile(move |_req, mut sock| {
            let body = body.clone();
            async move {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
            }
        })
        .await;
        let err = client(&endpoint, Duration::from_secs(10))
            .send("s", &[Record::new("x")])
            .await
            .unwrap_err();
        println!("{err}");
        err
    });
    report_peak();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
}

/// A 400 with a 400 KB message on a batch of 500 records: the message is cut, and the one
/// error is shared by the records, not copied into each.
#[test]
fn one_huge_error_is_cut_and_shared() {
    if let Some(peak) = in_own_process("one_huge_error_is_cut_and_shared") {
        assert!(peak < 64 * 1024, "peak {peak} KiB");
        return;
    }
    let (summary, out) = runtime().block_on(async {
        let message = "m".repeat(400_000);
        let body = Arc::new(format!(r#"{{"errorCode":"DIS.4200","message":"{message}"}}"#));
        let endpoint = hostile(move |_req, mut sock| {
            let body = body.clone();
            async move {
                let head = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
            }
        })
        .await;
        let producer = Producer::new(
            client(&endpoint, Duration::from_secs(10)),
            "s",
            ProducerConfig::default().with_retry(RetryPolicy::default().with_max_attempts(1)),
        )
        .unwrap();
        let kept = support::Kept::default();
        let summary = producer
            .send_all((0..2000).map(|i| Record::new(format!("{i}"))), kept.sink())
            .await;
        (summary, kept.take())
    });
    report_peak();
    assert_eq!(summary.failed, 2000);
    let Err(Failure::Request(err)) = &out[0].result else {
        panic!("{:?}", out[0].result)
    };
    assert_eq!(err.code(), Some("DIS.4200"));
    let text = err.to_string();
    assert!(
        text.len() < 2048,
        "the message was kept whole: {} bytes",
        text.len()
    );
}

/// Answers every request with `status` and `body` (a DIS-shaped or any body).
async fn answering(status: u16, body: &'static str) -> String {
    hostile(move |_req, mut sock| async move {
        let _ = sock
            .write_all(&support::response(
                status,
                &[("content-type", "application/json")],
                body,
            ))
            .await;
    })
    .await
}

/// More entries than records sent stops the reading.
#[tokio::test]
async fn more_entries_than_records_within_the_size_bound() {
    let body: &'static str = Box::leak(
        format!(
            r#"{{"failed_record_count":0,"records":[{}{{}}]}}"#,
            "{},".repeat(4000)
        )
        .into_boxed_str(),
    );
    assert!(body.len() < 16 * 1024, "within the bound for one record");
    let endpoint = answering(200, body).await;
    let err = client(&endpoint, Duration::from_secs(5))
        .send("s", &[Record::new("x")])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidResponse { message, .. } if message.contains("more than 1 results for 1 records")),
        "{err:?}"
    );
}

/// A 2xx other than 200, or a 5xx not known to be safe, may mean the records were stored.
#[tokio::test]
async fn unlisted_statuses_are_possible_duplicates() {
    for status in [201u16, 202, 204, 500, 501, 502, 504, 507, 522, 524, 599] {
        let endpoint = answering(status, "").await;
        let producer = Producer::new(
            client(&endpoint, Duration::from_secs(5)),
            "s",
            ProducerConfig::default().with_retry(
                RetryPolicy::default().with_max_attempts(1).with_backoff(
                    Duration::from_millis(1),
                    2.0,
                    Duration::from_millis(1),
                ),
            ),
        )
        .unwrap();
        let kept = support::Kept::default();
        producer
            .send_all([Record::new("a"), Record::new("b")], kept.sink())
            .await;
        for d in &kept.take() {
            assert!(d.result.is_err(), "{status}");
            assert!(d.maybe_duplicated(), "HTTP {status}: {:?}", d.result);
        }
    }
    // 503 is DIS refusing work it has not started, and 4xx nothing was stored: no flag.
    for status in [400u16, 403, 429, 503] {
        let endpoint = answering(status, r#"{"errorCode":"DIS.4200","message":"no"}"#).await;
        let err = client(&endpoint, Duration::from_secs(5))
            .send("s", &[Record::new("a")])
            .await
            .unwrap_err();
        assert!(!err.maybe_duplicated(), "HTTP {status}: {err:?}");
    }
}

/// The project ID must not move the request to another path.
#[test]
fn project_id_cannot_escape_the_path() {
    for bad in ["..", ".", "a/b", "p?x=1", "p#f", "p%2F", "", "p id"] {
        let err = DisClient::builder("http://127.0.0.1:9", bad)
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.setting == "project_id"),
            "{bad:?}: {err:?}"
        );
    }
    DisClient::builder("http://127.0.0.1:9", "0123456789abcdef0123456789abcdef")
        .build()
        .unwrap();
}

/// An endpoint with a query, a fragment or user:password@ is refused, and no password
/// reaches Debug output.
#[test]
fn endpoints_with_query_fragment_or_userinfo_are_refused() {
    for bad in [
        "http://h/?q=1",
        "http://h/#frag",
        "http://user:hunter2@h/",
        "http://user@h",
    ] {
        let err = DisClient::builder(bad, PROJECT).build().unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.setting == "endpoint"),
            "{bad}: {err:?}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

/// Batches are sized by what goes on the wire: 500 records with 8 KiB partition keys all
/// reach the local endpoint (before: one 4.1 MB body, refused with 413, all 500 failed).
#[tokio::test]
async fn batches_count_key_bytes() {
    let dis = dis_local::LocalDis::start(
        dis_local::LocalConfig::default().with_streams([dis_local::StreamConfig::new("s", 2)]),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let producer = Producer::new(
        client(&dis.endpoint(), Duration::from_secs(10)),
        "s",
        ProducerConfig::default(),
    )
    .unwrap();
    let key = "k".repeat(8 * 1024);
    let summary = producer
        .send_all(
            (0..500).map(move |i| Record::new(format!("{i}")).with_partition_key(key.clone())),
            |_| {},
        )
        .await;
    assert_eq!(summary.acknowledged, 500, "{summary:?}");
    assert_eq!(dis.stats().rejected_requests, 0);
    assert!(summary.requests > 1, "split by wire size: {summary:?}");
}

/// A 413 splits the batch and sends the halves again (nothing was stored).
#[tokio::test]
async fn a_413_splits_the_batch() {
    let endpoint = hostile(|req, mut sock| async move {
        let n = req.json()["records"].as_array().unwrap().len();
        let answer = if n > 3 {
            support::response(
                413,
                &[("content-type", "application/json")],
                r#"{"errorCode":"DIS.4200","message":"Request Entity Too Large"}"#,
            )
        } else {
            let entries = vec![r#"{"partition_id":"shardId-0000000000","sequence_number":"1"}"#; n];
            support::json_response(
                200,
                &format!(
                    r#"{{"failed_record_count":0,"records":[{}]}}"#,
                    entries.join(",")
                ),
            )
        };
        let _ = sock.write_all(&answer).await;
    })
    .await;
    let producer = Producer::new(
        client(&endpoint, Duration::from_secs(5)),
        "s",
        ProducerConfig::default(),
    )
    .unwrap();
    let kept = support::Kept::default();
    let summary = producer
        .send_all((0..20).map(|i| Record::new(format!("{i}"))), kept.sink())
        .await;
    let out = kept.take();
    assert_eq!(summary.acknowledged, 20, "{summary:?}");
    assert!(out.iter().all(|d| !d.maybe_duplicated()));
}

/// Settings that would panic or exhaust memory later are refused, naming the field.
#[test]
fn configs_that_would_panic_later_are_refused() {
    let limits_err = |limits: Limits| {
        DisClient::builder("http://127.0.0.1:9", PROJECT)
            .limits(limits)
            .build()
            .unwrap_err()
    };
    for (limits, field) in [
        (
            Limits::COMMON.with_max_records_per_request(usize::MAX),
            "max_records_per_request",
        ),
        (
            Limits::COMMON.with_max_records_per_request(0),
            "max_records_per_request",
        ),
        (
            Limits::COMMON.with_max_request_bytes(usize::MAX),
            "max_request_bytes",
        ),
        (Limits::COMMON.with_max_record_bytes(0), "max_record_bytes"),
    ] {
        let err = limits_err(limits);
        assert!(
            matches!(&err, Error::Config(m) if m.setting.contains(field) && m.problem.contains("must be in")),
            "{err:?}"
        );
    }
    let c = DisClient::builder("http://127.0.0.1:9", PROJECT)
        .build()
        .unwrap();
    for config in [
        ProducerConfig::default().with_max_in_flight(usize::MAX),
        ProducerConfig::default()
            .with_max_in_flight(1 << 40)
            .with_order_by_key(true),
        ProducerConfig::default().with_max_in_flight(0),
    ] {
        let err = Producer::new(c.clone(), "s", config).unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.setting.contains("max_in_flight") && m.problem.contains("1..=1024")),
            "{err:?}"
        );
    }
}

/// Credentials that cannot go into a header as they are, refused when the client is
/// built (and, from the environment, naming the variable: unit tests in src/credentials/env.rs).
#[test]
fn credentials_are_checked_at_construction() {
    for (creds, field) in [
        (Credentials::token(""), "token"),
        (Credentials::token("tok\n"), "token"),
        (Credentials::aksk("", ""), "ak"),
        (Credentials::aksk("AK, Signature=00", "sk"), "ak"),
        (Credentials::aksk("AKÉ", "sk"), "ak"),
        (Credentials::aksk("AK", "SK\n"), "sk"),
        (Credentials::temporary("AK", "SK", ""), "security_token"),
    ] {
        let err = DisClient::builder("http://127.0.0.1:9", PROJECT)
            .credentials(creds)
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.to_string().starts_with(&format!("credentials: {field}:"))),
            "{field}: {err:?}"
        );
        assert!(!err.to_string().contains("SK\n"));
    }
}

/// One record over the record limit is reported as that record, not as the request.
#[tokio::test]
async fn a_record_too_large_is_named_before_the_total() {
    let c = DisClient::builder("http://127.0.0.1:9", PROJECT)
        .build()
        .unwrap();
    let err = c
        .send("s", &[Record::new(vec![0u8; 1024 * 1024 + 1])])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("records[0].data: 1048577 bytes"),
        "{err}"
    );
}

/// A body that stops arriving is a transport timeout (possibly delivered), cause kept.
#[tokio::test]
async fn a_stalled_body_is_a_transport_timeout() {
    let endpoint = hostile(|_req, mut sock| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"failed";
        let _ = sock.write_all(head.as_bytes()).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    })
    .await;
    let err = client(&endpoint, Duration::from_millis(500))
        .send("s", &[Record::new("x")])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                timeout: true,
                connect: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.maybe_duplicated());
    assert!(std::error::Error::source(&err).is_some(), "cause kept");
}

/// `failed_record_count` is checked against the entries: the entries decide, and a count
/// beyond i32 does not make a complete answer unreadable.
#[tokio::test]
async fn the_entries_decide_over_failed_record_count() {
    const ENTRIES: &str = r#"[{"partition_id":"shardId-0000000000","sequence_number":"1"},{"error_code":"DIS.4303","error_message":"Exceeded traffic control limit."}]"#;
    for count in ["-5", "0", "7", "3000000000"] {
        let body: &'static str = Box::leak(
            format!(r#"{{"failed_record_count":{count},"records":{ENTRIES}}}"#).into_boxed_str(),
        );
        let endpoint = answering(200, body).await;
        let outcome = client(&endpoint, Duration::from_secs(5))
            .send("s", &[Record::new("a"), Record::new("b")])
            .await
            .unwrap_or_else(|e| panic!("count {count}: {e:?}"));
        assert_eq!(outcome.failed_record_count, 1, "count {count}");
        assert_eq!(outcome.results.len(), 2);
    }
}

/// A 101 to a POST is a protocol error, not a DIS refusal.
#[tokio::test]
async fn a_101_is_a_protocol_error() {
    let endpoint = hostile(|_req, mut sock| async move {
        let _ = sock
            .write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: x\r\n\r\n",
            )
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let err = client(&endpoint, Duration::from_secs(5))
        .send("s", &[Record::new("x")])
        .await
        .unwrap_err();
    assert!(!matches!(err, Error::Dis { .. }), "{err:?}");
    assert!(err.maybe_duplicated(), "{err:?}");
}

/// `close` finishes on its own: a callback that ignores the outcomes cannot stall it, and
/// past its deadline every record not yet acknowledged comes back.
#[tokio::test]
async fn close_returns_every_outcome_within_its_deadline() {
    // A server that reads the request and never answers.
    let endpoint = hostile(|_req, sock| async move {
        let _open = sock;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let producer = Producer::new(
        client(&endpoint, Duration::from_secs(60)),
        "s",
        ProducerConfig::default(),
    )
    .unwrap();
    let outcomes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = outcomes.clone();
    let handle = producer.spawn(move |d| sink.lock().unwrap().push(d));
    for i in 0..1200 {
        handle.send(Record::new(format!("{i}"))).await.unwrap();
    }
    let started = Instant::now();
    let summary = handle.close(Duration::from_millis(500)).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "close took {took:?}");
    assert_eq!(summary.sent, 1200);
    assert_eq!(summary.failed, 1200);
    let outcomes = outcomes.lock().unwrap();
    assert_eq!(outcomes.len(), 1200);
    let unanswered = outcomes
        .iter()
        .filter(|d| {
            matches!(
                d.result,
                Err(Failure::Expired {
                    unanswered: true,
                    ..
                })
            )
        })
        .count();
    // Those in a request that was sent and never answered may be stored; the rest were never
    // sent.
    assert!(unanswered > 0, "some were in flight");
    for d in outcomes.iter() {
        assert!(
            matches!(d.result, Err(Failure::Expired { .. })),
            "{:?}",
            d.result
        );
        assert_eq!(
            d.maybe_duplicated(),
            matches!(
                d.result,
                Err(Failure::Expired {
                    unanswered: true,
                    ..
                })
            )
        );
    }
}
