//! [`Guarded`]: the socket of one connection, as hyper sees it.
//!
//! Reads and writes tell the watchdog what the connection is doing (the first byte of a
//! request, the last byte of an answer). And it frames the answers on their way out, to give
//! the ones hyper writes by itself a DIS body: on a request it cannot parse (a malformed
//! request line or header, a bad `Content-Length`, a head over the size limit), hyper answers
//! 400, 414 or 431 with an empty body and no `Content-Type`, from inside its HTTP/1 state
//! machine; no service, layer or builder option sees that request or that answer (hyper
//! 1.x's `Server::on_error` builds the head with no hook). Every answer of this server has a
//! `Content-Type`, so an error head without one is hyper's, and is replaced by the same status
//! with `{"errorCode":"DIS.4200",...}`, `X-Request-Id` and `Connection: close`.
//! (`hyper_answers_parse_errors_without_a_body` in `tests/hostile.rs` shows hyper's answer,
//! `hyper_parse_errors_carry_a_dis_body` this server's.)

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::watchdog::ConnState;
use crate::answer::{dis_error_body, raw_answer};
use crate::state::Shared;
use crate::stats::Counters;

/// A connection's byte stream: a TCP socket, or TLS over one.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

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
    inner: Box<dyn Io>,
    state: Arc<ConnState>,
    shared: Arc<Shared>,
    out: Out,
    head: Vec<u8>,
    pending: Vec<u8>,
    sent: usize,
}

impl Guarded {
    pub(crate) fn new(inner: Box<dyn Io>, state: Arc<ConnState>, shared: Arc<Shared>) -> Guarded {
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
