//! The request to sign or verify, as plain strings and bytes (no HTTP library), and the two
//! header rules of Huawei's SDK that a caller applies before signing: the `Host` value and
//! when a body goes unsigned.

use std::fmt;

/// Header names whose values are replaced by `<redacted>` in the `Debug` output of
/// [`SignableRequest`].
const REDACTED_HEADERS: [&str; 3] = ["authorization", "x-security-token", "x-auth-token"];

/// Inputs of one request to sign or verify, independent of any HTTP library.
///
/// Its `Debug` output shows the body's length only and replaces the values of `Authorization`,
/// `X-Security-Token` and `X-Auth-Token` with `<redacted>`.
#[derive(Clone)]
pub struct SignableRequest<'a> {
    /// HTTP method; upper-cased for signing by the v3 scheme, used as given by the legacy ones.
    pub method: &'a str,
    /// Path as on the wire (it may be percent-encoded), without the query.
    pub path: &'a str,
    /// Raw query string without the leading `?`; may be empty.
    pub query: &'a str,
    /// Every header that goes on the wire, including `Host` and `X-Sdk-Date`.
    pub headers: Vec<(String, String)>,
    /// Request body as sent.
    pub body: &'a [u8],
}

impl fmt::Debug for SignableRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'h>(&'h [(String, String)]);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|(name, value)| {
                        let sensitive = REDACTED_HEADERS
                            .iter()
                            .any(|s| name.eq_ignore_ascii_case(s));
                        (name.as_str(), if sensitive { "<redacted>" } else { value })
                    }))
                    .finish()
            }
        }
        f.debug_struct("SignableRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &Headers(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Last value of the header `name` (ASCII case-insensitive).
pub(crate) fn header_value<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether Huawei's SDK would send `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` for a request
/// with this `Content-Type` value: true when it is non-empty and starts with neither
/// `application/json` nor `application/bson` (case-sensitive, as in the SDK).
pub fn needs_unsigned_payload(content_type: &str) -> bool {
    !content_type.is_empty()
        && !content_type.starts_with("application/json")
        && !content_type.starts_with("application/bson")
}

/// Value of the `Host` header: `host`, or `host:port` when `port` is given and is not the
/// default port of `scheme` (80 for `http`, 443 for `https`; any port is kept for other
/// schemes). An IPv6 address must be passed in brackets, as URL libraries return it.
pub fn host_header(scheme: &str, host: &str, port: Option<u16>) -> String {
    let default_port = if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else {
        None
    };
    match port {
        Some(p) if Some(p) != default_port => format!("{host}:{p}"),
        _ => host.to_owned(),
    }
}
