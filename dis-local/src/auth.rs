//! Authentication: `X-Auth-Token`, and AK/SK signatures when an AK/SK pair is configured: the
//! v3 SDKs' `SDK-HMAC-SHA256 Access=...`, and the hand-written Python SDK's `SDK-HMAC-SHA256
//! Credential=...` and `V11-HMAC-SHA256 Credential=...`, all verified with the
//! `huaweicloud-sign` crate (`huaweicloud_sign` and `huaweicloud_sign::legacy`). With
//! `accept_any_signature`, any well-formed signature header passes unverified. Never puts a
//! credential into an answer or a log line.

use std::sync::Arc;

use hyper::http::request::Parts;

use crate::config::Clock;
use crate::iam::grants::{Presented, Scope};
use crate::iam::issuer::Issuer;

/// The authentication settings of a server.
pub(crate) struct AuthConfig {
    pub(crate) token: Option<String>,
    pub(crate) aksk: Option<(String, String)>,
    pub(crate) accept_token: bool,
    pub(crate) accept_any_signature: bool,
    pub(crate) clock: Clock,
    /// Credentials issued here (when IAM, metadata or pod identity is played): then only they,
    /// and the configured token and pair, are accepted.
    pub(crate) iam: Option<Arc<Issuer>>,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Denied {
    /// 401 with the API gateway's body (`APIGW.0301`).
    Gateway(&'static str),
    /// 441 with a DIS body (`DIS.4100` ..= `DIS.4112`).
    Signature(&'static str, &'static str),
    /// 401 with the API gateway's body: credentials issued here that have expired
    /// (`expired`), or that were never issued.
    Credential {
        code: &'static str,
        message: &'static str,
        expired: bool,
    },
    /// 400 with DIS's body (`DIS.4117`, "Invalid Project Id."): a token issued here for
    /// another project, or for the account, on a project's path.
    Project(String),
}

/// Who a request authenticated as, so far as the project it may act on goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Authorized {
    /// An IAM token issued here, with its scope.
    IssuedToken(Scope),
    /// Credentials not tied to a project here: the configured token, any token (without
    /// `--token`), a signature (the configured pair's, a temporary key issued here, or any
    /// with `accept_any_signature`).
    Unscoped,
}

impl Authorized {
    /// Checks that these credentials may act on `project` (the `{project_id}` of the path):
    /// an issued token only on its own project, as DIS answers a token whose project is not
    /// the path's (400 `DIS.4117`, "Invalid Project Id.").
    pub(crate) fn on_project(&self, project: &str) -> Result<(), Denied> {
        match self {
            Authorized::Unscoped => Ok(()),
            Authorized::IssuedToken(Scope::Project(id)) if id == project => Ok(()),
            Authorized::IssuedToken(Scope::Project(id)) => Err(Denied::Project(format!(
                "Invalid Project Id. The token is scoped to project {id}, not to project {project}."
            ))),
            Authorized::IssuedToken(Scope::Domain) => Err(Denied::Project(format!(
                "Invalid Project Id. The token is scoped to the account (domain), not to project {project}: \
                 DIS takes a token scoped to the project."
            ))),
        }
    }
}

/// An expired token, as the API gateway answers it.
const TOKEN_EXPIRED: Denied = Denied::Credential {
    code: "APIGW.0307",
    message: "The token must be updated.",
    expired: true,
};
/// A token never issued.
const TOKEN_UNKNOWN: Denied = Denied::Credential {
    code: "APIGW.0301",
    message: "Incorrect IAM authentication information: decrypt token fail",
    expired: false,
};
/// A temporary access key whose time is up.
const KEY_EXPIRED: Denied = Denied::Credential {
    code: "APIGW.0301",
    message: "Incorrect IAM authentication information: the security token has expired",
    expired: true,
};
/// A temporary access key never issued, or presented with another security token.
const KEY_UNKNOWN: Denied = Denied::Credential {
    code: "APIGW.0301",
    message: "Incorrect IAM authentication information: ak or security token not found",
    expired: false,
};

/// Compares without an early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a request's credentials. `body` is the raw HTTP body (signed requests hash it).
/// What passed says which projects it may act on ([`Authorized::on_project`]).
pub(crate) fn check(cfg: &AuthConfig, parts: &Parts, body: &[u8]) -> Result<Authorized, Denied> {
    let token = parts
        .headers
        .get("x-auth-token")
        .map(|v| v.as_bytes())
        .filter(|v| !v.is_empty());
    if let (Some(iam), Some(t), true) = (&cfg.iam, token, cfg.accept_token) {
        // Issued tokens only (and the configured one).
        let now = (cfg.clock)();
        return match iam.tokens.get(&String::from_utf8_lossy(t), now) {
            Presented::Valid(scope) => Ok(Authorized::IssuedToken(scope)),
            _ if cfg
                .token
                .as_ref()
                .is_some_and(|want| same(want.as_bytes(), t)) =>
            {
                Ok(Authorized::Unscoped)
            }
            Presented::Expired => Err(TOKEN_EXPIRED),
            Presented::Unknown => Err(TOKEN_UNKNOWN),
        };
    }
    let token_ok = cfg.accept_token
        && token.is_some_and(|t| {
            cfg.token
                .as_ref()
                .is_none_or(|want| same(want.as_bytes(), t))
        });
    if token_ok {
        return Ok(Authorized::Unscoped);
    }
    if cfg.accept_any_signature || cfg.aksk.is_some() || cfg.iam.is_some() {
        return signature::check(cfg, parts, body).map(|()| Authorized::Unscoped);
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
    use std::time::Duration;

    use huaweicloud_sign::legacy::{self, CredentialAuthorization};
    use huaweicloud_sign::{
        ParsedAuthorization, SignableRequest, is_well_formed_authorization, parse_authorization,
        parse_sdk_date, verify,
    };

    use super::{AuthConfig, Denied, KEY_EXPIRED, KEY_UNKNOWN, Parts, Presented, same};

    /// The signed date header (Huawei's `X-Sdk-Date`), as hyper spells header names.
    const SDK_DATE: &str = "x-sdk-date";

    /// Largest accepted distance between `X-Sdk-Date` and the server clock.
    const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

    fn deny(code: &'static str, message: &'static str) -> Result<(), Denied> {
        Err(Denied::Signature(code, message))
    }

    /// A signature header of one of the schemes verified here.
    enum Scheme {
        /// The v3 SDKs' `SDK-HMAC-SHA256 Access=...`.
        V3(ParsedAuthorization),
        /// The hand-written SDK's `SDK-HMAC-SHA256 Credential=...` or `V11-HMAC-SHA256
        /// Credential=...`.
        Credential(CredentialAuthorization),
    }

    impl Scheme {
        fn parse(value: &str) -> Option<Scheme> {
            parse_authorization(value)
                .map(Scheme::V3)
                .or_else(|| legacy::parse_authorization(value).map(Scheme::Credential))
        }

        fn access(&self) -> &str {
            match self {
                Scheme::V3(p) => &p.access,
                Scheme::Credential(c) => &c.access,
            }
        }

        fn signed_headers(&self) -> &[String] {
            match self {
                Scheme::V3(p) => &p.signed_headers,
                Scheme::Credential(c) => &c.signed_headers,
            }
        }
    }

    /// Checks the signature header: only its form with `accept_any_signature`; else the scheme,
    /// the access key, the `X-Sdk-Date` window, and the signature over method, path, query, the
    /// signed headers and the body.
    pub(super) fn check(cfg: &AuthConfig, parts: &Parts, body: &[u8]) -> Result<(), Denied> {
        let Some(value) = parts
            .headers
            .get("authorization")
            .filter(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace))
        else {
            return deny("DIS.4101", "Authorization header cannot be empty.");
        };
        let value = value.to_str().ok();
        if cfg.accept_any_signature {
            return if value.is_some_and(is_well_formed_authorization) {
                Ok(())
            } else {
                deny("DIS.4102", "Incorrectly parsed authorization header.")
            };
        }
        if cfg.aksk.is_none() && cfg.iam.is_none() {
            return deny("DIS.4107", "Invalid AccessKey header.");
        }
        let Some(scheme) = value.and_then(Scheme::parse) else {
            return deny("DIS.4102", "Incorrectly parsed authorization header.");
        };
        // The secret key: the configured pair's, else a temporary one issued here (which
        // must come with its own security token).
        let issued;
        let sk = match (&cfg.aksk, &cfg.iam) {
            (Some((ak, sk)), _) if scheme.access() == ak => sk.as_str(),
            (_, Some(iam)) if parts.headers.contains_key("x-security-token") => {
                match iam.keys.get(scheme.access(), (cfg.clock)()) {
                    Presented::Valid(key) => {
                        let presented = parts.headers.get("x-security-token").map(|v| v.as_bytes());
                        if !presented.is_some_and(|st| same(st, key.security_token.as_bytes())) {
                            return Err(KEY_UNKNOWN);
                        }
                        issued = key;
                        issued.sk.as_str()
                    }
                    Presented::Expired => return Err(KEY_EXPIRED),
                    Presented::Unknown => return Err(KEY_UNKNOWN),
                }
            }
            _ => return deny("DIS.4107", "Invalid AccessKey header."),
        };
        let Some(date) = parts.headers.get(SDK_DATE) else {
            return deny("DIS.4103", "Empty X-Sdk-Date header.");
        };
        let Some(date) = date.to_str().ok().and_then(|d| parse_sdk_date(d.trim())) else {
            return deny("DIS.4104", "Error parsing X-Sdk-Date header.");
        };
        let now = (cfg.clock)();
        let skew = now.duration_since(date).unwrap_or_else(|e| e.duration());
        if skew > MAX_SKEW {
            return deny(
                "DIS.4105",
                "Invalid X-Sdk-Date header: more than 15 minutes from the server time.",
            );
        }
        let signs = |name: &str| {
            scheme
                .signed_headers()
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
        };
        // Not `host`: Huawei's Go v3 SDK signs only the headers it sets (never `host`).
        if !signs(SDK_DATE) {
            return deny(
                "DIS.4110",
                "Empty Signature header: SignedHeaders must include x-sdk-date.",
            );
        }
        // Header values as text (invalid UTF-8 replaced), names as hyper spells them.
        let request = SignableRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
        };
        let verified = match &scheme {
            Scheme::V3(parsed) => verify(&request, parsed, sk),
            Scheme::Credential(auth) => legacy::verify(&request, auth, sk),
        };
        if verified {
            Ok(())
        } else {
            deny("DIS.4100", "Authorization error.")
        }
    }
}
