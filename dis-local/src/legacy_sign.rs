//! The signatures of Huawei's hand-written Python DIS SDK (`huaweicloud-sdk-python-dis`,
//! `dis_sdk_python/.../models/disauth.py`), verified on the server side. Two schemes share one
//! layout, with a credential scope instead of the v3 SDK's `Access=`:
//!
//! ```text
//! Authorization = ALG Credential={AK}/{YYYYMMDD}/{region}/{service}/sdk_request, SignedHeaders={h1;h2}, Signature={hex}
//! StringToSign  = ALG \n X-Sdk-Date \n {YYYYMMDD}/{region}/{service}/sdk_request \n hex(sha256(CanonicalRequest))
//! SigningKey    = HMAC chain over "SDK" + secret: YYYYMMDD, region, service, "sdk_request"
//! Signature     = hex(HMAC-SHA256(SigningKey, StringToSign))
//! ```
//!
//! * `SDK-HMAC-SHA256` (`Signer.Sign`, the SDK with `derivationKeySwitch=False`): the secret is
//!   the secret key.
//! * `V11-HMAC-SHA256` (`Signer.SignWithDerivationKey`, the SDK's default): the secret is a key
//!   derived from the AK/SK pair (`utils/hkdf.py`): the hex of
//!   `HMAC(HMAC(key = AK, SK), "{YYYYMMDD}/{region}/{service}" + 0x01)`, one HKDF-SHA256 step
//!   with the AK as salt.
//!
//! The canonical request differs from the v3 SDK's in its details, all followed here:
//! * the method as sent;
//! * the URI: the path split on `/`, empty and `.` segments dropped, `..` removing the segment
//!   before it, each segment escaped keeping `A-Z a-z 0-9 - _ . ~`, joined, with a leading and
//!   a trailing `/` (`/` alone for an empty path);
//! * the query: `key=value` (`key` alone for an empty value), escaped the same way, sorted as
//!   strings, joined with `&`;
//! * the headers: `name:value` (value stripped) of the signed headers, sorted as whole lines,
//!   each followed by `\n`;
//! * the payload hash: the value of `x-sdk-content-sha256` when that header is signed, else
//!   `hex(sha256(body))`.
//!
//! The SDK signs `host` without its port (its `split(':')[-1] == '443' or '80'` is always
//! true), then sends the port on the wire: the `Host` value is tried as sent, then cut at its
//! first `:`, as the SDK cuts it.
//!
//! The secret key is only ever used as an HMAC key (or HMAC message, to derive the V11 key);
//! nothing here stores it.

use hmac::{Hmac, Mac};
use hyper::http::request::Parts;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Python's `quote(s, safe='~')`: everything but `A-Z a-z 0-9 - _ . ~` escaped.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The last component of a credential scope.
const TERMINATION: &str = "sdk_request";

/// Which of the two schemes signed a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Algorithm {
    /// `SDK-HMAC-SHA256 Credential=...`: keyed with the secret key.
    Sdk,
    /// `V11-HMAC-SHA256 Credential=...`: keyed with the derived key.
    V11,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Sdk => "SDK-HMAC-SHA256",
            Algorithm::V11 => "V11-HMAC-SHA256",
        }
    }
}

/// A parsed `Authorization: ALG Credential=AK/scope, SignedHeaders=..., Signature=...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CredentialAuthorization {
    pub(crate) algorithm: Algorithm,
    /// The access key (everything before the four scope components).
    pub(crate) access: String,
    /// `YYYYMMDD` of the scope.
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) service: String,
    /// The header names, in the order given.
    pub(crate) signed_headers: Vec<String>,
    /// The hex signature.
    pub(crate) signature: String,
}

/// The `key=value` fields after the algorithm name; `None` when a field has no `=`, an empty
/// key or value.
fn fields(rest: &str) -> Option<Vec<(&str, &str)>> {
    rest.split(',')
        .map(|field| {
            let (key, value) = field.trim().split_once('=')?;
            let (key, value) = (key.trim(), value.trim());
            (!key.is_empty() && !value.is_empty()).then_some((key, value))
        })
        .collect()
}

/// Splits `ALG rest` at the first space or tab.
fn algorithm_and_rest(value: &str) -> Option<(&str, &str)> {
    let value = value.trim();
    let cut = value.find([' ', '\t'])?;
    Some((&value[..cut], &value[cut..]))
}

/// Parses the hand-written SDK's `Authorization` value. `None` for another algorithm, another
/// layout (such as the v3 SDK's `Access=`), a field missing, repeated or unknown, a scope that
/// does not end in `sdk_request` or whose date is not 8 digits, or an empty header name.
pub(crate) fn parse(value: &str) -> Option<CredentialAuthorization> {
    let (name, rest) = algorithm_and_rest(value)?;
    let algorithm = match name {
        "SDK-HMAC-SHA256" => Algorithm::Sdk,
        "V11-HMAC-SHA256" => Algorithm::V11,
        _ => return None,
    };
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
    let signed_headers: Vec<String> = signed?.split(';').map(str::to_owned).collect();
    if signed_headers.iter().any(String::is_empty) {
        return None;
    }
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

/// Whether `value` is a well-formed signature header of any scheme: an algorithm name (letters,
/// digits, `-`, `_`), then comma-separated `key=value` fields with non-empty `SignedHeaders`
/// and `Signature`, and an `Access` or a `Credential`. What `--accept-any-signature` accepts.
pub(crate) fn well_formed(value: &str) -> bool {
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

/// Python's `str.strip()`: Unicode whitespace plus the separators U+001C..U+001F.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// The last value of a header, as text (invalid UTF-8 replaced).
fn header<'p>(parts: &'p Parts, name: &str) -> Option<std::borrow::Cow<'p, str>> {
    parts
        .headers
        .get_all(name)
        .iter()
        .next_back()
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
}

fn escape(s: &str) -> String {
    utf8_percent_encode(s, ESCAPED).to_string()
}

fn unescape(s: &[u8]) -> String {
    percent_decode(s).decode_utf8_lossy().into_owned()
}

/// The SDK's `CanonicalURI` of the path it built, which is the wire path decoded.
fn canonical_uri(path: &str) -> String {
    let decoded = unescape(path.as_bytes());
    let mut segments: Vec<String> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(escape(s)),
        }
    }
    if segments.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}/", segments.join("/"))
    }
}

/// The SDK's `CanonicalQueryString` of the query parameters it passed (a dict, which the HTTP
/// library wrote form-encoded: `+` is a space).
fn canonical_query(query: &str) -> String {
    let decode = |s: &str| unescape(s.replace('+', " ").as_bytes());
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let (k, v) = (decode(k), decode(v));
            if v.is_empty() {
                escape(&k)
            } else {
                format!("{}={}", escape(&k), escape(&v))
            }
        })
        .collect();
    pairs.sort();
    pairs.join("&")
}

fn hmac(key: &[u8], message: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length");
    mac.update(message);
    mac
}

/// `hkdf.getDerKey(ak, sk, info, "hmacsha256")`: the hex of one HKDF-SHA256 extract and expand
/// step (salt = AK, input key = SK, 32 bytes).
fn derived_key(ak: &str, sk: &str, info: &str) -> String {
    let prk = hmac(ak.as_bytes(), sk.as_bytes()).finalize().into_bytes();
    let mut message = info.as_bytes().to_vec();
    message.push(1);
    hex::encode(hmac(&prk, &message).finalize().into_bytes())
}

/// The key that signs the string to sign.
fn signing_key(auth: &CredentialAuthorization, sk: &str) -> Vec<u8> {
    let secret = match auth.algorithm {
        Algorithm::Sdk => sk.to_owned(),
        Algorithm::V11 => derived_key(
            &auth.access,
            sk,
            &format!("{}/{}/{}", auth.date, auth.region, auth.service),
        ),
    };
    let mut key = format!("SDK{secret}").into_bytes();
    for part in [
        auth.date.as_str(),
        auth.region.as_str(),
        auth.service.as_str(),
        TERMINATION,
    ] {
        key = hmac(&key, part.as_bytes()).finalize().into_bytes().to_vec();
    }
    key
}

/// Verifies a request signed by the hand-written SDK with the secret key `sk`: recomputes the
/// signature over the headers listed in `auth.signed_headers` and compares in constant time.
/// False when a listed header is missing, when `X-Sdk-Date` is not on the scope's day, or when
/// the signature is not hex. It checks neither the access key nor the date window (the caller
/// does).
pub(crate) fn verify(parts: &Parts, body: &[u8], auth: &CredentialAuthorization, sk: &str) -> bool {
    let Some(date) = header(parts, "x-sdk-date") else {
        return false;
    };
    let date = py_strip(&date).to_owned();
    if !date.starts_with(&auth.date) {
        return false;
    }
    let Ok(expected) = hex::decode(&auth.signature) else {
        return false;
    };
    // The header lines; `host` is the one whose value may have two readings.
    let mut lines = Vec::with_capacity(auth.signed_headers.len());
    let mut host = None;
    for name in &auth.signed_headers {
        let name = name.to_ascii_lowercase();
        let Some(value) = header(parts, &name) else {
            return false;
        };
        let value = py_strip(&value).to_owned();
        if name == "host" {
            host = Some(lines.len());
        }
        lines.push((name, value));
    }
    let payload_hash = if auth
        .signed_headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case("x-sdk-content-sha256"))
    {
        header(parts, "x-sdk-content-sha256")
            .unwrap_or_default()
            .into_owned()
    } else {
        hex::encode(Sha256::digest(body))
    };
    let uri = canonical_uri(parts.uri.path());
    let query = canonical_query(parts.uri.query().unwrap_or(""));
    let scope = format!(
        "{}/{}/{}/{TERMINATION}",
        auth.date, auth.region, auth.service
    );
    let key = signing_key(auth, sk);
    let signature_of = |lines: &[(String, String)]| {
        let mut canonical_headers: Vec<String> =
            lines.iter().map(|(n, v)| format!("{n}:{v}")).collect();
        canonical_headers.sort();
        let canonical_request = format!(
            "{}\n{uri}\n{query}\n{}\n\n{}\n{payload_hash}",
            parts.method.as_str(),
            canonical_headers.join("\n"),
            auth.signed_headers.join(";"),
        );
        let string_to_sign = format!(
            "{}\n{date}\n{scope}\n{}",
            auth.algorithm.name(),
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        hmac(&key, string_to_sign.as_bytes())
    };
    if signature_of(&lines).verify_slice(&expected).is_ok() {
        return true;
    }
    // The SDK's reading of `host`: cut at the first ':'.
    let Some(i) = host else {
        return false;
    };
    let Some((cut, _)) = lines[i].1.split_once(':') else {
        return false;
    };
    lines[i].1 = cut.to_owned();
    signature_of(&lines).verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_schemes() {
        let v = "V11-HMAC-SHA256 Credential=AK1/20240102/cn-north-4/dis/sdk_request, SignedHeaders=host;x-sdk-date, Signature=ab01";
        let a = parse(v).unwrap();
        assert_eq!(a.algorithm, Algorithm::V11);
        assert_eq!(a.access, "AK1");
        assert_eq!(a.date, "20240102");
        assert_eq!(a.region, "cn-north-4");
        assert_eq!(a.service, "dis");
        assert_eq!(a.signed_headers, ["host", "x-sdk-date"]);
        assert_eq!(a.signature, "ab01");
        let s = v.replace("V11-", "SDK-");
        assert_eq!(parse(&s).unwrap().algorithm, Algorithm::Sdk);
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
            assert_eq!(parse(v), None, "{v}");
        }
    }

    #[test]
    fn well_formed_is_any_scheme() {
        assert!(well_formed(
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=ab"
        ));
        assert!(well_formed(
            "V11-HMAC-SHA256 Credential=AK/20240102/r/dis/sdk_request, SignedHeaders=host, Signature=ab"
        ));
        assert!(well_formed(
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
            assert!(!well_formed(v), "{v}");
        }
    }

    #[test]
    fn canonical_uri_as_the_sdk() {
        assert_eq!(canonical_uri("/v2/p/records/"), "/v2/p/records/");
        assert_eq!(canonical_uri("/v2/p/records"), "/v2/p/records/");
        assert_eq!(canonical_uri("//v2/./p/x/../records"), "/v2/p/records/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/a%20b/c~d"), "/a%20b/c~d/");
    }

    #[test]
    fn canonical_query_as_the_sdk() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(
            canonical_query("limit=10&start_stream_name=a+b&empty="),
            "empty&limit=10&start_stream_name=a%20b"
        );
    }

    /// `hkdf.getDerKey("AK", "SK", "20240102/cn-north-4/dis", "hmacsha256")`, from the SDK.
    #[test]
    fn derived_key_as_hkdf_py() {
        assert_eq!(
            derived_key("AK", "SK", "20240102/cn-north-4/dis"),
            DERIVED_AK_SK_20240102
        );
    }

    const DERIVED_AK_SK_20240102: &str =
        "081644277c8abc2273990e960ea1a7e5e596c2ebae065f3e289ffdfae61aa7c5";
}
