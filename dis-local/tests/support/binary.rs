//! A `dis-local` child process, for tests that measure the endpoint's memory apart from the
//! test's own.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `dis-local` child process, killed when dropped (a failed assertion included).
pub struct Binary {
    child: Child,
    addr: SocketAddr,
}

impl Binary {
    /// Starts the `dis-local` binary with `args` (and `--listen 127.0.0.1:0`); waits for its
    /// address.
    pub async fn start(args: &[&str]) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dis-local"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dis-local");
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
                .map(|_| line)
        });
        let mut binary = Binary {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
        };
        let line = tokio::time::timeout(Duration::from_secs(10), line)
            .await
            .expect("dis-local prints its address within 10 s")
            .unwrap()
            .unwrap();
        binary.addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first line: {line:?}"))
            .parse()
            .unwrap();
        binary
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self) -> String {
        format!("{}/v2/0123456789abcdef/records", self.endpoint())
    }

    /// `VmHWM` (peak) and `VmRSS` of the process, in KiB.
    pub fn rss_kib(&self) -> (u64, u64) {
        super::rss_kib(self.child.id())
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
