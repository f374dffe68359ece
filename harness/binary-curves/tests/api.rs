//! Public-API behaviour: round trips (proptest), tampering, range checks, malformed keys and
//! signatures. Every malformed input must be an `Err`, never a panic.

mod common;

use common::*;
use der::asn1::{AnyRef, OctetStringRef};
use der::{Decode, Encode};
use proptest::prelude::*;
use sigstack_binary_curves::{BinaryCurve, Error, HashAlg, ObjectIdentifier, PublicKey, Signature, SigningKey};

fn n_bytes(curve: BinaryCurve) -> Vec<u8> {
    // The order, taken from OpenSSL so this test does not trust our constants.
    let out = openssl_ok(&["ecparam", "-name", curve.openssl_name(), "-param_enc", "explicit", "-text", "-noout"]);
    let text = String::from_utf8(out).expect("utf-8");
    let after = text.split("Order:").nth(1).expect("Order");
    let hex: String = after
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with(char::is_whitespace))
        .flat_map(|l| l.trim().split(':').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    unhex(&hex)
}

fn sub_one(be: &[u8]) -> Vec<u8> {
    let mut v = be.to_vec();
    for b in v.iter_mut().rev() {
        let (r, borrow) = b.overflowing_sub(1);
        *b = r;
        if !borrow {
            break;
        }
    }
    v
}

#[test]
fn tampering_and_range_checks() {
    for curve in BinaryCurve::ALL {
        let key = signing_key(curve);
        let public = key.public_key();
        let msg = b"tamper test";
        let sig = key.sign(msg, HashAlg::Sha256).expect("sign");
        assert_eq!(public.verify(msg, HashAlg::Sha256, &sig), Ok(()));

        // Flipped bit in the data.
        assert_eq!(public.verify(b"tamper tesu", HashAlg::Sha256, &sig), Err(Error::Verification));
        // Flipped low bit of s (last byte) and of r (last byte of r's contents).
        let mut s_flip = sig.clone();
        let last = s_flip.len() - 1;
        s_flip[last] ^= 1;
        assert_eq!(public.verify(msg, HashAlg::Sha256, &s_flip), Err(Error::Verification));
        let parsed = Signature::from_der(&sig).expect("der");
        let mut r = parsed.r().to_vec();
        let rl = r.len() - 1;
        r[rl] ^= 1;
        let r_flip = Signature::from_scalars(&r, parsed.s()).to_der();
        assert_eq!(public.verify(msg, HashAlg::Sha256, &r_flip), Err(Error::Verification));
        // Bit flips across the DER are rejected (some as malformed): every bit of the first four
        // bytes (SEQUENCE and r headers), and one bit of every third byte after that (each such
        // flip costs a full verification, so the sample keeps debug test time down).
        let flips = (0..32).chain((32..sig.len() * 8).step_by(8 * 3 + 1));
        for i in flips {
            let mut t = sig.clone();
            t[i / 8] ^= 1 << (i % 8);
            assert!(public.verify(msg, HashAlg::Sha256, &t).is_err(), "{curve}: bit {i} flip accepted");
        }
        // Wrong key on the same curve.
        let other = SigningKey::from_bytes(curve, &[0x5a; 20]).expect("key");
        assert_eq!(other.public_key().verify(msg, HashAlg::Sha256, &sig), Err(Error::Verification));
        // Trailing garbage after the DER SEQUENCE.
        let mut trailing = sig.clone();
        trailing.push(0);
        assert!(matches!(public.verify(msg, HashAlg::Sha256, &trailing), Err(Error::SignatureEncoding(_))));

        // r = 0, s = 0, r = n, s = n, r = n + large, and r = n - 1 (in range, just wrong).
        let n = n_bytes(curve);
        let s = parsed.s();
        type Case = (Vec<u8>, Vec<u8>, Result<(), Error>);
        let cases: [Case; 6] = [
            (vec![], s.to_vec(), Err(Error::ScalarRange("r"))),
            (parsed.r().to_vec(), vec![], Err(Error::ScalarRange("s"))),
            (n.clone(), s.to_vec(), Err(Error::ScalarRange("r"))),
            (parsed.r().to_vec(), n.clone(), Err(Error::ScalarRange("s"))),
            (vec![0x7f; 80], s.to_vec(), Err(Error::ScalarRange("r"))),
            (sub_one(&n), s.to_vec(), Err(Error::Verification)),
        ];
        for (i, (r, s, want)) in cases.iter().enumerate() {
            let der = Signature::from_scalars(r, s).to_der();
            assert_eq!(&public.verify(msg, HashAlg::Sha256, &der), want, "{curve} case {i}");
        }

        // Compressed-point key verifies the same signature.
        let comp = PublicKey::from_sec1_bytes(curve, &public.to_sec1_bytes(true)).expect("compressed");
        assert_eq!(&comp, public);
        assert_eq!(comp.verify(msg, HashAlg::Sha256, &sig), Ok(()));
    }
}

#[test]
fn prehash_length_rules() {
    let key = signing_key(BinaryCurve::Sect409k1);
    assert_eq!(key.sign_prehash(&[0u8; 31], HashAlg::Sha256), Err(Error::PrehashLength { hash: "SHA-256", expected: 32, got: 31 }));
    // Verification accepts any prehash length, as OpenSSL does (here: empty and 1 byte).
    for prehash in [&[][..], &[0x42][..]] {
        let sig = key.sign_prehash(&HashAlg::Sha224.digest(b"x"), HashAlg::Sha224).expect("sign");
        assert_eq!(key.public_key().verify_prehash(prehash, &sig), Err(Error::Verification));
    }
}

fn ec_spki(curve_oid: &str, point: &[u8]) -> Vec<u8> {
    let oid = ObjectIdentifier::new_unwrap(curve_oid);
    spki::SubjectPublicKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef { oid: sigstack_binary_curves::ID_EC_PUBLIC_KEY, parameters: Some(AnyRef::from(&oid)) },
        subject_public_key: der::asn1::BitStringRef::from_bytes(point).expect("bits"),
    }
    .to_der()
    .expect("der")
}

#[test]
fn malformed_public_keys() {
    let k = public_key(BinaryCurve::Sect409k1);
    let point = k.to_sec1_bytes(false);
    // Same point bytes under each OID: right curve OK, other 409 curve not on curve, 571 wrong length.
    assert_eq!(PublicKey::from_public_key_der(&ec_spki("1.3.132.0.36", &point)), Ok(k.clone()));
    assert_eq!(PublicKey::from_public_key_der(&ec_spki("1.3.132.0.37", &point)), Err(Error::NotOnCurve));
    assert!(matches!(PublicKey::from_public_key_der(&ec_spki("1.3.132.0.38", &point)), Err(Error::FieldLength { expected: 72, got: 52 })));
    // secp384r1 and an unknown OID.
    assert_eq!(PublicKey::from_public_key_der(&ec_spki("1.3.132.0.34", &point)), Err(Error::UnknownCurve("1.3.132.0.34".into())));
    // Explicit curve parameters instead of a named curve.
    let explicit = openssl_ok(&[
        "ec",
        "-pubin",
        "-in",
        path_str(&fixture(BinaryCurve::Sect409k1, "pub.pem")),
        "-pubout",
        "-param_enc",
        "explicit",
        "-outform",
        "DER",
    ]);
    assert!(matches!(PublicKey::from_public_key_der(&explicit), Err(Error::UnsupportedAlgorithm(_))));
    // Trailing data after the SPKI, truncated SPKI, garbage.
    let good = k.to_public_key_der().expect("der");
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(PublicKey::from_public_key_der(&trailing), Err(Error::KeyEncoding(_))));
    assert!(matches!(PublicKey::from_public_key_der(&good[..good.len() - 1]), Err(Error::KeyEncoding(_))));
    assert!(PublicKey::from_public_key_pem("not pem").is_err());
}

#[test]
fn non_ec_public_key_is_unsupported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("rsa.pem");
    openssl_ok(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", path_str(&key)]);
    let der = openssl_ok(&["pkey", "-in", path_str(&key), "-pubout", "-outform", "DER"]);
    assert!(matches!(PublicKey::from_public_key_der(&der), Err(Error::UnsupportedAlgorithm(_))));
}

#[test]
fn malformed_private_keys() {
    let curve = BinaryCurve::Sect409k1;
    let pem = read_fixture(curve, "key.pem");
    let der = der::pem::decode_vec(pem.as_bytes()).expect("pem").1;
    let pki = pkcs8::PrivateKeyInfoRef::from_der(&der).expect("pkcs8");
    let ec = sec1::EcPrivateKey::from_der(pki.private_key.as_bytes()).expect("sec1");

    // Inner parameters naming another curve than the outer AlgorithmIdentifier.
    let mut inner = ec.clone();
    inner.parameters = Some(sec1::EcParameters::NamedCurve(BinaryCurve::Sect571k1.oid()));
    let inner_der = inner.to_der().expect("der");
    let mut outer = pki.clone();
    outer.private_key = OctetStringRef::new(&inner_der).expect("octets");
    assert_eq!(
        SigningKey::from_pkcs8_der(&outer.to_der().expect("der")).map(|_| ()),
        Err(Error::CurveMismatch { expected: "SECT409K1", found: "SECT571K1" })
    );

    // Embedded public key that is not d*G.
    let other = SigningKey::from_bytes(curve, &[7; 40]).expect("key").public_key().to_sec1_bytes(false);
    let mut inner = ec.clone();
    inner.public_key = Some(&other);
    let inner_der = inner.to_der().expect("der");
    let mut outer = pki.clone();
    outer.private_key = OctetStringRef::new(&inner_der).expect("octets");
    assert!(matches!(SigningKey::from_pkcs8_der(&outer.to_der().expect("der")), Err(Error::InvalidPrivateKey(_))));

    // Scalars 0, n and oversized.
    let n = n_bytes(curve);
    assert!(matches!(SigningKey::from_bytes(curve, &[0; 51]), Err(Error::InvalidPrivateKey(_))));
    assert!(matches!(SigningKey::from_bytes(curve, &n), Err(Error::InvalidPrivateKey(_))));
    assert!(matches!(SigningKey::from_bytes(curve, &[0xff; 100]), Err(Error::InvalidPrivateKey(_))));
    assert!(SigningKey::from_bytes(curve, &sub_one(&n)).is_ok());

    // SEC 1 without parameters has no curve.
    let mut bare = ec.clone();
    bare.parameters = None;
    assert!(matches!(SigningKey::from_sec1_der(&bare.to_der().expect("der")), Err(Error::KeyEncoding(_))));
    assert!(SigningKey::from_pkcs8_der(&der[..der.len() - 3]).is_err());
    assert!(SigningKey::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n").is_err());
}

#[test]
fn curve_metadata() {
    for (curve, oid, name) in [
        (BinaryCurve::Sect163k1, "1.3.132.0.1", "SECT163K1"),
        (BinaryCurve::Sect163r2, "1.3.132.0.15", "SECT163R2"),
        (BinaryCurve::Sect233k1, "1.3.132.0.26", "SECT233K1"),
        (BinaryCurve::Sect233r1, "1.3.132.0.27", "SECT233R1"),
        (BinaryCurve::Sect283k1, "1.3.132.0.16", "SECT283K1"),
        (BinaryCurve::Sect283r1, "1.3.132.0.17", "SECT283R1"),
        (BinaryCurve::Sect409k1, "1.3.132.0.36", "SECT409K1"),
        (BinaryCurve::Sect409r1, "1.3.132.0.37", "SECT409R1"),
        (BinaryCurve::Sect571k1, "1.3.132.0.38", "SECT571K1"),
        (BinaryCurve::Sect571r1, "1.3.132.0.39", "SECT571R1"),
    ] {
        assert_eq!(curve.oid().to_string(), oid);
        assert_eq!(BinaryCurve::from_oid(&ObjectIdentifier::new_unwrap(oid)), Some(curve));
        assert_eq!(curve.name(), name);
        assert_eq!(BinaryCurve::from_name(name), Some(curve));
        assert_eq!(BinaryCurve::from_name(curve.openssl_name()), Some(curve));
        assert_eq!(public_key(curve).curve(), curve);
    }
    assert_eq!(BinaryCurve::from_oid(&ObjectIdentifier::new_unwrap("1.3.132.0.34")), None);
    assert_eq!(BinaryCurve::from_name("Sect409k1"), None);
    assert_eq!(HashAlg::from_name("SHA-384"), Some(HashAlg::Sha384));
    assert_eq!(HashAlg::from_name("sha384"), None);
    assert_eq!(BinaryCurve::Sect409k1.order_bits(), 407);
    assert_eq!(BinaryCurve::Sect571r1.order_bits(), 570);
    assert_eq!(BinaryCurve::Sect163k1.order_bits(), 163);
    assert_eq!(BinaryCurve::Sect233k1.order_bits(), 232);
    assert_eq!(BinaryCurve::Sect283k1.order_bits(), 281);
    // Every curve OpenSSL lists as a SEC 2 binary curve that cryptography < 47 loaded.
    let listed = String::from_utf8(openssl_ok(&["ecparam", "-list_curves"])).expect("utf-8");
    for curve in BinaryCurve::ALL {
        let listed_here = listed.lines().any(|l| l.split(':').next().map(str::trim) == Some(curve.openssl_name()));
        assert!(listed_here, "{curve} missing from openssl ecparam -list_curves");
    }
}

/// `SIGSTACK_GF2M_PORTABLE=1 cargo test -p sigstack-binary-curves` (the CI run on the portable
/// multiplier) must really run on it: if the override were ignored this fails.
#[test]
fn the_portable_override_takes_effect() {
    let requested = std::env::var_os("SIGSTACK_GF2M_PORTABLE").is_some_and(|v| !v.is_empty() && v != "0");
    assert_eq!(sigstack_binary_curves::portable_multiplier_forced(), requested);
    if requested {
        assert!(!sigstack_binary_curves::uses_pclmulqdq(), "SIGSTACK_GF2M_PORTABLE is set but PCLMULQDQ is in use");
    }
    eprintln!("field multiplier: {}", if sigstack_binary_curves::uses_pclmulqdq() { "PCLMULQDQ" } else { "portable" });
}

fn curve_strategy() -> impl Strategy<Value = BinaryCurve> {
    prop::sample::select(BinaryCurve::ALL.to_vec())
}

fn hash_strategy() -> impl Strategy<Value = HashAlg> {
    prop::sample::select(HashAlg::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn sign_verify_round_trip(
        curve in curve_strategy(),
        hash in hash_strategy(),
        // Under 20 bytes: below the order of every curve, the 163-bit ones included.
        scalar in prop::collection::vec(any::<u8>(), 1..20),
        msg in prop::collection::vec(any::<u8>(), 0..200),
        flip in any::<usize>(),
    ) {
        prop_assume!(scalar.iter().any(|&b| b != 0));
        let key = SigningKey::from_bytes(curve, &scalar).expect("scalar < 2^160 < n");
        let sig = key.sign(&msg, hash).expect("sign");
        prop_assert_eq!(key.public_key().verify(&msg, hash, &sig), Ok(()));
        let mut bad = msg.clone();
        if bad.is_empty() { bad.push(0) } else { let i = flip % bad.len(); bad[i] ^= 1 << (flip % 8); }
        prop_assert_eq!(key.public_key().verify(&bad, hash, &sig), Err(Error::Verification));
        // Any flipped bit of the DER signature: rejected (as a mismatch or as malformed DER).
        let mut bad_sig = sig.clone();
        let i = (flip / 8) % bad_sig.len();
        bad_sig[i] ^= 1 << (flip % 8);
        prop_assert!(key.public_key().verify(&msg, hash, &bad_sig).is_err(), "byte {} bit {}", i, flip % 8);
        // The truncated message and the truncated signature fail too.
        if !msg.is_empty() {
            prop_assert_eq!(key.public_key().verify(&msg[..msg.len() - 1], hash, &sig), Err(Error::Verification));
        }
        prop_assert!(key.public_key().verify(&msg, hash, &sig[..sig.len() - 1]).is_err());
    }

    /// Arbitrary bytes never panic any decoder.
    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), curve in curve_strategy()) {
        let _ = PublicKey::from_sec1_bytes(curve, &bytes);
        let _ = PublicKey::from_public_key_der(&bytes);
        let _ = SigningKey::from_pkcs8_der(&bytes);
        let _ = SigningKey::from_sec1_der(&bytes);
        if let Ok(sig) = Signature::from_der(&bytes) {
            prop_assert_eq!(sig.to_der(), bytes.clone(), "strict DER must round-trip exactly");
        }
        let _ = public_key(curve).verify_prehash(&bytes, &bytes);
    }
}
