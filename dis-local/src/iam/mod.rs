//! dis-local plays IAM, the ECS metadata service and CCE pod identity, so that credentials
//! that expire can be tested offline: it issues them ([`Issuer`](issuer::Issuer)) on the paths below, for
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
pub(crate) mod issuer;
mod metadata;
mod pod;
mod projects;
mod tokens;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use crate::answer::Resp;
use crate::state::Shared;
use issuer::text;

/// Largest request body read on these paths.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Path of pod identity's credentials.
pub const POD_IDENTITY_PATH: &str = "/pod-identity/credentials";

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
