//! HTTPS (feature `tls`): the acceptor made from a PEM certificate chain and key
//! ([`LocalConfig::with_tls_pem`](crate::LocalConfig::with_tls_pem)), with rustls on `ring`.

use crate::error::ConfigError;

/// What accepts TLS on a connection.
#[cfg(feature = "tls")]
pub(crate) type Acceptor = tokio_rustls::TlsAcceptor;

/// Without the feature there is none.
#[cfg(not(feature = "tls"))]
pub(crate) enum Acceptor {}

fn problem(problem: impl Into<String>) -> ConfigError {
    ConfigError::Tls {
        problem: problem.into(),
    }
}

/// The acceptor of `pem` (chain, key), if any.
#[cfg(feature = "tls")]
pub(crate) fn acceptor(pem: Option<&(Vec<u8>, Vec<u8>)>) -> Result<Option<Acceptor>, ConfigError> {
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let Some((chain, key)) = pem else {
        return Ok(None);
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain)
        .collect::<Result<_, _>>()
        .map_err(|e| problem(format!("certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(problem("no CERTIFICATE in the certificate chain"));
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| problem(format!("key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| problem(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| problem(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}

/// Without the feature, a chain and key are refused.
#[cfg(not(feature = "tls"))]
pub(crate) fn acceptor(pem: Option<&(Vec<u8>, Vec<u8>)>) -> Result<Option<Acceptor>, ConfigError> {
    match pem {
        None => Ok(None),
        Some(_) => Err(problem(
            "this build of dis-local lacks its `tls` feature (cargo install --path dis-local --features tls)",
        )),
    }
}
