//! How fast the producer sends to each partition: one setting ([`Pacing`]), one pacer per kind
//! of pacing (at the quota: [`quota`]; from refusals alone: [`adaptive`]), one reading of DIS's
//! refusals ([`refusals`]) and one sample of what an answer tells them ([`Sample`]).

mod adaptive;
mod kind;
mod quota;
mod refusals;
mod sample;
#[cfg(test)]
mod simulation;

use std::time::Duration;

pub use self::kind::StreamKind;
pub(crate) use self::sample::{Refused, Sample, THROTTLED, is_throttled};

use self::adaptive::AdaptivePacer;
use self::quota::QuotaPacer;

/// How the producer paces its requests to each partition
/// ([`ProducerConfig::with_pacing`](crate::ProducerConfig::with_pacing)).
///
/// Each needs the stream's partition count, which the producer learns from DIS
/// ([`ProducerConfig::with_describe`](crate::ProducerConfig::with_describe)) or is told
/// ([`ProducerConfig::with_partitions`](crate::ProducerConfig::with_partitions)); without it,
/// nothing is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pacing {
    /// Each partition at its kind's quota (learned from DIS, or told:
    /// [`ProducerConfig::with_stream_kind`](crate::ProducerConfig::with_stream_kind)).
    ///
    /// `shared: true` (the default): other producers may write to the stream too. A producer
    /// starts at half the quota and doubles its share on clean answers (a slow start) until DIS
    /// refuses records (`DIS.4303`); refusals lower its share by the part refused, and it then
    /// grows again slowly, so that producers sharing a stream neither flood its first second
    /// nor keep overshooting. `shared: false`: the producer is alone on the stream, at the
    /// whole quota from the first request, never lowered by refusals.
    ///
    /// With the kind unknown (DIS cannot describe the stream and none was told), a partition is
    /// paced as [`Pacing::Adaptive`] does.
    Quota {
        /// Whether other producers may write to the stream.
        shared: bool,
    },
    /// Each partition's rate adapted from DIS's refusals alone: additive increase,
    /// multiplicative decrease, starting at a common partition's quota.
    Adaptive,
    /// No pacing: requests go as fast as the window of requests in flight allows, and throttled
    /// records are sent again after a backoff.
    Off,
}

impl Default for Pacing {
    /// [`Pacing::Quota`], shared.
    fn default() -> Self {
        Pacing::Quota { shared: true }
    }
}

impl Pacing {
    /// The quota a stream of `kind` is paced at, and whether it is shared: `None` when the
    /// pacing is not at a quota, or the kind is not known.
    pub(crate) fn quota(self, kind: Option<StreamKind>) -> Option<(StreamKind, bool)> {
        match (self, kind) {
            (Pacing::Quota { shared }, Some(kind)) => Some((kind, shared)),
            _ => None,
        }
    }
}

/// One lane's pacer: for a partition, or for the records DIS spreads over `partitions` of them.
#[derive(Debug)]
pub(crate) enum Pacer {
    /// At the quota of a known kind.
    Quota(QuotaPacer),
    /// From refusals alone.
    Adaptive(AdaptivePacer),
}

impl Pacer {
    /// The pacer of a lane carrying `partitions` partitions' records of a stream of `kind`, as
    /// `pacing` says; none when not paced.
    pub(crate) fn new(pacing: Pacing, kind: Option<StreamKind>, partitions: u32) -> Option<Pacer> {
        if pacing == Pacing::Off {
            return None;
        }
        Some(match pacing.quota(kind) {
            Some((kind, shared)) => Pacer::Quota(QuotaPacer::new(kind, partitions, shared)),
            None => Pacer::Adaptive(AdaptivePacer::new(partitions)),
        })
    }

    /// The most records, and bytes of data, one request should carry now (what one carries
    /// was reserved at the rate of its time).
    pub(crate) fn request_cap(&self) -> (usize, usize) {
        match self {
            Pacer::Quota(p) => p.request_cap(),
            Pacer::Adaptive(p) => (p.request_cap(), usize::MAX),
        }
    }

    /// Takes the room for `records` records of `bytes` bytes of data; returns how long to wait
    /// before sending them.
    pub(crate) fn reserve(&self, records: usize, bytes: usize) -> Duration {
        match self {
            Pacer::Quota(p) => p.reserve(records, bytes),
            Pacer::Adaptive(p) => p.reserve(records),
        }
    }

    /// What DIS answered to a request of this lane.
    pub(crate) fn feedback(&self, sample: &Sample) {
        match self {
            Pacer::Quota(p) => p.feedback(sample),
            Pacer::Adaptive(p) => p.feedback(sample),
        }
    }
}
