//! HTTP to credential sources (IAM, the metadata service, pod identity), bounded: at most
//! [`MAX_ANSWER_BYTES`] of an answer are read, a connection takes at most
//! [`CONNECT_TIMEOUT`] and a whole exchange [`EXCHANGE_TIMEOUT`]; no redirect is followed. And
//! what those answers hold: a temporary AK/SK set, read from its JSON with every field checked.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use super::provider::{FetchError, Issued};
use super::secret::Secret;
use super::time::parse_utc;
use crate::endpoint;
use crate::error::{ConfigError, Error};

/// Largest answer read from a credential source: a temporary AK/SK set or a token answer is
/// a few KiB; past this the answer is refused, not read further.
pub(crate) const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Longest a connection to a credential source may take (the metadata address does not
/// answer at all off the cloud).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest one exchange with a credential source may take, answer included.
pub(crate) const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// An answer, read within [`MAX_ANSWER_BYTES`].
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// The HTTP client every credential source shares.
pub(crate) fn client() -> Result<reqwest::Client, FetchError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            endpoint::ensure_crypto_provider();
            reqwest::Client::builder()
                .timeout(EXCHANGE_TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("dis-records/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| FetchError::new(format!("cannot build the HTTP client: {e}")))
}

/// Sends `request` and reads its answer within the bounds; `what` names the exchange in errors.
pub(crate) async fn exchange(request: reqwest::Request, what: &str) -> Result<Reply, FetchError> {
    let client = client()?;
    let read = async {
        let mut response = client.execute(request).await?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Ok(Err(status));
            }
            body.extend_from_slice(&chunk);
        }
        Ok::<_, reqwest::Error>(Ok(Reply {
            status,
            headers: std::mem::take(response.headers_mut()),
            body,
        }))
    };
    match tokio::time::timeout(EXCHANGE_TIMEOUT + CONNECT_TIMEOUT, read).await {
        Err(_) => Err(FetchError::new(format!(
            "{what}: no whole answer within {} s",
            (EXCHANGE_TIMEOUT + CONNECT_TIMEOUT).as_secs()
        ))),
        Ok(Err(e)) => {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "failed"
            };
            Err(FetchError::caused_by(
                format!("{what}: {kind}"),
                Arc::new(e.without_url()),
            ))
        }
        Ok(Ok(Err(status))) => Err(FetchError::new(format!(
            "{what}: HTTP {status} with an answer larger than {MAX_ANSWER_BYTES} bytes, not read further"
        ))),
        Ok(Ok(Ok(reply))) => Ok(reply),
    }
}

/// Longest error code shown.
const MAX_ERROR_CODE_LEN: usize = 24;

/// What an error answer of a credential source says, for messages: its status, its error code
/// when the body has a shape known to carry one (IAM's `{"error": {"code": ..}}`, the API
/// gateway's `{"error_code": ..}`) and the code looks like one (`IAM.0011`, `APIGW.0301`, a
/// number), and the body's length. The body itself is never quoted, its messages included: a
/// proxy's or IAM's error page may echo the request, and with it the password or token sent.
pub(crate) fn error_summary(status: u16, body: &[u8]) -> String {
    if body.iter().all(u8::is_ascii_whitespace) {
        return format!("HTTP {status} (empty body)");
    }
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            let code = value
                .get("error")
                .and_then(|e| e.get("code"))
                .or_else(|| value.get("error_code"))?;
            match code {
                serde_json::Value::Number(n) if n.is_u64() => Some(n.to_string()),
                serde_json::Value::String(s) if looks_like_a_code(s) => Some(s.clone()),
                _ => None,
            }
        });
    let length = body.len();
    match code {
        Some(code) => format!("HTTP {status} (error code {code}; {length}-byte body, not quoted)"),
        None => format!("HTTP {status} ({length}-byte body, not quoted)"),
    }
}

/// An error code such as `IAM.0011` or `APIGW.0301`: letters, a dot, digits.
fn looks_like_a_code(code: &str) -> bool {
    let Some((service, number)) = code.split_once('.') else {
        return false;
    };
    code.len() <= MAX_ERROR_CODE_LEN
        && !service.is_empty()
        && service.bytes().all(|b| b.is_ascii_alphabetic())
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// A base URL given in `setting` (`http(s)://host[:port][/path]`, no query, no user), without
/// a trailing `/`.
pub(crate) fn base_url(setting: &str, value: &str) -> Result<String, Error> {
    if !value.contains("://") {
        return Err(Error::Config(ConfigError::new(
            setting,
            format!("{value:?}: expected an http(s):// URL"),
        )));
    }
    endpoint::endpoint_url(value).map_err(|e| match e {
        Error::Config(c) => Error::Config(ConfigError {
            setting: setting.to_owned(),
            ..c
        }),
        e => e,
    })
}

/// Reads a temporary AK/SK set as Huawei's metadata service and pod identity answer it:
/// `{"credential": {"access", "secret", "securitytoken", "expires_at"}}` (or `credentials`, or
/// the fields at the top; the other spellings Huawei's SDK reads too). Every field must be a
/// string that can go into a header; the expiry must be in the future. Errors name the field,
/// never its value.
pub(crate) fn temporary_credentials(body: &[u8], what: &str) -> Result<Issued, FetchError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        FetchError::new(format!(
            "{what}: the answer is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let fields = value
        .get("credential")
        .or_else(|| value.get("credentials"))
        .unwrap_or(&value);
    if !fields.is_object() {
        return Err(FetchError::new(format!(
            "{what}: the answer's credential is not a JSON object"
        )));
    }
    let text = |names: &[&str]| -> Result<String, FetchError> {
        for name in names {
            match fields.get(name) {
                Some(serde_json::Value::String(s)) => return Ok(s.clone()),
                Some(serde_json::Value::Null) | None => continue,
                Some(_) => {
                    return Err(FetchError::new(format!(
                        "{what}: the answer's {name} is not a string"
                    )));
                }
            }
        }
        Err(FetchError::new(format!(
            "{what}: the answer has no {}",
            names[0]
        )))
    };
    let access = text(&["access", "accessKeyId", "access_key_id"])?;
    let secret = text(&["secret", "secretAccessKey", "secret_access_key"])?;
    let token = text(&["securitytoken", "securityToken", "security_token"])?;
    let expires = text(&["expires_at", "expiration"])?;
    let expires_at = expiry(&expires, what)?;
    let secret = Secret::aksk(access, secret, Some(token));
    checked(secret, what).map(|secret| Issued {
        secret,
        expires_at: Some(expires_at),
    })
}

/// An expiry time, which must be in the future.
pub(crate) fn expiry(text: &str, what: &str) -> Result<SystemTime, FetchError> {
    let Some(at) = parse_utc(text) else {
        return Err(FetchError::new(format!(
            "{what}: expires_at is not a UTC time such as 2026-11-30T12:00:00.000000Z"
        )));
    };
    if at <= SystemTime::now() {
        return Err(FetchError::new(format!(
            "{what}: the credentials answered have already expired (expires_at {})",
            text.trim()
        )));
    }
    Ok(at)
}

/// `secret`, when every part can go into a header.
pub(crate) fn checked(secret: Secret, what: &str) -> Result<Secret, FetchError> {
    match secret.check() {
        Ok(()) => Ok(secret),
        Err(p) => Err(FetchError::new(format!(
            "{what}: the answer's {} {}",
            p.part.name(),
            p.problem
        ))),
    }
}
