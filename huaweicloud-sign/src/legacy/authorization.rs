//! The legacy schemes' `Authorization` value:
//! `ALG Credential={AK}/{YYYYMMDD}/{region}/{service}/sdk_request, SignedHeaders=..., Signature=...`.

use super::scheme::{Algorithm, TERMINATION};
use crate::authorization::{algorithm_and_rest, fields, signed_header_names};

/// A parsed `Authorization: ALG Credential=AK/scope, SignedHeaders=..., Signature=...` (see
/// [`parse_authorization`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialAuthorization {
    /// The scheme named first.
    pub algorithm: Algorithm,
    /// The access key (everything before the four scope components).
    pub access: String,
    /// `YYYYMMDD` of the scope.
    pub date: String,
    /// The region of the scope (`cn-north-4`, say).
    pub region: String,
    /// The service of the scope (`dis`).
    pub service: String,
    /// The header names, in the order given.
    pub signed_headers: Vec<String>,
    /// The hex signature.
    pub signature: String,
}

/// Parses the hand-written SDK's `Authorization` value.
///
/// Returns `None` for another algorithm, another layout (such as the v3 SDK's `Access=`), a
/// field missing, repeated or unknown, a scope that does not end in `sdk_request` or whose
/// date is not 8 digits, or an empty header name.
pub fn parse_authorization(value: &str) -> Option<CredentialAuthorization> {
    let (name, rest) = algorithm_and_rest(value)?;
    let algorithm = Algorithm::from_name(name)?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for (key, value) in fields(rest)? {
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    // AK/date/region/service/sdk_request, read from the right (an AK has no '/').
    let mut scope = credential?.rsplitn(5, '/');
    let (termination, service, region, date, access) = (
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
    );
    if termination != TERMINATION
        || access.is_empty()
        || date.len() != 8
        || !date.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let signed_headers = signed_header_names(signed?)?;
    Some(CredentialAuthorization {
        algorithm,
        access: access.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature: signature?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_schemes() {
        let v = "V11-HMAC-SHA256 Credential=AK1/20240102/cn-north-4/dis/sdk_request, SignedHeaders=host;x-sdk-date, Signature=ab01";
        let a = parse_authorization(v).unwrap();
        assert_eq!(a.algorithm, Algorithm::V11);
        assert_eq!(a.access, "AK1");
        assert_eq!(a.date, "20240102");
        assert_eq!(a.region, "cn-north-4");
        assert_eq!(a.service, "dis");
        assert_eq!(a.signed_headers, ["host", "x-sdk-date"]);
        assert_eq!(a.signature, "ab01");
        let s = v.replace("V11-", "SDK-");
        assert_eq!(parse_authorization(&s).unwrap().algorithm, Algorithm::Sdk);
    }

    #[test]
    fn refuses_other_layouts() {
        for v in [
            "",
            "V11-HMAC-SHA256",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=ab",
            "V11-HMAC-SHA256 Credential=AK/20240102/r/dis/other, SignedHeaders=host, Signature=ab",
            "V11-HMAC-SHA256 Credential=AK/2024010/r/dis/sdk_request, SignedHeaders=host, Signature=ab",
            "V11-HMAC-SHA256 Credential=/20240102/r/dis/sdk_request, SignedHeaders=host, Signature=ab",
            "V11-HMAC-SHA256 Credential=20240102/r/dis/sdk_request, SignedHeaders=host, Signature=ab",
            "V11-HMAC-SHA256 Credential=AK/20240102/r/dis/sdk_request, SignedHeaders=host;;x, Signature=ab",
            "V11-HMAC-SHA256 Credential=AK/20240102/r/dis/sdk_request, SignedHeaders=host",
            "V11-HMAC-SHA256 Credential=AK/20240102/r/dis/sdk_request, Credential=AK/20240102/r/dis/sdk_request, SignedHeaders=host, Signature=ab",
            "V11-HMAC-SHA256 Credential=AK/20240102/r/dis/sdk_request, SignedHeaders=host, Signature=ab, Extra=1",
            "AWS4-HMAC-SHA256 Credential=AK/20240102/r/dis/sdk_request, SignedHeaders=host, Signature=ab",
        ] {
            assert_eq!(parse_authorization(v), None, "{v}");
        }
    }
}
