//! Temporary AK/SK from the ECS metadata service (an agency on the server): a session token
//! first (`PUT /meta-data/latest/api/token`; 404, 405 and 503 mean the service does not use
//! them), then `GET /openstack/latest/securitykey` with it, as Huawei's SDK asks.

use std::sync::Mutex;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use super::fetch::{self, temporary_credentials};
use super::provider::{FetchError, Issued, Provider};

/// The metadata service's address, when not `http://169.254.169.254` (tests, dis-local).
pub(crate) const ENV_ENDPOINT: &str = "DIS_METADATA_ENDPOINT";
/// The metadata service's address on Huawei Cloud.
pub(crate) const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
const TOKEN_PATH: &str = "/meta-data/latest/api/token";
const SECURITY_KEY_PATH: &str = "/openstack/latest/securitykey";
/// The session token's lifetime asked for (Huawei's SDK: 6 hours).
const TOKEN_TTL_SECONDS: &str = "21600";
/// A 401 with this text means the server has no agency: no token would help.
const NO_AGENCY: &str = "Please configure Cloud Service Agency first";
/// Longest session token accepted.
const MAX_SESSION_TOKEN_BYTES: usize = 4096;

/// The metadata service at `endpoint`.
pub(crate) struct Metadata {
    pub(crate) endpoint: String,
    /// The session token, once obtained (`None` also when the service needs none).
    session: Mutex<Option<SecretString>>,
}

impl Metadata {
    pub(crate) fn new(endpoint: String) -> Metadata {
        Metadata {
            endpoint,
            session: Mutex::new(None),
        }
    }

    fn session(&self) -> Option<SecretString> {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A new session token, or `None` when the service does not use them.
    async fn new_session(&self) -> Result<Option<SecretString>, FetchError> {
        let what = format!("metadata PUT {}{TOKEN_PATH}", self.endpoint);
        let request = fetch::client()?
            .put(format!("{}{TOKEN_PATH}", self.endpoint))
            .header("X-Metadata-Token-Ttl-Seconds", TOKEN_TTL_SECONDS)
            .build()
            .map_err(|_| FetchError::new(format!("{what}: the request cannot be built")))?;
        let reply = fetch::exchange(request, &what).await?;
        let token = match reply.status {
            200 => {
                let text = std::str::from_utf8(&reply.body).unwrap_or("").trim();
                if text.is_empty()
                    || text.len() > MAX_SESSION_TOKEN_BYTES
                    || !text.bytes().all(|b| b.is_ascii_graphic())
                {
                    return Err(FetchError::new(format!(
                        "{what}: the session token is not 1 to {MAX_SESSION_TOKEN_BYTES} printable ASCII characters"
                    )));
                }
                Some(SecretString::from(text.to_owned()))
            }
            404 | 405 | 503 => None,
            status => {
                return Err(FetchError::new(format!(
                    "{what}: {}",
                    fetch::error_summary(status, &reply.body)
                )));
            }
        };
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = token.clone();
        Ok(token)
    }

    async fn security_key(
        &self,
        session: Option<&SecretString>,
    ) -> Result<fetch::Reply, FetchError> {
        let what = format!("metadata GET {}{SECURITY_KEY_PATH}", self.endpoint);
        let mut request = fetch::client()?.get(format!("{}{SECURITY_KEY_PATH}", self.endpoint));
        if let Some(token) = session {
            let mut value = reqwest::header::HeaderValue::from_str(token.expose_secret())
                .map_err(|_| FetchError::new(format!("{what}: the session token is no header")))?;
            value.set_sensitive(true);
            request = request.header("X-Metadata-Token", value);
        }
        let request = request
            .build()
            .map_err(|_| FetchError::new(format!("{what}: the request cannot be built")))?;
        fetch::exchange(request, &what).await
    }
}

impl Provider for Metadata {
    fn name(&self) -> String {
        format!("ECS metadata ({}{SECURITY_KEY_PATH})", self.endpoint)
    }

    fn fetch<'a>(&'a self, _project_id: &'a str) -> BoxFuture<'a, Result<Issued, FetchError>> {
        Box::pin(async move {
            let what = format!("metadata GET {}{SECURITY_KEY_PATH}", self.endpoint);
            let mut session = self.session();
            if session.is_none() {
                session = self.new_session().await?;
            }
            let mut reply = self.security_key(session.as_ref()).await?;
            let no_agency = String::from_utf8_lossy(&reply.body).contains(NO_AGENCY);
            if reply.status == 401 && !no_agency {
                // The session token expired (or one is now needed): one new one, one more try.
                session = self.new_session().await?;
                reply = self.security_key(session.as_ref()).await?;
            }
            match reply.status {
                200 => temporary_credentials(&reply.body, &what),
                401 if no_agency => Err(FetchError::new(format!(
                    "{what}: HTTP 401: this server has no agency (\"{NO_AGENCY}\")"
                ))),
                status => Err(FetchError::new(format!(
                    "{what}: {}",
                    fetch::error_summary(status, &reply.body)
                ))),
            }
        })
    }
}
