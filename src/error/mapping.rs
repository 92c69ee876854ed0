//! How progenitor's errors, and the HTTP client's, become the crate's [`Error`].

use std::sync::Arc;

use super::{Cause, Error};
use crate::ext::ResponseHead;
use crate::generated::types;

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

/// Turns progenitor's error into the crate's one error type. `head` is the head of the answer
/// (status, `X-Request-Id`, `Retry-After`, and what went wrong reading it) as the exec hook
/// read it.
pub(crate) async fn from_generated(
    e: progenitor_client::Error<types::DisError>,
    head: ResponseHead,
) -> Error {
    use progenitor_client::Error as E;
    let ResponseHead {
        status,
        request_id,
        retry_after,
        unreadable,
        body_error,
    } = head;
    // An answer whose records' fate is unknown: a body out of bounds or unreadable, a status no
    // DIS answer has (1xx to a POST, a 2xx other than 200).
    let unreadable_answer =
        |status: Option<u16>, message: String, source: Option<Cause>| Error::InvalidResponse {
            status,
            message: cut(message, MAX_MESSAGE_CHARS),
            request_id: request_id.clone(),
            source,
        };
    if let Some(message) = unreadable {
        return unreadable_answer(status, message, None);
    }
    // DIS (or a proxy in front of it) refused the request with `status`.
    let refused = |status: u16, code: Option<String>, message: String| {
        if status < 200 {
            return unreadable_answer(
                Some(status),
                format!("protocol error: HTTP {status} is no answer to a POST"),
                None,
            );
        }
        if (201..300).contains(&status) {
            // Success of some kind, but not DIS's: the records may well be stored.
            return unreadable_answer(
                Some(status),
                format!(
                    "unexpected HTTP {status} to SendRecords: {}",
                    cut(message, 256)
                ),
                None,
            );
        }
        Error::Dis {
            status,
            code: code.map(|c| cut(c, MAX_CODE_CHARS)),
            message: cut(message, MAX_MESSAGE_CHARS),
            request_id: request_id.clone(),
            retry_after,
        }
    };
    let body_error = |body: &[u8]| match &body_error {
        Some(err) => format!("reading the error body failed: {err}"),
        None => snippet(body),
    };
    match e {
        E::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            let (code, message) = dis_error_parts(rv.into_inner());
            refused(status, code, message.unwrap_or_default())
        }
        E::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            // The exec hook has read the body already, within its bound.
            let body = response.bytes().await.unwrap_or_default();
            // A status the spec does not list (502, 504, ...) may still carry a DIS body.
            let (code, message) = match serde_json::from_slice::<types::DisError>(&body) {
                Ok(e) => {
                    let (code, message) = dis_error_parts(e);
                    (code, message.unwrap_or_default())
                }
                Err(_) => (None, body_error(&body)),
            };
            refused(status, code, message)
        }
        // A listed status whose body is not a DIS error body (an HTML page from a proxy, say),
        // or a 200 whose body is not a PutRecordsResult.
        E::InvalidResponsePayload(body, err) => match status {
            Some(status) if status != 200 => refused(status, None, body_error(&body)),
            _ => unreadable_answer(
                status,
                format!("{err}; body starts: {}", snippet(&body)),
                Some(Arc::new(err)),
            ),
        },
        E::ResponseBodyError(err) => match status {
            Some(status) if status != 200 => refused(
                status,
                None,
                format!("reading the error body failed: {err}"),
            ),
            _ => unreadable_answer(
                status,
                format!("reading the body failed: {err}"),
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
