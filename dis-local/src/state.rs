//! The state one server shares between its connections: streams, faults, counters,
//! authentication settings and request limits.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::auth::AuthConfig;
use crate::config::LocalConfig;
use crate::conn::{ConnLimits, Registry};
use crate::faults::FaultState;
use crate::quota::Quotas;
use crate::store::Store;

/// Counters of a [`LocalDis`](crate::LocalDis) since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP requests received outside the `/local/v1/` paths, whatever the outcome (SendRecords
    /// requests, and wrong paths or methods).
    pub requests: u64,
    /// Records stored.
    pub records_stored: u64,
    /// Records answered with an injected per-record `DIS.4303`.
    pub records_failed: u64,
    /// Requests answered with an injected 500/503/429.
    pub failed_requests: u64,
    /// Connections closed by `drop_before` (nothing stored).
    pub dropped_before: u64,
    /// Connections closed by `drop_after` (records stored).
    pub dropped_after: u64,
    /// Requests rejected with a 4xx status (auth, validation, limits, wrong path or method, a
    /// body not received in time).
    pub rejected_requests: u64,
    /// Connections open now (a gauge, not a counter).
    pub open_connections: u64,
    /// Connections refused at the connection cap (answered 503 `DIS.5250` and closed) because
    /// every open connection had a request in progress.
    pub refused_connections: u64,
    /// Connections closed to make room for a new one at the connection cap (they had no
    /// request in progress).
    pub evicted_connections: u64,
    /// Connections closed because a request head did not arrive within the header read
    /// timeout.
    pub header_timeouts: u64,
    /// Keep-alive connections closed after the idle timeout.
    pub idle_timeouts: u64,
    /// Requests answered 408 because their body did not arrive within the body read deadline
    /// (also counted in `rejected_requests`).
    pub body_timeouts: u64,
    /// Requests answered 503 `DIS.5250` because the budget of buffered body bytes was used up.
    pub busy_requests: u64,
    /// Requests the HTTP parser refused before they reached the endpoint (a malformed request
    /// line or header, a bad `Content-Length`, a head over the size limit), answered 400, 414 or
    /// 431 with a DIS body. Not counted in `requests`.
    pub malformed_requests: u64,
    /// Records answered `DIS.4303` because their partition's write quota was used up (only
    /// with [`LocalConfig::with_quotas`](crate::LocalConfig::with_quotas); not counted in
    /// `records_failed`, which counts injected failures).
    pub records_throttled: u64,
}

/// Limits checked on every SendRecords request.
pub(crate) struct RequestLimits {
    pub(crate) max_record_bytes: usize,
    pub(crate) max_request_bytes: usize,
    pub(crate) max_records: usize,
    pub(crate) body_cap: usize,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) records_stored: AtomicU64,
    pub(crate) records_failed: AtomicU64,
    pub(crate) failed_requests: AtomicU64,
    pub(crate) dropped_before: AtomicU64,
    pub(crate) dropped_after: AtomicU64,
    pub(crate) rejected_requests: AtomicU64,
    pub(crate) open_connections: AtomicU64,
    pub(crate) refused_connections: AtomicU64,
    pub(crate) evicted_connections: AtomicU64,
    pub(crate) header_timeouts: AtomicU64,
    pub(crate) idle_timeouts: AtomicU64,
    pub(crate) body_timeouts: AtomicU64,
    pub(crate) busy_requests: AtomicU64,
    pub(crate) malformed_requests: AtomicU64,
    pub(crate) records_throttled: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            requests: g(&self.requests),
            records_stored: g(&self.records_stored),
            records_failed: g(&self.records_failed),
            failed_requests: g(&self.failed_requests),
            dropped_before: g(&self.dropped_before),
            dropped_after: g(&self.dropped_after),
            rejected_requests: g(&self.rejected_requests),
            open_connections: g(&self.open_connections),
            refused_connections: g(&self.refused_connections),
            evicted_connections: g(&self.evicted_connections),
            header_timeouts: g(&self.header_timeouts),
            idle_timeouts: g(&self.idle_timeouts),
            body_timeouts: g(&self.body_timeouts),
            busy_requests: g(&self.busy_requests),
            malformed_requests: g(&self.malformed_requests),
            records_throttled: g(&self.records_throttled),
        }
    }
}

/// State shared by all connections of one server.
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) faults: FaultState,
    pub(crate) stats: Counters,
    pub(crate) auth: AuthConfig,
    pub(crate) limits: RequestLimits,
    pub(crate) retain: bool,
    pub(crate) conn_limits: ConnLimits,
    pub(crate) conns: Registry,
    pub(crate) body_budget: BodyBudget,
    request_ids: AtomicU64,
    pub(crate) quotas: Quotas,
}

impl Shared {
    /// Fails with `InvalidInput` for an invalid stream list, a zero connection limit or an
    /// invalid quota scale.
    pub(crate) fn new(config: LocalConfig) -> std::io::Result<Shared> {
        let body_cap = config.body_cap();
        for (name, zero) in [
            ("header read timeout", config.header_read_timeout.is_zero()),
            ("body read timeout", config.body_read_timeout.is_zero()),
            ("idle timeout", config.idle_timeout.is_zero()),
            ("max connections", config.max_connections == 0),
            ("max header bytes", config.max_header_bytes == 0),
            (
                "max buffered body bytes",
                config.max_buffered_body_bytes == 0,
            ),
        ] {
            if zero {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("the {name} must not be zero"),
                ));
            }
        }
        let quotas = Quotas::new(&config)?;
        Ok(Shared {
            store: Store::new(&config.streams)?,
            faults: FaultState::new(config.faults),
            stats: Counters::default(),
            limits: RequestLimits {
                max_record_bytes: config.max_record_bytes,
                max_request_bytes: config.max_request_bytes,
                max_records: config.max_records_per_request,
                body_cap,
            },
            retain: config.retain,
            auth: AuthConfig {
                token: config.token,
                aksk: config.aksk,
                accept_token: config.accept_token,
                accept_any_signature: config.accept_any_signature,
                clock: config.clock,
            },
            conn_limits: ConnLimits {
                header_read_timeout: config.header_read_timeout,
                body_read_timeout: config.body_read_timeout,
                idle_timeout: config.idle_timeout,
                max_connections: config.max_connections,
                max_header_bytes: config.max_header_bytes,
            },
            conns: Registry::default(),
            body_budget: BodyBudget::new(config.max_buffered_body_bytes),
            request_ids: AtomicU64::new(1),
            quotas,
        })
    }

    /// The id of the next request (from 1), sent back as `X-Request-Id`.
    pub(crate) fn next_request_id(&self) -> u64 {
        self.request_ids.fetch_add(1, Ordering::Relaxed)
    }
}

/// The budget of request body bytes buffered at once, all connections together.
pub(crate) struct BodyBudget {
    limit: usize,
    used: AtomicUsize,
}

impl BodyBudget {
    fn new(limit: usize) -> BodyBudget {
        BodyBudget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// The budget, in bytes.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// An empty share of the budget.
    pub(crate) fn share(&self) -> BudgetShare<'_> {
        BudgetShare {
            budget: self,
            held: 0,
        }
    }

    fn try_take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }
}

/// Bytes of the body budget held by one request; given back when dropped.
pub(crate) struct BudgetShare<'a> {
    budget: &'a BodyBudget,
    held: usize,
}

impl BudgetShare<'_> {
    /// Holds `bytes` in all (never less than already held); false when the budget cannot give
    /// the difference.
    pub(crate) fn grow_to(&mut self, bytes: usize) -> bool {
        if bytes <= self.held {
            return true;
        }
        if self.budget.try_take(bytes - self.held) {
            self.held = bytes;
            true
        } else {
            false
        }
    }
}

impl Drop for BudgetShare<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
    }
}
