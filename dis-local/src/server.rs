//! The hyper accept loop, HTTP path routing and the read-back paths (`/local/v1/...`).

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::answer::{Abort, Resp, dis_error, json};
use crate::config::StreamConfig;
use crate::routing::shard_id;
use crate::send::send_records;
use crate::state::{Counters, Shared, Stats};
use crate::store::StoredRecord;

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
        "No such path. SendRecords is POST /v2/{project_id}/records.",
    )
}

fn unknown_stream(name: &str) -> Resp {
    dis_error(
        StatusCode::NOT_FOUND,
        "DIS.4301",
        &format!("Stream does not exist. [{name}]"),
    )
}

/// Routes one request.
async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Abort> {
    let id = shared.next_request_id();
    let path = req.uri().path();
    let result = if let Some(rest) = path.strip_prefix("/local/v1/") {
        Ok(local_path(&shared, req.method(), rest))
    } else {
        Counters::add(&shared.stats.requests, 1);
        let is_send = path
            .strip_prefix("/v2/")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(project, tail)| !project.is_empty() && tail == "records");
        if !is_send {
            Counters::add(&shared.stats.rejected_requests, 1);
            Ok(not_found())
        } else if req.method() != Method::POST {
            Counters::add(&shared.stats.rejected_requests, 1);
            Ok(method_not_allowed("POST"))
        } else {
            send_records(&shared, req).await
        }
    };
    result.map(|mut resp| {
        if let Ok(v) = HeaderValue::from_str(&format!("{id:032x}")) {
            resp.headers_mut().insert("x-request-id", v);
        }
        resp
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
            serde_json::to_vec(&StatsBody::from(shared.stats.snapshot())).unwrap_or_default(),
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
    }
    #[derive(Serialize)]
    struct Body<'a> {
        stream_name: &'a str,
        stream_id: String,
        partitions: Vec<Part>,
    }
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
            })
            .collect(),
    };
    json(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

#[derive(Serialize)]
struct StatsBody {
    requests: u64,
    records_stored: u64,
    records_failed: u64,
    failed_requests: u64,
    dropped_before: u64,
    dropped_after: u64,
    rejected_requests: u64,
}

impl From<Stats> for StatsBody {
    fn from(s: Stats) -> Self {
        StatsBody {
            requests: s.requests,
            records_stored: s.records_stored,
            records_failed: s.records_failed,
            failed_requests: s.failed_requests,
            dropped_before: s.dropped_before,
            dropped_after: s.dropped_after,
            rejected_requests: s.rejected_requests,
        }
    }
}

fn records_json(records: &[StoredRecord]) -> Vec<u8> {
    use base64::Engine as _;
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

/// How long [`LocalDis::shutdown`](crate::LocalDis::shutdown) waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The accept loop: one task per connection, TCP_NODELAY, HTTP/1.1 keep-alive.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(error = %e, "local DIS: set_nodelay failed");
                    }
                    conns.spawn(connection(stream, shared.clone(), shutdown.clone()));
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "local DIS: accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            // Shutdown requested, or the LocalDis was dropped (sender gone).
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        conns.abort_all();
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = service_fn(move |req| route(shared.clone(), req));
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Injected drops end here on purpose; anything else is the peer's doing.
        tracing::trace!(error = %e, "local DIS: connection ended");
    }
}
