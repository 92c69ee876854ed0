//! Request hooks of the generated client: authentication on every request (a sensitive
//! `X-Auth-Token`, or an `SDK-HMAC-SHA256` signature made afresh for every try), response
//! metadata for error reports, and tracing.

use std::cell::RefCell;

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use tracing::Instrument;

use crate::auth::{Auth, Credentials};
use crate::generated::Client;
use crate::sign;

/// Status and `X-Request-Id` of the last answer, kept for error reports: progenitor's
/// `InvalidResponsePayload` error drops both.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResponseMeta {
    pub status: Option<u16>,
    pub request_id: Option<String>,
    pub retry_after: Option<std::time::Duration>,
}

impl ResponseMeta {
    /// What the error reports need from an answer, read once from its head.
    fn of(response: &reqwest::Response) -> ResponseMeta {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        ResponseMeta {
            status: Some(response.status().as_u16()),
            request_id: header(REQUEST_ID),
            retry_after: header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(std::time::Duration::from_secs),
        }
    }
}

tokio::task_local! {
    pub(crate) static RESPONSE_META: RefCell<ResponseMeta>;
}

/// Header DIS uses to identify a request in its logs.
const REQUEST_ID: &str = "x-request-id";

impl ClientHooks<Auth> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        authenticate(self.inner(), request).map_err(Error::Custom)
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::debug_span!(
            "dis.http",
            operation = info.operation_id,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let result = self
            .client()
            .execute(request)
            .instrument(span.clone())
            .await;
        if let Ok(response) = &result {
            let meta = ResponseMeta::of(response);
            span.record("status", response.status().as_u16());
            if let Some(id) = &meta.request_id {
                span.record("request_id", id.as_str());
            }
            let _ = RESPONSE_META.try_with(|cell| *cell.borrow_mut() = meta);
        }
        result
    }
}

/// Adds the credentials to a request that is about to be sent: a sensitive `X-Auth-Token`,
/// or the `SDK-HMAC-SHA256` headers over the request as it stands. The generated client calls
/// it on every try; it is public for requests built by hand.
pub fn authenticate(auth: &Auth, request: &mut reqwest::Request) -> Result<(), String> {
    match &auth.credentials {
        Credentials::None => Ok(()),
        Credentials::Token(_) => {
            let token = auth.credentials.expose_token().unwrap_or_default();
            let mut value = HeaderValue::from_str(token)
                .map_err(|_| "X-Auth-Token: the token is not a valid header value".to_owned())?;
            value.set_sensitive(true);
            request
                .headers_mut()
                .insert(HeaderName::from_static("x-auth-token"), value);
            Ok(())
        }
        Credentials::AkSk {
            ak,
            sk,
            security_token,
        } => sign_request(
            request,
            ak,
            sk.expose_secret(),
            security_token.as_ref().map(|t| t.expose_secret()),
            &auth.project_id,
            (auth.clock)(),
        ),
    }
}

/// Signs `request` as it will go on the wire, with `SDK-HMAC-SHA256`.
fn sign_request(
    request: &mut reqwest::Request,
    ak: &str,
    sk: &str,
    security_token: Option<&str>,
    project_id: &str,
    now: std::time::SystemTime,
) -> Result<(), String> {
    let url = request.url().clone();
    let host = sign::host_header(
        url.scheme(),
        url.host_str().ok_or("the endpoint URL has no host")?,
        url.port(),
    );
    let headers = request.headers_mut();
    let mut put = |name: &'static str, value: &str, sensitive: bool| -> Result<(), String> {
        let mut v = HeaderValue::from_str(value).map_err(|_| format!("{name}: invalid value"))?;
        v.set_sensitive(sensitive);
        headers.insert(HeaderName::from_static(name), v);
        Ok(())
    };
    put("host", &host, false)?;
    put("x-sdk-date", &sign::format_sdk_date(now), false)?;
    if !project_id.is_empty() {
        put("x-project-id", project_id, false)?;
    }
    if let Some(token) = security_token {
        put("x-security-token", token, true)?;
    }
    // A streamed body cannot be hashed up front: sign it as UNSIGNED-PAYLOAD.
    if request.body().is_some_and(|b| b.as_bytes().is_none()) {
        request.headers_mut().insert(
            HeaderName::from_static("x-sdk-content-sha256"),
            HeaderValue::from_static(sign::UNSIGNED_PAYLOAD),
        );
    }
    let mut signed_headers = Vec::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        let value = value
            .to_str()
            .map_err(|_| format!("header {name}: not printable ASCII, cannot be signed"))?;
        signed_headers.push((name.as_str().to_owned(), value.to_owned()));
    }
    let parts = sign::sign(
        &sign::SignableRequest {
            method: request.method().as_str(),
            path: url.path(),
            query: url.query().unwrap_or(""),
            headers: signed_headers,
            body: request.body().and_then(|b| b.as_bytes()).unwrap_or(&[]),
        },
        ak,
        sk,
    );
    let authorization = HeaderValue::from_str(&parts.authorization)
        .map_err(|_| "Authorization: invalid value".to_owned())?;
    request
        .headers_mut()
        .insert(reqwest::header::AUTHORIZATION, authorization);
    Ok(())
}
