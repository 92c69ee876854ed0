//! Write quotas per partition, DIS's traffic control: the token buckets that enforce the rates
//! of each stream's kind (`src/stream_kind.rs`) when quotas are on
//! ([`LocalConfig::with_quotas`](crate::LocalConfig::with_quotas)).
//!
//! Each partition has two buckets, one of records and one of bytes (decoded data length). They
//! start full, hold at most one second of their rate, and refill continuously at that rate. A
//! record is stored only when its partition's buckets hold one record and its bytes; it then
//! takes them. Otherwise it is answered `DIS.4303` "Exceeded traffic control limit." and takes
//! nothing (so a smaller record after it may still pass).
//!
//! The buckets of a stream sit behind one mutex, taken only inside the stream's own lock (while
//! records are routed and stored), so the order of checks is the order of storage.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::config::LocalConfig;
use crate::stream_kind::StreamKind;

/// A stream's rates, scaled, per second; also the capacity of its buckets (one second).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rates {
    records: f64,
    bytes: f64,
}

impl Rates {
    fn new(kind: StreamKind, scale: f64) -> Rates {
        Rates {
            records: kind.records_per_second() as f64 * scale,
            bytes: kind.bytes_per_second() as f64 * scale,
        }
    }
}

/// The buckets of one partition, and the records they refused.
#[derive(Debug)]
struct Buckets {
    records: f64,
    bytes: f64,
    /// When the buckets were last refilled.
    last: Instant,
    throttled: u64,
}

impl Buckets {
    /// Full buckets.
    fn full(rates: Rates, now: Instant) -> Buckets {
        Buckets {
            records: rates.records,
            bytes: rates.bytes,
            last: now,
            throttled: 0,
        }
    }

    /// Refills for the time since the last refill, up to one second's worth.
    fn refill(&mut self, rates: Rates, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        if dt > 0.0 {
            self.records = (self.records + dt * rates.records).min(rates.records);
            self.bytes = (self.bytes + dt * rates.bytes).min(rates.bytes);
            self.last = now;
        }
    }

    /// Takes one record of `bytes` bytes, or counts it throttled and takes nothing.
    fn admit(&mut self, rates: Rates, now: Instant, bytes: u32) -> bool {
        self.refill(rates, now);
        let bytes = f64::from(bytes);
        if self.records >= 1.0 && self.bytes >= bytes {
            self.records -= 1.0;
            self.bytes -= bytes;
            true
        } else {
            self.throttled += 1;
            false
        }
    }
}

struct StreamQuota {
    rates: Rates,
    partitions: Mutex<Vec<Buckets>>,
}

impl StreamQuota {
    fn lock(&self) -> MutexGuard<'_, Vec<Buckets>> {
        self.partitions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The quotas of all streams of one server: buckets per partition (checked only when quotas
/// are on) and the throttled records per partition.
pub(crate) struct Quotas {
    enabled: bool,
    streams: HashMap<String, StreamQuota>,
}

impl Quotas {
    /// The buckets of every stream, full. With quotas on, the scale is a positive finite
    /// number ([`LocalConfig::validate`] checked it).
    pub(crate) fn new(config: &LocalConfig) -> Quotas {
        let scale = config.quota_scale;
        let now = Instant::now();
        let streams = config
            .streams
            .iter()
            .map(|sc| {
                let rates = Rates::new(sc.kind, scale);
                let buckets = (0..sc.partitions)
                    .map(|_| Buckets::full(rates, now))
                    .collect();
                (
                    sc.name.clone(),
                    StreamQuota {
                        rates,
                        partitions: Mutex::new(buckets),
                    },
                )
            })
            .collect();
        Quotas {
            enabled: config.quotas,
            streams,
        }
    }

    /// The buckets of `stream`, locked, to check the records of one request; `None` when
    /// quotas are off (nothing to check). Call it with the stream's lock held.
    pub(crate) fn begin(&self, stream: &str) -> Option<QuotaCheck<'_>> {
        if !self.enabled {
            return None;
        }
        let quota = self.streams.get(stream)?;
        let partitions = quota.lock();
        Some(QuotaCheck {
            rates: quota.rates,
            partitions,
            // After the lock: the checks of a stream see time in order.
            now: Instant::now(),
        })
    }

    /// Gives `stream` full buckets for the partitions it has grown to (`partitions` in all).
    pub(crate) fn grow(&self, stream: &str, partitions: u32) {
        if let Some(quota) = self.streams.get(stream) {
            let now = Instant::now();
            let mut buckets = quota.lock();
            while (buckets.len() as u32) < partitions {
                buckets.push(Buckets::full(quota.rates, now));
            }
        }
    }

    /// Records throttled per partition of `stream` (zeros when quotas are off); `None` for an
    /// unknown stream.
    pub(crate) fn throttled(&self, stream: &str) -> Option<Vec<u64>> {
        let quota = self.streams.get(stream)?;
        Some(quota.lock().iter().map(|b| b.throttled).collect())
    }
}

/// The buckets of one stream, held while one request's records are stored.
pub(crate) struct QuotaCheck<'a> {
    rates: Rates,
    partitions: MutexGuard<'a, Vec<Buckets>>,
    now: Instant,
}

impl QuotaCheck<'_> {
    /// Whether a record of `bytes` decoded bytes routed to `partition` may be stored (it then
    /// takes its share of the buckets); when not, it is counted throttled.
    pub(crate) fn admit(&mut self, partition: u32, bytes: u32) -> bool {
        match self.partitions.get_mut(partition as usize) {
            Some(b) => b.admit(self.rates, self.now, bytes),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::StreamConfig;

    #[test]
    fn stream_config_kind() {
        let common = StreamConfig::new("s", 2);
        assert_eq!(common.kind, StreamKind::Common);
        let advanced = common.clone().with_kind(StreamKind::Advanced);
        assert_eq!(advanced.kind, StreamKind::Advanced);
        assert_ne!(common, advanced);

        let parse = |s: &str| s.parse::<StreamConfig>();
        assert_eq!(parse("s:2"), Ok(StreamConfig::new("s", 2)));
        assert_eq!(parse("s:2:common"), Ok(StreamConfig::new("s", 2)));
        assert_eq!(parse("s:2:advanced"), Ok(advanced));
        assert_eq!(
            parse("a:b:2:ADVANCED"),
            Ok(StreamConfig::new("a:b", 2).with_kind(StreamKind::Advanced))
        );
        // Names with a colon parse as names without a kind do.
        assert_eq!(parse("a:b:2"), Ok(StreamConfig::new("a:b", 2)));
        let err = parse("s:2:fast").unwrap_err().to_string();
        assert!(err.contains("unknown stream kind \"fast\""), "{err}");
        for bad in [
            "s",
            "s:0",
            ":3",
            "s:-1",
            "s:",
            "s:four",
            "s:common",
            ":2:common",
            "s:0:advanced",
            "s:2:",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_defaults_and_builders() {
        let d = LocalConfig::default();
        assert!(!d.quotas);
        assert_eq!(d.quota_scale, 1.0);
        let c = d.with_quotas(true).with_quota_scale(0.5);
        assert!(c.quotas);
        assert_eq!(c.quota_scale, 0.5);
        assert!(format!("{c:?}").contains("quota_scale: 0.5"));
    }

    #[test]
    fn buckets_start_full_and_hold_one_second() {
        let rates = Rates::new(StreamKind::Common, 0.01); // 10 records/s, 10,485.76 B/s
        assert_eq!(rates.records, 10.0);
        let t0 = Instant::now();
        let mut b = Buckets::full(rates, t0);
        let passed = (0..25).filter(|_| b.admit(rates, t0, 1)).count();
        assert_eq!((passed, b.throttled), (10, 15));
        // Long idle: refilled to one second's worth, not more.
        let later = t0 + Duration::from_secs(60);
        let passed = (0..25).filter(|_| b.admit(rates, later, 1)).count();
        assert_eq!(passed, 10);
    }

    #[test]
    fn buckets_refill_at_the_rate() {
        let rates = Rates::new(StreamKind::Advanced, 0.01); // 20 records/s
        let t0 = Instant::now();
        let mut b = Buckets::full(rates, t0);
        assert_eq!((0..20).filter(|_| b.admit(rates, t0, 0)).count(), 20);
        assert!(!b.admit(rates, t0, 0));
        // 0.25 s later: 5 records' worth.
        let t1 = t0 + Duration::from_millis(250);
        assert_eq!((0..20).filter(|_| b.admit(rates, t1, 0)).count(), 5);
        assert_eq!(b.throttled, 1 + 15);
    }

    #[test]
    fn bytes_limit_and_throttled_records_take_nothing() {
        let rates = Rates::new(StreamKind::Common, 0.01); // 10,485.76 bytes
        let t0 = Instant::now();
        let mut b = Buckets::full(rates, t0);
        assert!(b.admit(rates, t0, 4_000));
        assert!(b.admit(rates, t0, 4_000));
        // 2,485.76 bytes left: a 4,000-byte record is throttled and takes nothing...
        assert!(!b.admit(rates, t0, 4_000));
        // ... so a smaller one still fits.
        assert!(b.admit(rates, t0, 2_485));
        assert!(!b.admit(rates, t0, 1));
        // Zero-byte records need only the records bucket (7 left).
        assert_eq!((0..10).filter(|_| b.admit(rates, t0, 0)).count(), 7);
        assert_eq!(b.throttled, 1 + 1 + 3);
        // A record larger than one second of bytes never passes.
        let mut full = Buckets::full(rates, t0);
        assert!(!full.admit(rates, t0 + Duration::from_secs(10), 10_486));
    }

    #[test]
    fn quotas_per_stream_and_partition() {
        let config = LocalConfig::default()
            .with_streams([
                StreamConfig::new("c", 2),
                StreamConfig::new("a", 1).with_kind(StreamKind::Advanced),
            ])
            .with_quotas(true)
            .with_quota_scale(0.01);
        let q = Quotas::new(&config);
        {
            let mut check = q.begin("c").unwrap();
            assert_eq!((0..15).filter(|_| check.admit(0, 1)).count(), 10);
            assert_eq!((0..15).filter(|_| check.admit(1, 1)).count(), 10);
        }
        {
            let mut check = q.begin("a").unwrap();
            assert_eq!((0..30).filter(|_| check.admit(0, 1)).count(), 20);
        }
        assert_eq!(q.throttled("c"), Some(vec![5, 5]));
        assert_eq!(q.throttled("a"), Some(vec![10]));
        assert_eq!(q.throttled("nope"), None);
        assert!(q.begin("nope").is_none());

        // Off: nothing to check, counts are zeros.
        let off = Quotas::new(&config.with_quotas(false));
        assert!(off.begin("c").is_none());
        assert_eq!(off.throttled("c"), Some(vec![0, 0]));
    }
}
