//! The four image properties: which consumer verifies, what is missing, and every message,
//! asserted to the character against cursive 0.3.1's texts.

use proptest::prelude::*;
use sigstack_verify::{
    Error, HashMethod, KeyTypeProfile, Presence, SignatureProperties, should_create_verifier,
};

fn full() -> SignatureProperties {
    SignatureProperties {
        signature: Some("QUFB".into()),
        hash_method: Some("SHA-256".into()),
        key_type: Some("RSA-PSS".into()),
        certificate_uuid: Some("8fbcce5d-d646-4295-ba8a-269fc9451eeb".into()),
    }
}

#[test]
fn glance_verifies_only_when_all_four_keys_are_present() {
    let all = ["img_signature", "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid"];
    assert!(should_create_verifier(all));
    assert!(should_create_verifier(all.iter().chain(&["os_hash_algo", "min_ram"])));
    for skip in 0..4 {
        let some: Vec<_> = all.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, k)| *k).collect();
        assert!(!should_create_verifier(&some), "missing {}", all[skip]);
    }
    assert!(!should_create_verifier(Vec::<&str>::new()));
    // Keys are case-sensitive.
    assert!(!should_create_verifier(["IMG_SIGNATURE", "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid"]));
}

#[test]
fn from_pairs_keeps_nulls_as_missing_values_and_ignores_other_properties() {
    let props = SignatureProperties::from_pairs([
        ("img_signature", Some("c2ln")),
        ("img_signature_hash_method", None),
        ("os_distro", Some("cirros")),
        ("img_signature_key_type", Some("DSA")),
    ]);
    assert_eq!(props.signature.as_deref(), Some("c2ln"));
    assert_eq!(props.hash_method, None);
    assert_eq!(props.key_type.as_deref(), Some("DSA"));
    assert_eq!(props.certificate_uuid, None);
    assert_eq!(
        props.presence(),
        Presence::Partial(vec!["img_signature_hash_method", "img_signature_certificate_uuid"])
    );
    assert_eq!(SignatureProperties::default().presence(), Presence::Unsigned);
    assert_eq!(full().presence(), Presence::Complete);
    assert_eq!(full().to_pairs().len(), 4);
}

#[test]
fn missing_property_messages_follow_cursive_order_and_names() {
    let msg = |p: &str| {
        format!(
            "Signature verification for the image failed: Required image properties for signature \
             verification do not exist. Cannot verify signature. Missing property: {p}."
        )
    };
    // All missing: the certificate is reported first, under cursive's quirky name.
    let err = SignatureProperties::default().prepare(KeyTypeProfile::Current).unwrap_err();
    assert_eq!(err.to_string(), msg("img_signature_uuid"));

    let mut p = full();
    p.certificate_uuid = None;
    assert_eq!(p.prepare(KeyTypeProfile::Current).unwrap_err().to_string(), msg("img_signature_uuid"));
    let mut p = full();
    p.hash_method = None;
    p.signature = None;
    assert_eq!(p.prepare(KeyTypeProfile::Current).unwrap_err().to_string(), msg("img_signature_hash_method"));
    let mut p = full();
    p.signature = None;
    p.key_type = None;
    assert_eq!(p.prepare(KeyTypeProfile::Current).unwrap_err().to_string(), msg("img_signature"));
    let mut p = full();
    p.key_type = None;
    assert_eq!(p.prepare(KeyTypeProfile::Current).unwrap_err().to_string(), msg("img_signature_key_type"));
}

#[test]
fn bad_values_fail_in_cursive_order_with_exact_messages() {
    let mut p = full();
    p.signature = Some("fake_signature".into());
    p.hash_method = Some("sha256".into());
    assert_eq!(
        p.prepare(KeyTypeProfile::Current).unwrap_err().to_string(),
        "Signature verification for the image failed: The signature data was not properly encoded using base64."
    );
    p.signature = Some("QUFB".into());
    assert_eq!(
        p.prepare(KeyTypeProfile::Current).unwrap_err().to_string(),
        "Signature verification for the image failed: Invalid signature hash method: sha256."
    );
    p.hash_method = Some("SHA-512".into());
    p.key_type = Some("ECC_SECT571K1".into());
    assert_eq!(
        p.prepare(KeyTypeProfile::Current).unwrap_err().to_string(),
        "Signature verification for the image failed: Invalid signature key type: ECC_SECT571K1."
    );
    // The legacy profile (cryptography < 47) registers the binary curves.
    let prepared = p.prepare(KeyTypeProfile::Legacy).unwrap();
    assert_eq!(prepared.key_type.name(), "ECC_SECT571K1");
    assert_eq!(prepared.signature, b"AAA");
    assert_eq!(prepared.hash_method, HashMethod::Sha512);
    assert_eq!(prepared.certificate_uuid, "8fbcce5d-d646-4295-ba8a-269fc9451eeb");
}

#[test]
fn non_ascii_signature_escapes_like_pythons_value_error() {
    let mut p = full();
    p.signature = Some("QUFB\u{e9}".into());
    let err = p.prepare(KeyTypeProfile::Current).unwrap_err();
    assert_eq!(err, Error::NonAsciiSignature);
    assert_eq!(err.cursive_exception(), "ValueError");
}

#[test]
fn registries_match_cursive() {
    assert_eq!(
        KeyTypeProfile::Current.registered_names(),
        ["DSA", "ECC_SECP384R1", "ECC_SECP521R1", "RSA-PSS"]
    );
    assert_eq!(
        KeyTypeProfile::Legacy.registered_names(),
        [
            "DSA", "ECC_SECP384R1", "ECC_SECP521R1", "ECC_SECT409K1", "ECC_SECT409R1",
            "ECC_SECT571K1", "ECC_SECT571R1", "RSA-PSS"
        ]
    );
    assert!(KeyTypeProfile::Legacy.lookup("ECC_SECP256R1").is_err());
}

#[test]
fn certificate_validation_messages_are_verbatim() {
    assert_eq!(
        Error::ChainBuilding { certificate: None }.to_string(),
        "Certificate chain building failed. Could not locate the signing certificate for the base \
         certificate in the set of trusted certificates."
    );
    assert_eq!(Error::ChainBuilding { certificate: Some("P".into()) }.to_string(), "certificate 'P'");
    assert_eq!(
        Error::PathLengthExceeded("u".into()).to_string(),
        "Certificate validation failed. The signing certificate 'u' is not configured to support \
         certificate chains of sufficient length."
    );
    assert_eq!(
        Error::MissingBasicConstraints("u".into()).to_string(),
        "Certificate validation failed. The signing certificate 'u' does not have a basic \
         constraints extension."
    );
    assert_eq!(Error::CertificateOutsideValidDates.to_string(), "The certificate is outside its valid date range.");
    assert_eq!(
        Error::CertificateNotFound("x".into()).to_string(),
        "Signature verification for the image failed: Certificate not found with ID: x."
    );
    assert_eq!(
        Error::CertificateRetrieval("x".into()).to_string(),
        "Signature verification for the image failed: Unable to retrieve certificate with ID: x."
    );
    assert_eq!(
        Error::InvalidCertificateFormat("Opaque".into()).to_string(),
        "Signature verification for the image failed: Invalid certificate format: Opaque."
    );
    assert_eq!(Error::InvalidSignature.to_string(), "Signature verification failed");
    assert_eq!(
        Error::CertificateValidationFailed { certificate: "c".into(), reason: "certificate 'P'".into() }.to_string(),
        "Image signature certificate validation failed for certificate: c. certificate 'P'"
    );
}

/// Any case change of a valid name, or any other string, is rejected.
fn case_variant(name: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), name.len()).prop_map(move |flips| {
        name.chars()
            .zip(flips)
            .map(|(c, f)| if f { c.to_ascii_lowercase() } else { c })
            .collect()
    })
}

proptest! {
    #[test]
    fn hash_names_round_trip_and_reject_case_variants(
        h in proptest::sample::select(HashMethod::ALL.to_vec()),
    ) {
        prop_assert_eq!(h.name().parse::<HashMethod>().unwrap(), h);
        let lower = h.name().to_ascii_lowercase();
        prop_assert_eq!(
            lower.parse::<HashMethod>().unwrap_err().to_string(),
            format!("Signature verification for the image failed: Invalid signature hash method: {lower}.")
        );
    }

    #[test]
    fn key_type_case_variants_are_rejected(v in case_variant("ECC_SECP384R1")) {
        let result = KeyTypeProfile::Legacy.lookup(&v);
        if v == "ECC_SECP384R1" {
            prop_assert!(result.is_ok());
        } else {
            prop_assert_eq!(result.unwrap_err(), Error::InvalidKeyType(v.clone()));
        }
    }

    #[test]
    fn arbitrary_strings_are_valid_hash_methods_only_if_exact(s in "\\PC{0,12}") {
        let ok = HashMethod::ALL.iter().any(|h| h.name() == s);
        prop_assert_eq!(s.parse::<HashMethod>().is_ok(), ok);
    }
}
