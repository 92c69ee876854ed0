//! The credentials dis-local issued, bounded: IAM tokens, metadata session tokens and
//! temporary AK/SK sets, each with its expiry, looked up when a request presents them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use huaweicloud_sign::civil_from_days;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Most grants of one kind kept; past it expired ones are dropped, then issuing is refused.
pub(crate) const MAX_GRANTS: usize = 100_000;

/// What a presented credential turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented<T> {
    Valid(T),
    Expired,
    Unknown,
}

/// What an IAM token issued here may be used on, as IAM's `auth.scope` asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// One project, by its id: SendRecords takes the token on `/v2/{that id}/records` only.
    Project(String),
    /// The account (`auth.scope.domain`, or no scope): a token for global services, which a
    /// project-level service such as DIS does not take.
    Domain,
}

/// A temporary AK/SK set.
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) sk: String,
    pub(crate) security_token: String,
}

/// Grants of one kind, by their public part (the token, or the access key).
pub(crate) struct Grants<T> {
    map: Mutex<HashMap<String, (T, SystemTime)>>,
}

impl<T: Clone> Grants<T> {
    pub(crate) fn new() -> Self {
        Grants {
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Keeps `value` under `id` until `expires_at`; false when the table is full of valid
    /// grants.
    pub(crate) fn insert(
        &self,
        id: String,
        value: T,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_GRANTS {
            map.retain(|_, (_, at)| *at > now);
            if map.len() >= MAX_GRANTS {
                return false;
            }
        }
        map.insert(id, (value, expires_at));
        true
    }

    pub(crate) fn get(&self, id: &str, now: SystemTime) -> Presented<T> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(id) {
            Some((value, at)) if *at > now => Presented::Valid(value.clone()),
            Some(_) => Presented::Expired,
            None => Presented::Unknown,
        }
    }
}

/// `len` random characters of `[A-Za-z0-9]`, after `prefix`.
pub(crate) fn random_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = SmallRng::from_os_rng();
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    out.extend((0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char));
    out
}

/// `at` as IAM and the metadata service write it: `2026-11-30T12:00:00.000000Z`.
pub(crate) fn format_utc(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_as_iam_does() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_704_164_645_123_456);
        assert_eq!(format_utc(at), "2024-01-02T03:04:05.123456Z");
        assert_eq!(
            format_utc(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000Z"
        );
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(format_utc(leap), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn grants_expire_and_stay_bounded() {
        let grants = Grants::new();
        let now = SystemTime::now();
        assert!(grants.insert("a".into(), 1, now + Duration::from_secs(5), now));
        assert_eq!(grants.get("a", now), Presented::Valid(1));
        assert_eq!(
            grants.get("a", now + Duration::from_secs(6)),
            Presented::Expired
        );
        assert_eq!(grants.get("b", now), Presented::Unknown);
        for i in 0..MAX_GRANTS {
            grants.insert(format!("x{i}"), 0, now + Duration::from_secs(1), now);
        }
        assert!(!grants.insert("full".into(), 0, now + Duration::from_secs(1), now));
        let later = now + Duration::from_secs(2);
        assert!(grants.insert("room".into(), 0, later + Duration::from_secs(1), later));
    }
}
