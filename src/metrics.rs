//! The names of the metrics dis-records reports through the
//! [`metrics`](https://docs.rs/metrics) facade (install any exporter to receive them; with none
//! installed they cost one branch per update).
//!
//! Behind the names, the crate's own: the handles a producer registers once, when it is built,
//! and the credential refreshes counted by every client (`src/credentials/refresh.rs`).

use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

pub use names::*;

/// The names of the metrics dis-records reports. Every producer metric carries the label
/// `stream` (the stream name); the others named here add their own.
mod names {
    /// Counter: records taken in by a producer (each record once, whatever its tries).
    pub const RECORDS_SENT: &str = "dis_records_records_sent_total";
    /// Counter: records acknowledged (stored by DIS).
    pub const RECORDS_ACKNOWLEDGED: &str = "dis_records_records_acknowledged_total";
    /// Counter: records handed back as failed, labelled `code`: DIS's code (`DIS.4303`, ...),
    /// else the HTTP status (`HTTP 413`), else `invalid`, `expired`, `transport` or
    /// `unreadable` (the keys of [`ProducerStats::failed`](crate::ProducerStats::failed)); a
    /// code of another shape from the server is counted as `other`.
    pub const RECORDS_FAILED: &str = "dis_records_records_failed_total";
    /// Counter: record answers `DIS.4303` (traffic control), labelled `partition`: DIS's
    /// partition ID (`shardId-0000000001`) when the producer routes records itself (the
    /// partition count is known, and the record has a key, a hash key or a partition ID), else
    /// `unknown` (DIS chose the partition and does not say which in a refusal).
    pub const RECORDS_THROTTLED: &str = "dis_records_records_throttled_total";
    /// Counter: records handed back flagged as possible duplicates
    /// ([`Delivery::maybe_duplicated`](crate::Delivery::maybe_duplicated)); the `dis-records`
    /// command also counts here the lines it sends again after a restart.
    pub const POSSIBLE_DUPLICATES: &str = "dis_records_possible_duplicates_total";
    /// Counter: requests answered or failed, labelled `outcome` (`ok` or `error`).
    pub const REQUESTS: &str = "dis_records_requests_total";
    /// Histogram: seconds from writing a request to its answer (or its error).
    pub const REQUEST_DURATION: &str = "dis_records_request_duration_seconds";
    /// Gauge: records in a spawned producer's buffer, not yet taken into a batch.
    pub const BUFFERED_RECORDS: &str = "dis_records_buffered_records";
    /// Gauge: records taken in without an outcome yet.
    pub const IN_FLIGHT_RECORDS: &str = "dis_records_in_flight_records";
    /// Gauge: seconds the oldest record in a spawned producer's buffer has waited (0 when the
    /// buffer is empty; an upper bound, within the arrival spread of 64 records).
    pub const OLDEST_BUFFERED_AGE: &str = "dis_records_oldest_buffered_record_age_seconds";
    /// Counter: credentials obtained from a refreshing provider (IAM password, metadata, pod
    /// identity, profile): the first set and every refresh. No labels.
    pub const CREDENTIAL_REFRESHES: &str = "dis_records_credential_refreshes_total";
}

/// Gives the installed recorder the help text and unit of every metric named here (an
/// exporter prints them: Prometheus' `# HELP`). Producers call it when they are built; call it
/// yourself to have the text before (idempotent).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        RECORDS_SENT,
        Unit::Count,
        "Records taken in by a producer (each record once, whatever its tries)."
    );
    describe_counter!(
        RECORDS_ACKNOWLEDGED,
        Unit::Count,
        "Records acknowledged (stored by DIS)."
    );
    describe_counter!(
        RECORDS_FAILED,
        Unit::Count,
        "Records handed back as failed, by code: DIS's code, HTTP status, or invalid, expired, transport, unreadable, request."
    );
    describe_counter!(
        RECORDS_THROTTLED,
        Unit::Count,
        "Record answers DIS.4303 (traffic control), by DIS partition ID (unknown when DIS chose the partition)."
    );
    describe_counter!(
        POSSIBLE_DUPLICATES,
        Unit::Count,
        "Records handed back flagged as possibly stored twice (and lines sent again after a restart)."
    );
    describe_counter!(
        REQUESTS,
        Unit::Count,
        "SendRecords requests answered (outcome ok) or failed (outcome error)."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Seconds from writing a SendRecords request to its answer or its error."
    );
    describe_gauge!(
        BUFFERED_RECORDS,
        Unit::Count,
        "Records in a spawned producer's buffer, not yet taken into a batch."
    );
    describe_gauge!(
        IN_FLIGHT_RECORDS,
        Unit::Count,
        "Records taken in without an outcome yet."
    );
    describe_gauge!(
        OLDEST_BUFFERED_AGE,
        Unit::Seconds,
        "Seconds the oldest record in a spawned producer's buffer has waited (0 when empty)."
    );
    describe_counter!(
        CREDENTIAL_REFRESHES,
        Unit::Count,
        "Credential sets obtained from a refreshing provider: the first and every refresh."
    );
}

/// The failure codes of this crate's own, each counted from 0 as soon as a producer is built
/// (codes from DIS appear when they first happen).
const OWN_CODES: [&str; 5] = ["invalid", "expired", "transport", "unreadable", "request"];

/// The `partition` label of a throttled record whose partition DIS chose.
const UNKNOWN_PARTITION: &str = "unknown";

/// The handles of one producer, registered once with the installed recorder (no-ops without
/// one), every counter at 0 from the start. Labelled counters whose label is only known later
/// (a DIS failure code) are registered when they first move: that happens once per request,
/// not per record.
#[derive(Debug)]
pub(crate) struct ProducerMetrics {
    stream: String,
    /// The stream's partition count, when the producer routes records itself.
    partitions: Option<u32>,
    sent: Counter,
    acknowledged: Counter,
    possible_duplicates: Counter,
    requests_ok: Counter,
    requests_error: Counter,
    request_duration: Histogram,
    buffered: Gauge,
    in_flight: Gauge,
    oldest_buffered_age: Gauge,
}

impl ProducerMetrics {
    pub(crate) fn new(stream: &str, partitions: Option<u32>) -> ProducerMetrics {
        describe();
        let stream = stream.to_owned();
        let s = || ("stream", stream.clone());
        // Every counter exists from the start, at 0.
        for code in OWN_CODES {
            counter!(RECORDS_FAILED, &[s(), ("code", code.to_owned())]).absolute(0);
        }
        for p in (0..partitions.unwrap_or(0)).map(partition_label) {
            counter!(RECORDS_THROTTLED, &[s(), ("partition", p)]).absolute(0);
        }
        counter!(
            RECORDS_THROTTLED,
            &[s(), ("partition", UNKNOWN_PARTITION.to_owned())]
        )
        .absolute(0);
        counter!(CREDENTIAL_REFRESHES).absolute(0);
        ProducerMetrics {
            partitions,
            sent: counter!(RECORDS_SENT, &[s()]),
            acknowledged: counter!(RECORDS_ACKNOWLEDGED, &[s()]),
            possible_duplicates: counter!(POSSIBLE_DUPLICATES, &[s()]),
            requests_ok: counter!(REQUESTS, &[s(), ("outcome", "ok".to_owned())]),
            requests_error: counter!(REQUESTS, &[s(), ("outcome", "error".to_owned())]),
            request_duration: histogram!(REQUEST_DURATION, &[s()]),
            buffered: gauge!(BUFFERED_RECORDS, &[s()]),
            in_flight: gauge!(IN_FLIGHT_RECORDS, &[s()]),
            oldest_buffered_age: gauge!(OLDEST_BUFFERED_AGE, &[s()]),
            stream,
        }
    }

    pub(crate) fn sent(&self) {
        self.sent.increment(1);
    }

    pub(crate) fn outcomes(&self, acknowledged: u64, possible_duplicates: u64) {
        self.acknowledged.increment(acknowledged);
        self.possible_duplicates.increment(possible_duplicates);
    }

    pub(crate) fn failed(&self, code: &str, n: u64) {
        let labels = [("stream", self.stream.clone()), ("code", code_label(code))];
        counter!(RECORDS_FAILED, &labels).increment(n);
    }

    /// `n` answers `DIS.4303` for the records of `lane`.
    pub(crate) fn throttled(&self, lane: usize, n: u64) {
        let partition = match self.partitions {
            // Lanes below the partition count are partitions; the last one holds the records
            // DIS spreads itself.
            Some(p) if lane < p as usize => partition_label(lane as u32),
            _ => UNKNOWN_PARTITION.to_owned(),
        };
        let labels = [("stream", self.stream.clone()), ("partition", partition)];
        counter!(RECORDS_THROTTLED, &labels).increment(n);
    }

    pub(crate) fn request(&self, took: Duration, ok: bool) {
        if ok {
            self.requests_ok.increment(1);
        } else {
            self.requests_error.increment(1);
        }
        self.request_duration.record(took.as_secs_f64());
    }

    pub(crate) fn gauges(&self, buffered: u64, in_flight: u64, oldest: Duration) {
        self.buffered.set(buffered as f64);
        self.in_flight.set(in_flight as f64);
        self.oldest_buffered_age.set(oldest.as_secs_f64());
    }
}

/// DIS's ID of partition `index`.
fn partition_label(index: u32) -> String {
    format!("shardId-{index:010}")
}

/// The `code` label of a failure: the codes come from the server, so only the shapes DIS and
/// this crate use are kept (`DIS.` and 4 digits, `HTTP` and a status, the crate's own words);
/// anything else is `other`, so that a server cannot grow the registry without bound.
fn code_label(code: &str) -> String {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let known = code.strip_prefix("DIS.").is_some_and(|d| digits(d, 4))
        || code.strip_prefix("HTTP ").is_some_and(|d| digits(d, 3))
        || ["invalid", "expired", "transport", "unreadable", "request"].contains(&code);
    if known { code } else { "other" }.to_owned()
}

/// Counts one set of credentials obtained from a provider (the first, and each refresh).
pub(crate) fn credential_refreshed() {
    counter!(CREDENTIAL_REFRESHES).increment(1);
}

#[cfg(test)]
mod tests {
    use super::code_label;

    #[test]
    fn failure_codes_from_the_server_are_bounded() {
        for kept in ["DIS.4303", "HTTP 413", "expired", "transport"] {
            assert_eq!(code_label(kept), kept);
        }
        for odd in [
            "DIS.43031",
            "DIS.abcd",
            "x".repeat(10_000).as_str(),
            "HTTP 4130",
            "",
        ] {
            assert_eq!(code_label(odd), "other");
        }
    }
}
