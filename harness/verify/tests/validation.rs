//! Certificate validation with cursive's `certificate_utils` rules, on the committed test PKI.

mod common;

use std::time::SystemTime;

use common::*;
use sigstack_verify::{
    Certificate, CertificateValidator, Error, SigningCapability, TrustSkip, ValidationOptions, unix_time, verify_certificate,
};

/// 2026-11-23T12:00:00Z: inside every "valid" fixture's 2020..2099 window.
fn now() -> SystemTime {
    unix_time(1_795_435_200)
}

fn validator(trusted: &[(&str, &str)]) -> CertificateValidator {
    validator_at(trusted, now())
}

fn validator_at(trusted: &[(&str, &str)], at: SystemTime) -> CertificateValidator {
    let certs = trusted.iter().map(|(uuid, rel)| ((*uuid).to_owned(), cert(rel)));
    CertificateValidator::new(certs, at, ValidationOptions::default()).unwrap()
}

const ROOT: (&str, &str) = ("ca", "chain/root.crt.pem");
const INTER_A: (&str, &str) = ("intermediate-a", "chain/intermediate-a.crt.pem");
const INTER_B: (&str, &str) = ("intermediate-b", "chain/intermediate-b.crt.pem");

#[test]
fn nova_document_chain_validates_with_the_documented_trust_set() {
    let client = cert("chain/client.crt.pem");
    let chain = validator(&[ROOT, INTER_A, INTER_B]).validate(&client).unwrap();
    assert_eq!(chain, ["ca", "intermediate-a", "intermediate-b", "base"]);
    // Order of the trusted list does not matter for a unique chain.
    validator(&[INTER_B, ROOT, INTER_A]).validate(&client).unwrap();
}

#[test]
fn nova_document_boot_without_trusted_ids_fails_chain_building() {
    let client = cert("chain/client.crt.pem");
    assert_eq!(
        validator(&[]).validate(&client).unwrap_err().to_string(),
        "Certificate chain building failed. Could not locate the signing certificate for the base \
         certificate in the set of trusted certificates."
    );
}

#[test]
fn a_trusted_intermediate_without_its_root_gives_cursives_degenerate_message() {
    let client = cert("chain/client.crt.pem");
    assert_eq!(validator(&[INTER_A, INTER_B]).validate(&client).unwrap_err().to_string(), "certificate 'intermediate-a'");
    assert_eq!(validator(&[INTER_B]).validate(&client).unwrap_err().to_string(), "certificate 'intermediate-b'");
    let leaf = cert("variants/orphan/leaf.crt.pem");
    assert_eq!(
        validator(&[("orphan", "variants/orphan/intermediate.crt.pem")]).validate(&leaf).unwrap_err(),
        Error::ChainBuilding { certificate: Some("orphan".into()) }
    );
}

#[test]
fn wrong_certificate_fails_chain_building() {
    // The tempest scenario: an unrelated trusted certificate.
    let client = cert("chain/client.crt.pem");
    let err = validator(&[("other", "signing/rsa-2048.crt.pem")]).validate(&client).unwrap_err();
    assert!(err.to_string().starts_with("Certificate chain building failed"), "{err}");
}

#[test]
fn self_signed_signing_certificate_validates_when_trusted_itself() {
    let leaf = signing_cert("rsa-3072");
    assert_eq!(validator(&[("self", "signing/rsa-3072.crt.pem")]).validate(&leaf).unwrap(), ["base"]);
    // Loaded from DER it is the same certificate.
    let der = Certificate::from_der(leaf.der()).unwrap();
    assert_eq!(der, leaf);
    assert!(validator(&[("other", "signing/rsa-2048.crt.pem")]).validate(&der).is_err());
}

#[test]
fn trust_set_drops_certificates_that_cannot_sign_and_says_why() {
    let v = validator(&[
        ("expired", "variants/expired-ca.crt.pem"),
        ("future", "variants/not-yet-valid-ca.crt.pem"),
        ("no-ca", "variants/no-ca.crt.pem"),
        ("no-bc", "variants/no-basic-constraints.crt.pem"),
        ("no-ku", "variants/no-key-usage.crt.pem"),
        ("no-kcs", "variants/no-keycertsign.crt.pem"),
        ("good", "signing/rsa-2048.crt.pem"),
    ]);
    assert_eq!(v.trusted().map(|(u, _)| u).collect::<Vec<_>>(), ["good"]);
    let capability = |uuid: &str| {
        v.skipped().iter().find_map(|s| match s {
            TrustSkip::NotSigningCertificate { uuid: u, capability } if u == uuid => Some(*capability),
            _ => None,
        })
    };
    assert_eq!(capability("no-ca"), Some(SigningCapability::NotCa));
    assert_eq!(capability("no-bc"), Some(SigningCapability::NoBasicConstraints));
    assert_eq!(capability("no-ku"), Some(SigningCapability::NoKeyUsage));
    assert_eq!(capability("no-kcs"), Some(SigningCapability::NoKeyCertSign));
    assert_eq!(
        v.skipped()[0].to_string(),
        "Certificate 'expired' is outside its valid date range and cannot be used as a signing certificate."
    );
    assert_eq!(v.skipped()[1], TrustSkip::OutsideValidDates { uuid: "future".into() });
    assert_eq!(
        v.skipped()[2].to_string(),
        "Certificate 'no-ca' is not configured to act as a signing certificate. It will not be used as a signing certificate."
    );
}

#[test]
fn date_bounds_are_inclusive() {
    let c = cert("variants/expired-ca.crt.pem");
    let at = |t| CertificateValidator::new([("x".to_owned(), c.clone())], t, ValidationOptions::default()).unwrap();
    assert_eq!(at(c.not_before()).trusted().count(), 1);
    assert_eq!(at(c.not_after()).trusted().count(), 1);
    assert_eq!(at(c.not_after() + std::time::Duration::from_secs(1)).trusted().count(), 0);
    assert_eq!(at(c.not_before() - std::time::Duration::from_secs(1)).trusted().count(), 0);
}

#[test]
fn expired_leaf_is_outside_its_valid_date_range() {
    let leaf = cert("variants/expired-signing.crt.pem");
    assert_eq!(
        validator(&[("self", "variants/expired-signing.crt.pem")]).validate(&leaf).unwrap_err().to_string(),
        "The certificate is outside its valid date range."
    );
    // With dates not enforced the same chain validates.
    let opts = ValidationOptions { enforce_valid_dates: false, ..Default::default() };
    let v = CertificateValidator::new([("self".to_owned(), leaf.clone())], now(), opts).unwrap();
    assert_eq!(v.validate(&leaf).unwrap(), ["base"]);
}

#[test]
fn expired_intermediate_is_dropped_so_the_chain_breaks_there() {
    let leaf = cert("variants/expired-intermediate/leaf.crt.pem");
    let v = validator(&[
        ("root", "variants/expired-intermediate/root.crt.pem"),
        ("inter", "variants/expired-intermediate/intermediate.crt.pem"),
    ]);
    assert_eq!(v.validate(&leaf).unwrap_err(), Error::ChainBuilding { certificate: None });
}

#[test]
fn path_length_counts_the_root_and_reports_the_one_nearest_the_root() {
    let leaf = cert("variants/short-pathlen/leaf.crt.pem");
    let v = validator(&[("root", "variants/short-pathlen/root.crt.pem"), ("inter", "variants/short-pathlen/intermediate.crt.pem")]);
    assert_eq!(
        v.validate(&leaf).unwrap_err().to_string(),
        "Certificate validation failed. The signing certificate 'root' is not configured to support \
         certificate chains of sufficient length."
    );
    let opts = ValidationOptions { enforce_path_length: false, ..Default::default() };
    let v = CertificateValidator::new(
        [
            ("root".to_owned(), cert("variants/short-pathlen/root.crt.pem")),
            ("inter".to_owned(), cert("variants/short-pathlen/intermediate.crt.pem")),
        ],
        now(),
        opts,
    )
    .unwrap();
    assert_eq!(v.validate(&leaf).unwrap(), ["root", "inter", "base"]);
}

#[test]
fn ca_without_path_length_is_unlimited() {
    let leaf = cert("variants/leaf-of-root-no-pathlen.crt.pem");
    assert_eq!(validator(&[("r", "variants/root-no-pathlen.crt.pem")]).validate(&leaf).unwrap(), ["r", "base"]);
}

#[test]
fn missing_basic_constraints_only_matters_when_extensions_are_not_enforced() {
    // With enforce_signing_extensions off, a trusted CA without BasicConstraints enters the set
    // and the path-length check then reports it.
    let root = cert("variants/no-basic-constraints.crt.pem");
    let leaf = cert("variants/leaf-of-no-basic-constraints.crt.pem");
    let opts = ValidationOptions { enforce_signing_extensions: false, ..Default::default() };
    let v = CertificateValidator::new([("nobc".to_owned(), root.clone())], now(), opts).unwrap();
    assert_eq!(v.validate(&leaf).unwrap_err(), Error::MissingBasicConstraints("nobc".into()));
    // A self-signed certificate is its own chain: nothing above the leaf to check.
    assert_eq!(v.validate(&root).unwrap(), ["base"]);
    // Enforced (Nova's default), the CA is not trusted at all.
    assert_eq!(
        validator(&[("nobc", "variants/no-basic-constraints.crt.pem")]).validate(&leaf).unwrap_err(),
        Error::ChainBuilding { certificate: None }
    );
}

#[test]
fn certificate_cycles_terminate() {
    let leaf = cert("variants/cycle/leaf.crt.pem");
    let v = validator(&[("a", "variants/cycle/a.crt.pem"), ("b", "variants/cycle/b.crt.pem")]);
    let err = v.validate(&leaf).unwrap_err();
    assert!(matches!(err, Error::ChainCycle(_)), "{err}");
    // a issues b and b issues a: the walk from the leaf reaches a again and stops there.
    assert_eq!(
        err.to_string(),
        "Certificate chain building failed. The signing certificate 'a' appears twice in the chain: \
         the trusted certificates form a cycle."
    );
}

#[test]
fn pss_signed_children_have_no_issuer() {
    // cursive checks RSA certificate signatures with PKCS#1 v1.5 only.
    let child = cert("variants/pss-issuer/pss-leaf.crt.pem");
    let v = validator(&[("root", "variants/pss-issuer/root.crt.pem")]);
    assert_eq!(v.validate(&child).unwrap_err(), Error::ChainBuilding { certificate: None });
    // The PKCS#1-signed leaf finds its intermediate, whose PSS signature then finds no issuer.
    let leaf = cert("variants/pss-issuer/leaf.crt.pem");
    let v = validator(&[("root", "variants/pss-issuer/root.crt.pem"), ("inter", "variants/pss-issuer/intermediate.crt.pem")]);
    assert_eq!(v.validate(&leaf).unwrap_err().to_string(), "certificate 'inter'");
}

#[test]
fn names_compare_by_value_not_string_type_but_case_matters() {
    let leaf = cert("variants/string-types/leaf.crt.pem");
    validator(&[("root", "variants/string-types/root.crt.pem")]).validate(&leaf).unwrap();
    let leaf = cert("variants/case/leaf.crt.pem");
    assert!(validator(&[("root", "variants/case/root.crt.pem")]).validate(&leaf).is_err());
}

#[test]
fn nova_flow_skips_unavailable_trusted_certificates_and_propagates_leaf_errors() {
    let fetch = |uuid: &str| -> Result<Certificate, Error> {
        match uuid {
            "ca" => Ok(cert("chain/root.crt.pem")),
            "a" => Ok(cert("chain/intermediate-a.crt.pem")),
            "b" => Ok(cert("chain/intermediate-b.crt.pem")),
            "leaf" => Ok(cert("chain/client.crt.pem")),
            other => Err(Error::CertificateNotFound(other.to_owned())),
        }
    };
    let trusted: Vec<String> = ["ca", "gone", "a", "b"].map(String::from).to_vec();
    let v = verify_certificate(fetch, "leaf", &trusted, now(), ValidationOptions::default()).unwrap();
    assert_eq!(
        v.skipped()[0].to_string(),
        "Skipping trusted certificate: Signature verification for the image failed: Certificate not found with ID: gone."
    );
    assert_eq!(
        verify_certificate(fetch, "missing-leaf", &trusted, now(), ValidationOptions::default()).unwrap_err(),
        Error::CertificateNotFound("missing-leaf".into())
    );
    // A trusted certificate that fails with anything but cursive's own error is not skipped.
    let broken = |uuid: &str| -> Result<Certificate, Error> {
        if uuid == "bad" { Err(Error::CertificateParse("garbage".into())) } else { fetch(uuid) }
    };
    let trusted: Vec<String> = ["bad", "ca"].map(String::from).to_vec();
    assert!(matches!(verify_certificate(broken, "leaf", &trusted, now(), ValidationOptions::default()), Err(Error::CertificateParse(_))));
}

#[test]
fn pem_with_leading_text_and_der_both_load() {
    let pem = std::fs::read(path("chain/client.crt.pem")).unwrap();
    let mut with_text = b"Certificate:\n    Data: issued by openssl x509 -text\n".to_vec();
    with_text.extend_from_slice(&pem);
    let a = Certificate::from_pem_or_der(&with_text).unwrap();
    let b = Certificate::from_pem_or_der(a.der()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.subject(), "CN=Client Certificate");
    for junk in [&b""[..], b"hello", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", b"\x30\x03\x02\x01\x00"] {
        assert!(matches!(Certificate::from_pem_or_der(junk), Err(Error::CertificateParse(_))), "{junk:?}");
    }
}
