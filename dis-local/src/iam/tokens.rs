//! `POST /v3/auth/tokens`: IAM's password login. A configured user's name, password and
//! account (domain) name get a token (`X-Subject-Token`, 201) that lives the configured
//! lifetime (`token.expires_at`), scoped to the project asked for by id or by name, or to the
//! account ([`Scope`]): SendRecords takes a project's token on that project's path only. Anything else: IAM's error shape, `{"error":{"code","title","message"}}`.

use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::HeaderValue;
use serde_json::{Value, json};

use super::grants::{Scope, format_utc, random_id};
use super::issuer::{Issuer, full};
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
    let scope = if scope["project"].is_null() {
        // `auth.scope.domain`, or no scope: the account's token.
        Scope::Domain
    } else {
        let (id, name) = (
            scope["project"]["id"].as_str(),
            scope["project"]["name"].as_str(),
        );
        let projects = &issuer.config.projects;
        let found = match (id, name) {
            (Some(id), _) => projects.iter().find(|(_, pid)| pid == id),
            (None, Some(name)) => projects.iter().find(|(n, _)| n == name),
            (None, None) => None,
        };
        match (found, id) {
            (Some((_, pid)), _) => Scope::Project(pid.clone()),
            // With no projects configured, a project asked for by id is taken as it is.
            (None, Some(id)) if projects.is_empty() => Scope::Project(id.to_owned()),
            // A name that no configured project has (with none configured, no name resolves to
            // an id, and a token must be scoped to a project's id).
            _ => {
                return iam_error(StatusCode::BAD_REQUEST, "No such project for this account.");
            }
        }
    };
    let now = shared.now();
    let expires_at = issuer.expiry(now);
    let token = random_id("MIILOCAL", 200);
    if !issuer
        .tokens
        .insert(token.clone(), scope.clone(), expires_at, now)
    {
        return full();
    }
    Counters::add(&shared.stats.credentials_issued, 1);
    let mut body = json!({ "token": {
        "expires_at": format_utc(expires_at),
        "issued_at": format_utc(now),
        "methods": ["password"],
        "user": { "name": name, "domain": { "name": domain } },
    }});
    match &scope {
        Scope::Project(id) => body["token"]["project"] = json!({ "id": id }),
        Scope::Domain => body["token"]["domain"] = json!({ "name": domain }),
    }
    let mut resp = json_answer(StatusCode::CREATED, body.to_string());
    if let Ok(value) = HeaderValue::from_str(&token) {
        resp.headers_mut().insert("x-subject-token", value);
    }
    resp
}
