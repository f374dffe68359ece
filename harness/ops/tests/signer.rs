//! `Signer`: the refusals made before any cloud is contacted (the CLI tests cover them
//! through `sigstack sign-images`; these check the library's typed errors).

use sigstack_ops::{OpsError, Signer};
use sigstack_verify::{EcCurve, HashMethod, KeyType};

fn fixture(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn signer(key: &str, cert: &str) -> Result<Signer, OpsError> {
    Signer::from_pem(
        &fixture(&format!("fixtures/pki/signing/{key}")),
        &fixture(&format!("fixtures/pki/signing/{cert}")),
        HashMethod::Sha256,
    )
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let e = signer("rsa-2048.key.pem", "rsa-3072.crt.pem").expect_err("mismatched pair refused");
    assert!(matches!(e, OpsError::KeyCertificateMismatch), "{e:?}");
    assert!(e.is_usage());
    assert!(e.to_string().contains("does not match the certificate"), "{e}");
    // Same key type and curve, different key.
    let e = signer("ec-p384.key.pem", "ec-p521.crt.pem").expect_err("mismatched pair refused");
    assert!(matches!(e, OpsError::KeyCertificateMismatch), "{e:?}");
}

#[test]
fn keys_current_cursive_cannot_use_are_refused() {
    let e = signer("ec-p256.key.pem", "ec-p256.crt.pem").expect_err("P-256 refused");
    match &e {
        OpsError::UnusableKey(description) => assert!(description.contains("P-256"), "{description}"),
        other => panic!("expected UnusableKey, got {other:?}"),
    }
    assert!(e.to_string().contains("EC P-256 key cannot sign images"), "{e}");
}

#[test]
fn the_key_type_follows_from_the_key() {
    let cases = [
        ("rsa-2048", KeyType::RsaPss),
        ("dsa-2048-256", KeyType::Dsa),
        ("ec-p384", KeyType::Ecc(EcCurve::Secp384r1)),
        ("ec-p521", KeyType::Ecc(EcCurve::Secp521r1)),
    ];
    for (name, expected) in cases {
        let s = signer(&format!("{name}.key.pem"), &format!("{name}.crt.pem")).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.key_type(), expected, "{name}");
        assert_eq!(s.hash_method(), HashMethod::Sha256);
        assert!(String::from_utf8_lossy(s.certificate_pem()).starts_with("-----BEGIN CERTIFICATE-----"), "{name}");
    }
}

#[test]
fn unreadable_inputs_are_typed_errors() {
    let cert = fixture("fixtures/pki/signing/rsa-2048.crt.pem");
    let key = fixture("fixtures/pki/signing/rsa-2048.key.pem");
    let e = Signer::from_pem(&[0xff, 0xfe, 0x00], &cert, HashMethod::Sha256).expect_err("binary key refused");
    assert!(matches!(e, OpsError::KeyNotPem), "{e:?}");
    let e = Signer::from_pem(b"-----BEGIN NOTHING-----\n-----END NOTHING-----\n", &cert, HashMethod::Sha256).expect_err("no key");
    assert!(matches!(e, OpsError::Key(_)), "{e:?}");
    let e = Signer::from_pem(&key, b"not a certificate", HashMethod::Sha256).expect_err("no certificate");
    assert!(matches!(e, OpsError::Certificate(_)), "{e:?}");
    // A DER certificate is accepted and stored as PEM.
    let der = sigstack_verify::Certificate::from_pem_or_der(&cert).expect("fixture certificate").der().to_vec();
    let s = Signer::from_pem(&key, &der, HashMethod::Sha512).expect("DER certificate");
    assert!(String::from_utf8_lossy(s.certificate_pem()).starts_with("-----BEGIN CERTIFICATE-----"));
}
