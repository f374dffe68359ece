//! HTTPS for the simulated cloud (`sigstack serve --tls`): every listener serves TLS with one
//! server certificate (rustls with the ring provider, as the client), and the services' own
//! calls to each other trust the CA bundle clients are given, as a real TLS-enabled OpenStack
//! has its services trust the deployment's CA (`[keystone_authtoken] cafile`, `[glance]
//! cafile`, ...).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sigstack_client::TlsOptions;

/// The TLS settings of the cloud's listeners: PEM files, read when the cloud starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// The server certificate, optionally followed by its intermediates (PEM).
    pub cert_pem_path: PathBuf,
    /// Its private key (PEM: PKCS#8, SEC1 or PKCS#1).
    pub key_pem_path: PathBuf,
    /// The CA bundle that verifies the server certificate: what clouds.yaml's `cacert` names,
    /// and what the services trust when they call each other.
    pub ca_path: PathBuf,
}

impl ServerTls {
    /// The client-side TLS options of a caller of this cloud (services calling services, the
    /// seeded users' credentials).
    pub fn client_options(&self) -> TlsOptions {
        TlsOptions { cacert: Some(self.ca_path.clone()), ..TlsOptions::default() }
    }

    /// The rustls server configuration: the certificate chain and key, TLS 1.2 and 1.3,
    /// HTTP/1.1 (what the OpenStack clients speak). Errors name the file at fault, never the
    /// key's contents.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let chain = read_certificates(&self.cert_pem_path)?;
        let key = read_key(&self.key_pem_path)?;
        let mut config = rustls::ServerConfig::builder_with_provider(sigstack_client::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("TLS certificate {} with key {}: {e}", self.cert_pem_path.display(), self.key_pem_path.display()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("TLS certificate {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("TLS certificate {}: not PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("TLS certificate {}: holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("TLS key {}: {e}", path.display()))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| format!("TLS key {}: holds no PEM private key", path.display()))
}
