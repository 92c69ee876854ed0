//! `dis-records local`: the embedded DIS endpoint in the foreground (for those without the
//! `dis-local` binary; it has every option).

use std::io::Write as _;
use std::net::SocketAddr;

use clap::Args;
use dis_local::{FaultFlags, LocalConfig, LocalDis, StreamConfig};

use crate::exit::{CliError, Code};

/// Flags of `local`.
#[derive(Args, Debug)]
pub struct LocalArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// A stream as NAME:PARTITIONS[:common|advanced]; repeat for more [default: newstream:4].
    #[arg(long = "stream", value_name = "NAME:PARTITIONS[:KIND]")]
    streams: Vec<StreamConfig>,
    /// The only accepted X-Auth-Token (default: any non-empty token).
    #[arg(long)]
    token: Option<String>,
    /// Count records without keeping payloads (no read-back).
    #[arg(long)]
    no_retain: bool,
    /// Enforce DIS's write quotas per partition.
    #[arg(long)]
    quotas: bool,
    /// Fault injection.
    #[command(flatten)]
    faults: FaultFlags,
}

/// Serves until Ctrl-C or SIGTERM. The first stdout line is `listening on URL`.
pub async fn run(args: LocalArgs) -> Result<Code, CliError> {
    let streams = if args.streams.is_empty() {
        vec![StreamConfig::new("newstream", 4)]
    } else {
        args.streams
    };
    let mut config = LocalConfig::default()
        .with_streams(streams)
        .with_retain(!args.no_retain)
        .with_quotas(args.quotas)
        .with_faults(args.faults.faults());
    if let Some(token) = args.token {
        config = config.with_token(token);
    }
    let dis = LocalDis::start(config, args.listen)
        .await
        .map_err(|e| CliError::usage(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", dis.endpoint())?;
    out.flush()?;
    drop(out);
    eprintln!(
        "read back: {0}/local/v1/streams/STREAM/records, counters: {0}/metrics",
        dis.endpoint()
    );
    dis_local::shutdown_signal().await;
    eprintln!("stopping; {:?}", dis.stats());
    dis.shutdown().await;
    Ok(Code::Ok)
}
