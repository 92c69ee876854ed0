//! The flags of `dis-records send`: every flag and environment variable of the former
//! `examples/send_records.rs`, by the same names, and the input, output and shipping ones.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use dis_local::FaultFlags;

/// Send records to a DIS stream: `--generate N` generated records; else the lines of FILE...
/// (or of stdin when no FILE is given and stdin is not a terminal), streamed; else a few
/// sample records. With no endpoint configured, the embedded local endpoint (stream
/// `newstream`, 4 partitions) receives them, so it works offline.
#[derive(Args, Debug)]
pub struct SendArgs {
    /// Files to send, line by line, in order (none: stdin).
    #[arg(value_name = "FILE", conflicts_with_all = ["generate", "follow"])]
    pub files: Vec<PathBuf>,
    /// DIS endpoint: a region (cn-north-4) or a URL. Unset: start the embedded local endpoint.
    #[arg(long, env = "DIS_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Project ID (else HUAWEICLOUD_SDK_PROJECT_ID).
    #[arg(long, env = "DIS_PROJECT_ID")]
    pub project_id: Option<String>,
    /// Stream name.
    #[arg(long, env = "DIS_STREAM", default_value = "newstream")]
    pub stream: String,
    /// IAM token (X-Auth-Token). Else AK/SK from HUAWEICLOUD_SDK_AK/SK, else DIS_AUTH_TOKEN.
    #[arg(long)]
    pub token: Option<String>,
    /// partition_key for every record (a JSON line's own partition_key wins).
    #[arg(long)]
    pub partition_key: Option<String>,
    /// Send N generated records (each payload unique and containing its index); no input is
    /// read.
    #[arg(long, conflicts_with = "follow")]
    pub generate: Option<u64>,
    /// Size in bytes of each generated record.
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Records per request.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Limits of an advanced stream (5 MiB per request) instead of a common one (1 MiB).
    #[arg(long)]
    pub advanced: bool,
    /// The stream's kind: its request limit, and (with --partitions) each partition paced by a
    /// token bucket at the kind's quota (common: 1,000 records/s or 1 MiB/s; advanced: 2,000
    /// records/s or 5 MiB/s). The embedded endpoint's stream gets this kind.
    #[arg(long, value_name = "common|advanced")]
    pub stream_kind: Option<String>,
    /// Send again requests whose answer was lost (may duplicate records).
    #[arg(long)]
    pub retry_ambiguous: bool,
    /// The stream's partition count: the producer routes records to partitions itself and
    /// adapts its send rate per partition to DIS's throttling. (The embedded endpoint gets this
    /// many partitions; default 4.)
    #[arg(long)]
    pub partitions: Option<u32>,
    /// Do not adapt the send rate to throttling (back off and retry only).
    #[arg(long)]
    pub no_adapt: bool,
    /// Generated record i gets the partition key `key-{i % N}`.
    #[arg(long)]
    pub keys: Option<u64>,
    /// Ordered mode: per partition key, acknowledged records appear in the stream in input order.
    #[arg(long)]
    pub ordered: bool,
    /// Seconds a record may take before it is handed back as expired.
    #[arg(long, default_value_t = 120)]
    pub deadline_s: u64,
    /// The embedded endpoint enforces DIS's per-partition quotas (common stream).
    #[arg(long)]
    pub quotas: bool,
    /// Request bodies: json (as the DIS document describes) or protobuf (as Huawei's SDKs can
    /// send them: raw bytes, no Base64).
    #[arg(long, value_enum, default_value = "json")]
    pub body: Body,
    /// Compress request bodies: lz4, zstd or snappy, as Huawei's Java SDK can (each needs the
    /// cargo feature of that name: `cargo install --path cli --features lz4`).
    #[arg(long, value_name = "lz4|zstd|snappy")]
    pub compress: Option<String>,
    /// End with one JSON line of totals on stdout (and no progress line).
    #[arg(long)]
    pub json: bool,
    /// Print a line per record even with --generate or --follow.
    #[arg(long)]
    pub verbose: bool,
    /// How input lines become records: `lines` (each line is a record's data) or `jsonl`
    /// (each line a JSON object: `data` text or `data_base64`, and optional `partition_key`,
    /// `partition_id`, `explicit_hash_key`).
    #[arg(long, value_enum, default_value = "lines")]
    pub format: Format,
    /// Milliseconds a record may wait for others to fill its request (0 to 60,000).
    #[arg(long, default_value_t = 20)]
    pub linger_ms: u64,
    /// Follow FILE as it grows (like `tail -F`: through rename rotation and truncation) until
    /// Ctrl-C or SIGTERM.
    #[arg(long, value_name = "FILE")]
    pub follow: Option<PathBuf>,
    /// With --follow: where the position (file identity and offset) is kept. It is written
    /// (temp file and rename) only once every line before it is acknowledged; a restart goes on
    /// from it.
    #[arg(long, value_name = "PATH", requires = "follow")]
    pub checkpoint: Option<PathBuf>,
    /// Serve the producer's metrics as Prometheus text at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// No progress line, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Fault injection of the embedded endpoint (ignored with --endpoint).
    #[command(flatten)]
    pub faults: FaultFlags,
}

/// Request body format.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Body {
    /// JSON, data in Base64.
    Json,
    /// Protobuf, data as raw bytes.
    Protobuf,
}

/// Input line format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Each line is a record's data.
    Lines,
    /// Each line is a JSON object describing a record.
    Jsonl,
}
