//! `dis-records send --follow FILE --checkpoint PATH` under `kill -9`: 100,000 lines written
//! while the shipper is killed and restarted 5 times at random moments; every line is in the
//! stream (dis-local's paged read-back), and the copies are no more than the lines each
//! restart flagged as possible duplicates.

use crate::support;

use std::collections::HashMap;
use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use support::{Local, get_text, metric, read_back};

const LINES: usize = 100_000;

fn line(i: usize) -> String {
    format!("line {i:06} of the followed log, padded to forty\n")
}

/// The "possible duplicates: N lines" a run printed on stderr (0 when none).
fn flagged(stderr: &[u8]) -> u64 {
    String::from_utf8_lossy(stderr)
        .lines()
        .find_map(|l| {
            l.strip_prefix("possible duplicates: ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

#[test]
fn every_line_arrives_through_five_kill_9s_and_every_copy_is_flagged() {
    let local = Local::start();
    let dir = std::env::temp_dir().join(format!("dis-follow-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("app.log");
    let checkpoint = dir.join("app.checkpoint");
    std::fs::File::create(&log).unwrap();
    let seed: u64 = rand::rng().random();
    eprintln!("seed {seed}");
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);

    let path = log.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        for chunk in 0..LINES / 100 {
            let text: String = (chunk * 100..(chunk + 1) * 100).map(line).collect();
            f.write_all(text.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(3));
        }
    });
    let shipper = |extra: &[&str]| {
        let mut cmd = local.send(&["--follow", log.to_str().unwrap()]);
        cmd.args(["--checkpoint", checkpoint.to_str().unwrap(), "--json"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };

    let mut flags = Vec::new();
    for kill in 1..=5 {
        let mut child = shipper(&[]);
        let after = Duration::from_millis(rng.random_range(150..700));
        std::thread::sleep(after);
        child.kill().unwrap(); // SIGKILL
        let out = child.wait_with_output().unwrap();
        let stored = local.dis.stats().records_stored;
        flags.push(flagged(&out.stderr));
        eprintln!(
            "kill -9 #{kill} after {after:?}: {stored} records stored so far; this run flagged {}",
            flags.last().unwrap()
        );
    }
    writer.join().unwrap();

    // The last run: to the end of the file, then SIGTERM; its metrics are scraped first.
    let metrics_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut last = shipper(&["--metrics-listen", &metrics_addr.to_string()]);
    let until = Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    while Instant::now() < until {
        let stored = read_back(&local.dis.endpoint(), "newstream");
        let distinct: std::collections::HashSet<_> = stored.iter().collect();
        seen = distinct.len();
        if seen >= LINES {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(seen, LINES, "not every line arrived");
    let scraped = get_text(&format!("http://{metrics_addr}/metrics"));
    unsafe { libc::kill(last.id() as i32, libc::SIGTERM) };
    let status = last.wait().unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(last.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let mut stderr = Vec::new();
    std::io::Read::read_to_end(last.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&stderr)
    );
    flags.push(flagged(&stderr));
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    // Every line, and the copies.
    let stored = read_back(&local.dis.endpoint(), "newstream");
    let mut copies: HashMap<Vec<u8>, u64> = HashMap::new();
    for data in stored {
        *copies.entry(data).or_default() += 1;
    }
    for i in 0..LINES {
        let l = line(i);
        let l = l.trim_end().as_bytes();
        assert!(copies.contains_key(l), "line {i} is missing");
    }
    assert_eq!(copies.len(), LINES, "records that are no line of the file");
    let duplicates: u64 = copies.values().map(|n| n - 1).sum();
    let flagged_total: u64 = flags.iter().sum();
    eprintln!(
        "{LINES} lines, {duplicates} stored twice; flagged as possible duplicates per restart: {:?} (total {flagged_total})",
        &flags[1..]
    );
    assert_eq!(flags[0], 0, "the first run has no checkpoint");
    assert!(
        duplicates <= flagged_total,
        "{duplicates} copies but {flagged_total} flagged"
    );
    // The in-flight window: the shipper's buffer (4 x 500 records), the open batch (500) and
    // the requests in flight (4 x 500), plus the checkpoint's reservation ahead (at most 1 MiB
    // of 48-byte lines) and the line the reader is handing in.
    let window = 4 * 500 + 500 + 4 * 500 + 1024 * 1024 / 48 + 1;
    for (run, n) in flags.iter().enumerate() {
        assert!(
            *n <= window,
            "run {run} flagged {n}, more than the window {window}"
        );
    }
    // The last run counted its flagged lines in its summary and its metrics.
    let last_flagged = *flags.last().unwrap();
    assert_eq!(summary["possible_duplicates"].as_u64(), Some(last_flagged));
    assert_eq!(
        metric(
            &scraped,
            "dis_records_possible_duplicates_total",
            &["stream=\"newstream\""]
        ),
        last_flagged as f64,
        "{scraped}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
