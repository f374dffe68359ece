//! X.509 certificates as the key manager hands them over (a Barbican secret's payload, PEM or
//! DER, anyone's to store): parsed, every accessor the engine uses called, the key loaded
//! under both key-type profiles, and the certificate run through chain validation as a leaf
//! and as a trusted certificate beside the fixture chain.
//! Properties: never a panic; an accepted certificate re-parses from its DER and from its PEM
//! to an equal certificate.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use sigstack_verify::{Certificate, CertificateValidator, KeyType, KeyTypeProfile, ValidationOptions};

fn chain() -> &'static [Certificate] {
    static CHAIN: OnceLock<Vec<Certificate>> = OnceLock::new();
    CHAIN.get_or_init(|| {
        [
            include_str!("../../../fixtures/pki/chain/root.crt.pem"),
            include_str!("../../../fixtures/pki/chain/intermediate-a.crt.pem"),
            include_str!("../../../fixtures/pki/chain/intermediate-b.crt.pem"),
        ]
        .iter()
        .map(|pem| Certificate::from_pem(pem.as_bytes()).expect("fixture certificate"))
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(cert) = Certificate::from_pem_or_der(data) else {
        return;
    };
    assert_eq!(Certificate::from_der(cert.der()).as_ref(), Ok(&cert), "DER round trip");
    assert_eq!(Certificate::from_pem(cert.to_pem().as_bytes()).as_ref(), Ok(&cert), "PEM round trip");

    let _ = (cert.subject(), cert.issuer(), cert.not_before(), cert.not_after());
    let _ = (cert.basic_constraints(), cert.key_usage(), cert.signing_capability());
    if let Ok(key) = cert.public_key() {
        let _ = key.describe();
        for key_type in KeyType::ALL {
            let _ = key.check_key_type(key_type);
        }
    }
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000); // 2027, inside the fixtures' validity
    let _ = cert.is_within_valid_dates(now);
    for profile in [KeyTypeProfile::Current, KeyTypeProfile::Legacy] {
        let _ = cert.public_key_for(profile);
        let _ = cert.is_issued_by(&cert, profile);
    }
    // Legacy: the profile that loads every key the engine knows (binary curves too).
    let profile = KeyTypeProfile::Legacy;
    for ca in chain() {
        let _ = cert.is_issued_by(ca, profile);
    }
    for enforce in [true, false] {
        let options = ValidationOptions {
            enforce_valid_dates: enforce,
            enforce_signing_extensions: enforce,
            enforce_path_length: enforce,
            key_type_profile: profile,
        };
        let mut trusted: Vec<(String, Certificate)> = chain().iter().enumerate().map(|(i, c)| (format!("chain-{i}"), c.clone())).collect();
        trusted.push(("fuzzed".into(), cert.clone()));
        if let Ok(validator) = CertificateValidator::new(trusted, now, options) {
            let _ = validator.validate(&cert);
        }
    }
});
