//! How the producer batches, sends and retries.

use std::time::Duration;

use rand::Rng;

use super::pacing::{Pacing, StreamKind, THROTTLED};
use crate::body::BodyFormat;
use crate::error::{ConfigError, Error};

/// When and how often to send again. Build it from the default with the `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) multiplier: f64,
    pub(crate) max_backoff: Duration,
    pub(crate) retryable_codes: Vec<String>,
    pub(crate) retry_ambiguous: bool,
}

impl Default for RetryPolicy {
    /// 10 tries per record; waits from 100 ms, doubling, at most 5 s; per-record retries of
    /// `DIS.4303` and `DIS.5xxx`; answers that were lost are not sent again.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(5),
            retryable_codes: vec![THROTTLED.into(), "DIS.5*".into()],
            retry_ambiguous: false,
        }
    }
}

impl RetryPolicy {
    /// Tries per record, the first included (at least 1). Tries answered `DIS.4303` (traffic
    /// control) are not counted: a throttled record is sent again until its deadline, and
    /// keeps all its tries for other failures ([`Delivery::throttled_attempts`](crate::Delivery::throttled_attempts)).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Waits between tries: `initial`, growing by `multiplier` per try without progress, at
    /// most `max` (each with jitter in [half, full]).
    pub fn with_backoff(mut self, initial: Duration, multiplier: f64, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.multiplier = multiplier;
        self.max_backoff = max;
        self
    }

    /// Send again a request whose answer was lost (timeout, reset, unreadable answer). It may
    /// have been stored, so this can duplicate records. Default: off.
    pub fn with_retry_ambiguous(mut self, retry: bool) -> Self {
        self.retry_ambiguous = retry;
        self
    }

    /// True when a record refused with `code` is worth sending again.
    pub(crate) fn is_retryable_code(&self, code: &str) -> bool {
        self.retryable_codes
            .iter()
            .any(|c| match c.strip_suffix('*') {
                Some(prefix) => code.starts_with(prefix),
                None => code == c,
            })
    }

    /// The wait before try `attempt + 1` (`attempt` >= 1), with jitter in [half, full].
    pub(crate) fn backoff(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let exp = self.initial_backoff.as_secs_f64()
            * self
                .multiplier
                .powi(attempt.saturating_sub(1).min(64) as i32);
        // min() also turns an overflow to infinity back into the cap.
        let full = exp.min(self.max_backoff.as_secs_f64()).max(0.0);
        Duration::from_secs_f64(rng.random_range(full / 2.0..=full))
    }

    /// Checks that the policy can be followed: at least one try, a finite multiplier of at
    /// least 1, and waits of at most an hour.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::Config(ConfigError::new("retry policy", m)));
        if self.max_attempts == 0 {
            return bad("max_attempts must be at least 1");
        }
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return bad("multiplier must be a finite number of at least 1.0");
        }
        if self.max_backoff > Duration::from_secs(3600) || self.initial_backoff > self.max_backoff {
            return bad("initial_backoff <= max_backoff <= 1 hour");
        }
        Ok(())
    }

    /// True when a whole request that failed with `err` is worth sending again.
    pub(crate) fn is_retryable_request(&self, err: &Error) -> bool {
        match err {
            Error::Transport { connect: true, .. } => true,
            Error::Dis { status, code, .. } => {
                matches!(status, 429 | 500 | 502 | 503 | 504)
                    || code.as_deref().is_some_and(|c| self.is_retryable_code(c))
            }
            e => self.retry_ambiguous && e.maybe_duplicated(),
        }
    }
}

/// Most requests in flight a producer may be configured with (each holds a request's records).
const MAX_IN_FLIGHT_BOUND: usize = 1024;
/// Most partitions a producer may be told of (each has a lane).
const MAX_PARTITIONS: u32 = 10_000;
/// Longest time limit a record may be given.
const MAX_TIME_LIMIT: Duration = Duration::from_secs(7 * 24 * 3600);
/// The default time limit of a record.
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(120);
/// Bounds of a spawned producer's buffer.
const MAX_BUFFER_RECORDS: usize = 1_000_000;
const MAX_BUFFER_BYTES: usize = 512 * 1024 * 1024;
/// Longest linger a producer may be configured with.
const MAX_LINGER: Duration = Duration::from_secs(60);

/// How the producer batches and sends. Build it from the default with the `with_*` methods;
/// the limits of a request are the client's.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProducerConfig {
    pub(crate) max_in_flight: usize,
    pub(crate) linger: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) order_by_key: bool,
    pub(crate) body_format: BodyFormat,
    pub(crate) partitions: Option<u32>,
    pub(crate) pacing: Pacing,
    pub(crate) stream_kind: Option<StreamKind>,
    pub(crate) describe: bool,
    pub(crate) time_limit: Duration,
    pub(crate) buffer_records: usize,
    pub(crate) buffer_bytes: usize,
}

impl Default for ProducerConfig {
    /// 4 requests in flight, 20 ms linger, the default [`RetryPolicy`], no key order, JSON
    /// bodies, the stream described by DIS (partition count and kind unknown until then),
    /// paced at the quota and shared ([`Pacing::default`]), a time limit of 2 minutes per record, and a
    /// spawned producer's buffer of 10,000 records or 64 MiB.
    fn default() -> Self {
        ProducerConfig {
            max_in_flight: 4,
            linger: Duration::from_millis(20),
            retry: RetryPolicy::default(),
            order_by_key: false,
            body_format: BodyFormat::Json,
            partitions: None,
            pacing: Pacing::default(),
            stream_kind: None,
            describe: true,
            time_limit: DEFAULT_TIME_LIMIT,
            buffer_records: 10_000,
            buffer_bytes: 64 * 1024 * 1024,
        }
    }
}

impl ProducerConfig {
    /// Requests in flight at most (1 to 1024).
    pub fn with_max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests;
        self
    }

    /// How long a partial batch may wait for more records (at most 60 s).
    pub fn with_linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Retry rules.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Ordered mode (default off): for each `partition_key`, the acknowledged records appear in
    /// the stream (in sequence-number order within their partition) in input order, whatever
    /// mix of throttling, refused records, failed requests and lost answers happens.
    ///
    /// How: a key has at most one record in the open batch or in flight, and a lane (a
    /// partition, when the count is known) has one request in flight; a later record of the
    /// key waits until the earlier one has its outcome. So a request that refuses one record
    /// and stores another can never store two records of one key out of order.
    ///
    /// Cost: a request carries at most one record per key, one request at a time per lane: with
    /// few keys, few records per request (10 keys: at most 10 records per round trip per
    /// lane). Records without a `partition_key` are not ordered.
    ///
    /// A record that ends failed is handed back, and the later records of its key go on (they
    /// are not held back): the failed one is not in the stream, unless
    /// [`Delivery::maybe_duplicated`](crate::Delivery::maybe_duplicated) says it may be, at its
    /// place before them.
    pub fn with_order_by_key(mut self, ordered: bool) -> Self {
        self.order_by_key = ordered;
        self
    }

    /// How request bodies are written: JSON (the default), or protobuf as Huawei's SDKs can
    /// send them.
    pub fn with_body_format(mut self, format: BodyFormat) -> Self {
        self.body_format = format;
        self
    }

    /// The stream's partition count, an override: the producer learns it from DIS itself
    /// ([`ProducerConfig::with_describe`]); told, it goes by this count only until DIS has
    /// described the stream, or when DIS cannot describe it (a warning says so), and where DIS
    /// answers another count, DIS wins (with a warning). Records are then routed to partitions on the client, as
    /// Huawei's Java producer does (MD5 of the partition key, or the explicit hash key, or the
    /// partition id), and the producer keeps a send rate (and, in ordered mode, the order of
    /// keys) per partition. Without it, per stream.
    pub fn with_partitions(mut self, partitions: u32) -> Self {
        self.partitions = Some(partitions);
        self
    }

    /// How each partition is paced (default: at its kind's quota, shared with other producers:
    /// [`Pacing::Quota`]). [`Pacing::Off`] for an endpoint that enforces no quota.
    pub fn with_pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// The stream's kind, an override: the producer learns it from DIS itself
    /// ([`ProducerConfig::with_describe`]); told, it goes by this kind until DIS has described
    /// the stream, or when DIS cannot (a warning says so), and where DIS answers another kind,
    /// DIS wins (with a warning). The kind sets each partition's quota
    /// ([`StreamKind::records_per_second`], [`StreamKind::bytes_per_second`]), at which
    /// [`Pacing::Quota`] paces it with a token bucket, as the KPL's `RateLimit` paces a shard,
    /// and the records without a key at the quota of all partitions. A refused record waits for
    /// its partition's bucket, not for a backoff. A request waiting for its bucket uses no
    /// connection: the producer then keeps at least one request per partition (and one for the
    /// records without a key) in flight, beyond [`ProducerConfig::with_max_in_flight`] when
    /// there are more partitions. The request limit is the client's: build it with
    /// [`Limits::ADVANCED`](crate::Limits::ADVANCED) for an advanced stream.
    pub fn with_stream_kind(mut self, kind: StreamKind) -> Self {
        self.stream_kind = Some(kind);
        self
    }

    /// Learn the stream from DIS (default: on): at start the producer describes the stream
    /// (DescribeStream, paging through its partitions) and paces each writable partition at
    /// its kind's quota; it describes it again when an answer names a partition it does not
    /// know (the stream grew) and every 3 minutes, and takes a new layout once its requests in
    /// flight have landed. Its first requests wait for the first description, at most
    /// 300 ms. When DIS refuses (no permission) or does not answer, the producer goes by what
    /// it was told ([`ProducerConfig::with_partitions`], [`ProducerConfig::with_stream_kind`])
    /// and by DIS's refusals (adaptive), and says so once in a warning. Off: only what it was
    /// told.
    pub fn with_describe(mut self, describe: bool) -> Self {
        self.describe = describe;
        self
    }

    /// How long a record may take, from when the producer takes it in to its acknowledgement
    /// (default 2 minutes, at most 7 days; a record's own
    /// [`Record::with_time_limit`](crate::Record::with_time_limit) wins). Throttled records
    /// are sent again until then (its deadline); past it a record ends as
    /// [`Failure::Expired`](crate::Failure::Expired), handed back.
    pub fn with_time_limit(mut self, time_limit: Duration) -> Self {
        self.time_limit = time_limit;
        self
    }

    /// The former name of [`ProducerConfig::with_time_limit`]: a deadline is the instant the
    /// time limit ends.
    #[deprecated(note = "renamed `with_time_limit`")]
    pub fn with_deadline(self, time_limit: Duration) -> Self {
        self.with_time_limit(time_limit)
    }

    /// The buffer of a spawned producer ([`ProducerHandle`](crate::ProducerHandle)): at most
    /// `records` records waiting to be taken in, and at most `bytes` bytes of record data
    /// handed to it and not yet delivered. `send` waits for room; `try_send` hands the record
    /// straight back. Outcomes waiting for the callback are capped the same way (for
    /// [`Producer::send_all`](crate::Producer::send_all) too): past it, no input is taken.
    /// Records waiting behind an earlier record of their key (ordered mode) are capped by
    /// `bytes` alone (each counted with its data, its keys and the producer's own record of it,
    /// a couple of hundred bytes), not by `records`: a hot key's backlog of small records holds
    /// back the records of other keys behind it in the input only once it holds `bytes` (with
    /// 64 MiB, some 300,000 records of a few bytes), or a million records wait.
    pub fn with_buffer(mut self, records: usize, bytes: usize) -> Self {
        self.buffer_records = records;
        self.buffer_bytes = bytes;
        self
    }

    /// Checks every setting against a bound, so that none can panic or exhaust memory later.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if !(1..=MAX_IN_FLIGHT_BOUND).contains(&self.max_in_flight) {
            return Err(Error::Config(ConfigError::new(
                "producer: max_in_flight",
                format!(
                    "is {}, it must be in 1..={MAX_IN_FLIGHT_BOUND}",
                    self.max_in_flight
                ),
            )));
        }
        if self.linger > MAX_LINGER {
            return Err(Error::Config(ConfigError::new(
                "producer: linger",
                format!("is {:?}, it must be at most {MAX_LINGER:?}", self.linger),
            )));
        }
        if let Some(p) = self.partitions
            && !(1..=MAX_PARTITIONS).contains(&p)
        {
            return Err(Error::Config(ConfigError::new(
                "producer: partitions",
                format!("is {p}, it must be in 1..={MAX_PARTITIONS}"),
            )));
        }
        if self.time_limit.is_zero() || self.time_limit > MAX_TIME_LIMIT {
            return Err(Error::Config(ConfigError::new(
                "producer: time_limit",
                format!(
                    "is {:?}, it must be more than 0 and at most 7 days",
                    self.time_limit
                ),
            )));
        }
        if !(1..=MAX_BUFFER_RECORDS).contains(&self.buffer_records) {
            return Err(Error::Config(ConfigError::new(
                "producer: buffer records",
                format!(
                    "is {}, it must be in 1..={MAX_BUFFER_RECORDS}",
                    self.buffer_records
                ),
            )));
        }
        // A record of 1 MiB must fit, and the semaphore counts at most u32::MAX >> 3 permits.
        if !(1024 * 1024..=MAX_BUFFER_BYTES).contains(&self.buffer_bytes) {
            return Err(Error::Config(ConfigError::new(
                "producer: buffer bytes",
                format!("is {}, it must be in 1 MiB..=512 MiB", self.buffer_bytes),
            )));
        }
        self.retry.check()
    }
}
