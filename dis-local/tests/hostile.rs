//! Hostile clients against the local DIS endpoint: small hand-rolled tokio TCP clients on
//! 127.0.0.1 that misbehave on purpose (dribbled headers, stalled bodies, idle keep-alive
//! connections, thousands of connections, bodies just under the cap, unparseable requests).
//!
//! Every loop here is bounded in count and in time and stops by itself. The tests run one at a
//! time (`SERIAL`): their timing assertions must not compete with the heavy ones for the CPU.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dis_local::{ConfigError, LocalConfig, LocalDis, StartError};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::Instant;

static SERIAL: Mutex<()> = Mutex::const_new(());

const SECOND: Duration = Duration::from_secs(1);

/// Time allowed past a configured timeout before the close must have happened.
const MARGIN: Duration = Duration::from_millis(900);

async fn start(config: LocalConfig) -> LocalDis {
    LocalDis::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("start")
}

/// A SendRecords body with one record of `data_len` bytes.
fn records_body(data_len: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "stream_name": "newstream",
        "records": [{"data": B64.encode(vec![b'x'; data_len]), "partition_key": "k"}],
    }))
    .unwrap()
}

/// The head of a SendRecords POST with this `Content-Length`.
fn post_head(content_length: usize) -> Vec<u8> {
    format!(
        "POST /v2/0123456789abcdef/records HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: t\r\n\
         Content-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n"
    )
    .into_bytes()
}

/// A whole SendRecords POST.
fn post(body: &[u8]) -> Vec<u8> {
    let mut request = post_head(body.len());
    request.extend_from_slice(body);
    request
}

/// One answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts a DIS error answer: JSON `{"errorCode": code, "message": ...}`, an
    /// `X-Request-Id`.
    fn assert_dis(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        assert!(self.header("x-request-id").is_some(), "{self:?}");
        let body = self.json();
        assert_eq!(body["errorCode"], code, "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
}

/// A raw HTTP/1.1 client connection.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::time::timeout(5 * SECOND, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Reads one answer (head, then a `Content-Length` body), waiting at most `limit`.
    async fn answer(&mut self, limit: Duration) -> Result<Answer, String> {
        let deadline = Instant::now() + limit;
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut parsed = httparse::Response::new(&mut headers);
            if let Ok(httparse::Status::Complete(head_len)) = parsed.parse(&self.buf) {
                let headers: Vec<(String, String)> = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let status = parsed.code.unwrap_or(0);
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                if self.buf.len() >= head_len + len {
                    let body = self.buf[head_len..head_len + len].to_vec();
                    self.buf.drain(..head_len + len);
                    return Ok(Answer {
                        status,
                        headers,
                        body,
                    });
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Err(format!("no answer within {limit:?}")),
                Ok(Ok(0)) => return Err("closed without an answer".into()),
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => return Err(format!("read failed: {e}")),
            }
        }
    }

    /// Waits for the server to close (EOF or reset; anything it sends is thrown away) for at
    /// most `limit`; the time of the close, or `None` when still open.
    async fn closed_within(&mut self, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return None,
                Ok(Ok(0)) | Ok(Err(_)) => return Some(Instant::now()),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Whether the server closed the connection (looked at for at most 200 ms).
    async fn is_closed(&mut self) -> bool {
        self.closed_within(Duration::from_millis(200))
            .await
            .is_some()
    }
}

/// Asserts that `elapsed` is at least `timeout` (a little less for timer granularity) and at
/// most `timeout + MARGIN`.
fn assert_about(what: &str, elapsed: Duration, timeout: Duration) {
    println!("{what}: closed after {elapsed:?} (timeout {timeout:?})");
    assert!(
        elapsed + Duration::from_millis(50) >= timeout,
        "{what}: closed after {elapsed:?}, before the {timeout:?} timeout"
    );
    assert!(
        elapsed <= timeout + MARGIN,
        "{what}: closed after {elapsed:?}, later than {timeout:?} + {MARGIN:?}"
    );
}

/// The soft limit of open files of this process, from `/proc/self/limits`.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[tokio::test]
async fn dribbled_headers_are_cut_off_at_the_header_timeout() {
    let _serial = SERIAL.lock().await;
    let header_timeout = 3 * SECOND;
    let dis = start(
        LocalConfig::default()
            .with_header_read_timeout(header_timeout)
            .with_idle_timeout(30 * SECOND),
    )
    .await;
    let head = post_head(10);

    // One byte every 2 s: each byte arrives before the timeout, the whole head never does.
    let dribbler = async {
        let mut client = Client::connect(dis.addr()).await;
        let t0 = Instant::now();
        for &byte in head.iter().take(6) {
            if client.send(&[byte]).await.is_err() {
                return Some(t0.elapsed());
            }
            if let Some(at) = client.closed_within(2 * SECOND).await {
                return Some(at - t0);
            }
        }
        None
    };
    // And a connection that never sends a byte.
    let silent = async {
        let mut client = Client::connect(dis.addr()).await;
        let t0 = Instant::now();
        client.closed_within(12 * SECOND).await.map(|at| at - t0)
    };
    let (dribbled, silent) = tokio::join!(dribbler, silent);
    let dribbled =
        dribbled.expect("a head dribbled one byte every 2 s: still connected after 12 s");
    assert_about("dribbled head", dribbled, header_timeout);
    let silent = silent.expect("a silent new connection: still connected after 12 s");
    assert_about("silent new connection", silent, header_timeout);
    let stats = dis.stats();
    assert_eq!(stats.header_timeouts, 2, "{stats:?}");
    assert_eq!(stats.requests, 0, "{stats:?}");
}

#[tokio::test]
async fn on_a_keep_alive_connection_header_time_counts_from_the_first_byte() {
    let _serial = SERIAL.lock().await;
    let header_timeout = 2 * SECOND;
    let dis = start(
        LocalConfig::default()
            .with_header_read_timeout(header_timeout)
            .with_idle_timeout(30 * SECOND),
    )
    .await;
    let mut client = Client::connect(dis.addr()).await;
    client.send(&post(&records_body(10))).await.unwrap();
    assert_eq!(client.answer(5 * SECOND).await.unwrap().status, 200);
    // Idle for longer than the header timeout: the idle timeout applies, not the header one.
    assert!(client.closed_within(3 * SECOND).await.is_none());
    // Then a head dribbled one byte every 500 ms: cut off 2 s after its first byte.
    let head = post_head(10);
    let t0 = Instant::now();
    let mut closed = None;
    for &byte in head.iter().take(10) {
        if client.send(&[byte]).await.is_err() {
            closed = Some(t0.elapsed());
            break;
        }
        if let Some(at) = client.closed_within(Duration::from_millis(500)).await {
            closed = Some(at - t0);
            break;
        }
    }
    let closed = closed.expect("a dribbled keep-alive head: still connected after 5 s");
    assert_about("dribbled keep-alive head", closed, header_timeout);
    assert_eq!(dis.stats().header_timeouts, 1);
}

#[tokio::test]
async fn stalled_bodies_are_answered_408_at_the_body_deadline() {
    let _serial = SERIAL.lock().await;
    let body_timeout = 2 * SECOND;
    let dis = start(
        LocalConfig::default()
            .with_body_read_timeout(body_timeout)
            .with_idle_timeout(30 * SECOND)
            .with_header_read_timeout(30 * SECOND),
    )
    .await;
    let body = records_body(1000);
    // A body that stops, and a body dribbled one byte every 500 ms.
    let stall = |dribble: bool| {
        let body = body.clone();
        let addr = dis.addr();
        async move {
            let mut client = Client::connect(addr).await;
            client.send(&post_head(body.len())).await.unwrap();
            client.send(&body[..100]).await.unwrap();
            let t0 = Instant::now();
            let answer = if dribble {
                let mut answer = Err("nothing sent".to_owned());
                for &byte in &body[100..120] {
                    if client.send(&[byte]).await.is_err() {
                        break;
                    }
                    answer = client.answer(Duration::from_millis(500)).await;
                    if answer.is_ok() {
                        break;
                    }
                }
                answer
            } else {
                client.answer(8 * SECOND).await
            };
            let elapsed = t0.elapsed();
            let answer = answer.unwrap_or_else(|e| {
                panic!("stalled body (dribbled: {dribble}): {e} after {elapsed:?}")
            });
            answer.assert_dis(408, "DIS.4200");
            assert_eq!(answer.header("connection"), Some("close"));
            assert!(
                client.closed_within(2 * SECOND).await.is_some(),
                "closed after the 408"
            );
            elapsed
        }
    };
    let (stopped, dribbled) = tokio::join!(stall(false), stall(true));
    assert_about("stopped body", stopped, body_timeout);
    assert_about("dribbled body", dribbled, body_timeout);
    let stats = dis.stats();
    assert_eq!(
        (stats.body_timeouts, stats.records_stored),
        (2, 0),
        "{stats:?}"
    );
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let _serial = SERIAL.lock().await;
    let idle_timeout = 2 * SECOND;
    let dis = start(
        LocalConfig::default()
            .with_idle_timeout(idle_timeout)
            .with_header_read_timeout(30 * SECOND),
    )
    .await;
    let mut client = Client::connect(dis.addr()).await;
    // Two requests on the connection: keep-alive works, and the idle time restarts after each.
    let mut t0 = Instant::now();
    for _ in 0..2 {
        client.send(&post(&records_body(10))).await.unwrap();
        let answer = client.answer(5 * SECOND).await.unwrap();
        t0 = Instant::now();
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.header("connection"), None);
        tokio::time::sleep(SECOND).await;
    }
    let closed = client
        .closed_within(8 * SECOND)
        .await
        .expect("an idle keep-alive connection: still connected 9 s after its last answer");
    assert_about("idle keep-alive connection", closed - t0, idle_timeout);
    let stats = dis.stats();
    assert_eq!(
        (stats.idle_timeouts, stats.records_stored),
        (1, 2),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_requests_are_served_under_2000_hostile_connections() {
    let _serial = SERIAL.lock().await;
    const HOSTILE: usize = 2000;
    // This process holds both ends: 2,000 client sockets and up to the cap on the server side.
    let limit = open_files_limit();
    println!("RLIMIT_NOFILE soft limit: {limit:?}");
    if let Some(limit) = limit {
        assert!(
            limit >= 4000,
            "this test needs 4,000 descriptors; the soft limit is {limit} (raise it with `ulimit -n`)"
        );
    }
    // The default cap (1024); long timeouts, so that no hostile connection times out here.
    let config = LocalConfig::default()
        .with_header_read_timeout(120 * SECOND)
        .with_idle_timeout(120 * SECOND);
    let cap = dis_local::DEFAULT_MAX_CONNECTIONS;
    let dis = start(config).await;
    let addr = dis.addr();

    // Half connect and send nothing, half stall in the middle of their headers.
    let t0 = Instant::now();
    let mut hostile = Vec::with_capacity(HOSTILE);
    for i in 0..HOSTILE {
        let mut client = Client::connect(addr).await;
        if i % 2 == 1 {
            client
                .send(b"POST /v2/p/records HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-To")
                .await
                .unwrap();
        }
        hostile.push(client);
    }
    // Let the server accept them all (each kept, or closed to make room), 5 s at most.
    let accepted = Instant::now() + 5 * SECOND;
    while Instant::now() < accepted {
        let s = dis.stats();
        if s.open_connections + s.evicted_connections >= HOSTILE as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("{HOSTILE} hostile connections opened in {:?}", t0.elapsed());

    // A normal SendRecords request on a new connection answers 200, quickly.
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut client = Client::connect(addr).await;
        client.send(&post(&records_body(100))).await.unwrap();
        let answer = client.answer(10 * SECOND).await.unwrap();
        latencies.push(t.elapsed());
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    println!(
        "normal request latency (connect + POST + answer) under {HOSTILE} hostile connections: {latencies:?}"
    );
    let worst = latencies.iter().max().unwrap();
    assert!(*worst < SECOND, "a normal request took {worst:?}");

    // How many hostile connections the server kept.
    let closed = futures_util::future::join_all(hostile.iter_mut().map(Client::is_closed)).await;
    let kept = closed.iter().filter(|&&c| !c).count();
    let stats = dis.stats();
    println!("kept {kept} of {HOSTILE} hostile connections (cap {cap}); {stats:?}");
    assert!(
        kept <= cap,
        "kept {kept} hostile connections, more than the cap of {cap}"
    );
    // The normal requests' connections took 5 of the places (evicting the oldest hostiles).
    assert!(kept >= cap - 5, "kept only {kept} of the cap {cap}");
    assert!(stats.open_connections <= cap as u64, "{stats:?}");
    assert_eq!(stats.refused_connections, 0, "{stats:?}");
    assert_eq!(stats.records_stored, 5, "{stats:?}");
}

#[tokio::test]
async fn connection_cap_closes_the_longest_idle_then_refuses() {
    let _serial = SERIAL.lock().await;
    let dis = start(
        LocalConfig::default()
            .with_max_connections(3)
            .with_header_read_timeout(30 * SECOND)
            .with_idle_timeout(30 * SECOND)
            .with_body_read_timeout(30 * SECOND),
    )
    .await;
    let addr = dis.addr();
    let body = records_body(100);

    // Three idle connections fill the cap; a fourth closes the oldest and is served.
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(Client::connect(addr).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut fourth = Client::connect(addr).await;
    fourth.send(&post(&body)).await.unwrap();
    assert_eq!(fourth.answer(5 * SECOND).await.unwrap().status, 200);
    assert!(
        idle[0].closed_within(2 * SECOND).await.is_some(),
        "the oldest idle connection is closed"
    );
    assert!(!idle[1].is_closed().await && !idle[2].is_closed().await);
    assert_eq!(dis.stats().evicted_connections, 1);
    drop(idle);
    drop(fourth);

    // Three connections with a request in progress (bodies that stall) fill the cap: a new
    // connection is answered 503 DIS.5250 and closed, before it even sends its request.
    let wait_open = |n: u64| {
        let dis = &dis;
        async move {
            let until = Instant::now() + 5 * SECOND;
            while dis.stats().open_connections != n {
                assert!(Instant::now() < until, "{:?}", dis.stats());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    wait_open(0).await;
    let mut busy = Vec::new();
    for _ in 0..3 {
        let mut client = Client::connect(addr).await;
        client.send(&post_head(body.len())).await.unwrap();
        client.send(&body[..10]).await.unwrap();
        busy.push(client);
    }
    wait_open(3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut refused = Client::connect(addr).await;
    let answer = refused.answer(5 * SECOND).await.unwrap();
    answer.assert_dis(503, "DIS.5250");
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(refused.closed_within(2 * SECOND).await.is_some());
    // A refused client that sends its request anyway still reads the 503.
    let mut late = Client::connect(addr).await;
    let _ = late.send(&post(&body)).await;
    late.answer(5 * SECOND)
        .await
        .unwrap()
        .assert_dis(503, "DIS.5250");
    let stats = dis.stats();
    assert_eq!(
        (stats.refused_connections, stats.open_connections),
        (2, 3),
        "{stats:?}"
    );

    // Once the stalled clients go away, new connections are served again.
    drop(busy);
    wait_open(0).await;
    let mut after = Client::connect(addr).await;
    after.send(&post(&body)).await.unwrap();
    assert_eq!(after.answer(5 * SECOND).await.unwrap().status, 200);
}

#[tokio::test]
async fn body_budget_answers_503_when_used_up() {
    let _serial = SERIAL.lock().await;
    const MIB: usize = 1024 * 1024;
    let dis = start(
        LocalConfig::default()
            .with_max_buffered_body_bytes(MIB)
            .with_body_read_timeout(10 * SECOND),
    )
    .await;
    let addr = dis.addr();
    let big = records_body(600 * 1024); // about 800 KiB of JSON
    let small = records_body(200 * 1024); // about 270 KiB: together over 1 MiB

    // The big body, all but its last 10 bytes: it holds 800 KiB of the 1 MiB budget.
    let mut holder = Client::connect(addr).await;
    holder.send(&post_head(big.len())).await.unwrap();
    holder.send(&big[..big.len() - 10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The small one cannot get its 270 KiB: 503 DIS.5250, and the connection stays usable.
    let mut other = Client::connect(addr).await;
    other.send(&post(&small)).await.unwrap();
    let answer = other.answer(5 * SECOND).await.unwrap();
    answer.assert_dis(503, "DIS.5250");
    assert_eq!(answer.header("connection"), None, "{answer:?}");

    // The big one completes and gives its share back; the small one then passes.
    holder.send(&big[big.len() - 10..]).await.unwrap();
    assert_eq!(holder.answer(5 * SECOND).await.unwrap().status, 200);
    other.send(&post(&small)).await.unwrap();
    assert_eq!(other.answer(5 * SECOND).await.unwrap().status, 200);
    // A body alone over the budget never passes.
    other.send(&post(&records_body(800 * 1024))).await.unwrap();
    other
        .answer(5 * SECOND)
        .await
        .unwrap()
        .assert_dis(503, "DIS.5250");
    let stats = dis.stats();
    assert_eq!(
        (stats.busy_requests, stats.records_stored),
        (2, 2),
        "{stats:?}"
    );
}

#[tokio::test]
async fn hyper_parse_errors_carry_a_dis_body() {
    let _serial = SERIAL.lock().await;
    let dis = start(LocalConfig::default()).await;
    let addr = dis.addr();
    let cases: [(&str, Vec<u8>, u16); 4] = [
        ("garbage request line", b"GARBAGE\r\n\r\n".to_vec(), 400),
        (
            "bad Content-Length",
            b"POST /v2/p/records HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec(),
            400,
        ),
        (
            "two Content-Lengths",
            b"POST /v2/p/records HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
                .to_vec(),
            400,
        ),
        (
            "a 100 KiB header (the limit is 32 KiB)",
            format!(
                "POST /v2/p/records HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(100 * 1024)
            )
            .into_bytes(),
            431,
        ),
    ];
    for (what, request, status) in cases {
        let mut client = Client::connect(addr).await;
        let _ = client.send(&request).await;
        let answer = client
            .answer(5 * SECOND)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        println!("{what}: {} {}", answer.status, answer.json());
        answer.assert_dis(status, "DIS.4200");
        assert!(client.closed_within(2 * SECOND).await.is_some(), "{what}");
    }
    // Pipelined: a good request and garbage in one write get a 200, then a DIS 400.
    let mut client = Client::connect(addr).await;
    let mut both = post(&records_body(10));
    both.extend_from_slice(b"\x01\x02 nonsense\r\n\r\n");
    client.send(&both).await.unwrap();
    assert_eq!(client.answer(5 * SECOND).await.unwrap().status, 200);
    client
        .answer(5 * SECOND)
        .await
        .unwrap()
        .assert_dis(400, "DIS.4200");
    let stats = dis.stats();
    assert_eq!(
        (stats.malformed_requests, stats.records_stored),
        (5, 1),
        "{stats:?}"
    );
}

/// Kills the child process when dropped (a failed assertion included).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_with_150_stalled_bodies() {
    let _serial = SERIAL.lock().await;
    const STALLED: usize = 150;
    const BOUND_KIB: u64 = 128 * 1024;
    // The binary with its defaults (the body cap of 1 MiB requests, about 3.2 MiB).
    let mut child = Command::new(env!("CARGO_BIN_EXE_dis-local"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dis-local");
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let pid = child.0.id();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).map(|_| line)
    });
    let line = tokio::time::timeout(10 * SECOND, line)
        .await
        .expect("dis-local prints its address within 10 s")
        .unwrap()
        .unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .parse()
        .unwrap();
    let (hwm0, rss0) = support::rss_kib(pid);
    println!("dis-local at start: VmHWM {hwm0} KiB, VmRSS {rss0} KiB");

    let cap = LocalConfig::default().body_cap();
    let filler = vec![b'A'; cap - 10];
    let t0 = Instant::now();
    let senders = (0..STALLED).map(|_| {
        let filler = &filler;
        async move {
            let mut client = Client::connect(addr).await;
            client.send(&post_head(cap)).await.unwrap();
            // Everything but the last 10 bytes, then nothing.
            let sent = tokio::time::timeout(60 * SECOND, client.send(filler)).await;
            assert!(
                matches!(sent, Ok(Ok(()))),
                "body sent within 60 s: {sent:?}"
            );
            client
        }
    });
    let mut stalled = futures_util::future::join_all(senders).await;
    println!(
        "{STALLED} bodies of {} bytes (10 short of the cap) sent in {:?}",
        cap - 10,
        t0.elapsed()
    );
    tokio::time::sleep(2 * SECOND).await;
    let (hwm, rss) = support::rss_kib(pid);
    println!(
        "dis-local with {STALLED} stalled bodies: VmHWM {hwm} KiB ({} MiB), VmRSS {rss} KiB ({} MiB)",
        hwm / 1024,
        rss / 1024
    );

    // Still serving.
    let mut client = Client::connect(addr).await;
    client.send(&post(&records_body(100))).await.unwrap();
    let answer = client.answer(10 * SECOND).await.unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        hwm < BOUND_KIB,
        "peak RSS {hwm} KiB with {STALLED} stalled bodies, over {BOUND_KIB} KiB"
    );
    // The stalled connections are all still open (their deadline is 30 s away).
    let closed = futures_util::future::join_all(stalled.iter_mut().map(Client::is_closed)).await;
    println!(
        "{} of {STALLED} stalled connections still open",
        closed.iter().filter(|&&c| !c).count()
    );
    drop(child);
}

#[tokio::test]
async fn zero_limits_are_refused() {
    let configs = [
        LocalConfig::default().with_header_read_timeout(Duration::ZERO),
        LocalConfig::default().with_body_read_timeout(Duration::ZERO),
        LocalConfig::default().with_idle_timeout(Duration::ZERO),
        LocalConfig::default().with_max_connections(0),
        LocalConfig::default().with_max_header_bytes(0),
        LocalConfig::default().with_max_buffered_body_bytes(0),
    ];
    for config in configs {
        let err = LocalDis::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect_err("a zero limit");
        assert!(
            matches!(err, StartError::Config(ConfigError::ZeroLimit { .. })),
            "{err:?}"
        );
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().ends_with("must not be zero"), "{err}");
    }
}

#[tokio::test]
async fn an_address_in_use_is_a_bind_error() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let err = LocalDis::start(LocalConfig::default(), addr)
        .await
        .expect_err("the address is taken");
    match &err {
        StartError::Bind { addr: at, source } => {
            assert_eq!(*at, addr);
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("cannot listen on {addr}: ")),
        "{err}"
    );
}

/// A bare hyper connection (no dis-local), for the tests that show what hyper does by itself.
/// Answers every request 200 `ok`.
async fn bare_hyper(configure: impl FnOnce(&mut http1::Builder)) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut builder = http1::Builder::new();
    configure(&mut builder);
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service = service_fn(|_req| async {
            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                bytes::Bytes::from_static(b"ok"),
            )))
        });
        let _ = builder
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
    addr
}

/// Why `src/conn/` has a watchdog of its own instead of hyper's `header_read_timeout`: hyper
/// (1.x) starts that timer whenever it waits for a request head, so it also runs while a
/// keep-alive connection is idle, and an idle connection is closed after the header timeout
/// (compare `on_a_keep_alive_connection_header_time_counts_from_the_first_byte`, where
/// dis-local keeps it open for its idle timeout and counts the header time from the first
/// byte). hyper has no idle timeout of its own to set apart.
#[tokio::test]
async fn hyper_header_read_timeout_counts_idle_time() {
    let _serial = SERIAL.lock().await;
    let header_timeout = 2 * SECOND;
    let addr = bare_hyper(|b| {
        b.timer(TokioTimer::new())
            .header_read_timeout(header_timeout);
    })
    .await;
    let mut client = Client::connect(addr).await;
    client
        .send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(client.answer(5 * SECOND).await.unwrap().status, 200);
    let t0 = Instant::now();
    // Not one byte of a next request: the connection is idle, not reading a head.
    let closed = client
        .closed_within(header_timeout + 2 * SECOND)
        .await
        .expect("hyper closes an idle keep-alive connection at its header timeout");
    assert_about(
        "hyper's header timeout on an idle keep-alive connection",
        closed - t0,
        header_timeout,
    );
}

/// Why `src/conn/guarded.rs` frames the answers on their way out: on a request it cannot
/// parse, hyper answers by itself, before any service (or tower layer) sees a request, with
/// an empty body and no `Content-Type`; no builder option changes that answer. dis-local's
/// answer to the same request is a DIS body (`hyper_parse_errors_carry_a_dis_body`).
#[tokio::test]
async fn hyper_answers_parse_errors_without_a_body() {
    let _serial = SERIAL.lock().await;
    let addr = bare_hyper(|_| {}).await;
    let mut client = Client::connect(addr).await;
    client.send(b"GARBAGE\r\n\r\n").await.unwrap();
    let answer = client.answer(5 * SECOND).await.unwrap();
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(answer.header("content-type"), None, "{answer:?}");
    assert!(answer.body.is_empty(), "{answer:?}");
}
