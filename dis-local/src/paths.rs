//! The HTTP paths: which handler answers a request ([`route`]): SendRecords, the read-back
//! paths under `/local/v1/` (a stream's records, a page at a time; its counts; the counters),
//! the counters in Prometheus' format (`/metrics`), a liveness probe (`/health`), or a DIS
//! 404 / 405.

use std::sync::Arc;

use base64::Engine as _;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::answer::{Abort, Resp, dis_error, json};
use crate::config::StreamConfig;
use crate::limits::{DEFAULT_READ_BACK_LIMIT, MAX_READ_BACK_LIMIT, READ_BACK_PAGE_BYTES};
use crate::routing::{parse_partition_id, push_shard_id, push_u64, shard_id};
use crate::send::{send_records, send_records_project};
use crate::state::Shared;
use crate::stats::Counters;
use crate::store::{Page, PageQuery, Stream};

/// Answers one request (or closes the connection, `Err`), with an `X-Request-Id`.
pub(crate) async fn route(shared: &Shared, req: Request<Incoming>) -> Result<Resp, Abort> {
    let id = shared.next_request_id();
    // IAM, metadata and pod identity, when played.
    let req = match crate::iam::route(shared, req).await {
        Ok(resp) => return Ok(with_request_id(resp, id)),
        Err(req) => req,
    };
    let path = req.uri().path();
    let result = if let Some(rest) = path.strip_prefix("/local/v1/") {
        Ok(local_path(shared, req.method(), rest, req.uri().query()).await)
    } else if let Some((project, stream)) = crate::describe::target(path) {
        // DescribeStream: not counted as a SendRecords request.
        Ok(crate::describe::describe(shared, req, &project, &stream))
    } else if path == "/metrics" && req.method() == Method::GET {
        // The counters for Prometheus; like `/local/v1/`, not counted as a request.
        Ok(crate::prometheus::answer(&shared.stats.snapshot()))
    } else if path == "/health" && req.method() == Method::GET {
        // 200 while serving (a liveness probe); not counted as a request either.
        Ok(crate::prometheus::health())
    } else {
        Counters::add(&shared.stats.requests, 1);
        if !is_send_records(path) {
            Counters::add(&shared.stats.rejected_requests, 1);
            Ok(not_found())
        } else if req.method() != Method::POST {
            Counters::add(&shared.stats.rejected_requests, 1);
            Ok(method_not_allowed("POST"))
        } else {
            send_records(shared, req).await
        }
    };
    result.map(|resp| with_request_id(resp, id))
}

/// `resp` with its `X-Request-Id`.
fn with_request_id(mut resp: Resp, id: u64) -> Resp {
    if let Ok(v) = HeaderValue::from_str(&format!("{id:032x}")) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// `/v2/{project_id}/records`, any non-empty project id, or `records/`: Huawei's hand-written
/// SDKs post there, and DIS takes it.
fn is_send_records(path: &str) -> bool {
    send_records_project(path).is_some()
}

/// `GET /local/v1/...`: read-back and counters.
async fn local_path(shared: &Shared, method: &Method, rest: &str, query: Option<&str>) -> Resp {
    let target = if rest == "stats" {
        Some(None)
    } else {
        rest.strip_prefix("streams/").map(Some)
    };
    let Some(target) = target else {
        return not_found();
    };
    if method != Method::GET {
        return method_not_allowed("GET");
    }
    let Some(name) = target else {
        return json(
            StatusCode::OK,
            serde_json::to_vec(&shared.stats.snapshot()).unwrap_or_default(),
        );
    };
    if let Some(stream_name) = name.strip_suffix("/records") {
        let Some(stream) = shared.store.by_name(stream_name) else {
            return unknown_stream(stream_name);
        };
        return records_page(stream.clone(), query).await;
    }
    let Some(stream) = shared.store.by_name(name) else {
        return unknown_stream(name);
    };
    #[derive(Serialize)]
    struct Part {
        partition_id: String,
        records: u64,
        throttled: u64,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        stream_name: &'a str,
        stream_id: String,
        partitions: Vec<Part>,
    }
    let throttled = shared.quotas.throttled(name).unwrap_or_default();
    let body = Body {
        stream_name: &stream.name,
        stream_id: StreamConfig::new(stream.name.clone(), stream.partitions()).stream_id(),
        partitions: stream
            .counts()
            .into_iter()
            .enumerate()
            .map(|(i, records)| Part {
                partition_id: shard_id(i as u32),
                records,
                throttled: throttled.get(i).copied().unwrap_or(0),
            })
            .collect(),
    };
    json(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

/// `GET /local/v1/streams/{stream}/records[?from=&limit=&partition=]`: one page, a JSON array
/// (`data` in Base64), with `X-Total-Records` and, when records follow, `X-Next-From`. The
/// page's records are cloned under the stream's lock and serialized without it, on a blocking
/// thread: a page of 4 MiB takes milliseconds of CPU, which the async workers keep for
/// SendRecords.
async fn records_page(stream: Arc<Stream>, query: Option<&str>) -> Resp {
    let query = match page_query(&stream, query) {
        Ok(query) => query,
        Err((code, message)) => return dis_error(StatusCode::BAD_REQUEST, code, &message),
    };
    let built = tokio::task::spawn_blocking(move || {
        let page = stream.page(&query);
        (page_json(&page), page.total, page.next)
    })
    .await;
    let Ok((body, total, next)) = built else {
        return dis_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "DIS.5000",
            "The read-back failed.",
        );
    };
    let mut resp = json(StatusCode::OK, body);
    let headers = resp.headers_mut();
    headers.insert("x-total-records", HeaderValue::from(total));
    if let Some(next) = next {
        headers.insert("x-next-from", HeaderValue::from(next));
    }
    resp
}

/// The page a read-back asks for: `from` (default 0), `limit` (default
/// [`DEFAULT_READ_BACK_LIMIT`], 1 to [`MAX_READ_BACK_LIMIT`]), `partition` (`shardId-` and 10
/// digits, or 1 to 10 digits, as in SendRecords); other parameters are ignored, the last of a
/// repeated one counts. A bad value is the DIS code and message of a 400 answer.
fn page_query(stream: &Stream, query: Option<&str>) -> Result<PageQuery, (&'static str, String)> {
    let mut page = PageQuery {
        partition: None,
        from: 0,
        limit: DEFAULT_READ_BACK_LIMIT,
        max_bytes: READ_BACK_PAGE_BYTES,
    };
    for pair in query.unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "from" => {
                page.from = digits(value).ok_or_else(|| {
                    (
                        "DIS.4200",
                        format!("Invalid from {value:?}: expected a record position, 0 or more."),
                    )
                })?;
            }
            "limit" => {
                page.limit = digits(value)
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| (1..=MAX_READ_BACK_LIMIT).contains(n))
                    .ok_or_else(|| {
                        (
                            "DIS.4200",
                            format!(
                                "Invalid limit {value:?}: expected 1 to {MAX_READ_BACK_LIMIT} records."
                            ),
                        )
                    })?;
            }
            "partition" => {
                let index = parse_partition_id(value).ok_or_else(|| {
                    (
                        "DIS.4201",
                        format!(
                            "Invalid partition {value:?}: expected shardId-NNNNNNNNNN or a decimal index."
                        ),
                    )
                })?;
                if index >= u64::from(stream.partitions()) {
                    return Err((
                        "DIS.4302",
                        format!(
                            "Partition does not exist: {index}; stream {} has {} partitions.",
                            stream.name,
                            stream.partitions()
                        ),
                    ));
                }
                page.partition = Some(index as u32);
            }
            _ => {}
        }
    }
    Ok(page)
}

/// A decimal number of ASCII digits only (no sign, not empty).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A page as the read-back's JSON array: per record `{"partition_id","sequence_number","data"
/// (Base64),"partition_key"?,"explicit_hash_key"?}`, written into one buffer sized up front.
fn page_json(page: &Page) -> Vec<u8> {
    let b64 = &base64::engine::general_purpose::STANDARD;
    let size: usize = page
        .records
        .iter()
        .map(|r| {
            let key = r.rec.key_bytes().map_or(0, |k| k.len() + 20);
            100 + r.rec.data_len().div_ceil(3) * 4 + key
        })
        .sum();
    let mut out = Vec::with_capacity(size + 2);
    out.push(b'[');
    for (i, r) in page.records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"partition_id\":\"");
        push_shard_id(&mut out, r.partition);
        out.extend_from_slice(b"\",\"sequence_number\":\"");
        push_u64(&mut out, r.sequence);
        out.extend_from_slice(b"\",\"data\":\"");
        let data = r.rec.data();
        let at = out.len();
        out.resize(at + data.len().div_ceil(3) * 4, 0);
        let written = b64
            .encode_slice(&data, &mut out[at..])
            .expect("the Base64 of the data fits its padded length");
        out.truncate(at + written);
        out.push(b'"');
        if let Some(key) = r.rec.key_bytes() {
            out.extend_from_slice(b",\"partition_key\":");
            // A JSON string, escaped as serde_json escapes (the key came from a string).
            let _ = serde_json::to_writer(&mut out, &String::from_utf8_lossy(key));
        }
        if let Some(hash) = r.rec.hash() {
            out.extend_from_slice(b",\"explicit_hash_key\":\"");
            push_u64(&mut out, hash);
            out.push(b'"');
        }
        out.push(b'}');
    }
    out.push(b']');
    out
}

fn method_not_allowed(allow: &'static str) -> Resp {
    let mut resp = dis_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "DIS.4300",
        &format!("Method not allowed on this path; use {allow}."),
    );
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

fn not_found() -> Resp {
    dis_error(
        StatusCode::NOT_FOUND,
        "DIS.4300",
        "No such path. SendRecords is POST /v2/{project_id}/records (or records/).",
    )
}

fn unknown_stream(name: &str) -> Resp {
    dis_error(
        StatusCode::NOT_FOUND,
        "DIS.4301",
        &format!("Stream does not exist. [{name}]"),
    )
}
