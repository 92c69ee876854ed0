//! The client a user holds: the generated client plus credentials, limits and validation.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use progenitor_client::ClientInfo;

use crate::answer;
use crate::auth::{Auth, Clock, Credentials};
use crate::body::BodyFormat;
use crate::endpoint;
use crate::error::{Error, mapping};
use crate::ext::{AnswerLimits, Context, HeadSlot, ResponseHead};
use crate::generated::{Client, types};
use crate::outcome::SendOutcome;
use crate::record::Record;
use crate::request;
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
            credentials.check().map_err(|(field, problem)| {
                Error::Config(format!("credentials: {field}: {problem}"))
            })?;
        }
        self.limits.check()?;
        let http = endpoint::http_client(self.timeout)?;
        let auth = Arc::new(Auth::new(
            self.credentials,
            self.project_id.clone(),
            self.clock,
        ));
        let context = Context {
            auth,
            head: None,
            limits: AnswerLimits::at_most(self.limits.max_records_per_request),
        };
        Ok(DisClient {
            client: Client::new_with_client(&endpoint, http, context),
            project_id: self.project_id,
            limits: self.limits,
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
        Err(Error::Config(format!(
            "project_id {project_id:?}: expected 1 to {MAX_PROJECT_ID_LEN} letters, digits, - or _ (a Huawei project ID is 32 hexadecimal characters)"
        )))
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
        f.debug_struct("DisClient")
            .field("endpoint", &self.client.baseurl())
            .field("project_id", &self.project_id)
            .field("auth", &self.client.inner().auth)
            .field("limits", &self.limits)
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
        }
    }

    /// The generated, spec-exact client (see [`crate::generated`]), with this client's
    /// endpoint, credentials and HTTP settings.
    pub fn generated(&self) -> &Client {
        &self.client
    }

    /// The limits checked before sending.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Validates and sends one request. Records DIS refused come back as
    /// [`RecordResult::Failed`](crate::RecordResult::Failed) in the outcome, by position;
    /// nothing is retried here (the [`Producer`](crate::Producer) does that).
    pub async fn send(&self, stream_name: &str, records: &[Record]) -> Result<SendOutcome, Error> {
        let body = request::build(stream_name, records, &self.limits)?;
        self.send_request(&body).await
    }

    /// The context of one call carrying `records` records: this client's credentials, the
    /// bounds of an answer to that many records, and the slot the answer's head goes into
    /// (progenitor's `InvalidResponsePayload` keeps neither status nor headers).
    fn call_context(&self, records: usize) -> (Context, HeadSlot) {
        let slot = HeadSlot::default();
        let context = Context {
            auth: self.client.inner().auth.clone(),
            head: Some(slot.clone()),
            limits: AnswerLimits::for_records(records),
        };
        (context, slot)
    }

    /// Sends a body the producer wrote (`body.rs`) for `records` records, with the same
    /// credentials, bounds and error mapping as the generated client, and reads the answer.
    pub(crate) async fn send_body(
        &self,
        body: Vec<u8>,
        format: BodyFormat,
        records: usize,
    ) -> Result<SendOutcome, Error> {
        let (context, slot) = self.call_context(records);
        let url = format!("{}/v2/{}/records", self.client.baseurl(), self.project_id);
        let http = self.client.client();
        let mut request = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, format.content_type())
            .header(reqwest::header::ACCEPT, format.content_type())
            .body(body)
            .build()
            .map_err(|e| Error::Request(e.to_string()))?;
        context.prepare(&mut request).map_err(Error::Request)?;
        let response = context
            .execute(http, request, "sendRecords")
            .await
            .map_err(mapping::transport)?;
        let head = take_head(&slot);
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        // Already read whole, within its bound, by `execute`.
        let bytes = response.bytes().await.map_err(mapping::transport)?;
        answer::read(status, &content_type, &bytes, records, head)
    }

    /// Sends a request body built (and validated) by [`request::build`].
    pub(crate) async fn send_request(
        &self,
        body: &types::PutRecordsRequest,
    ) -> Result<SendOutcome, Error> {
        // A client value for this call only, carrying its context.
        let (context, slot) = self.call_context(body.records.len());
        let call =
            Client::new_with_client(self.client.baseurl(), self.client.client().clone(), context);
        let result = call.send_records(&self.project_id, body).await;
        let head = take_head(&slot);
        match result {
            Ok(response) => {
                SendOutcome::from_result(response.into_inner(), body.records.len(), head.request_id)
            }
            Err(e) => Err(mapping::from_generated(e, head).await),
        }
    }
}

/// The head an answer left in its call's slot.
fn take_head(slot: &HeadSlot) -> ResponseHead {
    std::mem::take(&mut *slot.lock().unwrap_or_else(|e| e.into_inner()))
}
