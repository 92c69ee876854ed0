//! `POST /v3/auth/tokens`: IAM's password login. A configured user's name, password and
//! account (domain) name get a token (`X-Subject-Token`, 201) that lives the configured
//! lifetime (`token.expires_at`), scoped to the project asked for by id or by name, or to the
//! account. Anything else: IAM's error shape, `{"error":{"code","title","message"}}`.

use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::HeaderValue;
use serde_json::{Value, json};

use super::grants::{format_utc, random_id};
use super::{Issuer, full, now};
use crate::answer::{Resp, json as json_answer};
use crate::state::Shared;
use crate::stats::Counters;

fn iam_error(status: StatusCode, message: &str) -> Resp {
    let body = json!({ "error": {
        "code": status.as_u16(),
        "title": status.canonical_reason().unwrap_or(""),
        "message": message,
    }});
    json_answer(status, body.to_string())
}

/// Compares without an early exit on the first differing byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub(super) fn issue(shared: &Shared, issuer: &Issuer, body: Option<Bytes>) -> Resp {
    let Some(body) = body else {
        return iam_error(
            StatusCode::BAD_REQUEST,
            "The request body is too large, incomplete or late.",
        );
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return iam_error(StatusCode::BAD_REQUEST, "The request body is not JSON.");
    };
    let identity = &v["auth"]["identity"];
    let user = &identity["password"]["user"];
    let (Some(name), Some(password), Some(domain)) = (
        user["name"].as_str(),
        user["password"].as_str(),
        user["domain"]["name"].as_str(),
    ) else {
        return iam_error(
            StatusCode::BAD_REQUEST,
            "Expected auth.identity.password.user with name, password and domain.name.",
        );
    };
    let known = issuer
        .config
        .users
        .iter()
        .any(|u| same(&u.name, name) & same(&u.domain, domain) & same(&u.password, password));
    if !known {
        return iam_error(
            StatusCode::UNAUTHORIZED,
            "The username or password is wrong.",
        );
    }
    let scope = &v["auth"]["scope"];
    let project = match (
        scope["project"]["id"].as_str(),
        scope["project"]["name"].as_str(),
    ) {
        (Some(id), _) => issuer.config.projects.iter().find(|(_, pid)| pid == id),
        (None, Some(name)) => issuer.config.projects.iter().find(|(n, _)| n == name),
        (None, None) => None,
    };
    let asked_for_project = !scope["project"].is_null();
    if asked_for_project && project.is_none() && !issuer.config.projects.is_empty() {
        return iam_error(StatusCode::BAD_REQUEST, "No such project for this account.");
    }
    // With no projects configured, any project asked for by id is taken as it is.
    let project_id = project
        .map(|(_, id)| id.clone())
        .or_else(|| scope["project"]["id"].as_str().map(str::to_owned));
    let now = now(shared);
    let expires_at = issuer.expiry(now);
    let token = random_id("MIILOCAL", 200);
    if !issuer
        .tokens
        .insert(token.clone(), project_id.clone(), expires_at, now)
    {
        return full();
    }
    Counters::add(&shared.stats.credentials_issued, 1);
    let body = json!({ "token": {
        "expires_at": format_utc(expires_at),
        "issued_at": format_utc(now),
        "methods": ["password"],
        "user": { "name": name, "domain": { "name": domain } },
        "project": project_id.as_ref().map(|id| json!({ "id": id })),
    }});
    let mut resp = json_answer(StatusCode::CREATED, body.to_string());
    if let Ok(value) = HeaderValue::from_str(&token) {
        resp.headers_mut().insert("x-subject-token", value);
    }
    resp
}
