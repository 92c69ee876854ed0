//! Server side of `SDK-HMAC-SHA256`: recomputes the signature of a received request over the
//! headers its `Authorization` lists, and compares in constant time.

use hmac::Mac;

use crate::authorization::ParsedAuthorization;
use crate::canonical;
use crate::constants::HEADER_SDK_DATE;
use crate::date::parse_sdk_date;
use crate::encoding::py_strip;
use crate::request::{SignableRequest, header_value};
use crate::signing::{mac, string_to_sign};

/// Server side: recomputes the signature of `req` over the headers listed in
/// `parsed.signed_headers` only (in that order, as the client signed them) and compares it
/// with `parsed.signature` in constant time.
///
/// Also returns `false` when a listed header is missing from the request, when `x-sdk-date`
/// is not among the signed headers, or when `X-Sdk-Date` does not parse. `host` need not be
/// signed: Huawei's Go v3 SDK signs only the headers it sets (`user-agent;x-project-id;
/// x-sdk-date` for SendRecords). It does
/// not check the access key or the 15-minute window: use
/// [`parse_sdk_date`](crate::parse_sdk_date) for that. Note that a request carrying
/// `X-Sdk-Content-Sha256` has its body not covered by the signature.
pub fn verify(req: &SignableRequest<'_>, parsed: &ParsedAuthorization, sk: &str) -> bool {
    let signs = |name: &str| {
        parsed
            .signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    };
    if !signs(HEADER_SDK_DATE) {
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
    let (canonical_request, _) = canonical::canonical_request(req, &lines);
    mac(sk, &string_to_sign(req, &canonical_request))
        .verify_slice(&expected)
        .is_ok()
}
