//! Shared helpers for the engine's integration tests: the committed test PKI under
//! `fixtures/pki` and small sign/verify wrappers.
#![allow(dead_code)]

use std::path::PathBuf;

use sigstack_verify::{
    Certificate, Error, HashMethod, KeyType, KeyTypeProfile, SignatureProperties, SigningKey,
};

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki")
}

pub fn path(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

pub fn cert(rel: &str) -> Certificate {
    let bytes = std::fs::read(path(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"));
    Certificate::from_pem_or_der(&bytes).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

pub fn key(rel: &str) -> SigningKey {
    let pem = std::fs::read_to_string(path(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"));
    SigningKey::from_pem(&pem).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// Every signing fixture with the key type an image signed by it declares.
pub const SIGNING: &[(&str, KeyType)] = &[
    ("rsa-1024-e3", KeyType::RsaPss),
    ("rsa-1024", KeyType::RsaPss),
    ("rsa-2048", KeyType::RsaPss),
    ("rsa-3072", KeyType::RsaPss),
    ("rsa-4096", KeyType::RsaPss),
    ("rsa-8192", KeyType::RsaPss),
    ("dsa-1024-160", KeyType::Dsa),
    ("dsa-2048-224", KeyType::Dsa),
    ("dsa-2048-256", KeyType::Dsa),
    ("dsa-3072-256", KeyType::Dsa),
    ("ec-p384", KeyType::Ecc(sigstack_verify::EcCurve::Secp384r1)),
    ("ec-p521", KeyType::Ecc(sigstack_verify::EcCurve::Secp521r1)),
];

pub fn signing_cert(name: &str) -> Certificate {
    cert(&format!("signing/{name}.crt.pem"))
}

pub fn signing_key(name: &str) -> SigningKey {
    key(&format!("signing/{name}.key.pem"))
}

/// Raw signature bytes over `data`.
pub fn sign(key: &SigningKey, key_type: KeyType, hash: HashMethod, data: &[u8]) -> Vec<u8> {
    key.sign_digest(key_type, hash, &hash.digest(data), &mut rand::rngs::SysRng)
        .expect("signing")
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The full cursive flow for an image: properties, certificate, streamed data in `chunk`-sized
/// pieces.
pub fn verify_image(
    cert: &Certificate,
    key_type: &str,
    hash: &str,
    signature_b64: &str,
    data: &[u8],
    chunk: usize,
) -> Result<(), Error> {
    let props = SignatureProperties {
        signature: Some(signature_b64.to_owned()),
        hash_method: Some(hash.to_owned()),
        key_type: Some(key_type.to_owned()),
        certificate_uuid: Some("cert-uuid".to_owned()),
    };
    let prepared = props.prepare(KeyTypeProfile::Legacy)?;
    let mut verifier = prepared.verifier(cert)?;
    for piece in data.chunks(chunk.max(1)) {
        verifier.update(piece);
    }
    verifier.finish()
}
