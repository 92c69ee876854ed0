//! `--metrics-listen ADDR`: the producer's metrics as Prometheus text at `http://ADDR/metrics`.

use std::net::SocketAddr;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// Request latency buckets, in seconds: a loopback answer to a slow retry.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

use crate::exit::CliError;

/// Installs the Prometheus recorder and its listener (on the current Tokio runtime). Must run
/// before the producer is built: its handles are registered then.
pub fn serve(addr: SocketAddr) -> Result<(), CliError> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        // A histogram with buckets (the exporter's default is a summary of quantiles).
        .set_buckets_for_metric(
            Matcher::Full(dis_records::metrics::REQUEST_DURATION.to_owned()),
            &LATENCY_BUCKETS,
        )
        .map_err(|e| CliError::usage(format!("--metrics-listen {addr}: {e}")))?
        .install()
        .map_err(|e| CliError::usage(format!("--metrics-listen {addr}: {e}")))?;
    eprintln!("metrics at http://{addr}/metrics");
    Ok(())
}
