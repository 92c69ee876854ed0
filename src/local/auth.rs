//! Authentication: `X-Auth-Token`, and `SDK-HMAC-SHA256` signatures when an AK/SK pair is
//! configured. Never puts a credential into an answer or a log line.

use hyper::http::request::Parts;

use super::Clock;

/// The authentication settings of a server.
pub(crate) struct AuthConfig {
    pub(crate) token: Option<String>,
    pub(crate) aksk: Option<(String, String)>,
    pub(crate) accept_token: bool,
    #[allow(dead_code)] // read by the signature check
    pub(crate) clock: Clock,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Denied {
    /// 401 with the API gateway's body (`APIGW.0301`).
    Gateway(&'static str),
    /// 441 with a DIS body (`DIS.4100` ..= `DIS.4112`).
    Signature(&'static str, &'static str),
}

/// Compares without an early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a request's credentials. `body` is the raw HTTP body (signed requests hash it).
pub(crate) fn check(cfg: &AuthConfig, parts: &Parts, body: &[u8]) -> Result<(), Denied> {
    let token = parts
        .headers
        .get("x-auth-token")
        .map(|v| v.as_bytes())
        .filter(|v| !v.is_empty());
    let token_ok = cfg.accept_token
        && token.is_some_and(|t| {
            cfg.token
                .as_ref()
                .is_none_or(|want| same(want.as_bytes(), t))
        });
    if token_ok {
        return Ok(());
    }
    if let Some((ak, sk)) = &cfg.aksk {
        return signature::check(cfg, parts, body, ak, sk);
    }
    Err(Denied::Gateway(match (token.is_some(), cfg.accept_token) {
        (_, false) => "Incorrect IAM authentication information: token authentication is disabled",
        (false, true) => "Incorrect IAM authentication information: x-auth-token not found",
        (true, true) => {
            "Incorrect IAM authentication information: verify aksk signature fail / token not accepted"
        }
    }))
}

mod signature {
    use super::{AuthConfig, Denied, Parts};

    /// Verifies an `SDK-HMAC-SHA256` signature (filled in once `crate::sign` offers verification).
    pub(super) fn check(
        _cfg: &AuthConfig,
        parts: &Parts,
        _body: &[u8],
        _ak: &str,
        _sk: &str,
    ) -> Result<(), Denied> {
        if parts.headers.get("authorization").is_none() {
            return Err(Denied::Signature(
                "DIS.4101",
                "Authorization header cannot be empty.",
            ));
        }
        Err(Denied::Signature("DIS.4100", "Authorization error."))
    }
}
