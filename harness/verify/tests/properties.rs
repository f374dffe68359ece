//! The four image properties: which consumer verifies, what is missing, and every message,
//! asserted to the character against cursive 0.3.1's texts.

use proptest::prelude::*;
use sigstack_verify::{Error, HashMethod, KeyType, KeyTypeProfile, PROPERTY_NAMES, Presence, SignatureProperties, should_create_verifier};

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
    assert!(!should_create_verifier([
        "IMG_SIGNATURE",
        "img_signature_hash_method",
        "img_signature_key_type",
        "img_signature_certificate_uuid"
    ]));
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
    assert_eq!(props.presence(), Presence::Partial(vec!["img_signature_hash_method", "img_signature_certificate_uuid"]));
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
    assert_eq!(KeyTypeProfile::Current.registered_names(), ["DSA", "ECC_SECP384R1", "ECC_SECP521R1", "RSA-PSS"]);
    assert_eq!(
        KeyTypeProfile::Legacy.registered_names(),
        ["DSA", "ECC_SECP384R1", "ECC_SECP521R1", "ECC_SECT409K1", "ECC_SECT409R1", "ECC_SECT571K1", "ECC_SECT571R1", "RSA-PSS"]
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
    assert_eq!(
        Error::NoTrustedCertificates.to_string(),
        "Image signature certificate validation enabled, but no trusted certificate IDs were \
         provided. Unable to validate the certificate used to verify the image signature."
    );
}

#[test]
fn escaped_and_own_messages_are_verbatim() {
    // Python's own ValueError text for a non-ASCII str given to base64.b64decode.
    assert_eq!(Error::NonAsciiSignature.to_string(), "string argument should contain only ASCII characters");
    assert_eq!(
        Error::PemLoad("x".into()).to_string(),
        "Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file \
         for more details. x"
    );
    assert_eq!(Error::CertificateParse("y".into()).to_string(), "Unable to load certificate: y");
    assert_eq!(
        Error::UnsupportedAlgorithm("Curve 1.3.132.0.38 is not supported".into()).to_string(),
        "Curve 1.3.132.0.38 is not supported"
    );
    // Ours, where cursive would loop forever.
    assert_eq!(
        Error::ChainCycle("a".into()).to_string(),
        "Certificate chain building failed. The signing certificate 'a' appears twice in the \
         chain: the trusted certificates form a cycle."
    );
    assert_eq!(Error::MissingBasicConstraints("u".into()).cursive_exception(), "SignatureVerificationError");
    assert_eq!(Error::NoTrustedCertificates.cursive_exception(), "CertificateValidationFailed");
}

/// Any case change of a valid name, or any other string, is rejected.
fn case_variant(name: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), name.len()).prop_map(move |flips| flip_case(name, &flips))
}

/// `name` with the ASCII case of the letters at the `true` positions swapped.
fn flip_case(name: &str, flips: &[bool]) -> String {
    name.chars()
        .zip(flips.iter().chain(std::iter::repeat(&false)))
        .map(|(c, f)| match (f, c.is_ascii_uppercase()) {
            (false, _) => c,
            (true, true) => c.to_ascii_lowercase(),
            (true, false) => c.to_ascii_uppercase(),
        })
        .collect()
}

fn opt_value() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("\\PC{0,40}")
}

fn properties() -> impl Strategy<Value = SignatureProperties> {
    (opt_value(), opt_value(), opt_value(), opt_value()).prop_map(|(signature, hash_method, key_type, certificate_uuid)| {
        SignatureProperties { signature, hash_method, key_type, certificate_uuid }
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

    /// Every hash method and key-type name: exact names round-trip, any case change of any
    /// letter is rejected with cursive's message, under both profiles.
    #[test]
    fn every_name_round_trips_and_rejects_every_case_variant(
        hash in proptest::sample::select(HashMethod::ALL.to_vec()),
        key_type in proptest::sample::select(KeyType::ALL.to_vec()),
        flips in proptest::collection::vec(any::<bool>(), 16),
    ) {
        prop_assert_eq!(hash.name().parse::<HashMethod>(), Ok(hash));
        prop_assert_eq!(KeyTypeProfile::Legacy.lookup(key_type.name()), Ok(key_type));
        let registered = KeyTypeProfile::Current.registers(key_type);
        prop_assert_eq!(KeyTypeProfile::Current.lookup(key_type.name()).is_ok(), registered);

        let hash_variant = flip_case(hash.name(), &flips);
        if hash_variant != hash.name() {
            prop_assert_eq!(hash_variant.parse::<HashMethod>(), Err(Error::InvalidHashMethod(hash_variant.clone())));
        }
        let kt_variant = flip_case(key_type.name(), &flips);
        if kt_variant != key_type.name() {
            for profile in [KeyTypeProfile::Legacy, KeyTypeProfile::Current] {
                prop_assert_eq!(profile.lookup(&kt_variant), Err(Error::InvalidKeyType(kt_variant.clone())));
            }
        }
    }

    /// Properties survive `to_pairs` -> `from_pairs`, also among other image properties and
    /// with absent ones sent as nulls; their presence is what Glance's check sees.
    #[test]
    fn properties_round_trip_through_image_property_pairs(p in properties(), other in "[a-z_]{1,20}") {
        prop_assert_eq!(SignatureProperties::from_pairs(p.to_pairs().into_iter().map(|(k, v)| (k, Some(v)))), p.clone());

        let mut pairs: Vec<(String, Option<String>)> = vec![(other.clone(), Some("x".into()))];
        for (name, value) in PROPERTY_NAMES.iter().zip([&p.signature, &p.hash_method, &p.key_type, &p.certificate_uuid]) {
            pairs.push(((*name).to_owned(), value.clone()));
        }
        pairs.push(("os_hash_algo".into(), Some("sha512".into())));
        // (`other` may spell a property name; it comes first, so the real value wins.)
        let parsed = SignatureProperties::from_pairs(pairs.clone());
        prop_assert_eq!(&parsed, &p);
        // Nulls are keys: Glance verifies (and fails) rather than skipping.
        prop_assert!(should_create_verifier(pairs.iter().map(|(k, _)| k)));
        let expected = match p.to_pairs().len() {
            0 => Presence::Unsigned,
            4 => Presence::Complete,
            _ => Presence::Partial(PROPERTY_NAMES.iter().copied().filter(|n| !p.to_pairs().iter().any(|(k, _)| k == n)).collect()),
        };
        prop_assert_eq!(parsed.presence(), expected);
    }

    /// Valid values prepare to the same hash method, key type, uuid and signature bytes.
    #[test]
    fn valid_properties_prepare_to_what_they_say(
        sig in proptest::collection::vec(any::<u8>(), 1..600),
        hash in proptest::sample::select(HashMethod::ALL.to_vec()),
        key_type in proptest::sample::select(KeyType::ALL.to_vec()),
        uuid in "[0-9a-f-]{1,36}",
    ) {
        use base64::Engine as _;
        let p = SignatureProperties {
            signature: Some(base64::engine::general_purpose::STANDARD.encode(&sig)),
            hash_method: Some(hash.name().to_owned()),
            key_type: Some(key_type.name().to_owned()),
            certificate_uuid: Some(uuid.clone()),
        };
        let prepared = p.prepare(KeyTypeProfile::Legacy).unwrap();
        prop_assert_eq!(prepared.signature, sig);
        prop_assert_eq!(prepared.hash_method, hash);
        prop_assert_eq!(prepared.key_type, key_type);
        prop_assert_eq!(prepared.certificate_uuid, uuid);
    }

    /// Property names are case-sensitive too: a case variant of a name is not that property.
    #[test]
    fn property_name_case_variants_are_other_properties(
        which in 0..4usize,
        flips in proptest::collection::vec(any::<bool>(), 32),
    ) {
        let variant = flip_case(PROPERTY_NAMES[which], &flips);
        prop_assume!(variant != PROPERTY_NAMES[which]);
        let mut keys: Vec<String> = PROPERTY_NAMES.iter().map(|s| (*s).to_owned()).collect();
        keys[which] = variant.clone();
        prop_assert!(!should_create_verifier(&keys));
        let parsed = SignatureProperties::from_pairs(keys.iter().map(|k| (k.as_str(), Some("v"))));
        prop_assert_eq!(parsed.to_pairs().len(), 3);
    }
}
