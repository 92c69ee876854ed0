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
//! `--max-buffered-body-bytes`); see the README for what happens past each.
//!
//! With `--quotas`, DIS's write quotas per partition are enforced (`--stream NAME:N:advanced`
//! for an advanced stream's rates, `--quota-scale` to scale them); throttled records are
//! counted in `records_throttled` of `/local/v1/stats`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use dis_local::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BUFFERED_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_RECORDS_PER_REQUEST, DEFAULT_MAX_REQUEST_BYTES,
    FaultFlags, IamFlags, LocalConfig, LocalDis, StreamConfig,
};

/// Local DIS SendRecords endpoint (POST /v2/{project_id}/records) on loopback.
#[derive(Parser, Debug)]
#[command(version)]
#[command(group = clap::ArgGroup::new("signed").multiple(true))]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// A stream as NAME:PARTITIONS[:common|advanced] (1 to 100 partitions; common by
    /// default); repeat for more streams [default: newstream:4].
    #[arg(long = "stream", value_name = "NAME:PARTITIONS[:KIND]")]
    streams: Vec<StreamConfig>,
    /// The only accepted X-Auth-Token (default: any non-empty token).
    #[arg(long)]
    token: Option<String>,
    /// Access key accepted for signed requests (needs --sk): SDK-HMAC-SHA256 (Access= or
    /// Credential=) and V11-HMAC-SHA256 signatures are verified.
    #[arg(long, env = "DIS_LOCAL_AK", requires = "sk", group = "signed")]
    ak: Option<String>,
    /// Secret key matching --ak.
    #[arg(long, env = "DIS_LOCAL_SK", requires = "ak", hide_env_values = true)]
    sk: Option<String>,
    /// Accept any well-formed Authorization signature header without verifying it (any
    /// algorithm, access key, date and signature).
    #[arg(long, group = "signed")]
    accept_any_signature: bool,
    /// Refuse X-Auth-Token authentication (only signed requests pass; needs --ak/--sk or
    /// --accept-any-signature).
    #[arg(long, requires = "signed")]
    no_token: bool,
    /// Count records without keeping payloads (for memory benchmarks).
    #[arg(long)]
    no_retain: bool,
    /// Largest sum of decoded record data per request, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    max_request_bytes: usize,
    /// Largest decoded record, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_RECORD_BYTES)]
    max_record_bytes: usize,
    /// Most records per request.
    #[arg(long, default_value_t = DEFAULT_MAX_RECORDS_PER_REQUEST)]
    max_records: usize,
    /// Time allowed for a request head, in milliseconds: from the accept on a new connection,
    /// from the first byte of the request on a keep-alive one (then closed without an answer).
    #[arg(long, default_value_t = millis(DEFAULT_HEADER_READ_TIMEOUT), value_parser = nonzero_u64)]
    header_timeout_ms: u64,
    /// Deadline for a whole request body, in milliseconds from its head (then 408 and close).
    #[arg(long, default_value_t = millis(DEFAULT_BODY_READ_TIMEOUT), value_parser = nonzero_u64)]
    body_timeout_ms: u64,
    /// Idle keep-alive timeout, in milliseconds from the end of the last answer (then closed).
    #[arg(long, default_value_t = millis(DEFAULT_IDLE_TIMEOUT), value_parser = nonzero_u64)]
    idle_timeout_ms: u64,
    /// Most open connections; past it the longest-idle connection is closed, or, when all have
    /// a request in progress, the new one is answered 503 DIS.5250 and closed.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = nonzero_usize)]
    max_connections: usize,
    /// Largest request head (request line and headers), in bytes; larger: 431.
    #[arg(long, default_value_t = DEFAULT_MAX_HEADER_BYTES, value_parser = nonzero_usize)]
    max_header_bytes: usize,
    /// Budget of request body bytes buffered at once, all connections together; a request that
    /// cannot get its share is answered 503 DIS.5250.
    #[arg(long, default_value_t = DEFAULT_MAX_BUFFERED_BODY_BYTES, value_parser = nonzero_usize)]
    max_buffered_body_bytes: usize,
    /// Fault injection.
    #[command(flatten)]
    faults: FaultFlags,
    /// IAM, metadata and pod identity.
    #[command(flatten)]
    iam: IamFlags,
    /// Enforce DIS's write quotas per partition (common: 1 MiB/s or 1,000 records/s; advanced:
    /// 5 MiB/s or 2,000 records/s; bursts of one second): records past them are answered
    /// DIS.4303 and not stored.
    #[arg(long)]
    quotas: bool,
    /// Multiply the quota rates by this positive factor (0.1: a tenth of DIS's rates).
    #[arg(long, default_value_t = 1.0, value_parser = positive_f64)]
    quota_scale: f64,
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
    let mut config = LocalConfig::default()
        .with_accept_token(!args.no_token)
        .with_accept_any_signature(args.accept_any_signature)
        .with_retain(!args.no_retain)
        .with_max_request_bytes(args.max_request_bytes)
        .with_max_record_bytes(args.max_record_bytes)
        .with_max_records_per_request(args.max_records)
        .with_header_read_timeout(Duration::from_millis(args.header_timeout_ms))
        .with_body_read_timeout(Duration::from_millis(args.body_timeout_ms))
        .with_idle_timeout(Duration::from_millis(args.idle_timeout_ms))
        .with_max_connections(args.max_connections)
        .with_max_header_bytes(args.max_header_bytes)
        .with_max_buffered_body_bytes(args.max_buffered_body_bytes)
        .with_faults(args.faults.faults())
        .with_quotas(args.quotas)
        .with_quota_scale(args.quota_scale);
    config = args.iam.apply(config);
    // No --stream: LocalConfig's default stream, spelled out to be listed below.
    let streams = if args.streams.is_empty() {
        vec![StreamConfig::new("newstream", 4)]
    } else {
        args.streams
    };
    let described: Vec<String> = streams
        .iter()
        .map(|s| {
            let id = s.stream_id();
            format!("{}:{}:{} (id {id})", s.name, s.partitions, s.kind)
        })
        .collect();
    config = config.with_streams(streams);
    if let Some(token) = args.token {
        config = config.with_token(token);
    }
    if let Some((ak, sk)) = args.ak.zip(args.sk) {
        config = config.with_aksk(ak, sk);
    }

    let dis = LocalDis::start(config, args.listen).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", dis.endpoint())?;
    stdout.flush()?;
    drop(stdout);
    eprintln!("streams: {}", described.join(", "));

    dis_local::shutdown_signal().await;
    eprintln!("stopping; {:?}", dis.stats());
    dis.shutdown().await;
    Ok(())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn nonzero_u64(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(x) => Err(format!("{x} is not a positive finite number")),
        Err(e) => Err(e.to_string()),
    }
}

fn nonzero_usize(s: &str) -> Result<usize, String> {
    nonzero_u64(s).and_then(|n| usize::try_from(n).map_err(|e| e.to_string()))
}
