//! The answers every handler builds: the response type, the "close without answering" error,
//! JSON bodies and the two error body shapes (DIS's and the API gateway's); and the answers
//! written by hand below hyper (a connection refused at the cap, hyper's own error answers
//! rewritten with a DIS body).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;

/// An answer.
pub(crate) type Resp = Response<Full<Bytes>>;

/// Returned from the service to make hyper close the connection without answering.
#[derive(Debug)]
pub(crate) struct Abort(pub(crate) &'static str);

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "connection closed without an answer: {}", self.0)
    }
}

impl std::error::Error for Abort {}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A protobuf answer (`Content-Type: application/x-protobuf`), only ever a 200 to a protobuf
/// SendRecords request: error answers stay JSON.
pub(crate) fn protobuf(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    resp
}

/// A DIS error body: `{"errorCode": code, "message": message}`.
pub(crate) fn dis_error_body(code: &str, message: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        #[serde(rename = "errorCode")]
        error_code: &'a str,
        message: &'a str,
    }
    serde_json::to_vec(&Body {
        error_code: code,
        message,
    })
    .unwrap_or_default()
}

/// A DIS error answer: `{"errorCode": code, "message": message}`.
pub(crate) fn dis_error(status: StatusCode, code: &str, message: &str) -> Resp {
    json(status, dis_error_body(code, message))
}

/// Adds `Connection: close`: hyper closes the connection after this answer.
pub(crate) fn closing(mut resp: Resp) -> Resp {
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// An API gateway error answer: `{"error_code": code, "error_msg": message}`.
pub(crate) fn gateway_error(status: StatusCode, code: &str, message: &str) -> Resp {
    #[derive(Serialize)]
    struct Body<'a> {
        error_code: &'a str,
        error_msg: &'a str,
    }
    let body = serde_json::to_vec(&Body {
        error_code: code,
        error_msg: message,
    })
    .unwrap_or_default();
    json(status, body)
}

/// An answer written by hand (not through hyper) with a JSON body, closing the connection.
pub(crate) fn raw_answer(
    code: u16,
    reason: &str,
    id: u64,
    date: Option<&[u8]>,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("HTTP/1.1 {code} {reason}\r\n").as_bytes());
    out.extend_from_slice(b"content-type: application/json\r\nconnection: close\r\n");
    out.extend_from_slice(format!("x-request-id: {id:032x}\r\n").as_bytes());
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    if let Some(date) = date {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(date);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}
