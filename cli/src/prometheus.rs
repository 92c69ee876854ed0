//! `--metrics-listen ADDR`: the producer's metrics as Prometheus text at `http://ADDR/metrics`.

use std::net::SocketAddr;

use metrics_exporter_prometheus::PrometheusBuilder;

use crate::exit::CliError;

/// Installs the Prometheus recorder and its listener (on the current Tokio runtime). Must run
/// before the producer is built: its handles are registered then.
pub fn serve(addr: SocketAddr) -> Result<(), CliError> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .map_err(|e| CliError::usage(format!("--metrics-listen {addr}: {e}")))?;
    eprintln!("metrics at http://{addr}/metrics");
    Ok(())
}
