//! `--metrics-listen` and dis-local's `/metrics`: both scraped during one run, their numbers
//! checked against the run's --json summary.

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use support::{Local, get_text, metric, spawn};

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
    // The refused record's code.
    let failed_codes: Vec<&str> = scraped
        .lines()
        .filter(|l| l.starts_with("dis_records_records_failed_total{"))
        .collect();
    assert_eq!(failed_codes.len(), 1, "{scraped}");
    assert!(failed_codes[0].contains("code=\"DIS."), "{scraped}");

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
