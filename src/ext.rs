//! The thin hand-written layer over the generated client: a client built once from an
//! endpoint and credentials (the token is injected by `hooks.rs` on every request), records
//! made from raw bytes (Base64 happens here, never in user code), validation before sending,
//! and results paired with the records they belong to.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use crate::auth::{Auth, Clock, Credentials};
use crate::error::{Error, ValidationError};
use crate::hooks::{RESPONSE_META, ResponseMeta};
use crate::validate::{self, Limits};
use crate::{Client, types};

/// Base64-encodes raw bytes for the wire (standard alphabet, with padding).
pub fn encode_data(data: &[u8]) -> String {
    BASE64.encode(data)
}

/// Decodes a record's `data` from the wire back to its bytes.
pub fn decode_data(data: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(data)
}

/// One record to upload: raw bytes plus optional routing. Base64 happens at the wire.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Record {
    /// The payload, as raw bytes (at most 1 MiB).
    pub data: Bytes,
    /// Routes by hash of this key (`partition_key`).
    pub partition_key: Option<String>,
    /// Routes to this partition (`shardId-0000000001` or `1`); wins over the key.
    pub partition_id: Option<String>,
    /// Overrides the hash of `partition_key` (decimal, 0..=9223372036854775807).
    pub explicit_hash_key: Option<String>,
}

impl Record {
    /// A record from bytes without copying them (`Bytes`, `Vec<u8>`, `&'static [u8]`, ...).
    pub fn new(data: impl Into<Bytes>) -> Self {
        Record {
            data: data.into(),
            ..Record::default()
        }
    }

    /// A record from any byte slice (copied).
    pub fn from_slice(data: impl AsRef<[u8]>) -> Self {
        Record::new(Bytes::copy_from_slice(data.as_ref()))
    }

    /// Sets `partition_key`.
    pub fn with_partition_key(mut self, key: impl Into<String>) -> Self {
        self.partition_key = Some(key.into());
        self
    }

    /// Sets `partition_id`.
    pub fn with_partition_id(mut self, id: impl Into<String>) -> Self {
        self.partition_id = Some(id.into());
        self
    }

    /// Sets `explicit_hash_key`.
    pub fn with_explicit_hash_key(mut self, key: impl Into<String>) -> Self {
        self.explicit_hash_key = Some(key.into());
        self
    }

    /// Checks this record as record `index` of a request and makes its wire entry.
    pub fn to_entry(
        &self,
        index: usize,
        limits: &Limits,
    ) -> Result<types::PutRecordsRequestEntry, ValidationError> {
        validate::record_size(index, self.data.len(), limits)?;
        Ok(types::PutRecordsRequestEntry {
            data: crate::wire::Base64Data(self.data.clone()),
            explicit_hash_key: self
                .explicit_hash_key
                .as_deref()
                .map(|k| validate::explicit_hash_key(index, k))
                .transpose()?,
            partition_id: self
                .partition_id
                .as_deref()
                .map(|p| validate::partition_id(index, p))
                .transpose()?,
            partition_key: self.partition_key.clone(),
        })
    }
}

/// Validates `records` for `stream_name` and builds the generated request body.
pub fn build_request(
    stream_name: &str,
    records: &[Record],
    limits: &Limits,
) -> Result<types::PutRecordsRequest, ValidationError> {
    let stream_name = validate::stream_name(stream_name)?;
    let total: usize = records.iter().map(|r| r.data.len()).sum();
    validate::request_totals(records.len(), total, limits)?;
    let records = records
        .iter()
        .enumerate()
        .map(|(i, r)| r.to_entry(i, limits))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(types::PutRecordsRequest {
        stream_name,
        stream_id: None,
        records,
    })
}

/// The outcome of one record in a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordResult {
    /// Stored by DIS.
    Stored {
        /// Partition the record went to.
        partition_id: String,
        /// Its sequence number in that partition.
        sequence_number: String,
    },
    /// Refused by DIS (e.g. `DIS.4303` traffic control: worth retrying).
    Failed {
        /// DIS error code.
        code: String,
        /// DIS error message.
        message: String,
    },
}

impl RecordResult {
    /// True when the record was stored.
    pub fn is_stored(&self) -> bool {
        matches!(self, RecordResult::Stored { .. })
    }
}

/// What DIS answered to one request: one result per record, in the records' order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendOutcome {
    /// Result *i* belongs to record *i*.
    pub results: Vec<RecordResult>,
    /// `failed_record_count` as DIS reported it.
    pub failed_record_count: i32,
    /// `X-Request-Id` of the answer.
    pub request_id: Option<String>,
}

impl SendOutcome {
    /// Reads a 200 answer to a request of `sent` records. A count that does not match, or an
    /// entry with neither a sequence number nor an error code, is an unreadable answer.
    pub fn from_result(
        result: types::PutRecordsResult,
        sent: usize,
        request_id: Option<String>,
    ) -> Result<SendOutcome, Error> {
        let invalid = |message: String| Error::InvalidResponse {
            status: Some(200),
            message,
            request_id: request_id.clone(),
        };
        if result.records.len() != sent {
            return Err(invalid(format!(
                "{} results for {sent} records",
                result.records.len()
            )));
        }
        let results = result
            .records
            .into_iter()
            .enumerate()
            .map(|(i, entry)| match entry {
                types::PutRecordsResultEntry {
                    error_code: Some(code),
                    error_message,
                    ..
                } if !code.is_empty() => Ok(RecordResult::Failed {
                    code,
                    message: error_message.unwrap_or_default(),
                }),
                types::PutRecordsResultEntry {
                    partition_id: Some(partition_id),
                    sequence_number: Some(sequence_number),
                    ..
                } => Ok(RecordResult::Stored {
                    partition_id,
                    sequence_number,
                }),
                _ => Err(invalid(format!(
                    "records[{i}] has neither an error_code nor a partition_id and sequence_number"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SendOutcome {
            failed_record_count: result
                .failed_record_count
                .unwrap_or_else(|| results.iter().filter(|r| !r.is_stored()).count() as i32),
            results,
            request_id,
        })
    }

    /// Each record paired with its result, by position.
    pub fn pair<'a>(
        &'a self,
        records: &'a [Record],
    ) -> impl Iterator<Item = (&'a Record, &'a RecordResult)> + 'a {
        records.iter().zip(&self.results)
    }

    /// Positions and results of the records DIS refused.
    pub fn failed(&self) -> impl Iterator<Item = (usize, &RecordResult)> + '_ {
        self.results
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_stored())
    }

    /// The refused records, to send again or hand back.
    pub fn failed_records(&self, records: &[Record]) -> Vec<Record> {
        self.failed().map(|(i, _)| records[i].clone()).collect()
    }
}

/// Resolves an endpoint: a region name (`cn-north-4` becomes
/// `https://dis.cn-north-4.myhuaweicloud.com`) or a full `http(s)://` URL. A trailing `/` is
/// removed, so that paths never become `//v2/...`.
pub fn endpoint_url(endpoint: &str) -> Result<String, Error> {
    let endpoint = endpoint.trim();
    let url = if endpoint.contains("://") {
        endpoint.trim_end_matches('/').to_owned()
    } else if !endpoint.is_empty()
        && endpoint
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        format!("https://dis.{endpoint}.myhuaweicloud.com")
    } else {
        return Err(Error::Config(format!(
            "endpoint {endpoint:?}: expected a region name such as cn-north-4 or an http(s):// URL"
        )));
    };
    let parsed =
        reqwest::Url::parse(&url).map_err(|e| Error::Config(format!("endpoint {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Config(format!(
            "endpoint {url:?}: expected an http(s):// URL with a host"
        )));
    }
    Ok(url)
}

/// Installs rustls' `ring` provider as the process default once (the default `aws-lc-rs`
/// takes minutes to build on small machines). A provider installed earlier is kept.
/// [`DisClientBuilder::build`] calls it; call it yourself before building your own
/// `reqwest::Client` (reqwest is built without a provider of its own).
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds a [`DisClient`].
#[derive(Clone)]
pub struct DisClientBuilder {
    endpoint: String,
    project_id: String,
    credentials: Credentials,
    limits: Limits,
    timeout: Duration,
    connect_timeout: Duration,
    pool_max_idle_per_host: usize,
    clock: Option<Clock>,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for DisClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DisClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("project_id", &self.project_id)
            .field("credentials", &self.credentials)
            .field("limits", &self.limits)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl DisClientBuilder {
    /// Credentials (a token, or AK/SK). Default: none.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// An IAM token, sent as the sensitive header `X-Auth-Token` on every request.
    pub fn token(self, token: impl Into<String>) -> Self {
        self.credentials(Credentials::token(token))
    }

    /// Limits checked before sending. Default: [`Limits::COMMON`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Total time for one request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time to connect (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Idle keep-alive connections kept per host (default 64).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// The clock used for `X-Sdk-Date` when signing (tests pin it).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Uses this `reqwest::Client` as it is (its timeouts and pool apply). Build it with
    /// `redirect(reqwest::redirect::Policy::none())`: reqwest's default policy would carry the
    /// `X-Auth-Token` / `X-Security-Token` headers to another host. Call
    /// [`ensure_crypto_provider`] before building it.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<DisClient, Error> {
        let endpoint = endpoint_url(&self.endpoint)?;
        if self.project_id.is_empty() {
            return Err(Error::Config("project_id: must not be empty".into()));
        }
        self.limits.check()?;
        let http = match self.http {
            Some(http) => http,
            None => {
                ensure_crypto_provider();
                reqwest::Client::builder()
                    .timeout(self.timeout)
                    .connect_timeout(self.connect_timeout)
                    .tcp_nodelay(true)
                    .pool_max_idle_per_host(self.pool_max_idle_per_host)
                    // Never follow redirects: reqwest would carry X-Auth-Token and
                    // X-Security-Token to the other host, and a signature cannot follow.
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("dis-records/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| Error::Config(format!("HTTP client: {e}")))?
            }
        };
        let mut auth = Auth::new(self.credentials, self.project_id.clone());
        if let Some(clock) = self.clock {
            auth = auth.with_clock(clock);
        }
        Ok(DisClient {
            client: Client::new_with_client(&endpoint, http, auth),
            project_id: self.project_id,
            limits: self.limits,
        })
    }
}

/// A DIS client: the generated [`Client`] plus credentials, limits and validation.
#[derive(Clone)]
pub struct DisClient {
    client: Client,
    project_id: String,
    limits: Limits,
}

impl fmt::Debug for DisClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use progenitor_client::ClientInfo;
        f.debug_struct("DisClient")
            .field("endpoint", &self.client.baseurl())
            .field("project_id", &self.project_id)
            .field("auth", self.client.inner())
            .field("limits", &self.limits)
            .finish()
    }
}

impl DisClient {
    /// Starts building a client for `endpoint` (a region name or a URL) and `project_id`.
    pub fn builder(endpoint: impl Into<String>, project_id: impl Into<String>) -> DisClientBuilder {
        DisClientBuilder {
            endpoint: endpoint.into(),
            project_id: project_id.into(),
            credentials: Credentials::None,
            limits: Limits::default(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            pool_max_idle_per_host: 64,
            clock: None,
            http: None,
        }
    }

    /// A client for `endpoint` and `project_id` that sends `token` as `X-Auth-Token`.
    pub fn with_token(
        endpoint: impl Into<String>,
        project_id: impl Into<String>,
        token: impl Into<String>,
    ) -> Result<DisClient, Error> {
        Self::builder(endpoint, project_id).token(token).build()
    }

    /// The generated client, for direct calls (`send_records`).
    pub fn generated(&self) -> &Client {
        &self.client
    }

    /// The project ID in every request path.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The limits checked before sending.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Validates and sends one request. Records DIS refused come back as
    /// [`RecordResult::Failed`] in the outcome, by position; nothing is retried here (the
    /// producer does that).
    pub async fn send(&self, stream_name: &str, records: &[Record]) -> Result<SendOutcome, Error> {
        let body = build_request(stream_name, records, &self.limits)?;
        self.send_request(&body).await
    }

    /// Sends a request body built (and validated) by [`build_request`].
    pub async fn send_request(
        &self,
        body: &types::PutRecordsRequest,
    ) -> Result<SendOutcome, Error> {
        let call = async {
            // The body is serialized inside a poll of this future: with the raw fast path.
            let mut send = Box::pin(self.client.send_records(&self.project_id, body));
            let result =
                std::future::poll_fn(|cx| crate::wire::with_raw_json(|| send.as_mut().poll(cx)))
                    .await;
            let meta = RESPONSE_META.with(|m| m.take());
            (result, meta)
        };
        let (result, meta) = RESPONSE_META
            .scope(std::cell::RefCell::new(ResponseMeta::default()), call)
            .await;
        match result {
            Ok(response) => {
                SendOutcome::from_result(response.into_inner(), body.records.len(), meta.request_id)
            }
            Err(e) => Err(map_error(e, meta).await),
        }
    }
}

/// The start of a raw body, for messages (never more than 512 bytes of it).
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text.to_owned()
    }
}

/// Code and message of either error-body shape.
fn dis_error_parts(e: types::DisError) -> (Option<String>, Option<String>) {
    match e {
        types::DisError::DisServiceError(e) => (Some(e.error_code), e.message),
        types::DisError::ApiGatewayError(e) => (Some(e.error_code), e.error_msg),
    }
}

/// Turns progenitor's error into the crate's one error type. `meta` is the head of the answer
/// (status, `X-Request-Id`, `Retry-After`) as the exec hook read it.
async fn map_error(e: progenitor_client::Error<types::DisError>, meta: ResponseMeta) -> Error {
    use progenitor_client::Error as E;
    let ResponseMeta {
        status,
        request_id,
        retry_after,
    } = meta;
    // DIS (or a proxy in front of it) refused the request with `status`.
    let refused = |status: u16, code: Option<String>, message: String| Error::Dis {
        status,
        code,
        message,
        request_id: request_id.clone(),
        retry_after,
    };
    // A 200 (or no status) whose body cannot be read: the records' fate is unknown.
    let unreadable = |message: String| Error::InvalidResponse {
        status,
        message,
        request_id: request_id.clone(),
    };
    match e {
        E::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            let (code, message) = dis_error_parts(rv.into_inner());
            refused(status, code, message.unwrap_or_default())
        }
        E::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_default();
            // A status the spec does not list (502, 504, ...) may still carry a DIS body.
            let (code, message) = match serde_json::from_slice::<types::DisError>(&body) {
                Ok(e) => {
                    let (code, message) = dis_error_parts(e);
                    (code, message.unwrap_or_default())
                }
                Err(_) => (None, snippet(&body)),
            };
            refused(status, code, message)
        }
        // A listed status whose body is not a DIS error body (an HTML page from a proxy, say),
        // or a 200 whose body is not a PutRecordsResult.
        E::InvalidResponsePayload(body, err) => match status {
            Some(status) if status != 200 => refused(status, None, snippet(&body)),
            _ => unreadable(format!("{err}; body starts: {}", snippet(&body))),
        },
        // Reading an error answer failed: the status still says what DIS decided.
        E::ResponseBodyError(err) => match status {
            Some(status) if status != 200 => refused(
                status,
                None,
                format!("reading the error body failed: {err}"),
            ),
            _ => unreadable(format!("reading the body failed: {err}")),
        },
        E::CommunicationError(err) | E::InvalidUpgrade(err) => transport(&err),
        E::Custom(message) | E::InvalidRequest(message) => Error::Request(message),
    }
}

/// Classifies a transport failure: only a failed connect is known not to have delivered.
pub(crate) fn transport(err: &reqwest::Error) -> Error {
    use std::error::Error as _;
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    Error::Transport {
        message,
        maybe_delivered: !err.is_connect(),
        connect: err.is_connect(),
        timeout: err.is_timeout(),
    }
}
