//! `sigstack serve --tls`: the CA and server certificate in `<data-dir>/tls/`, made once and
//! reused on restart while they still fit the listen address, or the operator's own files
//! (`--tls-cert`, `--tls-key`, `--tls-ca`).
//!
//! Profile (ECDSA P-256 / SHA-256, made with rcgen on ring), chosen so that rustls/webpki and
//! OpenSSL's strict X.509 checks (Python 3.13's default `VERIFY_X509_STRICT`) accept it:
//! - `ca.pem`: CN "sigstack serve CA", O "sigstack"; basicConstraints critical CA:TRUE,
//!   pathlen:0; keyUsage critical keyCertSign, cRLSign, digitalSignature; subject and authority
//!   key identifiers; valid ten years (from an hour ago, for clock skew).
//! - `server.pem`: CN "sigstack serve", issued by that CA; SAN IP <listen host> and DNS
//!   localhost; basicConstraints critical CA:FALSE; keyUsage critical digitalSignature;
//!   extendedKeyUsage serverAuth; subject and authority key identifiers; valid a year.
//! - `ca.key`, `server.key`: PKCS#8 PEM, mode 0600. Never printed.
//!
//! On restart the files are reused when the CA is good for another day and the server
//! certificate verifies against it (webpki, for the listen address, a day from now); a
//! server certificate that does not (new `--host`, near expiry) is issued again by the same CA,
//! so clients keep trusting `ca.pem`. An unusable CA (missing, expiring, unreadable) is made
//! anew together with the server certificate.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::client::danger::ServerCertVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sigstack_cloud::ServerTls;

/// The directory under the data directory, and its files.
pub const TLS_DIR: &str = "tls";
const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server.key";

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
const SERVER_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Reused certificates must stay valid at least this long.
const MARGIN: Duration = DAY;

/// What happened to the generated files (told on stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// A new CA and server certificate.
    New,
    /// Both reused as they were.
    Reused,
    /// The CA reused, the server certificate issued again.
    NewServerCertificate,
}

/// The generated CA and server certificate for `host` in `<data_dir>/tls/`.
pub fn generated(data_dir: &Path, host: IpAddr) -> Result<(ServerTls, Made), String> {
    let dir = absolute(&data_dir.join(TLS_DIR))?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let files = ServerTls { cert_pem_path: dir.join(SERVER_CERT), key_pem_path: dir.join(SERVER_KEY), ca_path: dir.join(CA_CERT) };
    if let Some(ca_key) = usable_ca(&dir) {
        if check(&files, host).is_ok() {
            return Ok((files, Made::Reused));
        }
        // Same CA, new server certificate; if the CA's files do not belong together the new
        // certificate does not verify, and everything is made anew below.
        issue_server(&dir, &ca_key, host)?;
        if check(&files, host).is_ok() {
            return Ok((files, Made::NewServerCertificate));
        }
    }
    let ca_key = new_ca(&dir)?;
    issue_server(&dir, &ca_key, host)?;
    check(&files, host).map_err(|e| format!("the new TLS certificate in {} does not verify: {e}", dir.display()))?;
    Ok((files, Made::New))
}

/// The operator's certificate and key; the CA bundle clients and services trust is `ca`, or
/// the certificate file itself (a self-signed certificate, or a chain file that ends with its
/// root). Checked now: the bundle must verify the certificate for `host`.
pub fn given(cert: &Path, key: &Path, ca: Option<&Path>, host: IpAddr) -> Result<ServerTls, String> {
    let files = ServerTls { cert_pem_path: absolute(cert)?, key_pem_path: absolute(key)?, ca_path: absolute(ca.unwrap_or(cert))? };
    files.server_config()?;
    check(&files, host).map_err(|e| {
        let hint = if e.contains("CaUsedAsEndEntity") {
            "a CA certificate cannot be the server's: make it with basicConstraints CA:FALSE"
        } else {
            "clients would refuse it; give its CA with --tls-ca"
        };
        format!("the TLS CA bundle {} does not verify {} for {host}: {e} ({hint})", files.ca_path.display(), files.cert_pem_path.display())
    })?;
    Ok(files)
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The CA key, when `ca.pem` and `ca.key` are there, readable, and the CA is good for a while.
fn usable_ca(dir: &Path) -> Option<KeyPair> {
    let cert = std::fs::read(dir.join(CA_CERT)).ok()?;
    let cert = sigstack_verify::Certificate::from_pem(&cert).ok()?;
    if cert.not_after() < SystemTime::now() + MARGIN {
        return None;
    }
    KeyPair::from_pem(&std::fs::read_to_string(dir.join(CA_KEY)).ok()?).ok()
}

/// Whether the server certificate and key belong together and the CA bundle verifies the
/// certificate for `host` as a client will, a day from now.
fn check(files: &ServerTls, host: IpAddr) -> Result<(), String> {
    files.server_config()?;
    let read = |path: &Path| -> Result<Vec<CertificateDer<'static>>, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        CertificateDer::pem_slice_iter(&bytes).collect::<Result<Vec<_>, _>>().map_err(|e| format!("{}: not PEM: {e}", path.display()))
    };
    let chain = read(&files.cert_pem_path)?;
    let (leaf, intermediates) = chain.split_first().ok_or_else(|| format!("{}: no certificate", files.cert_pem_path.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(read(&files.ca_path)?);
    if added == 0 {
        return Err(format!("{}: no usable CA certificate", files.ca_path.display()));
    }
    let provider = sigstack_client::tls::crypto_provider();
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().map_err(|e| e.to_string())?;
    let later = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default() + MARGIN;
    verifier
        .verify_server_cert(leaf, intermediates, &ServerName::IpAddress(host.into()), &[], UnixTime::since_unix_epoch(later))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "sigstack serve CA");
    name.push(DnType::OrganizationName, "sigstack");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params
}

fn validity(params: &mut CertificateParams, lifetime: Duration) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + lifetime;
}

fn key() -> Result<KeyPair, String> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| format!("cannot make a TLS key: {e}"))
}

/// A new CA in `dir` (`ca.pem`, `ca.key`); returns its key.
fn new_ca(dir: &Path) -> Result<KeyPair, String> {
    let key = key()?;
    let mut params = ca_params();
    validity(&mut params, CA_VALIDITY);
    let cert = params.self_signed(&key).map_err(|e| format!("cannot make the TLS CA: {e}"))?;
    write(&dir.join(CA_KEY), key.serialize_pem().as_bytes(), true)?;
    write(&dir.join(CA_CERT), cert.pem().as_bytes(), false)?;
    Ok(key)
}

/// A new server certificate and key for `host` in `dir`, issued by the CA.
fn issue_server(dir: &Path, ca_key: &KeyPair, host: IpAddr) -> Result<(), String> {
    let issuer = Issuer::new(ca_params(), ca_key);
    let key = key()?;
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "sigstack serve");
    name.push(DnType::OrganizationName, "sigstack");
    params.distinguished_name = name;
    params.subject_alt_names = vec![SanType::IpAddress(host), SanType::DnsName("localhost".try_into().map_err(|e| format!("{e}"))?)];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, SERVER_VALIDITY);
    let cert = params.signed_by(&key, &issuer).map_err(|e| format!("cannot issue the TLS server certificate: {e}"))?;
    write(&dir.join(SERVER_KEY), key.serialize_pem().as_bytes(), true)?;
    write(&dir.join(SERVER_CERT), cert.pem().as_bytes(), false)
}

/// Writes through a temporary file renamed into place (a crash leaves the old file or the new
/// one); private keys are created 0600.
fn write(path: &Path, bytes: &[u8], private: bool) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let temp = path.with_file_name(format!("{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("tls")));
    let _ = std::fs::remove_file(&temp);
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(if private { 0o600 } else { 0o644 }).open(&temp).map_err(fail)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(fail)?;
    std::fs::rename(&temp, path).map_err(fail)
}

/// The operator's own certificate files, as `serve` and `serve-network` take them.
#[derive(clap::Args)]
pub struct TlsFileArgs {
    /// HTTPS with this server certificate (PEM, optionally followed by its intermediates); for
    /// `serve` instead of a generated one (it implies --tls). Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The CA bundle that verifies --tls-cert, checked at start (a certificate clients would
    /// refuse fails first). `serve` also writes it as clouds.yaml's `cacert` and `OS_CACERT`
    /// and trusts it in the services' calls to each other. Default: the --tls-cert file itself
    /// (right for a self-signed certificate, or a chain file ending with its root).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_ca: Option<PathBuf>,
}

impl TlsFileArgs {
    /// The listeners' TLS from the given files; `None` when no certificate was given.
    pub fn given(&self, host: IpAddr) -> Option<Result<ServerTls, String>> {
        let (cert, key) = (self.tls_cert.as_ref()?, self.tls_key.as_ref()?);
        Some(given(cert, key, self.tls_ca.as_deref(), host))
    }
}
