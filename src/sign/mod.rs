//! Huawei Cloud `SDK-HMAC-SHA256` (AK/SK) request signing and verification.
//!
//! This is a port of the signer in Huawei's Python v3 SDK
//! (`huaweicloudsdkcore/signer/signer.py`, class `Signer`, checked against
//! `huaweicloudsdkcore` 3.1.219), independent of any HTTP library. The pieces:
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash
//! StringToSign     = SDK-HMAC-SHA256 \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(key = SK, StringToSign))
//! Authorization    = SDK-HMAC-SHA256 Access={AK}, SignedHeaders={signed}, Signature={signature}
//! ```
//!
//! * CanonicalURI: the path is percent-decoded, split on `/`, each segment escaped keeping only
//!   `A-Z a-z 0-9 - _ . ~`, joined with `/`, and a trailing `/` is appended when missing.
//! * CanonicalQuery: `key=value` pairs (decoded, then sorted by key and then value, then escaped
//!   like path segments) joined with `&`; empty when there is no query.
//! * CanonicalHeaders: `lowercase-name:trimmed-value\n` for each signed header, sorted by name.
//!   Every header of the request is signed except names containing `_` (the SDK skips those).
//! * PayloadHash: the value of the `X-Sdk-Content-Sha256` header when present and non-empty
//!   (normally `UNSIGNED-PAYLOAD`), otherwise `hex(sha256(body))` (`e3b0c442...` when empty).
//!   The header wins even over an empty body, as in Huawei's Go v3 SDK, so that a streamed
//!   body (passed here as empty) can be signed as `UNSIGNED-PAYLOAD`; the Python SDK alone
//!   checks for an empty body first, a case it only meets with a non-JSON content type and
//!   no body.
//!
//! The secret key is only ever used as the HMAC key; nothing in this module stores it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// Name of the signing algorithm, first word of the `Authorization` header and first line of
/// the string to sign.
pub(crate) const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// Header carrying the signing time, `YYYYMMDDTHHMMSSZ` in UTC (see [`format_sdk_date`]).
pub(crate) const HEADER_SDK_DATE: &str = "X-Sdk-Date";
/// Header carrying the project id of project-scoped services such as DIS.
pub(crate) const HEADER_PROJECT_ID: &str = "X-Project-Id";
/// Header carrying the security token of temporary AK/SK credentials; it is signed like any
/// other header.
pub(crate) const HEADER_SECURITY_TOKEN: &str = "X-Security-Token";
/// Header whose value replaces the body hash in the canonical request when present. Huawei's
/// SDK sets it to [`UNSIGNED_PAYLOAD`] for non-JSON bodies.
pub(crate) const HEADER_CONTENT_SHA256: &str = "X-Sdk-Content-Sha256";
/// Value of [`HEADER_CONTENT_SHA256`] that leaves the body out of the signature.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Header that carries the signature.
pub(crate) const HEADER_AUTHORIZATION: &str = "Authorization";
/// `hex(sha256(""))`, the payload hash of a request without a body.
pub(crate) const EMPTY_BODY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Characters escaped in path segments and query keys/values: everything except the RFC 3986
/// unreserved characters `A-Z a-z 0-9 - _ . ~` (Python's `quote(s, safe='~')`).
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Header names whose values are replaced by `<redacted>` in the `Debug` output of
/// [`SignableRequest`].
const REDACTED_HEADERS: [&str; 3] = ["authorization", "x-security-token", "x-auth-token"];

type HmacSha256 = Hmac<Sha256>;

/// Inputs of one request to sign, independent of any HTTP library.
#[derive(Clone)]
pub struct SignableRequest<'a> {
    /// HTTP method; upper-cased for signing.
    pub method: &'a str,
    /// Path as on the wire (it may be percent-encoded), without the query.
    pub path: &'a str,
    /// Raw query string without the leading `?`; may be empty.
    pub query: &'a str,
    /// Every header that goes on the wire, including `Host` and `X-Sdk-Date`.
    pub headers: Vec<(String, String)>,
    /// Request body as sent.
    pub body: &'a [u8],
}

impl fmt::Debug for SignableRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'h>(&'h [(String, String)]);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|(name, value)| {
                        let sensitive = REDACTED_HEADERS
                            .iter()
                            .any(|s| name.eq_ignore_ascii_case(s));
                        (name.as_str(), if sensitive { "<redacted>" } else { value })
                    }))
                    .finish()
            }
        }
        f.debug_struct("SignableRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &Headers(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Result of [`sign_parts`]: the intermediate strings (useful for debugging signature mismatches)
/// and the final `Authorization` header value. Its `Debug` hides the values of credential
/// headers (`x-security-token`, `x-auth-token`) in the canonical request.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SignatureParts {
    /// The canonical request that was hashed.
    pub canonical_request: String,
    /// The string that was signed with HMAC-SHA256.
    pub string_to_sign: String,
    /// Lower-case names of the signed headers joined by `;`.
    pub signed_headers: String,
    /// Lower-case hex HMAC-SHA256 signature.
    pub signature: String,
    /// Value of the `Authorization` header.
    pub authorization: String,
}

impl fmt::Debug for SignatureParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let canonical: Vec<String> = self
            .canonical_request
            .split('\n')
            .map(|line| match line.split_once(':') {
                Some((name, _)) if matches!(name, "x-security-token" | "x-auth-token") => {
                    format!("{name}:[REDACTED]")
                }
                _ => line.to_owned(),
            })
            .collect();
        f.debug_struct("SignatureParts")
            .field("canonical_request", &canonical.join("\n"))
            .field("string_to_sign", &self.string_to_sign)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &self.signature)
            .field("authorization", &self.authorization)
            .finish()
    }
}

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

/// Signs `req` with the access key `ak` and secret key `sk`, and returns the value of its
/// `Authorization` header.
///
/// Requirements on `req.headers`:
/// * it must contain `X-Sdk-Date` (see [`format_sdk_date`]); its value
///   is the second line of the string to sign. Without it the date line is empty and the
///   server will reject the signature;
/// * it must contain `Host` (`host`, or `host:port` for a port other than the scheme's
///   default), as the SDK always signs it;
/// * it must hold exactly the values sent on the wire (values are trimmed for signing).
///
/// Every header is signed except names containing `_` (Huawei's signer skips them) and
/// `Authorization` (which cannot sign itself; the SDK never has one at that point). A header
/// name given several times is signed once, with its last value.
///
/// Huawei's SDK adds `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` before signing when the
/// content type is not JSON or BSON; this function does not add headers, so callers that want
/// the same behaviour add it themselves. The same header
/// signs a body that cannot be hashed up front (streamed): pass it with an empty `body`.
///
/// In the query, `+` is read as a space, as in form-encoded query strings (reqwest's
/// `.query()` writes spaces so); Huawei's SDK never puts a literal `+` on the wire (it sends
/// `%2B` and `%20`), so both readings agree on what it sends.
pub fn sign(req: &SignableRequest<'_>, ak: &str, sk: &str) -> String {
    sign_parts(req, ak, sk).authorization
}

/// [`sign`], with the intermediate strings (the canonical request, the string to sign), which
/// the tests compare with Huawei's signer.
pub(crate) fn sign_parts(req: &SignableRequest<'_>, ak: &str, sk: &str) -> SignatureParts {
    let mut names: Vec<String> = req
        .headers
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .filter(|name| !name.contains('_') && name != "authorization")
        .collect();
    names.sort();
    names.dedup();
    let lines: Vec<(&str, &str)> = names
        .iter()
        .map(|name| {
            let value = header_value(&req.headers, name).unwrap_or_default();
            (name.as_str(), value)
        })
        .collect();
    let canonical = canonicalize(req, &lines);
    let signature = hex::encode(mac(sk, &canonical.string_to_sign).finalize().into_bytes());
    let authorization = format!(
        "{ALGORITHM} Access={ak}, SignedHeaders={}, Signature={signature}",
        canonical.signed_headers
    );
    SignatureParts {
        canonical_request: canonical.canonical_request,
        string_to_sign: canonical.string_to_sign,
        signed_headers: canonical.signed_headers,
        signature,
        authorization,
    }
}

/// Whether Huawei's SDK would send `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` for a request
/// with this `Content-Type` value: true when it is non-empty and starts with neither
/// `application/json` nor `application/bson` (case-sensitive, as in the SDK).
pub(crate) fn needs_unsigned_payload(content_type: &str) -> bool {
    !content_type.is_empty()
        && !content_type.starts_with("application/json")
        && !content_type.starts_with("application/bson")
}

/// Formats `t` as an `X-Sdk-Date` value, `%Y%m%dT%H%M%SZ` in UTC (e.g. `20240102T030405Z`),
/// truncating sub-second precision. Years outside 0..=9999 do not fit the format.
pub fn format_sdk_date(t: SystemTime) -> String {
    let secs: i64 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            // Before 1970: round towards negative infinity so the time of day stays correct.
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 { -s - 1 } else { -s }
        }
    };
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Parses an `X-Sdk-Date` value (`%Y%m%dT%H%M%SZ`, UTC, exactly 16 characters).
///
/// Returns `None` for anything else: wrong length or separators, non-digits, year 0, month
/// or day out of range (including February 29 of a non-leap year), hour > 23, minute or
/// second > 59.
pub fn parse_sdk_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    let (hour, minute, second) = (num(9, 11)?, num(11, 13)?, num(13, 15)?);
    if year == 0
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let secs = days_from_civil(i64::from(year), month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second);
    let offset = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

/// Value of the `Host` header: `host`, or `host:port` when `port` is given and is not the
/// default port of `scheme` (80 for `http`, 443 for `https`; any port is kept for other
/// schemes). An IPv6 address must be passed in brackets, as URL libraries return it.
pub(crate) fn host_header(scheme: &str, host: &str, port: Option<u16>) -> String {
    let default_port = if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else {
        None
    };
    match port {
        Some(p) if Some(p) != default_port => format!("{host}:{p}"),
        _ => host.to_owned(),
    }
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
    let signed_headers: Vec<String> = signed?.split(';').map(str::to_owned).collect();
    if signed_headers.iter().any(String::is_empty) {
        return None;
    }
    Some(ParsedAuthorization {
        access: access?.to_owned(),
        signed_headers,
        signature: signature?.to_owned(),
    })
}

/// Server side: recomputes the signature of `req` over the headers listed in
/// `parsed.signed_headers` only (in that order, as the client signed them) and compares it
/// with `parsed.signature` in constant time.
///
/// Also returns `false` when a listed header is missing from the request, when `host` or
/// `x-sdk-date` is not among the signed headers, or when `X-Sdk-Date` does not parse. It does
/// not check the access key or the 15-minute window: use [`parse_sdk_date`] for that. Note
/// that a request carrying `X-Sdk-Content-Sha256` has its body not covered by the signature.
pub fn verify(req: &SignableRequest<'_>, parsed: &ParsedAuthorization, sk: &str) -> bool {
    let signs = |name: &str| {
        parsed
            .signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    };
    if !signs("host") || !signs(HEADER_SDK_DATE) {
        return false;
    }
    let date_ok = header_value(&req.headers, HEADER_SDK_DATE)
        .and_then(|d| parse_sdk_date(py_strip(d)))
        .is_some();
    if !date_ok {
        return false;
    }
    let mut lines = Vec::with_capacity(parsed.signed_headers.len());
    for name in &parsed.signed_headers {
        match header_value(&req.headers, name) {
            Some(value) => lines.push((name.as_str(), value)),
            None => return false,
        }
    }
    let Ok(expected) = hex::decode(&parsed.signature) else {
        return false;
    };
    let canonical = canonicalize(req, &lines);
    mac(sk, &canonical.string_to_sign)
        .verify_slice(&expected)
        .is_ok()
}

/// Canonical request, string to sign and signed-header list of one request.
struct Canonical {
    canonical_request: String,
    string_to_sign: String,
    signed_headers: String,
}

/// Builds the canonical request over the given `(name, raw value)` header lines, in order.
fn canonicalize(req: &SignableRequest<'_>, lines: &[(&str, &str)]) -> Canonical {
    // As the SDK: '\n'.join("name:value") + "\n" (so "\n" when nothing is signed).
    let mut canonical_headers = lines
        .iter()
        .map(|(name, value)| format!("{name}:{}", py_strip(value)))
        .collect::<Vec<_>>()
        .join("\n");
    canonical_headers.push('\n');
    let signed_headers = lines
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_uppercase(),
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        payload_hash(&req.headers, req.body),
    );
    let date = header_value(&req.headers, HEADER_SDK_DATE).map_or("", py_strip);
    let string_to_sign = format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    Canonical {
        canonical_request,
        string_to_sign,
        signed_headers,
    }
}

/// HMAC-SHA256 keyed with the secret key over `message`.
fn mac(sk: &str, message: &str) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(sk.as_bytes()).expect("HMAC-SHA256 accepts keys of any length");
    mac.update(message.as_bytes());
    mac
}

/// `quote(s, safe='~')`: UTF-8, every byte but `A-Z a-z 0-9 - _ . ~` as upper-case `%XX`.
fn escape(s: &str) -> String {
    utf8_percent_encode(s, ESCAPED).to_string()
}

/// `unquote(s)`: `%XX` decoded, invalid UTF-8 replaced by U+FFFD, malformed escapes kept.
fn unescape(s: &[u8]) -> String {
    percent_decode(s).decode_utf8_lossy().into_owned()
}

/// The SDK's `_process_canonical_uri`: decode the whole path, split on `/`, escape each
/// segment, join with `/`, append `/` when missing. (An encoded `%2F` thus splits segments,
/// exactly as in the SDK.)
fn canonical_uri(path: &str) -> String {
    let decoded = unescape(path.as_bytes());
    let mut uri = decoded.split('/').map(escape).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The SDK's `_process_canonical_query_string` applied to the decoded pairs of a raw query
/// string: sort by (key, value), escape both, join `k=v` with `&`. A parameter without `=`
/// has an empty value; empty parameters (`a=1&&b=2`) are ignored.
fn canonical_query(query: &str) -> String {
    let decode = |s: &str| {
        let bytes: Vec<u8> = s
            .bytes()
            .map(|b| if b == b'+' { b' ' } else { b })
            .collect();
        unescape(&bytes)
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The payload hash: the `X-Sdk-Content-Sha256` value when present and non-empty (also for
/// an empty body, see the module documentation), else `hex(sha256(body))`.
fn payload_hash(headers: &[(String, String)], body: &[u8]) -> String {
    match header_value(headers, HEADER_CONTENT_SHA256).map(py_strip) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ if body.is_empty() => EMPTY_BODY_SHA256.to_owned(),
        _ => hex::encode(Sha256::digest(body)),
    }
}

/// Last value of the header `name` (ASCII case-insensitive).
fn header_value<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Python's `str.strip()`: Unicode whitespace plus the separators U+001C..U+001F.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Days of `month` (1..=12) in the proleptic Gregorian `year`.
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let (m, d) = (i64::from(month), i64::from(day));
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests;
