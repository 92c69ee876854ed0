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
/// (`InvalidResponsePayload` keeps neither the status nor the headers), and what went wrong
/// while reading the body, if anything.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResponseHead {
    pub(crate) status: Option<u16>,
    pub(crate) request_id: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    /// The answer could not be read within its bounds (too large, too many entries): its body
    /// was dropped, and so was the connection.
    pub(crate) unreadable: Option<String>,
    /// Reading an error answer's body failed (its status still says what DIS decided).
    pub(crate) body_error: Option<String>,
}

/// How much of an answer is read, at most. Everything read from the network is bounded: past a
/// bound the body is dropped (and with it the connection), and the answer is unreadable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AnswerLimits {
    /// Largest 2xx body, in bytes.
    pub(crate) ok_body: usize,
    /// Largest error body read; the rest is not read.
    pub(crate) error_body: usize,
    /// Result entries expected in a 200 answer, when known: reading stops past them.
    pub(crate) entries: Option<usize>,
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
            entries: Some(records),
        }
    }

    /// The bounds when the number of records is not known: as many as `max_records`.
    pub(crate) fn at_most(max_records: usize) -> AnswerLimits {
        AnswerLimits {
            entries: None,
            ..AnswerLimits::for_records(max_records)
        }
    }
}

/// Marks an answer whose body was dropped for being out of bounds (the post hook turns it into
/// an error for callers of the generated client).
#[derive(Debug, Clone)]
pub(crate) struct Unreadable(pub(crate) String);

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
            unreadable: None,
            body_error: None,
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
    pub(crate) limits: AnswerLimits,
}

impl Context {
    /// Token injection, before every try: puts the credentials on `request` (a sensitive
    /// `X-Auth-Token`, or a fresh `SDK-HMAC-SHA256` signature).
    pub(crate) fn prepare(&self, request: &mut reqwest::Request) -> Result<(), String> {
        self.auth.apply(request)
    }

    /// Sends `request` with `http`, traced, reads the answer within [`AnswerLimits`], and
    /// leaves the head of the answer in the slot. A 2xx body that fails to arrive is a transport
    /// error (a timeout, say: the records may be stored); an error body that fails to arrive
    /// keeps its status.
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
        let mut response = http.execute(request).instrument(span.clone()).await?;
        let mut head = ResponseHead::of(&response);
        span.record("status", response.status().as_u16());
        if let Some(id) = &head.request_id {
            span.record("request_id", id.as_str());
        }
        let status = response.status();
        let headers = response.headers().clone();
        let version = response.version();
        let cap = if status.is_success() {
            self.limits.ok_body
        } else {
            self.limits.error_body
        };
        let mut body = Vec::new();
        loop {
            match response.chunk().instrument(span.clone()).await {
                Ok(Some(chunk)) if body.len() + chunk.len() > cap => {
                    if status.is_success() {
                        head.unreadable = Some(format!(
                            "the answer is larger than {cap} bytes, the bound for this request; not read further"
                        ));
                        body.clear();
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
                    head.body_error = Some(e.to_string());
                    break;
                }
            }
        }
        // Dropping `response` here, unread to its end, closes the connection.
        drop(response);
        if status == reqwest::StatusCode::OK && head.unreadable.is_none() {
            match inspect_answer(&body, self.limits.entries) {
                Ok(Inspected::AsIs) => {}
                Ok(Inspected::CountOutOfRange(count)) => {
                    // DIS's count is an int32; one out of range must not make a complete answer
                    // unreadable: it is dropped, and the entries decide.
                    tracing::warn!(
                        failed_record_count = %count,
                        "failed_record_count is out of range; the result entries decide"
                    );
                    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body)
                        && let Some(map) = value.as_object_mut()
                    {
                        map.remove("failed_record_count");
                        body = serde_json::to_vec(&value).unwrap_or_default();
                    }
                }
                Err(message) => {
                    head.unreadable = Some(message);
                    body.clear();
                }
            }
        }
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.headers_mut() = headers;
        *rebuilt.version_mut() = version;
        if let Some(message) = &head.unreadable {
            rebuilt.extensions_mut().insert(Unreadable(message.clone()));
        }
        if let Some(slot) = &self.head {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = head;
        }
        Ok(reqwest::Response::from(rebuilt))
    }
}

/// What [`inspect_answer`] found in a 200 answer.
enum Inspected {
    /// Nothing to change (or not JSON of that shape: parsing it properly says what is wrong).
    AsIs,
    /// `failed_record_count` does not fit the spec's int32.
    CountOutOfRange(String),
}

/// Reads a 200 answer once without building it: counts the entries of its `records` array and
/// stops as soon as there are more than `expected` (a hostile answer could hold millions), and
/// checks that `failed_record_count` fits an int32.
fn inspect_answer(body: &[u8], expected: Option<usize>) -> Result<Inspected, String> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess};

    const TOO_MANY: &str = "more than ";
    struct Entries(Option<usize>);
    impl<'de> Visitor<'de> for Entries {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of result entries")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut n = 0usize;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                n += 1;
                if let Some(max) = self.0
                    && n > max
                {
                    return Err(de::Error::custom(format!(
                        "{TOO_MANY}{max} results for {max} records"
                    )));
                }
            }
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Entries {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    struct Answer(Option<usize>);
    impl<'de> Visitor<'de> for Answer {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a PutRecordsResult object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            let mut out_of_range = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match &*key {
                    "records" => map.next_value_seed(Entries(self.0))?,
                    "failed_record_count" => {
                        let count: serde_json::Value = map.next_value()?;
                        let fits = count.as_i64().is_some_and(|n| i32::try_from(n).is_ok());
                        if count.is_number() && !fits {
                            out_of_range = Some(count.to_string());
                        }
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(out_of_range)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match de.deserialize_map(Answer(expected)) {
        Ok(Some(count)) => Ok(Inspected::CountOutOfRange(count)),
        Err(e) if e.to_string().starts_with(TOO_MANY) => Err(e
            .to_string()
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_owned()),
        _ => Ok(Inspected::AsIs),
    }
}
