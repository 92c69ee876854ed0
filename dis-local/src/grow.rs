//! Growing a stream's partition count while the server runs, as DIS does when a user scales a
//! stream (`update_partition_counts`) or auto scaling acts: [`PartitionGrowth`], the
//! `--grow-partitions AFTER:STREAM:N` flag of `dis-local`, and
//! [`LocalDis::grow_partitions`](crate::LocalDis::grow_partitions).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::limits::MAX_PARTITIONS;
use crate::state::Shared;

/// A stream grown to `partitions` partitions `after` the server started:
/// `AFTER:STREAM:N`, AFTER in seconds (`10`, `2.5`) or with a unit (`500ms`, `10s`).
///
/// ```
/// use std::time::Duration;
/// use dis_local::PartitionGrowth;
///
/// let g: PartitionGrowth = "10s:newstream:8".parse().unwrap();
/// assert_eq!((g.after, g.stream.as_str(), g.partitions), (Duration::from_secs(10), "newstream", 8));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionGrowth {
    /// How long after the start.
    pub after: Duration,
    /// The stream.
    pub stream: String,
    /// Its partition count from then on (a stream never shrinks).
    pub partitions: u32,
}

impl PartitionGrowth {
    /// `stream` grown to `partitions` partitions `after` the start.
    pub fn new(after: Duration, stream: impl Into<String>, partitions: u32) -> PartitionGrowth {
        PartitionGrowth {
            after,
            stream: stream.into(),
            partitions,
        }
    }
}

/// Error of parsing a [`PartitionGrowth`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsePartitionGrowthError(String);

impl fmt::Display for ParsePartitionGrowthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParsePartitionGrowthError {}

impl FromStr for PartitionGrowth {
    type Err = ParsePartitionGrowthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            ParsePartitionGrowthError(format!(
                "invalid partition growth {s:?}: {why} (expected AFTER:STREAM:N, e.g. 10s:newstream:8)"
            ))
        };
        let (after, rest) = s.split_once(':').ok_or_else(|| bad("no AFTER"))?;
        let (stream, n) = rest.rsplit_once(':').ok_or_else(|| bad("no N"))?;
        let seconds = if let Some(ms) = after.strip_suffix("ms") {
            ms.parse::<f64>().map(|v| v / 1000.0)
        } else {
            after.strip_suffix('s').unwrap_or(after).parse::<f64>()
        }
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && *v <= 1e9)
        .ok_or_else(|| bad("AFTER is not a number of seconds"))?;
        if stream.is_empty() {
            return Err(bad("no STREAM"));
        }
        let partitions = n
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PARTITIONS).contains(n))
            .ok_or_else(|| bad(&format!("N must be 1 to {MAX_PARTITIONS}")))?;
        Ok(PartitionGrowth::new(
            Duration::from_secs_f64(seconds),
            stream,
            partitions,
        ))
    }
}

/// Grows `stream` to `partitions` (at most [`MAX_PARTITIONS`]; never shrinks it): its store and
/// its quota buckets (the new ones full). Returns the count after, or `None` for an unknown
/// stream.
pub(crate) fn grow(shared: &Shared, stream: &str, partitions: u32) -> Option<u32> {
    let s = shared.store.by_name(stream)?;
    let partitions = partitions.min(MAX_PARTITIONS);
    // Buckets first: a record routed to a new partition always finds its bucket.
    shared.quotas.grow(stream, partitions);
    let count = s.grow(partitions);
    tracing::info!(stream, partitions = count, "local DIS: stream grown");
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let g: PartitionGrowth = "500ms:s:4".parse().unwrap();
        assert_eq!(g, PartitionGrowth::new(Duration::from_millis(500), "s", 4));
        let g: PartitionGrowth = "2.5:a:b:16".parse().unwrap();
        assert_eq!(
            g,
            PartitionGrowth::new(Duration::from_millis(2500), "a:b", 16)
        );
        for bad in [
            "",
            "10",
            "10:s",
            "x:s:4",
            "10::4",
            "10:s:0",
            "10:s:100000",
            "-1:s:4",
        ] {
            assert!(bad.parse::<PartitionGrowth>().is_err(), "{bad:?}");
        }
    }
}
