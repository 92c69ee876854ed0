//! The flags of `dis-records send`: every flag and environment variable of the former
//! `examples/send_records.rs`, by the same names, and the input, output and shipping ones.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use dis_local::FaultFlags;

/// Send records to a DIS stream: `--generate N` generated records; else the lines of FILE...
/// (or of stdin when no FILE is given), streamed; else followed files (`--follow`). With
/// `--local`, the embedded local endpoint (stream `newstream`, 4 partitions, in memory)
/// receives them; with no endpoint and no input at all, it receives a few sample records.
#[derive(Args, Debug)]
pub struct SendArgs {
    /// Files to send, line by line, in order (none: stdin).
    #[arg(value_name = "FILE", conflicts_with_all = ["generate", "follow"])]
    pub files: Vec<PathBuf>,
    /// DIS endpoint: a region (cn-north-4) or a URL.
    #[arg(long, env = "DIS_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Send to the embedded local endpoint (in memory: nothing is kept after the run) instead
    /// of DIS. Without it and without an endpoint, only the sample records of a run with no
    /// input at all go there.
    #[arg(long)]
    pub local: bool,
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
    /// Deprecated: use --stream-kind advanced.
    #[arg(long, hide = true)]
    pub advanced: bool,
    /// The stream's kind: its request limit, and (with --partitions) each partition paced by a
    /// token bucket at the kind's quota (common: 1,000 records/s or 1 MiB/s; advanced: 2,000
    /// records/s or 5 MiB/s). The embedded endpoint's stream gets this kind.
    #[arg(long, value_name = "common|advanced")]
    pub stream_kind: Option<String>,
    /// Send again requests whose answer was lost (may duplicate records).
    #[arg(long)]
    pub retry_ambiguous: bool,
    /// The stream's partition count, an override: the producer learns it from DIS
    /// (DescribeStream), and where DIS answers otherwise, DIS wins with a warning. It routes
    /// records to partitions itself and paces each one. (The embedded endpoint gets this many
    /// partitions; default 4.)
    #[arg(long)]
    pub partitions: Option<u32>,
    /// How each partition is paced: `quota` (its kind's quota, shared with other producers:
    /// starts at half, probes up, backs off by DIS's refusals), `quota-alone` (the whole quota
    /// from the first request, never lowered), `adaptive` (from DIS's refusals alone), `off`
    /// (none: for an endpoint that enforces no quota, as dis-local does unless told to).
    #[arg(long, value_enum, default_value_t = PacingArg::Quota)]
    pub pacing: PacingArg,
    /// Same as --pacing quota-alone.
    #[arg(long)]
    pub no_adapt: bool,
    /// Generated record i gets the partition key `key-{i % N}`.
    #[arg(long)]
    pub keys: Option<u64>,
    /// Ordered mode: per partition key, acknowledged records appear in the stream in input order.
    #[arg(long)]
    pub ordered: bool,
    /// Seconds a record may take before it is handed back as expired, its last error with it
    /// [default: 120; with --follow, 604800 (a week): a shipper retries, warning every 10 s].
    #[arg(long, value_name = "S")]
    pub deadline_s: Option<u64>,
    /// On SIGTERM or SIGINT: reading stops, and what was read is delivered within this long
    /// before the summary (a second signal exits at once).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
    /// PEM file of root certificates to trust besides the system's (a private CA of the
    /// endpoint).
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// A TOML file of settings: each key a flag's long name (`stream = "logs"`,
    /// `follow = ["/var/log/app/*.log"]`); flags and environment variables override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The embedded endpoint enforces DIS's per-partition quotas (common stream).
    #[arg(long, help_heading = EMBEDDED)]
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
    /// Follow FILE as it grows, like `tail -F`: through rename rotation and truncation, until
    /// Ctrl-C or SIGTERM. A glob follows every file it matches, also those that appear later;
    /// repeat for more. A file not there yet is waited for.
    #[arg(long, value_name = "FILE|GLOB")]
    pub follow: Vec<String>,
    /// With --follow: where each file's position is kept (file identity, fingerprint and
    /// offset, and the endpoint, project and stream it is for). It is written only once every
    /// line before it is acknowledged; a restart goes on from it. One shipper per checkpoint.
    #[arg(long, value_name = "PATH")]
    pub checkpoint: Option<PathBuf>,
    /// Start over: forget what the checkpoint holds (files are read from --start-at).
    #[arg(long)]
    pub checkpoint_reset: bool,
    /// Where a followed file goes when rotated, as a glob; `{}` stands for the file's path
    /// (repeat for more) [default: {}.[0-9]* and {}-[0-9]*]. Compressed files (.gz, .zst, ...)
    /// are never read.
    #[arg(long, value_name = "GLOB")]
    pub rotated: Vec<String>,
    /// How long a rotated file is still read after another took its name (a logger may write
    /// to it late): 5s, 500ms, 1m.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub rotate_wait: Duration,
    /// Where files with no checkpointed position start: at their beginning or their end.
    #[arg(long, value_enum, default_value = "beginning")]
    pub start_at: StartAt,
    /// Each record's partition key from its origin: `path`, the followed file's path (one
    /// file's lines stay in order in one partition).
    #[arg(long, value_enum, value_name = "path")]
    pub key_from: Option<KeyFrom>,
    /// A line that matches REGEX starts an event; the lines that do not are appended to the
    /// event before them (stack traces), up to a record's size.
    #[arg(long, value_name = "REGEX")]
    pub multiline_start: Option<String>,
    /// With --multiline-start: an event is sent once no line came for this long.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    pub multiline_timeout: Duration,
    /// Serve the producer's metrics as Prometheus text at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// No progress line, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Fault injection of the embedded endpoint (refused with --endpoint).
    #[command(flatten, next_help_heading = EMBEDDED)]
    pub faults: FaultFlags,
    /// The embedded-endpoint flags given (filled from the command line, not a flag itself).
    #[arg(skip)]
    pub embedded_only: Vec<String>,
}

/// The help heading of the flags that only the embedded endpoint (`--local`) takes.
pub const EMBEDDED: &str = "Embedded endpoint only (--local; refused with --endpoint)";

/// The ids of the flags [`EMBEDDED`] lists.
pub const EMBEDDED_FLAGS: [&str; 7] = [
    "quotas",
    "fail_records",
    "fail_requests",
    "drop_before",
    "drop_after",
    "delay_ms",
    "seed",
];

/// A week: the longest deadline, a shipper's (it retries for ever, in effect).
const FOLLOW_DEADLINE_S: u64 = 7 * 24 * 3600;

impl SendArgs {
    /// How long a record may take: --deadline-s, else 120 s, else for a shipper a week.
    pub fn deadline(&self) -> Duration {
        let default = if self.follow.is_empty() {
            120
        } else {
            FOLLOW_DEADLINE_S
        };
        Duration::from_secs(
            self.deadline_s
                .unwrap_or(default)
                .clamp(1, FOLLOW_DEADLINE_S),
        )
    }
}

/// How each partition is paced (`--pacing`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacingArg {
    /// At its kind's quota, shared with other producers.
    Quota,
    /// At the whole quota from the first request, never lowered.
    QuotaAlone,
    /// From DIS's refusals alone.
    Adaptive,
    /// None.
    Off,
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

/// Where followed files with no checkpointed position start.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// From their first line.
    Beginning,
    /// From their end: only lines written from now on.
    End,
}

/// Where a record's partition key comes from.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFrom {
    /// The followed file's path.
    Path,
}
