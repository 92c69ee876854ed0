//! `--follow` through rename rotation (also while the shipper is down), truncation, and an
//! over-long line: every line written is shipped once the shipper is stopped with SIGTERM.

use crate::support;

use std::process::{Child, Stdio};
use std::time::Duration;

use support::{Local, append};

fn lines(tag: &str, n: usize) -> String {
    (0..n).map(|i| format!("{tag} {i}\n")).collect()
}

fn stop(mut child: Child) -> String {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        status.success() || status.code() == Some(1),
        "{status:?}: {err}"
    );
    err
}

#[test]
fn rotation_truncation_and_a_rotation_while_down() {
    let local = Local::start();
    let dir = std::env::temp_dir().join(format!("dis-follow-rot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("app.log");
    let checkpoint = dir.join("ckpt");
    let start = || -> Child {
        let mut cmd = local.send(&["--follow", log.to_str().unwrap()]);
        cmd.args(["--checkpoint", checkpoint.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let settle = |n: usize| assert!(local.wait_for(n, Duration::from_secs(20)), "{n} not stored");

    append(&log, &lines("first", 100));
    let child = start();
    settle(100);
    // Rotation: renamed, a last line written to the old file, a new file.
    std::fs::rename(&log, dir.join("app.log.1")).unwrap();
    append(&dir.join("app.log.1"), "first last\n");
    append(&log, &lines("second", 50));
    settle(151);
    // Truncation (copytruncate), then new lines, one of them over 1 MiB.
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    append(
        &log,
        &format!("third 0\n{}\nthird 1\n", "x".repeat(1024 * 1024 + 1)),
    );
    settle(153);
    let err = stop(child);
    assert!(err.contains("rotated"), "{err}");
    assert!(err.contains("truncated"), "{err}");
    assert!(err.contains("line 2 at offset 8: 1048577 bytes"), "{err}");

    // Down: more lines, then rotated again before the restart.
    append(&log, &lines("fourth", 20));
    std::fs::rename(&log, dir.join("app.log.2")).unwrap();
    append(&log, &lines("fifth", 30));
    let child = start();
    settle(203);
    let err = stop(child);
    assert!(
        err.contains("app.log.2: going on from the checkpoint"),
        "{err}"
    );

    let mut stored: Vec<String> = local
        .stored()
        .into_iter()
        .map(|d| String::from_utf8(d).unwrap())
        .collect();
    stored.sort();
    let mut expected: Vec<String> = [
        lines("first", 100),
        "first last\n".into(),
        lines("second", 50),
        "third 0\nthird 1\n".into(),
        lines("fourth", 20),
        lines("fifth", 30),
    ]
    .concat()
    .lines()
    .map(str::to_owned)
    .collect();
    expected.sort();
    assert_eq!(stored, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}
