//! The HTTP paths: which handler answers a request ([`route`]): SendRecords, the read-back
//! paths under `/local/v1/` (a stream's records, its counts, the counters), or a DIS 404 / 405.

use base64::Engine as _;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::answer::{Abort, Resp, dis_error, json};
use crate::config::StreamConfig;
use crate::routing::shard_id;
use crate::send::send_records;
use crate::state::Shared;
use crate::stats::Counters;
use crate::store::StoredRecord;

/// Answers one request (or closes the connection, `Err`), with an `X-Request-Id`.
pub(crate) async fn route(shared: &Shared, req: Request<Incoming>) -> Result<Resp, Abort> {
    let id = shared.next_request_id();
    let path = req.uri().path();
    let result = if let Some(rest) = path.strip_prefix("/local/v1/") {
        Ok(local_path(shared, req.method(), rest))
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
    result.map(|mut resp| {
        if let Ok(v) = HeaderValue::from_str(&format!("{id:032x}")) {
            resp.headers_mut().insert("x-request-id", v);
        }
        resp
    })
}

/// `/v2/{project_id}/records`, any non-empty project id, or `records/`: Huawei's hand-written
/// SDKs post there, and DIS takes it.
fn is_send_records(path: &str) -> bool {
    path.strip_prefix("/v2/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(project, tail)| {
            !project.is_empty() && (tail == "records" || tail == "records/")
        })
}

/// `GET /local/v1/...`: read-back and counters.
fn local_path(shared: &Shared, method: &Method, rest: &str) -> Resp {
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
        return json(StatusCode::OK, records_json(&stream.snapshot()));
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
        stream_id: StreamConfig::new(stream.name.clone(), stream.partitions).stream_id(),
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

/// `GET /local/v1/streams/{stream}/records`: a JSON array, `data` in Base64.
fn records_json(records: &[StoredRecord]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Item<'a> {
        partition_id: &'a str,
        sequence_number: &'a str,
        data: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        partition_key: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        explicit_hash_key: Option<&'a str>,
    }
    let items: Vec<Item<'_>> = records
        .iter()
        .map(|r| Item {
            partition_id: &r.partition_id,
            sequence_number: &r.sequence_number,
            data: base64::engine::general_purpose::STANDARD.encode(&r.data),
            partition_key: r.partition_key.as_deref(),
            explicit_hash_key: r.explicit_hash_key.as_deref(),
        })
        .collect();
    serde_json::to_vec(&items).unwrap_or_default()
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
