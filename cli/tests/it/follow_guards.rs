//! What the shipper refuses, before anything is sent: a second shipper on a checkpoint, a
//! checkpoint of another stream, bad checkpoints and paths, following with no endpoint; and
//! the defaults that never send to a real stream what was not asked for.

use crate::support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::Local;

fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("guards-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn lines(path: &Path, tag: &str, n: usize) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    for i in 0..n {
        writeln!(f, "{tag} {i}").unwrap();
    }
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Stops `child` with SIGTERM once it has run a moment.
fn term(child: Child) -> Output {
    std::thread::sleep(Duration::from_millis(700));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait_with_output().unwrap()
}

/// Runs `cmd` to its end, within 20 s.
fn output(cmd: Command) -> (Option<i32>, String) {
    let mut child = spawn(cmd);
    let until = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < until, "still running after 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_second_shipper_on_a_checkpoint_is_refused_naming_the_holder() {
    let local = Local::start();
    let dir = folder("second");
    let (log, ckpt) = (dir.join("app.log"), dir.join("app.ckpt"));
    lines(&log, "line", 100);
    let follow = |local: &Local| {
        let mut cmd = local.send(&["--follow", log.to_str().unwrap()]);
        cmd.args(["--checkpoint", ckpt.to_str().unwrap()]);
        cmd
    };
    let first = spawn(follow(&local));
    assert!(local.wait_for(100, Duration::from_secs(20)));
    let (code, err) = output(follow(&local));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(ckpt.to_str().unwrap()), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    let out = term(first);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(local.stored().len(), 100, "the second shipper sent nothing");
    // Once the first is gone, the checkpoint is free again.
    lines(&log, "more", 10);
    let again = term(spawn(follow(&local)));
    assert_eq!(again.status.code(), Some(0));
    assert!(local.wait_for(110, Duration::from_secs(20)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_checkpoint_of_another_stream_is_refused_until_reset() {
    let local = Local::start();
    let dir = folder("other-stream");
    let (log, ckpt) = (dir.join("app.log"), dir.join("app.ckpt"));
    std::fs::File::create(&log).unwrap();
    let follow = |extra: &[&str]| {
        let mut cmd = local.send(&["--follow", log.to_str().unwrap()]);
        cmd.args(["--checkpoint", ckpt.to_str().unwrap()])
            .args(extra);
        cmd
    };
    // Written for stream "other" (nothing to send yet).
    let out = term(spawn(follow(&["--stream", "other"])));
    assert_eq!(out.status.code(), Some(0));
    lines(&log, "line", 50);
    let (code, err) = output(follow(&[]));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("\"other\"") && err.contains("\"newstream\""),
        "{err}"
    );
    assert!(err.contains("--checkpoint-reset"), "{err}");
    assert_eq!(local.stored().len(), 0);
    let out = term(spawn(follow(&["--checkpoint-reset"])));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(local.wait_for(50, Duration::from_secs(20)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_checkpoints_and_paths_exit_2_before_anything_is_sent() {
    let local = Local::start();
    let dir = folder("bad");
    let log = dir.join("app.log");
    lines(&log, "line", 10);
    let follow = |target: &Path, ckpt: &Path| {
        let mut cmd = local.send(&["--follow", target.to_str().unwrap()]);
        cmd.args(["--checkpoint", ckpt.to_str().unwrap()]);
        cmd
    };
    let mut cases: Vec<(&str, Command, String)> = Vec::new();
    let corrupt = dir.join("corrupt.ckpt");
    std::fs::write(&corrupt, b"{not json").unwrap();
    cases.push((
        "corrupt",
        follow(&log, &corrupt),
        corrupt.display().to_string(),
    ));
    let huge = dir.join("huge.ckpt");
    let file = r#"{"dev":1,"ino":2,"head_len":0,"head":"00000000000000000000000000000000"}"#;
    std::fs::write(
        &huge,
        format!(
            r#"{{"version":2,"target":{{"endpoint":"{}","project":"p","stream":"newstream"}},"sources":[{{"path":"{}","settled":{{"file":{file},"offset":18446744073709551615}},"reserved":{{"file":{file},"offset":18446744073709551615}}}}]}}"#,
            local.dis.endpoint(),
            log.display()
        ),
    )
    .unwrap();
    cases.push((
        "offset past any file",
        follow(&log, &huge),
        "18446744073709551615".into(),
    ));
    let unwritable = log.join("under-a-file.ckpt");
    cases.push((
        "unwritable",
        follow(&log, &unwritable),
        unwritable.display().to_string(),
    ));
    cases.push(("a folder", follow(&log, &dir), dir.display().to_string()));
    let mut files = local.send(&[log.to_str().unwrap()]);
    files.args(["--checkpoint", dir.join("x.ckpt").to_str().unwrap()]);
    cases.push(("checkpoint without --follow", files, "--follow".into()));
    cases.push((
        "--follow a folder",
        follow(&dir, &dir.join("y.ckpt")),
        dir.display().to_string(),
    ));
    let mut reset = local.send(&["--checkpoint-reset"]);
    reset.args(["--follow", log.to_str().unwrap()]);
    cases.push(("reset without a checkpoint", reset, "--checkpoint".into()));
    let mut no_endpoint = Command::new(env!("CARGO_BIN_EXE_dis-records"));
    no_endpoint
        .args(["send", "--no-progress", "--follow", log.to_str().unwrap()])
        .args(["--checkpoint", dir.join("z.ckpt").to_str().unwrap()])
        .env_remove("DIS_ENDPOINT");
    cases.push(("--follow with no endpoint", no_endpoint, "--local".into()));
    for (what, cmd, named) in cases {
        let (code, err) = output(cmd);
        assert_eq!(code, Some(2), "{what}: {err}");
        assert!(err.contains(&named), "{what}: {named:?} not in {err}");
        eprintln!("{what}: {}", err.trim());
    }
    assert_eq!(local.dis.stats().records_stored, 0);
    assert!(
        !dir.join("z.ckpt").exists(),
        "no checkpoint without an endpoint"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_not_there_yet_is_waited_for() {
    let local = Local::start();
    let dir = folder("later");
    let log = dir.join("later.log");
    let mut cmd = local.send(&["--follow", log.to_str().unwrap()]);
    cmd.args(["--checkpoint", dir.join("c").to_str().unwrap()]);
    let child = spawn(cmd);
    std::thread::sleep(Duration::from_millis(800));
    lines(&log, "late", 20);
    assert!(local.wait_for(20, Duration::from_secs(20)));
    let out = term(child);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("waiting for it"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_input_sends_nothing_and_samples_go_only_to_the_embedded_endpoint() {
    let local = Local::start();
    // An endpoint and empty stdin: nothing is sent.
    let (code, err) = output(local.send(&["--json"]));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(local.dis.stats().records_stored, 0, "{err}");
    // No endpoint and no input at all: the samples, to the embedded endpoint.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dis-records"));
    cmd.args(["send", "--no-progress"])
        .env_remove("DIS_ENDPOINT")
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK");
    let (code, err) = output(cmd);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("embedded local endpoint"), "{err}");
    assert!(err.contains("sent 4 records"), "{err}");
    // No endpoint with input: refused, naming --local.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dis-records"));
    cmd.args(["send", "--no-progress", "--generate", "5"])
        .env_remove("DIS_ENDPOINT");
    let (code, err) = output(cmd);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--local"), "{err}");
    assert_eq!(local.dis.stats().records_stored, 0);
}
