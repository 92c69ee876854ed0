//! Credentials: an IAM token or an AK/SK pair, and where they come from.
//!
//! Secrets are held in [`secrecy::SecretString`]: `Debug` of every type here prints
//! `[REDACTED]` in their place, and they only leave it as a sensitive header value or as
//! the HMAC key of a signature.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// Environment variable for an IAM token (`X-Auth-Token`).
pub const ENV_TOKEN: &str = "DIS_AUTH_TOKEN";
/// Environment variable for the access key, as in Huawei's SDKs.
pub const ENV_AK: &str = "HUAWEICLOUD_SDK_AK";
/// Environment variable for the secret key, as in Huawei's SDKs.
pub const ENV_SK: &str = "HUAWEICLOUD_SDK_SK";
/// Environment variable for a temporary credential's security token, as in Huawei's SDKs.
pub const ENV_SECURITY_TOKEN: &str = "HUAWEICLOUD_SDK_SECURITY_TOKEN";

/// How requests are authenticated.
#[derive(Clone)]
pub enum Credentials {
    /// An IAM user token, sent as `X-Auth-Token`.
    Token(SecretString),
    /// An access key pair: every request is signed with `SDK-HMAC-SHA256`.
    AkSk {
        /// Access key ID (not secret: it is sent in the `Authorization` header).
        ak: String,
        /// Secret access key.
        sk: SecretString,
        /// Security token of temporary credentials, sent (and signed) as `X-Security-Token`.
        security_token: Option<SecretString>,
    },
    /// No credentials: for a local endpoint that does not check them.
    None,
}

impl Credentials {
    /// An IAM token.
    pub fn token(token: impl Into<String>) -> Self {
        Credentials::Token(SecretString::from(token.into()))
    }

    /// A permanent access key pair.
    pub fn aksk(ak: impl Into<String>, sk: impl Into<String>) -> Self {
        Credentials::AkSk {
            ak: ak.into(),
            sk: SecretString::from(sk.into()),
            security_token: None,
        }
    }

    /// A temporary access key pair with its security token.
    pub fn temporary(
        ak: impl Into<String>,
        sk: impl Into<String>,
        security_token: impl Into<String>,
    ) -> Self {
        Credentials::AkSk {
            ak: ak.into(),
            sk: SecretString::from(sk.into()),
            security_token: Some(SecretString::from(security_token.into())),
        }
    }

    /// Reads credentials from the environment: an AK/SK pair (`HUAWEICLOUD_SDK_AK`,
    /// `HUAWEICLOUD_SDK_SK`, optional `HUAWEICLOUD_SDK_SECURITY_TOKEN`) wins over a token
    /// (`DIS_AUTH_TOKEN`). Returns `Ok(None)` when none is set, and an error naming the
    /// missing variable when only part of a pair is set.
    pub fn from_env() -> Result<Option<Self>, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Credentials::from_env`] over any lookup function (for tests and custom sources).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let (ak, sk, st) = (get(ENV_AK), get(ENV_SK), get(ENV_SECURITY_TOKEN));
        match (ak, sk) {
            (Some(ak), Some(sk)) => Ok(Some(match st {
                Some(st) => Credentials::temporary(ak, sk, st),
                None => Credentials::aksk(ak, sk),
            })),
            (Some(_), None) => Err(Error::Config(format!(
                "{ENV_AK} is set but {ENV_SK} is not: both are needed for AK/SK signing"
            ))),
            (None, Some(_)) => Err(Error::Config(format!(
                "{ENV_SK} is set but {ENV_AK} is not: both are needed for AK/SK signing"
            ))),
            (None, None) if st.is_some() => Err(Error::Config(format!(
                "{ENV_SECURITY_TOKEN} is set but {ENV_AK} and {ENV_SK} are not: a security token needs its AK/SK pair"
            ))),
            (None, None) => Ok(get(ENV_TOKEN).map(Credentials::token)),
        }
    }

    /// The token, for the `X-Auth-Token` header.
    pub(crate) fn expose_token(&self) -> Option<&str> {
        match self {
            Credentials::Token(t) => Some(t.expose_secret()),
            _ => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token([REDACTED])"),
            Credentials::AkSk {
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
            Credentials::None => f.write_str("None"),
        }
    }
}

/// A clock, injectable so that tests can pin the signing date.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// What the generated client carries to authenticate each request (its "inner" value):
/// credentials, the project ID (`X-Project-Id` when signing) and a clock.
#[derive(Clone)]
pub struct Auth {
    pub(crate) credentials: Credentials,
    pub(crate) project_id: String,
    pub(crate) clock: Clock,
}

impl Auth {
    /// Credentials for requests to `project_id`, with the system clock.
    pub fn new(credentials: Credentials, project_id: impl Into<String>) -> Self {
        Auth {
            credentials,
            project_id: project_id.into(),
            clock: Arc::new(SystemTime::now),
        }
    }

    /// Replaces the clock used for `X-Sdk-Date` (tests pin it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("credentials", &self.credentials)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}
