//! The thin layer the generated client is built with (see `build.rs`): Base64 helpers (the
//! spec's `format: byte` strings become [`Base64Data`], raw bytes that turn into Base64 only
//! at the wire) and token injection ([`Context`], the client's inner value, puts the
//! credentials on every request and notes the head of every answer; `src/generated.rs` wires
//! it into progenitor's hooks). Nothing here depends on the generated code.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tracing::Instrument;

use crate::auth::Auth;

/// Decodes a record's `data` from the wire back to its bytes.
pub(crate) fn decode_data(data: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(data)
}

/// Raw bytes carried as a Base64 string (`type: string, format: byte` in the spec). User code
/// hands in and gets back bytes; the Base64 text exists only while a body is written or read.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Base64Data(pub Bytes);

impl From<Bytes> for Base64Data {
    fn from(b: Bytes) -> Self {
        Base64Data(b)
    }
}

impl From<Vec<u8>> for Base64Data {
    fn from(b: Vec<u8>) -> Self {
        Base64Data(Bytes::from(b))
    }
}

impl fmt::Debug for Base64Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Data({} bytes)", self.0.len())
    }
}

impl Serialize for Base64Data {
    /// Writes the Base64 text as a string, streamed into the serializer: no encoded copy of
    /// the payload is allocated (serde_json implements `collect_str` without one).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&Base64Display::new(&self.0, &BASE64))
    }
}

impl<'de> Deserialize<'de> for Base64Data {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Base64Data;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Base64 string (standard alphabet, padded)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Base64Data, E> {
                decode_data(v)
                    .map(Base64Data::from)
                    .map_err(|e| E::custom(format!("data is not Base64: {e}")))
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl schemars::JsonSchema for Base64Data {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Base64Data".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "byte",
            "contentEncoding": "base64"
        })
    }
}

/// The head of an answer: what error reports need when progenitor's error has dropped it
/// (`InvalidResponsePayload` keeps neither the status nor the headers).
#[derive(Debug, Clone, Default)]
pub(crate) struct ResponseHead {
    pub(crate) status: Option<u16>,
    pub(crate) request_id: Option<String>,
    pub(crate) retry_after: Option<Duration>,
}

/// Header DIS uses to identify a request in its logs.
const REQUEST_ID: &str = "x-request-id";

impl ResponseHead {
    /// Reads the head of `response` once.
    fn of(response: &reqwest::Response) -> ResponseHead {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        ResponseHead {
            status: Some(response.status().as_u16()),
            request_id: header(REQUEST_ID),
            retry_after: header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        }
    }
}

/// Where one call of the hand-written layer wants the head of its answer left.
pub(crate) type HeadSlot = Arc<Mutex<ResponseHead>>;

/// The generated client's inner value: the credentials put on every request and, for one call
/// of [`DisClient::send`](crate::DisClient::send), the slot its answer's head goes into. The
/// slot is passed in with the call's client value, never through thread- or task-local state.
#[derive(Clone, Debug)]
pub struct Context {
    pub(crate) auth: Arc<Auth>,
    pub(crate) head: Option<HeadSlot>,
}

impl Context {
    /// Token injection, before every try: puts the credentials on `request` (a sensitive
    /// `X-Auth-Token`, or a fresh `SDK-HMAC-SHA256` signature).
    pub(crate) fn prepare(&self, request: &mut reqwest::Request) -> Result<(), String> {
        self.auth.apply(request)
    }

    /// Sends `request` with `http`, traced, and leaves the head of the answer in the slot.
    pub(crate) async fn execute(
        &self,
        http: &reqwest::Client,
        request: reqwest::Request,
        operation_id: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::debug_span!(
            "dis.http",
            operation = operation_id,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let result = http.execute(request).instrument(span.clone()).await;
        if let Ok(response) = &result {
            let head = ResponseHead::of(response);
            span.record("status", response.status().as_u16());
            if let Some(id) = &head.request_id {
                span.record("request_id", id.as_str());
            }
            if let Some(slot) = &self.head {
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = head;
            }
        }
        result
    }
}
