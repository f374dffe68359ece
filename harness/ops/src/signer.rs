//! The signer of `sign_images`: a key, its certificate and a hash method, proven to belong
//! together before the cloud is contacted.

use sigstack_verify::{Certificate, EcCurve, EcPublicKey, HashMethod, KeyType, KeyTypeProfile, PublicKey, SigningKey, Verifier};

use crate::OpsError;

/// What the probe signature covers; any bytes do.
const PROBE: &[u8] = b"sigstack sign-images key check";

/// A signing key whose certificate carries its public key, and the key type current cursive
/// accepts for it.
pub struct Signer {
    key: SigningKey,
    key_type: KeyType,
    hash: HashMethod,
    certificate: Certificate,
    certificate_pem: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    // The private key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("key_type", &self.key_type.name()).field("hash", &self.hash.name()).finish_non_exhaustive()
    }
}

impl Signer {
    /// Checks, in this order, that current cursive registers the key's type, that the
    /// certificate's key loads, and that a test signature by `key` verifies with it.
    pub fn new(key: SigningKey, certificate: Certificate, hash: HashMethod) -> Result<Signer, OpsError> {
        let key_type = key_type_for(&key.public_key())?;
        let cert_key = certificate.public_key_for(KeyTypeProfile::Current).map_err(OpsError::Certificate)?;
        let signature = key.sign_digest(key_type, hash, &hash.digest(PROBE), &mut rand::rngs::SysRng).map_err(OpsError::Key)?;
        let matches = Verifier::new(hash, cert_key, signature).and_then(|mut v| {
            v.update(PROBE);
            v.finish()
        });
        if matches.is_err() {
            return Err(OpsError::KeyCertificateMismatch);
        }
        // Barbican stores PEM (castellan parses PEM); a DER certificate is converted.
        let certificate_pem = certificate.to_pem().into_bytes();
        Ok(Signer { key, key_type, hash, certificate, certificate_pem })
    }

    /// [`Signer::new`] from a PEM key (PKCS#8, PKCS#1 RSA or SEC1 EC) and a PEM or DER
    /// certificate.
    pub fn from_pem(key_pem: &[u8], certificate: &[u8], hash: HashMethod) -> Result<Signer, OpsError> {
        let pem = std::str::from_utf8(key_pem).map_err(|_| OpsError::KeyNotPem)?;
        let key = SigningKey::from_pem(pem).map_err(OpsError::Key)?;
        let certificate = Certificate::from_pem_or_der(certificate).map_err(OpsError::Certificate)?;
        Signer::new(key, certificate, hash)
    }

    /// `img_signature_key_type` of the images it signs.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// `img_signature_hash_method` of the images it signs.
    pub fn hash_method(&self) -> HashMethod {
        self.hash
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The certificate as stored in Barbican.
    pub fn certificate_pem(&self) -> &[u8] {
        &self.certificate_pem
    }

    /// Signs a digest of the data with the signer's key type and hash method.
    pub(crate) fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, sigstack_verify::Error> {
        self.key.sign_digest(self.key_type, self.hash, digest, &mut rand::rngs::SysRng)
    }
}

/// The key type current cursive accepts for this key. P-256 is never registered and binary
/// curves are gone with cryptography >= 47, so signing with them would make every image fail.
fn key_type_for(key: &PublicKey) -> Result<KeyType, OpsError> {
    match key {
        PublicKey::Rsa(_) => Ok(KeyType::RsaPss),
        PublicKey::Dsa(_) => Ok(KeyType::Dsa),
        PublicKey::Ec(EcPublicKey::P384(_)) => Ok(KeyType::Ecc(EcCurve::Secp384r1)),
        PublicKey::Ec(EcPublicKey::P521(_)) => Ok(KeyType::Ecc(EcCurve::Secp521r1)),
        other => Err(OpsError::UnusableKey(other.describe())),
    }
}
