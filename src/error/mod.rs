//! The crate's one error type: validation, transport, and what DIS answered. How the HTTP
//! client's errors map onto it is in `mapping.rs`; answers are read into it by
//! `src/answer/refusal.rs`.

pub(crate) mod mapping;

use std::sync::Arc;
use std::time::Duration;

/// The cause of an error, kept whole (`std::error::Error::source`) and cheap to share among
/// the records of a request.
pub(crate) type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// A record or request that breaks a DIS limit, found before any byte is sent.
///
/// Each message names the field (with the record's index) and the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// `stream_name` is empty.
    #[error("stream_name: must not be empty")]
    StreamNameEmpty,
    /// `stream_name` is longer than DIS allows.
    #[error("stream_name: {len} characters, the limit is {max}")]
    StreamNameTooLong {
        /// Length of the name given, in characters.
        len: usize,
        /// The limit (60).
        max: usize,
    },
    /// The request has no records.
    #[error("records: the list is empty, at least 1 record is required")]
    NoRecords,
    /// More records than one request may carry.
    #[error("records: {count} records, the limit per request is {max}")]
    TooManyRecords {
        /// Records given.
        count: usize,
        /// The configured limit.
        max: usize,
    },
    /// One record's raw data is larger than DIS accepts.
    #[error("records[{index}].data: {size} bytes, the limit is {max} bytes (before Base64)")]
    RecordTooLarge {
        /// Position of the record in the request.
        index: usize,
        /// Raw size in bytes.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The records' data together are larger than one request may carry.
    #[error("records: {size} bytes of data in one request, the limit is {max} bytes")]
    RequestTooLarge {
        /// Sum of the raw sizes of the records' data.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// One record's entry is larger on the wire than a request may be: its keys with its data
    /// in Base64 (keys are not in DIS's data budget, but they are in the body).
    #[error(
        "records[{index}].{field}: {field_bytes} bytes; the entry takes {wire} bytes on the wire, more than one request may carry ({max})"
    )]
    EntryTooLarge {
        /// Position of the record in the request.
        index: usize,
        /// The largest part of the entry (`partition_key`, `data`, ...).
        field: &'static str,
        /// That part's size in bytes.
        field_bytes: usize,
        /// The entry's size in a JSON body.
        wire: usize,
        /// The most one request's body may carry.
        max: usize,
    },
    /// `explicit_hash_key` is not a decimal integer in range.
    #[error(
        "records[{index}].explicit_hash_key: {value:?} is not a decimal integer in 0..=9223372036854775807"
    )]
    ExplicitHashKey {
        /// Position of the record in the request.
        index: usize,
        /// The value given.
        value: String,
    },
    /// `partition_id` is neither `shardId-` + 10 digits nor a bare index.
    #[error(
        "records[{index}].partition_id: {value:?} is neither shardId- followed by 10 digits nor a decimal index of at most 10 digits"
    )]
    PartitionId {
        /// Position of the record in the request.
        index: usize,
        /// The value given.
        value: String,
    },
}

/// A setting that cannot be used, found before anything is sent: which one, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{setting}: {problem}")]
#[non_exhaustive]
pub struct ConfigError {
    /// The setting or environment variable: `endpoint`, `project_id`, `HUAWEICLOUD_SDK_SK`,
    /// `producer: max_in_flight`, `limits: max_request_bytes`, ...
    pub setting: String,
    /// What is wrong with it, and the bound it must respect.
    pub problem: String,
    /// The underlying error, when there is one (a URL that does not parse, say).
    #[source]
    pub source: Option<Cause>,
}

impl ConfigError {
    /// `setting` is wrong: `problem`.
    pub(crate) fn new(setting: impl Into<String>, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            setting: setting.into(),
            problem: problem.into(),
            source: None,
        }
    }

    /// As [`ConfigError::new`], keeping the error that says why.
    pub(crate) fn caused_by(
        setting: impl Into<String>,
        problem: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> ConfigError {
        ConfigError {
            source: Some(Arc::new(source)),
            ..ConfigError::new(setting, problem)
        }
    }
}

/// Why a request could not be prepared; nothing was sent.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The HTTP client could not build the request.
    #[error("building the request: {0}")]
    Build(#[source] Cause),
    /// A credential or signing header cannot be a header value.
    #[error("{header}: not a valid header value (printable ASCII)")]
    Header {
        /// The header's name.
        header: String,
    },
    /// The endpoint URL has no host to sign.
    #[error("the endpoint URL has no host")]
    NoHost,
}

/// Everything that can go wrong while sending records.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request breaks a DIS limit; nothing was sent.
    #[error("invalid request, nothing sent: {0}")]
    Invalid(#[from] ValidationError),
    /// Configuration or credentials are missing or malformed: the setting, and what is wrong.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// Signing or preparing the request failed; nothing was sent.
    #[error("request not sent: {0}")]
    Request(#[from] RequestError),
    /// No valid credentials: their provider (named) could not give any, and the ones it gave
    /// before have expired. Nothing was sent. The provider is asked again after a backoff; the
    /// [`Producer`](crate::Producer) keeps the records until their deadline, as when throttled.
    #[error("credentials unavailable from {provider}: {message}")]
    #[non_exhaustive]
    Credentials {
        /// The provider, and where it asks (`ECS metadata (http://169.254.169.254/...)`).
        provider: String,
        /// Why it gave nothing (never a secret).
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Cause>,
    },
    /// The request could not be completed on the network (connect, TLS, timeout, reset).
    #[error("transport: {message}")]
    #[non_exhaustive]
    Transport {
        /// What happened, from the HTTP client, with its causes.
        message: String,
        /// True when the connection could not be made at all: nothing was sent. Otherwise the
        /// request may have reached DIS (see [`Error::maybe_duplicated`]).
        connect: bool,
        /// True when a timeout ended the request.
        timeout: bool,
        /// The HTTP client's error.
        source: Cause,
    },
    /// DIS (or the API gateway in front of it) refused the request.
    #[error(
        "DIS answered HTTP {status}{}: {message}{}",
        code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(),
        request_id.as_deref().map(|r| format!(" (X-Request-Id {r})")).unwrap_or_default()
    )]
    #[non_exhaustive]
    Dis {
        /// HTTP status.
        status: u16,
        /// `errorCode` (DIS) or `error_code` (API gateway), when the body had one.
        code: Option<String>,
        /// `message` / `error_msg`, or the start of the raw body.
        message: String,
        /// The `X-Request-Id` response header, for Huawei support.
        request_id: Option<String>,
        /// The `Retry-After` response header, when present.
        retry_after: Option<Duration>,
    },
    /// DIS answered something this client cannot read (bad JSON, wrong types, wrong
    /// number of results). The records' fate is unknown.
    #[error(
        "unreadable response{}: {message}{}",
        status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
        request_id.as_deref().map(|r| format!(" (X-Request-Id {r})")).unwrap_or_default()
    )]
    #[non_exhaustive]
    InvalidResponse {
        /// HTTP status, when known.
        status: Option<u16>,
        /// What was wrong.
        message: String,
        /// The `X-Request-Id` response header.
        request_id: Option<String>,
        /// The parse or read error, when there was one.
        source: Option<Cause>,
    },
}

impl Error {
    /// The HTTP status DIS answered with, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Dis { status, .. } => Some(*status),
            Error::InvalidResponse { status, .. } => *status,
            _ => None,
        }
    }

    /// The DIS error code (`DIS.4301`, `APIGW.0301`, ...), if DIS gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Dis { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// True when the records may have been stored although the request failed: a timeout or
    /// reset after sending, an unreadable or unexpected answer (a 2xx other than 200, say), or
    /// a 5xx other than 503 (a server or gateway failure, a gateway timeout above all, may come
    /// after the records were written; 503 is DIS refusing work it has not started). Sending
    /// them again may duplicate them.
    pub fn maybe_duplicated(&self) -> bool {
        match self {
            Error::Transport { connect, .. } => !*connect,
            Error::InvalidResponse { .. } => true,
            Error::Dis { status, .. } => (500..600).contains(status) && *status != 503,
            _ => false,
        }
    }

    /// The `X-Request-Id` of the answer, if there was one (for Huawei support).
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Dis { request_id, .. } | Error::InvalidResponse { request_id, .. } => {
                request_id.as_deref()
            }
            _ => None,
        }
    }
}
