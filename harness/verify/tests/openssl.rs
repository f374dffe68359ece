//! Differential tests against the OpenSSL command line, in both directions, for every key
//! type and hash: what `openssl dgst -sign` makes (the recipe in OpenStack's documents) we
//! verify, and what we sign `openssl dgst -verify` accepts.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use sigstack_verify::{Error, HashMethod, KeyType};

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
