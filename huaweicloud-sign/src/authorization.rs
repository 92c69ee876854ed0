//! The `Authorization` header: parsing the v3 scheme's `SDK-HMAC-SHA256 Access=...` value, and
//! the shape every scheme shares (an algorithm name, then comma-separated `key=value` fields).

use crate::constants::ALGORITHM;

/// The parts of an `Authorization: SDK-HMAC-SHA256 ...` header (see [`parse_authorization`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    /// The access key (AK) that signed the request.
    pub access: String,
    /// The header names from `SignedHeaders=`, in the order given.
    pub signed_headers: Vec<String>,
    /// The hex signature from `Signature=`.
    pub signature: String,
}

/// Server side: parses an `Authorization` header value of the form
/// `SDK-HMAC-SHA256 Access={ak}, SignedHeaders={h1;h2}, Signature={hex}`.
///
/// The three fields may come in any order, each exactly once; spaces around fields are
/// ignored. Returns `None` for another algorithm, a missing, empty, repeated or unknown field,
/// or an empty name in `SignedHeaders`.
pub fn parse_authorization(value: &str) -> Option<ParsedAuthorization> {
    let rest = value.trim().strip_prefix(ALGORITHM)?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let (mut access, mut signed, mut signature) = (None, None, None);
    for field in rest.split(',') {
        let (key, val) = field.trim().split_once('=')?;
        let val = val.trim();
        if val.is_empty() {
            return None;
        }
        let slot = match key.trim() {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.replace(val).is_some() {
            return None;
        }
    }
    let signed_headers = signed_header_names(signed?)?;
    Some(ParsedAuthorization {
        access: access?.to_owned(),
        signed_headers,
        signature: signature?.to_owned(),
    })
}

/// Whether `value` is a well-formed signature header of any scheme: an algorithm name
/// (letters, digits, `-`, `_`), then comma-separated `key=value` fields with non-empty
/// `SignedHeaders` and `Signature`, and an `Access` (the v3 scheme) or a `Credential` (the
/// legacy ones, and any scheme laid out like them). Nothing is verified: this is the check of
/// a server that accepts any signature.
pub fn is_well_formed_authorization(value: &str) -> bool {
    let Some((name, rest)) = algorithm_and_rest(value) else {
        return false;
    };
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return false;
    }
    let Some(fields) = fields(rest) else {
        return false;
    };
    let has = |key: &str| fields.iter().any(|(k, _)| *k == key);
    has("SignedHeaders") && has("Signature") && (has("Access") || has("Credential"))
}

/// The names of `SignedHeaders=h1;h2`, in order; `None` when one is empty.
pub(crate) fn signed_header_names(value: &str) -> Option<Vec<String>> {
    let names: Vec<String> = value.split(';').map(str::to_owned).collect();
    (!names.iter().any(String::is_empty)).then_some(names)
}

/// Splits `ALG rest` at the first space or tab (after trimming).
pub(crate) fn algorithm_and_rest(value: &str) -> Option<(&str, &str)> {
    let value = value.trim();
    let cut = value.find([' ', '\t'])?;
    Some((&value[..cut], &value[cut..]))
}

/// The `key=value` fields after the algorithm name, trimmed; `None` when a field has no `=`,
/// an empty key or an empty value.
pub(crate) fn fields(rest: &str) -> Option<Vec<(&str, &str)>> {
    rest.split(',')
        .map(|field| {
            let (key, value) = field.trim().split_once('=')?;
            let (key, value) = (key.trim(), value.trim());
            (!key.is_empty() && !value.is_empty()).then_some((key, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_is_any_scheme() {
        assert!(is_well_formed_authorization(
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=ab"
        ));
        assert!(is_well_formed_authorization(
            "V11-HMAC-SHA256 Credential=AK/20240102/r/dis/sdk_request, SignedHeaders=host, Signature=ab"
        ));
        assert!(is_well_formed_authorization(
            "FUTURE-HMAC-SM3 Credential=x, SignedHeaders=host, Signature=ab"
        ));
        for v in [
            "",
            "Bearer abc",
            "SDK-HMAC-SHA256 Access=AK, Signature=ab",
            "SDK-HMAC-SHA256 SignedHeaders=host, Signature=ab",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=, Signature=ab",
            "SDK/HMAC Access=AK, SignedHeaders=host, Signature=ab",
        ] {
            assert!(!is_well_formed_authorization(v), "{v}");
        }
    }
}
