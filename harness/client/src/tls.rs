//! HTTPS to real clouds: rustls with the ring provider, trusting what the OpenStack clients
//! trust. Like python-requests under keystoneauth, a `cacert` bundle *replaces* the system's
//! roots (a private-CA cloud is trusted through its own bundle), `verify: false` trusts any
//! certificate (with one warning per run), and `cert`/`key` present a client certificate.
//! TLS failures are reported with the host and the reason, not as a generic transport error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// How to trust a cloud's TLS endpoints: clouds.yaml `cacert`, `verify`, `cert`, `key` (or
/// `OS_CACERT`, `OS_CERT`, `OS_KEY`, `--insecure`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TlsOptions {
    /// A PEM bundle of the CAs to trust instead of the system's roots.
    #[serde(default)]
    pub cacert: Option<PathBuf>,
    /// `verify: false`: accept any server certificate.
    #[serde(default)]
    pub insecure: bool,
    /// A client certificate (PEM; may also hold the key).
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[serde(default)]
    pub key: Option<PathBuf>,
}

/// The crypto provider of every TLS connection sigstack makes or serves. ring: pure-Rust API
/// over a small C/assembly core, no OpenSSL and no aws-lc C build.
/// It is also installed as the process default once, so that a `reqwest::Client::new()`
/// elsewhere (a test's) works instead of panicking for want of a provider.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    static DEFAULT: Once = Once::new();
    DEFAULT.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    Arc::new(rustls::crypto::ring::default_provider())
}

/// One HTTP client per distinct TLS configuration, so every session of a run (the suite's
/// users, the operator tools) shares its connection pool, and the system roots are read once.
static CLIENTS: Mutex<Option<HashMap<TlsOptions, reqwest::Client>>> = Mutex::new(None);
static INSECURE_WARNING: Once = Once::new();

/// The HTTP client for these TLS options (cached per process).
pub fn http_client_for(tls: &TlsOptions) -> Result<reqwest::Client, Error> {
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(client) = clients.as_ref().and_then(|c| c.get(tls)) {
        return Ok(client.clone());
    }
    let client = build_http_client(tls)?;
    clients.get_or_insert_with(HashMap::new).insert(tls.clone(), client.clone());
    Ok(client)
}

/// A new HTTP client for these TLS options. Timeouts: connecting gets 10 s (real clouds get
/// slack, loopback answers at once); no overall timeout, since image transfers take as long
/// as they take.
pub fn build_http_client(tls: &TlsOptions) -> Result<reqwest::Client, Error> {
    build_with(tls, reqwest::header::HeaderMap::new())
}

/// [`build_http_client`] sending `X-Auth-Token: token` on every request: for APIs reached
/// with a fixed token and no session, such as the simulator's `/_sim/` control API. The
/// header is marked sensitive, so it never shows in debug output.
pub fn build_http_client_with_token(tls: &TlsOptions, token: &str) -> Result<reqwest::Client, Error> {
    let mut value =
        reqwest::header::HeaderValue::from_str(token).map_err(|_| Error::Config("the token is not a valid HTTP header value".into()))?;
    value.set_sensitive(true);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-auth-token", value);
    build_with(tls, headers)
}

fn build_with(tls: &TlsOptions, headers: reqwest::header::HeaderMap) -> Result<reqwest::Client, Error> {
    client_builder(tls)?
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30))
        .default_headers(headers)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

/// A reqwest builder with these TLS options, for a client with timeouts of its own (Glance's
/// key-manager client). Every client sigstack builds goes through here or
/// [`http_client_for`]: reqwest has no crypto provider of its own in this workspace.
pub fn client_builder(tls: &TlsOptions) -> Result<reqwest::ClientBuilder, Error> {
    let config = client_config(tls)?;
    if tls.insecure {
        INSECURE_WARNING.call_once(|| {
            eprintln!("warning: TLS certificate verification is off (verify: false / --insecure): any server can pose as the cloud");
        });
    }
    Ok(reqwest::Client::builder().tls_backend_preconfigured(config))
}

/// The rustls configuration for these options.
pub fn client_config(tls: &TlsOptions) -> Result<rustls::ClientConfig, Error> {
    let provider = crypto_provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS configuration: {e}")))?;
    let builder = if tls.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        builder.with_root_certificates(trusted_roots(tls.cacert.as_deref())?)
    };
    let mut config = match &tls.cert {
        Some(cert) => {
            let chain = read_certificates(cert, "client certificate (cert)")?;
            let key = read_private_key(tls.key.as_deref().unwrap_or(cert))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| Error::Config(format!("client certificate {}: {e}", cert.display())))?
        }
        None if tls.key.is_some() => {
            return Err(Error::Config("a client key (key, OS_KEY) was given without its certificate (cert, OS_CERT)".into()));
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The `cacert` bundle, or the system's roots (as installed in /etc/ssl/certs).
fn trusted_roots(cacert: Option<&Path>) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    match cacert {
        Some(path) => {
            for cert in read_certificates(path, "CA bundle (cacert)")? {
                roots.add(cert).map_err(|e| Error::Config(format!("CA bundle (cacert) {}: {e}", path.display())))?;
            }
        }
        None => {
            // Unreadable entries of the system store are skipped, as OpenSSL skips them. An
            // empty store (no ca-certificates installed) still serves plain http; an https
            // server then fails as "unknown issuer", whose message points at cacert.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    Ok(roots)
}

fn read_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let unreadable = |reason: String| Error::Config(format!("{what} {}: {reason}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes).collect::<Result<Vec<_>, _>>().map_err(|e| unreadable(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(unreadable("holds no PEM certificate".into()));
    }
    Ok(certs)
}

fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Config(format!("client key (key) {}: {e}", path.display())))?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| Error::Config(format!("client key (key) {}: no PEM private key ({e})", path.display())))
}

/// `verify: false`: the server's certificate is not checked, its handshake signature still is.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls error somewhere in a transport error's chain, if the failure was TLS.
pub(crate) fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        // An io::Error's `source()` skips the error it wraps (hyper-rustls nests the rustls
        // error in two of them), so step into it.
        current = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// A TLS failure in the words an operator acts on.
fn describe(error: &rustls::Error) -> String {
    use rustls::Error as E;
    match error {
        E::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => {
                "unknown issuer: the server's certificate is not signed by a trusted CA (give the cloud's CA bundle as cacert in clouds.yaml or OS_CACERT)".into()
            }
            CertificateError::NotValidForName => "name mismatch: the server's certificate is not valid for this host name".into(),
            CertificateError::NotValidForNameContext { expected, presented } => {
                format!("name mismatch: the server's certificate is not valid for {expected:?} (it is for {})", presented.join(", "))
            }
            CertificateError::Expired => "expired: the server's certificate has expired".into(),
            CertificateError::ExpiredContext { time, not_after } => format!(
                "expired: the server's certificate expired at {} (now {})",
                unix(not_after.as_secs()),
                unix(time.as_secs())
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "not yet valid: the server's certificate is not valid yet (check the clocks)".into()
            }
            CertificateError::Revoked => "revoked: the server's certificate is revoked".into(),
            CertificateError::BadSignature | CertificateError::BadEncoding => "the server's certificate is malformed or badly signed".into(),
            other => format!("invalid server certificate: {other:?}"),
        },
        E::AlertReceived(alert) => match alert {
            rustls::AlertDescription::CertificateRequired | rustls::AlertDescription::HandshakeFailure => {
                format!("the server refused the handshake ({alert:?}): it may require a client certificate (cert/key, OS_CERT/OS_KEY)")
            }
            rustls::AlertDescription::UnknownCA | rustls::AlertDescription::BadCertificate => {
                format!("the server refused our client certificate ({alert:?})")
            }
            other => format!("the server ended the handshake ({other:?})"),
        },
        E::InvalidMessage(_) => "the server did not answer with TLS (is the endpoint plain http?)".into(),
        other => other.to_string(),
    }
}

fn unix(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| seconds.to_string())
}
