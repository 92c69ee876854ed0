//! The secret material of a set of credentials: [`Secret`] (an IAM token, or an access key
//! pair with its security token when temporary), its parts as named in code and in the
//! environment, and what can be wrong with one. How a set is put on a request is
//! `src/auth.rs`'s.
//!
//! Secrets are held in [`secrecy::SecretString`]: `Debug` prints `[REDACTED]` in their place.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// Environment variable for an IAM token (`X-Auth-Token`).
pub(crate) const ENV_TOKEN: &str = "DIS_AUTH_TOKEN";
/// Environment variable for the access key, as in Huawei's SDKs.
pub(crate) const ENV_AK: &str = "HUAWEICLOUD_SDK_AK";
/// Environment variable for the secret key, as in Huawei's SDKs.
pub(crate) const ENV_SK: &str = "HUAWEICLOUD_SDK_SK";
/// Environment variable for a temporary credential's security token, as in Huawei's SDKs.
pub(crate) const ENV_SECURITY_TOKEN: &str = "HUAWEICLOUD_SDK_SECURITY_TOKEN";

/// One set of credentials as it signs requests: an IAM token, or an access key pair (with a
/// security token when temporary). What a [`Credentials`](super::Credentials) yields, once or over time.
#[derive(Clone)]
pub(crate) enum Secret {
    Token(SecretString),
    AkSk {
        ak: String,
        sk: SecretString,
        security_token: Option<SecretString>,
    },
}

impl Secret {
    /// An IAM token.
    pub(crate) fn token(token: impl Into<String>) -> Self {
        Secret::Token(SecretString::from(token.into()))
    }

    /// An access key pair, with a security token when temporary.
    pub(crate) fn aksk(ak: impl Into<String>, sk: impl Into<String>, st: Option<String>) -> Self {
        Secret::AkSk {
            ak: ak.into(),
            sk: SecretString::from(sk.into()),
            security_token: st.map(SecretString::from),
        }
    }

    /// Checks that every part can go into a header as it is: not empty, printable ASCII
    /// without spaces, and an access key of letters, digits, `-` and `_` only (it is written
    /// into the `Authorization` header's structure). Returns the part and the problem.
    pub(crate) fn check(&self) -> Result<(), CredentialProblem> {
        fn visible(part: Part, value: &str) -> Result<(), CredentialProblem> {
            if value.is_empty() {
                return Err(CredentialProblem::new(part, "must not be empty"));
            }
            match value.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
                Some(at) => Err(CredentialProblem::new(
                    part,
                    format!(
                        "character {} is not printable ASCII (a space, a control character such as a trailing newline, or non-ASCII)",
                        at + 1
                    ),
                )),
                None => Ok(()),
            }
        }
        match self {
            Secret::Token(token) => visible(Part::Token, token.expose_secret()),
            Secret::AkSk {
                ak,
                sk,
                security_token,
            } => {
                visible(Part::Ak, ak)?;
                if let Some(at) = ak
                    .bytes()
                    .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
                {
                    return Err(CredentialProblem::new(
                        Part::Ak,
                        format!(
                            "character {} is not a letter, digit, - or _ (an access key goes into the Authorization header)",
                            at + 1
                        ),
                    ));
                }
                visible(Part::Sk, sk.expose_secret())?;
                match security_token {
                    Some(t) => visible(Part::SecurityToken, t.expose_secret()),
                    None => Ok(()),
                }
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Token(_) => f.write_str("Token([REDACTED])"),
            Secret::AkSk {
                ak, security_token, ..
            } => f
                .debug_struct("AkSk")
                .field("ak", ak)
                .field("sk", &"[REDACTED]")
                .field(
                    "security_token",
                    &security_token.as_ref().map(|_| "[REDACTED]"),
                )
                .finish(),
        }
    }
}

/// A part of a set of credentials, named as in code and as in the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Token,
    Ak,
    Sk,
    SecurityToken,
}

impl Part {
    /// Its name in code (`Credentials`' fields).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Part::Token => "token",
            Part::Ak => "ak",
            Part::Sk => "sk",
            Part::SecurityToken => "security_token",
        }
    }

    /// The environment variable [`Credentials::from_env`](super::Credentials::from_env) reads it from.
    pub(crate) fn env_var(self) -> &'static str {
        match self {
            Part::Token => ENV_TOKEN,
            Part::Ak => ENV_AK,
            Part::Sk => ENV_SK,
            Part::SecurityToken => ENV_SECURITY_TOKEN,
        }
    }
}

/// What is wrong with one part of a set of credentials (never its value).
#[derive(Debug, Clone)]
pub(crate) struct CredentialProblem {
    pub(crate) part: Part,
    pub(crate) problem: String,
}

impl CredentialProblem {
    fn new(part: Part, problem: impl Into<String>) -> Self {
        CredentialProblem {
            part,
            problem: problem.into(),
        }
    }
}
