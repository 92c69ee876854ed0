//! The names and fixed values of `SDK-HMAC-SHA256`: the algorithm, the headers it reads and
//! writes, and the payload hashes that stand for a body.

/// Name of the signing algorithm, first word of the `Authorization` header and first line of
/// the string to sign.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Header carrying the signing time, `YYYYMMDDTHHMMSSZ` in UTC (see
/// [`format_sdk_date`](crate::format_sdk_date)).
pub const HEADER_SDK_DATE: &str = "X-Sdk-Date";

/// Header carrying the project id of project-scoped services such as DIS.
pub const HEADER_PROJECT_ID: &str = "X-Project-Id";

/// Header carrying the security token of temporary AK/SK credentials; it is signed like any
/// other header.
pub const HEADER_SECURITY_TOKEN: &str = "X-Security-Token";

/// Header whose value replaces the body hash in the canonical request when present. Huawei's
/// SDK sets it to [`UNSIGNED_PAYLOAD`] for non-JSON bodies.
pub const HEADER_CONTENT_SHA256: &str = "X-Sdk-Content-Sha256";

/// Value of [`HEADER_CONTENT_SHA256`] that leaves the body out of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Header that carries the signature.
pub const HEADER_AUTHORIZATION: &str = "Authorization";

/// `hex(sha256(""))`, the payload hash of a request without a body.
pub const EMPTY_BODY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
