//! The open connections of a server: the table the server's state holds. Admission into it
//! (the cap, eviction, refusal) is `admission.rs`'s.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use super::watchdog::ConnState;

/// The open connections of a server.
#[derive(Default)]
pub(crate) struct Registry {
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
    pub(super) next_id: AtomicU64,
}

impl Registry {
    pub(super) fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn remove(&self, id: u64) -> bool {
        self.lock().remove(&id).is_some()
    }
}
