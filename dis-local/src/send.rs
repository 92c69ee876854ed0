//! SendRecords: read the body, apply faults, authenticate, validate, route, store, answer.
//!
//! Everything that can refuse the request is checked before the stream is locked, so a request
//! is stored completely or not at all (injected per-record failures aside). The body is JSON or
//! protobuf (by `Content-Type`); both are validated by the same [`validate`], through the
//! [`SendRequest`] view of either. For JSON, the hot path allocates nothing per record: `data`
//! and keys are borrowed from the body, all payloads of a request are decoded into one buffer,
//! and the answer is written by hand into one `Vec`. Protobuf requests are decoded with prost
//! (`data` slices the body, keys are owned strings) and answered with a prost message.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header;
use hyper::http::request::Parts;
use hyper::{Request, StatusCode};
use prost::Message as _;
use serde::Deserialize;
use serde::de::{Deserializer, Visitor};

use crate::answer::{Abort, Resp, closing, dis_error, gateway_error, json, protobuf};
use crate::auth::{self, Denied};
use crate::faults::{FailKind, Plan};
use crate::limits::MAX_STREAM_NAME_LEN;
use crate::proto;
use crate::routing::{
    hash_partition_key, parse_explicit_hash_key, parse_partition_id, partition_for_hash,
    push_shard_id, push_u64, shard_id,
};
use crate::state::{BudgetShare, Counters, Shared};
use crate::store::{Rec, Stream};

/// A body over the cap is read and thrown away up to this many bytes, so the client gets to
/// read the 413; beyond it the connection is closed after the answer.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// A string borrowed from the body when it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// An optional string that, when present, must be a string: `null` is refused, as the spec
/// types these fields `string` (not nullable) and DIS's SDKs never send `null`.
fn present<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Str<'a>>, D::Error> {
    Str::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct PutRecords<'a> {
    #[serde(borrow)]
    stream_name: Str<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    stream_id: Option<Str<'a>>,
    #[serde(borrow)]
    records: Vec<Entry<'a>>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow)]
    data: Str<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    partition_id: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    partition_key: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    explicit_hash_key: Option<Str<'a>>,
}

/// The field names of a body format, for error messages.
struct Fields {
    stream_name: &'static str,
    records: &'static str,
    data: &'static str,
    partition_id: &'static str,
    explicit_hash_key: &'static str,
    /// How the record sizes are counted: " after Base64 decoding" in JSON, "" in protobuf.
    decoded: &'static str,
}

/// A decoded SendRecords request, JSON or protobuf: what [`validate`] reads.
trait SendRequest {
    type Entry: SendEntry;
    const FIELDS: Fields;
    /// The stream name; `""` when absent.
    fn stream_name(&self) -> &str;
    fn stream_id(&self) -> Option<&str>;
    fn records(&self) -> &[Self::Entry];
}

/// One record of a [`SendRequest`].
trait SendEntry {
    /// The size of the data once decoded, or `None` when it cannot be decoded (its Base64 has
    /// a length that is not a multiple of 4).
    fn data_size(&self) -> Option<usize>;
    /// Appends the decoded data to `buf`; false when it cannot be decoded.
    fn decode_into(&self, buf: &mut Vec<u8>) -> bool;
    fn partition_id(&self) -> Option<&str>;
    fn partition_key(&self) -> Option<&str>;
    fn explicit_hash_key(&self) -> Option<&str>;
}

impl<'a> SendRequest for PutRecords<'a> {
    type Entry = Entry<'a>;
    const FIELDS: Fields = Fields {
        stream_name: "stream_name",
        records: "records",
        data: "data",
        partition_id: "partition_id",
        explicit_hash_key: "explicit_hash_key",
        decoded: " after Base64 decoding",
    };
    fn stream_name(&self) -> &str {
        &self.stream_name.0
    }
    fn stream_id(&self) -> Option<&str> {
        self.stream_id.as_ref().map(|s| s.0.as_ref())
    }
    fn records(&self) -> &[Entry<'a>] {
        &self.records
    }
}

impl SendEntry for Entry<'_> {
    fn data_size(&self) -> Option<usize> {
        let data = self.data.0.as_bytes();
        if !data.len().is_multiple_of(4) {
            return None;
        }
        let pad = data
            .iter()
            .rev()
            .take(2)
            .take_while(|&&b| b == b'=')
            .count();
        Some(data.len() / 4 * 3 - pad)
    }
    fn decode_into(&self, buf: &mut Vec<u8>) -> bool {
        base64::engine::general_purpose::STANDARD
            .decode_vec(self.data.0.as_bytes(), buf)
            .is_ok()
    }
    fn partition_id(&self) -> Option<&str> {
        self.partition_id.as_ref().map(|s| s.0.as_ref())
    }
    fn partition_key(&self) -> Option<&str> {
        self.partition_key.as_ref().map(|s| s.0.as_ref())
    }
    fn explicit_hash_key(&self) -> Option<&str> {
        self.explicit_hash_key.as_ref().map(|s| s.0.as_ref())
    }
}

impl SendRequest for proto::PutRecordsRequest {
    type Entry = proto::PutRecordsRequestEntry;
    const FIELDS: Fields = Fields {
        stream_name: "streamName",
        records: "records",
        data: "data",
        partition_id: "partitionId",
        explicit_hash_key: "explicitHashKey",
        decoded: "",
    };
    fn stream_name(&self) -> &str {
        self.stream_name.as_deref().unwrap_or_default()
    }
    fn stream_id(&self) -> Option<&str> {
        self.stream_id.as_deref()
    }
    fn records(&self) -> &[proto::PutRecordsRequestEntry] {
        &self.records
    }
}

impl SendEntry for proto::PutRecordsRequestEntry {
    fn data_size(&self) -> Option<usize> {
        Some(self.data.as_ref().map_or(0, Bytes::len))
    }
    fn decode_into(&self, buf: &mut Vec<u8>) -> bool {
        if let Some(data) = &self.data {
            buf.extend_from_slice(data);
        }
        true
    }
    fn partition_id(&self) -> Option<&str> {
        self.partition_id.as_deref()
    }
    fn partition_key(&self) -> Option<&str> {
        self.partition_key.as_deref()
    }
    fn explicit_hash_key(&self) -> Option<&str> {
        self.explicit_hash_key.as_deref()
    }
}

/// One validated record.
struct Prepared {
    /// Where its decoded data, then its partition key (when retained), sit in the request's
    /// buffer: `start .. start + data_len .. end`.
    start: usize,
    data_len: u32,
    end: usize,
    has_key: bool,
    /// The partition, or `None` to spread round robin.
    target: Option<u32>,
    explicit_hash_key: Option<u64>,
}

/// A 4xx answer decided during validation.
struct Refusal(StatusCode, &'static str, String);

impl Refusal {
    fn into_response(self) -> Resp {
        dis_error(self.0, self.1, &self.2)
    }
}

fn refuse(code: &'static str, message: &str) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, code, message.to_owned())
}

fn bad(code: &str, message: &str) -> Resp {
    dis_error(StatusCode::BAD_REQUEST, code, message)
}

fn too_large(message: &str, close: bool) -> Resp {
    let resp = dis_error(StatusCode::PAYLOAD_TOO_LARGE, "DIS.4200", message);
    if close { closing(resp) } else { resp }
}

enum BodyError {
    /// Over the cap; `drained` when the rest was read (the connection can stay open).
    TooLarge { seen: u64, drained: bool },
    /// The budget of buffered body bytes could not give `wanted` bytes; `drained` when the body
    /// was read and thrown away (the connection can stay open).
    Busy { wanted: usize, drained: bool },
    /// The client went away or sent a broken body.
    Io,
}

/// Reads and throws away the rest of a body, up to [`DRAIN_LIMIT`] bytes in all.
async fn drain(body: &mut Incoming, mut seen: u64) -> Result<(u64, bool), BodyError> {
    while seen <= DRAIN_LIMIT {
        match body.frame().await {
            None => return Ok((seen, true)),
            Some(Err(_)) => return Err(BodyError::Io),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    seen += data.len() as u64;
                }
            }
        }
    }
    Ok((seen, false))
}

/// Refuses a body the budget cannot hold, after reading and throwing away what is left of it.
async fn busy(body: &mut Incoming, seen: u64, wanted: usize) -> BodyError {
    match drain(body, seen).await {
        Ok((_, drained)) => BodyError::Busy { wanted, drained },
        Err(e) => e,
    }
}

/// Reads the whole body, refusing more than `cap` bytes without buffering them, and holding
/// what it buffers in `share` of the body budget: the whole `Content-Length` up front when
/// there is one, else the buffer's capacity as it grows.
async fn read_body(
    mut body: Incoming,
    content_length: Option<u64>,
    cap: usize,
    share: &mut BudgetShare<'_>,
) -> Result<Bytes, BodyError> {
    if let Some(len) = content_length.filter(|&len| len > cap as u64) {
        let drained = len <= DRAIN_LIMIT && drain(&mut body, 0).await?.1;
        return Err(BodyError::TooLarge { seen: len, drained });
    }
    if let Some(len) = content_length {
        // At most `cap`, checked above.
        let len = len as usize;
        if !share.grow_to(len) {
            return Err(busy(&mut body, 0, len).await);
        }
    }
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| BodyError::Io)?.into_data() else {
            continue; // trailers
        };
        total += data.len();
        if total > cap {
            let (seen, drained) = drain(&mut body, total as u64).await?;
            return Err(BodyError::TooLarge { seen, drained });
        }
        if let Some(buf) = joined.as_mut() {
            if buf.capacity() - buf.len() < data.len() {
                // Grow by doubling, up to the cap, with the budget's consent.
                let want = (buf.capacity() * 2).min(cap).max(total);
                if !share.grow_to(want) {
                    return Err(busy(&mut body, total as u64, want).await);
                }
                let mut bigger = BytesMut::with_capacity(want);
                bigger.put(buf.split());
                *buf = bigger;
            }
            buf.put(data);
        } else if let Some(head) = first.take() {
            let want = content_length.map_or(total * 2, |l| l as usize).max(total);
            if !share.grow_to(want) {
                return Err(busy(&mut body, total as u64, want).await);
            }
            let mut buf = BytesMut::with_capacity(want);
            buf.put(head);
            buf.put(data);
            joined = Some(buf);
        } else {
            if !share.grow_to(data.len()) {
                return Err(busy(&mut body, total as u64, data.len()).await);
            }
            first = Some(data);
        }
    }
    Ok(joined.map(BytesMut::freeze).or(first).unwrap_or_default())
}

/// The format of a SendRecords body, from its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `application/json`: the DIS document's bodies, `data` in Base64.
    Json,
    /// `application/x-protobuf`: Huawei's hand-written SDKs' bodies, `data` raw; answered in
    /// protobuf too.
    Protobuf,
}

/// The body format named by the `Content-Type` media type (parameters such as
/// `;charset=utf-8` ignored), or `None` for any other or none.
fn body_format(parts: &Parts) -> Option<Format> {
    let value = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())?;
    let media = value.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("application/json") {
        Some(Format::Json)
    } else if media.eq_ignore_ascii_case("application/x-protobuf") {
        Some(Format::Protobuf)
    } else {
        None
    }
}

/// A refused body, in the words of its parser (cut short: serde quotes mistyped strings
/// whole).
fn invalid_body(detail: impl fmt::Display) -> Resp {
    let mut detail = detail.to_string();
    if let Some((cut, _)) = detail.char_indices().nth(300) {
        detail.truncate(cut);
        detail.push_str("...");
    }
    bad("DIS.4200", &format!("Invalid request body: {detail}."))
}

fn reject(shared: &Shared, resp: Resp) -> Result<Resp, Abort> {
    Counters::add(&shared.stats.rejected_requests, 1);
    Ok(resp)
}

/// Handles `POST /v2/{project_id}/records`.
pub(crate) async fn send_records(shared: &Shared, req: Request<Incoming>) -> Result<Resp, Abort> {
    let plan = shared.faults.plan();
    let result = handle(shared, req, &plan).await;
    if let Some(delay) = plan.delay {
        tokio::time::sleep(delay).await;
    }
    result
}

async fn handle(shared: &Shared, req: Request<Incoming>, plan: &Plan) -> Result<Resp, Abort> {
    // The head was read just now: the body deadline counts from here.
    let deadline = tokio::time::Instant::now() + shared.conn_limits.body_read_timeout;
    let (parts, body) = req.into_parts();
    let content_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let cap = shared.limits.body_cap;
    // Held until the request is answered: the body, and what is decoded from it, stay in
    // memory until then.
    let mut share = shared.body_budget.share();
    let read = tokio::time::timeout_at(deadline, read_body(body, content_length, cap, &mut share));
    let body = match read.await {
        Ok(Ok(body)) => body,
        Err(_elapsed) => {
            Counters::add(&shared.stats.body_timeouts, 1);
            let ms = shared.conn_limits.body_read_timeout.as_millis();
            return reject(
                shared,
                closing(dis_error(
                    StatusCode::REQUEST_TIMEOUT,
                    "DIS.4200",
                    &format!(
                        "Request body not received within {ms} ms of its head; closing the connection."
                    ),
                )),
            );
        }
        Ok(Err(BodyError::Io)) => return Err(Abort("the request body could not be read")),
        Ok(Err(BodyError::TooLarge { seen, drained })) => {
            return reject(
                shared,
                too_large(
                    &format!(
                        "Request body too large: at least {seen} bytes; this endpoint reads at most {cap} bytes."
                    ),
                    !drained,
                ),
            );
        }
        Ok(Err(BodyError::Busy { wanted, drained })) => {
            Counters::add(&shared.stats.busy_requests, 1);
            let resp = dis_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "DIS.5250",
                &format!(
                    "Service temporarily unavailable: request bodies being received hold the endpoint's buffer budget ({} bytes); this one needs {wanted} bytes. Retry later.",
                    shared.body_budget.limit()
                ),
            );
            return Ok(if drained { resp } else { closing(resp) });
        }
    };
    let stats = &shared.stats;
    if plan.drop_before {
        Counters::add(&stats.dropped_before, 1);
        return Err(Abort("injected drop_before"));
    }
    if let Some(kind) = plan.fail {
        Counters::add(&stats.failed_requests, 1);
        return Ok(match kind {
            FailKind::Internal => dis_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "DIS.5000",
                "System error. (injected)",
            ),
            FailKind::Unavailable => dis_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "DIS.5250",
                "Service temporarily unavailable, retry later. (injected)",
            ),
            FailKind::Throttled => gateway_error(
                StatusCode::TOO_MANY_REQUESTS,
                "APIGW.0308",
                "The throttling threshold has been reached. (injected)",
            ),
        });
    }
    if let Err(denied) = auth::check(&shared.auth, &parts, &body) {
        return reject(
            shared,
            match denied {
                Denied::Gateway(msg) => gateway_error(StatusCode::UNAUTHORIZED, "APIGW.0301", msg),
                Denied::Signature(code, msg) => dis_error(
                    StatusCode::from_u16(441).unwrap_or(StatusCode::UNAUTHORIZED),
                    code,
                    msg,
                ),
            },
        );
    }
    let Some(format) = body_format(&parts) else {
        return reject(
            shared,
            bad(
                "DIS.4200",
                "Invalid request: Content-Type must be application/json or application/x-protobuf.",
            ),
        );
    };
    let validated = match format {
        Format::Json => match serde_json::from_slice::<PutRecords<'_>>(&body) {
            Ok(request) => validate(shared, &request),
            Err(e) => return reject(shared, invalid_body(e)),
        },
        Format::Protobuf => match proto::PutRecordsRequest::decode(body.clone()) {
            Ok(request) => validate(shared, &request),
            Err(e) => return reject(shared, invalid_body(e)),
        },
    };
    let (stream, prepared, data) = match validated {
        Ok(v) => v,
        Err(refusal) => return reject(shared, refusal.into_response()),
    };
    let n = prepared.len();
    let failures =
        (plan.fail_records > 0.0).then(|| shared.faults.record_failures(n, plan.fail_records));
    let outcome = store(shared, stream, &prepared, data, failures.as_deref());
    if plan.drop_after {
        Counters::add(&stats.dropped_after, 1);
        return Err(Abort("injected drop_after"));
    }
    Ok(match format {
        Format::Json => json(StatusCode::OK, outcome.json()),
        Format::Protobuf => protobuf(StatusCode::OK, outcome.protobuf()),
    })
}

/// Checks everything that can refuse the request; decodes all payloads into one buffer.
fn validate<'s, R: SendRequest>(
    shared: &'s Shared,
    request: &R,
) -> Result<(&'s Stream, Vec<Prepared>, Bytes), Refusal> {
    let f = &R::FIELDS;
    let limits = &shared.limits;
    // Record lengths are kept as u32.
    let max_record_bytes = limits.max_record_bytes.min(u32::MAX as usize);
    let name = request.stream_name();
    if name.is_empty() || name.chars().count() > MAX_STREAM_NAME_LEN {
        return Err(refuse(
            "DIS.4200",
            &format!(
                "Invalid request: {} must have 1 to 60 characters.",
                f.stream_name
            ),
        ));
    }
    let stream = shared
        .store
        .by_name(name)
        .or_else(|| {
            request
                .stream_id()
                .filter(|id| !id.is_empty())
                .and_then(|id| shared.store.by_id(id))
        })
        .ok_or_else(|| {
            refuse(
                "DIS.4301",
                &format!("Stream does not exist. [{}]", name.escape_debug()),
            )
        })?;
    let records = request.records();
    if records.is_empty() {
        return Err(refuse(
            "DIS.4202",
            &format!("Empty request: {} is empty.", f.records),
        ));
    }
    if records.len() > limits.max_records {
        return Err(refuse(
            "DIS.4200",
            &format!(
                "Invalid request: {} records; at most {} records per request.",
                records.len(),
                limits.max_records
            ),
        ));
    }
    let not_base64 = |i: usize| {
        refuse(
            "DIS.4200",
            &format!(
                "Invalid request: {}[{i}].{} is not valid Base64.",
                f.records, f.data
            ),
        )
    };
    let mut prepared = Vec::with_capacity(records.len());
    let mut total = 0usize;
    let mut keys = 0usize;
    for (i, entry) in records.iter().enumerate() {
        let size = entry.data_size().ok_or_else(|| not_base64(i))?;
        if size > max_record_bytes {
            return Err(refuse(
                "DIS.4200",
                &format!(
                    "Invalid request: {}[{i}].{} is {size} bytes{}; the limit is {} bytes per record.",
                    f.records, f.data, f.decoded, limits.max_record_bytes
                ),
            ));
        }
        total += size;
        let explicit_hash_key = match entry.explicit_hash_key() {
            None => None,
            Some(s) => Some(parse_explicit_hash_key(s).ok_or_else(|| {
                refuse(
                    "DIS.4200",
                    &format!(
                        "Invalid request: {}[{i}].{} must be a decimal integer from 0 to 9223372036854775807.",
                        f.records, f.explicit_hash_key
                    ),
                )
            })?),
        };
        let target = if let Some(pid) = entry.partition_id() {
            let index = parse_partition_id(pid).ok_or_else(|| {
                refuse(
                    "DIS.4201",
                    &format!(
                        "Invalid {} in {}[{i}]: expected shardId-NNNNNNNNNN or a decimal index.",
                        f.partition_id, f.records
                    ),
                )
            })?;
            if index >= u64::from(stream.partitions) {
                return Err(refuse(
                    "DIS.4302",
                    &format!(
                        "Partition does not exist: {}[{i}] names partition {index}; stream {} has {} partitions.",
                        f.records, stream.name, stream.partitions
                    ),
                ));
            }
            Some(index as u32)
        } else if let Some(h) = explicit_hash_key {
            Some(partition_for_hash(h, stream.partitions))
        } else {
            entry
                .partition_key()
                .filter(|k| !k.is_empty())
                .map(|k| partition_for_hash(hash_partition_key(k), stream.partitions))
        };
        if shared.retain {
            keys += entry.partition_key().map_or(0, str::len);
        }
        prepared.push(Prepared {
            start: 0,
            data_len: size as u32,
            end: 0,
            has_key: entry.partition_key().is_some(),
            target,
            explicit_hash_key,
        });
    }
    if total > limits.max_request_bytes {
        return Err(Refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "DIS.4200",
            format!(
                "Request too large: {total} bytes of record data{}; the limit is {} bytes per request.",
                f.decoded, limits.max_request_bytes
            ),
        ));
    }
    // + 3: `decode_vec` first grows the buffer by the padded estimate.
    let mut buf = Vec::with_capacity(total + keys + 3);
    for (i, (entry, prep)) in records.iter().zip(prepared.iter_mut()).enumerate() {
        let start = buf.len();
        if !entry.decode_into(&mut buf) {
            return Err(not_base64(i));
        }
        prep.start = start;
        prep.data_len = (buf.len() - start) as u32;
        if shared.retain
            && let Some(key) = entry.partition_key()
        {
            buf.extend_from_slice(key.as_bytes());
        }
        prep.end = buf.len();
    }
    Ok((stream, prepared, Bytes::from(buf)))
}

/// Marks a failed record in the per-request result list.
const FAILED: u32 = u32::MAX;

/// Assigns partitions and sequence numbers and keeps the records.
fn store(
    shared: &Shared,
    stream: &Stream,
    prepared: &[Prepared],
    data: Bytes,
    failures: Option<&[bool]>,
) -> Outcome {
    let retain = shared.retain;
    let mut results: Vec<(u32, u64)> = Vec::with_capacity(prepared.len());
    let mut failed = 0u64;
    let mut throttled = 0u64;
    {
        let mut guard = stream.lock();
        let state = &mut *guard;
        // Write quotas (`None` when off): checked once routing chose the partition.
        let mut quota = shared.quotas.begin(&stream.name);
        let partitions = u64::from(stream.partitions);
        for (i, prep) in prepared.iter().enumerate() {
            if failures.is_some_and(|f| f[i]) {
                failed += 1;
                results.push((FAILED, 0));
                continue;
            }
            let index = prep.target.unwrap_or_else(|| {
                let index = (state.spread % partitions) as u32;
                state.spread = state.spread.wrapping_add(1);
                index
            });
            if let Some(q) = quota.as_mut()
                && !q.admit(index, prep.data_len)
            {
                throttled += 1;
                results.push((FAILED, 0));
                continue;
            }
            let part = &mut state.partitions[index as usize];
            let seq = part.next_seq;
            part.next_seq += 1;
            if retain {
                part.push(Rec::new(
                    data.slice(prep.start..prep.end),
                    prep.data_len,
                    prep.has_key,
                    prep.explicit_hash_key,
                ));
            }
            results.push((index, seq));
        }
    }
    let stored = prepared.len() as u64 - failed - throttled;
    Counters::add(&shared.stats.records_stored, stored);
    Counters::add(&shared.stats.records_failed, failed);
    Counters::add(&shared.stats.records_throttled, throttled);
    // Quota throttling and injected failures are both DIS.4303 in the answer.
    Outcome {
        results,
        failed: failed + throttled,
    }
}

/// What [`store`] did with each record of a request.
struct Outcome {
    /// Per record, in request order: `(partition, sequence number)`, or `(FAILED, 0)`.
    results: Vec<(u32, u64)>,
    failed: u64,
}

/// The code and message of a record refused by traffic control (quota or injected).
const THROTTLED_CODE: &str = "DIS.4303";
const THROTTLED_MESSAGE: &str = "Exceeded traffic control limit.";

impl Outcome {
    /// The 200 answer in JSON, written by hand into one buffer.
    fn json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.results.len() * 64);
        out.extend_from_slice(b"{\"failed_record_count\":");
        push_u64(&mut out, self.failed);
        out.extend_from_slice(b",\"records\":[");
        for (i, &(index, seq)) in self.results.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if index == FAILED {
                out.extend_from_slice(b"{\"error_code\":\"");
                out.extend_from_slice(THROTTLED_CODE.as_bytes());
                out.extend_from_slice(b"\",\"error_message\":\"");
                out.extend_from_slice(THROTTLED_MESSAGE.as_bytes());
                out.extend_from_slice(b"\"}");
            } else {
                out.extend_from_slice(b"{\"partition_id\":\"");
                push_shard_id(&mut out, index);
                out.extend_from_slice(b"\",\"sequence_number\":\"");
                push_u64(&mut out, seq);
                out.extend_from_slice(b"\"}");
            }
        }
        out.extend_from_slice(b"]}");
        out
    }

    /// The 200 answer in protobuf: a `PutRecordsResult`, `failedRecordCount` always present.
    fn protobuf(&self) -> Vec<u8> {
        let records = self
            .results
            .iter()
            .map(|&(index, seq)| {
                if index == FAILED {
                    proto::PutRecordsResultEntry {
                        error_code: Some(THROTTLED_CODE.to_owned()),
                        error_message: Some(THROTTLED_MESSAGE.to_owned()),
                        ..Default::default()
                    }
                } else {
                    proto::PutRecordsResultEntry {
                        shard_id: Some(shard_id(index)),
                        sequence_number: Some(seq.to_string()),
                        ..Default::default()
                    }
                }
            })
            .collect();
        proto::PutRecordsResult {
            failed_record_count: Some(i32::try_from(self.failed).unwrap_or(i32::MAX)),
            records,
        }
        .encode_to_vec()
    }
}
