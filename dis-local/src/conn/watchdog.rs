//! What each connection is doing ([`ConnState`]), the limits it is held to ([`ConnLimits`]),
//! and the [`watchdog`] that closes it when a deadline passes or when it is evicted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

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
    pub(super) id: u64,
    phase: Mutex<Phase>,
    pub(super) notify: Notify,
    pub(super) evicted: AtomicBool,
}

impl ConnState {
    pub(super) fn new(id: u64) -> ConnState {
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
    pub(super) fn on_read(&self) {
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
    pub(super) fn on_write(&self) {
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
    pub(super) fn waiting_since(&self) -> Option<Instant> {
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
