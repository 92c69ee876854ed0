//! Credentials from environment variables: an AK/SK pair (`HUAWEICLOUD_SDK_AK`,
//! `HUAWEICLOUD_SDK_SK`, optional `HUAWEICLOUD_SDK_SECURITY_TOKEN`), an IAM token
//! (`DIS_AUTH_TOKEN`), or an IAM user's password (`DIS_IAM_USER`, `DIS_IAM_PASSWORD`,
//! `DIS_IAM_DOMAIN`, logging in at `HUAWEICLOUD_SDK_IAM_ENDPOINT`), in this order.

use futures_util::future::BoxFuture;

use super::Credentials;
use super::fetch::checked;
use super::provider::{FetchError, Issued, Provider};
use super::secret::{ENV_AK, ENV_SECURITY_TOKEN, ENV_SK, ENV_TOKEN, Secret};
use crate::error::{ConfigError, Error};

/// The IAM user whose password gets a token.
pub(crate) const ENV_IAM_USER: &str = "DIS_IAM_USER";
/// Its password.
pub(crate) const ENV_IAM_PASSWORD: &str = "DIS_IAM_PASSWORD";
/// Its account (domain) name.
pub(crate) const ENV_IAM_DOMAIN: &str = "DIS_IAM_DOMAIN";
/// The IAM endpoint, as in Huawei's SDKs.
pub(crate) const ENV_IAM_ENDPOINT: &str = "HUAWEICLOUD_SDK_IAM_ENDPOINT";
/// IAM's global endpoint (Huawei's SDKs' default).
pub(crate) const DEFAULT_IAM_ENDPOINT: &str = "https://iam.myhuaweicloud.com";

impl Credentials {
    /// Reads credentials from the environment: an AK/SK pair (`HUAWEICLOUD_SDK_AK`,
    /// `HUAWEICLOUD_SDK_SK`, optional `HUAWEICLOUD_SDK_SECURITY_TOKEN`) wins over a token
    /// (`DIS_AUTH_TOKEN`), which wins over an IAM password login (`DIS_IAM_USER`,
    /// `DIS_IAM_PASSWORD`, `DIS_IAM_DOMAIN`, at `HUAWEICLOUD_SDK_IAM_ENDPOINT`, else
    /// `https://iam.myhuaweicloud.com`). Returns `Ok(None)` when none is set, and an error
    /// naming the missing variable when only part of a group is set.
    pub fn from_env() -> Result<Option<Self>, Error> {
        from_lookup(&|name| std::env::var(name).ok())
    }
}

/// A lookup that treats blank values as unset.
fn getter(lookup: &dyn Fn(&str) -> Option<String>) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| lookup(name).filter(|v| !v.trim().is_empty())
}

/// An AK/SK pair from the environment, checked; `Ok(None)` when none of its variables is set.
pub(crate) fn aksk(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<Secret>, Error> {
    let get = getter(lookup);
    let (ak, sk, st) = (get(ENV_AK), get(ENV_SK), get(ENV_SECURITY_TOKEN));
    let missing = |set: &str, unset: &str, why: &str| {
        Err(Error::Config(ConfigError::new(
            unset,
            format!("{set} is set but {unset} is not: {why}"),
        )))
    };
    let secret = match (ak, sk) {
        (Some(ak), Some(sk)) => Secret::aksk(ak, sk, st),
        (Some(_), None) => {
            return missing(ENV_AK, ENV_SK, "both are needed for AK/SK signing");
        }
        (None, Some(_)) => {
            return missing(ENV_SK, ENV_AK, "both are needed for AK/SK signing");
        }
        (None, None) if st.is_some() => {
            return Err(Error::Config(ConfigError::new(
                ENV_SECURITY_TOKEN,
                format!(
                    "{ENV_SECURITY_TOKEN} is set but {ENV_AK} and {ENV_SK} are not: a security token needs its AK/SK pair"
                ),
            )));
        }
        (None, None) => return Ok(None),
    };
    checked_env(secret).map(Some)
}

/// `secret`, when every part can go into a header; else an error naming its variable.
fn checked_env(secret: Secret) -> Result<Secret, Error> {
    secret
        .check()
        .map(|()| secret)
        .map_err(|p| Error::Config(ConfigError::new(p.part.env_var(), p.problem)))
}

/// The IAM endpoint: `HUAWEICLOUD_SDK_IAM_ENDPOINT`, else `default`.
pub(crate) fn iam_endpoint(
    lookup: &dyn Fn(&str) -> Option<String>,
    default: &str,
) -> Result<String, Error> {
    let endpoint = getter(lookup)(ENV_IAM_ENDPOINT).unwrap_or_else(|| default.to_owned());
    super::fetch::base_url(ENV_IAM_ENDPOINT, endpoint.trim())
}

/// [`Credentials::from_env`] over any lookup function (tests use a map).
pub(crate) fn from_lookup(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, Error> {
    if let Some(secret) = aksk(lookup)? {
        return Ok(Some(Credentials::from_secret(secret)));
    }
    let get = getter(lookup);
    if let Some(token) = get(ENV_TOKEN) {
        return checked_env(Secret::token(token))
            .map(Credentials::from_secret)
            .map(Some);
    }
    let names = [ENV_IAM_USER, ENV_IAM_PASSWORD, ENV_IAM_DOMAIN];
    let values: Vec<Option<String>> = names.iter().map(|n| get(n)).collect();
    match values.as_slice() {
        [Some(user), Some(password), Some(domain)] => {
            let iam = iam_endpoint(lookup, DEFAULT_IAM_ENDPOINT)?;
            Credentials::iam_password(iam, domain.trim(), user.trim(), password.clone()).map(Some)
        }
        [None, None, None] => Ok(None),
        _ => {
            let (set, unset): (Vec<_>, Vec<_>) =
                names.iter().zip(&values).partition(|(_, v)| v.is_some());
            let unset: Vec<&str> = unset.iter().map(|(n, _)| **n).collect();
            let set: Vec<&str> = set.iter().map(|(n, _)| **n).collect();
            Err(Error::Config(ConfigError::new(
                unset[0],
                format!(
                    "{} set but {} not: an IAM password login needs {ENV_IAM_USER}, {ENV_IAM_PASSWORD} and {ENV_IAM_DOMAIN}",
                    set.join(", "),
                    unset.join(", ")
                ),
            )))
        }
    }
}

/// The environment's AK/SK pair, as a link of the default chain.
pub(crate) struct EnvAkSk;

impl Provider for EnvAkSk {
    fn name(&self) -> String {
        format!("environment ({ENV_AK}, {ENV_SK})")
    }

    fn fetch<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Issued, FetchError>> {
        Box::pin(async move {
            match aksk(&|name| std::env::var(name).ok()) {
                Ok(Some(secret)) => Ok(Issued {
                    secret: checked(secret, "environment")?,
                    expires_at: None,
                }),
                Ok(None) => Err(FetchError::new(format!(
                    "{ENV_AK} and {ENV_SK} are not set"
                ))),
                Err(e) => Err(FetchError::new(e.to_string())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn read(pairs: &[(&str, &str)]) -> Option<String> {
        from_lookup(&env(pairs)).unwrap().map(|c| format!("{c:?}"))
    }

    #[test]
    fn credentials_from_the_environment_names() {
        let aksk = read(&[("HUAWEICLOUD_SDK_AK", "ak"), ("HUAWEICLOUD_SDK_SK", "sk")]).unwrap();
        assert!(
            aksk.contains("AkSk") && aksk.contains("security_token: None"),
            "{aksk}"
        );
        let temporary = read(&[
            ("HUAWEICLOUD_SDK_AK", "ak"),
            ("HUAWEICLOUD_SDK_SK", "sk"),
            ("HUAWEICLOUD_SDK_SECURITY_TOKEN", "st"),
            ("DIS_AUTH_TOKEN", "tok"),
            ("DIS_IAM_USER", "u"),
        ])
        .unwrap();
        assert!(
            temporary.contains("Some(\"[REDACTED]\")"),
            "AK/SK wins: {temporary}"
        );
        assert!(
            read(&[("DIS_AUTH_TOKEN", "tok"), ("DIS_IAM_USER", "u")])
                .unwrap()
                .contains("Token")
        );
        assert_eq!(read(&[("DIS_AUTH_TOKEN", "  ")]), None, "blank is unset");
        assert_eq!(read(&[]), None);
        let password = read(&[
            ("DIS_IAM_USER", "alice"),
            ("DIS_IAM_PASSWORD", "SECRET-PASSWORD"),
            ("DIS_IAM_DOMAIN", "acme"),
            ("HUAWEICLOUD_SDK_IAM_ENDPOINT", "http://127.0.0.1:9"),
        ])
        .unwrap();
        assert!(password.contains("IAM password token"), "{password}");
        assert!(
            password.contains("http://127.0.0.1:9/v3/auth/tokens"),
            "{password}"
        );
        assert!(!password.contains("SECRET-PASSWORD"), "{password}");
        for (pairs, missing) in [
            (
                &[("HUAWEICLOUD_SDK_AK", "ak")][..],
                "HUAWEICLOUD_SDK_SK is not",
            ),
            (
                &[("HUAWEICLOUD_SDK_SK", "sk")][..],
                "HUAWEICLOUD_SDK_AK is not",
            ),
            (
                &[("HUAWEICLOUD_SDK_SECURITY_TOKEN", "st")][..],
                "HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not",
            ),
            (
                &[
                    ("DIS_IAM_USER", "u"),
                    ("DIS_IAM_PASSWORD", "SECRET-PASSWORD"),
                ][..],
                "DIS_IAM_USER, DIS_IAM_PASSWORD set but DIS_IAM_DOMAIN not",
            ),
            (
                &[
                    ("DIS_IAM_USER", "u"),
                    ("DIS_IAM_PASSWORD", "p"),
                    ("DIS_IAM_DOMAIN", "d"),
                    ("HUAWEICLOUD_SDK_IAM_ENDPOINT", "iam.example.com"),
                ][..],
                "HUAWEICLOUD_SDK_IAM_ENDPOINT: \"iam.example.com\": expected an http(s):// URL",
            ),
            (
                &[("DIS_AUTH_TOKEN", "tok\n")][..],
                "DIS_AUTH_TOKEN: character 4",
            ),
        ] {
            let err = from_lookup(&env(pairs)).unwrap_err();
            assert!(matches!(err, Error::Config(_)));
            assert!(err.to_string().contains(missing), "{err}");
            assert!(!err.to_string().contains("SECRET"), "{err}");
        }
    }
}
