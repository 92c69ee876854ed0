//! Every flag of the `dis-local` binary as one `clap` definition, [`LocalFlags`], so that any
//! other binary that runs the endpoint in the foreground (`dis-records local`) takes the same
//! flags, spelled the same way.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BUFFERED_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_RECORDS_PER_REQUEST, DEFAULT_MAX_REQUEST_BYTES,
    FaultFlags, IamFlags, LocalConfig, StreamConfig,
};

/// The local endpoint's flags: where it listens, its streams, authentication, limits, write
/// quotas, fault injection, the credential sources it plays, and (feature `tls`) HTTPS.
/// Embed them with `#[command(flatten)]`:
///
/// ```
/// use clap::Parser;
/// use dis_local::LocalFlags;
///
/// #[derive(Parser)]
/// struct Args {
///     #[command(flatten)]
///     local: LocalFlags,
/// }
///
/// let args = Args::parse_from(["prog", "--stream", "logs:2", "--quotas", "--quota-scale", "0.5"]);
/// let config = args.local.config().unwrap();
/// # let _ = config;
/// assert_eq!(args.local.streams()[0].name, "logs");
/// ```
#[derive(clap::Args, Clone)]
#[command(group = clap::ArgGroup::new("signed").multiple(true))]
#[non_exhaustive]
pub struct LocalFlags {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// A stream as NAME:PARTITIONS[:common|advanced] (1 to 100 partitions; common by
    /// default); repeat for more streams [default: newstream:4].
    #[arg(long = "stream", value_name = "NAME:PARTITIONS[:KIND]")]
    pub streams: Vec<StreamConfig>,
    /// The only accepted X-Auth-Token (default: any non-empty token).
    #[arg(long)]
    pub token: Option<String>,
    /// Access key accepted for signed requests (needs --sk): SDK-HMAC-SHA256 (Access= or
    /// Credential=) and V11-HMAC-SHA256 signatures are verified.
    #[arg(long, env = "DIS_LOCAL_AK", requires = "sk", group = "signed")]
    pub ak: Option<String>,
    /// Secret key matching --ak.
    #[arg(long, env = "DIS_LOCAL_SK", requires = "ak", hide_env_values = true)]
    pub sk: Option<String>,
    /// Accept any well-formed Authorization signature header without verifying it (any
    /// algorithm, access key, date and signature).
    #[arg(long, group = "signed")]
    pub accept_any_signature: bool,
    /// Refuse X-Auth-Token authentication (only signed requests pass; needs --ak/--sk or
    /// --accept-any-signature).
    #[arg(long, requires = "signed")]
    pub no_token: bool,
    /// Count records without keeping payloads (no read-back; for memory benchmarks).
    #[arg(long)]
    pub no_retain: bool,
    /// Largest sum of decoded record data per request, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    pub max_request_bytes: usize,
    /// Largest decoded record, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_RECORD_BYTES)]
    pub max_record_bytes: usize,
    /// Most records per request.
    #[arg(long, default_value_t = DEFAULT_MAX_RECORDS_PER_REQUEST)]
    pub max_records: usize,
    /// Time allowed for a request head, in milliseconds: from the accept on a new connection,
    /// from the first byte of the request on a keep-alive one (then closed without an answer).
    #[arg(long, default_value_t = millis(DEFAULT_HEADER_READ_TIMEOUT), value_parser = nonzero_u64)]
    pub header_timeout_ms: u64,
    /// Deadline for a whole request body, in milliseconds from its head (then 408 and close).
    #[arg(long, default_value_t = millis(DEFAULT_BODY_READ_TIMEOUT), value_parser = nonzero_u64)]
    pub body_timeout_ms: u64,
    /// Idle keep-alive timeout, in milliseconds from the end of the last answer (then closed).
    #[arg(long, default_value_t = millis(DEFAULT_IDLE_TIMEOUT), value_parser = nonzero_u64)]
    pub idle_timeout_ms: u64,
    /// Most open connections; past it the longest-idle connection is closed, or, when all have
    /// a request in progress, the new one is answered 503 DIS.5250 and closed.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = nonzero_usize)]
    pub max_connections: usize,
    /// Largest request head (request line and headers), in bytes; larger: 431.
    #[arg(long, default_value_t = DEFAULT_MAX_HEADER_BYTES, value_parser = nonzero_usize)]
    pub max_header_bytes: usize,
    /// Budget of request body bytes buffered at once, all connections together; a request that
    /// cannot get its share is answered 503 DIS.5250.
    #[arg(long, default_value_t = DEFAULT_MAX_BUFFERED_BODY_BYTES, value_parser = nonzero_usize)]
    pub max_buffered_body_bytes: usize,
    /// Enforce DIS's write quotas per partition (common: 1 MiB/s or 1,000 records/s; advanced:
    /// 5 MiB/s or 2,000 records/s; bursts of one second): records past them are answered
    /// DIS.4303 and not stored.
    #[arg(long)]
    pub quotas: bool,
    /// Multiply the quota rates by this positive factor (0.1: a tenth of DIS's rates).
    #[arg(long, default_value_t = 1.0, value_parser = positive_f64)]
    pub quota_scale: f64,
    /// Serve HTTPS with this PEM certificate chain (the server's certificate first; needs
    /// --tls-key; feature `tls`).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Fault injection.
    #[command(flatten)]
    pub faults: FaultFlags,
    /// IAM, metadata and pod identity.
    #[command(flatten)]
    pub iam: IamFlags,
}

/// Shows where it listens and its streams; never a token, key or password.
impl std::fmt::Debug for LocalFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalFlags")
            .field("listen", &self.listen)
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

impl LocalFlags {
    /// The streams: those given, else `newstream:4`.
    pub fn streams(&self) -> Vec<StreamConfig> {
        if self.streams.is_empty() {
            vec![StreamConfig::new("newstream", 4)]
        } else {
            self.streams.clone()
        }
    }

    /// The configuration these flags describe; an error names a TLS file that cannot be read.
    pub fn config(&self) -> Result<LocalConfig, String> {
        let mut config = LocalConfig::default()
            .with_accept_token(!self.no_token)
            .with_accept_any_signature(self.accept_any_signature)
            .with_retain(!self.no_retain)
            .with_max_request_bytes(self.max_request_bytes)
            .with_max_record_bytes(self.max_record_bytes)
            .with_max_records_per_request(self.max_records)
            .with_header_read_timeout(Duration::from_millis(self.header_timeout_ms))
            .with_body_read_timeout(Duration::from_millis(self.body_timeout_ms))
            .with_idle_timeout(Duration::from_millis(self.idle_timeout_ms))
            .with_max_connections(self.max_connections)
            .with_max_header_bytes(self.max_header_bytes)
            .with_max_buffered_body_bytes(self.max_buffered_body_bytes)
            .with_faults(self.faults.faults())
            .with_quotas(self.quotas)
            .with_quota_scale(self.quota_scale)
            .with_streams(self.streams());
        config = self.iam.apply(config);
        if let Some(token) = &self.token {
            config = config.with_token(token.clone());
        }
        if let (Some(ak), Some(sk)) = (&self.ak, &self.sk) {
            config = config.with_aksk(ak.clone(), sk.clone());
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            let read = |flag: &str, path: &PathBuf| {
                std::fs::read(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
            };
            config = config.with_tls_pem(read("--tls-cert", cert)?, read("--tls-key", key)?);
        }
        Ok(config)
    }

    /// The streams, described for a startup line: `newstream:4:common (id ...)`.
    pub fn described_streams(&self) -> String {
        self.streams()
            .iter()
            .map(|s| {
                let id = s.stream_id();
                format!("{}:{}:{} (id {id})", s.name, s.partitions, s.kind)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
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
