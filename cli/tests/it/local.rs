//! `dis-records local`: the embedded endpoint in the foreground, until SIGTERM.

use crate::support;

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use support::{get_text, metric};

#[test]
fn serves_prints_its_url_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dis-records"))
        .args(["local", "--listen", "127.0.0.1:0", "--stream", "logs:2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let counts = get_text(&format!("{url}/local/v1/streams/logs"));
    assert!(counts.contains("\"stream_name\":\"logs\""), "{counts}");
    let text = get_text(&format!("{url}/metrics"));
    assert_eq!(
        metric(&text, "dis_local_records_stored_total", &[]),
        0.0,
        "{text}"
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
