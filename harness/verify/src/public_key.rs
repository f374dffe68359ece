//! Public keys taken from certificates, and the signature primitives cursive uses with them.

use der::asn1::ObjectIdentifier;
use der::{Decode, Tagged};
use rsa::BoxedUint;
use rsa::signature::hazmat::PrehashVerifier;
use spki::SubjectPublicKeyInfoRef;

use crate::Error;
use crate::algorithms::{HashMethod, KeyType, KeyTypeProfile};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// RSA moduli that verify. cursive checks no size, but OpenSSL (and so cryptography) refuses
/// to compute with moduli over 16384 bits (`OPENSSL_RSA_MAX_MODULUS_BITS`): such a key loads
/// and every signature by it is `InvalidSignature`. Under 512 bits no SHA-224 PSS encoding fits.
pub(crate) const RSA_BITS: std::ops::RangeInclusive<usize> = 512..=16384;

/// RSA moduli that load. Above [`RSA_BITS`] only to give cryptography's verdict; the cap keeps a
/// hostile certificate from costing more than a 64 Ki-bit Montgomery set-up.
const RSA_LOAD_BITS: std::ops::RangeInclusive<usize> = 512..=65536;

/// The text cryptography 50 (`current`) raises (`UnsupportedAlgorithm`) for explicit EC parameters that
/// are not exactly P-256, P-384 or P-521.
pub(crate) const EXPLICIT_UNMAPPED: &str = "ECDSA keys with explicit parameters are only supported when they map to secp256r1, \
     secp384r1, or secp521r1. No custom curves are supported.";

/// The prime-field curves Python's cryptography loads for ECDSA, each backed by a RustCrypto
/// crate (brainpoolP512r1: constants over RustCrypto's generic arithmetic, see
/// `brainpool_p512.rs`). The binary curves are [`sigstack_binary_curves::BinaryCurve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamedEcCurve {
    /// secp192r1 (prime192v1): verification only, as the `p192` crate (NIST SP 800-131A).
    P192,
    P224,
    P256,
    P384,
    P521,
    Secp256k1,
    BrainpoolP256r1,
    BrainpoolP384r1,
    BrainpoolP512r1,
}

impl NamedEcCurve {
    pub const ALL: [NamedEcCurve; 9] = [
        NamedEcCurve::P192,
        NamedEcCurve::P224,
        NamedEcCurve::P256,
        NamedEcCurve::P384,
        NamedEcCurve::P521,
        NamedEcCurve::Secp256k1,
        NamedEcCurve::BrainpoolP256r1,
        NamedEcCurve::BrainpoolP384r1,
        NamedEcCurve::BrainpoolP512r1,
    ];

    /// The named-curve OID of SubjectPublicKeyInfo parameters.
    pub fn oid(self) -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap(match self {
            NamedEcCurve::P192 => "1.2.840.10045.3.1.1",
            NamedEcCurve::P224 => "1.3.132.0.33",
            NamedEcCurve::P256 => "1.2.840.10045.3.1.7",
            NamedEcCurve::P384 => "1.3.132.0.34",
            NamedEcCurve::P521 => "1.3.132.0.35",
            NamedEcCurve::Secp256k1 => "1.3.132.0.10",
            NamedEcCurve::BrainpoolP256r1 => "1.3.36.3.3.2.8.1.1.7",
            NamedEcCurve::BrainpoolP384r1 => "1.3.36.3.3.2.8.1.1.11",
            NamedEcCurve::BrainpoolP512r1 => "1.3.36.3.3.2.8.1.1.13",
        })
    }

    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.oid() == *oid)
    }

    /// The name in messages (`P-256`, `secp256k1`, `brainpoolP512r1`).
    pub fn name(self) -> &'static str {
        match self {
            NamedEcCurve::P192 => "P-192",
            NamedEcCurve::P224 => "P-224",
            NamedEcCurve::P256 => "P-256",
            NamedEcCurve::P384 => "P-384",
            NamedEcCurve::P521 => "P-521",
            NamedEcCurve::Secp256k1 => "secp256k1",
            NamedEcCurve::BrainpoolP256r1 => "brainpoolP256r1",
            NamedEcCurve::BrainpoolP384r1 => "brainpoolP384r1",
            NamedEcCurve::BrainpoolP512r1 => "brainpoolP512r1",
        }
    }

    /// OpenSSL's name (`openssl ecparam -name`).
    pub fn openssl_name(self) -> &'static str {
        match self {
            NamedEcCurve::P192 => "prime192v1",
            NamedEcCurve::P224 => "secp224r1",
            NamedEcCurve::P256 => "prime256v1",
            NamedEcCurve::P384 => "secp384r1",
            NamedEcCurve::P521 => "secp521r1",
            NamedEcCurve::Secp256k1 => "secp256k1",
            NamedEcCurve::BrainpoolP256r1 => "brainpoolP256r1",
            NamedEcCurve::BrainpoolP384r1 => "brainpoolP384r1",
            NamedEcCurve::BrainpoolP512r1 => "brainpoolP512r1",
        }
    }

    /// A public key on this curve from its SEC 1 point (compressed or uncompressed), checked to
    /// be on the curve and not the identity.
    pub fn public_key_from_sec1(self, point: &[u8]) -> Result<EcPublicKey, Error> {
        let bad = |e: signature::Error| Error::CertificateParse(format!("invalid {} public key: {e}", self.name()));
        Ok(match self {
            NamedEcCurve::P192 => EcPublicKey::P192(p192::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?),
            NamedEcCurve::P224 => EcPublicKey::P224(p224::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?),
            NamedEcCurve::P256 => EcPublicKey::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?),
            NamedEcCurve::P384 => EcPublicKey::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?),
            NamedEcCurve::P521 => EcPublicKey::P521(p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?),
            NamedEcCurve::Secp256k1 => EcPublicKey::Secp256k1(k256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?),
            NamedEcCurve::BrainpoolP256r1 => EcPublicKey::BrainpoolP256r1(ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?),
            NamedEcCurve::BrainpoolP384r1 => EcPublicKey::BrainpoolP384r1(ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?),
            NamedEcCurve::BrainpoolP512r1 => EcPublicKey::BrainpoolP512r1(ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?),
        })
    }
}

impl std::fmt::Display for NamedEcCurve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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
/// `ECC_*` key type the image declares: every curve Python's cryptography loads verifies.
#[derive(Debug, Clone)]
pub enum EcPublicKey {
    P192(p192::ecdsa::VerifyingKey),
    P224(p224::ecdsa::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Secp256k1(k256::ecdsa::VerifyingKey),
    BrainpoolP256r1(ecdsa::VerifyingKey<bp256::BrainpoolP256r1>),
    BrainpoolP384r1(ecdsa::VerifyingKey<bp384::BrainpoolP384r1>),
    BrainpoolP512r1(crate::brainpool_p512::VerifyingKey),
    /// The ten SEC 2 binary curves, from our own arithmetic (`sigstack-binary-curves`).
    Binary(sigstack_binary_curves::PublicKey),
    /// A named curve cryptography does not load either (named by OID): `Curve <oid> is not
    /// supported` under every profile.
    Unsupported(String),
    /// Explicit (`specifiedCurve`) or implicit domain parameters. cryptography 50 (`current`)
    /// loads the key when the parameters are exactly P-256, P-384 or P-521 (then this holds
    /// the key on that curve) and refuses any others; cryptography 46 (`legacy`) refuses
    /// them all.
    Explicit(Option<Box<EcPublicKey>>),
}

impl EcPublicKey {
    /// The curve, for a key on a prime-field named curve (explicit parameters that map to one
    /// report that curve).
    pub fn named_curve(&self) -> Option<NamedEcCurve> {
        Some(match self {
            EcPublicKey::P192(_) => NamedEcCurve::P192,
            EcPublicKey::P224(_) => NamedEcCurve::P224,
            EcPublicKey::P256(_) => NamedEcCurve::P256,
            EcPublicKey::P384(_) => NamedEcCurve::P384,
            EcPublicKey::P521(_) => NamedEcCurve::P521,
            EcPublicKey::Secp256k1(_) => NamedEcCurve::Secp256k1,
            EcPublicKey::BrainpoolP256r1(_) => NamedEcCurve::BrainpoolP256r1,
            EcPublicKey::BrainpoolP384r1(_) => NamedEcCurve::BrainpoolP384r1,
            EcPublicKey::BrainpoolP512r1(_) => NamedEcCurve::BrainpoolP512r1,
            EcPublicKey::Explicit(Some(key)) => return key.named_curve(),
            EcPublicKey::Binary(_) | EcPublicKey::Unsupported(_) | EcPublicKey::Explicit(None) => return None,
        })
    }

    fn describe(&self) -> String {
        match self {
            EcPublicKey::Binary(k) => format!("EC {}", k.curve().openssl_name()),
            EcPublicKey::Unsupported(oid) => format!("EC curve {oid}"),
            EcPublicKey::Explicit(Some(k)) => format!("{} (explicit parameters)", k.describe()),
            EcPublicKey::Explicit(None) => "EC explicit parameters".into(),
            named => format!("EC {}", named.named_curve().map_or("?", NamedEcCurve::name)),
        }
    }

    fn verify_prehash(&self, digest: &[u8], signature: &[u8]) -> Result<(), Error> {
        let verdict = match self {
            EcPublicKey::P192(key) => verify_ecdsa(key, digest, signature),
            EcPublicKey::P224(key) => verify_ecdsa(key, digest, signature),
            EcPublicKey::P256(key) => verify_ecdsa(key, digest, signature),
            EcPublicKey::P384(key) => verify_ecdsa(key, digest, signature),
            EcPublicKey::P521(key) => verify_ecdsa(key, digest, signature),
            EcPublicKey::Secp256k1(key) => verify_ecdsa(key, digest, signature),
            EcPublicKey::BrainpoolP256r1(key) => verify_ecdsa(key, digest, signature),
            EcPublicKey::BrainpoolP384r1(key) => verify_ecdsa(key, digest, signature),
            EcPublicKey::BrainpoolP512r1(key) => verify_ecdsa(key, digest, signature),
            EcPublicKey::Binary(key) => key.verify_prehash(digest, signature).map_err(|_| ()),
            EcPublicKey::Explicit(Some(key)) => return key.verify_prehash(digest, signature),
            EcPublicKey::Explicit(None) => return Err(Error::UnsupportedAlgorithm(EXPLICIT_UNMAPPED.to_owned())),
            EcPublicKey::Unsupported(oid) => return Err(Error::UnsupportedAlgorithm(format!("Curve {oid} is not supported"))),
        };
        verdict.map_err(|()| Error::InvalidSignature)
    }
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
            let bits = n.bits_vartime() as usize;
            if !RSA_LOAD_BITS.contains(&bits) {
                return Err(malformed(
                    "RSA",
                    &format!(
                        "a {bits}-bit modulus is outside the {}..={} bits this engine loads",
                        RSA_LOAD_BITS.start(),
                        RSA_LOAD_BITS.end()
                    ),
                ));
            }
            let key = rsa::RsaPublicKey::new_with_size_limits(n, e, RSA_LOAD_BITS).map_err(|e| malformed("RSA", &e))?;
            Ok(PublicKey::Rsa(key))
        } else if oid == ID_DSA {
            let key = dsa::VerifyingKey::try_from(spki.clone()).map_err(|e| {
                malformed("DSA", &format!("{e} (only FIPS 186 sizes 1024/160, 2048/224, 2048/256, 3072/256 are supported)"))
            })?;
            Ok(PublicKey::Dsa(key))
        } else if oid == ID_EC_PUBLIC_KEY {
            let parameters = spki.algorithm.parameters.as_ref().ok_or_else(|| malformed("EC", &"parameters are missing"))?;
            let ec = match parameters.tag() {
                der::Tag::ObjectIdentifier => {
                    let curve: ObjectIdentifier = parameters.decode_as().map_err(|e| malformed("EC", &e))?;
                    if let Some(named) = NamedEcCurve::from_oid(&curve) {
                        named.public_key_from_sec1(key_bytes)?
                    } else if let Some(binary) = sigstack_binary_curves::BinaryCurve::from_oid(&curve) {
                        EcPublicKey::Binary(
                            sigstack_binary_curves::PublicKey::from_sec1_bytes(binary, key_bytes)
                                .map_err(|e| malformed(binary.openssl_name(), &e))?,
                        )
                    } else {
                        EcPublicKey::Unsupported(curve.to_string())
                    }
                }
                // implicitCurve (NULL) or specifiedCurve (SEQUENCE): what cryptography makes of
                // them depends on its version, so the profile decides (`check_profile`).
                der::Tag::Null | der::Tag::Sequence => {
                    let der = der::Encode::to_der(parameters).map_err(|e| malformed("EC", &e))?;
                    match crate::explicit_params::named_curve_of(&der) {
                        Some(named) => EcPublicKey::Explicit(Some(Box::new(named.public_key_from_sec1(key_bytes)?))),
                        None => EcPublicKey::Explicit(None),
                    }
                }
                other => return Err(malformed("EC", &format!("parameters are a {other}, not a named curve"))),
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
            PublicKey::Ec(k) => k.describe(),
            PublicKey::Other(oid) => format!("key algorithm {oid}"),
        }
    }

    /// What loading this key does under a key-type profile (cryptography's `public_key()`,
    /// which cursive calls before any key-type check): no version loads a curve it has no
    /// arithmetic for; cryptography >= 47 (`current`) cannot load binary-curve keys at all and
    /// (50, verified) loads explicit parameters only when they are exactly P-256, P-384 or
    /// P-521; cryptography 46 (`legacy`) loads no explicit parameters.
    pub fn check_profile(&self, profile: KeyTypeProfile) -> Result<(), Error> {
        let PublicKey::Ec(ec) = self else { return Ok(()) };
        match (profile, ec) {
            (_, EcPublicKey::Unsupported(oid)) => Err(Error::UnsupportedAlgorithm(format!("Curve {oid} is not supported"))),
            (KeyTypeProfile::Current, EcPublicKey::Binary(k)) => {
                Err(Error::UnsupportedAlgorithm(format!("Curve {} is not supported", k.curve().oid())))
            }
            (KeyTypeProfile::Current, EcPublicKey::Explicit(None)) => Err(Error::UnsupportedAlgorithm(EXPLICIT_UNMAPPED.to_owned())),
            (KeyTypeProfile::Legacy, EcPublicKey::Explicit(_)) => Err(Error::ExplicitCurveParameters),
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
            PublicKey::Ec(key) => return key.verify_prehash(digest, signature),
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

/// ECDSA over a prehash of any length (the leftmost bits of the order's length are used, as in
/// OpenSSL), with a strict DER signature. Both `s` and `n - s` verify, as in OpenSSL: the
/// signature is normalised to low S first, because curves whose crate enforces low S (k256,
/// for Bitcoin) would otherwise reject half of OpenSSL's signatures.
fn verify_ecdsa<C>(key: &ecdsa::VerifyingKey<C>, digest: &[u8], signature: &[u8]) -> Result<(), ()>
where
    C: ecdsa::EcdsaCurve + elliptic_curve::CurveArithmetic,
    ecdsa::der::MaxSize<C>: elliptic_curve::array::ArraySize,
    <elliptic_curve::FieldBytesSize<C> as std::ops::Add>::Output: std::ops::Add<ecdsa::der::MaxOverhead> + elliptic_curve::array::ArraySize,
{
    let der = ecdsa::der::Signature::<C>::from_bytes(signature).map_err(|_| ())?;
    let sig = ecdsa::Signature::<C>::try_from(der).map_err(|_| ())?;
    key.verify_prehash(digest, &sig.normalize_s()).map_err(|_| ())
}

fn verify_rsa(key: &rsa::RsaPublicKey, hash: SignatureHash, digest: &[u8], signature: &[u8], padding: RsaPadding) -> Result<(), ()> {
    use rsa::pkcs1v15::Pkcs1v15Sign;
    use rsa::traits::PublicKeyParts;
    if !RSA_BITS.contains(&(key.n().bits() as usize)) {
        // OpenSSL: RSA_R_MODULUS_TOO_LARGE, which cryptography reports as InvalidSignature.
        return Err(());
    }
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
                let max_len = RSA_BITS.end().div_ceil(8);
                let sig = rsa::pss::Signature::from_bytes_with_max_len(signature, max_len).map_err(|_| ())?;
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
