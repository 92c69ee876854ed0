//! The legacy schemes' signing keys: the HMAC chain over the credential scope, started from the
//! secret key (`SDK-HMAC-SHA256`) or from a key derived from the AK/SK pair (`V11-HMAC-SHA256`).

use hmac::Mac;

use super::scheme::{Algorithm, Scope, TERMINATION};
use crate::signing::HmacSha256;

/// HMAC-SHA256 keyed with `key` over `message`.
pub(super) fn hmac(key: &[u8], message: &[u8]) -> HmacSha256 {
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

/// The key that signs the string to sign of `algorithm`, for the access key `ak` and secret
/// key `sk` over `scope`.
pub(super) fn signing_key(algorithm: Algorithm, ak: &str, sk: &str, scope: Scope<'_>) -> Vec<u8> {
    let secret = match algorithm {
        Algorithm::Sdk => sk.to_owned(),
        Algorithm::V11 => derived_key(
            ak,
            sk,
            &format!("{}/{}/{}", scope.date, scope.region, scope.service),
        ),
    };
    let mut key = format!("SDK{secret}").into_bytes();
    for part in [scope.date, scope.region, scope.service, TERMINATION] {
        key = hmac(&key, part.as_bytes()).finalize().into_bytes().to_vec();
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

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
