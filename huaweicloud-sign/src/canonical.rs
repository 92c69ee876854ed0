//! The canonical request of `SDK-HMAC-SHA256` (Huawei's v3 SDKs): method, canonical URI,
//! canonical query, canonical headers, signed headers and payload hash, one per line.

use sha2::{Digest, Sha256};

use crate::constants::{EMPTY_BODY_SHA256, HEADER_CONTENT_SHA256};
use crate::encoding::{escape, py_strip, unescape};
use crate::request::{SignableRequest, header_value};

/// Builds the canonical request of `req` over the given `(lower-case name, raw value)` header
/// lines, in the order given, and returns it with the signed-header list (`name;name;...`).
pub(crate) fn canonical_request(
    req: &SignableRequest<'_>,
    lines: &[(&str, &str)],
) -> (String, String) {
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
    (canonical_request, signed_headers)
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
/// an empty body, see the crate documentation), else `hex(sha256(body))`.
fn payload_hash(headers: &[(String, String)], body: &[u8]) -> String {
    match header_value(headers, HEADER_CONTENT_SHA256).map(py_strip) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ if body.is_empty() => EMPTY_BODY_SHA256.to_owned(),
        _ => hex::encode(Sha256::digest(body)),
    }
}
