//! The IAM, metadata and pod-identity settings as `clap` flags, for `dis-local` and any
//! binary that starts a [`LocalDis`](crate::LocalDis).

use std::time::Duration;

use super::config::{DEFAULT_CREDENTIAL_LIFETIME, parse_lifetime};
use crate::LocalConfig;

/// Credential sources played by the local endpoint, as `clap` flags: `--iam-user`,
/// `--iam-project`, `--credential-lifetime`, `--metadata`, `--metadata-outage`,
/// `--pod-identity-token`. Embed them with `#[command(flatten)]`:
///
/// ```
/// use clap::Parser;
/// use dis_local::IamFlags;
///
/// #[derive(Parser)]
/// struct Args {
///     #[command(flatten)]
///     iam: IamFlags,
/// }
///
/// let args = Args::parse_from(["prog", "--iam-user", "acme:alice:pw", "--credential-lifetime", "10s"]);
/// assert_eq!(args.iam.credential_lifetime, std::time::Duration::from_secs(10));
/// ```
#[derive(clap::Args, Clone)]
#[non_exhaustive]
pub struct IamFlags {
    /// An IAM user who may log in at POST /v3/auth/tokens, as DOMAIN:USER:PASSWORD (repeat for
    /// more). Once any credential source is played, SendRecords accepts only credentials
    /// issued here and not expired (besides --token and --ak/--sk).
    #[arg(long = "iam-user", value_name = "DOMAIN:USER:PASSWORD", value_parser = user)]
    pub iam_users: Vec<(String, String, String)>,
    /// A project listed by GET /v3/projects?name=, as NAME:ID (repeat for more).
    #[arg(long = "iam-project", value_name = "NAME:ID", value_parser = project)]
    pub iam_projects: Vec<(String, String)>,
    /// Lifetime of issued tokens and temporary AK/SK sets: 10s, 500ms, 15m, 24h.
    #[arg(long, default_value = "1h", value_parser = parse_lifetime)]
    pub credential_lifetime: Duration,
    /// Play the ECS metadata service (PUT /meta-data/latest/api/token, GET
    /// /openstack/latest/securitykey).
    #[arg(long)]
    pub metadata: bool,
    /// The metadata paths answer 500 from AFTER the start for LENGTH, as AFTER:LENGTH
    /// (20s:20s).
    #[arg(long, value_name = "AFTER:LENGTH", value_parser = outage)]
    pub metadata_outage: Option<(Duration, Duration)>,
    /// Play CCE pod identity (POST /pod-identity/credentials) for this Authorization token.
    #[arg(long, hide_env_values = true, env = "DIS_LOCAL_POD_IDENTITY_TOKEN")]
    pub pod_identity_token: Option<String>,
}

impl std::fmt::Debug for IamFlags {
    /// Never shows a password or the pod token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamFlags")
            .field("iam_users", &self.iam_users.len())
            .field("iam_projects", &self.iam_projects)
            .field("credential_lifetime", &self.credential_lifetime)
            .field("metadata", &self.metadata)
            .field("metadata_outage", &self.metadata_outage)
            .finish_non_exhaustive()
    }
}

impl IamFlags {
    /// `config` with these settings.
    pub fn apply(&self, mut config: LocalConfig) -> LocalConfig {
        for (domain, user, password) in &self.iam_users {
            config = config.with_iam_user(domain, user, password);
        }
        for (name, id) in &self.iam_projects {
            config = config.with_iam_project(name, id);
        }
        config = config
            .with_credential_lifetime(self.credential_lifetime)
            .with_metadata(self.metadata);
        if let Some((after, length)) = self.metadata_outage {
            config = config.with_metadata_outage(after, length);
        }
        if let Some(token) = &self.pod_identity_token {
            config = config.with_pod_identity_token(token);
        }
        config
    }
}

impl Default for IamFlags {
    fn default() -> Self {
        IamFlags {
            iam_users: Vec::new(),
            iam_projects: Vec::new(),
            credential_lifetime: DEFAULT_CREDENTIAL_LIFETIME,
            metadata: false,
            metadata_outage: None,
            pod_identity_token: None,
        }
    }
}

fn user(s: &str) -> Result<(String, String, String), String> {
    let mut parts = s.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(d), Some(u), Some(p)) if !d.is_empty() && !u.is_empty() && !p.is_empty() => {
            Ok((d.to_owned(), u.to_owned(), p.to_owned()))
        }
        _ => Err("expected DOMAIN:USER:PASSWORD, none empty".to_owned()),
    }
}

fn project(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((n, id)) if !n.is_empty() && !id.is_empty() => Ok((n.to_owned(), id.to_owned())),
        _ => Err("expected NAME:ID, neither empty".to_owned()),
    }
}

fn outage(s: &str) -> Result<(Duration, Duration), String> {
    let (after, length) = s
        .split_once(':')
        .ok_or_else(|| "expected AFTER:LENGTH, such as 20s:20s".to_owned())?;
    let after = if after.trim() == "0" {
        Duration::ZERO
    } else {
        parse_lifetime(after)?
    };
    Ok((after, parse_lifetime(length)?))
}
