//! `POST /pod-identity/credentials`: CCE pod identity. The `Authorization` header must be the
//! configured pod token; the answer is a temporary AK/SK set, as the metadata service's.

use hyper::body::Incoming;
use hyper::{Request, StatusCode};

use super::issuer::{Issuer, text};
use crate::answer::Resp;
use crate::state::Shared;

pub(super) fn answer(shared: &Shared, issuer: &Issuer, req: &Request<Incoming>) -> Resp {
    let presented = req
        .headers()
        .get("authorization")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let want = issuer.config.pod_token.as_deref().unwrap_or("").as_bytes();
    let same = presented.len() == want.len()
        && presented
            .iter()
            .zip(want)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same || want.is_empty() {
        return text(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: wrong pod identity token",
        );
    }
    issuer.issue_key(shared.now(), &shared.stats)
}
