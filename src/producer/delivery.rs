//! Where each record ended, and the totals of a run.

use std::sync::Arc;

use crate::error::{Error, ValidationError};
use crate::ids::{PartitionId, SequenceNumber};
use crate::record::Record;

/// Where a record ended: acknowledged, or failed for good, with the record handed back.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Delivery {
    /// Position of the record in the input, from 0.
    pub id: u64,
    /// The record, handed back.
    pub record: Record,
    /// Tries made, throttled ones included (0 when it was invalid and never sent).
    pub attempts: u32,
    /// Of [`Delivery::attempts`], the tries answered `DIS.4303` (traffic control), the record's
    /// own answer or the whole request's. Throttling is not a failed try: these are sent again
    /// until the record's deadline and do not count against
    /// [`RetryPolicy::with_max_attempts`](crate::RetryPolicy::with_max_attempts), which caps
    /// `attempts - throttled_attempts`.
    pub throttled_attempts: u32,
    /// Tries whose answer was lost and that were sent again: each may have left a copy.
    pub ambiguous_attempts: u32,
    /// Acknowledged, or failed for good.
    pub result: Result<Ack, Failure>,
}

/// A record DIS stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ack {
    /// Partition it went to.
    pub partition_id: PartitionId,
    /// Its sequence number there.
    pub sequence_number: SequenceNumber,
}

/// Why a record was not stored (as far as the producer knows).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// It breaks a DIS limit; it was never sent.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// DIS refused this record (its own `error_code`), for good or after the last try.
    #[error("DIS refused the record: {code}: {message}")]
    Refused {
        /// DIS error code.
        code: String,
        /// DIS error message.
        message: String,
    },
    /// The whole request failed, for good or after the last try. The error is shared by the
    /// records of that request.
    #[error("{0}")]
    Request(#[source] Arc<Error>),
    /// The deadline passed first ([`ProducerHandle::close`](crate::ProducerHandle::close)): the
    /// record is handed back undelivered, with what its last try ran into.
    #[error(
        "the deadline passed before the record was acknowledged{}{}",
        if *unanswered { " (a request carrying it was unanswered: it may be stored)" } else { "" },
        last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default()
    )]
    Expired {
        /// True when a request carrying the record had been sent and was not answered: DIS may
        /// have stored it.
        unanswered: bool,
        /// What the record's last try ran into (no credentials to be had and why, a refused
        /// connection, DNS, TLS, an HTTP error answer, a throttled record); `None` when it was
        /// never tried, or its tries were cut off unanswered.
        last_error: Option<LastError>,
    },
}

/// What a try of a record ran into, kept until the record has its outcome: an expired
/// record says why it was not stored in time ([`Failure::Expired`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LastError {
    /// The request failed as a whole: no credentials could be had (the provider and why), a
    /// refused connection, a DNS failure, TLS, a timeout, an HTTP error answer. The error is
    /// shared by the records of that request.
    #[error("{0}")]
    Request(Arc<Error>),
    /// DIS refused the record in its answer (`DIS.4303` traffic control, a retryable code).
    #[error("DIS refused the record: {code}: {message}")]
    Refused {
        /// DIS error code.
        code: String,
        /// DIS error message.
        message: String,
    },
}

impl LastError {
    /// A short key for counting: DIS's code, else `HTTP {status}`, else `credentials`,
    /// `transport`, `unreadable`, `request`.
    pub fn code(&self) -> String {
        match self {
            LastError::Refused { code, .. } => code.clone(),
            LastError::Request(e) => match e.as_ref() {
                Error::Dis { code: Some(c), .. } => c.clone(),
                Error::Dis { status, .. } => format!("HTTP {status}"),
                Error::Credentials { .. } => "credentials".into(),
                Error::Transport { .. } => "transport".into(),
                Error::InvalidResponse { .. } => "unreadable".into(),
                _ => "request".into(),
            },
        }
    }
}

impl Delivery {
    /// Tries beyond the first that were not throttled.
    pub(crate) fn retries(&self) -> u32 {
        self.attempts
            .saturating_sub(self.throttled_attempts)
            .saturating_sub(1)
    }

    /// Record `id` refused before sending: it breaks a DIS limit.
    pub(crate) fn invalid(id: u64, record: Record, error: ValidationError) -> Delivery {
        Delivery {
            id,
            record,
            attempts: 0,
            throttled_attempts: 0,
            ambiguous_attempts: 0,
            result: Err(Failure::Invalid(error)),
        }
    }

    /// True when a copy of this record may be in the stream although the result says failed,
    /// or more than one copy although it says acknowledged: some try's answer was lost (or a
    /// 500/502/504) and it was sent again, or the final error is such a failure
    /// ([`Error::maybe_duplicated`]).
    pub fn maybe_duplicated(&self) -> bool {
        self.ambiguous_attempts > 0
            || match &self.result {
                Err(Failure::Request(e)) => e.maybe_duplicated(),
                Err(Failure::Expired { unanswered, .. }) => *unanswered,
                _ => false,
            }
    }
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Records taken in.
    pub sent: u64,
    /// Records stored.
    pub acknowledged: u64,
    /// Records handed back as failed.
    pub failed: u64,
    /// Tries beyond a record's first that were not throttled (after a failed request, a
    /// retryable record code, a lost answer), over all records: what
    /// [`RetryPolicy::with_max_attempts`](crate::RetryPolicy::with_max_attempts) caps. The
    /// throttled tries are in [`Summary::throttled`].
    pub retries: u64,
    /// Resends after a lost answer (possible duplicates).
    pub ambiguous: u64,
    /// Requests made.
    pub requests: u64,
    /// Record answers `DIS.4303` (traffic control): each throttled try of a record counts.
    pub throttled: u64,
    /// Calls of the delivery callback that panicked. The panic is caught: the outcome it was
    /// given counts as handed back, and the producer goes on.
    pub callback_panics: u64,
    /// Outcomes the callback had not had yet when
    /// [`ProducerHandle::close`](crate::ProducerHandle::close) returned at its deadline (0 when
    /// it had them all). They are still given to it, in order, on its own thread, as long as
    /// the process lives; the totals above count them as they were decided.
    pub undelivered: u64,
}

impl Summary {
    /// Counts one outcome.
    pub(crate) fn add(&mut self, d: &Delivery) {
        self.retries += u64::from(d.retries());
        self.ambiguous += u64::from(d.ambiguous_attempts);
        match d.result {
            Ok(_) => self.acknowledged += 1,
            Err(_) => self.failed += 1,
        }
    }
}
