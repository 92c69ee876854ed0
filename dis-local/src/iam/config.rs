//! What dis-local plays of IAM, the metadata service and pod identity: [`IamConfig`], part
//! of [`LocalConfig`](crate::LocalConfig) (its `with_iam_*`, `with_credential_lifetime`,
//! `with_metadata*` and `with_pod_identity_token` methods).

use std::fmt;
use std::time::Duration;

/// The default lifetime of issued credentials (IAM tokens live 24 hours; temporary AK/SK 15
/// minutes to 24 hours).
pub const DEFAULT_CREDENTIAL_LIFETIME: Duration = Duration::from_secs(3600);

/// An IAM user who may log in with a password.
#[derive(Clone)]
pub(crate) struct User {
    pub(crate) domain: String,
    pub(crate) name: String,
    pub(crate) password: String,
}

/// The IAM side of a configuration.
#[derive(Clone)]
pub(crate) struct IamConfig {
    pub(crate) users: Vec<User>,
    /// Projects as (name, id): the name is a region, such as `cn-north-4`.
    pub(crate) projects: Vec<(String, String)>,
    pub(crate) lifetime: Duration,
    pub(crate) metadata: bool,
    /// The `Authorization` the pod-identity path accepts (`None`: the path is off).
    pub(crate) pod_token: Option<String>,
    /// The metadata paths answer 500 from `.0` after the start, for `.1`.
    pub(crate) metadata_outage: Option<(Duration, Duration)>,
}

impl Default for IamConfig {
    fn default() -> Self {
        IamConfig {
            users: Vec::new(),
            projects: Vec::new(),
            lifetime: DEFAULT_CREDENTIAL_LIFETIME,
            metadata: false,
            pod_token: None,
            metadata_outage: None,
        }
    }
}

impl IamConfig {
    /// True when any credential source is played: SendRecords then accepts only the
    /// credentials issued here (and the token and AK/SK pair configured, if any).
    pub(crate) fn enabled(&self) -> bool {
        !self.users.is_empty() || self.metadata || self.pod_token.is_some()
    }
}

impl fmt::Debug for IamConfig {
    /// Never shows a password or the pod token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamConfig")
            .field(
                "users",
                &self
                    .users
                    .iter()
                    .map(|u| format!("{}/{} (password <redacted>)", u.domain, u.name))
                    .collect::<Vec<_>>(),
            )
            .field("projects", &self.projects)
            .field("lifetime", &self.lifetime)
            .field("metadata", &self.metadata)
            .field("pod_token", &self.pod_token.as_ref().map(|_| "<redacted>"))
            .field("metadata_outage", &self.metadata_outage)
            .finish()
    }
}

/// Parses a lifetime such as `10s`, `500ms`, `15m`, `24h` or a bare number of seconds.
pub fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let n: u64 = number.parse().map_err(|_| {
        format!("{text:?}: expected a number and a unit such as 10s, 500ms, 15m, 24h")
    })?;
    let d = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    if d < Duration::from_millis(100) || d > Duration::from_secs(7 * 24 * 3600) {
        return Err(format!("{text:?}: expected 100ms to 7 days"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_lifetime("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_lifetime("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_lifetime("24h"), Ok(Duration::from_secs(86_400)));
        for bad in [
            "",
            "s",
            "10x",
            "0s",
            "99ms",
            "8d",
            "999999999999999999999h",
            "-1s",
        ] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
