//! The ECS metadata service: `PUT /meta-data/latest/api/token` issues a session token (for
//! `X-Metadata-Token-Ttl-Seconds`, at most 6 hours); `GET /openstack/latest/securitykey`
//! issues a temporary AK/SK set, and wants a valid session token when one is presented (a
//! request without one is served, as Huawei's service does for clients that do not ask for
//! one). During a configured outage both answer 500.

use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::grants::{Presented, random_id};
use super::issuer::{Issuer, full, text};
use crate::answer::Resp;
use crate::state::Shared;

pub(crate) const TOKEN_PATH: &str = "/meta-data/latest/api/token";
pub(crate) const SECURITY_KEY_PATH: &str = "/openstack/latest/securitykey";
/// Longest session token lifetime granted.
const MAX_SESSION: Duration = Duration::from_secs(6 * 3600);

pub(super) fn answer(shared: &Shared, issuer: &Issuer, req: &Request<Incoming>) -> Resp {
    if issuer.metadata_down() {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error (injected outage)",
        );
    }
    let now = shared.now();
    if req.uri().path() == TOKEN_PATH {
        if req.method() != Method::PUT {
            return text(StatusCode::METHOD_NOT_ALLOWED, "use PUT");
        }
        let ttl = req
            .headers()
            .get("x-metadata-token-ttl-seconds")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&s| s >= 1);
        let Some(ttl) = ttl else {
            return text(
                StatusCode::BAD_REQUEST,
                "X-Metadata-Token-Ttl-Seconds: expected 1 to 21600 seconds",
            );
        };
        let ttl = Duration::from_secs(ttl).min(MAX_SESSION);
        let token = random_id("session", 40);
        let expires_at = now.checked_add(ttl).unwrap_or(now);
        if !issuer.sessions.insert(token.clone(), (), expires_at, now) {
            return full();
        }
        return text(StatusCode::OK, &token);
    }
    if req.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use GET");
    }
    if let Some(token) = req.headers().get("x-metadata-token") {
        let token = token.to_str().unwrap_or("");
        if !matches!(issuer.sessions.get(token, now), Presented::Valid(())) {
            return text(
                StatusCode::UNAUTHORIZED,
                "Unauthorized: the session token is invalid or expired",
            );
        }
    }
    issuer.issue_key(shared.now(), &shared.stats)
}
