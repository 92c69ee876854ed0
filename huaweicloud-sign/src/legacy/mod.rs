//! The signatures of Huawei's hand-written Python DIS SDK (`huaweicloud-sdk-python-dis`,
//! `dis_sdk_python/.../models/disauth.py`), signed and verified. Two schemes share one
//! layout, with a credential scope instead of the v3 SDK's `Access=`:
//!
//! ```text
//! Authorization = ALG Credential={AK}/{YYYYMMDD}/{region}/{service}/sdk_request, SignedHeaders={h1;h2}, Signature={hex}
//! StringToSign  = ALG \n X-Sdk-Date \n {YYYYMMDD}/{region}/{service}/sdk_request \n hex(sha256(CanonicalRequest))
//! SigningKey    = HMAC chain over "SDK" + secret: YYYYMMDD, region, service, "sdk_request"
//! Signature     = hex(HMAC-SHA256(SigningKey, StringToSign))
//! ```
//!
//! * `SDK-HMAC-SHA256` ([`Algorithm::Sdk`]; `Signer.Sign`, the SDK with
//!   `derivationKeySwitch=False`): the secret is the secret key.
//! * `V11-HMAC-SHA256` ([`Algorithm::V11`]; `Signer.SignWithDerivationKey`, the SDK's
//!   default): the secret is a key derived from the AK/SK pair (`utils/hkdf.py`): the hex of
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
//!   each followed by `\n`; Huawei's Java DIS SDK (`DefaultSigner`, which signs the
//!   `SDK-HMAC-SHA256 Credential=` scheme over every header it sets) sorts them by name instead,
//!   which differs when one name starts another (`accept`, `accept-encoding`): [`verify`]
//!   accepts either order;
//! * the payload hash: the value of `x-sdk-content-sha256` when that header is signed, else
//!   `hex(sha256(body))`.
//!
//! The SDK signs `host` without its port (its `split(':')[-1] == '443' or '80'` is always
//! true), then sends the port on the wire: [`verify`] tries the `Host` value as sent, then cut
//! at its first `:`, as the SDK cuts it; a caller of [`sign`] who wants the SDK's exact
//! signature passes the host without its port.
//!
//! The secret key is only ever used as an HMAC key (or HMAC message, to derive the V11 key);
//! nothing here stores it.

mod authorization;
mod canonical;
mod key;
mod scheme;
mod signing;
mod verifying;

pub use authorization::{CredentialAuthorization, parse_authorization};
pub use scheme::Algorithm;
pub use signing::sign;
pub use verifying::verify;
