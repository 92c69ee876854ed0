//! The one way a request reaches DIS and its answer comes back: the credentials put on, the
//! request sent (traced), the answer read within its bounds and its head kept, a 401 to a
//! provider's credentials answered by one refresh and one resend. `DisClient::send`, the
//! producer (JSON and protobuf) and, through its exec hook, the generated client all go
//! through [`send`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{StatusCode, Version};
use tracing::Instrument;

use crate::auth::Auth;
use crate::compression::{self, Undecoded};
use crate::error::{Error, mapping};

/// How much of an answer is read, at most. Everything read from the network is bounded: past a
/// bound the body is dropped (and with it the connection), and the answer is unreadable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AnswerLimits {
    /// Largest 2xx body, in bytes.
    pub(crate) ok_body: usize,
    /// Largest error body read; the rest is not read.
    pub(crate) error_body: usize,
}

/// Room in a 200 answer for its frame and for each result entry (a DIS entry is under 100 bytes:
/// a partition id and a sequence number, or an error code and message).
const OK_BODY_BASE: usize = 16 * 1024;
const OK_BODY_PER_ENTRY: usize = 1024;
/// An error body larger than this is not read (an error message is a sentence).
const ERROR_BODY: usize = 1024 * 1024;

impl AnswerLimits {
    /// The bounds for an answer to a request of `records` records.
    pub(crate) fn for_records(records: usize) -> AnswerLimits {
        AnswerLimits {
            ok_body: OK_BODY_BASE.saturating_add(records.saturating_mul(OK_BODY_PER_ENTRY)),
            error_body: ERROR_BODY,
        }
    }
}

/// Why an answer's body was not read whole.
#[derive(Debug, Clone)]
pub(crate) enum Cut {
    /// A 2xx body larger than `cap` bytes, the bound for its request: dropped, and the
    /// connection with it.
    TooLarge { cap: usize },
    /// An error body that failed to arrive; its status still says what DIS decided.
    Failed(Arc<reqwest::Error>),
}

/// An answer, read within its bounds.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) version: Version,
    /// The body, or its start when it was cut.
    pub(crate) body: Vec<u8>,
    pub(crate) cut: Option<Cut>,
}

/// Header DIS uses to identify a request in its logs.
const REQUEST_ID: &str = "x-request-id";

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `X-Request-Id`, for Huawei support.
    pub(crate) fn request_id(&self) -> Option<String> {
        self.header(REQUEST_ID).map(str::to_owned)
    }

    /// `Retry-After`, in seconds.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }

    /// `Content-Type`, or `""`.
    pub(crate) fn content_type(&self) -> &str {
        self.header(CONTENT_TYPE.as_str()).unwrap_or("")
    }

    /// The answer as a response again, for progenitor to decode (the generated client's exec
    /// hook). A cut body travels as an extension, which the post hook turns into an error.
    pub(crate) fn into_response(self) -> reqwest::Response {
        let mut rebuilt = http::Response::new(self.body);
        *rebuilt.status_mut() = self.status;
        *rebuilt.headers_mut() = self.headers;
        *rebuilt.version_mut() = self.version;
        if let Some(cut) = self.cut {
            rebuilt.extensions_mut().insert(cut);
        }
        reqwest::Response::from(rebuilt)
    }
}

/// Why [`send`] has no answer.
#[derive(Debug)]
pub(crate) enum Unsent {
    /// The request failed on the network.
    Transport(reqwest::Error),
    /// The credentials could not be put on the request (the first try, or the one after a
    /// 401): nothing more was sent.
    Credentials(Error),
}

/// Puts the credentials on `request`, sends it and reads the answer within `limits`: the one
/// pipeline of every SendRecords request ([`exchange`] for the crate's own, the generated
/// client's exec hook for its own).
/// A 401 to a request signed with a provider's credentials means nothing was stored and the
/// set was refused: the set is dropped and the request sent once more with a new one (a
/// second 401 is the answer).
pub(crate) async fn send(
    http: &reqwest::Client,
    auth: &Auth,
    mut request: reqwest::Request,
    limits: AnswerLimits,
) -> Result<Answer, Unsent> {
    // Taken before the credentials go on: the second try is signed afresh.
    let again = auth.can_refresh().then(|| request.try_clone()).flatten();
    let generation = auth
        .apply(&mut request)
        .await
        .map_err(Unsent::Credentials)?;
    let answer = read_within(http, request, limits)
        .await
        .map_err(Unsent::Transport)?;
    if answer.status == StatusCode::UNAUTHORIZED
        && let (Some(mut again), Some(generation)) = (again, generation)
    {
        tracing::debug!("401: the credentials are refreshed and the request sent once more");
        auth.refused(generation);
        auth.apply(&mut again).await.map_err(Unsent::Credentials)?;
        return read_within(http, again, limits)
            .await
            .map_err(Unsent::Transport);
    }
    Ok(answer)
}

/// [`send`], its failures as the crate's errors.
pub(crate) async fn exchange(
    http: &reqwest::Client,
    auth: &Auth,
    request: reqwest::Request,
    limits: AnswerLimits,
) -> Result<Answer, Error> {
    send(http, auth, request, limits)
        .await
        .map_err(|unsent| match unsent {
            Unsent::Transport(e) => mapping::transport(e),
            Unsent::Credentials(e) => e,
        })
}

/// Sends `request` with `http`, traced, and reads the answer within `limits`. A 2xx body that
/// fails to arrive is a transport error (a timeout, say: the records may be stored); an error
/// body that fails to arrive keeps its status.
pub(crate) async fn read_within(
    http: &reqwest::Client,
    request: reqwest::Request,
    limits: AnswerLimits,
) -> reqwest::Result<Answer> {
    let span = tracing::debug_span!(
        "dis.http",
        status = tracing::field::Empty,
        request_id = tracing::field::Empty,
    );
    let mut response = http.execute(request).instrument(span.clone()).await?;
    let status = response.status();
    span.record("status", status.as_u16());
    if let Some(id) = response
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
    {
        span.record("request_id", id);
    }
    let cap = if status.is_success() {
        limits.ok_body
    } else {
        limits.error_body
    };
    let mut body = Vec::new();
    let mut cut = None;
    loop {
        match response.chunk().instrument(span.clone()).await {
            Ok(Some(chunk)) if body.len() + chunk.len() > cap => {
                if status.is_success() {
                    cut = Some(Cut::TooLarge { cap });
                    body = Vec::new();
                } else {
                    // An error answer: its start is enough to say what went wrong.
                    body.extend_from_slice(&chunk[..cap - body.len()]);
                }
                break;
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) if status.is_success() => return Err(e),
            Err(e) => {
                cut = Some(Cut::Failed(Arc::new(e)));
                break;
            }
        }
    }
    let headers = std::mem::take(response.headers_mut());
    let version = response.version();
    // Dropping `response` here, unread to its end, closes the connection.
    drop(response);
    // A compressed answer (the request's Accept-Encoding allowed it), within the same bound.
    if cut.is_none() {
        match compression::decompress_answer(&headers, body, cap) {
            Ok(plain) => body = plain,
            Err(Undecoded::TooLarge) if status.is_success() => {
                cut = Some(Cut::TooLarge { cap });
                body = Vec::new();
            }
            // Unreadable as it is: the body stays empty, and the answer reads as unreadable
            // (a 2xx: possibly stored) or keeps its status (an error).
            Err(_) => body = Vec::new(),
        }
    }
    Ok(Answer {
        status,
        headers,
        version,
        body,
        cut,
    })
}
