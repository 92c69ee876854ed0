//! What dis-local's IAM issued, and the settings it issues by: the [`Issuer`] that the
//! handlers of `iam/` answer with and that `crate::auth` checks presented credentials against.

use std::time::{Duration, Instant, SystemTime};

use hyper::StatusCode;
use serde::Serialize;

use super::config::IamConfig;
use super::grants::{Grants, Key, Scope, format_utc, random_id};
use crate::answer::{Resp, json};
use crate::stats::Counters;

/// What was issued, and the settings it is issued by.
pub(crate) struct Issuer {
    pub(crate) config: IamConfig,
    pub(crate) tokens: Grants<Scope>,
    pub(crate) keys: Grants<Key>,
    pub(crate) sessions: Grants<()>,
    started: Instant,
}

impl Issuer {
    pub(crate) fn new(config: IamConfig) -> Issuer {
        Issuer {
            config,
            tokens: Grants::new(),
            keys: Grants::new(),
            sessions: Grants::new(),
            started: Instant::now(),
        }
    }

    /// True while the configured metadata outage lasts.
    pub(crate) fn metadata_down(&self) -> bool {
        self.config.metadata_outage.is_some_and(|(after, length)| {
            let t = self.started.elapsed();
            t >= after && t < after.saturating_add(length)
        })
    }

    /// When credentials issued `now` expire (any lifetime: past what a time can hold, the
    /// farthest time it can).
    pub(crate) fn expiry(&self, now: SystemTime) -> SystemTime {
        now.checked_add(self.config.lifetime)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
            .unwrap_or(now)
    }

    /// A new temporary AK/SK set, issued `now`, as the metadata service and pod identity
    /// answer it; counted in `stats`.
    pub(crate) fn issue_key(&self, now: SystemTime, stats: &Counters) -> Resp {
        let expires_at = self.expiry(now);
        let ak = random_id("LOCALAK", 13);
        let key = Key {
            sk: random_id("", 40),
            security_token: random_id("localST", 120),
        };
        if !self.keys.insert(ak.clone(), key.clone(), expires_at, now) {
            return full();
        }
        Counters::add(&stats.credentials_issued, 1);
        #[derive(Serialize)]
        struct Credential<'a> {
            access: &'a str,
            secret: &'a str,
            securitytoken: &'a str,
            expires_at: String,
        }
        #[derive(Serialize)]
        struct Body<'a> {
            credential: Credential<'a>,
        }
        let body = Body {
            credential: Credential {
                access: &ak,
                secret: &key.sk,
                securitytoken: &key.security_token,
                expires_at: format_utc(expires_at),
            },
        };
        json(
            StatusCode::OK,
            serde_json::to_vec(&body).unwrap_or_default(),
        )
    }
}

/// 503 when a grant table is full of valid grants.
pub(super) fn full() -> Resp {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many valid credentials issued; try again later",
    )
}

/// A plain-text answer (the metadata service's style).
pub(crate) fn text(status: StatusCode, body: &str) -> Resp {
    let mut resp = json(status, body.to_owned());
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_lifetime_and_outage_is_taken_without_a_panic() {
        for lifetime in [Duration::ZERO, Duration::from_secs(10), Duration::MAX] {
            let issuer = Issuer::new(IamConfig {
                lifetime,
                metadata: true,
                metadata_outage: Some((Duration::MAX, Duration::MAX)),
                ..IamConfig::default()
            });
            let now = SystemTime::now();
            assert!(issuer.expiry(now) >= now);
            assert!(!issuer.metadata_down());
        }
        let issuer = Issuer::new(IamConfig {
            metadata_outage: Some((Duration::ZERO, Duration::MAX)),
            ..IamConfig::default()
        });
        assert!(issuer.metadata_down());
    }
}
