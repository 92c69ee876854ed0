//! Reading a SendRecords body within its budget: at most the body cap (checked while reading,
//! never buffered whole), within the body read deadline, holding what it buffers in a share of
//! the server's body budget. A refused body is read and thrown away (up to [`DRAIN_LIMIT`]) so
//! that the client gets to read the answer.

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header;
use hyper::http::request::Parts;

use super::refusal::{Refusal, Stop};
use crate::answer::Abort;
use crate::state::{BudgetShare, Shared};

/// A body over the cap is read and thrown away up to this many bytes, so the client gets to
/// read the 413; beyond it the connection is closed after the answer.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Reads the whole body of a request whose head was read just now (the body deadline counts
/// from here), holding it in `share`.
pub(super) async fn read(
    shared: &Shared,
    parts: &Parts,
    body: Incoming,
    share: &mut BudgetShare<'_>,
) -> Result<Bytes, Stop> {
    let timeout = shared.conn_limits.body_read_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    let content_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let cap = shared.limits.body_cap;
    let read = read_capped(body, content_length, cap, share);
    match tokio::time::timeout_at(deadline, read).await {
        Ok(Ok(body)) => Ok(body),
        Err(_elapsed) => Err(Refusal::BodyTimeout { timeout }.into()),
        Ok(Err(BodyError::Io)) => Err(Abort("the request body could not be read").into()),
        Ok(Err(BodyError::TooLarge { seen, drained })) => Err(Refusal::BodyTooLarge {
            seen,
            cap,
            close: !drained,
        }
        .into()),
        Ok(Err(BodyError::Busy { wanted, drained })) => Err(Refusal::Busy {
            budget: shared.body_budget.limit(),
            wanted,
            close: !drained,
        }
        .into()),
    }
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

/// Reads the whole body, refusing more than `cap` bytes without buffering them, and holding
/// what it buffers in `share` of the body budget: the whole `Content-Length` up front when
/// there is one, else the buffer's capacity as it grows.
async fn read_capped(
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

/// Reads and throws away the rest of a body, up to [`DRAIN_LIMIT`] bytes in all: the bytes
/// seen, and whether the body ended.
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
