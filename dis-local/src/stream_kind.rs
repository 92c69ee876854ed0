//! The kinds of DIS stream and the write quota each gives a partition. Configuration names a
//! stream's kind (`src/config.rs`); the quota buckets enforce its rates (`src/quota.rs`).

use std::fmt;

/// The kind of a DIS stream, which sets the write quota of each of its partitions (see
/// [`StreamKind::records_per_second`] and [`StreamKind::bytes_per_second`]). Parsed from
/// `common` or `advanced` (any case); [`StreamKind::Common`] by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamKind {
    /// A common stream: per partition, 1 MB/s or 1,000 records/s of writes.
    #[default]
    Common,
    /// An advanced stream: per partition, 5 MB/s or 2,000 records/s of writes.
    Advanced,
}

impl StreamKind {
    /// Records per second a partition accepts: 1,000 for a common stream, 2,000 for an
    /// advanced one (DIS documentation, "partition" capacity).
    pub const fn records_per_second(self) -> u64 {
        match self {
            StreamKind::Common => 1_000,
            StreamKind::Advanced => 2_000,
        }
    }

    /// Bytes of decoded record data per second a partition accepts: DIS's 1 MB/s for a common
    /// stream and 5 MB/s for an advanced one, read as MiB (1,048,576 and 5,242,880 bytes), as
    /// this crate reads the "1 MB" / "5 MB" request limits of the same sentence of the DIS
    /// document: otherwise one record of the largest size DIS accepts (1 MiB) would not fit a
    /// common partition's one-second burst and could never be stored.
    pub const fn bytes_per_second(self) -> u64 {
        match self {
            StreamKind::Common => 1024 * 1024,
            StreamKind::Advanced => 5 * 1024 * 1024,
        }
    }

    /// `"common"` or `"advanced"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StreamKind::Common => "common",
            StreamKind::Advanced => "advanced",
        }
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of parsing a [`StreamKind`]: neither `common` nor `advanced`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseStreamKindError(String);

impl fmt::Display for ParseStreamKindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown stream kind {:?}: expected common or advanced",
            self.0
        )
    }
}

impl std::error::Error for ParseStreamKindError {}

impl std::str::FromStr for StreamKind {
    type Err = ParseStreamKindError;

    /// Parses `common` or `advanced`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("common") {
            Ok(StreamKind::Common)
        } else if s.eq_ignore_ascii_case("advanced") {
            Ok(StreamKind::Advanced)
        } else {
            Err(ParseStreamKindError(s.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_rates() {
        assert_eq!(StreamKind::default(), StreamKind::Common);
        assert_eq!(
            (
                StreamKind::Common.records_per_second(),
                StreamKind::Common.bytes_per_second()
            ),
            (1_000, 1_048_576)
        );
        assert_eq!(
            (
                StreamKind::Advanced.records_per_second(),
                StreamKind::Advanced.bytes_per_second()
            ),
            (2_000, 5_242_880)
        );
        for (s, kind) in [
            ("common", StreamKind::Common),
            ("COMMON", StreamKind::Common),
            ("advanced", StreamKind::Advanced),
            ("Advanced", StreamKind::Advanced),
        ] {
            assert_eq!(s.parse::<StreamKind>(), Ok(kind));
        }
        assert_eq!(StreamKind::Advanced.to_string(), "advanced");
        let err = "fast".parse::<StreamKind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown stream kind \"fast\": expected common or advanced"
        );
    }
}
