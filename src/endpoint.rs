//! Where requests go and over what: the endpoint URL (a region name or a URL), the TLS
//! provider, and the HTTP client the generated client sends with.

use std::time::Duration;

use crate::error::{ConfigError, Error};

/// Resolves an endpoint: a region name (`cn-north-4` becomes
/// `https://dis.cn-north-4.myhuaweicloud.com`) or a full `http(s)://` URL. A trailing `/` is
/// removed, so that paths never become `//v2/...`.
pub(crate) fn endpoint_url(endpoint: &str) -> Result<String, Error> {
    let endpoint = endpoint.trim();
    let url = if endpoint.contains("://") {
        endpoint.trim_end_matches('/').to_owned()
    } else if !endpoint.is_empty()
        && endpoint
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        format!("https://dis.{endpoint}.myhuaweicloud.com")
    } else {
        return Err(Error::Config(ConfigError::new(
            "endpoint",
            format!("{endpoint:?}: expected a region name such as cn-north-4 or an http(s):// URL"),
        )));
    };
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| ConfigError::caused_by("endpoint", format!("{url:?}: {e}"), e))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Config(ConfigError::new(
            "endpoint",
            format!("{url:?}: expected an http(s):// URL with a host"),
        )));
    }
    // Request paths are appended to the endpoint: a query or fragment would swallow them, and
    // user:password would be sent as Basic auth and printed by Debug.
    let refuse = |what: &str| {
        Err(Error::Config(ConfigError::new(
            "endpoint",
            format!(
                "{what} is not allowed in the endpoint URL; give scheme, host, port and path only"
            ),
        )))
    };
    if parsed.query().is_some() || url.contains('?') {
        return refuse("a query (?...)");
    }
    if parsed.fragment().is_some() || url.contains('#') {
        return refuse("a fragment (#...)");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return refuse("user information (user:password@)");
    }
    Ok(url)
}

/// Installs rustls' `ring` provider as the process default once (the default `aws-lc-rs`
/// takes minutes to build on small machines). A provider installed earlier is kept.
pub(crate) fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Time to connect, at most (a shorter request timeout wins).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle keep-alive connections kept per host.
const POOL_MAX_IDLE_PER_HOST: usize = 64;

/// The HTTP client: `timeout` for a whole request, no redirects, `TCP_NODELAY`; the root
/// certificates of `roots` (PEM, may be empty) trusted besides the system's.
pub(crate) fn http_client(timeout: Duration, roots: &[u8]) -> Result<reqwest::Client, Error> {
    ensure_crypto_provider();
    let mut builder = reqwest::Client::builder();
    if !roots.iter().all(u8::is_ascii_whitespace) {
        let certs = reqwest::Certificate::from_pem_bundle(roots).map_err(|e| {
            Error::Config(ConfigError::caused_by(
                "root certificates",
                format!("not PEM certificates: {e}"),
                e,
            ))
        })?;
        if certs.is_empty() {
            return Err(Error::Config(ConfigError::new(
                "root certificates",
                "no CERTIFICATE block in the PEM",
            )));
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .tcp_nodelay(true)
        .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
        // Never follow redirects: reqwest would carry X-Auth-Token and X-Security-Token to
        // the other host, and a signature cannot follow.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("dis-records/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Config(ConfigError::caused_by("HTTP client", e.to_string(), e)))
}

#[cfg(test)]
mod tests {
    use super::endpoint_url;

    #[test]
    fn endpoints_are_regions_or_urls() {
        assert_eq!(
            endpoint_url("cn-north-4").unwrap(),
            "https://dis.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(
            endpoint_url("http://127.0.0.1:8080///").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(endpoint_url("ftp://x").is_err());
        assert!(endpoint_url("not a region").is_err());
        assert_eq!(
            endpoint_url("http://127.0.0.1:8080/prefix/").unwrap(),
            "http://127.0.0.1:8080/prefix"
        );
    }
}
