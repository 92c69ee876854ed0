//! Client side of the legacy schemes: the `Authorization` value the hand-written SDK's
//! `Signer.Sign` (`SDK-HMAC-SHA256`) and `Signer.SignWithDerivationKey` (`V11-HMAC-SHA256`)
//! put on a request.

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::canonical::{HeaderOrder, canonical_request, string_to_sign};
use super::key::{hmac, signing_key};
use super::scheme::{Algorithm, Scope};
use crate::constants::{HEADER_CONTENT_SHA256, HEADER_SDK_DATE};
use crate::date::parse_sdk_date;
use crate::encoding::py_strip;
use crate::request::{SignableRequest, header_value};

/// Signs `req` with `algorithm` as the hand-written SDK does, with the access key `ak`, the
/// secret key `sk` and the scope's `region` and `service` (`dis`), and returns the value of its
/// `Authorization` header:
/// `ALG Credential={ak}/{YYYYMMDD}/{region}/{service}/sdk_request, SignedHeaders=..., Signature=...`.
///
/// Every header of `req` is signed (the SDK signs every header it holds at that point, which is
/// `host` and `x-sdk-date` for its own requests), except `Authorization`; names are
/// lower-cased, a name given several times is signed once with its last value. `X-Sdk-Date`
/// must be among them: its value is the date of the string to sign and its first 8 digits the
/// scope's date. Like the SDK, pass `Host` without the port (the SDK signs it so, then sends
/// the port; [`verify`](super::verify) accepts either). An `X-Sdk-Content-Sha256` header
/// replaces the body hash with its value.
///
/// Returns `None` when `X-Sdk-Date` is missing or not a valid `%Y%m%dT%H%M%SZ` date. `region`
/// and `service` must not contain `/` (the scope could not be read back).
pub fn sign(
    req: &SignableRequest<'_>,
    algorithm: Algorithm,
    ak: &str,
    sk: &str,
    region: &str,
    service: &str,
) -> Option<String> {
    let date = py_strip(header_value(&req.headers, HEADER_SDK_DATE)?);
    parse_sdk_date(date)?;
    let scope = Scope {
        date: &date[..8],
        region,
        service,
    };
    let mut names: Vec<String> = req
        .headers
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .filter(|name| name != "authorization")
        .collect();
    names.sort();
    names.dedup();
    let lines: Vec<(String, String)> = names
        .iter()
        .map(|name| {
            let value = header_value(&req.headers, name).unwrap_or_default();
            (name.clone(), py_strip(value).to_owned())
        })
        .collect();
    let signed_headers = names.join(";");
    let payload_hash = match header_value(&req.headers, HEADER_CONTENT_SHA256) {
        Some(value) => value.to_owned(),
        None => hex::encode(Sha256::digest(req.body)),
    };
    let canonical = canonical_request(
        req.method,
        req.path,
        req.query,
        &lines,
        HeaderOrder::Lines,
        &signed_headers,
        &payload_hash,
    );
    let key = signing_key(algorithm, ak, sk, scope);
    let signature = hex::encode(
        hmac(
            &key,
            string_to_sign(algorithm, date, scope, &canonical).as_bytes(),
        )
        .finalize()
        .into_bytes(),
    );
    Some(format!(
        "{} Credential={ak}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        algorithm.name()
    ))
}
