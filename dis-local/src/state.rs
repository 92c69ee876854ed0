//! The state one server shares between its connections: streams, faults, counters,
//! authentication settings and request limits.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::auth::AuthConfig;
use crate::config::LocalConfig;
use crate::faults::FaultState;
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
    /// Requests rejected with a 4xx status (auth, validation, limits, wrong path or method).
    pub rejected_requests: u64,
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
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
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
    request_ids: AtomicU64,
}

impl Shared {
    pub(crate) fn new(config: LocalConfig) -> std::io::Result<Shared> {
        let body_cap = config.body_cap();
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
                clock: config.clock,
            },
            request_ids: AtomicU64::new(1),
        })
    }

    /// The id of the next request (from 1), sent back as `X-Request-Id`.
    pub(crate) fn next_request_id(&self) -> u64 {
        self.request_ids.fetch_add(1, Ordering::Relaxed)
    }
}
