//! An embedded local DIS endpoint: a small HTTP/1.1 server on loopback that answers
//! `POST /v2/{project_id}/records` (SendRecords) like Huawei Cloud DIS, keeps what arrived, and
//! can inject faults. Built for tests and benchmarks of DIS clients; enabled by the `local`
//! feature.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use dis_records::local::{LocalConfig, LocalDis};
//! let dis = LocalDis::start(LocalConfig::default(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("DIS at {}", dis.endpoint()); // http://127.0.0.1:PORT, stream "newstream", 4 partitions
//! // ... send records with any client and an `X-Auth-Token` header ...
//! let stored = dis.records("newstream").unwrap();
//! # let _ = stored;
//! dis.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # HTTP paths
//! - `POST /v2/{project_id}/records`: SendRecords. Any non-empty project id is accepted.
//! - `GET /local/v1/streams/{stream_name}/records`: what a stream stored, as a JSON array of
//!   `{"partition_id","sequence_number","data" (Base64),"partition_key"?,"explicit_hash_key"?}`,
//!   partition 0's records first (in arrival order), then partition 1's, and so on. No auth.
//!   Empty when payloads are not retained. Unknown stream: 404 `DIS.4301`.
//! - `GET /local/v1/streams/{stream_name}`: `{"stream_name","stream_id","partitions":[{"partition_id","records"}]}`
//!   with the number of records stored per partition (counted even when not retained). No auth.
//! - `GET /local/v1/stats`: the [`Stats`] counters as JSON. No auth.
//! - Any other path: 404 `DIS.4300`; a known path with another method: 405 `DIS.4300` with `Allow`.
//!
//! # Authentication
//! - A request whose `X-Auth-Token` is non-empty (and equal to [`LocalConfig::token`] when that
//!   is set) is accepted while [`LocalConfig::accept_token`] is true.
//! - With [`LocalConfig::aksk`] set, a request without an acceptable token must carry an
//!   `Authorization: SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...` header
//!   (Huawei's v3 SDK signature over method, path, query, the signed headers and the body) and an
//!   `X-Sdk-Date` within 15 minutes of [`LocalConfig::clock`]. Failures answer HTTP 441 with a DIS
//!   body, checked in this order: `DIS.4101` no `Authorization` header, `DIS.4102` header not
//!   parseable as `SDK-HMAC-SHA256`, `DIS.4107` unknown AK, `DIS.4103` no `X-Sdk-Date`,
//!   `DIS.4104` unparseable `X-Sdk-Date`, `DIS.4105` `X-Sdk-Date` more than 15 minutes off,
//!   `DIS.4110` `host` or `x-sdk-date` missing from `SignedHeaders`, `DIS.4100` wrong signature
//!   (or a signed header missing from the request).
//! - Otherwise (no AK/SK configured): 401 with the API gateway's body
//!   `{"error_code":"APIGW.0301","error_msg":"..."}`.
//!
//! # Errors (decided before anything is stored; a request is all or nothing)
//! DIS body `{"errorCode":"DIS.xxxx","message":"..."}`, `Content-Type: application/json`, and an
//! `X-Request-Id` header on every answer.
//!
//! | Condition | Status | Code |
//! |---|---|---|
//! | `Content-Type` not `application/json` (parameters such as `;charset=UTF-8` are fine) | 400 | `DIS.4200` |
//! | body not JSON, missing/mistyped fields, `stream_name` empty or over 60 characters | 400 | `DIS.4200` |
//! | stream unknown by `stream_name` and by `stream_id` | 400 | `DIS.4301` |
//! | `records` empty | 400 | `DIS.4202` |
//! | more records than [`LocalConfig::max_records_per_request`] | 400 | `DIS.4200` |
//! | `data` not Base64 (standard alphabet, padded) | 400 | `DIS.4200` |
//! | one record over [`LocalConfig::max_record_bytes`] after decoding | 400 | `DIS.4200` |
//! | `partition_id` not `shardId-` + 10 digits nor 1-10 digits | 400 | `DIS.4201` |
//! | `partition_id` index >= partition count | 400 | `DIS.4302` |
//! | `explicit_hash_key` not a decimal in `0..=9223372036854775807` (no sign, no leading zero) | 400 | `DIS.4200` |
//! | decoded data of the request over [`LocalConfig::max_request_bytes`] | 413 | `DIS.4200` |
//! | HTTP body over [`LocalConfig::body_cap`] (checked while reading, never buffered whole) | 413 | `DIS.4200` |
//!
//! # Routing
//! Per record: `partition_id` wins; else `explicit_hash_key`; else a non-empty `partition_key`
//! hashed with [`hash_partition_key`]; the hash is mapped by [`partition_for_hash`]. A record
//! with none of them is spread round robin per stream. Sequence numbers start at 0 per
//! partition and grow by 1 per stored record.
//!
//! # Faults
//! See [`Faults`]. Order per request: read the body; roll `drop_before` (close the connection,
//! nothing stored), then `fail_requests` (500 `DIS.5000`, 503 `DIS.5250` or 429 with the
//! gateway body `APIGW.0308`, nothing stored); authenticate and validate; roll `fail_records`
//! per record (`DIS.4303`, not stored); store; roll `drop_after` (stored, then the connection is
//! closed without an answer). `delay_ms` is slept after storing, before the answer or the drop.

mod auth;
mod faults;
mod routing;
mod send;
mod server;
mod store;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

pub use routing::{hash_partition_key, partition_for_hash};

/// A clock returning the server's notion of "now" (used to check `X-Sdk-Date`): the same
/// injectable clock the client signs with.
pub use crate::auth::Clock;

/// Default limit of one record's decoded data: 1 MiB, the client's.
pub const DEFAULT_MAX_RECORD_BYTES: usize = crate::validate::MAX_RECORD_BYTES;
/// Default limit of one request's decoded data: 1 MiB (a common stream), the client's.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = crate::validate::COMMON_STREAM_REQUEST_BYTES;
/// Default limit of records per request: 500, the client's default, so a client that forgets
/// to split is caught.
pub const DEFAULT_MAX_RECORDS_PER_REQUEST: usize = crate::validate::DEFAULT_RECORDS_PER_REQUEST;

/// Configuration of a [`LocalDis`].
#[derive(Clone)]
pub struct LocalConfig {
    /// The streams served. Each stream also has an id, [`StreamConfig::stream_id`].
    pub streams: Vec<StreamConfig>,
    /// When set, the only accepted `X-Auth-Token`; when `None`, any non-empty token is accepted.
    pub token: Option<String>,
    /// An accepted `(AK, SK)` pair for `SDK-HMAC-SHA256` signed requests.
    pub aksk: Option<(String, String)>,
    /// Whether `X-Auth-Token` authentication is accepted at all (default true).
    pub accept_token: bool,
    /// Largest decoded record (default [`DEFAULT_MAX_RECORD_BYTES`]); larger: 400 `DIS.4200`.
    pub max_record_bytes: usize,
    /// Largest sum of decoded data per request, partition keys not counted (default
    /// [`DEFAULT_MAX_REQUEST_BYTES`]); larger: 413.
    pub max_request_bytes: usize,
    /// Most records per request (default [`DEFAULT_MAX_RECORDS_PER_REQUEST`]); more: 400 `DIS.4200`.
    pub max_records_per_request: usize,
    /// Largest HTTP body read; `None` derives it, see [`LocalConfig::body_cap`].
    pub max_body_bytes: Option<usize>,
    /// Keep payloads (default true). When false only counts and sequence numbers are kept,
    /// for memory benchmarks of clients that stream millions of records.
    pub retain: bool,
    /// Faults injected from the start; change them later with [`LocalDis::set_faults`].
    pub faults: Faults,
    /// The server clock (default [`SystemTime::now`]); tests pin it to check `X-Sdk-Date`.
    pub clock: Clock,
}

impl Default for LocalConfig {
    /// Stream `newstream` with 4 partitions, any non-empty token accepted, no AK/SK, the
    /// default limits, payloads retained, no faults, the system clock.
    fn default() -> Self {
        LocalConfig {
            streams: vec![StreamConfig {
                name: "newstream".into(),
                partitions: 4,
            }],
            token: None,
            aksk: None,
            accept_token: true,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_records_per_request: DEFAULT_MAX_RECORDS_PER_REQUEST,
            max_body_bytes: None,
            retain: true,
            faults: Faults::default(),
            clock: Arc::new(SystemTime::now),
        }
    }
}

impl LocalConfig {
    /// The largest HTTP body the server reads: [`LocalConfig::max_body_bytes`] when set, else
    /// `2 * max_request_bytes * 4 / 3` (Base64 growth, with room for a client that overshoots)
    /// plus 1 KiB per allowed record (JSON framing and partition keys) plus 64 KiB.
    pub fn body_cap(&self) -> usize {
        self.max_body_bytes.unwrap_or_else(|| {
            (self.max_request_bytes.saturating_mul(8) / 3)
                .saturating_add(self.max_records_per_request.saturating_mul(1024))
                .saturating_add(64 * 1024)
        })
    }
}

impl fmt::Debug for LocalConfig {
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
            .field("max_record_bytes", &self.max_record_bytes)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("max_records_per_request", &self.max_records_per_request)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("retain", &self.retain)
            .field("faults", &self.faults)
            .field("clock", &"<fn>")
            .finish()
    }
}

/// A stream served by a [`LocalDis`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    /// The stream name requests use (`stream_name`).
    pub name: String,
    /// Number of partitions (at least 1).
    pub partitions: u32,
}

impl StreamConfig {
    /// A stream with `partitions` partitions.
    pub fn new(name: impl Into<String>, partitions: u32) -> Self {
        StreamConfig {
            name: name.into(),
            partitions,
        }
    }

    /// The stream's id, accepted in `stream_id` when `stream_name` names no stream:
    /// `sid-` followed by the 16 hex digits of [`hash_partition_key`] of the name
    /// (deterministic, so tests can compute it).
    pub fn stream_id(&self) -> String {
        format!("sid-{:016x}", hash_partition_key(&self.name))
    }
}

/// Error of parsing a [`StreamConfig`] from `NAME:PARTITIONS`.
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

    /// Parses `NAME:PARTITIONS`, e.g. `newstream:4` (the `--stream` flag of the example).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |m: &str| ParseStreamConfigError(format!("invalid stream {s:?}: {m}"));
        let (name, parts) = s
            .rsplit_once(':')
            .ok_or_else(|| err("expected NAME:PARTITIONS"))?;
        if name.is_empty() {
            return Err(err("empty name"));
        }
        if name.chars().count() > 60 {
            return Err(err("name longer than 60 characters"));
        }
        let partitions: u32 = parts
            .parse()
            .map_err(|_| err("PARTITIONS is not a positive integer"))?;
        if partitions == 0 {
            return Err(err("PARTITIONS must be at least 1"));
        }
        Ok(StreamConfig::new(name, partitions))
    }
}

/// Injected faults. Probabilities are per request (per record for `fail_records`), clamped into
/// `0.0 ..= 1.0`; decisions come from a `SmallRng` seeded with `seed` (reseeded on every
/// [`LocalDis::set_faults`]), so a single client replays the same faults.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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

/// Counters of a [`LocalDis`] since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests received outside the `/local/v1/` paths, whatever the outcome (SendRecords
    /// requests, and wrong paths or methods).
    pub requests: u64,
    /// Records stored.
    pub records_stored: u64,
    /// Records answered with an injected per-record `DIS.4303`.
    pub records_failed: u64,
    /// Requests answered with an injected 500/503/429.
    pub failed_requests: u64,
    /// Connections closed by `drop_before` (nothing stored).
    pub dropped_before: u64,
    /// Connections closed by `drop_after` (records stored).
    pub dropped_after: u64,
    /// Requests rejected with a 4xx status (auth, validation, limits, wrong path or method).
    pub rejected_requests: u64,
}

/// A record as stored by a [`LocalDis`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// `shardId-` and 10 digits.
    pub partition_id: String,
    /// Decimal sequence number in its partition (from 0).
    pub sequence_number: String,
    /// The decoded payload.
    pub data: Bytes,
    /// The record's `partition_key`, if any.
    pub partition_key: Option<String>,
    /// The record's `explicit_hash_key`, if any.
    pub explicit_hash_key: Option<String>,
}

/// A running local DIS endpoint. Dropping it, or calling [`LocalDis::shutdown`], stops it.
pub struct LocalDis {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for LocalDis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalDis")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl LocalDis {
    /// Binds `listen` (`127.0.0.1:0` picks a free port) and serves on the current Tokio runtime.
    ///
    /// Fails with `InvalidInput` for an empty or duplicate stream name or a stream without
    /// partitions, and with the bind error otherwise.
    pub async fn start(config: LocalConfig, listen: SocketAddr) -> std::io::Result<LocalDis> {
        let shared = Arc::new(server::Shared::new(config)?);
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), rx));
        tracing::debug!(%addr, "local DIS listening");
        Ok(LocalDis {
            addr,
            shared,
            shutdown: tx,
            task,
        })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://127.0.0.1:PORT` (`http://[::1]:PORT` for IPv6).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What `stream` stored, in the order of `GET /local/v1/streams/{stream}/records`
    /// (partition 0 first, arrival order within a partition); empty when payloads are not
    /// retained; `None` for an unknown stream.
    pub fn records(&self, stream: &str) -> Option<Vec<StoredRecord>> {
        self.shared.store.by_name(stream).map(|s| s.snapshot())
    }

    /// Records stored per partition of `stream` (counted even when payloads are not retained);
    /// `None` for an unknown stream.
    pub fn record_counts(&self, stream: &str) -> Option<Vec<u64>> {
        self.shared.store.by_name(stream).map(|s| s.counts())
    }

    /// The counters since start.
    pub fn stats(&self) -> Stats {
        self.shared.stats.snapshot()
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.shared.faults.get()
    }

    /// Replaces the injected faults (takes effect for the next request) and reseeds the fault
    /// generator from `faults.seed`.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.faults.set(faults);
    }

    /// Stops accepting, lets in-flight requests finish (closing idle keep-alive connections),
    /// and waits up to 5 seconds for connections to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
