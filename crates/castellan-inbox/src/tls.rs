//! Builds the rustls server configuration used for STARTTLS (RFC 3207) from PEM files.

use std::sync::Arc;

use tokio_rustls::rustls::{self, ServerConfig};

/// Errors from [`tls_config_from_pem`].
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The PEM text could not be read.
    #[error("unreadable PEM: {0}")]
    Pem(#[from] std::io::Error),
    /// The certificate file holds no certificate.
    #[error("no certificate in the certificate PEM")]
    NoCertificate,
    /// The key file holds no private key (PKCS#8, PKCS#1 or SEC1).
    #[error("no private key in the key PEM")]
    NoKey,
    /// rustls refused the certificate and key (for example, they do not match).
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Builds a STARTTLS server configuration from a PEM certificate chain (leaf first) and a PEM
/// private key, with rustls' safe default protocol versions (TLS 1.2 and 1.3) on the `ring`
/// provider, and no client authentication.
///
/// # Errors
/// See [`TlsError`].
pub fn tls_config_from_pem(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = rustls_pemfile::certs(&mut &cert_chain_pem[..]).collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let key = rustls_pemfile::private_key(&mut &key_pem[..])?.ok_or(TlsError::NoKey)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_pem_is_refused() {
        assert!(matches!(
            tls_config_from_pem(b"", b""),
            Err(TlsError::NoCertificate)
        ));
    }
}
