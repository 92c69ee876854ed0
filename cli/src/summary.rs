//! The totals of a run: one line on stderr, and with `--json` one JSON object on stdout; and
//! the causes of its failures, counted by cause.

use std::collections::BTreeMap;

use dis_records::{Failure, LastError};
use serde::Serialize;

/// Causes kept apart at most; past them, failures count under `other`.
const MAX_CAUSES: usize = 64;

/// Records that failed for one cause.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Cause {
    /// How many.
    pub records: u64,
    /// The error of the last of them, in full (the provider and why, the connect error, the
    /// HTTP status and code, ...).
    pub error: String,
}

/// Failures by cause.
#[derive(Debug, Default)]
pub struct Causes(BTreeMap<String, Cause>);

impl Causes {
    /// Counts one failure.
    pub fn add(&mut self, failure: &Failure) {
        let mut key = cause_key(failure);
        if !self.0.contains_key(&key) && self.0.len() >= MAX_CAUSES {
            key = "other".into();
        }
        let cause = self.0.entry(key).or_insert(Cause {
            records: 0,
            error: String::new(),
        });
        cause.records += 1;
        cause.error = failure.to_string();
    }

    pub fn into_map(self) -> BTreeMap<String, Cause> {
        self.0
    }
}

/// The key a failure is counted under: `invalid`; DIS's code of a refused record; the error of
/// a failed request (its DIS code, `HTTP 503`, `credentials`, `transport`, `unreadable`); and
/// for an expired record `expired`, with what its last try ran into (`expired: credentials`,
/// `expired: DIS.4303`).
pub fn cause_key(failure: &Failure) -> String {
    match failure {
        Failure::Invalid(_) => "invalid".into(),
        Failure::Refused { code, .. } => code.clone(),
        Failure::Request(e) => LastError::Request(e.clone()).code(),
        Failure::Expired {
            last_error: Some(last),
            ..
        } => format!("expired: {}", last.code()),
        Failure::Expired { .. } => "expired".into(),
        _ => "other".into(),
    }
}

/// What `--json` prints last.
#[derive(Debug, Serialize)]
pub struct Totals {
    /// Always `summary` (per-record objects are `record`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub sent: u64,
    pub acknowledged: u64,
    pub failed: u64,
    pub retries: u64,
    pub throttled: u64,
    pub requests: u64,
    /// Input lines not sent: not a record (bad JSON, a broken DIS limit) or over-long.
    pub bad_lines: u64,
    pub skipped_long_lines: u64,
    /// Lines read but not handed in because a signal stopped the run (without a checkpoint:
    /// lost).
    pub unsent_lines: u64,
    /// Records flagged as maybe stored twice, and (with --follow) lines sent again after a
    /// restart that may have been stored before it.
    pub possible_duplicates: u64,
    /// The failed records by cause.
    pub failures: BTreeMap<String, Cause>,
    /// The signal that stopped the run (`SIGTERM`, `SIGINT`), if one did.
    pub stopped_by: Option<&'static str>,
    pub seconds: f64,
    pub records_per_s: f64,
    pub mb_per_s: f64,
}

impl Totals {
    /// The stderr line.
    pub fn line(&self) -> String {
        let mut line = format!(
            "sent {} records: {} acknowledged, {} failed, {} retries, {} requests, {:.3} s",
            self.sent, self.acknowledged, self.failed, self.retries, self.requests, self.seconds
        );
        if self.bad_lines + self.skipped_long_lines > 0 {
            line.push_str(&format!(
                "; {} bad lines, {} over-long lines not sent",
                self.bad_lines, self.skipped_long_lines
            ));
        }
        if self.unsent_lines > 0 {
            line.push_str(&format!(
                "; {} lines read but not sent (stopped)",
                self.unsent_lines
            ));
        }
        if self.possible_duplicates > 0 {
            line.push_str(&format!(
                "; {} possible duplicates",
                self.possible_duplicates
            ));
        }
        if let Some(signal) = self.stopped_by {
            line.push_str(&format!("; stopped by {signal}"));
        }
        for (key, cause) in &self.failures {
            line.push_str(&format!(
                "\n  {} failed ({key}): {}",
                cause.records, cause.error
            ));
        }
        line
    }

    /// The JSON line.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// True when every record read was acknowledged and every line was one.
    pub fn clean(&self) -> bool {
        self.failed == 0
            && self.bad_lines == 0
            && self.skipped_long_lines == 0
            && self.unsent_lines == 0
    }
}
