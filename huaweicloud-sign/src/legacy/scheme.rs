//! The two schemes of the hand-written SDK's signatures ([`Algorithm`]) and the credential
//! scope they sign over.

use std::fmt;

/// The last component of a credential scope.
pub(super) const TERMINATION: &str = "sdk_request";

/// Which of the two schemes signs a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `SDK-HMAC-SHA256 Credential=...`: keyed with the secret key.
    Sdk,
    /// `V11-HMAC-SHA256 Credential=...`: keyed with a key derived from the AK/SK pair.
    V11,
}

impl Algorithm {
    /// The name that opens the `Authorization` value and the string to sign:
    /// `SDK-HMAC-SHA256` or `V11-HMAC-SHA256`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sdk => "SDK-HMAC-SHA256",
            Algorithm::V11 => "V11-HMAC-SHA256",
        }
    }

    /// The algorithm named `name` (exactly, case-sensitive), if it is one of the two.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "SDK-HMAC-SHA256" => Some(Algorithm::Sdk),
            "V11-HMAC-SHA256" => Some(Algorithm::V11),
            _ => None,
        }
    }
}

/// A credential scope without its `sdk_request` end: `{YYYYMMDD}/{region}/{service}`.
#[derive(Clone, Copy)]
pub(super) struct Scope<'a> {
    pub(super) date: &'a str,
    pub(super) region: &'a str,
    pub(super) service: &'a str,
}

impl fmt::Display for Scope<'_> {
    /// The whole scope, `{YYYYMMDD}/{region}/{service}/sdk_request`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{TERMINATION}",
            self.date, self.region, self.service
        )
    }
}
