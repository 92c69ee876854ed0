//! What one answer tells a pacer: how many records went, how many DIS refused for traffic
//! control and where in the request, and when the request took its room.

use std::time::Duration;

use tokio::time::Instant;

use crate::outcome::RecordResult;

/// What DIS answered to one request, as the pacer reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// Records sent.
    pub(crate) sent: usize,
    /// Of them, refused with `DIS.4303`.
    pub(crate) throttled: usize,
    /// The data of the refused records, in bytes.
    pub(crate) throttled_bytes: usize,
    /// Refused records followed by a stored one: a quota running dry refuses a request's
    /// records from some point on, so these were refused for something else.
    pub(crate) scattered: usize,
    /// When the request took its room from the pacer.
    pub(crate) reserved_at: Instant,
    /// When it went out (after waiting for that room).
    pub(crate) sent_at: Instant,
    /// The answer's `Retry-After`.
    pub(crate) retry_after: Option<Duration>,
}

#[cfg(test)]
impl Sample {
    /// `throttled` of `sent` refused as a quota refuses them: the last ones of the request.
    pub(crate) fn quota(sent: usize, throttled: usize, reserved_at: Instant) -> Sample {
        Sample {
            sent,
            throttled,
            throttled_bytes: 0,
            scattered: 0,
            reserved_at,
            sent_at: reserved_at,
            retry_after: None,
        }
    }

    /// `throttled` of `sent` refused at random, scattered among the stored ones.
    pub(crate) fn random(sent: usize, throttled: usize, reserved_at: Instant) -> Sample {
        Sample {
            scattered: throttled,
            ..Sample::quota(sent, throttled, reserved_at)
        }
    }
}

/// DIS's code for a record (or a request) refused by traffic control.
pub(crate) const THROTTLED: &str = "DIS.4303";

/// True when a record (or a request) was refused with `code` by traffic control.
pub(crate) fn is_throttled(code: &str) -> bool {
    code == THROTTLED
}

/// The refusals of one answer, counted for a [`Sample`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Refused {
    /// Records refused with `DIS.4303`.
    pub(crate) throttled: usize,
    /// Of them, those followed by a stored record: a quota refuses a request's records from some
    /// point on, faults scatter their refusals.
    pub(crate) scattered: usize,
    /// The data of the refused records, in bytes.
    pub(crate) throttled_bytes: usize,
}

impl Refused {
    /// Counts the records of an answer refused with `DIS.4303`, given each record's data size.
    pub(crate) fn count(
        results: &[RecordResult],
        sizes: impl IntoIterator<Item = usize>,
    ) -> Refused {
        let mut refused = Refused::default();
        // Throttled records not yet followed by a stored one.
        let mut run = 0;
        for (r, size) in results.iter().zip(sizes) {
            match r {
                RecordResult::Stored { .. } => refused.scattered += std::mem::take(&mut run),
                RecordResult::Failed { code, .. } if is_throttled(code) => {
                    run += 1;
                    refused.throttled += 1;
                    refused.throttled_bytes += size;
                }
                RecordResult::Failed { .. } => {}
            }
        }
        refused
    }
}
