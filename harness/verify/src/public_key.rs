//! Public keys taken from certificates, and the signature primitives cursive uses with them.

use der::Decode;
use der::asn1::ObjectIdentifier;
use rsa::BoxedUint;
use rsa::signature::hazmat::PrehashVerifier;
use spki::SubjectPublicKeyInfoRef;

use crate::Error;
use crate::algorithms::{HashMethod, KeyType, KeyTypeProfile};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// RSA moduli we accept. cursive (OpenSSL) checks no size; the `rsa` crate's arithmetic is
/// bounded at 8192 bits, and anything under 512 bits cannot hold a SHA-224 PSS encoding.
const RSA_BITS: std::ops::RangeInclusive<usize> = 512..=8192;

/// The hash a signature was computed over: one of the image hash methods, or SHA-1, which
/// certificates (not images) may still be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureHash {
    Sha1,
    Sha2(HashMethod),
}

impl SignatureHash {
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha1::Digest as _;
        match self {
            SignatureHash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            SignatureHash::Sha2(h) => h.digest(data),
        }
    }
}

/// How an RSA signature is padded: PSS for images, PKCS#1 v1.5 for certificates (cursive's
/// `certificate_utils` uses nothing else for RSA issuers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaPadding {
    /// RSASSA-PSS, MGF1 with the signature hash, any salt length (cryptography >= 42).
    PssAnySalt,
    Pkcs1v15,
}

/// An elliptic-curve public key. Like cursive, which curve it is does not depend on the
/// `ECC_*` key type the image declares.
#[derive(Debug, Clone)]
pub enum EcPublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    /// sect409k1/r1, sect571k1/r1, from our own arithmetic (`sigstack-binary-curves`).
    Binary(sigstack_binary_curves::PublicKey),
    /// A curve this engine has no arithmetic for (named by OID).
    Unsupported(String),
}

/// A certificate's public key.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Rsa(rsa::RsaPublicKey),
    Dsa(dsa::VerifyingKey),
    Ec(EcPublicKey),
    /// Any other algorithm (Ed25519, RSASSA-PSS-restricted keys, ...), named by OID.
    Other(String),
}

impl PublicKey {
    /// Decodes a DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        let spki =
            SubjectPublicKeyInfoRef::from_der(der).map_err(|e| Error::CertificateParse(format!("invalid SubjectPublicKeyInfo: {e}")))?;
        Self::from_spki(&spki)
    }

    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfoRef<'_>) -> Result<Self, Error> {
        let oid = spki.algorithm.oid;
        let key_bytes = spki.subject_public_key.raw_bytes();
        let malformed = |what: &str, e: &dyn std::fmt::Display| Error::CertificateParse(format!("invalid {what} public key: {e}"));
        if oid == RSA_ENCRYPTION {
            let key = pkcs1::RsaPublicKeyRef::from_der(key_bytes).map_err(|e| malformed("RSA", &e))?;
            let n = uint(key.modulus.as_bytes()).map_err(|e| malformed("RSA", &e))?;
            let e = uint(key.public_exponent.as_bytes()).map_err(|e| malformed("RSA", &e))?;
            let key = rsa::RsaPublicKey::new_with_size_limits(n, e, RSA_BITS).map_err(|e| malformed("RSA", &e))?;
            Ok(PublicKey::Rsa(key))
        } else if oid == ID_DSA {
            let key = dsa::VerifyingKey::try_from(spki.clone()).map_err(|e| {
                malformed("DSA", &format!("{e} (only FIPS 186 sizes 1024/160, 2048/224, 2048/256, 3072/256 are supported)"))
            })?;
            Ok(PublicKey::Dsa(key))
        } else if oid == ID_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(|| malformed("EC", &"parameters are not a named curve"))?;
            let ec = if curve == SECP256R1 {
                EcPublicKey::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes).map_err(|e| malformed("P-256", &e))?)
            } else if curve == SECP384R1 {
                EcPublicKey::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes).map_err(|e| malformed("P-384", &e))?)
            } else if curve == SECP521R1 {
                EcPublicKey::P521(p521::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes).map_err(|e| malformed("P-521", &e))?)
            } else if sigstack_binary_curves::BinaryCurve::from_oid(&curve).is_some() {
                let der = der::Encode::to_der(spki).map_err(|e| malformed("EC", &e))?;
                EcPublicKey::Binary(
                    sigstack_binary_curves::PublicKey::from_public_key_der(&der).map_err(|e| malformed(&curve.to_string(), &e))?,
                )
            } else {
                EcPublicKey::Unsupported(curve.to_string())
            };
            Ok(PublicKey::Ec(ec))
        } else {
            Ok(PublicKey::Other(oid.to_string()))
        }
    }

    /// A short name for messages: `RSA-2048`, `DSA-3072`, `EC P-384`.
    pub fn describe(&self) -> String {
        use rsa::traits::PublicKeyParts;
        match self {
            PublicKey::Rsa(k) => format!("RSA-{}", k.n().bits()),
            PublicKey::Dsa(k) => format!("DSA-{}", k.components().p().bits()),
            PublicKey::Ec(EcPublicKey::P256(_)) => "EC P-256".into(),
            PublicKey::Ec(EcPublicKey::P384(_)) => "EC P-384".into(),
            PublicKey::Ec(EcPublicKey::P521(_)) => "EC P-521".into(),
            PublicKey::Ec(EcPublicKey::Binary(k)) => format!("EC {}", k.curve().name()),
            PublicKey::Ec(EcPublicKey::Unsupported(oid)) => format!("EC curve {oid}"),
            PublicKey::Other(oid) => format!("key algorithm {oid}"),
        }
    }

    /// What loading this key does under a key-type profile: cryptography >= 47 (`current`)
    /// cannot load binary-curve keys at all, before any key-type check.
    pub fn check_profile(&self, profile: KeyTypeProfile) -> Result<(), Error> {
        match (profile, self) {
            (KeyTypeProfile::Current, PublicKey::Ec(EcPublicKey::Binary(k))) => {
                Err(Error::UnsupportedAlgorithm(format!("Curve {} is not supported", k.curve().oid())))
            }
            _ => Ok(()),
        }
    }

    /// cursive's `get_public_key` isinstance check. ECC types accept any EC key (the curve is
    /// not bound to the key type, a cursive quirk we keep).
    pub fn check_key_type(&self, key_type: KeyType) -> Result<(), Error> {
        let ok = matches!(
            (key_type, self),
            (KeyType::RsaPss, PublicKey::Rsa(_)) | (KeyType::Dsa, PublicKey::Dsa(_)) | (KeyType::Ecc(_), PublicKey::Ec(_))
        );
        if ok { Ok(()) } else { Err(Error::InvalidPublicKeyType(key_type.name().to_owned())) }
    }

    /// Verifies `signature` over an already computed `digest`. A signature that does not match,
    /// or is not even well-formed (bad DER, wrong length), is [`Error::InvalidSignature`], as in
    /// OpenSSL. DSA and ECDSA signatures are DER `SEQUENCE { r, s }`.
    pub fn verify_digest(&self, hash: SignatureHash, digest: &[u8], signature: &[u8], padding: RsaPadding) -> Result<(), Error> {
        let verdict = match self {
            PublicKey::Rsa(key) => verify_rsa(key, hash, digest, signature, padding),
            PublicKey::Dsa(key) => {
                dsa::Signature::try_from(signature).map_err(|_| ()).and_then(|sig| key.verify_prehash(digest, &sig).map_err(|_| ()))
            }
            PublicKey::Ec(EcPublicKey::P256(key)) => verify_ecdsa(key, digest, signature),
            PublicKey::Ec(EcPublicKey::P384(key)) => verify_ecdsa(key, digest, signature),
            PublicKey::Ec(EcPublicKey::P521(key)) => verify_ecdsa(key, digest, signature),
            PublicKey::Ec(EcPublicKey::Binary(key)) => key.verify_prehash(digest, signature).map_err(|_| ()),
            PublicKey::Ec(EcPublicKey::Unsupported(oid)) => {
                return Err(Error::UnsupportedAlgorithm(format!("Curve {oid} is not supported")));
            }
            PublicKey::Other(oid) => {
                return Err(Error::UnsupportedAlgorithm(format!("Public key algorithm {oid} is not supported")));
            }
        };
        verdict.map_err(|()| Error::InvalidSignature)
    }
}

fn uint(bytes: &[u8]) -> Result<BoxedUint, String> {
    let bits = u32::try_from(bytes.len().saturating_mul(8)).map_err(|e| e.to_string())?;
    BoxedUint::from_be_slice(bytes, bits).map_err(|e| format!("{e:?}"))
}

fn verify_ecdsa<C>(key: &ecdsa::VerifyingKey<C>, digest: &[u8], signature: &[u8]) -> Result<(), ()>
where
    C: ecdsa::EcdsaCurve + elliptic_curve::CurveArithmetic,
    ecdsa::der::MaxSize<C>: elliptic_curve::array::ArraySize,
    <elliptic_curve::FieldBytesSize<C> as std::ops::Add>::Output: std::ops::Add<ecdsa::der::MaxOverhead> + elliptic_curve::array::ArraySize,
{
    let sig = ecdsa::der::Signature::<C>::from_bytes(signature).map_err(|_| ())?;
    key.verify_prehash(digest, &sig).map_err(|_| ())
}

fn verify_rsa(key: &rsa::RsaPublicKey, hash: SignatureHash, digest: &[u8], signature: &[u8], padding: RsaPadding) -> Result<(), ()> {
    use rsa::pkcs1v15::Pkcs1v15Sign;
    match padding {
        RsaPadding::Pkcs1v15 => {
            let scheme = match hash {
                SignatureHash::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
                SignatureHash::Sha2(HashMethod::Sha224) => Pkcs1v15Sign::new::<sha2::Sha224>(),
                SignatureHash::Sha2(HashMethod::Sha256) => Pkcs1v15Sign::new::<sha2::Sha256>(),
                SignatureHash::Sha2(HashMethod::Sha384) => Pkcs1v15Sign::new::<sha2::Sha384>(),
                SignatureHash::Sha2(HashMethod::Sha512) => Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            key.verify(scheme, digest, signature).map_err(|_| ())
        }
        RsaPadding::PssAnySalt => {
            fn pss<D>(key: &rsa::RsaPublicKey, digest: &[u8], signature: &[u8]) -> Result<(), ()>
            where
                D: digest::Digest + digest::FixedOutputReset,
            {
                let sig = rsa::pss::Signature::try_from(signature).map_err(|_| ())?;
                rsa::pss::VerifyingKey::<D>::new_with_auto_salt_len(key.clone()).verify_prehash(digest, &sig).map_err(|_| ())
            }
            match hash {
                SignatureHash::Sha1 => pss::<sha1::Sha1>(key, digest, signature),
                SignatureHash::Sha2(HashMethod::Sha224) => pss::<sha2::Sha224>(key, digest, signature),
                SignatureHash::Sha2(HashMethod::Sha256) => pss::<sha2::Sha256>(key, digest, signature),
                SignatureHash::Sha2(HashMethod::Sha384) => pss::<sha2::Sha384>(key, digest, signature),
                SignatureHash::Sha2(HashMethod::Sha512) => pss::<sha2::Sha512>(key, digest, signature),
            }
        }
    }
}
