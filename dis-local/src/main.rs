//! `dis-local`: a standalone local DIS endpoint for manual tests and benchmarks of DIS clients.
//!
//! ```text
//! dis-local --listen 127.0.0.1:8080 --stream newstream:4 --stream other:2
//! ```
//!
//! The first line on stdout is `listening on http://127.0.0.1:PORT`; the server runs until
//! Ctrl-C or SIGTERM. Read back what a stream stored with
//! `curl http://127.0.0.1:PORT/local/v1/streams/newstream/records` (a page of up to 10,000
//! records; `?from=N&limit=M`, and the `X-Next-From` header for the next page), counters with
//! `curl http://127.0.0.1:PORT/local/v1/stats` (JSON) or `/metrics` (Prometheus text).
//!
//! Time, connections and buffered bytes are bounded (`--header-timeout-ms`, `--body-timeout-ms`,
//! `--idle-timeout-ms`, `--max-connections`, `--max-header-bytes`,
//! `--max-buffered-body-bytes`); see `docs/reference.md` for what happens past each.
//!
//! With `--quotas`, DIS's write quotas per partition are enforced (`--stream NAME:N:advanced`
//! for an advanced stream's rates, `--quota-scale` to scale them); throttled records are
//! counted in `records_throttled` of `/local/v1/stats`.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use dis_local::{LocalDis, LocalFlags};

/// Local DIS SendRecords endpoint (POST /v2/{project_id}/records) on loopback.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    #[command(flatten)]
    local: LocalFlags,
    /// Grow a stream's partition count while running, as DIS scaling does: AFTER (seconds, or
    /// `500ms`, `10s`) from the start, STREAM gets N partitions. Repeatable.
    #[arg(long = "grow-partitions", value_name = "AFTER:STREAM:N")]
    grow_partitions: Vec<dis_local::PartitionGrowth>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // "dis-local: invalid configuration: stream "a" is configured twice",
            // "dis-local: cannot listen on 127.0.0.1:8080: Address already in use (os error 98)"
            eprintln!("dis-local: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the endpoint as `args` say and serves until Ctrl-C or SIGTERM.
async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let config = args.local.config()?;
    let dis = LocalDis::start(config, args.local.listen).await?;
    for growth in args.grow_partitions {
        dis.grow_partitions_later(growth);
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", dis.endpoint())?;
    stdout.flush()?;
    drop(stdout);
    eprintln!("streams: {}", args.local.described_streams());

    dis_local::shutdown_signal().await;
    eprintln!("stopping; {:?}", dis.stats());
    dis.shutdown().await;
    Ok(())
}
