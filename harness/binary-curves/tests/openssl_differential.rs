//! Differential tests against the OpenSSL CLI, in both directions, for every curve x hash,
//! plus key-format interop (PKCS#8, SEC 1, compressed points, certificates).

mod common;

use common::*;
use der::{Decode, DecodePem, Encode};
use sigstack_binary_curves::{BinaryCurve, Error, HashAlg, PublicKey, SigningKey};

/// A few KiB of structured data so the hash input is not trivial.
fn image_bytes(curve: BinaryCurve, hash: HashAlg) -> Vec<u8> {
    let mut v = format!("sigstack test image for {} {}\n", curve.name(), hash.name()).into_bytes();
    v.extend((0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    v
}

/// OpenSSL signs with `openssl dgst -sign`, we verify; we sign, `openssl dgst -verify` accepts.
fn both_directions(curve: BinaryCurve) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key_pem = fixture(curve, "key.pem");
    let pub_pem = fixture(curve, "pub.pem");
    let ours = signing_key(curve);
    let public = public_key(curve);
    assert_eq!(ours.public_key(), &public, "fixture key pair must match");
    for hash in HashAlg::ALL {
        let data = image_bytes(curve, hash);
        let data_path = dir.path().join(format!("data-{}", hash.name()));
        std::fs::write(&data_path, &data).expect("write data");

        // OpenSSL -> us
        let sig_path = dir.path().join(format!("openssl-{}.sig", hash.name()));
        openssl_ok(&["dgst", dgst_flag(hash), "-sign", path_str(&key_pem), "-out", path_str(&sig_path), path_str(&data_path)]);
        let sig = std::fs::read(&sig_path).expect("read sig");
        assert_eq!(public.verify(&data, hash, &sig), Ok(()), "{curve} {}: OpenSSL signature rejected", hash.name());
        let digest = hash.digest(&data);
        assert_eq!(public.verify_prehash(&digest, &sig), Ok(()));
        // ... and the same signature under another hash must fail cleanly.
        let other = if hash == HashAlg::Sha256 { HashAlg::Sha384 } else { HashAlg::Sha256 };
        assert_eq!(public.verify(&data, other, &sig), Err(Error::Verification));

        // us -> OpenSSL
        let our_sig = ours.sign(&data, hash).expect("sign");
        assert_eq!(our_sig, ours.sign_prehash(&digest, hash).expect("sign"), "RFC 6979 is deterministic");
        let our_sig_path = dir.path().join(format!("ours-{}.sig", hash.name()));
        std::fs::write(&our_sig_path, &our_sig).expect("write sig");
        let (ok, stdout, stderr) =
            openssl(&["dgst", dgst_flag(hash), "-verify", path_str(&pub_pem), "-signature", path_str(&our_sig_path), path_str(&data_path)]);
        assert!(ok, "{curve} {}: OpenSSL rejected our signature: {stderr} {}", hash.name(), String::from_utf8_lossy(&stdout));
        assert_eq!(String::from_utf8_lossy(&stdout).trim(), "Verified OK");

        // Negative control: OpenSSL must reject our signature over different data.
        let mut tampered = data.clone();
        tampered[7] ^= 0x01;
        let tampered_path = dir.path().join(format!("tampered-{}", hash.name()));
        std::fs::write(&tampered_path, &tampered).expect("write");
        let (ok, _, _) = openssl(&[
            "dgst",
            dgst_flag(hash),
            "-verify",
            path_str(&pub_pem),
            "-signature",
            path_str(&our_sig_path),
            path_str(&tampered_path),
        ]);
        assert!(!ok, "OpenSSL accepted a signature over tampered data");
    }
}

#[test]
fn differential_sect409k1() {
    both_directions(BinaryCurve::Sect409k1);
}

#[test]
fn differential_sect409r1() {
    both_directions(BinaryCurve::Sect409r1);
}

#[test]
fn differential_sect571k1() {
    both_directions(BinaryCurve::Sect571k1);
}

#[test]
fn differential_sect571r1() {
    both_directions(BinaryCurve::Sect571r1);
}

#[test]
fn differential_sect163k1() {
    both_directions(BinaryCurve::Sect163k1);
}

#[test]
fn differential_sect163r2() {
    both_directions(BinaryCurve::Sect163r2);
}

#[test]
fn differential_sect233k1() {
    both_directions(BinaryCurve::Sect233k1);
}

#[test]
fn differential_sect233r1() {
    both_directions(BinaryCurve::Sect233r1);
}

#[test]
fn differential_sect283k1() {
    both_directions(BinaryCurve::Sect283k1);
}

#[test]
fn differential_sect283r1() {
    both_directions(BinaryCurve::Sect283r1);
}

/// `openssl pkeyutl -sign` on raw "digests" of unusual lengths (OpenSSL accepts 1..=64 bytes).
/// 64 bytes is longer than the 407/409-bit orders, so the leftmost-bits truncation is pinned
/// against OpenSSL on the 409-bit curves; the 571-bit orders exceed any accepted input.
#[test]
fn raw_prehash_lengths_match_openssl() {
    let dir = tempfile::tempdir().expect("tempdir");
    for curve in BinaryCurve::ALL {
        let public = public_key(curve);
        for len in [1usize, 20, 33, 64] {
            let raw: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
            let raw_path = dir.path().join(format!("raw{len}.bin"));
            std::fs::write(&raw_path, &raw).expect("write");
            let sig_path = dir.path().join(format!("{curve}-{len}.sig"));
            openssl_ok(&[
                "pkeyutl",
                "-sign",
                "-inkey",
                path_str(&fixture(curve, "key.pem")),
                "-in",
                path_str(&raw_path),
                "-out",
                path_str(&sig_path),
            ]);
            let sig = std::fs::read(&sig_path).expect("read");
            assert_eq!(public.verify_prehash(&raw, &sig), Ok(()), "{curve} len {len}");
            let mut head = raw.clone();
            head[0] ^= 0x01;
            assert_eq!(public.verify_prehash(&head, &sig), Err(Error::Verification), "{curve} len {len}");
        }
        // Bits of a 512-bit prehash beyond the order length are ignored on the 409-bit curves
        // and are significant on the 571-bit curves.
        let raw = std::fs::read(dir.path().join("raw64.bin")).expect("read");
        let sig = std::fs::read(dir.path().join(format!("{curve}-64.sig"))).expect("read");
        let mut tail = raw.clone();
        tail[63] ^= 0xff;
        let want = if curve.order_bits() < 512 { Ok(()) } else { Err(Error::Verification) };
        assert_eq!(public.verify_prehash(&tail, &sig), want, "{curve}: truncation");
    }
}

/// Compressed SPKI from `openssl ec -conv_form compressed` decodes to the same key, matches
/// our own compression byte-for-byte, and verifies OpenSSL signatures.
#[test]
fn compressed_point_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    for curve in BinaryCurve::ALL {
        let comp = openssl_ok(&[
            "ec",
            "-pubin",
            "-in",
            path_str(&fixture(curve, "pub.pem")),
            "-pubout",
            "-conv_form",
            "compressed",
            "-outform",
            "DER",
        ]);
        let key = PublicKey::from_public_key_der(&comp).expect("compressed SPKI");
        assert_eq!(key, public_key(curve));
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&comp).expect("spki");
        let point = spki.subject_public_key.raw_bytes();
        assert!(point[0] == 0x02 || point[0] == 0x03);
        assert_eq!(key.to_sec1_bytes(true), point, "{curve}: compressed encoding differs from OpenSSL");
        assert_eq!(PublicKey::from_sec1_bytes(curve, point), Ok(key.clone()));

        let data_path = dir.path().join("data");
        std::fs::write(&data_path, b"compressed").expect("write");
        let sig = openssl_ok(&["dgst", "-sha512", "-sign", path_str(&fixture(curve, "key.pem")), path_str(&data_path)]);
        assert_eq!(key.verify(b"compressed", HashAlg::Sha512, &sig), Ok(()));
    }
}

/// Our SPKI DER is byte-identical to OpenSSL's "PUBLIC KEY" for the same key.
#[test]
fn public_key_der_matches_openssl() {
    for curve in BinaryCurve::ALL {
        let theirs = openssl_ok(&["pkey", "-pubin", "-in", path_str(&fixture(curve, "pub.pem")), "-outform", "DER"]);
        assert_eq!(public_key(curve).to_public_key_der().expect("encode"), theirs, "{curve}");
    }
}

/// SEC 1 "EC PRIVATE KEY" as written by `openssl ec` and by `openssl ecparam -genkey` (which
/// prepends an "EC PARAMETERS" block); OpenSSL signs with the latter and we verify.
#[test]
fn sec1_private_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    for curve in BinaryCurve::ALL {
        let sec1 = String::from_utf8(openssl_ok(&["ec", "-in", path_str(&fixture(curve, "key.pem"))])).expect("utf-8");
        assert!(sec1.contains("BEGIN EC PRIVATE KEY"), "{sec1}");
        let key = SigningKey::from_sec1_pem(&sec1).expect("sec1 pem");
        assert_eq!(key.public_key(), &public_key(curve));

        let gen_path = dir.path().join(format!("{curve}.pem"));
        openssl_ok(&["ecparam", "-name", curve.openssl_name(), "-genkey", "-out", path_str(&gen_path)]);
        let text = std::fs::read_to_string(&gen_path).expect("read");
        assert!(text.contains("BEGIN EC PARAMETERS"));
        let key = SigningKey::from_sec1_pem(&text).expect("ecparam -genkey output");
        assert_eq!(key.curve(), curve);
        let data_path = dir.path().join("data");
        std::fs::write(&data_path, b"sec1").expect("write");
        let sig = openssl_ok(&["dgst", "-sha224", "-sign", path_str(&gen_path), path_str(&data_path)]);
        assert_eq!(key.public_key().verify(b"sec1", HashAlg::Sha224, &sig), Ok(()));
        // A PKCS#8 parser must not accept SEC 1 and vice versa.
        assert!(SigningKey::from_pkcs8_pem(&text).is_err());
        assert!(SigningKey::from_sec1_pem(&read_fixture(curve, "key.pem")).is_err());
    }
}

/// The certificate's SubjectPublicKeyInfo yields the fixture key, and the certificate's own
/// ecdsa-with-SHA384 self-signature (made by OpenSSL) verifies with it.
#[test]
fn certificate_spki_and_self_signature() {
    for curve in BinaryCurve::ALL {
        let cert = x509_cert::Certificate::from_pem(read_fixture(curve, "crt.pem").as_bytes()).expect("cert");
        let spki = cert.tbs_certificate().subject_public_key_info().to_der().expect("spki der");
        let key = PublicKey::from_public_key_der(&spki).expect("cert key");
        assert_eq!(key, public_key(curve));
        let tbs = cert.tbs_certificate().to_der().expect("tbs der");
        let sig = cert.signature().as_bytes().expect("octet-aligned");
        assert_eq!(key.verify(&tbs, HashAlg::Sha384, sig), Ok(()), "{curve}: certificate self-signature");
        let mut bad = tbs.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(key.verify(&bad, HashAlg::Sha384, sig), Err(Error::Verification));
    }
}
