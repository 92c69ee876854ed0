//! dis-local plays IAM, the ECS metadata service and CCE pod identity, so that credentials
//! that expire can be tested offline: it issues them ([`Issuer`]) on the paths below, for
//! the configured lifetime, and SendRecords accepts only what it issued and has not expired
//! (`crate::auth`).
//!
//! - `POST /v3/auth/tokens`: IAM's password login ([`tokens`]);
//! - `GET /v3/projects?name=`: IAM's project list ([`projects`]);
//! - `PUT /meta-data/latest/api/token`, `GET /openstack/latest/securitykey`: the metadata
//!   service ([`metadata`]);
//! - `POST /pod-identity/credentials`: pod identity ([`pod`]).
//!
//! Request bodies are read up to [`MAX_BODY_BYTES`] within the body read timeout.

pub(crate) mod config;
pub(crate) mod flags;
pub(crate) mod grants;
mod metadata;
mod pod;
mod projects;
mod tokens;

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::answer::{Resp, json};
use crate::state::Shared;
use crate::stats::Counters;
use config::IamConfig;
use grants::{Grants, Key, Scope, format_utc, random_id};

/// Largest request body read on these paths.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Path of pod identity's credentials.
pub const POD_IDENTITY_PATH: &str = "/pod-identity/credentials";

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

    /// A new temporary AK/SK set, as the metadata service and pod identity answer it.
    pub(crate) fn issue_key(&self, shared: &Shared) -> Resp {
        let now = (shared.auth.clock)();
        let expires_at = self.expiry(now);
        let ak = random_id("LOCALAK", 13);
        let key = Key {
            sk: random_id("", 40),
            security_token: random_id("localST", 120),
        };
        if !self.keys.insert(ak.clone(), key.clone(), expires_at, now) {
            return full();
        }
        Counters::add(&shared.stats.credentials_issued, 1);
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
fn full() -> Resp {
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

/// Answers `req` when it is for one of these paths; gives it back otherwise.
pub(crate) async fn route(
    shared: &Shared,
    req: Request<Incoming>,
) -> Result<Resp, Request<Incoming>> {
    let Some(issuer) = shared.auth.iam.as_ref() else {
        return Err(req);
    };
    let path = req.uri().path();
    let method = req.method().clone();
    match path {
        "/v3/auth/tokens" if !issuer.config.users.is_empty() => {
            if method != Method::POST {
                return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "use POST"));
            }
            let body = read_body(shared, req).await;
            Ok(tokens::issue(shared, issuer, body))
        }
        "/v3/projects" if !issuer.config.users.is_empty() || !issuer.config.projects.is_empty() => {
            Ok(projects::list(shared, issuer, &req))
        }
        metadata::TOKEN_PATH | metadata::SECURITY_KEY_PATH if issuer.config.metadata => {
            Ok(metadata::answer(shared, issuer, &req))
        }
        POD_IDENTITY_PATH if issuer.config.pod_token.is_some() => {
            if method != Method::POST {
                return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "use POST"));
            }
            Ok(pod::answer(shared, issuer, &req))
        }
        _ => Err(req),
    }
}

/// The body, at most [`MAX_BODY_BYTES`], within the body read timeout; `None` otherwise.
async fn read_body(shared: &Shared, req: Request<Incoming>) -> Option<Bytes> {
    let timeout: Duration = shared.conn_limits.body_read_timeout;
    let read = Limited::new(req.into_body(), MAX_BODY_BYTES).collect();
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(collected)) => Some(collected.to_bytes()),
        _ => None,
    }
}

/// "now" by the server's clock.
pub(crate) fn now(shared: &Shared) -> SystemTime {
    (shared.auth.clock)()
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
