//! Admission of a connection under the connection cap: eviction of the connection that has
//! waited longest with no request in progress, and the answer to a connection refused when
//! every open one has a request in progress.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::registry::Registry;
use super::watchdog::ConnState;
use crate::answer::{dis_error_body, raw_answer};
use crate::state::Shared;
use crate::stats::Counters;

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
