//! Huawei Cloud AK/SK request signatures, signed and verified, independent of any HTTP
//! library: the API gateway's `SDK-HMAC-SHA256` (Huawei's v3 SDKs), and in [`legacy`] the two
//! schemes of Huawei's hand-written Python DIS SDK (`V11-HMAC-SHA256 Credential=...` and
//! `SDK-HMAC-SHA256 Credential=...`).
//!
//! The v3 scheme is a port of the signer in Huawei's Python v3 SDK
//! (`huaweicloudsdkcore/signer/signer.py`, class `Signer`, checked against
//! `huaweicloudsdkcore` 3.1.219) and is pinned by golden vectors that SDK computed. The pieces:
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
//! What is where:
//!
//! | | v3 (`SDK-HMAC-SHA256 Access=...`) | legacy (`... Credential=...`) |
//! |---|---|---|
//! | the request | [`SignableRequest`], [`host_header`], [`needs_unsigned_payload`] | the same [`SignableRequest`] |
//! | sign | [`sign`], [`sign_parts`] | [`legacy::sign`] |
//! | parse `Authorization` | [`parse_authorization`] | [`legacy::parse_authorization`] |
//! | verify | [`verify`] | [`legacy::verify`] |
//! | `X-Sdk-Date` | [`format_sdk_date`], [`parse_sdk_date`] | the same |
//!
//! [`is_well_formed_authorization`] checks the shape of a value of any scheme without
//! verifying it.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use huaweicloud_sign::{SignableRequest, format_sdk_date, parse_authorization, sign, verify};
//!
//! // The clock is the caller's: the signature covers the X-Sdk-Date header of the request.
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_164_645);
//! let request = SignableRequest {
//!     method: "POST",
//!     path: "/v2/my-project/records",
//!     query: "",
//!     headers: vec![
//!         ("Host".into(), "dis.cn-north-4.myhuaweicloud.com".into()),
//!         ("Content-Type".into(), "application/json".into()),
//!         ("X-Sdk-Date".into(), format_sdk_date(now)),
//!     ],
//!     body: br#"{"stream_name":"s","records":[]}"#,
//! };
//! let authorization = sign(&request, "MY-AK", "my-secret-key");
//! assert!(authorization.starts_with(
//!     "SDK-HMAC-SHA256 Access=MY-AK, SignedHeaders=content-type;host;x-sdk-date, Signature="
//! ));
//!
//! // The server side.
//! let parsed = parse_authorization(&authorization).unwrap();
//! assert!(verify(&request, &parsed, "my-secret-key"));
//! assert!(!verify(&request, &parsed, "another-key"));
//! ```
//!
//! Secrets: the secret key is only ever used as an HMAC key (or, for `V11-HMAC-SHA256`, as the
//! message that derives one); no type of this crate stores it, and the `Debug` output of
//! [`SignableRequest`] and [`SignatureParts`] hides the credential headers
//! (`Authorization`, `X-Security-Token`, `X-Auth-Token`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod authorization;
mod canonical;
mod constants;
mod date;
mod encoding;
pub mod legacy;
mod request;
mod signing;
mod verifying;

pub use authorization::{ParsedAuthorization, is_well_formed_authorization, parse_authorization};
pub use constants::{
    ALGORITHM, EMPTY_BODY_SHA256, HEADER_AUTHORIZATION, HEADER_CONTENT_SHA256, HEADER_PROJECT_ID,
    HEADER_SDK_DATE, HEADER_SECURITY_TOKEN, UNSIGNED_PAYLOAD,
};
pub use date::{civil_from_days, days_from_civil, format_sdk_date, parse_sdk_date};
pub use request::{SignableRequest, host_header, needs_unsigned_payload};
pub use signing::{SignatureParts, sign, sign_parts};
pub use verifying::verify;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
