//! An offline Huawei Cloud DIS endpoint: a small HTTP/1.1 server on loopback that answers
//! `POST /v2/{project_id}/records` (SendRecords) like Huawei Cloud DIS, keeps what arrived, and
//! can inject faults. Built for tests and benchmarks of DIS clients in any language; the
//! `dis-local` binary serves it from the command line (see the README and `docs/reference.md`).
//!
//! It is an independent oracle: its limits come from the DIS document (not from a client's
//! constants), its protobuf messages are its own, and it shares nothing with the client but
//! the `huaweicloud-sign` crate, to verify AK/SK signatures.
//!
//! ```no_run
//! # async fn demo() -> Result<(), dis_local::StartError> {
//! use dis_local::{LocalConfig, LocalDis};
//! let dis = LocalDis::start(LocalConfig::default(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("DIS at {}", dis.endpoint()); // http://127.0.0.1:PORT, stream "newstream", 4 partitions
//! // ... send records with any client and an `X-Auth-Token` header ...
//! let stored = dis.records("newstream").unwrap();
//! # let _ = stored;
//! dis.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Two ways to run it: [`LocalDis::start`] binds an address and serves in the background,
//! with a handle that reads back what was stored, the counters, and changes the faults; or
//! [`serve`] serves a listener of the caller's until a shutdown future resolves (mini-redis's
//! shape, for a binary of one's own).
//!
//! # HTTP paths
//! - `POST /v2/{project_id}/records` (or `records/`, as Huawei's hand-written SDKs post):
//!   SendRecords. Any non-empty project id is accepted. The body is JSON
//!   (`Content-Type: application/json`, `data` in Base64) or protobuf
//!   (`application/x-protobuf`, `data` raw, as Huawei's hand-written SDKs send it: a
//!   `PutRecordsRequest` of their `record.proto`, every field read as optional); a protobuf
//!   request is answered with a protobuf `PutRecordsResult` (`failedRecordCount` always
//!   written), error answers are JSON either way.
//! - `GET /local/v1/streams/{stream_name}/records`: what a stream stored, a page at a time, as
//!   a JSON array of
//!   `{"partition_id","sequence_number","data" (Base64),"partition_key"?,"explicit_hash_key"?}`,
//!   partition 0's records first (in arrival order), then partition 1's, and so on. No auth.
//!   Empty when payloads are not retained. Unknown stream: 404 `DIS.4301`. Query parameters:
//!   `from` (the first record's position, default 0), `limit` (default 10,000, at most
//!   100,000), `partition` (one partition's records, `from` then a sequence number there); a
//!   page also ends before the record that would take its data past 4 MiB. The answer's
//!   `X-Total-Records` counts the records stored, `X-Next-From` (only when records follow) is
//!   the next page's `from`. A bad parameter: 400 (`DIS.4200`; `DIS.4201` or `DIS.4302` for
//!   the partition, as in SendRecords).
//! - `GET /local/v1/streams/{stream_name}`: `{"stream_name","stream_id","partitions":[{"partition_id","records","throttled"}]}`
//!   with the number of records stored per partition (counted even when not retained) and of
//!   records refused by the write quotas ([`LocalConfig::with_quotas`]). No auth.
//! - `GET /local/v1/stats`: the [`Stats`] counters as JSON. No auth.
//! - Any other path: 404 `DIS.4300`; a known path with another method: 405 `DIS.4300` with `Allow`.
//!
//! # Authentication
//! - A request whose `X-Auth-Token` is non-empty (and equal to the token of
//!   [`LocalConfig::with_token`] when that is set) is accepted unless
//!   [`LocalConfig::with_accept_token`] switched tokens off.
//! - With [`LocalConfig::with_aksk`], a request without an acceptable token must carry an
//!   `Authorization` header with a signature over method, path, query, the signed headers and
//!   the body, in one of three schemes: Huawei's v3 SDKs' `SDK-HMAC-SHA256 Access=...`, or
//!   its hand-written Python SDK's `SDK-HMAC-SHA256 Credential=AK/date/region/service/sdk_request`
//!   and `V11-HMAC-SHA256 Credential=...` (a key derived from the AK/SK pair); and an
//!   `X-Sdk-Date` within 15 minutes of the server clock ([`LocalConfig::with_clock`]). Failures
//!   answer HTTP 441 with a DIS body, checked in this order: `DIS.4101` no `Authorization`
//!   header, `DIS.4102` header not parseable in any of the schemes, `DIS.4107` unknown AK,
//!   `DIS.4103` no `X-Sdk-Date`, `DIS.4104` unparseable `X-Sdk-Date`, `DIS.4105` `X-Sdk-Date`
//!   more than 15 minutes off, `DIS.4110` `x-sdk-date` missing from `SignedHeaders`,
//!   `DIS.4100` wrong signature (or a signed header missing from the request).
//! - With [`LocalConfig::with_accept_any_signature`], any well-formed `Authorization` passes
//!   unverified (`DIS.4101` without one, `DIS.4102` when not well-formed).
//! - Otherwise (no AK/SK configured): 401 with the API gateway's body
//!   `{"error_code":"APIGW.0301","error_msg":"..."}`.
//!
//! # Errors (decided before anything is stored; a request is all or nothing)
//! DIS body `{"errorCode":"DIS.xxxx","message":"..."}`, `Content-Type: application/json`, and an
//! `X-Request-Id` header on every answer (protobuf requests too).
//!
//! | Condition | Status | Code |
//! |---|---|---|
//! | `Content-Type` neither `application/json` nor `application/x-protobuf` (parameters such as `;charset=UTF-8` are fine) | 400 | `DIS.4200` |
//! | body not JSON (or not a protobuf `PutRecordsRequest`), missing/mistyped fields, `stream_name` absent, empty or over 60 characters | 400 | `DIS.4200` |
//! | stream unknown by `stream_name` and by `stream_id` | 400 | `DIS.4301` |
//! | `records` empty | 400 | `DIS.4202` |
//! | more records than [`LocalConfig::with_max_records_per_request`] | 400 | `DIS.4200` |
//! | `data` not Base64 (standard alphabet, padded; JSON only) | 400 | `DIS.4200` |
//! | one record over [`LocalConfig::with_max_record_bytes`] after decoding | 400 | `DIS.4200` |
//! | `partition_id` not `shardId-` + 10 digits nor 1-10 digits | 400 | `DIS.4201` |
//! | `partition_id` index >= partition count | 400 | `DIS.4302` |
//! | `explicit_hash_key` not a decimal in `0..=9223372036854775807` (no sign, no leading zero) | 400 | `DIS.4200` |
//! | decoded data of the request over [`LocalConfig::with_max_request_bytes`] | 413 | `DIS.4200` |
//! | HTTP body over [`LocalConfig::body_cap`] (checked while reading, never buffered whole) | 413 | `DIS.4200` |
//! | `Content-Encoding` other than `lz4`, `zstd`, `snappy` (or `identity`); an lz4 body without `x-dis-lz4-content-length`; a length header that is not a number; a body that does not decompress to its declared length | 400 | `DIS.4200` |
//! | a compressed body declaring (`x-dis-lz4-content-length`, `x-dis-zstd-content-length`, Snappy's preamble) more than [`LocalConfig::body_cap`] uncompressed, checked before decompressing, or expanding past what it declares (or, undeclared, past the cap) | 413 | `DIS.4200` |
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
//! [`FaultFlags`] are the same faults as `clap` flags, for any binary that starts a server.
//!
//! # Connection limits
//! Everything read from the network is bounded in size, count and time, so a broken or hostile
//! client gets an answer or a closed connection, never a hang or unbounded memory. Each limit
//! is a [`LocalConfig`] method (and a flag of the `dis-local` binary):
//!
//! | Limit (default) | Past it |
//! |---|---|
//! | [`LocalConfig::with_header_read_timeout`] (10 s, from the accept or the request's first byte) | connection closed without an answer |
//! | [`LocalConfig::with_body_read_timeout`] (30 s from the head) | 408 `DIS.4200`, `Connection: close` |
//! | [`LocalConfig::with_idle_timeout`] (60 s from the last answer byte) | connection closed without an answer |
//! | [`LocalConfig::with_max_connections`] (1024) | the connection idle longest is closed to make room; when every connection has a request in progress, the new one gets 503 `DIS.5250` and is closed (refused, never queued) |
//! | [`LocalConfig::with_max_header_bytes`] (32 KiB; 100 header fields) | 431 `DIS.4200`, connection closed |
//! | [`LocalConfig::with_max_buffered_body_bytes`] (64 MiB, all requests together) | 503 `DIS.5250` |
//!
//! The answers hyper writes by itself on a request it cannot parse (400 for a malformed
//! request line, header or `Content-Length`; 414; 431) carry a DIS body too:
//! `{"errorCode":"DIS.4200","message":"..."}`, with `Content-Type: application/json`,
//! `X-Request-Id` and `Connection: close`. [`Stats`] counts every limit that struck.
//!
//! # Write quotas
//! DIS limits writes per partition: a common stream 1 MB/s or 1,000 records/s, an advanced
//! stream 5 MB/s or 2,000 records/s ([`StreamKind`], set per stream with
//! [`StreamConfig::with_kind`]; "MB" read as MiB, see [`StreamKind::bytes_per_second`]). With
//! [`LocalConfig::with_quotas`] (off by default) each partition has a bucket of records and a
//! bucket of bytes (decoded data length) at those rates times
//! [`LocalConfig::with_quota_scale`], starting full and holding one second's worth. After
//! `fail_records` and routing, a record its partition's buckets cannot take is answered
//! `DIS.4303` "Exceeded traffic control limit." in the 200 answer and not stored; the others
//! are stored. [`LocalDis::throttled_counts`] and [`Stats::records_throttled`] count them
//! (injected failures stay in [`Stats::records_failed`]).

#![deny(missing_docs)]

mod answer;
mod auth;
mod config;
mod conn;
mod describe;
mod error;
mod faults;
mod flags;
mod grow;
mod iam;
mod limits;
mod local_flags;
mod paths;
mod prometheus;
mod quota;
mod routing;
mod send;
mod server;
mod signal;
mod state;
mod stats;
mod store;
mod stream_kind;
mod tls;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{Faults, LocalConfig, ParseStreamConfigError, StreamConfig};
pub use error::{ConfigError, StartError};
pub use flags::FaultFlags;
pub use grow::{ParsePartitionGrowthError, PartitionGrowth};
pub use iam::POD_IDENTITY_PATH;
pub use iam::config::{DEFAULT_CREDENTIAL_LIFETIME, parse_lifetime};
pub use iam::flags::IamFlags;
pub use limits::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BUFFERED_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_RECORDS_PER_REQUEST, DEFAULT_MAX_REQUEST_BYTES,
    MAX_PARTITIONS,
};
pub use local_flags::LocalFlags;
pub use routing::{hash_partition_key, partition_for_hash};
pub use server::serve;
pub use signal::shutdown_signal;
pub use stats::Stats;
pub use store::StoredRecord;
pub use stream_kind::{ParseStreamKindError, StreamKind};

use state::Shared;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The reference page's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/reference.md")]
struct ReferenceDoctests;

/// A running local DIS endpoint, started by [`LocalDis::start`]. Dropping it, or calling
/// [`LocalDis::shutdown`], stops it.
pub struct LocalDis {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: tokio::sync::oneshot::Sender<()>,
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
    /// Binds `listen` (`127.0.0.1:0` picks a free port) and serves on the current Tokio
    /// runtime, as [`serve`] does, until [`LocalDis::shutdown`] or the handle is dropped.
    ///
    /// Fails with [`StartError::Config`] when the configuration cannot be served (an empty or
    /// duplicate stream name, a stream without partitions or with more than
    /// [`MAX_PARTITIONS`], a zero connection limit or, with quotas on, a quota scale that is not
    /// a positive finite number; nothing is bound then),
    /// and with [`StartError::Bind`] when `listen` cannot be bound.
    pub async fn start(config: LocalConfig, listen: SocketAddr) -> Result<LocalDis, StartError> {
        let shared = Arc::new(Shared::new(config)?);
        let bind_error = |source| StartError::Bind {
            addr: listen,
            source,
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // Resolves on `shutdown`, or when the handle is dropped (the sender with it).
        let stop = async move {
            let _ = rx.await;
        };
        let task = tokio::spawn(server::run(listener, shared.clone(), stop));
        tracing::debug!(%addr, "local DIS listening");
        Ok(LocalDis {
            addr,
            shared,
            shutdown: tx,
            task,
        })
    }

    /// Grows `stream` to `partitions` partitions now, as DIS does when a stream is scaled
    /// (never shrinks it; at most [`MAX_PARTITIONS`]): the new partitions are empty, with full
    /// quota buckets, and keys map over the new count from then on. Returns the count after,
    /// or `None` for an unknown stream.
    pub fn grow_partitions(&self, stream: &str, partitions: u32) -> Option<u32> {
        grow::grow(&self.shared, stream, partitions)
    }

    /// Grows a stream as [`LocalDis::grow_partitions`] does, `growth.after` from now, on a task
    /// of its own (it ends with the server's state).
    pub fn grow_partitions_later(&self, growth: PartitionGrowth) {
        let shared = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            tokio::time::sleep(growth.after).await;
            if let Some(shared) = shared.upgrade() {
                grow::grow(&shared, &growth.stream, growth.partitions);
            }
        });
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://127.0.0.1:PORT` (`http://[::1]:PORT` for IPv6; `https://` when
    /// it serves TLS, [`LocalConfig::with_tls_pem`]).
    pub fn endpoint(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// What `stream` stored, in the order of `GET /local/v1/streams/{stream}/records`
    /// (partition 0 first, arrival order within a partition), all of it (not a page): the
    /// records stored when it is called. The stream's lock is taken for one chunk of records
    /// at a time, so writers are not held up while a large stream is copied. Empty when
    /// payloads are not retained; `None` for an unknown stream.
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
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }

    /// Records throttled by the write quotas per partition of `stream` (all zeros when quotas
    /// are off; injected `fail_records` failures are not counted here); `None` for an unknown
    /// stream.
    pub fn throttled_counts(&self, stream: &str) -> Option<Vec<u64>> {
        self.shared.quotas.throttled(stream)
    }
}
