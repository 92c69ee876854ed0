//! `--metrics-listen` and dis-local's `/metrics`: both scraped during one run, their numbers
//! checked against the run's --json summary.

use crate::support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use std::io::Read as _;
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};

use support::{Local, get_text, metric, spawn};

/// `promtool check metrics` finds nothing to say of `text` (Debian's `prometheus` package; CI
/// installs it, elsewhere the check is skipped when it is missing).
fn promtool_clean(what: &str, text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("promtool not run ({e}): install Debian's prometheus package");
            return;
        }
        Err(e) => panic!("promtool: {e} (CI installs Debian's prometheus package)"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool on {what}'s metrics: {said}\n{text}"
    );
}

/// A free port on loopback.
fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// GET `path` of `addr`: the status code and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("http://{addr}{path}"))
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

#[test]
fn both_scrapes_agree_with_the_summary() {
    let local = Local::start();
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut child = spawn(local.send(&[
        "--json",
        "--metrics-listen",
        &addr.to_string(),
        "--format",
        "jsonl",
    ]));
    let mut stdin = child.stdin.take().unwrap();
    // 999 good lines, 2 bad ones, and one record the endpoint refuses (a partition that does
    // not exist), alone in its request (the linger passes before the next line).
    for i in 0..500 {
        writeln!(stdin, "{{\"data\":\"record {i}\"}}").unwrap();
    }
    stdin.flush().unwrap();
    assert!(local.wait_for(500, Duration::from_secs(10)));
    writeln!(
        stdin,
        "{{\"data\":\"x\",\"partition_id\":\"shardId-0000000099\"}}"
    )
    .unwrap();
    writeln!(stdin, "not json").unwrap();
    writeln!(stdin, "{{\"nodata\":1}}").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    for i in 500..999 {
        writeln!(stdin, "{{\"data\":\"record {i}\"}}").unwrap();
    }
    stdin.flush().unwrap();
    // Stdin stays open: wait until the command has every outcome, then scrape it.
    let url = format!("http://{addr}/metrics");
    let until = Instant::now() + Duration::from_secs(30);
    let mut scraped = String::new();
    while Instant::now() < until {
        scraped = get_text(&url);
        let done = metric(&scraped, "dis_records_records_acknowledged_total", &[])
            + metric(&scraped, "dis_records_records_failed_total", &[]);
        if done >= 1000.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let local_text = get_text(&format!("{}/metrics", local.dis.endpoint()));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let n = |k: &str| summary[k].as_f64().unwrap();
    assert_eq!(
        (n("sent"), n("acknowledged"), n("failed"), n("bad_lines")),
        (1000.0, 999.0, 1.0, 2.0)
    );

    let s = ["stream=\"newstream\""];
    assert_eq!(
        metric(&scraped, "dis_records_records_sent_total", &s),
        n("sent"),
        "{scraped}"
    );
    assert_eq!(
        metric(&scraped, "dis_records_records_acknowledged_total", &s),
        n("acknowledged")
    );
    assert_eq!(
        metric(&scraped, "dis_records_records_failed_total", &s),
        n("failed")
    );
    let requests = metric(&scraped, "dis_records_requests_total", &s);
    assert_eq!(requests, n("requests"), "{scraped}");
    assert_eq!(
        metric(&scraped, "dis_records_request_duration_seconds_count", &s),
        requests,
        "{scraped}"
    );
    assert_eq!(
        metric(&scraped, "dis_records_possible_duplicates_total", &s),
        0.0
    );
    assert!(
        scraped.contains("dis_records_in_flight_records"),
        "{scraped}"
    );
    assert!(
        scraped.contains("dis_records_oldest_buffered_record_age_seconds"),
        "{scraped}"
    );
    // The refused record's code; the crate's own codes are there from the start, at 0.
    let failed_codes: Vec<&str> = scraped
        .lines()
        .filter(|l| l.starts_with("dis_records_records_failed_total{") && !l.ends_with(" 0"))
        .collect();
    assert_eq!(failed_codes.len(), 1, "{scraped}");
    assert!(failed_codes[0].contains("code=\"DIS."), "{scraped}");
    assert!(
        scraped
            .contains("dis_records_records_failed_total{stream=\"newstream\",code=\"expired\"} 0"),
        "{scraped}"
    );
    // Both scrapes are clean Prometheus text: a help text and a type for every metric.
    promtool_clean("dis-records", &scraped);
    promtool_clean("dis-local", &local_text);

    // dis-local's view: what it stored and the requests it received.
    assert_eq!(
        metric(&local_text, "dis_local_records_stored_total", &[]),
        n("acknowledged"),
        "{local_text}"
    );
    assert_eq!(
        metric(&local_text, "dis_local_requests_total", &[]),
        n("requests"),
        "{local_text}"
    );
    assert_eq!(local.dis.stats().records_stored as f64, n("acknowledged"));
}

#[test]
fn partitions_by_their_ids_health_and_every_counter_from_the_start() {
    let addr = free_addr();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("metrics-partitions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("app.log");
    let child = spawn({
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dis-records"));
        cmd.args(["send", "--local", "--no-progress", "--partitions", "2"])
            .args([
                "--partition-key",
                "k",
                "--fail-records",
                "0.5",
                "--seed",
                "3",
            ])
            .args(["--follow", log.to_str().unwrap()])
            .args(["--metrics-listen", &addr.to_string()]);
        cmd
    });
    let until = Instant::now() + Duration::from_secs(20);
    // Up before any record: health, and every counter at 0 once the producer is built.
    let text = loop {
        if let Ok(mut s) = TcpStream::connect(addr) {
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            if text.contains("dis_records_records_sent_total") {
                break text;
            }
        }
        assert!(Instant::now() < until, "no metrics listener");
        std::thread::sleep(Duration::from_millis(20));
    };
    for name in [
        "dis_records_records_sent_total",
        "dis_records_records_acknowledged_total",
        "dis_records_records_failed_total",
        "dis_records_records_throttled_total",
        "dis_records_possible_duplicates_total",
        "dis_records_requests_total",
        "dis_records_credential_refreshes_total",
    ] {
        assert!(
            text.contains(&format!("\n{name}")),
            "{name} missing: {text}"
        );
        assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
    }
    for p in ["shardId-0000000000", "shardId-0000000001", "unknown"] {
        assert!(
            text.contains(&format!("partition=\"{p}\"}} 0")),
            "{p}: {text}"
        );
    }
    assert_eq!(get(addr, "/health"), (200, "ok\n".into()));
    assert_eq!(get(addr, "/nothing").0, 404);
    // Throttled records, counted under the partition DIS routes their key to.
    let mut f = std::fs::File::create(&log).unwrap();
    for i in 0..200 {
        writeln!(f, "line {i}").unwrap();
    }
    drop(f);
    let until = Instant::now() + Duration::from_secs(20);
    let scraped = loop {
        let (_, text) = get(addr, "/metrics");
        if metric(&text, "dis_records_records_acknowledged_total", &[]) >= 200.0 {
            break text;
        }
        assert!(Instant::now() < until, "{text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let throttled: Vec<&str> = scraped
        .lines()
        .filter(|l| l.starts_with("dis_records_records_throttled_total{") && !l.ends_with(" 0"))
        .collect();
    assert!(!throttled.is_empty(), "{scraped}");
    for l in &throttled {
        assert!(l.contains("partition=\"shardId-000000000"), "{l}");
    }
    assert!(!scraped.contains("partition=\"2\""), "{scraped}");
    promtool_clean("dis-records", &scraped);
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dis_local_answers_health() {
    let local = Local::start();
    let (status, body) = {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let r = reqwest::blocking::get(format!("{}/health", local.dis.endpoint())).unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert_eq!(local.dis.stats().requests, 0, "not counted as a request");
}

#[test]
fn no_client_of_the_metrics_port_can_harm_the_shipper() {
    let local = Local::start();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("metrics-port-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("app.log");
    let checkpoint = dir.join("app.ckpt");
    std::fs::write(&log, "before 0\n").unwrap();
    let addr = free_addr();
    let mut cmd = local.send(&[
        "--follow",
        log.to_str().unwrap(),
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--metrics-listen",
        &addr.to_string(),
    ]);
    // The shipper may hold 1,024 descriptors, fewer than the connections below.
    unsafe {
        use std::os::unix::process::CommandExt as _;
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 1024,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = spawn(cmd);
    assert!(local.wait_for(1, Duration::from_secs(20)), "the first line");
    // 100 slowloris clients: a head begun and never ended.
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        slow.push(s);
    }
    // 1,100 idle connections: more than the shipper's descriptor limit.
    let mut idle = Vec::new();
    for _ in 0..1100 {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connect {}: {e}", idle.len()),
        }
    }
    // The shipper goes on: lines are read, sent, acknowledged and checkpointed meanwhile.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    for i in 0..50 {
        writeln!(f, "during {i}").unwrap();
    }
    drop(f);
    assert!(
        local.wait_for(51, Duration::from_secs(20)),
        "lines during the flood"
    );
    let saved_all = Instant::now() + Duration::from_secs(10);
    let size = std::fs::metadata(&log).unwrap().len();
    loop {
        let text = std::fs::read_to_string(&checkpoint).unwrap_or_default();
        if text.contains(&format!("\"offset\":{size}")) {
            break;
        }
        assert!(Instant::now() < saved_all, "checkpoint not saved: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A scrape still answers, and a slowloris client is cut off within the head timeout.
    let (status, text) = get(addr, "/metrics");
    assert_eq!(status, 200);
    assert!(text.contains("dis_records_follow_bytes_behind"), "{text}");
    assert!(
        text.contains("dis_records_checkpoint_age_seconds"),
        "{text}"
    );
    promtool_clean("dis-records (shipper)", &text);
    let cut = Instant::now();
    let mut s = slow.pop().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    assert!(
        cut.elapsed() < Duration::from_secs(7),
        "{:?}",
        cut.elapsed()
    );
    drop((slow, idle));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(local.stored().len(), 51);
    std::fs::remove_dir_all(&dir).unwrap();
}
