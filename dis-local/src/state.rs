//! The state one server shares between its connections: streams, faults, counters,
//! authentication settings and request limits.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::auth::AuthConfig;
use crate::config::LocalConfig;
use crate::conn::{ConnLimits, Registry};
use crate::error::ConfigError;
use crate::faults::FaultState;
use crate::quota::Quotas;
use crate::stats::Counters;
use crate::store::Store;

/// Limits checked on every SendRecords request.
pub(crate) struct RequestLimits {
    pub(crate) max_record_bytes: usize,
    pub(crate) max_request_bytes: usize,
    pub(crate) max_records: usize,
    pub(crate) body_cap: usize,
}

/// State shared by all connections of one server.
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) faults: FaultState,
    pub(crate) stats: Counters,
    pub(crate) auth: AuthConfig,
    pub(crate) limits: RequestLimits,
    pub(crate) conn_limits: ConnLimits,
    pub(crate) conns: Registry,
    pub(crate) body_budget: BodyBudget,
    request_ids: AtomicU64,
    pub(crate) quotas: Quotas,
    /// HTTPS, when configured.
    pub(crate) tls: Option<crate::tls::Acceptor>,
}

impl Shared {
    /// The state of a server serving `config`, once [`LocalConfig::validate`] passed.
    pub(crate) fn new(config: LocalConfig) -> Result<Shared, ConfigError> {
        config.validate()?;
        let body_cap = config.body_cap();
        let quotas = Quotas::new(&config);
        let tls = crate::tls::acceptor(config.tls.as_ref())?;
        Ok(Shared {
            store: Store::new(&config.streams, config.retain),
            faults: FaultState::new(config.faults),
            stats: Counters::default(),
            limits: RequestLimits {
                max_record_bytes: config.max_record_bytes,
                max_request_bytes: config.max_request_bytes,
                max_records: config.max_records_per_request,
                body_cap,
            },
            auth: AuthConfig {
                token: config.token,
                aksk: config.aksk,
                accept_token: config.accept_token,
                accept_any_signature: config.accept_any_signature,
                clock: config.clock,
                iam: config
                    .iam
                    .enabled()
                    .then(|| std::sync::Arc::new(crate::iam::issuer::Issuer::new(config.iam))),
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
            tls,
        })
    }

    /// "now" by the server's clock.
    pub(crate) fn now(&self) -> std::time::SystemTime {
        (self.auth.clock)()
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
