//! `GET /v3/projects?name=`: the configured projects of that name, for a request with an
//! issued, unexpired token or a valid signature (what IAM asks of Huawei's SDKs when they
//! look a project ID up).

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::json;

use super::issuer::Issuer;
use crate::answer::{Resp, dis_error, gateway_error, json};
use crate::auth::{self, Denied};
use crate::state::Shared;

pub(super) fn list(shared: &Shared, issuer: &Issuer, req: &Request<Incoming>) -> Resp {
    let (parts, ()) = clone_head(req);
    if let Err(denied) = auth::check(&shared.auth, &parts, b"") {
        return match denied {
            Denied::Gateway(message) => {
                gateway_error(StatusCode::UNAUTHORIZED, "APIGW.0301", message)
            }
            Denied::Credential { code, message, .. } => {
                gateway_error(StatusCode::UNAUTHORIZED, code, message)
            }
            Denied::Signature(code, message) => {
                gateway_error(StatusCode::UNAUTHORIZED, code, message)
            }
            // `check` leaves the project to SendRecords: never answered here.
            Denied::Project(message) => dis_error(StatusCode::BAD_REQUEST, "DIS.4117", &message),
        };
    }
    let name = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("name="));
    let projects: Vec<_> = issuer
        .config
        .projects
        .iter()
        .filter(|(n, _)| name.is_none_or(|want| want == n))
        .map(|(n, id)| json!({ "id": id, "name": n, "enabled": true }))
        .collect();
    json(
        StatusCode::OK,
        json!({ "projects": projects, "links": { "self": null } }).to_string(),
    )
}

/// The request's head, for the authentication check.
fn clone_head(req: &Request<Incoming>) -> (hyper::http::request::Parts, ()) {
    let mut builder = Request::builder()
        .method(req.method().clone())
        .uri(req.uri().clone());
    if let Some(headers) = builder.headers_mut() {
        *headers = req.headers().clone();
    }
    builder
        .body(())
        .map(Request::into_parts)
        .unwrap_or_else(|_| Request::new(()).into_parts())
}
