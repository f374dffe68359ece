//! Differential tests against the OpenSSL command line, in both directions, for every key
//! type and hash: what `openssl dgst -sign` makes (the recipe in OpenStack's documents) we
//! verify, and what we sign `openssl dgst -verify` accepts.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use sigstack_verify::{Certificate, EcCurve, Error, HashMethod, KeyType, KeyTypeProfile, RsaPadding, SignatureHash, SigningKey};

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl").args(args).output().expect("the openssl command line must be installed (apt-get install openssl)")
}

fn dgst_flag(hash: HashMethod) -> &'static str {
    match hash {
        HashMethod::Sha224 => "-sha224",
        HashMethod::Sha256 => "-sha256",
        HashMethod::Sha384 => "-sha384",
        HashMethod::Sha512 => "-sha512",
    }
}

/// `openssl dgst -sign`, with extra `-sigopt`s; returns the raw signature.
fn openssl_sign(dir: &Path, name: &str, hash: HashMethod, sigopts: &[&str]) -> Vec<u8> {
    let key = path(&format!("signing/{name}.key.pem"));
    let sig = dir.join(format!("{name}.sig"));
    let data = dir.join("image.bin");
    let mut args = vec!["dgst", dgst_flag(hash), "-sign", key.to_str().unwrap()];
    for opt in sigopts {
        args.extend(["-sigopt", opt]);
    }
    args.extend(["-out", sig.to_str().unwrap(), data.to_str().unwrap()]);
    let out = openssl(&args);
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(sig).unwrap()
}

fn is_rsa(key_type: KeyType) -> bool {
    key_type == KeyType::RsaPss
}

fn image(dir: &Path) -> Vec<u8> {
    let data: Vec<u8> = (0..70_001u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(dir.join("image.bin"), &data).unwrap();
    data
}

#[test]
fn we_verify_what_openssl_signs() {
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    for (name, key_type) in SIGNING {
        let cert = signing_cert(name);
        for hash in HashMethod::ALL {
            let mut variants: Vec<Vec<&str>> = vec![vec![]];
            if is_rsa(*key_type) {
                // OpenSSL 3.0's default (max salt) and OpenSSL >= 3.1's (digest-length salt).
                variants = vec![vec!["rsa_padding_mode:pss"], vec!["rsa_padding_mode:pss", "rsa_pss_saltlen:0"]];
                // A 1024-bit modulus has no room for a 64-byte salt beside a 64-byte hash.
                if !(name.starts_with("rsa-1024") && hash == HashMethod::Sha512) {
                    variants.push(vec!["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"]);
                }
            }
            for sigopts in variants {
                let sig = openssl_sign(dir.path(), name, hash, &sigopts);
                verify_image(&cert, key_type.name(), hash.name(), &b64(&sig), &data, 4096)
                    .unwrap_or_else(|e| panic!("{name} {hash} {sigopts:?}: {e}"));
                let mut tampered = data.clone();
                tampered[12_345] ^= 0x80;
                assert_eq!(
                    verify_image(&cert, key_type.name(), hash.name(), &b64(&sig), &tampered, 4096),
                    Err(Error::InvalidSignature),
                    "{name} {hash} {sigopts:?} tampered"
                );
            }
        }
    }
}

#[test]
fn openssl_verifies_what_we_sign() {
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    let data_path = dir.path().join("image.bin");
    for (name, key_type) in SIGNING {
        let key = signing_key(name);
        let public = path(&format!("signing/{name}.pub.pem"));
        for hash in HashMethod::ALL {
            let sig_path = dir.path().join("ours.sig");
            std::fs::write(&sig_path, sign(&key, *key_type, hash, &data)).unwrap();
            let mut args = vec!["dgst", dgst_flag(hash), "-verify", public.to_str().unwrap()];
            if is_rsa(*key_type) {
                // Strict: our salt must be the maximum, as `openssl dgst` on OpenSSL 3.0 makes it.
                args.extend(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:max"]);
            }
            args.extend(["-signature", sig_path.to_str().unwrap(), data_path.to_str().unwrap()]);
            let out = openssl(&args);
            assert!(
                out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK"),
                "{name} {hash}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn binary_curves_agree_with_openssl_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    let data_path = dir.path().join("image.bin");
    for (curve, key_type) in BINARY {
        let cert = binary_cert(curve);
        let key = binary_key(curve);
        for hash in HashMethod::ALL {
            let sig_path = dir.path().join("theirs.sig");
            let key_path = binary_path(curve, "key");
            let out = openssl(&[
                "dgst",
                dgst_flag(hash),
                "-sign",
                key_path.to_str().unwrap(),
                "-out",
                sig_path.to_str().unwrap(),
                data_path.to_str().unwrap(),
            ]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let theirs = std::fs::read(&sig_path).unwrap();
            verify_image(&cert, key_type.name(), hash.name(), &b64(&theirs), &data, 4096).unwrap_or_else(|e| panic!("{curve} {hash}: {e}"));

            std::fs::write(&sig_path, sign(&key, *key_type, hash, &data)).unwrap();
            let public = binary_path(curve, "pub");
            let out = openssl(&[
                "dgst",
                dgst_flag(hash),
                "-verify",
                public.to_str().unwrap(),
                "-signature",
                sig_path.to_str().unwrap(),
                data_path.to_str().unwrap(),
            ]);
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("Verified OK"),
                "{curve} {hash}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn mgf1_with_another_hash_does_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    let sig = openssl_sign(dir.path(), "rsa-2048", HashMethod::Sha256, &["rsa_padding_mode:pss", "rsa_mgf1_md:sha1"]);
    assert_eq!(verify_image(&signing_cert("rsa-2048"), "RSA-PSS", "SHA-256", &b64(&sig), &data, 100), Err(Error::InvalidSignature));
}

#[test]
fn signature_made_with_another_hash_does_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    let sig = openssl_sign(dir.path(), "ec-p384", HashMethod::Sha384, &[]);
    assert_eq!(verify_image(&signing_cert("ec-p384"), "ECC_SECP384R1", "SHA-256", &b64(&sig), &data, 100), Err(Error::InvalidSignature));
}

#[test]
fn openssl_agrees_on_the_nova_document_chain() {
    // Our validator's verdict on the documented chain matches `openssl verify`.
    let chain = |n: &str| path(&format!("chain/{n}.crt.pem")).to_str().unwrap().to_owned();
    let untrusted = chain("intermediate-a");
    let out = openssl(&[
        "verify",
        "-attime",
        "1795435200",
        "-CAfile",
        &chain("root"),
        "-untrusted",
        &untrusted,
        "-untrusted",
        &chain("intermediate-b"),
        &chain("client"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn traditional_private_key_formats_load() {
    // `openssl ec` writes SEC1 (`EC PRIVATE KEY`), `openssl rsa -traditional` PKCS#1.
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("ec", path("signing/ec-p384.key.pem"), vec![]),
        ("ec", path("signing/ec-p521.key.pem"), vec![]),
        ("ec", binary_path("sect409r1", "key"), vec![]),
        ("rsa", path("signing/rsa-2048.key.pem"), vec!["-traditional"]),
    ];
    for (tool, key, extra) in cases {
        let out_path = dir.path().join("traditional.pem");
        let mut args = vec![tool, "-in", key.to_str().unwrap(), "-out", out_path.to_str().unwrap()];
        args.extend(extra);
        let out = openssl(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let pem = std::fs::read_to_string(&out_path).unwrap();
        assert!(pem.contains(if tool == "ec" { "EC PRIVATE KEY" } else { "RSA PRIVATE KEY" }), "{pem}");
        let traditional = sigstack_verify::SigningKey::from_pem(&pem).unwrap();
        let pkcs8 = sigstack_verify::SigningKey::from_pem(&std::fs::read_to_string(&key).unwrap()).unwrap();
        assert_eq!(traditional.public_key().describe(), pkcs8.public_key().describe());
        // Same key: a signature by one verifies under the other's certificate path.
        let data = b"same key";
        let key_type = match tool {
            "rsa" => KeyType::RsaPss,
            _ => KeyType::Ecc(sigstack_verify::EcCurve::Secp384r1),
        };
        let sig = sign(&traditional, key_type, HashMethod::Sha256, data);
        let digest = HashMethod::Sha256.digest(data);
        let padding = if tool == "rsa" { sigstack_verify::RsaPadding::PssAnySalt } else { sigstack_verify::RsaPadding::Pkcs1v15 };
        pkcs8.public_key().verify_digest(sigstack_verify::SignatureHash::Sha2(HashMethod::Sha256), &digest, &sig, padding).unwrap();
    }
}

// ---- every curve Python's cryptography loads, explicit parameters, RSA-16384 ----

/// An EC key and its self-signed certificate, made by the OpenSSL CLI (see `openssl_ec_files`).
fn openssl_ec_key(dir: &Path, curve: &str, params: &str) -> (std::path::PathBuf, std::path::PathBuf, Certificate) {
    let (key, public, crt) = openssl_ec_files(dir, curve, params);
    let cert = Certificate::from_pem_or_der(&std::fs::read(&crt).unwrap()).unwrap();
    (key, public, cert)
}

/// `openssl dgst -sign` with any key file; the raw signature.
fn openssl_sign_with(key: &Path, hash: HashMethod, data: &Path, out: &Path) -> Vec<u8> {
    let args = ["dgst", dgst_flag(hash), "-sign", key.to_str().unwrap(), "-out", out.to_str().unwrap(), data.to_str().unwrap()];
    let result = openssl(&args);
    assert!(result.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&result.stderr));
    std::fs::read(out).unwrap()
}

/// Whether `openssl dgst -verify` accepts `signature` over `data`.
fn openssl_accepts(public: &Path, hash: HashMethod, signature: &[u8], data: &Path, dir: &Path) -> bool {
    let sig_path = dir.join("check.sig");
    std::fs::write(&sig_path, signature).unwrap();
    let out = openssl(&[
        "dgst",
        dgst_flag(hash),
        "-verify",
        public.to_str().unwrap(),
        "-signature",
        sig_path.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

/// OpenSSL signs, the engine verifies (and rejects tampered data and the wrong hash); where the
/// engine can sign, `openssl dgst -verify` accepts its signature and rejects it over tampered
/// data. The image declares `ECC_SECP384R1` whatever the certificate's curve: cursive does not
/// bind the curve to the key type, so neither do we.
fn ec_curve_both_ways(curve: &str, profile: KeyTypeProfile, shown_as: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    let data_path = dir.path().join("image.bin");
    let mut tampered = data.clone();
    tampered[12_345] ^= 0x80;
    let tampered_path = dir.path().join("tampered.bin");
    std::fs::write(&tampered_path, &tampered).unwrap();
    let (key_path, public, cert) = openssl_ec_key(dir.path(), curve, "named");
    assert_eq!(cert.public_key().unwrap().describe(), format!("EC {shown_as}"), "{curve}");
    let declared = KeyType::Ecc(EcCurve::Secp384r1);
    let ours = SigningKey::from_pem(&std::fs::read_to_string(&key_path).unwrap());
    for hash in HashMethod::ALL {
        let theirs = openssl_sign_with(&key_path, hash, &data_path, &dir.path().join("theirs.sig"));
        verify_image_as(profile, &cert, declared.name(), hash.name(), &b64(&theirs), &data, 4096)
            .unwrap_or_else(|e| panic!("{curve} {hash}: OpenSSL's signature rejected: {e}"));
        assert_eq!(
            verify_image_as(profile, &cert, declared.name(), hash.name(), &b64(&theirs), &tampered, 4096),
            Err(Error::InvalidSignature),
            "{curve} {hash} tampered"
        );
        let other = if hash == HashMethod::Sha256 { HashMethod::Sha384 } else { HashMethod::Sha256 };
        assert_eq!(
            verify_image_as(profile, &cert, declared.name(), other.name(), &b64(&theirs), &data, 4096),
            Err(Error::InvalidSignature),
            "{curve} {hash} verified as {other}"
        );
        match &ours {
            Ok(key) => {
                let sig = sign(key, declared, hash, &data);
                assert!(openssl_accepts(&public, hash, &sig, &data_path, dir.path()), "{curve} {hash}: OpenSSL rejects our signature");
                assert!(!openssl_accepts(&public, hash, &sig, &tampered_path, dir.path()), "{curve} {hash}: OpenSSL accepts tampered data");
                verify_image_as(profile, &cert, declared.name(), hash.name(), &b64(&sig), &data, 4096).unwrap();
            }
            Err(e) => {
                assert_eq!(curve, "prime192v1", "only P-192 keys cannot sign: {e}");
                assert!(e.to_string().contains("P-192 keys cannot sign"), "{e}");
            }
        }
    }
}

#[test]
fn p192_agrees_with_openssl_and_cannot_sign() {
    ec_curve_both_ways("prime192v1", KeyTypeProfile::Current, "P-192");
}

#[test]
fn p224_agrees_with_openssl_both_ways() {
    ec_curve_both_ways("secp224r1", KeyTypeProfile::Current, "P-224");
}

#[test]
fn p256_agrees_with_openssl_both_ways() {
    ec_curve_both_ways("prime256v1", KeyTypeProfile::Current, "P-256");
}

#[test]
fn p384_agrees_with_openssl_both_ways() {
    ec_curve_both_ways("secp384r1", KeyTypeProfile::Current, "P-384");
}

#[test]
fn p521_agrees_with_openssl_both_ways() {
    ec_curve_both_ways("secp521r1", KeyTypeProfile::Current, "P-521");
}

#[test]
fn secp256k1_agrees_with_openssl_both_ways() {
    ec_curve_both_ways("secp256k1", KeyTypeProfile::Current, "secp256k1");
}

#[test]
fn brainpool_p256r1_agrees_with_openssl_both_ways() {
    ec_curve_both_ways("brainpoolP256r1", KeyTypeProfile::Current, "brainpoolP256r1");
}

#[test]
fn brainpool_p384r1_agrees_with_openssl_both_ways() {
    ec_curve_both_ways("brainpoolP384r1", KeyTypeProfile::Current, "brainpoolP384r1");
}

#[test]
fn brainpool_p512r1_agrees_with_openssl_both_ways() {
    ec_curve_both_ways("brainpoolP512r1", KeyTypeProfile::Current, "brainpoolP512r1");
}

#[test]
fn the_smaller_binary_curves_agree_with_openssl_under_legacy() {
    for curve in ["sect163k1", "sect163r2", "sect233k1", "sect233r1", "sect283k1", "sect283r1"] {
        ec_curve_both_ways(curve, KeyTypeProfile::Legacy, curve);
    }
}

#[test]
fn binary_curve_keys_do_not_load_under_current() {
    let dir = tempfile::tempdir().unwrap();
    for (curve, oid) in [("sect163k1", "1.3.132.0.1"), ("sect233r1", "1.3.132.0.27"), ("sect283k1", "1.3.132.0.16")] {
        let (_, _, cert) = openssl_ec_key(dir.path(), curve, "named");
        let e = verify_image_as(KeyTypeProfile::Current, &cert, "ECC_SECP384R1", "SHA-256", "QUFB", b"x", 1).unwrap_err();
        assert_eq!(e, Error::UnsupportedAlgorithm(format!("Curve {oid} is not supported")), "{curve}");
    }
}

/// brainpoolP512r1 is constants over generic arithmetic (no published crate): they must be
/// OpenSSL's, field by field.
#[test]
fn brainpool_p512r1_constants_are_openssls() {
    let out = openssl(&["ecparam", "-name", "brainpoolP512r1", "-param_enc", "explicit", "-text", "-noout"]);
    let text: String = String::from_utf8(out.stdout).unwrap().replace([':', ' ', '\n'], "");
    for (label, ours) in [
        (
            "Prime",
            "00aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3",
        ),
        (
            "A",
            "7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94ca",
        ),
        (
            "B",
            "3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94cadc083e67984050b75ebae5dd2809bd638016f723",
        ),
        (
            "Order",
            "00aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca70330870553e5c414ca92619418661197fac10471db1d381085ddaddb58796829ca90069",
        ),
    ] {
        assert!(text.contains(&format!("{label}{ours}")), "{label} differs from OpenSSL's: {text}");
    }
    // The generator, through the engine: a key with d = 1 has public key G.
    let one = {
        let mut d = [0u8; 64];
        d[63] = 1;
        d
    };
    let info = pkcs8_ec_private_key("1.3.36.3.3.2.8.1.1.13", &one);
    let key = SigningKey::from_pkcs8_der(&info).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let der_path = dir.path().join("one.der");
    std::fs::write(&der_path, &info).unwrap();
    let out = openssl(&["pkey", "-inform", "DER", "-in", der_path.to_str().unwrap(), "-pubout", "-outform", "DER"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs = sigstack_verify::PublicKey::from_spki_der(&out.stdout).unwrap();
    // Same point: a signature by our d = 1 key verifies under OpenSSL's idea of 1*G.
    let digest = HashMethod::Sha512.digest(b"generator");
    let sig = key.sign_digest(KeyType::Ecc(EcCurve::Secp384r1), HashMethod::Sha512, &digest, &mut rand::rngs::SysRng).unwrap();
    theirs.verify_digest(SignatureHash::Sha2(HashMethod::Sha512), &digest, &sig, RsaPadding::Pkcs1v15).unwrap();
    assert!(text.contains("Generator(uncompressed)0481aee4bdd82ed9645a21322e9c4c6a9385ed9f70b5d916c1b43b62eef4d0098eff3b1f78e2d0d48d50d1687b93b97d5f7c6d5047406a5e688b352209bcb9f8227dde385d566332ecc0eabfa9cf7822fdf209f70024a57b1aa000c55b881f8111b2dcde494a5f485e5bca4bd88a2763aed1ca2b2fa8f0540678cd1e0f3ad80892"));
}

/// A PKCS#8 `PrivateKeyInfo` for an EC key on a named curve (no embedded public key).
fn pkcs8_ec_private_key(curve_oid: &str, secret: &[u8]) -> Vec<u8> {
    use der::Encode;
    let curve = der::asn1::ObjectIdentifier::new_unwrap(curve_oid);
    let inner = sec1::EcPrivateKey { private_key: secret, parameters: None, public_key: None }.to_der().unwrap();
    let algorithm = spki::AlgorithmIdentifierRef {
        oid: der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1"),
        parameters: Some(der::asn1::AnyRef::from(&curve)),
    };
    pkcs8::PrivateKeyInfoRef::new(algorithm, der::asn1::OctetStringRef::new(&inner).unwrap()).to_der().unwrap()
}

/// OpenSSL makes high-S and low-S ECDSA signatures alike and accepts both; k256 (made for
/// Bitcoin) rejects high S unless the engine normalises first. Both forms of one signature
/// must verify, in OpenSSL and in the engine.
#[test]
fn secp256k1_high_and_low_s_both_verify_as_in_openssl() {
    use elliptic_curve::ff::PrimeField as _;
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    let data_path = dir.path().join("image.bin");
    let (key_path, public, cert) = openssl_ec_key(dir.path(), "secp256k1", "named");
    let theirs = openssl_sign_with(&key_path, HashMethod::Sha256, &data_path, &dir.path().join("k1.sig"));
    let parsed = k256::ecdsa::Signature::from_der(&theirs).unwrap();
    let low = parsed.normalize_s();
    let high = k256::ecdsa::Signature::from_scalars(low.r().to_repr(), (-*low.s()).to_repr()).unwrap();
    assert_ne!(low, high);
    for (form, sig) in [("low S", low), ("high S", high)] {
        let der = sig.to_der().as_bytes().to_vec();
        assert!(openssl_accepts(&public, HashMethod::Sha256, &der, &data_path, dir.path()), "OpenSSL rejects the {form} form");
        verify_image(&cert, "ECC_SECP521R1", "SHA-256", &b64(&der), &data, 4096).unwrap_or_else(|e| panic!("{form}: {e}"));
    }
}

/// Explicit domain parameters: cryptography 50 (`current`) loads exactly P-256, P-384 and
/// P-521 (with or without the seed) as those curves and refuses the rest with
/// `UnsupportedAlgorithm`; cryptography 46 (`legacy`) refuses all with a `ValueError`. Never a
/// panic. (tests/cursive.rs checks the same certificates against the real cursive.)
#[test]
fn explicit_parameters_load_as_each_profiles_cryptography_loads_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    let data_path = dir.path().join("image.bin");
    let unmapped = "ECDSA keys with explicit parameters are only supported when they map to secp256r1, secp384r1, or secp521r1. \
                    No custom curves are supported.";
    for (curve, params, maps) in [
        ("prime256v1", "explicit", true),
        ("secp384r1", "explicit", true),
        ("secp384r1", "explicit-no-seed", true),
        ("secp521r1", "explicit", true),
        ("secp224r1", "explicit", false),
        ("secp256k1", "explicit", false),
        ("brainpoolP512r1", "explicit", false),
        ("sect283k1", "explicit", false),
    ] {
        let (key_path, _, cert) = openssl_ec_key(dir.path(), curve, params);
        let sig = b64(&openssl_sign_with(&key_path, HashMethod::Sha384, &data_path, &dir.path().join("explicit.sig")));
        let current = verify_image_as(KeyTypeProfile::Current, &cert, "ECC_SECP521R1", "SHA-384", &sig, &data, 4096);
        if maps {
            current.unwrap_or_else(|e| panic!("{curve} {params}: {e}"));
            assert!(cert.public_key().unwrap().describe().ends_with("(explicit parameters)"));
        } else {
            assert_eq!(current, Err(Error::UnsupportedAlgorithm(unmapped.into())), "{curve} {params}");
        }
        let legacy = verify_image_as(KeyTypeProfile::Legacy, &cert, "ECC_SECP521R1", "SHA-384", &sig, &data, 4096);
        assert_eq!(legacy, Err(Error::ExplicitCurveParameters), "{curve} {params}");
        assert_eq!(Error::ExplicitCurveParameters.cursive_exception(), "ValueError");
        assert_eq!(Error::ExplicitCurveParameters.to_string(), "ECDSA keys with explicit parameters are unsupported at this time");
    }
}

/// A named curve that cryptography does not load either (OpenSSL has it): the engine's error
/// is cryptography's `UnsupportedAlgorithm` text under both profiles, raised when the key is
/// loaded (before the key-type check, as in cursive), and such a key cannot sign.
#[test]
fn curves_cryptography_does_not_load_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (curve, oid) in [
        ("secp192k1", "1.3.132.0.31"),
        ("brainpoolP256t1", "1.3.36.3.3.2.8.1.1.8"),
        ("prime239v1", "1.2.840.10045.3.1.4"),
        ("sect113r1", "1.3.132.0.4"),
    ] {
        let (key_path, _, cert) = openssl_ec_key(dir.path(), curve, "named");
        let want = Error::UnsupportedAlgorithm(format!("Curve {oid} is not supported"));
        for profile in [KeyTypeProfile::Current, KeyTypeProfile::Legacy] {
            for key_type in ["ECC_SECP384R1", "RSA-PSS", "DSA"] {
                assert_eq!(verify_image_as(profile, &cert, key_type, "SHA-256", "QUFB", b"x", 1), Err(want.clone()), "{curve} {key_type}");
            }
        }
        assert_eq!(want.cursive_exception(), "UnsupportedAlgorithm");
        let signing = SigningKey::from_pem(&std::fs::read_to_string(&key_path).unwrap()).unwrap_err();
        assert_eq!(signing, Error::InvalidPrivateKey(format!("unsupported curve {oid}: the verifier has no arithmetic for it")));
    }
}

/// RSA-16384, the largest modulus OpenSSL computes with: OpenSSL's PSS signatures (maximum and
/// digest-length salt) verify and tampered data does not; ours verify in OpenSSL.
#[test]
fn rsa_16384_agrees_with_openssl_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    let data_path = dir.path().join("image.bin");
    let key_path = data_file("rsa-16384.key.pem");
    let cert = Certificate::from_pem_or_der(&std::fs::read(data_file("rsa-16384.crt.pem")).unwrap()).unwrap();
    assert_eq!(cert.public_key().unwrap().describe(), "RSA-16384");
    let mut tampered = data.clone();
    tampered[7] ^= 1;
    for (hash, salt) in [(HashMethod::Sha256, "max"), (HashMethod::Sha512, "digest")] {
        let sig_path = dir.path().join("rsa.sig");
        let salt_opt = format!("rsa_pss_saltlen:{salt}");
        let args = [
            "dgst",
            dgst_flag(hash),
            "-sign",
            key_path.to_str().unwrap(),
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            &salt_opt,
            "-out",
            sig_path.to_str().unwrap(),
            data_path.to_str().unwrap(),
        ];
        let out = openssl(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let sig = b64(&std::fs::read(&sig_path).unwrap());
        verify_image(&cert, "RSA-PSS", hash.name(), &sig, &data, 65536).unwrap_or_else(|e| panic!("{hash} salt {salt}: {e}"));
        assert_eq!(verify_image(&cert, "RSA-PSS", hash.name(), &sig, &tampered, 65536), Err(Error::InvalidSignature));
    }
    let key = SigningKey::from_pem(&std::fs::read_to_string(&key_path).unwrap()).unwrap();
    let ours = sign(&key, KeyType::RsaPss, HashMethod::Sha384, &data);
    assert_eq!(ours.len(), 2048);
    let public = data_file("rsa-16384.pub.pem");
    let sig_path = dir.path().join("ours.sig");
    std::fs::write(&sig_path, &ours).unwrap();
    let out = openssl(&[
        "dgst",
        "-sha384",
        "-verify",
        public.to_str().unwrap(),
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:max",
        "-signature",
        sig_path.to_str().unwrap(),
        data_path.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Over 16384 bits OpenSSL will not compute (RSA_R_MODULUS_TOO_LARGE), so cryptography calls
/// every signature invalid: such a key loads and never verifies, and cannot sign here.
#[test]
fn rsa_over_16384_bits_never_verifies_and_cannot_sign() {
    let pem = std::fs::read_to_string(data_file("rsa-16392.key.pem")).unwrap();
    let e = SigningKey::from_pem(&pem).unwrap_err();
    assert_eq!(
        e,
        Error::InvalidPrivateKey(
            "RSA-16392 signatures cannot be verified: OpenSSL, and so cryptography (cursive) and this engine, verify with moduli of \
             at most 16384 bits"
                .into()
        )
    );
    let cert = Certificate::from_pem_or_der(&std::fs::read(data_file("rsa-16392.crt.pem")).unwrap()).unwrap();
    let key = cert.public_key().unwrap();
    assert_eq!(key.describe(), "RSA-16392");
    // Whatever the signature, as OpenSSL: invalid.
    let digest = HashMethod::Sha256.digest(b"data");
    for sig in [vec![0x5a; 2049], vec![1; 2048], vec![]] {
        assert_eq!(
            key.verify_digest(SignatureHash::Sha2(HashMethod::Sha256), &digest, &sig, RsaPadding::PssAnySalt),
            Err(Error::InvalidSignature)
        );
    }
    // OpenSSL signs with the key but cannot verify its own signature; neither can we.
    let dir = tempfile::tempdir().unwrap();
    let data = image(dir.path());
    let data_path = dir.path().join("image.bin");
    let sig_path = dir.path().join("big.sig");
    let big_key = data_file("rsa-16392.key.pem");
    let out = openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        big_key.to_str().unwrap(),
        "-sigopt",
        "rsa_padding_mode:pss",
        "-out",
        sig_path.to_str().unwrap(),
        data_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sig = std::fs::read(&sig_path).unwrap();
    assert!(!openssl_accepts(&data_file("rsa-16392.pub.pem"), HashMethod::Sha256, &sig, &data_path, dir.path()));
    assert_eq!(verify_image(&cert, "RSA-PSS", "SHA-256", &b64(&sig), &data, 4096), Err(Error::InvalidSignature));
}
