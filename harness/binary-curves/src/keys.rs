//! Public and private keys: SEC 1 points, SubjectPublicKeyInfo, PKCS#8 and SEC 1 private keys.

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier};
use der::{Decode, Encode, Tag, Tagged};

use crate::Error;
use crate::curve::{
    BinaryCurve, CurveParams, SECT163K1, SECT163R2, SECT233K1, SECT233R1, SECT283K1, SECT283R1, SECT409K1, SECT409R1, SECT571K1, SECT571R1,
};
use crate::ecdsa::{self, HashAlg};
use crate::field::{F163, F233, F283, F409, F571};
use crate::point::Affine;
use crate::scalar::{Int, int_from_be_bytes};

/// id-ecPublicKey (RFC 5480).
pub const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// A validated point together with its curve; the field type follows from the curve.
#[derive(Clone, Copy)]
enum Point {
    F163(&'static CurveParams<F163>, Affine<F163>),
    F233(&'static CurveParams<F233>, Affine<F233>),
    F283(&'static CurveParams<F283>, Affine<F283>),
    F409(&'static CurveParams<F409>, Affine<F409>),
    F571(&'static CurveParams<F571>, Affine<F571>),
}

impl PartialEq for Point {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Point::F163(c1, p1), Point::F163(c2, p2)) => c1.id == c2.id && p1 == p2,
            (Point::F233(c1, p1), Point::F233(c2, p2)) => c1.id == c2.id && p1 == p2,
            (Point::F283(c1, p1), Point::F283(c2, p2)) => c1.id == c2.id && p1 == p2,
            (Point::F409(c1, p1), Point::F409(c2, p2)) => c1.id == c2.id && p1 == p2,
            (Point::F571(c1, p1), Point::F571(c2, p2)) => c1.id == c2.id && p1 == p2,
            _ => false,
        }
    }
}
impl Eq for Point {}

trait Wrap<F> {
    fn wrap(&'static self, p: Affine<F>) -> Point;
}
macro_rules! impl_wrap {
    ($($field:ident),*) => {
        $(impl Wrap<$field> for CurveParams<$field> {
            fn wrap(&'static self, p: Affine<$field>) -> Point {
                Point::$field(self, p)
            }
        })*
    };
}
impl_wrap!(F163, F233, F283, F409, F571);

/// Run `$body` with `$c` bound to the curve's parameters (generic code, one monomorphic arm per
/// curve).
macro_rules! with_curve {
    ($curve:expr, |$c:ident| $body:expr) => {
        match $curve {
            BinaryCurve::Sect163k1 => {
                let $c = &SECT163K1;
                $body
            }
            BinaryCurve::Sect163r2 => {
                let $c = &SECT163R2;
                $body
            }
            BinaryCurve::Sect233k1 => {
                let $c = &SECT233K1;
                $body
            }
            BinaryCurve::Sect233r1 => {
                let $c = &SECT233R1;
                $body
            }
            BinaryCurve::Sect283k1 => {
                let $c = &SECT283K1;
                $body
            }
            BinaryCurve::Sect283r1 => {
                let $c = &SECT283R1;
                $body
            }
            BinaryCurve::Sect409k1 => {
                let $c = &SECT409K1;
                $body
            }
            BinaryCurve::Sect409r1 => {
                let $c = &SECT409R1;
                $body
            }
            BinaryCurve::Sect571k1 => {
                let $c = &SECT571K1;
                $body
            }
            BinaryCurve::Sect571r1 => {
                let $c = &SECT571R1;
                $body
            }
        }
    };
}

/// Run `$body` with the key's curve parameters and affine point bound.
macro_rules! with_point {
    ($point:expr, |$c:ident, $p:ident| $body:expr) => {
        match $point {
            Point::F163($c, $p) => $body,
            Point::F233($c, $p) => $body,
            Point::F283($c, $p) => $body,
            Point::F409($c, $p) => $body,
            Point::F571($c, $p) => $body,
        }
    };
}

/// An ECDSA public key on one of the binary curves, validated on construction (on the curve,
/// not infinity, in the subgroup of prime order n).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    point: Point,
}

impl core::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PublicKey").field("curve", &self.curve()).finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Decode a SEC 1 point: uncompressed (0x04) or compressed (0x02/0x03). Hybrid encodings
    /// (0x06/0x07) and the point at infinity are rejected.
    pub fn from_sec1_bytes(curve: BinaryCurve, bytes: &[u8]) -> Result<Self, Error> {
        let point = with_curve!(curve, |c| c.wrap(c.decode_validated(bytes)?));
        Ok(PublicKey { point })
    }

    /// Decode a DER SubjectPublicKeyInfo (as found in a certificate): id-ecPublicKey with one
    /// of the ten named-curve OIDs.
    pub fn from_public_key_der(der: &[u8]) -> Result<Self, Error> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)?;
        let curve = curve_from_algorithm(&spki.algorithm)?;
        let bytes = spki.subject_public_key.as_bytes().ok_or_else(|| Error::KeyEncoding("public key BIT STRING has unused bits".into()))?;
        Self::from_sec1_bytes(curve, bytes)
    }

    /// Decode a "PUBLIC KEY" PEM block (SubjectPublicKeyInfo).
    pub fn from_public_key_pem(pem: &str) -> Result<Self, Error> {
        Self::from_public_key_der(&pem_block(pem, "PUBLIC KEY")?)
    }

    pub fn curve(&self) -> BinaryCurve {
        with_point!(&self.point, |c, _p| c.id)
    }

    /// SEC 1 encoding of the point.
    pub fn to_sec1_bytes(&self, compressed: bool) -> Vec<u8> {
        with_point!(&self.point, |c, p| c.encode(p, compressed))
    }

    /// DER SubjectPublicKeyInfo with the named-curve OID and an uncompressed point.
    pub fn to_public_key_der(&self) -> Result<Vec<u8>, Error> {
        let oid = self.curve().oid();
        let point = self.to_sec1_bytes(false);
        let spki = spki::SubjectPublicKeyInfoRef {
            algorithm: spki::AlgorithmIdentifierRef { oid: ID_EC_PUBLIC_KEY, parameters: Some(AnyRef::from(&oid)) },
            subject_public_key: BitStringRef::from_bytes(&point)?,
        };
        Ok(spki.to_der()?)
    }

    /// Verify a DER `SEQUENCE { r, s }` signature over `prehash` (the message digest). The
    /// prehash may have any length; it is truncated to the bit length of n (FIPS 186-4).
    ///
    /// Returns [`Error::Verification`] for a well-formed signature that does not verify, and
    /// another variant for malformed input (non-DER, r or s outside [1, n-1]).
    pub fn verify_prehash(&self, prehash: &[u8], der_signature: &[u8]) -> Result<(), Error> {
        with_point!(&self.point, |c, p| ecdsa::verify(*c, p, prehash, der_signature))
    }

    /// Hash `message` with `hash`, then [`verify_prehash`](Self::verify_prehash).
    pub fn verify(&self, message: &[u8], hash: HashAlg, der_signature: &[u8]) -> Result<(), Error> {
        self.verify_prehash(&hash.digest(message), der_signature)
    }
}

/// An ECDSA private key. Signing is variable-time: for test images and fixtures only.
#[derive(Clone)]
pub struct SigningKey {
    d: Int,
    public: PublicKey,
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningKey").field("curve", &self.curve()).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// From the big-endian private scalar d (leading zeros allowed); requires 1 <= d <= n-1.
    pub fn from_bytes(curve: BinaryCurve, scalar: &[u8]) -> Result<Self, Error> {
        let d = int_from_be_bytes(scalar).ok_or(Error::InvalidPrivateKey("scalar out of range"))?;
        let point = with_curve!(curve, |c| {
            if !c.order.in_range(&d) {
                return Err(Error::InvalidPrivateKey("scalar out of range"));
            }
            let q = ecdsa::mul_base(c, &d).ok_or(Error::InvalidPrivateKey("scalar out of range"))?;
            c.wrap(q)
        });
        Ok(SigningKey { d, public: PublicKey { point } })
    }

    /// PKCS#8 PrivateKeyInfo DER (`openssl genpkey` / `openssl pkcs8 -topk8 -nocrypt`).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let pki = pkcs8::PrivateKeyInfoRef::from_der(der)?;
        let curve = curve_from_algorithm(&pki.algorithm)?;
        let ec = sec1::EcPrivateKey::from_der(pki.private_key.as_bytes())?;
        Self::from_ec_private_key(Some(curve), &ec)
    }

    /// "PRIVATE KEY" PEM (unencrypted PKCS#8).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, Error> {
        Self::from_pkcs8_der(&pem_block(pem, "PRIVATE KEY")?)
    }

    /// SEC 1 / RFC 5915 ECPrivateKey DER with named-curve parameters.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, Error> {
        let ec = sec1::EcPrivateKey::from_der(der)?;
        Self::from_ec_private_key(None, &ec)
    }

    /// "EC PRIVATE KEY" PEM; a preceding "EC PARAMETERS" block (`openssl ecparam -genkey`)
    /// is skipped.
    pub fn from_sec1_pem(pem: &str) -> Result<Self, Error> {
        Self::from_sec1_der(&pem_block(pem, "EC PRIVATE KEY")?)
    }

    fn from_ec_private_key(expected: Option<BinaryCurve>, ec: &sec1::EcPrivateKey<'_>) -> Result<Self, Error> {
        let declared = match &ec.parameters {
            None => None,
            Some(params) => {
                let oid = params.named_curve().ok_or_else(|| Error::UnsupportedAlgorithm("EC parameters are not a named curve".into()))?;
                Some(BinaryCurve::from_oid(&oid).ok_or_else(|| Error::UnknownCurve(oid.to_string()))?)
            }
        };
        let curve = match (expected, declared) {
            (Some(e), Some(d)) if e != d => {
                return Err(Error::CurveMismatch { expected: e.name(), found: d.name() });
            }
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => {
                return Err(Error::KeyEncoding("EC private key without named-curve parameters".into()));
            }
        };
        let key = Self::from_bytes(curve, ec.private_key)?;
        if let Some(embedded) = ec.public_key {
            // Equality with d*G implies the embedded point is valid, so decode it cheaply.
            let point = with_curve!(curve, |c| c.wrap(c.decode_on_curve(embedded)?));
            if point != key.public.point {
                return Err(Error::InvalidPrivateKey("embedded public key does not match the private scalar"));
            }
        }
        Ok(key)
    }

    pub fn curve(&self) -> BinaryCurve {
        self.public.curve()
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Sign a prehash of exactly `hash.output_len()` bytes; the RFC 6979 nonce uses HMAC with
    /// `hash`. Returns a DER `SEQUENCE { r, s }`. Not constant time: test use only.
    pub fn sign_prehash(&self, prehash: &[u8], hash: HashAlg) -> Result<Vec<u8>, Error> {
        with_point!(&self.public.point, |c, _p| ecdsa::sign(*c, &self.d, prehash, hash))
    }

    /// Hash `message` with `hash`, then [`sign_prehash`](Self::sign_prehash).
    pub fn sign(&self, message: &[u8], hash: HashAlg) -> Result<Vec<u8>, Error> {
        self.sign_prehash(&hash.digest(message), hash)
    }
}

/// id-ecPublicKey with a named binary curve; explicit/implicit parameters are not supported.
fn curve_from_algorithm(alg: &spki::AlgorithmIdentifierRef<'_>) -> Result<BinaryCurve, Error> {
    if alg.oid != ID_EC_PUBLIC_KEY {
        return Err(Error::UnsupportedAlgorithm(format!("algorithm {} is not id-ecPublicKey", alg.oid)));
    }
    let params = alg.parameters.ok_or_else(|| Error::UnsupportedAlgorithm("missing EC parameters".into()))?;
    if params.tag() != Tag::ObjectIdentifier {
        return Err(Error::UnsupportedAlgorithm("EC parameters are not a named curve".into()));
    }
    let oid: ObjectIdentifier = params.decode_as()?;
    BinaryCurve::from_oid(&oid).ok_or_else(|| Error::UnknownCurve(oid.to_string()))
}

/// The first PEM block with `label`, ignoring any other blocks around it.
fn pem_block(text: &str, label: &str) -> Result<Vec<u8>, Error> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let missing = || Error::KeyEncoding(format!("no complete {label} PEM block"));
    let start = text.find(&begin).ok_or_else(missing)?;
    let stop = text[start..].find(&end).map(|i| start + i + end.len()).ok_or_else(missing)?;
    let (_, der) = der::pem::decode_vec(&text.as_bytes()[start..stop]).map_err(|e| Error::KeyEncoding(format!("PEM: {e}")))?;
    Ok(der)
}
