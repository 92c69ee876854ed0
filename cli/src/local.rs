//! `dis-records local`: the embedded DIS endpoint in the foreground, with every flag of the
//! `dis-local` binary (one definition, [`dis_local::LocalFlags`]).

use std::io::Write as _;

use clap::Args;
use dis_local::{LocalDis, LocalFlags};

use crate::exit::{CliError, Code};

/// Flags of `local`: those of `dis-local`.
#[derive(Args, Debug)]
pub struct LocalArgs {
    #[command(flatten)]
    local: LocalFlags,
}

/// Serves until Ctrl-C or SIGTERM. The first stdout line is `listening on URL`.
pub async fn run(args: LocalArgs) -> Result<Code, CliError> {
    let config = args.local.config().map_err(CliError::usage)?;
    let dis = LocalDis::start(config, args.local.listen)
        .await
        .map_err(|e| CliError::usage(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", dis.endpoint())?;
    out.flush()?;
    drop(out);
    eprintln!(
        "streams: {}; read back: {1}/local/v1/streams/STREAM/records, counters: {1}/metrics, health: {1}/health",
        args.local.described_streams(),
        dis.endpoint()
    );
    dis_local::shutdown_signal().await;
    eprintln!("stopping; {:?}", dis.stats());
    dis.shutdown().await;
    Ok(Code::Ok)
}
