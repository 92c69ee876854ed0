//! How progenitor's errors, and the HTTP client's, become the crate's [`Error`].

use std::sync::Arc;

use super::{Cause, Error};
use crate::ext::ResponseHead;
use crate::generated::types;

/// The start of a raw body, for messages (never more than 512 bytes of it).
pub(crate) fn snippet(body: &[u8]) -> String {
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

/// Longest DIS error code kept (real ones are like `DIS.4303`, `APIGW.0301`).
const MAX_CODE_CHARS: usize = 64;
/// Longest error message kept: one error is shared by every record of its request, and a
/// hostile server could send megabytes.
pub(crate) const MAX_MESSAGE_CHARS: usize = 1024;

/// At most `max` characters of `text`, with `...` when cut.
fn cut(mut text: String, max: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
        text.push_str("...");
    }
    text
}

/// An answer whose records' fate is unknown.
pub(crate) fn unreadable(
    status: Option<u16>,
    message: String,
    request_id: Option<String>,
    source: Option<Cause>,
) -> Error {
    Error::InvalidResponse {
        status,
        message: cut(message, MAX_MESSAGE_CHARS),
        request_id,
        source,
    }
}

/// A non-200 answer: DIS (or a proxy in front of it) refused the request with `status`, or, for
/// a status no DIS answer has (1xx to a POST, a 2xx other than 200), an answer whose records'
/// fate is unknown.
fn refused(status: u16, code: Option<String>, message: String, head: &ResponseHead) -> Error {
    if status < 200 {
        return unreadable(
            Some(status),
            format!("protocol error: HTTP {status} is no answer to a POST"),
            head.request_id.clone(),
            None,
        );
    }
    if (201..300).contains(&status) {
        // Success of some kind, but not DIS's: the records may well be stored.
        return unreadable(
            Some(status),
            format!(
                "unexpected HTTP {status} to SendRecords: {}",
                cut(message, 256)
            ),
            head.request_id.clone(),
            None,
        );
    }
    Error::Dis {
        status,
        code: code.map(|c| cut(c, MAX_CODE_CHARS)),
        message: cut(message, MAX_MESSAGE_CHARS),
        request_id: head.request_id.clone(),
        retry_after: head.retry_after,
    }
}

/// What a body that is not a DIS error body says: the failure to read it, or its start.
fn unparsed_body(body: &[u8], head: &ResponseHead) -> String {
    match &head.body_error {
        Some(err) => format!("reading the error body failed: {err}"),
        None => snippet(body),
    }
}

/// A non-200 answer, from its status and (bounded) body, which may or may not be a DIS error
/// body of either shape.
pub(crate) fn from_error_answer(status: u16, body: &[u8], head: ResponseHead) -> Error {
    let (code, message) = match serde_json::from_slice::<types::DisError>(body) {
        Ok(e) => {
            let (code, message) = dis_error_parts(e);
            (code, message.unwrap_or_default())
        }
        Err(_) => (None, unparsed_body(body, &head)),
    };
    refused(status, code, message, &head)
}

/// Turns progenitor's error into the crate's one error type. `head` is the head of the answer
/// (status, `X-Request-Id`, `Retry-After`, and what went wrong reading it) as the exec hook
/// read it.
pub(crate) async fn from_generated(
    e: progenitor_client::Error<types::DisError>,
    head: ResponseHead,
) -> Error {
    use progenitor_client::Error as E;
    if let Some(message) = head.unreadable.clone() {
        return unreadable(head.status, message, head.request_id, None);
    }
    match e {
        E::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            let (code, message) = dis_error_parts(rv.into_inner());
            refused(status, code, message.unwrap_or_default(), &head)
        }
        E::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            // The exec hook has read the body already, within its bound.
            let body = response.bytes().await.unwrap_or_default();
            // A status the spec does not list (502, 504, ...) may still carry a DIS body.
            from_error_answer(status, &body, head)
        }
        // A listed status whose body is not a DIS error body (an HTML page from a proxy, say),
        // or a 200 whose body is not a PutRecordsResult.
        E::InvalidResponsePayload(body, err) => match head.status {
            Some(status) if status != 200 => {
                let message = unparsed_body(&body, &head);
                refused(status, None, message, &head)
            }
            _ => unreadable(
                head.status,
                format!("{err}; body starts: {}", snippet(&body)),
                head.request_id,
                Some(Arc::new(err)),
            ),
        },
        E::ResponseBodyError(err) => match head.status {
            Some(status) if status != 200 => refused(
                status,
                None,
                format!("reading the error body failed: {err}"),
                &head,
            ),
            _ => unreadable(
                head.status,
                format!("reading the body failed: {err}"),
                head.request_id,
                Some(Arc::new(err)),
            ),
        },
        E::CommunicationError(err) | E::InvalidUpgrade(err) => transport(err),
        E::Custom(message) | E::InvalidRequest(message) => Error::Request(message),
    }
}

/// Classifies a transport failure: only a failed connect is known not to have delivered.
pub(crate) fn transport(err: reqwest::Error) -> Error {
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
        connect: err.is_connect(),
        timeout: err.is_timeout(),
        source: Arc::new(err),
    }
}
