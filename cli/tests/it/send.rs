//! `dis-records send` end to end: streamed stdin, JSON lines, bad and over-long lines, exit
//! codes, the --json summary.

use crate::support;

use std::io::Write as _;

use base64::Engine as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{Local, spawn};

#[test]
fn a_line_goes_out_while_stdin_stays_open() {
    let local = Local::start();
    let mut child = spawn(local.send(&["--linger-ms", "20", "--json"]));
    let mut stdin = child.stdin.take().unwrap();
    for i in 1..=3 {
        let written = Instant::now();
        writeln!(stdin, "line {i}").unwrap();
        stdin.flush().unwrap();
        // The pipe stays open: the line must go out on its own (linger 20 ms; the bound here
        // only tells "sent" from "waiting for the end of input").
        assert!(
            local.wait_for(i, Duration::from_secs(5)),
            "line {i} not stored while stdin is open"
        );
        eprintln!(
            "line {i} stored {:?} after it was written",
            written.elapsed()
        );
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["sent"], 3);
    assert_eq!(summary["acknowledged"], 3);
    let mut stored = local.stored();
    stored.sort();
    assert_eq!(
        stored,
        [b"line 1".to_vec(), b"line 2".to_vec(), b"line 3".to_vec()]
    );
}

#[test]
fn jsonl_every_field_and_bad_lines_by_number() {
    let local = Local::start();
    let dir = std::env::temp_dir().join(format!("dis-cli-jsonl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("in.jsonl");
    // 1 MiB + 1 byte of data: a line within the line limit, a record over DIS's.
    let big = format!(
        "{{\"data_base64\":\"{}\"}}\n",
        base64::engine::general_purpose::STANDARD.encode(vec![7u8; 1024 * 1024 + 1])
    );
    std::fs::write(
        &file,
        String::from(concat!(
            "{\"data\":\"text\",\"partition_key\":\"k1\"}\n",
            "{\"data_base64\":\"AAEC\",\"partition_id\":\"shardId-0000000002\"}\n",
            "{\"data\":\"h\",\"explicit_hash_key\":\"12\"}\n",
            "not json\n",
            "{\"data\":\"a\",\"colour\":\"red\"}\n",
            "{\"partition_key\":\"no data\"}\n",
        )) + &big,
    )
    .unwrap();
    let out = local
        .send(&["--format", "jsonl", "--json"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for (n, says) in [
        (4, "expected"),
        (5, "unknown field `colour`"),
        (6, "no data"),
        (7, "data"),
    ] {
        assert!(
            stderr.lines().any(|l| l.contains(&format!("line {n}: "))
                && l.contains(says)
                && l.ends_with("not sent")),
            "line {n} ({says}) not reported: {stderr}"
        );
    }
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(
        (
            summary["acknowledged"].as_u64(),
            summary["bad_lines"].as_u64()
        ),
        (Some(3), Some(4))
    );
    let records = local.dis.records("newstream").unwrap();
    assert_eq!(records.len(), 3);
    let by_data = |d: &[u8]| records.iter().find(|r| &r.data[..] == d).unwrap();
    assert_eq!(by_data(b"text").partition_key.as_deref(), Some("k1"));
    assert_eq!(by_data(&[0, 1, 2]).partition_id, "shardId-0000000002");
    assert_eq!(by_data(b"h").explicit_hash_key.as_deref(), Some("12"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_over_long_line_is_skipped_with_its_offset_and_the_rest_goes() {
    let local = Local::start();
    let mut input = b"first\n".to_vec();
    input.extend(vec![b'x'; 1024 * 1024 + 1]);
    input.extend(b"\nlast\n");
    let mut child = spawn(local.send(&[]));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&input).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("line 2 at offset 6: 1048577 bytes, over the 1048576-byte limit"),
        "{stderr}"
    );
    let mut stored = local.stored();
    stored.sort();
    assert_eq!(stored, [b"first".to_vec(), b"last".to_vec()]);
}

#[test]
fn exit_codes() {
    let local = Local::start();
    let usage = |args: &[&str]| {
        let out = local.send(args).stdin(Stdio::null()).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = usage(&["/no/such/file"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("/no/such/file"), "{err}");
    let (code, err) = usage(&["--generate", "3", "--size", "5"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--size 5"), "{err}");
    // Past DIS's record limit: a usage error before anything is allocated or sent.
    for size in ["1000000000000", "2000000", "1048577"] {
        let (code, err) = usage(&["--generate", "1", "--size", size]);
        assert_eq!(code, Some(2), "--size {size}: {err}");
        assert!(err.contains(&format!("--size {size}")), "{err}");
        assert!(err.contains("1048576 bytes"), "{err}");
    }
    let (code, err) = usage(&["--generate", "1", "--size", "1048576", "--json"]);
    assert_eq!(code, Some(0), "exactly the limit: {err}");
    let (code, err) = usage(&["--linger-ms", "999999"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("linger"), "{err}");
    let (code, err) = usage(&["--checkpoint", "x"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = usage(&["--generate", "10", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    // Every request refused: the records fail, exit 1.
    let out = local
        .send(&[
            "--stream",
            "nosuchstream",
            "--deadline-s",
            "2",
            "--generate",
            "3",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
