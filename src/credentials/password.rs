//! An IAM user token from a password: `POST {iam}/v3/auth/tokens`, scoped to the client's
//! project (to the account when no project is known yet); the token comes back in the
//! `X-Subject-Token` answer header, its expiry as `token.expires_at` in the body.

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::fetch::{self, checked, expiry};
use super::provider::{FetchError, Issued, Provider};
use super::secret::Secret;

/// Longest token accepted (Huawei's are a few KiB; PKI tokens up to about 10 KiB).
const MAX_TOKEN_BYTES: usize = 32 * 1024;

/// Logs in as an IAM user with a password.
pub(crate) struct Password {
    pub(crate) iam: String,
    pub(crate) domain: String,
    pub(crate) user: String,
    pub(crate) password: SecretString,
}

impl Provider for Password {
    fn name(&self) -> String {
        format!(
            "IAM password token for user {:?} of account {:?} (POST {}/v3/auth/tokens)",
            self.user, self.domain, self.iam
        )
    }

    fn fetch<'a>(&'a self, project_id: &'a str) -> BoxFuture<'a, Result<Issued, FetchError>> {
        Box::pin(async move {
            let what = "IAM POST /v3/auth/tokens";
            let scope = if project_id.is_empty() {
                json!({ "domain": { "name": self.domain } })
            } else {
                json!({ "project": { "id": project_id } })
            };
            let body = json!({
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": { "user": {
                            "name": self.user,
                            "password": self.password.expose_secret(),
                            "domain": { "name": self.domain },
                        } }
                    },
                    "scope": scope,
                }
            });
            let request = fetch::client()?
                .post(format!("{}/v3/auth/tokens", self.iam))
                .header("content-type", "application/json;charset=UTF-8")
                .body(body.to_string())
                .build()
                .map_err(|_| FetchError::new(format!("{what}: the request cannot be built")))?;
            let reply = fetch::exchange(request, what).await?;
            if !(200..300).contains(&reply.status) {
                return Err(FetchError::new(format!(
                    "{what}: {}",
                    fetch::error_summary(reply.status, &reply.body)
                )));
            }
            let Some(token) = reply.headers.get("x-subject-token") else {
                return Err(FetchError::new(format!(
                    "{what}: HTTP {} without an X-Subject-Token header",
                    reply.status
                )));
            };
            if token.len() > MAX_TOKEN_BYTES {
                return Err(FetchError::new(format!(
                    "{what}: the X-Subject-Token is {} bytes, more than {MAX_TOKEN_BYTES}",
                    token.len()
                )));
            }
            let token = token.to_str().map_err(|_| {
                FetchError::new(format!(
                    "{what}: the X-Subject-Token is not printable ASCII"
                ))
            })?;
            let value: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|e| {
                FetchError::new(format!(
                    "{what}: the answer is not JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ))
            })?;
            let Some(expires) = value
                .get("token")
                .and_then(|t| t.get("expires_at"))
                .and_then(|e| e.as_str())
            else {
                return Err(FetchError::new(format!(
                    "{what}: the answer has no token.expires_at string"
                )));
            };
            let expires_at = expiry(expires, what)?;
            Ok(Issued {
                secret: checked(Secret::token(token), what)?,
                expires_at: Some(expires_at),
            })
        })
    }
}
