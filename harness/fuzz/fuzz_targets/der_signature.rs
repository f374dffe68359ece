//! Signature bytes as an image carries them (`img_signature`, decoded) and as certificates
//! carry them: DER `SEQUENCE { r, s }` for DSA and ECDSA, raw blocks for RSA, verified against
//! fixed fixture keys over an arbitrary digest.
//!
//! Input: a key selector byte, a hash selector byte (bit 7: PKCS#1 v1.5 instead of PSS for
//! RSA), the digest (the hash's length, zero-padded if the input is short), then the signature.
//! Properties: never a panic; the verdict is the same twice; a DSA or ECDSA signature that
//! verifies is canonical DER (one SEQUENCE of two minimal INTEGERs, nothing after it), as
//! OpenSSL requires; an RSA signature that verifies is exactly the modulus length.
#![no_main]

use std::sync::OnceLock;

use der::Reader as _;
use der::asn1::UintRef;
use libfuzzer_sys::fuzz_target;
use sigstack_verify::{Certificate, HashMethod, PublicKey, RsaPadding, SignatureHash};

/// (key, RSA modulus length in bytes if RSA).
fn keys() -> &'static [(PublicKey, Option<usize>)] {
    static KEYS: OnceLock<Vec<(PublicKey, Option<usize>)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            (include_str!("../../../fixtures/pki/signing/ec-p256.crt.pem"), None),
            (include_str!("../../../fixtures/pki/signing/ec-p384.crt.pem"), None),
            (include_str!("../../../fixtures/pki/signing/ec-p521.crt.pem"), None),
            (include_str!("../../../fixtures/pki/signing/dsa-1024-160.crt.pem"), None),
            (include_str!("../../../fixtures/pki/signing/dsa-2048-256.crt.pem"), None),
            (include_str!("../../../fixtures/binary-curves/sect409k1.crt.pem"), None),
            (include_str!("../../../fixtures/pki/signing/rsa-2048.crt.pem"), Some(256)),
        ]
        .iter()
        .map(|(pem, rsa)| {
            let key = Certificate::from_pem(pem.as_bytes()).expect("fixture certificate").public_key().expect("fixture key");
            (key, *rsa)
        })
        .collect()
    })
}

const HASHES: [SignatureHash; 5] = [
    SignatureHash::Sha1,
    SignatureHash::Sha2(HashMethod::Sha224),
    SignatureHash::Sha2(HashMethod::Sha256),
    SignatureHash::Sha2(HashMethod::Sha384),
    SignatureHash::Sha2(HashMethod::Sha512),
];

fn digest_len(hash: SignatureHash) -> usize {
    match hash {
        SignatureHash::Sha1 => 20,
        SignatureHash::Sha2(h) => h.output_len(),
    }
}

/// Strict DER `SEQUENCE { INTEGER, INTEGER }`, both non-negative and minimally encoded.
fn canonical_der_pair(sig: &[u8]) -> bool {
    let Ok(mut reader) = der::SliceReader::new(sig) else {
        return false;
    };
    let pair = reader.sequence(|r| {
        r.decode::<UintRef<'_>>()?;
        r.decode::<UintRef<'_>>()?;
        Ok::<_, der::Error>(())
    });
    pair.is_ok() && reader.finish().is_ok()
}

fuzz_target!(|data: &[u8]| {
    let [key_sel, hash_sel, rest @ ..] = data else {
        return;
    };
    let (key, rsa_len) = &keys()[usize::from(*key_sel) % keys().len()];
    let hash = HASHES[usize::from(hash_sel & 0x7f) % HASHES.len()];
    let padding = if hash_sel & 0x80 == 0 { RsaPadding::PssAnySalt } else { RsaPadding::Pkcs1v15 };
    let len = digest_len(hash).min(rest.len());
    let mut digest = rest[..len].to_vec();
    digest.resize(digest_len(hash), 0);
    let signature = &rest[len..];

    let verdict = key.verify_digest(hash, &digest, signature, padding);
    assert_eq!(verdict, key.verify_digest(hash, &digest, signature, padding), "verification is deterministic");
    if verdict.is_ok() {
        match rsa_len {
            Some(n) => assert_eq!(signature.len(), *n, "an RSA signature is the modulus length"),
            None => assert!(canonical_der_pair(signature), "accepted a non-canonical DER signature: {signature:02x?}"),
        }
    }
});
