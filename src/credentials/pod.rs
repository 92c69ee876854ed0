//! Temporary AK/SK from CCE pod identity: `POST $HC_CONTAINER_CREDENTIALS_FULL_URI` with
//! `Authorization:` the contents of `$HC_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at every
//! fetch: the platform rotates it), as Huawei's SDK asks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::fetch::{self, temporary_credentials};
use super::file::{self, FileError};
use super::provider::{FetchError, Issued, Provider};

/// The credentials URI.
pub(crate) const ENV_URI: &str = "HC_CONTAINER_CREDENTIALS_FULL_URI";
/// The file holding the authorization token.
pub(crate) const ENV_TOKEN_FILE: &str = "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE";
/// Largest token file read.
const MAX_TOKEN_FILE_BYTES: u64 = 16 * 1024;

/// Pod identity at `uri`, authorized by the token in `token_file`.
pub(crate) struct PodIdentity {
    pub(crate) uri: String,
    pub(crate) token_file: PathBuf,
}

/// The token file's contents, trimmed: at most [`MAX_TOKEN_FILE_BYTES`], printable ASCII, from
/// a regular file (see `file.rs`).
async fn read_token(path: &Path) -> Result<String, FetchError> {
    let what = format!("{ENV_TOKEN_FILE} {}", path.display());
    let bytes = file::read(path, MAX_TOKEN_FILE_BYTES, &what)
        .await
        .map_err(|e| match e {
            FileError::Missing(e) => {
                FetchError::caused_by(format!("{what}: cannot be read"), Arc::new(e))
            }
            FileError::Unusable(e) => e,
        })?;
    let text = std::str::from_utf8(&bytes).unwrap_or("\u{0}").trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(FetchError::new(format!(
            "{what}: empty, or not printable ASCII"
        )));
    }
    Ok(text.to_owned())
}

impl Provider for PodIdentity {
    fn name(&self) -> String {
        format!("pod identity (POST {})", self.uri)
    }

    fn fetch<'a>(&'a self, _project_id: &'a str) -> BoxFuture<'a, Result<Issued, FetchError>> {
        Box::pin(async move {
            let what = format!("pod identity POST {}", self.uri);
            let token = read_token(&self.token_file).await?;
            let mut authorization = reqwest::header::HeaderValue::from_str(&token)
                .map_err(|_| FetchError::new(format!("{what}: the token is no header value")))?;
            authorization.set_sensitive(true);
            let request = fetch::client()?
                .post(&self.uri)
                .header("authorization", authorization)
                .header("content-type", "application/json")
                .body("{}")
                .build()
                .map_err(|_| FetchError::new(format!("{what}: the request cannot be built")))?;
            let reply = fetch::exchange(request, &what).await?;
            if reply.status != 200 {
                return Err(FetchError::new(format!(
                    "{what}: {}",
                    fetch::error_summary(reply.status, &reply.body)
                )));
            }
            temporary_credentials(&reply.body, &what)
        })
    }
}
