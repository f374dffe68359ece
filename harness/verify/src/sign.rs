//! Signing image data the way OpenStack's documents do it (`openssl dgst -sign`): RSA-PSS with
//! MGF1 and the maximum salt, DER `SEQUENCE{r,s}` for DSA and ECDSA. For producing test
//! images and signing images of an existing cloud; verification never needs a private key.

use rsa::rand_core::TryCryptoRng;
use rsa::signature::hazmat::{PrehashSigner, RandomizedPrehashSigner};
use rsa::traits::PublicKeyParts;

use crate::Error;
use crate::algorithms::{HashMethod, KeyType};
use crate::public_key::{EcPublicKey, NamedEcCurve, PublicKey, RSA_BITS};

/// A private key read from PEM. Only keys whose signatures the verifier can check load: RSA
/// moduli of 512 to 16384 bits, the DSA sizes the verifier takes, and every curve the verifier
/// has except P-192 (which no RustCrypto crate signs with).
#[derive(Clone)]
pub enum SigningKey {
    Rsa(rsa::RsaPrivateKey),
    Dsa(dsa::SigningKey),
    P224(p224::ecdsa::SigningKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Secp256k1(k256::ecdsa::SigningKey),
    BrainpoolP256r1(ecdsa::SigningKey<bp256::BrainpoolP256r1>),
    BrainpoolP384r1(ecdsa::SigningKey<bp384::BrainpoolP384r1>),
    BrainpoolP512r1(crate::brainpool_p512::SigningKey),
    /// The SEC 2 binary curves. **Not constant time** (see [`SigningKey::is_constant_time`]):
    /// for test images only.
    Binary(sigstack_binary_curves::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public_key().describe())
    }
}

impl SigningKey {
    /// Reads `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or `EC PRIVATE KEY` (SEC1) PEM.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let invalid = |e: &dyn std::fmt::Display| Error::InvalidPrivateKey(e.to_string());
        let label = pem
            .lines()
            .find_map(|l| l.trim().strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")))
            .ok_or_else(|| Error::InvalidPrivateKey("no PEM private key block found".into()))?;
        match label {
            "PRIVATE KEY" => {
                let (_, doc) = pkcs8::SecretDocument::from_pem(pem).map_err(|e| invalid(&e))?;
                Self::from_pkcs8_der(doc.as_bytes())
            }
            "RSA PRIVATE KEY" => {
                use pkcs1::DecodeRsaPrivateKey;
                rsa::RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| invalid(&e)).and_then(rsa_signing_key)
            }
            "EC PRIVATE KEY" => {
                let (_, doc) = sec1::der::SecretDocument::from_pem(pem).map_err(|e| invalid(&e))?;
                let key = sec1::EcPrivateKey::try_from(doc.as_bytes()).map_err(|e| invalid(&e))?;
                let curve = key
                    .parameters
                    .and_then(|p| p.named_curve())
                    .ok_or_else(|| Error::InvalidPrivateKey("EC key without a named curve".into()))?;
                ec_signing_key(&curve, key.private_key)
            }
            other => Err(Error::InvalidPrivateKey(format!(
                "unsupported PEM block '{other}' (expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)"
            ))),
        }
    }

    /// PKCS#8 `PrivateKeyInfo` DER: RSA, DSA, or EC on a named curve the verifier has (P-192
    /// apart).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        use pkcs8::DecodePrivateKey;
        let info = pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|e| Error::InvalidPrivateKey(e.to_string()))?;
        let invalid = |e: &dyn std::fmt::Display| Error::InvalidPrivateKey(e.to_string());
        match info.algorithm.oid.to_string().as_str() {
            "1.2.840.113549.1.1.1" => rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|e| invalid(&e)).and_then(rsa_signing_key),
            "1.2.840.10040.4.1" => dsa::SigningKey::try_from(info).map(SigningKey::Dsa).map_err(|e| invalid(&e)),
            "1.2.840.10045.2.1" => {
                let curve = info
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                    .ok_or_else(|| Error::InvalidPrivateKey("EC key without a named curve".into()))?;
                // The PKCS#8 private key is a SEC1 ECPrivateKey; the curve is in the wrapper.
                let key = sec1::EcPrivateKey::try_from(info.private_key.as_bytes()).map_err(|e| invalid(&e))?;
                ec_signing_key(&curve, key.private_key)
            }
            other => Err(Error::InvalidPrivateKey(format!("unsupported key algorithm {other}"))),
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            SigningKey::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            SigningKey::Dsa(k) => PublicKey::Dsa(k.verifying_key().clone()),
            SigningKey::P224(k) => PublicKey::Ec(EcPublicKey::P224(*k.verifying_key())),
            SigningKey::P256(k) => PublicKey::Ec(EcPublicKey::P256(*k.verifying_key())),
            SigningKey::P384(k) => PublicKey::Ec(EcPublicKey::P384(*k.verifying_key())),
            SigningKey::P521(k) => PublicKey::Ec(EcPublicKey::P521(*k.verifying_key())),
            SigningKey::Secp256k1(k) => PublicKey::Ec(EcPublicKey::Secp256k1(*k.verifying_key())),
            SigningKey::BrainpoolP256r1(k) => PublicKey::Ec(EcPublicKey::BrainpoolP256r1(*k.verifying_key())),
            SigningKey::BrainpoolP384r1(k) => PublicKey::Ec(EcPublicKey::BrainpoolP384r1(*k.verifying_key())),
            SigningKey::BrainpoolP512r1(k) => PublicKey::Ec(EcPublicKey::BrainpoolP512r1(*k.verifying_key())),
            SigningKey::Binary(k) => PublicKey::Ec(EcPublicKey::Binary(k.public_key().clone())),
        }
    }

    /// Whether signing runs in constant time. The binary-curve signer
    /// (`sigstack-binary-curves`) does not: its field multiplication, scalar multiplication and
    /// inversion branch on secret data, so its timing leaks the private key. Callers must not
    /// use it with a key that matters (`sigstack sign` asks for `--allow-non-constant-time`).
    pub fn is_constant_time(&self) -> bool {
        !matches!(self, SigningKey::Binary(_))
    }

    /// Signs a digest made with `hash`. The key must suit `key_type` (the same check cursive
    /// applies to the certificate), so a signature is never made that Glance would reject for
    /// its key type. RSA-PSS uses the maximum salt, like `openssl dgst` on OpenSSL 3.0.
    pub fn sign_digest<R: TryCryptoRng + ?Sized>(
        &self,
        key_type: KeyType,
        hash: HashMethod,
        digest: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, Error> {
        self.public_key().check_key_type(key_type)?;
        let failed = |e: signature::Error| Error::Signing(e.to_string());
        match self {
            SigningKey::Rsa(key) => {
                let salt = max_pss_salt(key, hash)?;
                let sig = match hash {
                    HashMethod::Sha224 => pss::<sha2::Sha224, _>(key, salt, digest, rng),
                    HashMethod::Sha256 => pss::<sha2::Sha256, _>(key, salt, digest, rng),
                    HashMethod::Sha384 => pss::<sha2::Sha384, _>(key, salt, digest, rng),
                    HashMethod::Sha512 => pss::<sha2::Sha512, _>(key, salt, digest, rng),
                };
                sig.map_err(failed)
            }
            SigningKey::Dsa(key) => {
                let sig = match hash {
                    HashMethod::Sha224 => key.sign_prehashed_rfc6979::<sha2::Sha224>(digest),
                    HashMethod::Sha256 => key.sign_prehashed_rfc6979::<sha2::Sha256>(digest),
                    HashMethod::Sha384 => key.sign_prehashed_rfc6979::<sha2::Sha384>(digest),
                    HashMethod::Sha512 => key.sign_prehashed_rfc6979::<sha2::Sha512>(digest),
                }
                .map_err(failed)?;
                der::Encode::to_der(&sig).map_err(|e| Error::Signing(e.to_string()))
            }
            SigningKey::P224(key) => ecdsa_der(key, digest),
            SigningKey::P256(key) => ecdsa_der(key, digest),
            SigningKey::P384(key) => ecdsa_der(key, digest),
            SigningKey::P521(key) => ecdsa_der(key, digest),
            SigningKey::Secp256k1(key) => ecdsa_der(key, digest),
            SigningKey::BrainpoolP256r1(key) => ecdsa_der(key, digest),
            SigningKey::BrainpoolP384r1(key) => ecdsa_der(key, digest),
            SigningKey::BrainpoolP512r1(key) => ecdsa_der(key, digest),
            SigningKey::Binary(key) => {
                let alg = match hash {
                    HashMethod::Sha224 => sigstack_binary_curves::HashAlg::Sha224,
                    HashMethod::Sha256 => sigstack_binary_curves::HashAlg::Sha256,
                    HashMethod::Sha384 => sigstack_binary_curves::HashAlg::Sha384,
                    HashMethod::Sha512 => sigstack_binary_curves::HashAlg::Sha512,
                };
                key.sign_prehash(digest, alg).map_err(|e| Error::Signing(e.to_string()))
            }
        }
    }
}

/// ECDSA with an RFC 6979 nonce over a prehash; DER `SEQUENCE { r, s }`.
fn ecdsa_der<C>(key: &ecdsa::SigningKey<C>, digest: &[u8]) -> Result<Vec<u8>, Error>
where
    C: ecdsa::EcdsaCurve + elliptic_curve::CurveArithmetic + ecdsa::DigestAlgorithm,
    ecdsa::der::MaxSize<C>: elliptic_curve::array::ArraySize,
    <elliptic_curve::FieldBytesSize<C> as std::ops::Add>::Output: std::ops::Add<ecdsa::der::MaxOverhead> + elliptic_curve::array::ArraySize,
{
    let sig: ecdsa::Signature<C> = key.sign_prehash(digest).map_err(|e| Error::Signing(e.to_string()))?;
    Ok(sig.to_der().as_bytes().to_vec())
}

/// An RSA key, if the verifier can check its signatures (512 to 16384 bits).
fn rsa_signing_key(key: rsa::RsaPrivateKey) -> Result<SigningKey, Error> {
    let bits = key.n().bits() as usize;
    if bits > *RSA_BITS.end() {
        return Err(Error::InvalidPrivateKey(format!(
            "RSA-{bits} signatures cannot be verified: OpenSSL, and so cryptography (cursive) and this engine, verify with \
             moduli of at most {} bits",
            RSA_BITS.end()
        )));
    }
    if bits < *RSA_BITS.start() {
        return Err(Error::InvalidPrivateKey(format!(
            "RSA-{bits} is too small: this engine verifies with moduli of {} to {} bits",
            RSA_BITS.start(),
            RSA_BITS.end()
        )));
    }
    Ok(SigningKey::Rsa(key))
}

/// An EC signing key from its curve and secret scalar bytes.
fn ec_signing_key(curve: &der::asn1::ObjectIdentifier, secret: &[u8]) -> Result<SigningKey, Error> {
    let invalid = |e: &dyn std::fmt::Display| Error::InvalidPrivateKey(e.to_string());
    if let Some(named) = NamedEcCurve::from_oid(curve) {
        return match named {
            NamedEcCurve::P192 => Err(Error::InvalidPrivateKey(
                "P-192 keys cannot sign here: images signed with them verify, but no RustCrypto crate signs on P-192 \
                 (NIST SP 800-131A forbids new P-192 signatures)"
                    .into(),
            )),
            NamedEcCurve::P224 => p224::ecdsa::SigningKey::from_slice(secret).map(SigningKey::P224).map_err(|e| invalid(&e)),
            NamedEcCurve::P256 => p256::ecdsa::SigningKey::from_slice(secret).map(SigningKey::P256).map_err(|e| invalid(&e)),
            NamedEcCurve::P384 => p384::ecdsa::SigningKey::from_slice(secret).map(SigningKey::P384).map_err(|e| invalid(&e)),
            NamedEcCurve::P521 => p521::ecdsa::SigningKey::from_slice(secret).map(SigningKey::P521).map_err(|e| invalid(&e)),
            NamedEcCurve::Secp256k1 => k256::ecdsa::SigningKey::from_slice(secret).map(SigningKey::Secp256k1).map_err(|e| invalid(&e)),
            NamedEcCurve::BrainpoolP256r1 => {
                ecdsa::SigningKey::from_slice(secret).map(SigningKey::BrainpoolP256r1).map_err(|e| invalid(&e))
            }
            NamedEcCurve::BrainpoolP384r1 => {
                ecdsa::SigningKey::from_slice(secret).map(SigningKey::BrainpoolP384r1).map_err(|e| invalid(&e))
            }
            NamedEcCurve::BrainpoolP512r1 => {
                ecdsa::SigningKey::from_slice(secret).map(SigningKey::BrainpoolP512r1).map_err(|e| invalid(&e))
            }
        };
    }
    match sigstack_binary_curves::BinaryCurve::from_oid(curve) {
        Some(binary) => sigstack_binary_curves::SigningKey::from_bytes(binary, secret).map(SigningKey::Binary).map_err(|e| invalid(&e)),
        None => Err(Error::InvalidPrivateKey(format!("unsupported curve {curve}: the verifier has no arithmetic for it"))),
    }
}

/// emLen - hLen - 2 with emLen = ceil((modBits - 1) / 8): OpenSSL's `RSA_PSS_SALTLEN_MAX`.
fn max_pss_salt(key: &rsa::RsaPrivateKey, hash: HashMethod) -> Result<usize, Error> {
    let mod_bits = key.n().bits() as usize;
    let em_len = (mod_bits - 1).div_ceil(8);
    em_len.checked_sub(hash.output_len() + 2).ok_or_else(|| Error::Signing(format!("RSA-{mod_bits} is too small for {hash} with RSA-PSS")))
}

fn pss<D, R>(key: &rsa::RsaPrivateKey, salt: usize, digest: &[u8], rng: &mut R) -> Result<Vec<u8>, signature::Error>
where
    D: digest::Digest + digest::FixedOutputReset + digest::Update,
    R: TryCryptoRng + ?Sized,
{
    let signer = rsa::pss::SigningKey::<D>::new_with_salt_len(key.clone(), salt);
    let sig = signer.sign_prehash_with_rng(rng, digest)?;
    Ok(Box::<[u8]>::from(sig).into_vec())
}
