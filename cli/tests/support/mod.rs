//! What the command's tests share: an in-process local endpoint and the command as a child.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dis_local::{LocalConfig, LocalDis, StreamConfig};

/// A local endpoint with stream `newstream` (4 partitions), on a runtime of its own.
pub struct Local {
    pub dis: LocalDis,
    pub rt: tokio::runtime::Runtime,
}

impl Local {
    pub fn start() -> Local {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let config = LocalConfig::default().with_streams([StreamConfig::new("newstream", 4)]);
        let dis = rt
            .block_on(LocalDis::start(
                config,
                SocketAddr::from(([127, 0, 0, 1], 0)),
            ))
            .unwrap();
        Local { dis, rt }
    }

    /// `dis-records send` against this endpoint, with `args` after it, unpaced: this endpoint
    /// enforces no quota (the pacing has tests of its own).
    pub fn send(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dis-records"));
        cmd.arg("send")
            .args(["--endpoint", &self.dis.endpoint()])
            .args(["--project-id", "p", "--token", "t", "--no-progress"])
            .args(["--pacing", "off"])
            .args(args)
            .env_remove("DIS_ENDPOINT")
            .env_remove("DIS_STREAM")
            .env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK");
        cmd
    }

    /// The data of every stored record, in no particular order.
    pub fn stored(&self) -> Vec<Vec<u8>> {
        self.dis
            .records("newstream")
            .unwrap()
            .into_iter()
            .map(|r| r.data.to_vec())
            .collect()
    }

    /// Waits (at most `within`) until `n` records are stored.
    pub fn wait_for(&self, n: usize, within: Duration) -> bool {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if self.dis.stats().records_stored as usize >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

/// Appends `text` to the file at `path` (created when missing).
pub fn append(path: &std::path::Path, text: &str) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Runs `cmd` to its end with `input` on its stdin (then closed); its output.
pub fn output_with_input(cmd: Command, input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = spawn(cmd);
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Spawns `cmd` with piped stdin, stdout and stderr.
pub fn spawn(mut cmd: Command) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every record of `stream` through dis-local's paged read-back
/// (`/local/v1/streams/{stream}/records?from=&limit=`, following `X-Next-From`).
pub fn read_back(endpoint: &str, stream: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::new();
    let mut out = Vec::new();
    let mut from = Some("0".to_owned());
    while let Some(at) = from {
        let resp = client
            .get(format!(
                "{endpoint}/local/v1/streams/{stream}/records?from={at}&limit=10000"
            ))
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        from = resp
            .headers()
            .get("x-next-from")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Vec<serde_json::Value> = resp.json().unwrap();
        for r in page {
            let data = r["data"].as_str().unwrap();
            out.push(
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .unwrap(),
            );
        }
    }
    out
}

/// GET `url` as text.
pub fn get_text(url: &str) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::get(url).unwrap().text().unwrap()
}

/// The value of the first sample of metric `name` in Prometheus text whose line contains every
/// one of `with` (label pairs), summed over the matching lines.
pub fn metric(text: &str, name: &str, with: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            let metric = l.split([' ', '{']).next().unwrap_or("");
            metric == name && with.iter().all(|w| l.contains(w))
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}
