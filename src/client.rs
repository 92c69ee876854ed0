//! The client a user holds: the generated client plus credentials, limits and validation.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use progenitor_client::ClientInfo;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName};

use crate::answer;
use crate::auth::{Auth, Clock};
use crate::body::BodyFormat;
use crate::compression::Compression;
use crate::credentials::Credentials;
use crate::endpoint;
use crate::error::{ConfigError, Error, RequestError};
use crate::ext::Context;
use crate::generated::{Client, SEND_RECORDS_PATH, types};
use crate::outcome::SendOutcome;
use crate::record::Record;
use crate::request;
use crate::transport::{self, AnswerLimits};
use crate::validate::Limits;

/// Builds a [`DisClient`].
#[derive(Clone)]
pub struct DisClientBuilder {
    endpoint: String,
    project_id: String,
    credentials: Option<Credentials>,
    limits: Limits,
    timeout: Duration,
    clock: Option<Clock>,
    sign_every_body: bool,
    compression: Compression,
    /// PEM root certificates trusted besides the system's.
    root_certificates: Vec<u8>,
}

impl fmt::Debug for DisClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DisClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("project_id", &self.project_id)
            .field("credentials", &self.credentials)
            .field("limits", &self.limits)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

impl DisClientBuilder {
    /// Credentials: a token, or AK/SK. Without them, requests carry none.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Limits checked before sending. Default: [`Limits::COMMON`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Total time for one request, answer included (default 30 s); connecting takes at most
    /// 10 s of it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// With AK/SK, whether protobuf bodies are signed too (default: on). On, the body's SHA-256
    /// goes into the signature, as for JSON: what Huawei's hand-written DIS SDK, the one that
    /// sends protobuf, does with both its signers (its captured requests are the vectors of
    /// `huaweicloud-sign/tests/it/legacy.rs`, signed again there to the same `Authorization`), so
    /// DIS takes it. Off, the body goes out as `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`, as
    /// Huawei's v3 signer sends every non-JSON body: one SHA-256 per body less, but the
    /// signature no longer covers the body, and a captured request replayed with another
    /// body within its 15 minutes is accepted. Huawei's API gateway documents both: the body is
    /// signed ([APIG FAQ: Will the Request Body Be Signed for Security
    /// Authentication?](https://support.huaweicloud.com/en-us/apig_faq/apig-faq-2005018.html)),
    /// unless `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` says it is not ([Must the Request Body
    /// Be Signed?](https://support.huaweicloud.com/eu/es-es/devg-apisign/api-sign-exclude-body.html)).
    /// A [compressed](Self::compression) body is signed as sent, compressed.
    pub fn sign_every_body(mut self, sign: bool) -> Self {
        self.sign_every_body = sign;
        self
    }

    /// Compress request bodies, as Huawei's Java SDK can (default: [`Compression::None`]). The
    /// signature covers the compressed bytes, but it is this client's v3 `SDK-HMAC-SHA256
    /// Access=` signature, which no Huawei SDK sends over a compressed body (the Java SDK signs
    /// `SDK-HMAC-SHA256 Credential=`): that combination is unverified against DIS (see
    /// [`Compression`]). Each codec needs its cargo feature (`lz4`, `zstd`, `snappy`).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Trusts the root certificates of `pem` (one or more PEM `CERTIFICATE` blocks) besides
    /// the system's: for an endpoint whose certificate a private CA issued. May be called more
    /// than once; a PEM that holds no certificate is an error of [`DisClientBuilder::build`].
    pub fn root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_certificates.extend_from_slice(pem.as_ref());
        self.root_certificates.push(b'\n');
        self
    }

    /// The clock used for `X-Sdk-Date` when signing (default: the system clock; tests pin it).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<DisClient, Error> {
        let endpoint = endpoint::endpoint_url(&self.endpoint)?;
        check_project_id(&self.project_id)?;
        if let Some(credentials) = &self.credentials {
            credentials.check().map_err(|p| {
                ConfigError::new(format!("credentials: {}", p.part.name()), p.problem)
            })?;
        }
        self.limits.check()?;
        if !self.compression.is_available() {
            // Each codec's cargo feature has the codec's name.
            let codec = self.compression.name().unwrap_or_default();
            return Err(Error::Config(ConfigError::new(
                "compression",
                format!(
                    "{codec} needs dis-records' `{codec}` cargo feature, which this build lacks"
                ),
            )));
        }
        let http = endpoint::http_client(self.timeout, &self.root_certificates)?;
        let auth = Arc::new(
            Auth::new(self.credentials, self.project_id.clone(), self.clock)
                .with_sign_every_body(self.sign_every_body),
        );
        // The operation's URL, as the generated method builds it: the spec's path with the
        // project ID percent-encoded.
        let path = SEND_RECORDS_PATH.replace(
            "{project_id}",
            &progenitor_client::encode_path(&self.project_id),
        );
        let url = reqwest::Url::parse(&format!("{endpoint}{path}"))
            .map_err(|e| ConfigError::caused_by("endpoint", e.to_string(), e))?;
        let context = Context {
            auth: auth.clone(),
            limits: AnswerLimits::for_records(self.limits.max_records_per_request),
        };
        Ok(DisClient {
            client: Client::new_with_client(&endpoint, http.clone(), context),
            http,
            url,
            auth,
            project_id: self.project_id,
            limits: self.limits,
            compression: self.compression,
        })
    }
}

/// Longest project ID accepted (Huawei's are 32 hexadecimal characters).
const MAX_PROJECT_ID_LEN: usize = 64;

/// The project ID goes into the request path: only `[A-Za-z0-9_-]`, so that it cannot become
/// `..` or `.` and move the request (validly signed) to another path.
fn check_project_id(project_id: &str) -> Result<(), Error> {
    let ok = !project_id.is_empty()
        && project_id.len() <= MAX_PROJECT_ID_LEN
        && project_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Config(ConfigError::new(
            "project_id",
            format!(
                "{project_id:?}: expected 1 to {MAX_PROJECT_ID_LEN} letters, digits, - or _ (a Huawei project ID is 32 hexadecimal characters)"
            ),
        )))
    }
}

/// A DIS client: the generated [`Client`] plus credentials, limits and validation.
#[derive(Clone)]
pub struct DisClient {
    /// The generated client, for [`DisClient::generated`].
    client: Client,
    http: reqwest::Client,
    /// Where SendRecords goes.
    url: reqwest::Url,
    auth: Arc<Auth>,
    project_id: String,
    limits: Limits,
    compression: Compression,
}

impl fmt::Debug for DisClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DisClient")
            .field("endpoint", &self.client.baseurl())
            .field("project_id", &self.project_id)
            .field("auth", &self.auth)
            .field("limits", &self.limits)
            .field("compression", &self.compression)
            .finish()
    }
}

impl DisClient {
    /// Starts building a client for `endpoint` (a region name such as `cn-north-4`, or an
    /// `http(s)://` URL) and `project_id`.
    pub fn builder(endpoint: impl Into<String>, project_id: impl Into<String>) -> DisClientBuilder {
        DisClientBuilder {
            endpoint: endpoint.into(),
            project_id: project_id.into(),
            credentials: None,
            limits: Limits::default(),
            timeout: Duration::from_secs(30),
            clock: None,
            sign_every_body: true,
            compression: Compression::None,
            root_certificates: Vec::new(),
        }
    }

    /// The generated, spec-exact client (see [`crate::generated`]), with this client's
    /// endpoint, credentials and HTTP settings; its requests take the same pipeline as
    /// [`DisClient::send`]'s (a 401 to a provider's credentials: one refresh, one resend).
    pub fn generated(&self) -> &Client {
        &self.client
    }

    /// The project ID requests go to.
    pub(crate) fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The limits checked before sending.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Validates and sends one request. Records DIS refused come back as
    /// [`RecordResult::Failed`](crate::RecordResult::Failed) in the outcome, by position;
    /// nothing is retried here (the [`Producer`](crate::Producer) does that).
    pub async fn send(&self, stream_name: &str, records: &[Record]) -> Result<SendOutcome, Error> {
        let request = request::build(stream_name, records, &self.limits)?;
        self.call(&request, BodyFormat::Json).await
    }

    /// The SendRecords pipeline every path shares: the generated `request` written in
    /// `format`, sent with this client's credentials by the one transport, and its answer read
    /// by the one reader.
    pub(crate) async fn call(
        &self,
        request: &types::PutRecordsRequest,
        format: BodyFormat,
    ) -> Result<SendOutcome, Error> {
        let http_request = self.prepare(request, format, request::body_size(request))?;
        self.execute(http_request, request.records.len()).await
    }

    /// The pipeline's first stage: `request` written in `format` (into a buffer of `capacity`
    /// bytes, about the body's size), compressed when the client compresses, into the HTTP
    /// request (the body owns its bytes; `request` is free again when
    /// this returns).
    pub(crate) fn prepare(
        &self,
        request: &types::PutRecordsRequest,
        format: BodyFormat,
        capacity: usize,
    ) -> Result<reqwest::Request, Error> {
        let mut body = Vec::with_capacity(capacity);
        format.encode(request, &mut body);
        let (body, encoding) = self.compression.compress(body);
        let http_request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, format.content_type())
            .header(ACCEPT, format.content_type())
            .header(
                HeaderName::from_static("api-version"),
                <Client as ClientInfo<Context>>::api_version(),
            )
            .headers(encoding)
            .body(body)
            .build()
            .map_err(|e| RequestError::Build(Arc::new(e)))?;
        Ok(http_request)
    }

    /// The pipeline's second stage: a prepared request of `sent` records sent by the one
    /// transport, and its answer read by the one reader.
    pub(crate) async fn execute(
        &self,
        http_request: reqwest::Request,
        sent: usize,
    ) -> Result<SendOutcome, Error> {
        let limits = AnswerLimits::for_records(sent);
        let protobuf_request = http_request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(answer::is_protobuf);
        let answer = transport::exchange(&self.http, &self.auth, http_request, limits).await?;
        answer::read(answer, sent, protobuf_request)
    }
}
