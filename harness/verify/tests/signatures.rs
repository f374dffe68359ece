//! Signing and verifying image data for every key type and hash, tampering, and cursive's
//! signature-path quirks.

mod common;

use common::*;
use proptest::prelude::*;
use rsa::signature::RandomizedSigner;
use sigstack_verify::{EcCurve, Error, HashMethod, KeyType, KeyTypeProfile, SignatureProperties, SigningKey};

const DATA: &[u8] = b"cirros-0.6.2-x86_64-disk.img stand-in: not the real bytes";

#[test]
fn every_key_and_hash_round_trips() {
    for (name, key_type) in SIGNING {
        let key = signing_key(name);
        let cert = signing_cert(name);
        for hash in HashMethod::ALL {
            let sig = b64(&sign(&key, *key_type, hash, DATA));
            verify_image(&cert, key_type.name(), hash.name(), &sig, DATA, 7).unwrap_or_else(|e| panic!("{name} {hash}: {e}"));
            let mut tampered = DATA.to_vec();
            tampered[3] ^= 0x01;
            assert_eq!(
                verify_image(&cert, key_type.name(), hash.name(), &sig, &tampered, 7),
                Err(Error::InvalidSignature),
                "{name} {hash} tampered"
            );
        }
    }
}

#[test]
fn binary_curves_verify_under_the_legacy_profile() {
    for (curve, key_type) in BINARY {
        let key = binary_key(curve);
        let cert = binary_cert(curve);
        for hash in HashMethod::ALL {
            let sig = b64(&sign(&key, *key_type, hash, DATA));
            verify_image(&cert, key_type.name(), hash.name(), &sig, DATA, 11).unwrap_or_else(|e| panic!("{curve} {hash}: {e}"));
            let mut tampered = DATA.to_vec();
            tampered[0] ^= 0x20;
            assert_eq!(verify_image(&cert, key_type.name(), hash.name(), &sig, &tampered, 11), Err(Error::InvalidSignature));
            // The curve is not bound to the name, as for the prime curves.
            verify_image(&cert, "ECC_SECP384R1", hash.name(), &sig, DATA, 11).unwrap();
        }
    }
}

#[test]
fn current_profile_cannot_load_binary_curve_keys() {
    // cryptography >= 47 fails to load the key itself, whatever the declared key type.
    let cert = binary_cert("sect571k1");
    let sig = b64(&sign(&binary_key("sect571k1"), KeyType::Ecc(EcCurve::Sect571k1), HashMethod::Sha384, DATA));
    for key_type in ["ECC_SECP384R1", "RSA-PSS"] {
        let err = verify_image_as(KeyTypeProfile::Current, &cert, key_type, "SHA-384", &sig, DATA, 64).unwrap_err();
        assert_eq!(err.to_string(), "Curve 1.3.132.0.38 is not supported");
        assert_eq!(err.cursive_exception(), "UnsupportedAlgorithm");
    }
}

#[test]
fn chunking_does_not_matter() {
    let key = signing_key("rsa-2048");
    let cert = signing_cert("rsa-2048");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    let sig = b64(&sign(&key, KeyType::RsaPss, HashMethod::Sha384, &data));
    for chunk in [1, 63, 64, 65, 4096, 100_000] {
        verify_image(&cert, "RSA-PSS", "SHA-384", &sig, &data, chunk).unwrap();
    }
    // An empty image has a signature too.
    let empty = b64(&sign(&key, KeyType::RsaPss, HashMethod::Sha256, b""));
    verify_image(&cert, "RSA-PSS", "SHA-256", &empty, b"", 1).unwrap();
}

#[test]
fn a_digest_computed_elsewhere_verifies_like_the_data() {
    for (name, key_type) in SIGNING {
        let key = signing_key(name);
        let cert = signing_cert(name);
        for hash in HashMethod::ALL {
            let sig = b64(&sign(&key, *key_type, hash, DATA));
            let props = SignatureProperties {
                signature: Some(sig),
                hash_method: Some(hash.name().to_owned()),
                key_type: Some(key_type.name().to_owned()),
                certificate_uuid: Some("u".into()),
            };
            let prepared = props.prepare(KeyTypeProfile::Legacy).unwrap();
            let verifier = || prepared.verifier(&cert).unwrap();
            verifier().finish_with_digest(&hash.digest(DATA)).unwrap_or_else(|e| panic!("{name} {hash}: {e}"));
            let mut tampered = DATA.to_vec();
            tampered[0] ^= 1;
            assert_eq!(verifier().finish_with_digest(&hash.digest(&tampered)), Err(Error::InvalidSignature));
            // A digest of another length (another hash method) is a mismatch, not a panic.
            assert_eq!(verifier().finish_with_digest(&[0u8; 20]), Err(Error::InvalidSignature), "{name} {hash}");
        }
    }
}

#[test]
fn rsa_pss_accepts_any_salt_length_like_cryptography_42_and_later() {
    let key = signing_key("rsa-2048");
    let cert = signing_cert("rsa-2048");
    let SigningKey::Rsa(private) = &key else { panic!("rsa fixture") };
    // 222 is the maximum for RSA-2048/SHA-256 (OpenSSL 3.0's default), 32 the digest length
    // (OpenSSL >= 3.1's default).
    for salt in [0usize, 20, 32, 100, 222] {
        let signer = rsa::pss::SigningKey::<sha2::Sha256>::new_with_salt_len(private.clone(), salt);
        let sig = signer.sign_with_rng(&mut rand::rng(), DATA);
        let sig: Box<[u8]> = sig.into();
        verify_image(&cert, "RSA-PSS", "SHA-256", &b64(&sig), DATA, 1000).unwrap_or_else(|e| panic!("salt {salt}: {e}"));
    }
}

#[test]
fn pkcs1v15_signature_under_rsa_pss_is_invalid() {
    let key = signing_key("rsa-2048");
    let SigningKey::Rsa(private) = &key else { panic!("rsa fixture") };
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private.clone());
    let sig: Box<[u8]> = signer.sign_with_rng(&mut rand::rng(), DATA).into();
    assert_eq!(verify_image(&signing_cert("rsa-2048"), "RSA-PSS", "SHA-256", &b64(&sig), DATA, 64), Err(Error::InvalidSignature));
}

#[test]
fn p521_verifies_short_hashes() {
    let key = signing_key("ec-p521");
    let cert = signing_cert("ec-p521");
    for hash in [HashMethod::Sha224, HashMethod::Sha256] {
        let sig = b64(&sign(&key, KeyType::Ecc(EcCurve::Secp521r1), hash, DATA));
        verify_image(&cert, "ECC_SECP521R1", hash.name(), &sig, DATA, 10).unwrap();
    }
}

#[test]
fn ecc_key_types_do_not_bind_the_curve() {
    // cursive quirk: a P-256 certificate passes under ECC_SECP384R1 and verifies with P-256.
    let key = signing_key("ec-p256");
    let sig = b64(&sign(&key, KeyType::Ecc(EcCurve::Secp384r1), HashMethod::Sha256, DATA));
    verify_image(&signing_cert("ec-p256"), "ECC_SECP384R1", "SHA-256", &sig, DATA, 5).unwrap();
    // ... and a P-384 signature passes under ECC_SECP521R1.
    let key = signing_key("ec-p384");
    let sig = b64(&sign(&key, KeyType::Ecc(EcCurve::Secp521r1), HashMethod::Sha384, DATA));
    verify_image(&signing_cert("ec-p384"), "ECC_SECP521R1", "SHA-384", &sig, DATA, 5).unwrap();
}

#[test]
fn key_type_must_match_the_certificate() {
    let sig = b64(b"whatever");
    let cases =
        [("rsa-2048", "DSA"), ("rsa-2048", "ECC_SECP384R1"), ("dsa-2048-256", "RSA-PSS"), ("ec-p384", "RSA-PSS"), ("ec-p384", "DSA")];
    for (cert, key_type) in cases {
        assert_eq!(
            verify_image(&signing_cert(cert), key_type, "SHA-256", &sig, DATA, 1).unwrap_err().to_string(),
            format!("Signature verification for the image failed: Invalid public key type for signature key type: {key_type}."),
            "{cert} as {key_type}"
        );
    }
}

#[test]
fn empty_signature_fails_in_the_factory_after_the_key_check() {
    let cert = signing_cert("rsa-2048");
    assert_eq!(
        verify_image(&cert, "RSA-PSS", "SHA-256", "", DATA, 1).unwrap_err().to_string(),
        "Signature verification for the image failed: Error occurred while creating the verifier."
    );
    // The key-type check comes first.
    assert_eq!(verify_image(&cert, "DSA", "SHA-256", "", DATA, 1).unwrap_err(), Error::InvalidPublicKeyType("DSA".into()));
}

#[test]
fn signature_path_ignores_certificate_dates() {
    // cursive >= 0.2.0 checks no dates when verifying a signature.
    let key = key("variants/expired-signing.key.pem");
    let cert = cert("variants/expired-signing.crt.pem");
    let sig = b64(&sign(&key, KeyType::RsaPss, HashMethod::Sha256, DATA));
    verify_image(&cert, "RSA-PSS", "SHA-256", &sig, DATA, 9).unwrap();
}

#[test]
fn garbage_signatures_are_invalid_not_panics() {
    for (name, key_type) in [("rsa-2048", "RSA-PSS"), ("dsa-2048-256", "DSA"), ("ec-p384", "ECC_SECP384R1"), ("ec-p521", "ECC_SECP521R1")] {
        for garbage in [&b"\x00"[..], b"\x30\x00", b"\x30\x06\x02\x01\x00\x02\x01\x00", &[0xffu8; 600]] {
            assert_eq!(
                verify_image(&signing_cert(name), key_type, "SHA-256", &b64(garbage), DATA, 3),
                Err(Error::InvalidSignature),
                "{name} {garbage:?}"
            );
        }
    }
}

#[test]
fn current_profile_rejects_binary_curve_names_before_fetching_the_certificate() {
    let props = SignatureProperties {
        signature: Some("QUFB".into()),
        hash_method: Some("SHA-256".into()),
        key_type: Some("ECC_SECT409R1".into()),
        certificate_uuid: Some("u".into()),
    };
    assert_eq!(props.prepare(KeyTypeProfile::Current), Err(Error::InvalidKeyType("ECC_SECT409R1".into())));
}

#[test]
fn signing_refuses_a_key_of_the_wrong_type() {
    let key = signing_key("ec-p384");
    let err = key.sign_digest(KeyType::RsaPss, HashMethod::Sha256, &[0; 32], &mut rand::rngs::SysRng).unwrap_err();
    assert_eq!(err, Error::InvalidPublicKeyType("RSA-PSS".into()));
}

#[test]
fn private_key_pem_errors_are_clear() {
    assert!(matches!(SigningKey::from_pem("hello"), Err(Error::InvalidPrivateKey(m)) if m.contains("no PEM")));
    let cert_pem = std::fs::read_to_string(path("signing/rsa-2048.crt.pem")).unwrap();
    assert!(matches!(SigningKey::from_pem(&cert_pem), Err(Error::InvalidPrivateKey(m)) if m.contains("CERTIFICATE")));
}

/// One fixture per key type, binary curves included, each with another certificate of the same
/// key type that must not verify its signatures (sect409k1 <-> sect409r1: the curve is not bound
/// to the name, so the other curve's key is tried and fails). RSA-8192 and the larger DSA
/// sizes are covered by the fixed tests above; these keep the property test quick.
const EVERY_KEY_TYPE: &[(&str, KeyType, &str)] = &[
    ("rsa-1024-e3", KeyType::RsaPss, "rsa-2048"),
    ("rsa-2048", KeyType::RsaPss, "rsa-1024"),
    ("dsa-2048-256", KeyType::Dsa, "dsa-2048-224"),
    ("ec-p384", KeyType::Ecc(EcCurve::Secp384r1), "ec-p521"),
    ("ec-p521", KeyType::Ecc(EcCurve::Secp521r1), "ec-p384"),
    ("sect409k1", KeyType::Ecc(EcCurve::Sect409k1), "sect409r1"),
    ("sect409r1", KeyType::Ecc(EcCurve::Sect409r1), "sect409k1"),
    ("sect571k1", KeyType::Ecc(EcCurve::Sect571k1), "sect571r1"),
    ("sect571r1", KeyType::Ecc(EcCurve::Sect571r1), "sect571k1"),
];

fn any_cert(name: &str) -> sigstack_verify::Certificate {
    if name.starts_with("sect") { binary_cert(name) } else { signing_cert(name) }
}

fn any_key(name: &str) -> SigningKey {
    if name.starts_with("sect") { binary_key(name) } else { signing_key(name) }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Every case runs every hash x key type: random data signs and verifies (in random chunk
    /// sizes); a flipped bit anywhere in the data or in the signature, the data without its last
    /// byte, or another certificate of the same key type gives `InvalidSignature`.
    #[test]
    fn random_data_verifies_and_any_change_fails(
        data in proptest::collection::vec(any::<u8>(), 1..3000),
        chunk in 1usize..700,
        flip_at in any::<proptest::sample::Index>(),
        sig_flip_at in any::<proptest::sample::Index>(),
        bit in 0u8..8,
    ) {
        for &(name, key_type, other) in EVERY_KEY_TYPE {
            let key = any_key(name);
            let cert = any_cert(name);
            let other = any_cert(other);
            for hash in HashMethod::ALL {
                let raw = sign(&key, key_type, hash, &data);
                let sig = b64(&raw);
                let run = |cert: &sigstack_verify::Certificate, sig: &str, data: &[u8]| {
                    verify_image(cert, key_type.name(), hash.name(), sig, data, chunk)
                };
                prop_assert_eq!(run(&cert, &sig, &data), Ok(()), "{} {}", name, hash);

                let mut flipped = data.clone();
                flipped[flip_at.index(data.len())] ^= 1 << bit;
                prop_assert_eq!(run(&cert, &sig, &flipped), Err(Error::InvalidSignature), "{} {} data bit", name, hash);

                let truncated = &data[..data.len() - 1];
                prop_assert_eq!(run(&cert, &sig, truncated), Err(Error::InvalidSignature), "{} {} truncated", name, hash);

                let mut bad_sig = raw.clone();
                bad_sig[sig_flip_at.index(raw.len())] ^= 1 << bit;
                prop_assert_eq!(run(&cert, &b64(&bad_sig), &data), Err(Error::InvalidSignature), "{} {} signature bit", name, hash);

                prop_assert_eq!(run(&other, &sig, &data), Err(Error::InvalidSignature), "{} {} wrong certificate", name, hash);
            }
        }
    }
}
