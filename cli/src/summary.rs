//! The totals of a run: one line on stderr, and with `--json` one JSON object on stdout.

use serde::Serialize;

/// What `--json` prints.
#[derive(Debug, Serialize)]
pub struct Totals {
    pub sent: u64,
    pub acknowledged: u64,
    pub failed: u64,
    pub retries: u64,
    pub throttled: u64,
    pub requests: u64,
    /// Input lines not sent: not a record (bad JSON, a broken DIS limit) or over-long.
    pub bad_lines: u64,
    pub skipped_long_lines: u64,
    /// Records flagged as maybe stored twice, and (with --follow) lines sent again after a
    /// restart that may have been stored before it.
    pub possible_duplicates: u64,
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
        if self.possible_duplicates > 0 {
            line.push_str(&format!(
                "; {} possible duplicates",
                self.possible_duplicates
            ));
        }
        line
    }

    /// The JSON line.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
