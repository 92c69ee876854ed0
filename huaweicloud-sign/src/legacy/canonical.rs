//! The legacy schemes' canonical request (`disauth.py`'s `CanonicalRequest`) and string to
//! sign, shared by [`sign`](super::sign) and [`verify`](super::verify).

use sha2::{Digest, Sha256};

use super::scheme::{Algorithm, Scope};
use crate::encoding::{escape, unescape};

/// How the signed header lines are ordered in the canonical request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HeaderOrder {
    /// Sorted as whole `name:value` lines, as the Python SDK's `disauth.py` sorts them.
    Lines,
    /// As given (the order of `SignedHeaders`), as the Java SDK's `DefaultSigner` writes them:
    /// sorted by name, so `accept` comes before `accept-encoding` where whole lines
    /// (`accept-encoding:...` < `accept:...`) put it after.
    Given,
}

/// The canonical request over the signed header lines (`(lower-case name, value)`, ordered by
/// `order`), with the signed-header list as it goes into the `Authorization` value.
pub(super) fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    lines: &[(String, String)],
    order: HeaderOrder,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    let mut canonical_headers: Vec<String> =
        lines.iter().map(|(n, v)| format!("{n}:{v}")).collect();
    if order == HeaderOrder::Lines {
        canonical_headers.sort();
    }
    format!(
        "{method}\n{}\n{}\n{}\n\n{signed_headers}\n{payload_hash}",
        canonical_uri(path),
        canonical_query(query),
        canonical_headers.join("\n"),
    )
}

/// `ALG \n X-Sdk-Date \n scope \n hex(sha256(canonical request))`.
pub(super) fn string_to_sign(
    algorithm: Algorithm,
    date: &str,
    scope: Scope<'_>,
    canonical_request: &str,
) -> String {
    format!(
        "{}\n{date}\n{scope}\n{}",
        algorithm.name(),
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
