//! The main job: send records to DIS and print each record's partition and sequence number
//! (or its error), then a summary.
//!
//! With no endpoint configured it starts the embedded local DIS endpoint (stream `newstream`,
//! 4 partitions) and sends there, so it works offline. Configuration: flags, else the
//! environment (`DIS_ENDPOINT`, `DIS_PROJECT_ID` or `HUAWEICLOUD_SDK_PROJECT_ID`, `DIS_STREAM`,
//! `DIS_AUTH_TOKEN`, or AK/SK from `HUAWEICLOUD_SDK_AK` / `HUAWEICLOUD_SDK_SK` /
//! `HUAWEICLOUD_SDK_SECURITY_TOKEN`).
//!
//! Input: `--generate N --size BYTES` generated records; else one record per line of stdin
//! when stdin is not a terminal; else a few sample records. Exit status 1 when any record
//! failed or the request was refused.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use dis_local::{FaultFlags, LocalConfig, LocalDis, StreamConfig};
use dis_records::{
    BodyFormat, Compression, Credentials, Delivery, DisClient, Limits, Producer, ProducerConfig,
    Record, RetryPolicy, StreamKind,
};

#[derive(Parser, Debug)]
#[command(about = "Send records to a DIS stream (the embedded local endpoint by default)")]
struct Args {
    /// DIS endpoint: a region (cn-north-4) or a URL. Unset: start the embedded local endpoint.
    #[arg(long, env = "DIS_ENDPOINT")]
    endpoint: Option<String>,
    /// Project ID (else HUAWEICLOUD_SDK_PROJECT_ID).
    #[arg(long, env = "DIS_PROJECT_ID")]
    project_id: Option<String>,
    /// Stream name.
    #[arg(long, env = "DIS_STREAM", default_value = "newstream")]
    stream: String,
    /// IAM token (X-Auth-Token). Else AK/SK from HUAWEICLOUD_SDK_AK/SK, else DIS_AUTH_TOKEN.
    #[arg(long)]
    token: Option<String>,
    /// partition_key for every record.
    #[arg(long)]
    partition_key: Option<String>,
    /// Send N generated records (each payload unique and containing its index); stdin is not read.
    #[arg(long)]
    generate: Option<u64>,
    /// Size in bytes of each generated record.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Records per request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Limits of an advanced stream (5 MiB per request) instead of a common one (1 MiB).
    #[arg(long)]
    advanced: bool,
    /// The stream's kind: its request limit, and (with --partitions) each partition paced by a
    /// token bucket at the kind's quota (common: 1,000 records/s or 1 MiB/s; advanced: 2,000
    /// records/s or 5 MiB/s). The embedded endpoint's stream gets this kind.
    #[arg(long, value_name = "common|advanced")]
    stream_kind: Option<String>,
    /// Send again requests whose answer was lost (may duplicate records).
    #[arg(long)]
    retry_ambiguous: bool,
    /// The stream's partition count: the producer routes records to partitions itself and
    /// adapts its send rate per partition to DIS's throttling. (The embedded endpoint gets this
    /// many partitions; default 4.)
    #[arg(long)]
    partitions: Option<u32>,
    /// Do not adapt the send rate to throttling (today's behaviour: back off and retry).
    #[arg(long)]
    no_adapt: bool,
    /// Generated record i gets the partition key `key-{i % N}`.
    #[arg(long)]
    keys: Option<u64>,
    /// Ordered mode: per partition key, acknowledged records appear in the stream in input order.
    #[arg(long)]
    ordered: bool,
    /// Seconds a record may take before it is handed back as expired.
    #[arg(long, default_value_t = 120)]
    deadline_s: u64,
    /// The embedded endpoint enforces DIS's per-partition quotas (common stream).
    #[arg(long)]
    quotas: bool,
    /// Request bodies: json (as the DIS document describes) or protobuf (as Huawei's SDKs can
    /// send them: raw bytes, no Base64).
    #[arg(long, value_enum, default_value = "json")]
    body: Body,
    /// Compress request bodies: lz4, zstd or snappy, as Huawei's Java SDK can (each needs
    /// dis-records' cargo feature of that name).
    #[arg(long, value_name = "lz4|zstd|snappy")]
    compress: Option<String>,
    /// End with one JSON line of totals.
    #[arg(long)]
    json: bool,
    /// Print a line per record even with --generate.
    #[arg(long)]
    verbose: bool,
    /// Fault injection of the embedded endpoint (ignored with --endpoint).
    #[command(flatten)]
    faults: FaultFlags,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Body {
    Json,
    Protobuf,
}

const SAMPLES: [&str; 4] = [
    "hello from dis-records",
    "{\"event\":\"login\",\"user\":\"u-1\"}",
    "{\"event\":\"click\",\"user\":\"u-2\"}",
    "data",
];

/// A generated payload of `size` bytes that is unique and starts with its index.
/// `--size` must hold the index (`{i:012}`): smaller payloads could not all be unique.
const MIN_GENERATED_SIZE: usize = 12;

fn generated(i: u64, size: usize) -> Vec<u8> {
    let mut data = format!("{i:012}").into_bytes();
    data.resize(size, b'x');
    data
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    if args.generate.is_some() && args.size < MIN_GENERATED_SIZE {
        return Err(format!(
            "--size {}: generated records hold their 12-digit index, so at least {MIN_GENERATED_SIZE} bytes",
            args.size
        )
        .into());
    }
    let compression = match args.compress.as_deref() {
        None => Compression::None,
        Some(name) => Compression::from_name(name)
            .ok_or_else(|| format!("--compress {name:?}: expected lz4, zstd or snappy"))?,
    };
    let stream_kind = match args.stream_kind.as_deref() {
        None => None,
        Some(name) => Some(
            StreamKind::from_name(name)
                .ok_or_else(|| format!("--stream-kind {name:?}: expected common or advanced"))?,
        ),
    };
    let credentials = match &args.token {
        Some(token) => Some(Credentials::token(token.clone())),
        None => Credentials::from_env()?,
    };
    // DIS: 1 MiB of record data per request on a common stream, 5 MiB on an advanced one.
    let advanced = args.advanced || stream_kind == Some(StreamKind::Advanced);
    let (base, max_request_bytes) = if advanced {
        (Limits::ADVANCED, 5 * 1024 * 1024)
    } else {
        (Limits::COMMON, 1024 * 1024)
    };
    let limits = base.with_max_records_per_request(args.batch);
    let project_id = args
        .project_id
        .clone()
        .or_else(|| std::env::var("HUAWEICLOUD_SDK_PROJECT_ID").ok());

    // No endpoint: start the embedded local endpoint, with the fault flags.
    let mut local = None;
    let (endpoint, project_id, credentials) = match &args.endpoint {
        Some(e) => (
            e.clone(),
            project_id.ok_or("no project ID: set DIS_PROJECT_ID or --project-id")?,
            credentials.ok_or(
                "no credentials: set DIS_AUTH_TOKEN, --token, or HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK",
            )?,
        ),
        None => {
            let mut config = LocalConfig::default()
                .with_streams([StreamConfig::new(
                    args.stream.clone(),
                    args.partitions.unwrap_or(4),
                )
                .with_kind(if advanced {
                    dis_local::StreamKind::Advanced
                } else {
                    dis_local::StreamKind::Common
                })])
                .with_quotas(args.quotas)
                .with_retain(false)
                .with_max_request_bytes(max_request_bytes)
                .with_max_records_per_request(args.batch)
                .with_faults(args.faults.faults());
            // AK/SK from the environment (what `Credentials::from_env` signs with when no
            // --token is given): the embedded endpoint checks the same pair.
            let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
            if let (None, Some(ak), Some(sk)) = (
                &args.token,
                env("HUAWEICLOUD_SDK_AK"),
                env("HUAWEICLOUD_SDK_SK"),
            ) {
                config = config.with_aksk(ak, sk);
            }
            let server = LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            eprintln!(
                "no DIS_ENDPOINT: using the embedded local endpoint at {}",
                server.endpoint()
            );
            let endpoint = server.endpoint();
            local = Some(server);
            (
                endpoint,
                project_id.unwrap_or_else(|| "local-project".into()),
                credentials.unwrap_or_else(|| Credentials::token("local")),
            )
        }
    };

    let client = DisClient::builder(endpoint, project_id)
        .credentials(credentials)
        .limits(limits)
        .compression(compression)
        .build()?;
    let mut config = ProducerConfig::default()
        .with_adaptive(!args.no_adapt)
        .with_order_by_key(args.ordered)
        .with_deadline(Duration::from_secs(args.deadline_s.max(1)))
        .with_body_format(match args.body {
            Body::Json => BodyFormat::Json,
            Body::Protobuf => BodyFormat::Protobuf,
        })
        .with_max_in_flight(args.concurrency.max(1))
        .with_retry(RetryPolicy::default().with_retry_ambiguous(args.retry_ambiguous));
    if let Some(p) = args.partitions {
        config = config.with_partitions(p);
    }
    if let Some(kind) = stream_kind {
        config = config.with_stream_kind(kind);
    }
    let producer = Producer::new(client, &args.stream, config)?;
    let key = args.partition_key.clone();
    let with_key = move |r: Record| match &key {
        Some(k) => r.with_partition_key(k.clone()),
        None => r,
    };

    let per_record = args.generate.is_none() || args.verbose;
    let print = move |d: Delivery| {
        if !per_record {
            return;
        }
        match &d.result {
            Ok(ack) => println!(
                "record {}: partition {} sequence {}",
                d.id, ack.partition_id, ack.sequence_number
            ),
            Err(e) => println!(
                "record {}: FAILED after {} attempt(s): {e}",
                d.id, d.attempts
            ),
        }
    };
    let started = Instant::now();
    let bytes;
    let summary = if let Some(n) = args.generate {
        let size = args.size;
        bytes = n * size as u64;
        let keys = args.keys;
        let records = (0..n).map(move |i| {
            let record = with_key(Record::new(generated(i, size)));
            match keys {
                Some(k) => record.with_partition_key(format!("key-{}", i % k.max(1))),
                None => record,
            }
        });
        producer.send_all(records, print).await
    } else {
        let stdin = std::io::stdin();
        let lines: Vec<String> = if stdin.is_terminal() {
            Vec::new()
        } else {
            stdin.lock().lines().collect::<Result<_, _>>()?
        };
        let lines: Vec<String> = if lines.is_empty() {
            SAMPLES.iter().map(|s| s.to_string()).collect()
        } else {
            lines
        };
        bytes = lines.iter().map(|l| l.len() as u64).sum();
        let records = lines.into_iter().map(move |l| with_key(Record::new(l)));
        producer.send_all(records, print).await
    };
    let seconds = started.elapsed().as_secs_f64().max(f64::EPSILON);
    eprintln!(
        "sent {} records: {} acknowledged, {} failed, {} retries, {} requests, {:.3} s",
        summary.sent,
        summary.acknowledged,
        summary.failed,
        summary.retries,
        summary.requests,
        seconds
    );
    if args.json {
        println!(
            "{{\"sent\":{},\"acknowledged\":{},\"failed\":{},\"retries\":{},\"throttled\":{},\"requests\":{},\"seconds\":{:.6},\"records_per_s\":{:.1},\"mb_per_s\":{:.3}}}",
            summary.sent,
            summary.acknowledged,
            summary.failed,
            summary.retries,
            summary.throttled,
            summary.requests,
            seconds,
            summary.sent as f64 / seconds,
            bytes as f64 / 1e6 / seconds
        );
    }
    if let Some(server) = local {
        tokio::time::timeout(Duration::from_secs(5), server.shutdown())
            .await
            .ok();
    }
    Ok(if summary.failed == 0 && summary.sent > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
