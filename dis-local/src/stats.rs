//! The counters of a server: [`Stats`], what [`LocalDis::stats`](crate::LocalDis::stats) and
//! `GET /local/v1/stats` report, and the live [`Counters`] behind it.
//!
//! Each counter is named once, in the list at the bottom of this file: the list makes both the
//! public [`Stats`] (plain numbers, serialized by serde for `/local/v1/stats`) and the
//! [`Counters`] the server adds to (one atomic per counter, so connections never wait for each
//! other to count).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Makes [`Stats`] and [`Counters`] from one list of documented counter names.
macro_rules! counters {
    ($($(#[doc = $doc:literal])+ $name:ident,)+) => {
        /// Counters of a [`LocalDis`](crate::LocalDis) since start, as
        /// [`LocalDis::stats`](crate::LocalDis::stats) returns them; `GET /local/v1/stats`
        /// answers the same fields as a JSON object.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
        #[non_exhaustive]
        pub struct Stats {
            $($(#[doc = $doc])+ pub $name: u64,)+
        }

        /// The live counters of a server, one atomic per field of [`Stats`].
        #[derive(Default)]
        pub(crate) struct Counters {
            $(pub(crate) $name: AtomicU64,)+
        }

        /// Each counter's name and its documentation (the `# HELP` of `/metrics`).
        pub(crate) const HELP: &[(&str, &str)] = &[
            $((stringify!($name), concat!($($doc),+)),)+
        ];

        impl Counters {
            /// The counters now.
            pub(crate) fn snapshot(&self) -> Stats {
                Stats {
                    $($name: self.$name.load(Ordering::Relaxed),)+
                }
            }
        }
    };
}

impl Counters {
    /// Adds `n` to one counter.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Takes `n` from one counter (the `open_connections` gauge).
    pub(crate) fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }
}

counters! {
    /// HTTP requests received outside the `/local/v1/` paths, whatever the outcome (SendRecords
    /// requests, and wrong paths or methods).
    requests,
    /// Records stored.
    records_stored,
    /// Records answered with an injected per-record `DIS.4303`.
    records_failed,
    /// Requests answered with an injected 500/503/429.
    failed_requests,
    /// Connections closed by `drop_before` (nothing stored).
    dropped_before,
    /// Connections closed by `drop_after` (records stored).
    dropped_after,
    /// Requests rejected with a 4xx status (auth, validation, limits, wrong path or method, a
    /// body not received in time).
    rejected_requests,
    /// Connections open now (a gauge, not a counter).
    open_connections,
    /// Connections refused at the connection cap (answered 503 `DIS.5250` and closed) because
    /// every open connection had a request in progress.
    refused_connections,
    /// Connections closed to make room for a new one at the connection cap (they had no
    /// request in progress).
    evicted_connections,
    /// Connections closed because a request head did not arrive within the header read
    /// timeout.
    header_timeouts,
    /// Keep-alive connections closed after the idle timeout.
    idle_timeouts,
    /// Requests answered 408 because their body did not arrive within the body read deadline
    /// (also counted in `rejected_requests`).
    body_timeouts,
    /// Requests answered 503 `DIS.5250` because the budget of buffered body bytes was used up.
    busy_requests,
    /// Requests the HTTP parser refused before they reached the endpoint (a malformed request
    /// line or header, a bad `Content-Length`, a head over the size limit), answered 400, 414 or
    /// 431 with a DIS body. Not counted in `requests`.
    malformed_requests,
    /// Records answered `DIS.4303` because their partition's write quota was used up (only
    /// with [`LocalConfig::with_quotas`](crate::LocalConfig::with_quotas); not counted in
    /// `records_failed`, which counts injected failures).
    records_throttled,
    /// Credentials issued by the IAM, metadata and pod-identity paths (tokens and temporary
    /// AK/SK sets).
    credentials_issued,
    /// SendRecords requests refused with 401 because their issued token or temporary AK/SK had
    /// expired (also counted in `rejected_requests`).
    refused_expired_credentials,
    /// SendRecords requests refused with 401 because their token or temporary AK/SK was never
    /// issued, or came with another security token (also counted in `rejected_requests`).
    refused_unknown_credentials,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_and_json_name_every_counter() {
        let counters = Counters::default();
        Counters::add(&counters.requests, 3);
        Counters::add(&counters.open_connections, 2);
        Counters::sub(&counters.open_connections, 1);
        Counters::add(&counters.records_throttled, 7);
        let stats = counters.snapshot();
        assert_eq!(
            (
                stats.requests,
                stats.open_connections,
                stats.records_throttled
            ),
            (3, 1, 7)
        );
        let json = serde_json::to_value(stats).unwrap();
        let names: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names.len(), 19, "{names:?}");
        assert_eq!(json["records_throttled"], 7);
        assert_eq!(json["rejected_requests"], 0);
    }
}
