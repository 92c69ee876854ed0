//! What the endpoint's test files share: an HTTP client for loopback, and a running endpoint
//! with that client beside it. Each file adds the requests it needs in its own `impl Env`.
#![allow(dead_code)]

use std::time::Duration;

pub mod binary;

use dis_local::{LocalConfig, LocalDis};

/// A reqwest client for 127.0.0.1.
pub fn client() -> reqwest::Client {
    // reqwest is built with `rustls-no-provider`: give it a provider even for plain http.
    // Another test may have installed it already: that error is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

/// A running endpoint and a client to speak to it.
pub struct Env {
    pub dis: LocalDis,
    pub http: reqwest::Client,
}

impl Env {
    pub async fn start(config: LocalConfig) -> Env {
        let dis = LocalDis::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("start");
        Env {
            dis,
            http: client(),
        }
    }

    pub async fn default() -> Env {
        Env::start(LocalConfig::default()).await
    }

    /// The SendRecords URL of project `0123456789abcdef`.
    pub fn url(&self) -> String {
        format!("{}/v2/0123456789abcdef/records", self.dis.endpoint())
    }
}

/// `VmHWM` (peak) and `VmRSS` of a process, in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}
