//! What the command tells: the cause of every failure, credentials that cannot be had (exit 2
//! at once, each provider named), JSON-only stdout with `--json`, graceful signals in file and
//! stdin mode (the summary equal to what the stream holds), the config file, logs, the flags of
//! the embedded endpoint refused with a real one, completions and the man page.

use crate::support;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dis_local::{Faults, LocalConfig, LocalDis, StreamConfig};
use support::{Local, output_with_input, read_back, spawn};

fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("command-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `dis-records` with `args`, in an environment without any credential or DIS variable, and a
/// home folder without a profile file.
fn bare(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dis-records"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home);
    cmd
}

/// A local endpoint whose answers take `delay_ms`.
fn slow_local(delay_ms: u64) -> (LocalDis, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = LocalConfig::default()
        .with_streams([StreamConfig::new("newstream", 4)])
        .with_faults(Faults::default().with_delay_ms(delay_ms));
    let dis = rt
        .block_on(LocalDis::start(
            config,
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))
        .unwrap();
    (dis, rt)
}

/// Every stdout line is a JSON object; the last one, the summary.
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}"));
            assert!(v.is_object(), "{l}");
            v
        })
        .collect();
    assert_eq!(
        lines.last().map(|v| v["type"].clone()),
        Some("summary".into()),
        "{stdout}"
    );
    lines
}

#[test]
fn no_credentials_with_a_url_endpoint_exits_2_at_once_naming_each_provider() {
    let home = folder("nocreds");
    // Nothing listens there: the metadata service refuses the connection.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let started = Instant::now();
    let out = bare(
        &home,
        &[
            "send",
            "--endpoint",
            &nowhere,
            "--project-id",
            "p",
            "--generate",
            "3",
        ],
    )
    .env("DIS_METADATA_ENDPOINT", &nowhere)
    .stdin(Stdio::null())
    .output()
    .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    for provider in [
        "environment (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK)",
        "profile file",
        "ECS metadata",
        "pod identity",
    ] {
        assert!(stderr.contains(provider), "{provider}: {stderr}");
    }
    assert!(stderr.contains("could not connect"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_record_that_fails_says_why_and_json_stdout_is_json_only() {
    let home = folder("cause");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    // Credentials, but nothing listens at the endpoint: each record expires with the cause.
    let cmd = bare(
        &home,
        &[
            "send",
            "--endpoint",
            &nowhere,
            "--project-id",
            "p",
            "--token",
            "t",
            "--json",
            "--verbose",
            "--deadline-s",
            "2",
        ],
    );
    let out = output_with_input(cmd, b"one\ntwo\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "two records and the summary");
    for record in &lines[..2] {
        assert_eq!(record["type"], "record");
        assert_eq!(record["status"], "failed");
        assert_eq!(record["cause"], "expired: transport", "{record}");
        let error = record["error"].as_str().unwrap();
        assert!(error.contains("last error: transport"), "{error}");
        assert!(error.contains("Connection refused"), "{error}");
    }
    let summary = &lines[2];
    assert_eq!(summary["failed"], 2);
    let cause = &summary["failures"]["expired: transport"];
    assert_eq!(cause["records"], 2, "{summary}");
    assert!(
        cause["error"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{summary}"
    );
    // The human lines went to stderr, with the cause.
    assert!(
        stderr.contains("record 0 (line 1): FAILED after"),
        "{stderr}"
    );
    assert!(stderr.contains("Connection refused"), "{stderr}");
    // jq reads every line, when it is installed.
    if let Ok(mut jq) = Command::new("jq")
        .arg("-c")
        .arg(".")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        jq.stdin.take().unwrap().write_all(&out.stdout).unwrap();
        let jq = jq.wait_with_output().unwrap();
        assert!(
            jq.status.success(),
            "{}",
            String::from_utf8_lossy(&jq.stderr)
        );
    }
}

#[test]
fn json_without_verbose_is_the_summary_alone() {
    let local = Local::start();
    let out = output_with_input(local.send(&["--json"]), b"a\nb\nc\n");
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["acknowledged"], 3);
    assert_eq!(lines[0]["stopped_by"], serde_json::Value::Null);
}

/// Waits until `child` has printed `what` on stderr (read on a thread); the lines so far.
fn sigterm_after(child: &std::process::Child, dis: &LocalDis, stored: u64) {
    let until = Instant::now() + Duration::from_secs(20);
    while dis.stats().records_stored < stored {
        assert!(Instant::now() < until, "nothing stored");
        std::thread::sleep(Duration::from_millis(10));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
}

#[test]
fn sigterm_in_file_mode_delivers_what_was_read_and_the_summary_matches_the_stream() {
    let dir = folder("sigterm-file");
    let file = dir.join("big.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    for i in 0..200_000 {
        writeln!(f, "line {i:06}").unwrap();
    }
    drop(f);
    // Slow answers: the file is far from sent when the signal comes.
    let (dis, _rt) = slow_local(100);
    let child = spawn({
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dis-records"));
        cmd.args(["send", "--endpoint", &dis.endpoint()])
            .args([
                "--project-id",
                "p",
                "--token",
                "t",
                "--no-progress",
                "--json",
            ])
            .arg(&file)
            .env_remove("DIS_ENDPOINT")
            .env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK");
        cmd
    });
    sigterm_after(&child, &dis, 1000);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "drained in time"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
    let summary = json_lines(&out).pop().unwrap();
    assert_eq!(summary["stopped_by"], "SIGTERM");
    let stored = read_back(&dis.endpoint(), "newstream");
    let n = |k: &str| summary[k].as_u64().unwrap();
    assert_eq!(n("acknowledged"), stored.len() as u64, "{summary}");
    assert_eq!(n("sent"), n("acknowledged"), "{summary}");
    assert!(n("sent") < 200_000, "stopped before the end: {summary}");
    // What was stored is the start of the file, in full.
    let mut stored: Vec<String> = stored
        .into_iter()
        .map(|d| String::from_utf8(d).unwrap())
        .collect();
    stored.sort();
    let expected: Vec<String> = (0..stored.len()).map(|i| format!("line {i:06}")).collect();
    assert_eq!(stored, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigterm_in_stdin_mode_and_a_second_signal_exits_at_once() {
    let (dis, _rt) = slow_local(0);
    let command = |endpoint: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dis-records"));
        cmd.args(["send", "--endpoint", endpoint])
            .args([
                "--project-id",
                "p",
                "--token",
                "t",
                "--no-progress",
                "--json",
            ])
            .env_remove("DIS_ENDPOINT")
            .env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK");
        cmd
    };
    let mut child = spawn(command(&dis.endpoint()));
    // Stdin stays open and quiet after 100 lines: the signal alone ends the run.
    let mut stdin = child.stdin.take().unwrap();
    for i in 0..100 {
        writeln!(stdin, "stdin {i}").unwrap();
    }
    stdin.flush().unwrap();
    sigterm_after(&child, &dis, 100);
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary = json_lines(&out).pop().unwrap();
    assert_eq!(
        (summary["sent"].as_u64(), summary["acknowledged"].as_u64()),
        (Some(100), Some(100)),
        "{summary}"
    );
    assert_eq!(read_back(&dis.endpoint(), "newstream").len(), 100);

    // SIGINT, then SIGINT again while a record cannot be delivered: exit 130 at once.
    let (slow, _rt2) = slow_local(60_000);
    let mut child = spawn(command(&slow.endpoint()));
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "stuck").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(300));
    let second = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(second.elapsed() < Duration::from_secs(5));
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_drain_past_its_timeout_exits_1_with_the_records_expired() {
    let (slow, _rt) = slow_local(60_000);
    let mut child = spawn({
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dis-records"));
        cmd.args(["send", "--endpoint", &slow.endpoint()])
            .args([
                "--project-id",
                "p",
                "--token",
                "t",
                "--no-progress",
                "--json",
            ])
            .args(["--drain-timeout", "1s"])
            .env_remove("DIS_ENDPOINT");
        cmd
    });
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "never answered").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(1));
    let summary = json_lines(&out).pop().unwrap();
    assert_eq!(summary["failed"], 1, "{summary}");
    assert!(summary["failures"]["expired"].is_object(), "{summary}");
}

#[test]
fn a_config_file_sets_every_flag_and_flags_override_it() {
    let local = Local::start();
    let dir = folder("config");
    let input = dir.join("in.jsonl");
    std::fs::write(&input, "{\"data\":\"from the file\"}\nnot json\n").unwrap();
    let config = dir.join("send.toml");
    std::fs::write(
        &config,
        format!(
            "endpoint = \"{}\"\nproject-id = \"p\"\ntoken = \"t\"\nstream = \"nosuchstream\"\nformat = \"jsonl\"\nno_progress = true\nlinger-ms = 5\nfiles = [{:?}]\njson = true\n",
            local.dis.endpoint(),
            input.to_str().unwrap()
        ),
    )
    .unwrap();
    // The file's stream does not exist; the flag's does.
    let out = Command::new(env!("CARGO_BIN_EXE_dis-records"))
        .args(["send", "--config", config.to_str().unwrap()])
        .args(["--stream", "newstream"])
        .env_remove("DIS_ENDPOINT")
        .env_remove("DIS_STREAM")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a bad line: {stderr}");
    assert!(stderr.contains("line 2: "), "{stderr}");
    let summary = json_lines(&out).pop().unwrap();
    assert_eq!(
        (
            summary["acknowledged"].as_u64(),
            summary["bad_lines"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(local.stored(), [b"from the file".to_vec()]);

    // An unknown key, and a value of the wrong shape: exit 2, naming the file and the key.
    for (text, says) in [
        ("colour = \"red\"\n", "unknown key \"colour\""),
        ("stream = [\"a\", \"b\"]\n", "stream: one value expected"),
        ("concurrency = \"many\"\n", "concurrency"),
        ("json = 3\n", "json"),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_dis-records"))
            .args(["send", "--config", config.to_str().unwrap(), "--local"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(says), "{text}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_example_config_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dis-records.toml");
    let dir = folder("example");
    // The example's paths, moved into a folder of the test's own.
    let text = std::fs::read_to_string(&example).unwrap();
    let text = text
        .replace("/var/log/", &format!("{}/", dir.display()))
        .replace("/var/lib/dis-records/", &format!("{}/", dir.display()))
        .replace("127.0.0.1:9100", "127.0.0.1:0");
    let config = dir.join("shipper.toml");
    std::fs::write(&config, text).unwrap();
    let local = Local::start();
    let child = spawn({
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dis-records"));
        cmd.args(["send", "--config", config.to_str().unwrap()])
            .args(["--endpoint", &local.dis.endpoint(), "--token", "t"])
            .env_remove("DIS_ENDPOINT")
            .env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK");
        cmd
    });
    std::thread::sleep(Duration::from_millis(1500));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn embedded_endpoint_flags_are_refused_with_a_real_one() {
    let local = Local::start();
    for flag in [
        &["--quotas"][..],
        &["--fail-records", "0.1"],
        &["--delay-ms", "5"],
        &["--seed", "1"],
    ] {
        let out = local
            .send(&["--generate", "1"])
            .args(flag)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{} is for the embedded endpoint", flag[0])),
            "{stderr}"
        );
    }
    assert_eq!(local.dis.stats().requests, 0, "nothing sent");
    // With --local they apply.
    let out = Command::new(env!("CARGO_BIN_EXE_dis-records"))
        .args(["send", "--local", "--generate", "100", "--no-progress"])
        .args(["--fail-records", "0.2", "--seed", "1", "--json"])
        .env_remove("DIS_ENDPOINT")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let summary = json_lines(&out).pop().unwrap();
    assert!(summary["throttled"].as_u64().unwrap() > 0, "{summary}");
    // --advanced still works, and says what to use instead.
    let out = local
        .send(&["--generate", "1", "--advanced"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--advanced is deprecated"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let help = Command::new(env!("CARGO_BIN_EXE_dis-records"))
        .args(["send", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let heading = help.find("Embedded endpoint only").expect("the heading");
    for flag in ["--quotas", "--fail-records", "--drop-after", "--seed"] {
        assert!(
            help.find(flag).unwrap() > heading,
            "{flag} under the heading"
        );
    }
    assert!(!help.contains("--advanced"), "hidden: {help}");
}

#[test]
fn rust_log_and_json_logs_on_stderr() {
    let home = folder("logs");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = |extra: &[&str], log: &str| {
        let mut args = vec![
            "send",
            "--endpoint",
            &nowhere,
            "--project-id",
            "p",
            "--token",
            "t",
            "--generate",
            "1",
            "--deadline-s",
            "1",
            "--no-progress",
        ];
        args.extend_from_slice(extra);
        bare(&home, &args)
            .env("RUST_LOG", log)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&[], "debug");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DEBUG"), "{stderr}");
    assert!(stderr.contains("request failed"), "{stderr}");
    let out = run(&["--log-format", "json"], "debug");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().any(|e| e["level"] == "DEBUG"), "{stderr}");
    // The default is warn: no debug events.
    let out = run(&[], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("DEBUG"), "{stderr}");
}

#[test]
fn follow_without_credentials_waits_and_warns_with_the_cause() {
    let home = folder("follow-nocreds");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let log = home.join("app.log");
    std::fs::write(&log, "waiting line\n").unwrap();
    let child = bare(
        &home,
        &[
            "send",
            "--endpoint",
            &nowhere,
            "--project-id",
            "p",
            "--follow",
            log.to_str().unwrap(),
            "--no-progress",
            "--drain-timeout",
            "1s",
        ],
    )
    .env("DIS_METADATA_ENDPOINT", &nowhere)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        child.id() > 0,
        "still running: a shipper waits for credentials"
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no credentials yet"), "{stderr}");
    assert!(
        stderr.contains("records wait, retrying: credentials unavailable"),
        "{stderr}"
    );
    assert!(stderr.contains("ECS metadata"), "{stderr}");
    // The record read could not be delivered within the drain: exit 1, its cause said.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("expired: credentials"), "{stderr}");
}

#[test]
fn completions_and_the_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_dis-records"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        // fish spells long flags `-l follow`.
        assert!(
            text.contains("follow") && text.contains("drain-timeout"),
            "{shell}: {text}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_dis-records"))
        .arg("man")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(".ie") || text.contains(".TH"), "{text}");
    assert!(text.contains("dis\\-records"), "{text}");
}
