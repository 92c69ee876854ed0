//! The project ID, when only a region is given: `GET {iam}/v3/projects?name={region}`, signed
//! with the credentials, as Huawei's SDKs ask. Exactly one project must come back.

use super::fetch::{self, base_url};
use super::{Credentials, env};
use crate::auth::apply_secret;
use crate::error::{ConfigError, Error};

impl Credentials {
    /// The project ID of `region` for these credentials, asked of IAM
    /// (`GET {iam}/v3/projects?name={region}`, signed) at `HUAWEICLOUD_SDK_IAM_ENDPOINT`,
    /// else `https://iam.{region}.myhuaweicloud.com`; cached per region. Zero or several
    /// projects is an error that says to set the project ID.
    pub async fn project_id_for_region(&self, region: &str) -> Result<String, Error> {
        check_region(region)?;
        let iam = env::iam_endpoint(&|name| std::env::var(name).ok(), &regional_iam(region))?;
        self.project_id_at(&iam, region).await
    }

    /// [`Credentials::project_id_for_region`], asking IAM at `iam_endpoint` (a URL).
    pub async fn project_id_at(&self, iam_endpoint: &str, region: &str) -> Result<String, Error> {
        let cached = self
            .projects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(region)
            .cloned();
        if let Some(id) = cached {
            return Ok(id);
        }
        let id = lookup(self, iam_endpoint, region).await?;
        self.projects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(region.to_owned(), id.clone());
        Ok(id)
    }
}

/// Longest region name accepted.
const MAX_REGION_LEN: usize = 64;
/// Longest project ID accepted (Huawei's are 32 hexadecimal characters).
const MAX_PROJECT_ID_LEN: usize = 64;

fn problem(message: String) -> Error {
    Error::Config(ConfigError::new("project_id", message))
}

/// `https://iam.{region}.myhuaweicloud.com`, the regional IAM endpoint.
pub(crate) fn regional_iam(region: &str) -> String {
    format!("https://iam.{region}.myhuaweicloud.com")
}

/// Checks `region`: letters, digits and `-`, 1 to [`MAX_REGION_LEN`].
pub(crate) fn check_region(region: &str) -> Result<(), Error> {
    let ok = !region.is_empty()
        && region.len() <= MAX_REGION_LEN
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::Config(ConfigError::new(
            "region",
            format!(
                "{region:?}: expected a region name such as cn-north-4 (1 to {MAX_REGION_LEN} letters, digits or -)"
            ),
        )))
    }
}

/// Asks IAM at `iam` for the one project named `region`.
pub(crate) async fn lookup(
    credentials: &Credentials,
    iam: &str,
    region: &str,
) -> Result<String, Error> {
    check_region(region)?;
    let iam = base_url("iam endpoint", iam)?;
    let (secret, _) = credentials.current("").await?;
    let what = format!("IAM GET {iam}/v3/projects?name={region}");
    let client = fetch::client().map_err(|e| problem(format!("{what}: {}", e.message)))?;
    let mut request = client
        .get(format!("{iam}/v3/projects"))
        .query(&[("name", region)])
        .build()
        .map_err(|_| problem(format!("{what}: the request cannot be built")))?;
    apply_secret(
        &secret,
        &mut request,
        "",
        std::time::SystemTime::now(),
        false,
    )?;
    let reply = fetch::exchange(request, &what).await.map_err(|e| {
        Error::Config(ConfigError {
            source: e.source,
            ..ConfigError::new("project_id", format!("looking it up failed: {}", e.message))
        })
    })?;
    if reply.status != 200 {
        return Err(problem(format!(
            "looking it up failed: {what}: {}; set the project ID",
            fetch::error_summary(reply.status, &reply.body)
        )));
    }
    let value: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|e| {
        problem(format!(
            "{what}: the answer is not JSON (line {}, column {}); set the project ID",
            e.line(),
            e.column()
        ))
    })?;
    let projects = value
        .get("projects")
        .and_then(|p| p.as_array())
        .ok_or_else(|| problem(format!("{what}: the answer has no projects list")))?;
    let ids: Vec<&str> = projects
        .iter()
        .filter_map(|p| p.get("id").and_then(|id| id.as_str()))
        .collect();
    match (projects.len(), ids.as_slice()) {
        (1, [id]) => {
            let ok = !id.is_empty()
                && id.len() <= MAX_PROJECT_ID_LEN
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if ok {
                Ok((*id).to_owned())
            } else {
                Err(problem(format!(
                    "{what}: the project's id is not 1 to {MAX_PROJECT_ID_LEN} letters, digits, - or _; set the project ID"
                )))
            }
        }
        (1, _) => Err(problem(format!(
            "{what}: the project has no id string; set the project ID"
        ))),
        (n, _) => Err(problem(format!(
            "IAM has {n} projects named {region:?} for these credentials, not one; set the project ID (DIS_PROJECT_ID or HUAWEICLOUD_SDK_PROJECT_ID)"
        ))),
    }
}
