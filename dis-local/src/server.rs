//! The server: [`serve`] (and [`LocalDis::start`](crate::LocalDis::start) on the same loop)
//! accepts connections under the connection cap and runs each one with hyper's HTTP/1.1,
//! under its watchdog ([`crate::conn`]), until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::answer::closing;
use crate::config::LocalConfig;
use crate::conn::{self, Expiry, Guarded, Registration, Registry};
use crate::error::ConfigError;
use crate::paths::route;
use crate::state::Shared;
use crate::stats::{Counters, Stats};

/// Serves the local DIS endpoint on `listener` until `shutdown` resolves, in the shape of
/// mini-redis's `server::run`: the caller binds (any address, a listener handed over by a
/// supervisor, ...) and says when to stop.
///
/// Fails at once, before accepting anything, when `config` cannot be served
/// ([`ConfigError`]). Otherwise serves until `shutdown` resolves, then stops accepting, lets
/// the requests in progress finish (idle keep-alive connections are closed), waits up to 5
/// seconds for the connections to end, and returns the final counters. Each connection runs
/// on a task of the current Tokio runtime.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use dis_local::{LocalConfig, serve};
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let ctrl_c = async {
///     let _ = tokio::signal::ctrl_c().await;
/// };
/// let stats = serve(listener, ctrl_c, LocalConfig::default()).await?;
/// println!("served {} requests", stats.requests);
/// # Ok(()) }
/// ```
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    config: LocalConfig,
) -> Result<Stats, ConfigError> {
    let shared = Arc::new(Shared::new(config)?);
    run(listener, shared.clone(), shutdown).await;
    Ok(shared.stats.snapshot())
}

/// How long a shutdown ([`serve`]'s, or [`LocalDis::shutdown`](crate::LocalDis::shutdown))
/// waits for open connections to end.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Refused connections kept open at once to let the client read the 503 (past that, closed
/// right after the answer is written).
const MAX_LINGERING_REFUSALS: usize = 64;

/// How long a refused connection lingers, reading and throwing away what the client sends, so
/// that closing it does not reset the connection before the client read the answer.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// The accept loop: one task per admitted connection (TCP_NODELAY, HTTP/1.1 keep-alive); past
/// the connection cap, an idle connection is closed to make room, or the new one is refused.
/// When `shutdown` resolves, the connections are told to finish (a graceful shutdown each).
pub(crate) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    // Tells the connections to shut down gracefully.
    let (stop, stopping) = watch::channel(false);
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
                            conns.spawn(connection(stream, registration, shared.clone(), stopping.clone()));
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
            () = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            Some(_) = refusals.join_next(), if !refusals.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
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
    let stream: Box<dyn conn::Io> = match &shared.tls {
        None => Box::new(stream),
        // The handshake within the header read timeout, as a request head would be.
        #[cfg_attr(not(feature = "tls"), allow(unused_variables))]
        Some(acceptor) => {
            #[cfg(feature = "tls")]
            match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => Box::new(tls),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "local DIS: TLS handshake failed");
                    return;
                }
                Err(_) => {
                    Counters::add(&shared.stats.header_timeouts, 1);
                    return;
                }
            }
            #[cfg(not(feature = "tls"))]
            match *acceptor {}
        }
    };
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
                let result = route(&shared, req).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serve_answers_until_shutdown_then_returns_the_counters() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        let server = tokio::spawn(serve(listener, shutdown, LocalConfig::default()));
        let body = br#"{"stream_name":"newstream","records":[{"data":"aGk="}]}"#;
        let head = format!(
            "POST /v2/p/records HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(head.as_bytes()).await.unwrap();
        client.write_all(body).await.unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("\"failed_record_count\":0"), "{answer}");
        stop.send(()).unwrap();
        let stats = server.await.unwrap().expect("a valid config");
        assert_eq!((stats.requests, stats.records_stored), (1, 1));
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "no longer listening"
        );
    }

    #[tokio::test]
    async fn serve_refuses_an_unservable_config_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = LocalConfig::default().with_max_connections(0);
        let err = serve(listener, std::future::pending(), config)
            .await
            .expect_err("a zero connection cap");
        assert_eq!(
            err,
            ConfigError::ZeroLimit {
                limit: "max connections"
            }
        );
    }
}
