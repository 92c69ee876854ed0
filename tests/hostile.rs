//! A hostile server and careless callers: each test stands for one finding of the adversarial
//! review (F1..F12). The server is hand-rolled (tokio, 127.0.0.1:0) and misbehaves on purpose.
//!
//! Memory findings (F1-F3) measure the client's peak RSS (`VmHWM`) in a process of their own:
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
const MIB: u64 = 1024 * 1024;

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

/// F1: an endless chunked 200 answer must not drive the client to any size.
#[test]
fn f1_endless_body_is_cut_at_a_cap() {
    if let Some(peak) = in_own_process("f1_endless_body_is_cut_at_a_cap") {
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

/// F2: one record sent, answered with 3,000,000 result entries.
#[test]
fn f2_too_many_result_entries_are_not_all_parsed() {
    if let Some(peak) = in_own_process("f2_too_many_result_entries_are_not_all_parsed") {
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

/// F3: a 400 with a 400 KB message on a batch of 500 records: the message is cut, and the one
/// error is shared by the records, not copied into each.
#[test]
fn f3_one_huge_error_is_cut_and_shared() {
    if let Some(peak) = in_own_process("f3_one_huge_error_is_cut_and_shared") {
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
        let mut out = Vec::new();
        let summary = producer
            .send_all((0..2000).map(|i| Record::new(format!("{i}"))), |d| out.push(d))
            .await;
        (summary, out)
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
