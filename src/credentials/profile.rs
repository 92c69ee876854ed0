//! The profile file of Huawei's SDKs: `$HUAWEICLOUD_SDK_CREDENTIALS_FILE`, else
//! `~/.huaweicloud/credentials`; an INI file whose `[basic]` section holds `ak`, `sk` and
//! optionally `security_token` (other keys, such as `project_id`, are ignored here).

use std::path::PathBuf;

use futures_util::future::BoxFuture;

use super::fetch::checked;
use super::file::{self, FileError};
use super::provider::{FetchError, Issued, Provider};
use super::secret::Secret;

/// The profile file's path, when not the default.
pub(crate) const ENV_FILE: &str = "HUAWEICLOUD_SDK_CREDENTIALS_FILE";
/// Largest profile file read.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The profile file at `path`.
pub(crate) struct Profile {
    pub(crate) path: Option<PathBuf>,
    /// The path is `$HUAWEICLOUD_SDK_CREDENTIALS_FILE` (errors name the variable).
    pub(crate) from_env_var: bool,
}

impl Profile {
    /// `$HUAWEICLOUD_SDK_CREDENTIALS_FILE`, else `$HOME/.huaweicloud/credentials`.
    pub(crate) fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Profile {
        let set = lookup(ENV_FILE)
            .filter(|p| !p.trim().is_empty())
            .map(PathBuf::from);
        let from_env_var = set.is_some();
        let path = set.or_else(|| {
            lookup("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".huaweicloud").join("credentials"))
        });
        Profile { path, from_env_var }
    }
}

/// The `[basic]` section's keys of an INI text (a leading byte order mark, as Windows editors
/// write one, is skipped).
pub(crate) fn parse(text: &str, what: &str) -> Result<Secret, FetchError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (mut ak, mut sk, mut st) = (None, None, None);
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
            continue;
        }
        if section != "basic" {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().to_owned();
        match key.trim().to_ascii_lowercase().as_str() {
            "ak" => ak = Some(value),
            "sk" => sk = Some(value),
            "security_token" => st = Some(value).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    match (ak, sk) {
        (Some(ak), Some(sk)) => checked(Secret::aksk(ak, sk, st), what),
        _ => Err(FetchError::new(format!(
            "{what}: no [basic] section with both ak and sk"
        ))),
    }
}

impl Provider for Profile {
    fn name(&self) -> String {
        match &self.path {
            Some(p) => format!("profile file {}", p.display()),
            None => format!("profile file (neither {ENV_FILE} nor HOME is set)"),
        }
    }

    fn fetch<'a>(&'a self, _project_id: &'a str) -> BoxFuture<'a, Result<Issued, FetchError>> {
        Box::pin(async move {
            let Some(path) = &self.path else {
                return Err(FetchError::new(format!(
                    "neither {ENV_FILE} nor HOME is set"
                )));
            };
            let what = if self.from_env_var {
                format!("{ENV_FILE} {}", path.display())
            } else {
                format!("profile file {}", path.display())
            };
            let bytes = match file::read(path, MAX_FILE_BYTES, &what).await {
                Ok(bytes) => bytes,
                Err(FileError::Missing(_)) => {
                    return Err(FetchError::new(format!("{what}: does not exist")));
                }
                Err(FileError::Unusable(e)) => return Err(e),
            };
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| FetchError::new(format!("{what}: not UTF-8")))?;
            Ok(Issued {
                secret: parse(text, &what)?,
                expires_at: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_byte_order_mark_is_skipped() {
        // As Windows editors save a UTF-8 file.
        let text = "\u{feff}[basic]\r\nak = BOMAK\r\nsk = bom-sk\r\n";
        let secret = parse(text, "f").unwrap();
        assert!(format!("{secret:?}").contains("BOMAK"));
        // Only at the start: anywhere else it is part of the text.
        assert!(parse("[basic]\nak = \u{feff}AK\nsk = s\n", "f").is_err());
    }

    #[test]
    fn reads_the_basic_section_only() {
        let text = "[global]\nak = GLOBALAK\nsk = g\n\n[basic]\n# comment\nak = BASICAK\nsk = basic-sk\nproject_id = p\n";
        let secret = parse(text, "f").unwrap();
        assert!(format!("{secret:?}").contains("BASICAK"));
        assert!(!format!("{secret:?}").contains("basic-sk"));
        let err = parse("[global]\nak=a\nsk=b\n", "f").unwrap_err();
        assert!(
            err.message.contains("no [basic] section"),
            "{}",
            err.message
        );
        let err = parse("[basic]\nak=A K\nsk=SECRETVALUE\n", "f").unwrap_err();
        assert!(err.message.contains("ak"), "{}", err.message);
        let err = parse("[basic]\nak=AK\nsk=SECRET VALUE\n", "f").unwrap_err();
        assert!(!err.message.contains("SECRET"), "{}", err.message);
    }
}
