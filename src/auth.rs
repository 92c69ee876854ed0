//! How credentials are put on each request: a sensitive `X-Auth-Token` header, or an
//! `SDK-HMAC-SHA256` signature over the request as it stands. The credentials themselves (the
//! secret material, where it comes from, when it is refreshed) are `src/credentials/`'s.
//!
//! A secret only leaves its [`secrecy::SecretString`] here, as a sensitive header value or as
//! the HMAC key of a signature.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use huaweicloud_sign as sign;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::ExposeSecret;

use crate::credentials::{Credentials, Secret};
use crate::error::{Error, RequestError};

/// A clock, injectable so that tests can pin the signing date.
pub(crate) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// What authenticates each request of a client: the credentials (if any), the project ID
/// (`X-Project-Id` when signing) and the clock for `X-Sdk-Date`.
#[derive(Clone)]
pub(crate) struct Auth {
    credentials: Option<Credentials>,
    project_id: String,
    clock: Clock,
    /// Sign non-JSON bodies too (their SHA-256, not `UNSIGNED-PAYLOAD`).
    sign_every_body: bool,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("credentials", &self.credentials)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Credentials for requests to `project_id`, with `clock` (default: the system clock).
    pub(crate) fn new(
        credentials: Option<Credentials>,
        project_id: impl Into<String>,
        clock: Option<Clock>,
    ) -> Self {
        Auth {
            credentials,
            project_id: project_id.into(),
            clock: clock.unwrap_or_else(|| Arc::new(SystemTime::now)),
            sign_every_body: true,
        }
    }

    /// Signs non-JSON (protobuf) bodies too: see `DisClientBuilder::sign_every_body`.
    pub(crate) fn with_sign_every_body(mut self, sign: bool) -> Self {
        self.sign_every_body = sign;
        self
    }

    /// Adds the credentials to a request that is about to be sent: a sensitive
    /// `X-Auth-Token`, or the `SDK-HMAC-SHA256` headers over the request as it stands. Called
    /// on every try, so that every retry carries a fresh `X-Sdk-Date` and signature. Waits for
    /// credentials only when a provider has none that are still valid; returns which set of a
    /// provider's it used (for [`Auth::refused`]).
    pub(crate) async fn apply(&self, request: &mut reqwest::Request) -> Result<Option<u64>, Error> {
        let Some(credentials) = &self.credentials else {
            return Ok(None);
        };
        let (secret, generation) = credentials.current(&self.project_id).await?;
        self.apply_secret(&secret, request)?;
        Ok(generation)
    }

    /// True when a 401 is worth one refresh and one more try: the credentials come from a
    /// provider (static ones would be refused again).
    pub(crate) fn can_refresh(&self) -> bool {
        self.credentials
            .as_ref()
            .is_some_and(Credentials::refreshes)
    }

    /// DIS answered 401 to a request signed with the provider's set `generation`: that set is
    /// not used again, the next request waits for a new one.
    pub(crate) fn refused(&self, generation: u64) {
        if let Some(credentials) = &self.credentials {
            credentials.refused(generation);
        }
    }

    /// Puts one set of credentials on `request`.
    pub(crate) fn apply_secret(
        &self,
        secret: &Secret,
        request: &mut reqwest::Request,
    ) -> Result<(), RequestError> {
        apply_secret(
            secret,
            request,
            &self.project_id,
            (self.clock)(),
            self.sign_every_body,
        )
    }
}

/// Puts `secret` on `request`: a sensitive `X-Auth-Token`, or an `SDK-HMAC-SHA256` signature
/// (with `X-Project-Id` when `project_id` is not empty).
pub(crate) fn apply_secret(
    secret: &Secret,
    request: &mut reqwest::Request,
    project_id: &str,
    now: SystemTime,
    sign_every_body: bool,
) -> Result<(), RequestError> {
    match secret {
        Secret::Token(token) => {
            let mut value =
                HeaderValue::from_str(token.expose_secret()).map_err(|_| RequestError::Header {
                    header: "X-Auth-Token".into(),
                })?;
            value.set_sensitive(true);
            request
                .headers_mut()
                .insert(HeaderName::from_static("x-auth-token"), value);
            Ok(())
        }
        Secret::AkSk {
            ak,
            sk,
            security_token,
        } => sign_request(
            request,
            ak,
            sk.expose_secret(),
            security_token.as_ref().map(|t| t.expose_secret()),
            project_id,
            now,
            sign_every_body,
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
    now: SystemTime,
    sign_every_body: bool,
) -> Result<(), RequestError> {
    let url = request.url().clone();
    let host = sign::host_header(
        url.scheme(),
        url.host_str().ok_or(RequestError::NoHost)?,
        url.port(),
    );
    let invalid = |name: &str| RequestError::Header {
        header: name.to_owned(),
    };
    let headers = request.headers_mut();
    let mut put = |name: &str, value: &str, sensitive: bool| -> Result<(), RequestError> {
        let mut v = HeaderValue::from_str(value).map_err(|_| invalid(name))?;
        v.set_sensitive(sensitive);
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid(name))?;
        headers.insert(name, v);
        Ok(())
    };
    put("host", &host, false)?;
    put(sign::HEADER_SDK_DATE, &sign::format_sdk_date(now), false)?;
    if !project_id.is_empty() {
        put(sign::HEADER_PROJECT_ID, project_id, false)?;
    }
    if let Some(token) = security_token {
        put(sign::HEADER_SECURITY_TOKEN, token, true)?;
    }
    // As Huawei's v3 signer: a body that is not JSON (protobuf, say) is signed as
    // UNSIGNED-PAYLOAD, unless every body is to be signed (the verifier then hashes it, as for
    // JSON); a streamed body always is, as it cannot be hashed up front.
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let unsigned = (!sign_every_body && sign::needs_unsigned_payload(content_type))
        || request.body().is_some_and(|b| b.as_bytes().is_none());
    if unsigned {
        let name = HeaderName::from_bytes(sign::HEADER_CONTENT_SHA256.as_bytes())
            .map_err(|_| invalid(sign::HEADER_CONTENT_SHA256))?;
        request
            .headers_mut()
            .insert(name, HeaderValue::from_static(sign::UNSIGNED_PAYLOAD));
    }
    let mut signed_headers = Vec::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        let value = value.to_str().map_err(|_| invalid(name.as_str()))?;
        signed_headers.push((name.as_str().to_owned(), value.to_owned()));
    }
    let authorization = sign::sign(
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
    let authorization =
        HeaderValue::from_str(&authorization).map_err(|_| invalid(sign::HEADER_AUTHORIZATION))?;
    let name = HeaderName::from_bytes(sign::HEADER_AUTHORIZATION.as_bytes())
        .map_err(|_| invalid(sign::HEADER_AUTHORIZATION))?;
    request.headers_mut().insert(name, authorization);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROJECT: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn auth_headers_are_marked_sensitive() {
        for (secret, header, value) in [
            (
                Secret::token("SECRET-IAM-TOKEN"),
                "x-auth-token",
                "SECRET-IAM-TOKEN",
            ),
            (
                Secret::aksk("AKVISIBLE", "SECRET-SK", Some("SECRET-ST".into())),
                "x-security-token",
                "SECRET-ST",
            ),
        ] {
            let mut req = reqwest::Request::new(
                reqwest::Method::POST,
                "http://127.0.0.1:9/v2/p/records".parse().unwrap(),
            );
            apply_secret(&secret, &mut req, PROJECT, SystemTime::now(), false).unwrap();
            assert!(req.headers()[header].is_sensitive(), "{header}");
            assert_eq!(req.headers()[header], value);
            let debug = format!("{req:?} {secret:?}");
            assert!(!debug.contains(value), "{debug}");
            assert!(!debug.contains("SECRET-SK"), "{debug}");
        }
    }
}
