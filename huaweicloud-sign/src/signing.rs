//! The string to sign and the signature of `SDK-HMAC-SHA256`: which headers are signed, the
//! string to sign over the canonical request, the HMAC keyed with the secret key, and the
//! `Authorization` value.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::canonical;
use crate::constants::{ALGORITHM, HEADER_SDK_DATE};
use crate::encoding::py_strip;
use crate::request::{SignableRequest, header_value};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// Result of [`sign_parts`]: the intermediate strings (useful for debugging signature
/// mismatches) and the final `Authorization` header value.
///
/// Its `Debug` hides the values of credential headers (`x-security-token`, `x-auth-token`) in
/// the canonical request. The secret key is in none of its fields.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureParts {
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

/// Signs `req` with the access key `ak` and secret key `sk`, and returns the value of its
/// `Authorization` header.
///
/// Requirements on `req.headers`:
/// * it must contain `X-Sdk-Date` (see [`format_sdk_date`](crate::format_sdk_date)); its value
///   is the second line of the string to sign. Without it the date line is empty and the
///   server will reject the signature;
/// * it must contain `Host` (`host`, or `host:port` for a port other than the scheme's
///   default, see [`host_header`](crate::host_header)), as the SDK always signs it;
/// * it must hold exactly the values sent on the wire (values are trimmed for signing).
///
/// Every header is signed except names containing `_` (Huawei's signer skips them) and
/// `Authorization` (which cannot sign itself; the SDK never has one at that point). A header
/// name given several times is signed once, with its last value.
///
/// Huawei's SDK adds `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` before signing when the
/// content type is not JSON or BSON (see
/// [`needs_unsigned_payload`](crate::needs_unsigned_payload)); this function does not add
/// headers, so callers that want the same behaviour add it themselves. The same header signs
/// a body that cannot be hashed up front (streamed): pass it with an empty `body`.
///
/// In the query, `+` is read as a space, as in form-encoded query strings (reqwest's
/// `.query()` writes spaces so); Huawei's SDK never puts a literal `+` on the wire (it sends
/// `%2B` and `%20`), so both readings agree on what it sends.
pub fn sign(req: &SignableRequest<'_>, ak: &str, sk: &str) -> String {
    sign_parts(req, ak, sk).authorization
}

/// [`sign`], with the intermediate strings (the canonical request, the string to sign), to
/// compare with Huawei's signer when a signature is refused.
pub fn sign_parts(req: &SignableRequest<'_>, ak: &str, sk: &str) -> SignatureParts {
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
    let (canonical_request, signed_headers) = canonical::canonical_request(req, &lines);
    let string_to_sign = string_to_sign(req, &canonical_request);
    let signature = hex::encode(mac(sk, &string_to_sign).finalize().into_bytes());
    let authorization =
        format!("{ALGORITHM} Access={ak}, SignedHeaders={signed_headers}, Signature={signature}");
    SignatureParts {
        canonical_request,
        string_to_sign,
        signed_headers,
        signature,
        authorization,
    }
}

/// `SDK-HMAC-SHA256 \n X-Sdk-Date \n hex(sha256(canonical request))`, the date taken from
/// `req`'s headers (empty when it has none).
pub(crate) fn string_to_sign(req: &SignableRequest<'_>, canonical_request: &str) -> String {
    let date = header_value(&req.headers, HEADER_SDK_DATE).map_or("", py_strip);
    format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// HMAC-SHA256 keyed with the secret key over `message`.
pub(crate) fn mac(sk: &str, message: &str) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(sk.as_bytes()).expect("HMAC-SHA256 accepts keys of any length");
    mac.update(message.as_bytes());
    mac
}
