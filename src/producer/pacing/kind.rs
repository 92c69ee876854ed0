//! The kind of a DIS stream: what each of its partitions accepts per second, and its largest
//! request.

use crate::validate::Limits;

/// The kind of a DIS stream, which sets the write quota of each partition and the largest
/// request (DIS's documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamKind {
    /// A common stream: per partition, 1,000 records/s or 1 MiB/s; 1 MiB per request.
    #[default]
    Common,
    /// An advanced stream: per partition, 2,000 records/s or 5 MiB/s; 5 MiB per request.
    Advanced,
}

impl StreamKind {
    /// Records per second one partition accepts.
    pub const fn records_per_second(self) -> u32 {
        match self {
            StreamKind::Common => 1_000,
            StreamKind::Advanced => 2_000,
        }
    }

    /// Bytes of record data per second one partition accepts (DIS's "1 MB" and "5 MB", read
    /// as MiB, as its request limits are).
    pub const fn bytes_per_second(self) -> u32 {
        match self {
            StreamKind::Common => 1024 * 1024,
            StreamKind::Advanced => 5 * 1024 * 1024,
        }
    }

    /// The limits of a request to a stream of this kind ([`Limits::COMMON`] or
    /// [`Limits::ADVANCED`]).
    pub const fn limits(self) -> Limits {
        match self {
            StreamKind::Common => Limits::COMMON,
            StreamKind::Advanced => Limits::ADVANCED,
        }
    }

    /// Bytes of record data one request may carry: its [`limits`](StreamKind::limits)'.
    pub const fn request_bytes(self) -> usize {
        self.limits().max_request_bytes
    }

    /// The kind named `common` or `advanced` (any case).
    pub fn from_name(name: &str) -> Option<StreamKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "common" => Some(StreamKind::Common),
            "advanced" => Some(StreamKind::Advanced),
            _ => None,
        }
    }
}
