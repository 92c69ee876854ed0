//! The hyper accept loop (with the connection cap), HTTP path routing and the read-back paths
//! (`/local/v1/...`).

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::answer::{Abort, Resp, closing, dis_error, json};
use crate::config::StreamConfig;
use crate::conn::{self, Expiry, Guarded, Registration, Registry};
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
            .is_some_and(|(project, tail)| {
                // `records/`: Huawei's hand-written SDKs post there, and DIS takes it.
                !project.is_empty() && (tail == "records" || tail == "records/")
            });
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

#[derive(Serialize)]
struct StatsBody {
    requests: u64,
    records_stored: u64,
    records_failed: u64,
    failed_requests: u64,
    dropped_before: u64,
    dropped_after: u64,
    rejected_requests: u64,
    open_connections: u64,
    refused_connections: u64,
    evicted_connections: u64,
    header_timeouts: u64,
    idle_timeouts: u64,
    body_timeouts: u64,
    busy_requests: u64,
    malformed_requests: u64,
    records_throttled: u64,
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
            open_connections: s.open_connections,
            refused_connections: s.refused_connections,
            evicted_connections: s.evicted_connections,
            header_timeouts: s.header_timeouts,
            idle_timeouts: s.idle_timeouts,
            body_timeouts: s.body_timeouts,
            busy_requests: s.busy_requests,
            malformed_requests: s.malformed_requests,
            records_throttled: s.records_throttled,
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

/// Refused connections kept open at once to let the client read the 503 (past that, closed
/// right after the answer is written).
const MAX_LINGERING_REFUSALS: usize = 64;

/// How long a refused connection lingers, reading and throwing away what the client sends, so
/// that closing it does not reset the connection before the client read the answer.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// The accept loop: one task per admitted connection (TCP_NODELAY, HTTP/1.1 keep-alive); past
/// the connection cap, an idle connection is closed to make room, or the new one is refused.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    let mut refusals = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(error = %e, "local DIS: set_nodelay failed");
                    }
                    match Registry::admit(&shared) {
                        Some(registration) => {
                            conns.spawn(connection(stream, registration, shared.clone(), shutdown.clone()));
                        }
                        None => {
                            Counters::add(&shared.stats.refused_connections, 1);
                            let answer = conn::refusal(&shared);
                            // A new socket's send buffer is empty: the answer fits.
                            let _ = stream.try_write(&answer);
                            if refusals.len() < MAX_LINGERING_REFUSALS {
                                refusals.spawn(linger(stream));
                            }
                        }
                    }
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
            Some(_) = refusals.join_next(), if !refusals.is_empty() => {}
        }
    }
    drop(listener);
    refusals.abort_all();
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        conns.abort_all();
    }
}

/// Closes the sending side of a refused connection, then reads and throws away up to 64 KiB
/// for at most [`REFUSAL_LINGER`] before closing it.
async fn linger(mut stream: TcpStream) {
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        stream.shutdown().await?;
        let mut buf = [0u8; 4096];
        let mut seen = 0;
        while seen < 64 * 1024 {
            match stream.read(&mut buf).await? {
                0 => break,
                n => seen += n,
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}

async fn connection(
    stream: TcpStream,
    registration: Registration,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let state = registration.state.clone();
    let limits = &shared.conn_limits;
    let io = TokioIo::new(Guarded::new(stream, state.clone(), shared.clone()));
    let service = {
        let shared = shared.clone();
        let state = state.clone();
        service_fn(move |req: Request<Incoming>| {
            let shared = shared.clone();
            let state = state.clone();
            async move {
                state.begin_request();
                // hyper leaves the body of an answer to HEAD out but keeps its Content-Length:
                // close after it, so the answers written next stay framed for `Guarded`.
                let head = req.method() == Method::HEAD;
                let result = route(shared, req).await;
                state.end_request();
                result.map(|resp| if head { closing(resp) } else { resp })
            }
        })
    };
    let conn = http1::Builder::new()
        .keep_alive(true)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.read_buffer())
        .serve_connection(io, service);
    tokio::pin!(conn);
    let watchdog = conn::watchdog(&state, limits);
    tokio::pin!(watchdog);
    let result = tokio::select! {
        r = conn.as_mut() => Ok(r),
        expiry = watchdog.as_mut() => Err(expiry),
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                r = conn.as_mut() => Ok(r),
                expiry = watchdog.as_mut() => Err(expiry),
            }
        }
    };
    match result {
        // Injected drops end here on purpose; anything else is the peer's doing.
        Ok(Err(e)) => tracing::trace!(error = %e, "local DIS: connection ended"),
        Ok(Ok(())) => {}
        Err(expiry) => {
            let stats = &shared.stats;
            match expiry {
                Expiry::Header => Counters::add(&stats.header_timeouts, 1),
                Expiry::Idle => Counters::add(&stats.idle_timeouts, 1),
                Expiry::Evicted => {} // counted when evicted
            }
            tracing::trace!(?expiry, "local DIS: connection closed by the watchdog");
        }
    }
    // Returning drops the connection (closing the socket), then the registration.
}
