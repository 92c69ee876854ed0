//! How the producer batches, sends and retries.

use std::time::Duration;

use rand::Rng;

use crate::body::BodyFormat;
use crate::error::Error;

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
            retryable_codes: vec!["DIS.4303".into(), "DIS.5*".into()],
            retry_ambiguous: false,
        }
    }
}

impl RetryPolicy {
    /// Tries per record, the first included (at least 1).
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
        let bad = |m: &str| Err(Error::Config(format!("retry policy: {m}")));
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
}

impl Default for ProducerConfig {
    /// 4 requests in flight, 20 ms linger, the default [`RetryPolicy`], no key order, JSON
    /// bodies.
    fn default() -> Self {
        ProducerConfig {
            max_in_flight: 4,
            linger: Duration::from_millis(20),
            retry: RetryPolicy::default(),
            order_by_key: false,
            body_format: BodyFormat::Json,
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

    /// Keeps records of one `partition_key` in order across requests: no two requests in
    /// flight carry the same key (default off). Caveat: a record retried on its own (for
    /// example after `DIS.4303` throttling) lands after the later records of its key that were
    /// stored by the same request.
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

    /// Checks every setting against a bound, so that none can panic or exhaust memory later.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if !(1..=MAX_IN_FLIGHT_BOUND).contains(&self.max_in_flight) {
            return Err(Error::Config(format!(
                "producer: max_in_flight is {}, it must be in 1..={MAX_IN_FLIGHT_BOUND}",
                self.max_in_flight
            )));
        }
        if self.linger > MAX_LINGER {
            return Err(Error::Config(format!(
                "producer: linger is {:?}, it must be at most {MAX_LINGER:?}",
                self.linger
            )));
        }
        self.retry.check()
    }
}
