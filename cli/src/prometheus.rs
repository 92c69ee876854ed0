//! `--metrics-listen ADDR`: the producer's and the shipper's metrics as Prometheus text at
//! `http://ADDR/metrics`, and `GET /health` (200 while the run serves).
//!
//! The listener is small and bounded, so that no client of the metrics port can slow or stop
//! the run: a request head must arrive within [`HEAD_TIMEOUT`] and fit [`MAX_HEAD`]; every
//! answer closes its connection; at most [`MAX_CONNECTIONS`] are open, and a connection past
//! the cap closes the oldest one (each is waiting for its head: idle), so that the process
//! never holds more than that many descriptors for it (a checkpoint still gets its own).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::exit::CliError;

/// Request latency buckets, in seconds: a loopback answer to a slow retry.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Time for a request head, from the accept.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Time to write an answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// Connections open at once at most.
pub const MAX_CONNECTIONS: usize = 64;
/// How often the exporter's upkeep (histogram draining) runs.
const UPKEEP: Duration = Duration::from_secs(5);

/// Gauge (`--follow`): bytes of a followed path not read yet: the rest of the file being read
/// and every file queued after it. Labelled `path`.
pub const FOLLOW_BYTES_BEHIND: &str = "dis_records_follow_bytes_behind";
/// Gauge (`--checkpoint`): seconds since the checkpoint last held every settled line (written,
/// or found up to date).
pub const CHECKPOINT_AGE: &str = "dis_records_checkpoint_age_seconds";

/// Installs the Prometheus recorder and its listener (on the current Tokio runtime). Must run
/// before the producer is built: its handles are registered then.
pub async fn serve(addr: SocketAddr) -> Result<(), CliError> {
    let usage =
        |e: &dyn std::fmt::Display| CliError::usage(format!("--metrics-listen {addr}: {e}"));
    let listener = TcpListener::bind(addr).await.map_err(|e| usage(&e))?;
    let handle = PrometheusBuilder::new()
        // A histogram with buckets (the exporter's default is a summary of quantiles).
        .set_buckets_for_metric(
            Matcher::Full(dis_records::metrics::REQUEST_DURATION.to_owned()),
            &LATENCY_BUCKETS,
        )
        .map_err(|e| usage(&e))?
        .install_recorder()
        .map_err(|e| usage(&e))?;
    dis_records::metrics::describe();
    metrics::describe_gauge!(
        FOLLOW_BYTES_BEHIND,
        metrics::Unit::Bytes,
        "Bytes of a followed path not read yet: the rest of the file being read and the files queued after it."
    );
    metrics::describe_gauge!(
        CHECKPOINT_AGE,
        metrics::Unit::Seconds,
        "Seconds since the checkpoint last held every settled line (written, or found up to date)."
    );
    let shown = listener.local_addr().unwrap_or(addr);
    tokio::spawn(accept(listener, handle));
    eprintln!("metrics at http://{shown}/metrics");
    Ok(())
}

/// The accept loop, with the connection cap.
async fn accept(listener: TcpListener, handle: PrometheusHandle) {
    let mut open: VecDeque<AbortHandle> = VecDeque::new();
    let mut upkeep = tokio::time::interval(UPKEEP);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    open.retain(|c| !c.is_finished());
                    while open.len() >= MAX_CONNECTIONS {
                        // The oldest is idle (every connection waits for its head or is being
                        // answered, then closes): it makes room.
                        if let Some(oldest) = open.pop_front() {
                            oldest.abort();
                        }
                    }
                    let task = tokio::spawn(answer(stream, handle.clone()));
                    open.push_back(task.abort_handle());
                }
                // Out of descriptors and the like: back off instead of spinning.
                Err(e) => {
                    tracing::warn!(error = %e, "metrics listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = upkeep.tick() => handle.run_upkeep(),
        }
    }
}

/// One connection: one request, one answer, closed.
async fn answer(mut stream: TcpStream, handle: PrometheusHandle) {
    let mut head = Vec::with_capacity(1024);
    let read = tokio::time::timeout(HEAD_TIMEOUT, async {
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok::<bool, std::io::Error>(false);
            }
            head.extend_from_slice(&buf[..n]);
            if head.len() > MAX_HEAD {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await;
    let (status, kind, body) = match read {
        Ok(Ok(true)) => route(&head, &handle),
        Ok(Ok(false)) if head.len() > MAX_HEAD => (
            "431 Request Header Fields Too Large",
            "text/plain",
            "request head too large\n".to_owned(),
        ),
        // Closed, failed or too slow: nothing to answer.
        _ => return,
    };
    let method_head = head.starts_with(b"HEAD ");
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !method_head {
        out.extend_from_slice(body.as_bytes());
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(&out).await?;
        stream.shutdown().await
    })
    .await;
}

/// The answer to a request head: status, content type, body.
fn route(head: &[u8], handle: &PrometheusHandle) -> (&'static str, &'static str, String) {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    if method != "GET" && method != "HEAD" {
        return (
            "405 Method Not Allowed",
            "text/plain",
            "GET /metrics or GET /health\n".into(),
        );
    }
    match path {
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            handle.render(),
        ),
        "/health" => ("200 OK", "text/plain", "ok\n".into()),
        _ => (
            "404 Not Found",
            "text/plain",
            "not found: GET /metrics or GET /health\n".into(),
        ),
    }
}
