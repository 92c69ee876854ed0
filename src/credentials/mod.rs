//! Credentials over time: [`Credentials`] yields the set a request is signed with. Static
//! ones (a token, a permanent or temporary AK/SK pair) yield the same set for ever; the
//! providers (an IAM password login, the ECS metadata service, pod identity, the default
//! chain) yield sets that expire, refreshed before they do (`refresh.rs`). One provider per
//! file; `fetch.rs` bounds everything read from a credential source over HTTP, `file.rs`
//! every file read for credentials, `secret.rs` holds the secret material itself.
//!
//! The constructors that read the environment (`env.rs`), walk the default chain
//! (`chain.rs`) and look up a project ID (`project.rs`) are written beside what they use, in
//! `impl Credentials` blocks of their own, so that the imports between these files run one
//! way: to this file, never back.

mod chain;
mod env;
mod fetch;
mod file;
mod metadata;
mod password;
mod pod;
mod profile;
mod project;
mod provider;
mod refresh;
mod secret;
mod time;

pub(crate) use secret::{CredentialProblem, Secret};

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use secrecy::SecretString;

use crate::error::{ConfigError, Error};
use provider::Provider;
use refresh::Refresher;

/// How requests are authenticated: an IAM token, or an access key pair whose secret key signs
/// every request, given once or obtained over time from a provider. A client built without
/// credentials sends none (for a local endpoint that does not check them).
///
/// Credentials from a provider are refreshed before they expire (when less than half their
/// lifetime, at most 40 minutes, is left), one refresh at a time, in the background: requests
/// keep signing with the current set meanwhile. A failed refresh is retried with backoff;
/// once the set has expired, requests fail with [`Error::Credentials`] (nothing sent), which
/// the [`Producer`](crate::Producer) treats like throttling: its records wait until their
/// deadline. A request refused with 401 is sent once more with a new set.
///
/// Clones share the provider, its current set and the project IDs looked up.
#[derive(Clone)]
pub struct Credentials {
    source: Source,
    /// Project IDs looked up per region ([`Credentials::project_id_for_region`]).
    projects: Arc<Mutex<HashMap<String, String>>>,
}

#[derive(Clone)]
enum Source {
    Static(Arc<Secret>),
    Provided(Arc<Refresher>),
}

impl Credentials {
    fn from_secret(secret: Secret) -> Self {
        Credentials {
            source: Source::Static(Arc::new(secret)),
            projects: Arc::default(),
        }
    }

    fn from_provider(provider: impl Provider) -> Self {
        Credentials {
            source: Source::Provided(Arc::new(Refresher::new(Box::new(provider)))),
            projects: Arc::default(),
        }
    }

    /// An IAM user token, sent as the sensitive header `X-Auth-Token`.
    pub fn token(token: impl Into<String>) -> Self {
        Self::from_secret(Secret::token(token))
    }

    /// A permanent access key pair: every request is signed with `SDK-HMAC-SHA256`.
    pub fn aksk(ak: impl Into<String>, sk: impl Into<String>) -> Self {
        Self::from_secret(Secret::aksk(ak, sk, None))
    }

    /// A temporary access key pair with its security token (sent and signed as
    /// `X-Security-Token`).
    pub fn temporary(
        ak: impl Into<String>,
        sk: impl Into<String>,
        security_token: impl Into<String>,
    ) -> Self {
        Self::from_secret(Secret::aksk(ak, sk, Some(security_token.into())))
    }

    /// An IAM user token obtained with a password: `POST {iam_endpoint}/v3/auth/tokens` for
    /// user `user` of account `domain`, scoped to the client's project; refreshed before it
    /// expires. `iam_endpoint` is a URL such as `https://iam.myhuaweicloud.com`.
    pub fn iam_password(
        iam_endpoint: impl Into<String>,
        domain: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<Self, Error> {
        let iam = fetch::base_url("iam endpoint", &iam_endpoint.into())?;
        let (domain, user) = (domain.into(), user.into());
        for (setting, value) in [("iam domain", &domain), ("iam user", &user)] {
            if value.is_empty() || value.len() > 255 || value.chars().any(char::is_control) {
                return Err(Error::Config(ConfigError::new(
                    setting,
                    "expected 1 to 255 bytes without control characters",
                )));
            }
        }
        Ok(Self::from_provider(password::Password {
            iam,
            domain,
            user,
            password: SecretString::from(password.into()),
        }))
    }

    /// Temporary AK/SK from the ECS metadata service of the server this runs on (an agency
    /// must be attached to it): at `DIS_METADATA_ENDPOINT` when set, else
    /// `http://169.254.169.254`. Refreshed before they expire.
    pub fn ecs_metadata() -> Result<Self, Error> {
        let endpoint = std::env::var(metadata::ENV_ENDPOINT)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| metadata::DEFAULT_ENDPOINT.to_owned());
        Self::ecs_metadata_at(&endpoint)
    }

    /// [`Credentials::ecs_metadata`] at `endpoint` (a URL).
    pub fn ecs_metadata_at(endpoint: &str) -> Result<Self, Error> {
        let endpoint = fetch::base_url(metadata::ENV_ENDPOINT, endpoint.trim())?;
        Ok(Self::from_provider(metadata::Metadata::new(endpoint)))
    }

    /// Temporary AK/SK from CCE pod identity: `POST $HC_CONTAINER_CREDENTIALS_FULL_URI` with
    /// the token in `$HC_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at every refresh).
    /// Refreshed before they expire. An error names the variable that is not set.
    pub fn pod_identity() -> Result<Self, Error> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let uri = get(pod::ENV_URI).ok_or_else(|| {
            Error::Config(ConfigError::new(pod::ENV_URI, "not set (pod identity)"))
        })?;
        let file = get(pod::ENV_TOKEN_FILE).ok_or_else(|| {
            Error::Config(ConfigError::new(
                pod::ENV_TOKEN_FILE,
                "not set (pod identity)",
            ))
        })?;
        Self::pod_identity_at(&uri, file)
    }

    /// [`Credentials::pod_identity`] at `uri`, with the token in `token_file`.
    pub fn pod_identity_at(uri: &str, token_file: impl Into<PathBuf>) -> Result<Self, Error> {
        let parsed = reqwest::Url::parse(uri.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        let Some(parsed) = parsed else {
            return Err(Error::Config(ConfigError::new(
                pod::ENV_URI,
                format!("{uri:?}: expected an http(s):// URL"),
            )));
        };
        Ok(Self::from_provider(pod::PodIdentity {
            uri: parsed.to_string(),
            token_file: token_file.into(),
        }))
    }

    /// The AK/SK pair of the profile file: `$HUAWEICLOUD_SDK_CREDENTIALS_FILE`, else
    /// `~/.huaweicloud/credentials` (section `[basic]`, keys `ak`, `sk`, `security_token`),
    /// read when first needed.
    pub fn profile_file() -> Self {
        Self::from_provider(profile::Profile::from_env(&|n| std::env::var(n).ok()))
    }

    /// Obtains credentials now, if they come from a provider and none are held (static
    /// credentials are always ready): to fail early, with the provider's reason, instead of
    /// at the first request.
    pub async fn ready(&self) -> Result<(), Error> {
        self.current("").await.map(|_| ())
    }

    /// The set to sign with now, and its generation (`None` for static credentials).
    pub(crate) async fn current(
        &self,
        project_id: &str,
    ) -> Result<(Arc<Secret>, Option<u64>), Error> {
        match &self.source {
            Source::Static(secret) => Ok((secret.clone(), None)),
            Source::Provided(refresher) => refresher
                .current(project_id)
                .await
                .map(|(secret, generation)| (secret, Some(generation))),
        }
    }

    /// True when they come from a provider (a 401 is worth a new set).
    pub(crate) fn refreshes(&self) -> bool {
        matches!(self.source, Source::Provided(_))
    }

    /// DIS refused set `generation` with 401.
    pub(crate) fn refused(&self, generation: u64) {
        if let Source::Provided(refresher) = &self.source {
            refresher.refused(generation);
        }
    }

    /// Static credentials' problem, if any (a provider's are checked as they arrive).
    pub(crate) fn check(&self) -> Result<(), CredentialProblem> {
        match &self.source {
            Source::Static(secret) => secret.check(),
            Source::Provided(_) => Ok(()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Static(secret) => fmt::Debug::fmt(secret, f),
            Source::Provided(refresher) => f
                .debug_struct("Provided")
                .field("provider", &refresher.name())
                .finish_non_exhaustive(),
        }
    }
}
