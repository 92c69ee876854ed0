//! Connection limits: the registry of open connections (the cap, eviction of connections with
//! no request in progress, refusal), the per-connection watchdog (header read timeout, idle
//! timeout), and [`Guarded`], the socket wrapper that tells the watchdog what the connection is
//! doing and gives the answers hyper writes by itself (400, 414, 431) a DIS body.
//!
//! Why not hyper's own `header_read_timeout`: hyper starts that timer whenever it waits for a
//! request head, idle keep-alive time included, so a header timeout and an idle timeout could
//! not differ; and it closes without telling which. The watchdog here counts the header time
//! from the accept (a new connection) or from the first byte of a request (a keep-alive
//! connection), and the idle time from the last byte of the previous answer.

use std::collections::HashMap;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::answer::dis_error_body;
use crate::state::{Counters, Shared};

/// The connection limits of a server (from [`LocalConfig`](crate::LocalConfig)).
pub(crate) struct ConnLimits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_header_bytes: usize,
}

impl ConnLimits {
    /// hyper's read buffer: room for the largest head plus 8 KiB, at least 16 KiB (hyper's
    /// minimum is 8 KiB). It also bounds the body chunks hyper hands over.
    pub(crate) fn read_buffer(&self) -> usize {
        self.max_header_bytes
            .saturating_add(8 * 1024)
            .max(16 * 1024)
    }
}

/// What a connection is doing.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Waiting for a request head: since the accept (`fresh`), or since the last byte written of
    /// the previous answer; `first_byte` once a byte of the next request arrived.
    AwaitHead {
        since: Instant,
        first_byte: Option<Instant>,
        fresh: bool,
    },
    /// A request head was read and the service has not answered yet (its body deadline is the
    /// handler's business).
    Handling,
}

/// Why the watchdog closed a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// A request head did not arrive within the header read timeout.
    Header,
    /// No request within the idle timeout after the last answer.
    Idle,
    /// Closed to make room for a new connection at the cap.
    Evicted,
}

/// The state of one open connection, shared by its task, its socket wrapper and the registry.
pub(crate) struct ConnState {
    id: u64,
    phase: Mutex<Phase>,
    notify: Notify,
    evicted: AtomicBool,
}

impl ConnState {
    fn new(id: u64) -> ConnState {
        ConnState {
            id,
            phase: Mutex::new(Phase::AwaitHead {
                since: Instant::now(),
                first_byte: None,
                fresh: true,
            }),
            notify: Notify::new(),
            evicted: AtomicBool::new(false),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // Nothing panics while holding it; a poisoned lock still holds a valid phase.
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived: the first byte of a request starts its header time.
    fn on_read(&self) {
        let mut phase = self.phase();
        if let Phase::AwaitHead {
            first_byte: first @ None,
            ..
        } = &mut *phase
        {
            *first = Some(Instant::now());
            drop(phase);
            self.notify.notify_one();
        }
    }

    /// Bytes written: an answer still being written keeps the connection from being idle.
    fn on_write(&self) {
        if let Phase::AwaitHead {
            since,
            first_byte: None,
            fresh: false,
        } = &mut *self.phase()
        {
            *since = Instant::now();
        }
    }

    /// The service got a request.
    pub(crate) fn begin_request(&self) {
        *self.phase() = Phase::Handling;
        self.notify.notify_one();
    }

    /// The service answered (or dropped the connection).
    pub(crate) fn end_request(&self) {
        *self.phase() = Phase::AwaitHead {
            since: Instant::now(),
            first_byte: None,
            fresh: false,
        };
        self.notify.notify_one();
    }

    /// When the connection started waiting, if it has no request in progress.
    fn waiting_since(&self) -> Option<Instant> {
        match *self.phase() {
            Phase::AwaitHead { since, .. } => Some(since),
            Phase::Handling => None,
        }
    }

    /// The next deadline, if any.
    fn deadline(&self, limits: &ConnLimits) -> Option<(Instant, Expiry)> {
        match *self.phase() {
            Phase::Handling => None,
            Phase::AwaitHead {
                since, fresh: true, ..
            } => Some((since + limits.header_read_timeout, Expiry::Header)),
            Phase::AwaitHead {
                first_byte: Some(first),
                ..
            } => Some((first + limits.header_read_timeout, Expiry::Header)),
            Phase::AwaitHead { since, .. } => Some((since + limits.idle_timeout, Expiry::Idle)),
        }
    }
}

/// Resolves when the connection must be closed: a deadline passed, or it was evicted. Pending
/// while a request is in progress.
pub(crate) async fn watchdog(state: &ConnState, limits: &ConnLimits) -> Expiry {
    loop {
        if state.evicted.load(Ordering::Acquire) {
            return Expiry::Evicted;
        }
        match state.deadline(limits) {
            None => state.notify.notified().await,
            Some((at, expiry)) => {
                if at <= Instant::now() {
                    return expiry;
                }
                // A phase change notifies (and leaves a permit if nobody waits): recompute.
                tokio::select! {
                    _ = state.notify.notified() => {}
                    _ = tokio::time::sleep_until(at) => {}
                }
            }
        }
    }
}

/// The open connections of a server.
#[derive(Default)]
pub(crate) struct Registry {
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
    next_id: AtomicU64,
}

/// A registered connection; dropping it removes the connection from the registry.
pub(crate) struct Registration {
    shared: Arc<Shared>,
    pub(crate) state: Arc<ConnState>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.shared.conns.remove(self.state.id) {
            Counters::sub(&self.shared.stats.open_connections, 1);
        }
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remove(&self, id: u64) -> bool {
        self.lock().remove(&id).is_some()
    }

    /// Admits a new connection. At the cap, first closes the connection that has waited longest
    /// with no request in progress; `None` when every open connection has a request in
    /// progress (the new one is to be refused).
    pub(crate) fn admit(shared: &Arc<Shared>) -> Option<Registration> {
        let registry = &shared.conns;
        let stats = &shared.stats;
        let mut conns = registry.lock();
        if conns.len() >= shared.conn_limits.max_connections {
            let oldest = conns
                .values()
                .filter_map(|c| c.waiting_since().map(|since| (since, c.id)))
                .min()
                .map(|(_, id)| id)?;
            if let Some(victim) = conns.remove(&oldest) {
                victim.evicted.store(true, Ordering::Release);
                victim.notify.notify_one();
                Counters::add(&stats.evicted_connections, 1);
                Counters::sub(&stats.open_connections, 1);
            }
        }
        let id = registry.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnState::new(id));
        conns.insert(id, state.clone());
        Counters::add(&stats.open_connections, 1);
        Some(Registration {
            shared: shared.clone(),
            state,
        })
    }
}

/// The answer to a connection refused at the cap (its request is never read).
pub(crate) fn refusal(shared: &Shared) -> Vec<u8> {
    let body = dis_error_body(
        "DIS.5250",
        &format!(
            "Service temporarily unavailable: {} connections are open, each with a request in progress; retry later.",
            shared.conn_limits.max_connections
        ),
    );
    raw_answer(
        503,
        "Service Unavailable",
        shared.next_request_id(),
        None,
        &body,
    )
}

/// An answer written by hand, closing the connection.
fn raw_answer(code: u16, reason: &str, id: u64, date: Option<&[u8]>, body: &[u8]) -> Vec<u8> {
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

/// Largest answer head looked at; a longer one (never written by this server) switches the
/// rewriting off for the connection.
const MAX_ANSWER_HEAD: usize = 16 * 1024;

/// Where the outgoing byte stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    /// At (or inside) an answer head, collected in `head` until its blank line.
    Head,
    /// Passing through this many body bytes.
    Body(u64),
    /// Dropping this many body bytes of an answer replaced by a DIS answer.
    Swallow(u64),
    /// Passing everything through (an answer this wrapper cannot frame).
    Through,
}

/// The socket of one connection, as hyper sees it. Reads and writes tell the watchdog what the
/// connection is doing; answers that hyper produces by itself on a request it cannot parse
/// (400, 414, 431: an answer head with an error status and no `Content-Type`, which every
/// answer of this server has) are replaced by the same status with a DIS body.
pub(crate) struct Guarded {
    inner: TcpStream,
    state: Arc<ConnState>,
    shared: Arc<Shared>,
    out: Out,
    head: Vec<u8>,
    pending: Vec<u8>,
    sent: usize,
}

impl Guarded {
    pub(crate) fn new(inner: TcpStream, state: Arc<ConnState>, shared: Arc<Shared>) -> Guarded {
        Guarded {
            inner,
            state,
            shared,
            out: Out::Head,
            head: Vec::new(),
            pending: Vec::new(),
            sent: 0,
        }
    }

    fn write_inner(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, bufs))?;
        if n > 0 {
            self.state.on_write();
        }
        Poll::Ready(Ok(n))
    }

    /// Writes what is held back (an answer head, or its replacement).
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let pending = std::mem::take(&mut self.pending);
            let result = self.write_inner(cx, &[IoSlice::new(&pending[self.sent..])]);
            self.pending = pending;
            match ready!(result)? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => self.sent += n,
            }
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    /// A whole answer head is in `head`: hold it back as is, or replace it.
    fn finish_head(&mut self) {
        let head = std::mem::take(&mut self.head);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut headers);
        let (code, reason, has_type, length, date) = match parsed.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {
                let header = |name: &str| {
                    parsed
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| h.value)
                };
                let length = header("content-length")
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                (
                    parsed.code.unwrap_or(0),
                    parsed.reason.unwrap_or("").to_owned(),
                    header("content-type").is_some(),
                    length,
                    header("date").map(<[u8]>::to_vec),
                )
            }
            _ => {
                self.pending.extend_from_slice(&head);
                self.out = Out::Through;
                return;
            }
        };
        if code < 200 {
            // 100 Continue and friends: no body.
            self.pending.extend_from_slice(&head);
            self.out = Out::Head;
        } else if code >= 400 && !has_type {
            Counters::add(&self.shared.stats.malformed_requests, 1);
            let message = match code {
                431 => format!(
                    "Request header fields too large: a request head may have at most {} bytes and 100 header fields.",
                    self.shared.conn_limits.max_header_bytes
                ),
                414 => "Invalid request: URI too long.".to_owned(),
                _ => "Invalid request: the HTTP request line or a header could not be parsed."
                    .to_owned(),
            };
            let body = dis_error_body("DIS.4200", &message);
            let id = self.shared.next_request_id();
            self.pending
                .extend_from_slice(&raw_answer(code, &reason, id, date.as_deref(), &body));
            self.out = Out::Swallow(length.unwrap_or(0));
        } else {
            self.pending.extend_from_slice(&head);
            self.out = length.map_or(Out::Through, Out::Body);
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.state.on_read();
        }
        Poll::Ready(Ok(()))
    }
}

impl Guarded {
    /// Writes some of `bufs` (the first non-empty one while an answer head is collected).
    fn write_some(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        let Some(first) = bufs.iter().find(|b| !b.is_empty()) else {
            return Poll::Ready(Ok(0));
        };
        loop {
            match self.out {
                Out::Through => return self.write_inner(cx, bufs),
                Out::Body(0) | Out::Swallow(0) => self.out = Out::Head,
                Out::Body(left) => {
                    let mut room = usize::try_from(left).unwrap_or(usize::MAX);
                    let mut limited = Vec::with_capacity(bufs.len());
                    for b in bufs {
                        if room == 0 {
                            break;
                        }
                        let n = b.len().min(room);
                        limited.push(IoSlice::new(&b[..n]));
                        room -= n;
                    }
                    let written = ready!(self.write_inner(cx, &limited))?;
                    self.out = Out::Body(left - written as u64);
                    return Poll::Ready(Ok(written));
                }
                Out::Swallow(left) => {
                    let n = first.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.out = Out::Swallow(left - n as u64);
                    return Poll::Ready(Ok(n));
                }
                Out::Head => {
                    let start = self.head.len();
                    // Copy no more than an answer head can take (a body may follow in `first`).
                    let take = first
                        .len()
                        .min(MAX_ANSWER_HEAD + 1 - start.min(MAX_ANSWER_HEAD));
                    self.head.extend_from_slice(&first[..take]);
                    let from = start.saturating_sub(3);
                    let consumed = match self.head[from..].windows(4).position(|w| w == b"\r\n\r\n")
                    {
                        Some(at) => {
                            let end = from + at + 4;
                            self.head.truncate(end);
                            self.finish_head();
                            end - start
                        }
                        None if self.head.len() > MAX_ANSWER_HEAD => {
                            let head = std::mem::take(&mut self.head);
                            self.pending.extend_from_slice(&head);
                            self.out = Out::Through;
                            take
                        }
                        None => take,
                    };
                    // The bytes are taken; what is held back goes out now or on the next call
                    // (hyper flushes after every answer).
                    if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
                        return Poll::Ready(Err(e));
                    }
                    return Poll::Ready(Ok(consumed));
                }
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write_some(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write_some(cx, bufs)
    }

    /// Vectored, like the socket: hyper then queues answer bodies instead of copying them.
    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
