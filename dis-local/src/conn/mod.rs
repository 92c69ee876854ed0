//! Connection limits: what each connection is doing ([`ConnState`]) and the watchdog that
//! closes it when a deadline passes (header read timeout, idle timeout) or when it is evicted;
//! the [`Registry`] of open connections (the cap, eviction, refusal); and [`Guarded`], the
//! socket wrapper that tells the watchdog what the connection is doing and gives the answers
//! hyper writes by itself (400, 414, 431) a DIS body.
//!
//! Why not hyper's own `header_read_timeout`: hyper starts that timer whenever it waits for a
//! request head, idle keep-alive time included, so a header timeout and an idle timeout could
//! not differ; and it closes without telling which. The watchdog here counts the header time
//! from the accept (a new connection) or from the first byte of a request (a keep-alive
//! connection), and the idle time from the last byte of the previous answer.
//! `hyper_header_read_timeout_counts_idle_time` in `tests/hostile.rs` shows hyper's timer.

mod admission;
mod guarded;
mod registry;
mod watchdog;

pub(crate) use admission::{Registration, refusal};
pub(crate) use guarded::{Guarded, Io};
pub(crate) use registry::Registry;
pub(crate) use watchdog::{ConnLimits, Expiry, watchdog};
