//! Answers that are not results: a non-200 answer (a DIS error body of either shape, or
//! whatever a proxy sent) and an answer whose records' fate is unknown, as the crate's
//! [`Error`], with every text taken from the answer cut to a bound.

use crate::error::{Cause, Error};
use crate::generated::types;
use crate::transport::{Answer, Cut};

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
fn refused(status: u16, code: Option<String>, message: String, answer: &Answer) -> Error {
    if status < 200 {
        return unreadable(
            Some(status),
            format!("protocol error: HTTP {status} is no answer to a POST"),
            answer.request_id(),
            None,
        );
    }
    if !(400..600).contains(&status) {
        // Success of some kind (2xx), a redirect (3xx) or no status HTTP has: not a refusal
        // DIS gives, so the records may well be stored.
        return unreadable(
            Some(status),
            format!(
                "unexpected HTTP {status} to SendRecords: {}",
                cut(message, 256)
            ),
            answer.request_id(),
            None,
        );
    }
    Error::Dis {
        status,
        code: code.map(|c| cut(c, MAX_CODE_CHARS)),
        message: cut(message, MAX_MESSAGE_CHARS),
        request_id: answer.request_id(),
        retry_after: answer.retry_after(),
    }
}

/// A non-200 answer, from its status and (bounded) body, which may or may not be a DIS error
/// body of either shape.
pub(crate) fn from_error_answer(answer: &Answer) -> Error {
    let status = answer.status.as_u16();
    let (code, message) = match serde_json::from_slice::<types::DisError>(&answer.body) {
        Ok(e) => {
            let (code, message) = dis_error_parts(e);
            (code, message.unwrap_or_default())
        }
        Err(_) => match &answer.cut {
            Some(Cut::Failed(err)) => (None, format!("reading the error body failed: {err}")),
            _ => (None, snippet(&answer.body)),
        },
    };
    refused(status, code, message, answer)
}
