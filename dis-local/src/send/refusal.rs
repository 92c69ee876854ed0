//! [`Refusal`]: every way a SendRecords request is answered with an error instead of being
//! stored ([`Stop`]: or closed without an answer), and the answer each one turns into (a DIS body, or the API gateway's for
//! authentication and injected throttling), counted in [`Stats`](crate::Stats).

use std::fmt;
use std::time::Duration;

use hyper::StatusCode;

use crate::answer::{Abort, Resp, closing, dis_error, gateway_error};
use crate::auth::Denied;
use crate::faults::FailKind;
use crate::stats::Counters;

/// Why a request stopped before its records were stored.
pub(super) enum Stop {
    /// Answered with an error.
    Refused(Refusal),
    /// The connection is closed without an answer.
    Close(Abort),
}

impl From<Refusal> for Stop {
    fn from(refusal: Refusal) -> Stop {
        Stop::Refused(refusal)
    }
}

impl From<Abort> for Stop {
    fn from(abort: Abort) -> Stop {
        Stop::Close(abort)
    }
}

/// The code and message of a record refused by traffic control (quota or injected), in both
/// formats.
pub(super) const THROTTLED_CODE: &str = "DIS.4303";
pub(super) const THROTTLED_MESSAGE: &str = "Exceeded traffic control limit.";

/// A SendRecords request answered with an error; nothing of it is stored.
pub(super) enum Refusal {
    /// 400 with this DIS code: the request breaks one of DIS's rules (`Content-Type`, body,
    /// stream, records, partition, hash key).
    Invalid { code: &'static str, message: String },
    /// 413 `DIS.4200`: the records' decoded data is over the request limit.
    DataTooLarge { message: String },
    /// 413 `DIS.4200`: the HTTP body is over the body cap; `close` when it was too large to
    /// read and throw away (the connection is then closed after the answer).
    BodyTooLarge { seen: u64, cap: usize, close: bool },
    /// 408 `DIS.4200`, closing the connection: the body did not arrive within the deadline.
    BodyTimeout { timeout: Duration },
    /// 503 `DIS.5250`: the budget of buffered body bytes cannot give this request its share;
    /// `close` when its body could not be read and thrown away.
    Busy {
        budget: usize,
        wanted: usize,
        close: bool,
    },
    /// Authentication failed: 401 with the gateway's body, or 441 with a DIS body; or the
    /// credentials are not for the path's project: 400 `DIS.4117`.
    Denied(Denied),
    /// An injected whole-request failure (`fail_requests`).
    Injected(FailKind),
}

impl Refusal {
    /// A 400 with this DIS code.
    pub(super) fn invalid(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::Invalid {
            code,
            message: message.into(),
        }
    }

    /// A body its parser refused, in the parser's words (cut short: serde quotes mistyped
    /// strings whole).
    pub(super) fn invalid_body(detail: impl fmt::Display) -> Refusal {
        let mut detail = detail.to_string();
        if let Some((cut, _)) = detail.char_indices().nth(300) {
            detail.truncate(cut);
            detail.push_str("...");
        }
        Refusal::invalid("DIS.4200", format!("Invalid request body: {detail}."))
    }

    /// The answer, counted: a 4xx in `rejected_requests` (and a 408 in `body_timeouts`), the
    /// busy 503 in `busy_requests`, an injected failure in `failed_requests`.
    pub(super) fn answer(self, stats: &Counters) -> Resp {
        let counter = match &self {
            Refusal::Busy { .. } => &stats.busy_requests,
            Refusal::Injected(_) => &stats.failed_requests,
            Refusal::BodyTimeout { .. } => {
                Counters::add(&stats.body_timeouts, 1);
                &stats.rejected_requests
            }
            Refusal::Denied(Denied::Credential { expired, .. }) => {
                Counters::add(
                    if *expired {
                        &stats.refused_expired_credentials
                    } else {
                        &stats.refused_unknown_credentials
                    },
                    1,
                );
                &stats.rejected_requests
            }
            _ => &stats.rejected_requests,
        };
        Counters::add(counter, 1);
        match self {
            Refusal::Invalid { code, message } => {
                dis_error(StatusCode::BAD_REQUEST, code, &message)
            }
            Refusal::DataTooLarge { message } => {
                dis_error(StatusCode::PAYLOAD_TOO_LARGE, "DIS.4200", &message)
            }
            Refusal::BodyTooLarge { seen, cap, close } => closing_if(
                close,
                dis_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "DIS.4200",
                    &format!(
                        "Request body too large: at least {seen} bytes; this endpoint reads at most {cap} bytes."
                    ),
                ),
            ),
            Refusal::BodyTimeout { timeout } => closing(dis_error(
                StatusCode::REQUEST_TIMEOUT,
                "DIS.4200",
                &format!(
                    "Request body not received within {} ms of its head; closing the connection.",
                    timeout.as_millis()
                ),
            )),
            Refusal::Busy {
                budget,
                wanted,
                close,
            } => closing_if(
                close,
                dis_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "DIS.5250",
                    &format!(
                        "Service temporarily unavailable: request bodies being received hold the endpoint's buffer budget ({budget} bytes); this one needs {wanted} bytes. Retry later."
                    ),
                ),
            ),
            Refusal::Denied(Denied::Gateway(message)) => {
                gateway_error(StatusCode::UNAUTHORIZED, "APIGW.0301", message)
            }
            Refusal::Denied(Denied::Credential { code, message, .. }) => {
                gateway_error(StatusCode::UNAUTHORIZED, code, message)
            }
            Refusal::Denied(Denied::Project(message)) => {
                dis_error(StatusCode::BAD_REQUEST, "DIS.4117", &message)
            }
            Refusal::Denied(Denied::Signature(code, message)) => dis_error(
                StatusCode::from_u16(441).unwrap_or(StatusCode::UNAUTHORIZED),
                code,
                message,
            ),
            Refusal::Injected(FailKind::Internal) => dis_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "DIS.5000",
                "System error. (injected)",
            ),
            Refusal::Injected(FailKind::Unavailable) => dis_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "DIS.5250",
                "Service temporarily unavailable, retry later. (injected)",
            ),
            Refusal::Injected(FailKind::Throttled) => gateway_error(
                StatusCode::TOO_MANY_REQUESTS,
                "APIGW.0308",
                "The throttling threshold has been reached. (injected)",
            ),
        }
    }
}

/// `resp`, with `Connection: close` when `close`.
fn closing_if(close: bool, resp: Resp) -> Resp {
    if close { closing(resp) } else { resp }
}
