//! Server side of the legacy schemes: recomputes the signature of a received request over the
//! headers its `Authorization` lists, and compares in constant time.

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::authorization::CredentialAuthorization;
use super::canonical::{HeaderOrder, canonical_request, string_to_sign};
use super::key::{hmac, signing_key};
use super::scheme::Scope;
use crate::constants::HEADER_CONTENT_SHA256;
use crate::encoding::py_strip;
use crate::request::{SignableRequest, header_value};

/// Verifies a request signed by a hand-written SDK with the secret key `sk`: recomputes the
/// signature over the headers listed in `auth.signed_headers` and compares in constant time.
///
/// The header lines are tried sorted as whole `name:value` lines (the Python SDK), then in the
/// order of `SignedHeaders` (the Java SDK's `DefaultSigner`, which sorts by name: the two differ
/// when one signed name starts another, as `accept` and `accept-encoding` do in its compressed
/// requests). The `host` line is tried with the `Host` value as sent, then cut at its first `:`
/// (the Python SDK signs the host without its port and sends the port). Returns `false` when a listed header
/// is missing, when `X-Sdk-Date` is missing or not on the scope's day, or when the signature is
/// not hex. It checks neither the access key, nor that `host` and `x-sdk-date` are signed, nor
/// the date window: the caller does (see [`parse_sdk_date`](crate::parse_sdk_date)).
pub fn verify(req: &SignableRequest<'_>, auth: &CredentialAuthorization, sk: &str) -> bool {
    let Some(date) = header_value(&req.headers, "x-sdk-date") else {
        return false;
    };
    let date = py_strip(date);
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
        let Some(value) = header_value(&req.headers, &name) else {
            return false;
        };
        let value = py_strip(value).to_owned();
        if name == "host" {
            host = Some(lines.len());
        }
        lines.push((name, value));
    }
    let payload_hash = if auth
        .signed_headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case(HEADER_CONTENT_SHA256))
    {
        header_value(&req.headers, HEADER_CONTENT_SHA256)
            .unwrap_or_default()
            .to_owned()
    } else {
        hex::encode(Sha256::digest(req.body))
    };
    let scope = Scope {
        date: &auth.date,
        region: &auth.region,
        service: &auth.service,
    };
    let key = signing_key(auth.algorithm, &auth.access, sk, scope);
    let signed_headers = auth.signed_headers.join(";");
    let signature_of = |lines: &[(String, String)], order: HeaderOrder| {
        let canonical = canonical_request(
            req.method,
            req.path,
            req.query,
            lines,
            order,
            &signed_headers,
            &payload_hash,
        );
        hmac(
            &key,
            string_to_sign(auth.algorithm, date, scope, &canonical).as_bytes(),
        )
    };
    let matches = |lines: &[(String, String)]| {
        [HeaderOrder::Lines, HeaderOrder::Given]
            .into_iter()
            .any(|order| signature_of(lines, order).verify_slice(&expected).is_ok())
    };
    if matches(&lines) {
        return true;
    }
    let Some(i) = host else {
        return false;
    };
    let Some((cut, _)) = lines[i].1.split_once(':') else {
        return false;
    };
    lines[i].1 = cut.to_owned();
    matches(&lines)
}
