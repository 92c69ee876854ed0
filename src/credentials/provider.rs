//! What every source of credentials implements: [`Provider`] gives one set of credentials
//! (with its expiry, when it has one) or says why it cannot.

use std::time::SystemTime;

use futures_util::future::BoxFuture;

use super::secret::Secret;
use crate::error::Cause;

/// One set of credentials, as a provider gave it.
pub(crate) struct Issued {
    pub(crate) secret: Secret,
    /// When they stop working; `None`: they do not expire (permanent AK/SK, a profile file).
    pub(crate) expires_at: Option<SystemTime>,
}

/// Why a provider gave nothing. The message names what was asked and what came back, never a
/// secret (no answer body is quoted: an error answer may echo what was sent).
#[derive(Debug, Clone)]
pub(crate) struct FetchError {
    pub(crate) message: String,
    pub(crate) source: Option<Cause>,
}

impl FetchError {
    pub(crate) fn new(message: impl Into<String>) -> FetchError {
        FetchError {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn caused_by(message: impl Into<String>, source: Cause) -> FetchError {
        FetchError {
            message: message.into(),
            source: Some(source),
        }
    }
}

/// A source of credentials.
pub(crate) trait Provider: Send + Sync + 'static {
    /// What it is, for errors: "IAM password token (POST https://iam.../v3/auth/tokens)".
    fn name(&self) -> String;

    /// Asks for a set of credentials. `project_id` is the client's (empty when unknown): an
    /// IAM token is scoped to it.
    fn fetch<'a>(&'a self, project_id: &'a str) -> BoxFuture<'a, Result<Issued, FetchError>>;
}
