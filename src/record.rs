//! A record as the user hands it in: raw bytes plus optional routing.

use std::time::Duration;

use bytes::Bytes;

/// Longest time limit a record may be given (as the producer's own).
const MAX_TIME_LIMIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// One record to upload: raw bytes plus optional routing. Base64 happens at the wire.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Record {
    /// The payload, as raw bytes (at most 1 MiB).
    pub data: Bytes,
    /// Routes by hash of this key (`partition_key`).
    pub partition_key: Option<String>,
    /// Routes to this partition (`shardId-0000000001` or `1`); wins over the key.
    pub partition_id: Option<String>,
    /// Overrides the hash of `partition_key` (decimal, 0..=9223372036854775807).
    pub explicit_hash_key: Option<String>,
    /// Its time limit: how long the producer may take to deliver it, from the moment it takes
    /// it in (that moment plus this is the record's deadline); `None`: the producer's
    /// [`ProducerConfig::with_time_limit`](crate::ProducerConfig::with_time_limit). Not sent.
    pub time_limit: Option<Duration>,
}

impl Record {
    /// A record from bytes: `Bytes`, `Vec<u8>`, `String`, `&'static [u8]` or `&'static str`
    /// without copying; copy anything else in with `Bytes::copy_from_slice`.
    pub fn new(data: impl Into<Bytes>) -> Self {
        Record {
            data: data.into(),
            ..Record::default()
        }
    }

    /// Sets `partition_key`.
    pub fn with_partition_key(mut self, key: impl Into<String>) -> Self {
        self.partition_key = Some(key.into());
        self
    }

    /// Sets `partition_id`.
    pub fn with_partition_id(mut self, id: impl Into<String>) -> Self {
        self.partition_id = Some(id.into());
        self
    }

    /// Sets `explicit_hash_key`.
    pub fn with_explicit_hash_key(mut self, key: impl Into<String>) -> Self {
        self.explicit_hash_key = Some(key.into());
        self
    }

    /// Gives this record its own time limit in a producer (at most 7 days): undelivered that
    /// long after the producer takes it in (its deadline), it comes back as
    /// [`Failure::Expired`](crate::Failure::Expired).
    pub fn with_time_limit(mut self, time_limit: Duration) -> Self {
        self.time_limit = Some(time_limit.min(MAX_TIME_LIMIT));
        self
    }

    /// The former name of [`Record::with_time_limit`]: a deadline is the instant the time
    /// limit ends.
    #[deprecated(note = "renamed `with_time_limit`")]
    pub fn with_deadline(self, time_limit: Duration) -> Self {
        self.with_time_limit(time_limit)
    }
}
