//! HTTPS as the OpenStack clients do it, against TLS servers on loopback made here: the
//! cloud's CA bundle trusted, an unknown issuer, a name mismatch, an expired certificate and
//! a server wanting a client certificate each give an error naming the host and the reason;
//! `verify: false` passes.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sigstack_client::tls::{build_http_client, crypto_provider};
use sigstack_client::{Error, TlsOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

struct Pki {
    dir: tempfile::TempDir,
    ca: rcgen::Certificate,
    ca_params: CertificateParams,
    ca_key: KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        // Distinct names: a CA of the same name would be tried as the issuer (a bad signature).
        static CAS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CAS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ca_params.distinguished_name.push(DnType::CommonName, format!("test CA {n}"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Pki { dir, ca, ca_params, ca_key }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A leaf for `names` (IP addresses or DNS names) issued by the CA, valid `days` from now
    /// (negative: already expired), written as `<file>.pem` and `<file>.key`.
    fn leaf(
        &self,
        file: &str,
        names: &[&str],
        days: i64,
        usage: ExtendedKeyUsagePurpose,
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("client"));
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*n).try_into().unwrap()),
            })
            .collect();
        params.extended_key_usages = vec![usage];
        let now = time::OffsetDateTime::now_utc();
        if days < 0 {
            params.not_before = now - time::Duration::days(30);
            params.not_after = now + time::Duration::days(days);
        } else {
            params.not_before = now - time::Duration::days(1);
            params.not_after = now + time::Duration::days(days);
        }
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(self.path(&format!("{file}.pem")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{file}.key")), key.serialize_pem()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
        (vec![cert.der().clone(), self.ca.der().clone()], key)
    }
}

/// An HTTPS server answering every request `200 ok`, optionally requiring a client
/// certificate issued by the CA. Returns its port.
async fn serve(pki: &Pki, names: &[&str], days: i64, client_auth: bool) -> u16 {
    let (chain, key) = pki.leaf("server", names, days, ExtendedKeyUsagePurpose::ServerAuth);
    let builder = rustls::ServerConfig::builder_with_provider(crypto_provider()).with_safe_default_protocol_versions().unwrap();
    let builder = if client_auth {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca.der().clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crypto_provider()).build().unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder.with_single_cert(chain, key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

async fn get(tls: &TlsOptions, url: &str) -> Result<String, Error> {
    let http = build_http_client(tls)?;
    let session = sigstack_client::Session::from_token(http, token());
    let response = session.send(session.http().get(url)).await?;
    Ok(response.text().await.unwrap())
}

fn token() -> sigstack_client::Token {
    let named = |n: &str| sigstack_client::Named { id: n.into(), name: n.into() };
    sigstack_client::Token { value: "t".into(), expires_at: String::new(), user: named("u"), project: None, roles: vec![], catalog: vec![] }
}

fn tls_reason(e: Error) -> (String, String) {
    match e {
        Error::Tls { host, reason, .. } => (host, reason),
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_clouds_ca_bundle_is_trusted_and_nothing_else() {
    let pki = Pki::new();
    let port = serve(&pki, &["127.0.0.1", "localhost"], 30, false).await;
    let url = format!("https://127.0.0.1:{port}/v3");
    let trusted = TlsOptions { cacert: Some(pki.path("ca.pem")), ..TlsOptions::default() };
    assert_eq!(get(&trusted, &url).await.unwrap(), "ok");
    assert_eq!(get(&trusted, &format!("https://localhost:{port}/v3")).await.unwrap(), "ok");

    // Without the bundle: the system's roots do not know this CA.
    let e = get(&TlsOptions::default(), &url).await.unwrap_err();
    let text = e.to_string();
    let (host, reason) = tls_reason(e);
    assert_eq!(host, format!("127.0.0.1:{port}"));
    assert!(reason.starts_with("unknown issuer"), "{reason}");
    assert!(text.starts_with(&format!("TLS connection to 127.0.0.1:{port} failed: unknown issuer")), "{text}");

    // A bundle of another CA is no better: a cacert replaces the system roots.
    let other = Pki::new();
    let wrong = TlsOptions { cacert: Some(other.path("ca.pem")), ..TlsOptions::default() };
    assert!(tls_reason(get(&wrong, &url).await.unwrap_err()).1.starts_with("unknown issuer"));

    // verify: false passes anything.
    let insecure = TlsOptions { insecure: true, ..TlsOptions::default() };
    assert_eq!(get(&insecure, &url).await.unwrap(), "ok");
}

#[tokio::test]
async fn a_name_mismatch_and_an_expired_certificate_are_told_apart() {
    let pki = Pki::new();
    let trusted = TlsOptions { cacert: Some(pki.path("ca.pem")), ..TlsOptions::default() };
    let port = serve(&pki, &["keystone.example"], 30, false).await;
    let (host, reason) = tls_reason(get(&trusted, &format!("https://127.0.0.1:{port}/")).await.unwrap_err());
    assert_eq!(host, format!("127.0.0.1:{port}"));
    assert!(reason.starts_with("name mismatch"), "{reason}");
    assert!(reason.contains("keystone.example"), "names what the certificate is for: {reason}");

    let expired = Pki::new();
    let port = serve(&expired, &["127.0.0.1"], -2, false).await;
    let trusted = TlsOptions { cacert: Some(expired.path("ca.pem")), ..TlsOptions::default() };
    let (_, reason) = tls_reason(get(&trusted, &format!("https://127.0.0.1:{port}/")).await.unwrap_err());
    assert!(reason.starts_with("expired"), "{reason}");
}

#[tokio::test]
async fn a_client_certificate_is_presented_when_configured() {
    let pki = Pki::new();
    let port = serve(&pki, &["127.0.0.1"], 30, true).await;
    let url = format!("https://127.0.0.1:{port}/");
    pki.leaf("client", &["client"], 30, ExtendedKeyUsagePurpose::ClientAuth);
    let with_cert = TlsOptions {
        cacert: Some(pki.path("ca.pem")),
        cert: Some(pki.path("client.pem")),
        key: Some(pki.path("client.key")),
        ..TlsOptions::default()
    };
    assert_eq!(get(&with_cert, &url).await.unwrap(), "ok");
    // Without one, TLS 1.3 servers refuse after the handshake: an alert, or a closed stream.
    let without = TlsOptions { cacert: Some(pki.path("ca.pem")), ..TlsOptions::default() };
    let e = get(&without, &url).await.unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(&e, Error::Tls { reason, .. } if reason.contains("client certificate")) || matches!(e, Error::Transport { .. }),
        "{text}"
    );
}

#[test]
fn bad_tls_files_are_configuration_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pem");
    let e = build_http_client(&TlsOptions { cacert: Some(missing.clone()), ..TlsOptions::default() }).unwrap_err();
    assert!(e.is_configuration());
    assert!(e.to_string().starts_with(&format!("CA bundle (cacert) {}:", missing.display())), "{e}");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    let e = build_http_client(&TlsOptions { cacert: Some(empty.clone()), ..TlsOptions::default() }).unwrap_err();
    assert_eq!(e.to_string(), format!("CA bundle (cacert) {}: holds no PEM certificate", empty.display()));
    let e = build_http_client(&TlsOptions { key: Some(empty), ..TlsOptions::default() }).unwrap_err();
    assert!(e.to_string().contains("without its certificate"), "{e}");
}
