//! Configuration: [`LocalConfig`] (built with `with_*` methods), [`StreamConfig`] and
//! [`Faults`].

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::ConfigError;
use crate::limits::{
    self, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BUFFERED_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_RECORDS_PER_REQUEST, DEFAULT_MAX_REQUEST_BYTES,
    MAX_PARTITIONS,
};
use crate::routing::hash_partition_key;
use crate::stream_kind::StreamKind;

/// The server's notion of "now" (used to check `X-Sdk-Date`).
pub(crate) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Configuration of a [`LocalDis`](crate::LocalDis), built from [`LocalConfig::default`] with
/// the `with_*` methods:
///
/// ```
/// use dis_local::{LocalConfig, StreamConfig};
/// let config = LocalConfig::default()
///     .with_streams([StreamConfig::new("orders", 3), StreamConfig::new("logs", 1)])
///     .with_token("my-token")
///     .with_max_request_bytes(5 * 1024 * 1024); // an advanced stream
/// assert_eq!(config.body_cap(), 5 * 1024 * 1024 * 8 / 3 + 500 * 1024 + 64 * 1024);
/// ```
///
/// Everything read from the network is bounded, in size and in time, by the connection limits:
/// [`LocalConfig::with_header_read_timeout`], [`LocalConfig::with_body_read_timeout`],
/// [`LocalConfig::with_idle_timeout`], [`LocalConfig::with_max_connections`],
/// [`LocalConfig::with_max_header_bytes`] and [`LocalConfig::with_max_buffered_body_bytes`]
/// (tighten them in tests that play a hostile client):
///
/// ```
/// use std::time::Duration;
/// use dis_local::LocalConfig;
/// let config = LocalConfig::default()
///     .with_header_read_timeout(Duration::from_secs(2))
///     .with_body_read_timeout(Duration::from_secs(2))
///     .with_idle_timeout(Duration::from_secs(5))
///     .with_max_connections(100)
///     .with_max_buffered_body_bytes(16 * 1024 * 1024);
/// # let _ = config;
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct LocalConfig {
    pub(crate) streams: Vec<StreamConfig>,
    pub(crate) token: Option<String>,
    pub(crate) aksk: Option<(String, String)>,
    pub(crate) accept_token: bool,
    pub(crate) accept_any_signature: bool,
    pub(crate) max_record_bytes: usize,
    pub(crate) max_request_bytes: usize,
    pub(crate) max_records_per_request: usize,
    pub(crate) max_body_bytes: Option<usize>,
    pub(crate) retain: bool,
    pub(crate) faults: Faults,
    pub(crate) clock: Clock,
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_buffered_body_bytes: usize,
    pub(crate) quotas: bool,
    pub(crate) quota_scale: f64,
    pub(crate) iam: crate::iam::config::IamConfig,
    /// PEM certificate chain and private key, to serve HTTPS (feature `tls`).
    pub(crate) tls: Option<(Vec<u8>, Vec<u8>)>,
}

impl Default for LocalConfig {
    /// Stream `newstream` with 4 partitions, any non-empty token accepted, no AK/SK, the
    /// default limits (request limits and connection limits), payloads retained, no faults, the
    /// system clock, no write quotas.
    fn default() -> Self {
        LocalConfig {
            streams: vec![StreamConfig::new("newstream", 4)],
            token: None,
            aksk: None,
            accept_token: true,
            accept_any_signature: false,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_records_per_request: DEFAULT_MAX_RECORDS_PER_REQUEST,
            max_body_bytes: None,
            retain: true,
            faults: Faults::default(),
            clock: Arc::new(SystemTime::now),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_buffered_body_bytes: DEFAULT_MAX_BUFFERED_BODY_BYTES,
            quotas: false,
            quota_scale: 1.0,
            iam: Default::default(),
            tls: None,
        }
    }
}

impl LocalConfig {
    /// The streams served, replacing the list (default: `newstream` with 4 partitions). Each
    /// stream also has an id, [`StreamConfig::stream_id`].
    pub fn with_streams(mut self, streams: impl IntoIterator<Item = StreamConfig>) -> Self {
        self.streams = streams.into_iter().collect();
        self
    }

    /// The only accepted `X-Auth-Token` (default: any non-empty token).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// An accepted access key / secret key pair for signed requests (default: none, so an
    /// unauthenticated request gets the gateway's 401). Three signature schemes are verified:
    /// the v3 SDKs' `SDK-HMAC-SHA256 Access=...`, and the hand-written Python SDK's
    /// `SDK-HMAC-SHA256 Credential=...` and `V11-HMAC-SHA256 Credential=...` (derived key).
    pub fn with_aksk(mut self, ak: impl Into<String>, sk: impl Into<String>) -> Self {
        self.aksk = Some((ak.into(), sk.into()));
        self
    }

    /// An IAM user who may log in with a password at `POST /v3/auth/tokens` (user `user` of
    /// account `domain`): the token issued lives [`LocalConfig::with_credential_lifetime`].
    /// Once any credential source is played (a user, [`LocalConfig::with_metadata`] or
    /// [`LocalConfig::with_pod_identity_token`]), SendRecords accepts only the credentials
    /// issued here and not expired, besides the token and pair configured: expired ones get
    /// 401 (`APIGW.0307` for a token, `APIGW.0301` for a temporary AK/SK), unknown ones 401
    /// `APIGW.0301`, counted in [`Stats`](crate::Stats). A token is scoped to the project its
    /// login asks for (by id, or by the name of a [`LocalConfig::with_iam_project`]), or to the
    /// account: SendRecords takes it on that project's path only, and answers 400 `DIS.4117`
    /// (DIS's "Invalid Project Id.") on any other, nothing stored.
    pub fn with_iam_user(
        mut self,
        domain: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.iam.users.push(crate::iam::config::User {
            domain: domain.into(),
            name: user.into(),
            password: password.into(),
        });
        self
    }

    /// A project `GET /v3/projects?name=` lists (by its name, a region such as
    /// `cn-north-4`); configure one name twice to play an account with several.
    pub fn with_iam_project(mut self, name: impl Into<String>, id: impl Into<String>) -> Self {
        self.iam.projects.push((name.into(), id.into()));
        self
    }

    /// How long issued tokens and temporary AK/SK sets live (default
    /// [`DEFAULT_CREDENTIAL_LIFETIME`](crate::DEFAULT_CREDENTIAL_LIFETIME)).
    pub fn with_credential_lifetime(mut self, lifetime: Duration) -> Self {
        self.iam.lifetime = lifetime;
        self
    }

    /// Plays the ECS metadata service (default off): `PUT /meta-data/latest/api/token` and
    /// `GET /openstack/latest/securitykey` issue temporary AK/SK sets.
    pub fn with_metadata(mut self, on: bool) -> Self {
        self.iam.metadata = on;
        self
    }

    /// The metadata paths answer 500 from `after` the start, for `length` (a fault).
    pub fn with_metadata_outage(mut self, after: Duration, length: Duration) -> Self {
        self.iam.metadata_outage = Some((after, length));
        self
    }

    /// Plays CCE pod identity (default off): `POST` [`POD_IDENTITY_PATH`](crate::POD_IDENTITY_PATH)
    /// with `Authorization: token` issues temporary AK/SK sets.
    pub fn with_pod_identity_token(mut self, token: impl Into<String>) -> Self {
        self.iam.pod_token = Some(token.into());
        self
    }

    /// Whether `X-Auth-Token` authentication is accepted at all (default true). With `false`
    /// and an AK/SK pair, only signed requests pass.
    pub fn with_accept_token(mut self, accept: bool) -> Self {
        self.accept_token = accept;
        self
    }

    /// Accept any well-formed signature header without verifying it (default false): an
    /// `Authorization` of the form `ALGORITHM Key=Value, ...` with `SignedHeaders`, `Signature`
    /// and an `Access` or a `Credential` passes, whatever its algorithm, access key, date and
    /// signature; no `X-Sdk-Date` is needed. For clients that sign with a scheme dis-local does
    /// not verify. No `Authorization`: 441 `DIS.4101`; not of that form: 441 `DIS.4102`.
    /// Tokens are still accepted (see [`LocalConfig::with_accept_token`]); an AK/SK pair, when
    /// also set, is not checked.
    pub fn with_accept_any_signature(mut self, accept: bool) -> Self {
        self.accept_any_signature = accept;
        self
    }

    /// Serves HTTPS with the certificate chain `cert_chain` (PEM, the server's certificate
    /// first) and its private key `key` (PEM: PKCS #8, PKCS #1 or SEC1), with the feature
    /// `tls`: for clients that must trust a private CA.
    /// [`LocalDis::endpoint`](crate::LocalDis::endpoint) is then `https://`. A chain or key
    /// that cannot be used is a [`ConfigError::Tls`] at start; without the feature, so is any.
    pub fn with_tls_pem(mut self, cert_chain: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.tls = Some((cert_chain.into(), key.into()));
        self
    }

    /// Largest decoded record (default [`DEFAULT_MAX_RECORD_BYTES`]); larger: 400 `DIS.4200`.
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Largest sum of decoded data per request, partition keys not counted (default
    /// [`DEFAULT_MAX_REQUEST_BYTES`], a common stream; `5 * 1024 * 1024` for an advanced
    /// stream); larger: 413 `DIS.4200`.
    pub fn with_max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// Most records per request (default [`DEFAULT_MAX_RECORDS_PER_REQUEST`]); more: 400
    /// `DIS.4200`.
    pub fn with_max_records_per_request(mut self, records: usize) -> Self {
        self.max_records_per_request = records;
        self
    }

    /// Largest HTTP body read (default: derived, see [`LocalConfig::body_cap`]); larger: 413.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = Some(bytes);
        self
    }

    /// Keep payloads (default true). When false only counts and sequence numbers are kept,
    /// for memory benchmarks of clients that stream millions of records.
    pub fn with_retain(mut self, retain: bool) -> Self {
        self.retain = retain;
        self
    }

    /// Faults injected from the start (default none); change them later with
    /// [`LocalDis::set_faults`](crate::LocalDis::set_faults).
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// The server clock (default [`SystemTime::now`]) that `X-Sdk-Date` is checked against;
    /// tests pin it.
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long a request head (request line and headers) may take to arrive (default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]): on a new connection counted from the accept, on a
    /// keep-alive connection from the first byte of the request. Past it the connection is
    /// closed without an answer (no request was received to answer). Must not be zero.
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Deadline for receiving a whole SendRecords body, counted from the moment its head was
    /// read (default [`DEFAULT_BODY_READ_TIMEOUT`]). A body still incomplete then is answered
    /// 408 `DIS.4200` with `Connection: close`, and the connection closed. It also bounds the
    /// time spent reading and discarding a refused body (413, 503). Must not be zero.
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// How long a keep-alive connection may stay idle (default [`DEFAULT_IDLE_TIMEOUT`]):
    /// counted from the end of the last answer (the last byte the server wrote) until the first
    /// byte of the next request. Past it the connection is closed without an answer, as HTTP
    /// servers close idle connections. An answer the client does not read for that long is cut
    /// off the same way. Must not be zero.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Most connections open at once (default [`DEFAULT_MAX_CONNECTIONS`]). A connection
    /// accepted at the cap first makes room by closing the open connection that has waited
    /// longest with no request in progress (idle, or still receiving a request head); when
    /// every open connection has a request in progress, the new one is refused: answered 503
    /// `DIS.5250` with `Connection: close` without reading its request, and closed. Nothing
    /// waits in a queue. Must not be zero.
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// Largest request head, request line and headers together (default
    /// [`DEFAULT_MAX_HEADER_BYTES`]); larger: 431 `DIS.4200`, then the connection is closed.
    /// Also bounds the read buffer of every connection (this plus 8 KiB, at least 16 KiB). At
    /// most 100 header fields are accepted (more: 431 too). Must not be zero.
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Budget of request body bytes buffered at once, all connections together (default
    /// [`DEFAULT_MAX_BUFFERED_BODY_BYTES`]). A SendRecords body takes its share as it is read
    /// (its whole `Content-Length` up front when it has one) and gives it back when the request
    /// is answered. A request that cannot get its share is answered 503 `DIS.5250` (a
    /// retryable "busy", not a 413: the request itself is acceptable); its body is read and
    /// thrown away first (within the body read deadline) so the client gets to read the answer.
    /// A body larger than the whole budget is always refused: keep the budget at least
    /// [`LocalConfig::body_cap`] (the default is about 19 times the default cap). Must not be
    /// zero.
    pub fn with_max_buffered_body_bytes(mut self, bytes: usize) -> Self {
        self.max_buffered_body_bytes = bytes;
        self
    }

    /// The largest HTTP body the server reads: the value of
    /// [`LocalConfig::with_max_body_bytes`] when set, else `2 * max_request_bytes * 4 / 3`
    /// (Base64 growth, with room for a client that overshoots) plus 1 KiB per allowed record
    /// (JSON framing and partition keys) plus 64 KiB.
    pub fn body_cap(&self) -> usize {
        self.max_body_bytes.unwrap_or_else(|| {
            (self.max_request_bytes.saturating_mul(8) / 3)
                .saturating_add(self.max_records_per_request.saturating_mul(1024))
                .saturating_add(64 * 1024)
        })
    }

    /// Whether DIS's write quotas are enforced (default false). When on, each partition has a
    /// bucket of records and a bucket of bytes (decoded data length) at the rates of its
    /// stream's [`StreamKind`], times [`LocalConfig::with_quota_scale`]; the buckets start full
    /// and hold one second's worth. A record its partition's buckets cannot take is answered
    /// `DIS.4303` "Exceeded traffic control limit." (in a 200 answer) and not stored; the
    /// other records of the request are stored as usual. See
    /// [`LocalDis::throttled_counts`](crate::LocalDis::throttled_counts) and
    /// [`Stats::records_throttled`](crate::Stats::records_throttled).
    ///
    /// ```
    /// use dis_local::{LocalConfig, StreamConfig, StreamKind};
    /// let config = LocalConfig::default()
    ///     .with_streams([StreamConfig::new("fast", 2).with_kind(StreamKind::Advanced)])
    ///     .with_quotas(true)
    ///     .with_quota_scale(0.01); // 20 records/s and 52,428.8 bytes/s per partition
    /// # let _ = config;
    /// ```
    pub fn with_quotas(mut self, on: bool) -> Self {
        self.quotas = on;
        self
    }

    /// Multiplies the quota rates, and so the bucket sizes (default 1.0, DIS's rates): 0.1
    /// gives a tenth of DIS's rates, so tests reach the limits quickly. A record larger than
    /// one second of the scaled byte rate is always throttled. With quotas on, must be a
    /// positive finite number ([`LocalDis::start`](crate::LocalDis::start) fails with
    /// [`ConfigError::QuotaScale`] otherwise).
    pub fn with_quota_scale(mut self, scale: f64) -> Self {
        self.quota_scale = scale;
        self
    }

    /// Everything that makes a configuration unservable, checked in this order: a zero
    /// connection limit, (with quotas on) a quota scale that is not a positive finite number,
    /// then the streams (an empty name, no partitions, more than [`MAX_PARTITIONS`], a name
    /// configured twice).
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        for (limit, zero) in [
            ("header read timeout", self.header_read_timeout.is_zero()),
            ("body read timeout", self.body_read_timeout.is_zero()),
            ("idle timeout", self.idle_timeout.is_zero()),
            ("max connections", self.max_connections == 0),
            ("max header bytes", self.max_header_bytes == 0),
            ("max buffered body bytes", self.max_buffered_body_bytes == 0),
        ] {
            if zero {
                return Err(ConfigError::ZeroLimit { limit });
            }
        }
        let scale = self.quota_scale;
        if self.quotas && !(scale.is_finite() && scale > 0.0) {
            return Err(ConfigError::QuotaScale { scale });
        }
        let mut names = HashSet::new();
        for stream in &self.streams {
            if stream.name.is_empty() {
                return Err(ConfigError::EmptyStreamName);
            }
            if stream.partitions == 0 {
                return Err(ConfigError::NoPartitions {
                    stream: stream.name.clone(),
                });
            }
            if stream.partitions > MAX_PARTITIONS {
                return Err(ConfigError::TooManyPartitions {
                    stream: stream.name.clone(),
                    partitions: stream.partitions,
                    max: MAX_PARTITIONS,
                });
            }
            if !names.insert(stream.name.as_str()) {
                return Err(ConfigError::DuplicateStream {
                    stream: stream.name.clone(),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Debug for LocalConfig {
    /// Never shows the token or the secret key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalConfig")
            .field("streams", &self.streams)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field(
                "aksk",
                &self
                    .aksk
                    .as_ref()
                    .map(|(ak, _)| (ak.as_str(), "<redacted>")),
            )
            .field("accept_token", &self.accept_token)
            .field("accept_any_signature", &self.accept_any_signature)
            .field("max_record_bytes", &self.max_record_bytes)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("max_records_per_request", &self.max_records_per_request)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("retain", &self.retain)
            .field("faults", &self.faults)
            .field("clock", &"<fn>")
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("max_buffered_body_bytes", &self.max_buffered_body_bytes)
            .field("quotas", &self.quotas)
            .field("quota_scale", &self.quota_scale)
            .field("iam", &self.iam)
            .finish()
    }
}

/// A stream served by a [`LocalDis`](crate::LocalDis).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamConfig {
    /// The stream name requests use (`stream_name`).
    pub name: String,
    /// Number of partitions: at least 1, at most [`MAX_PARTITIONS`](crate::MAX_PARTITIONS)
    /// (100; [`LocalDis::start`](crate::LocalDis::start) refuses more with
    /// [`ConfigError::TooManyPartitions`]).
    pub partitions: u32,
    /// Common or advanced: sets the write quota of each partition when quotas are on
    /// ([`LocalConfig::with_quotas`]). [`StreamKind::Common`] unless set with
    /// [`StreamConfig::with_kind`].
    pub kind: StreamKind,
}

impl StreamConfig {
    /// A common stream with `partitions` partitions.
    pub fn new(name: impl Into<String>, partitions: u32) -> Self {
        StreamConfig {
            name: name.into(),
            partitions,
            kind: StreamKind::Common,
        }
    }

    /// The stream's id, accepted in `stream_id` when `stream_name` names no stream:
    /// `sid-` followed by the 16 hex digits of [`hash_partition_key`] of the name
    /// (deterministic, so tests can compute it).
    pub fn stream_id(&self) -> String {
        format!("sid-{:016x}", hash_partition_key(&self.name))
    }

    /// Sets the stream's kind, [`StreamConfig::kind`]:
    /// `StreamConfig::new("fast", 2).with_kind(StreamKind::Advanced)`.
    pub fn with_kind(mut self, kind: StreamKind) -> Self {
        self.kind = kind;
        self
    }
}

/// Error of parsing a [`StreamConfig`] from `NAME:PARTITIONS[:KIND]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseStreamConfigError(String);

impl fmt::Display for ParseStreamConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseStreamConfigError {}

impl std::str::FromStr for StreamConfig {
    type Err = ParseStreamConfigError;

    /// Parses `NAME:PARTITIONS[:KIND]`, e.g. `newstream:4` or `fast:2:advanced` (the `--stream`
    /// flag of `dis-local`); `PARTITIONS` is 1 to [`MAX_PARTITIONS`](crate::MAX_PARTITIONS)
    /// (100), `KIND` is `common` (the default) or `advanced`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |m: &str| ParseStreamConfigError(format!("invalid stream {s:?}: {m}"));
        // A last part starting with a letter after NAME:PARTITIONS is the kind.
        let (rest, kind) = match s.rsplit_once(':') {
            Some((head, last))
                if head.contains(':') && last.starts_with(|c: char| c.is_ascii_alphabetic()) =>
            {
                (head, last.parse().map_err(|e| err(&format!("{e}")))?)
            }
            _ => (s, StreamKind::Common),
        };
        let (name, parts) = rest
            .rsplit_once(':')
            .ok_or_else(|| err("expected NAME:PARTITIONS"))?;
        if name.is_empty() {
            return Err(err("empty name"));
        }
        if name.chars().count() > limits::MAX_STREAM_NAME_LEN {
            return Err(err(&format!(
                "name longer than {} characters",
                limits::MAX_STREAM_NAME_LEN
            )));
        }
        // Digits (after an optional `+`, as `u32`'s parser took): a count too large for a
        // `u32` is refused as too large, not as "not an integer".
        let digits = parts.strip_prefix('+').unwrap_or(parts);
        let partitions = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse::<u64>().unwrap_or(u64::MAX)
        } else {
            return Err(err("PARTITIONS is not a positive integer"));
        };
        if partitions == 0 {
            return Err(err("PARTITIONS must be at least 1"));
        }
        if partitions > u64::from(MAX_PARTITIONS) {
            return Err(err(&format!("PARTITIONS must be at most {MAX_PARTITIONS}")));
        }
        Ok(StreamConfig::new(name, partitions as u32).with_kind(kind))
    }
}

/// Injected faults. Probabilities are per request (per record for `fail_records`), clamped into
/// `0.0 ..= 1.0`; decisions come from a `SmallRng` seeded with `seed` (reseeded on every
/// [`LocalDis::set_faults`](crate::LocalDis::set_faults)), so a single client replays the same
/// faults.
///
/// Outside this crate build it with the `with_*` methods:
/// `Faults::default().with_fail_records(0.1).with_seed(7)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Faults {
    /// Each record independently answered with `DIS.4303` "Exceeded traffic control limit."
    /// (in a 200 answer) and not stored.
    pub fail_records: f64,
    /// The whole request answered with 500 `DIS.5000`, 503 `DIS.5250` or 429 `APIGW.0308`
    /// (chosen at random), nothing stored.
    pub fail_requests: f64,
    /// The connection closed without an answer, nothing stored.
    pub drop_before: f64,
    /// Everything stored, then the connection closed without an answer.
    pub drop_after: f64,
    /// Sleep before answering (after storing), in milliseconds.
    pub delay_ms: u64,
    /// Seed of the fault generator.
    pub seed: u64,
}

impl Faults {
    /// Sets [`Faults::fail_records`].
    pub fn with_fail_records(mut self, p: f64) -> Self {
        self.fail_records = p;
        self
    }

    /// Sets [`Faults::fail_requests`].
    pub fn with_fail_requests(mut self, p: f64) -> Self {
        self.fail_requests = p;
        self
    }

    /// Sets [`Faults::drop_before`].
    pub fn with_drop_before(mut self, p: f64) -> Self {
        self.drop_before = p;
        self
    }

    /// Sets [`Faults::drop_after`].
    pub fn with_drop_after(mut self, p: f64) -> Self {
        self.drop_after = p;
        self
    }

    /// Sets [`Faults::delay_ms`].
    pub fn with_delay_ms(mut self, ms: u64) -> Self {
        self.delay_ms = ms;
        self
    }

    /// Sets [`Faults::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let d = LocalConfig::default();
        assert_eq!(d.streams, vec![StreamConfig::new("newstream", 4)]);
        assert!(d.retain && d.accept_token && d.token.is_none() && d.aksk.is_none());
        assert_eq!(d.faults, Faults::default());
        assert_eq!(
            (
                d.max_record_bytes,
                d.max_request_bytes,
                d.max_records_per_request,
                d.max_body_bytes
            ),
            (1024 * 1024, 1024 * 1024, 500, None)
        );
        assert_eq!(
            (d.header_read_timeout, d.body_read_timeout, d.idle_timeout),
            (
                Duration::from_secs(10),
                Duration::from_secs(30),
                Duration::from_secs(60)
            )
        );
        assert_eq!(
            (
                d.max_connections,
                d.max_header_bytes,
                d.max_buffered_body_bytes
            ),
            (1024, 32 * 1024, 64 * 1024 * 1024)
        );
    }

    #[test]
    fn builders_set_every_field() {
        let c = LocalConfig::default()
            .with_streams([StreamConfig::new("a", 1), StreamConfig::new("b", 2)])
            .with_token("tok")
            .with_aksk("ak", "sk")
            .with_accept_token(false)
            .with_max_record_bytes(10)
            .with_max_request_bytes(20)
            .with_max_records_per_request(30)
            .with_max_body_bytes(40)
            .with_retain(false)
            .with_faults(Faults::default().with_seed(9))
            .with_clock(|| SystemTime::UNIX_EPOCH)
            .with_header_read_timeout(Duration::from_millis(50))
            .with_body_read_timeout(Duration::from_millis(60))
            .with_idle_timeout(Duration::from_millis(70))
            .with_max_connections(80)
            .with_max_header_bytes(90)
            .with_max_buffered_body_bytes(100);
        assert_eq!(
            c.streams,
            vec![StreamConfig::new("a", 1), StreamConfig::new("b", 2)]
        );
        assert_eq!(c.token.as_deref(), Some("tok"));
        assert_eq!(c.aksk, Some(("ak".into(), "sk".into())));
        assert!(!c.accept_token && !c.retain);
        assert_eq!(
            (
                c.max_record_bytes,
                c.max_request_bytes,
                c.max_records_per_request
            ),
            (10, 20, 30)
        );
        assert_eq!((c.max_body_bytes, c.body_cap()), (Some(40), 40));
        assert_eq!(c.faults.seed, 9);
        assert_eq!((c.clock)(), SystemTime::UNIX_EPOCH);
        assert_eq!(
            (c.header_read_timeout, c.body_read_timeout, c.idle_timeout),
            (
                Duration::from_millis(50),
                Duration::from_millis(60),
                Duration::from_millis(70)
            )
        );
        assert_eq!(
            (
                c.max_connections,
                c.max_header_bytes,
                c.max_buffered_body_bytes
            ),
            (80, 90, 100)
        );
        // The list is replaced, not extended.
        let c = c.with_streams([StreamConfig::new("c", 3)]);
        assert_eq!(c.streams, vec![StreamConfig::new("c", 3)]);

        let f = Faults::default()
            .with_fail_records(0.1)
            .with_fail_requests(0.2)
            .with_drop_before(0.3)
            .with_drop_after(0.4)
            .with_delay_ms(5)
            .with_seed(6);
        assert_eq!(
            f,
            Faults {
                fail_records: 0.1,
                fail_requests: 0.2,
                drop_before: 0.3,
                drop_after: 0.4,
                delay_ms: 5,
                seed: 6,
            }
        );
    }

    #[test]
    fn invalid_configs_are_refused() {
        let zero = |c: LocalConfig| c.validate().err();
        let d = LocalConfig::default;
        assert_eq!(d().validate(), Ok(()));
        assert_eq!(
            zero(d().with_idle_timeout(Duration::ZERO)),
            Some(ConfigError::ZeroLimit {
                limit: "idle timeout"
            })
        );
        assert_eq!(
            zero(d().with_max_buffered_body_bytes(0)),
            Some(ConfigError::ZeroLimit {
                limit: "max buffered body bytes"
            })
        );
        for (streams, err) in [
            (
                vec![StreamConfig::new("dup", 1), StreamConfig::new("dup", 2)],
                ConfigError::DuplicateStream {
                    stream: "dup".into(),
                },
            ),
            (
                vec![StreamConfig::new("zero", 0)],
                ConfigError::NoPartitions {
                    stream: "zero".into(),
                },
            ),
            (vec![StreamConfig::new("", 1)], ConfigError::EmptyStreamName),
            (
                vec![StreamConfig::new("big", 101)],
                ConfigError::TooManyPartitions {
                    stream: "big".into(),
                    partitions: 101,
                    max: 100,
                },
            ),
        ] {
            assert_eq!(d().with_streams(streams).validate(), Err(err));
        }
    }

    #[test]
    fn invalid_scales_are_refused_only_with_quotas() {
        for scale in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let config = LocalConfig::default().with_quota_scale(scale);
            assert!(config.validate().is_ok(), "quotas off: {scale}");
            let err = config.with_quotas(true).validate().expect_err("quotas on");
            assert!(
                matches!(err, ConfigError::QuotaScale { scale: s } if s.to_bits() == scale.to_bits()),
                "{err:?}"
            );
        }
    }

    #[test]
    fn default_body_cap() {
        // 1 MiB * 8 / 3 + 500 KiB + 64 KiB.
        assert_eq!(
            LocalConfig::default().body_cap(),
            1024 * 1024 * 8 / 3 + 500 * 1024 + 64 * 1024
        );
    }
}
