//! brainpoolP512r1 (RFC 5639 §3.7), the one curve Python's cryptography loads for ECDSA that no
//! published RustCrypto crate provides in the elliptic-curve 0.14 generation (`bp512` is an
//! unmerged pull request, RustCrypto/elliptic-curves#1914).
//!
//! This module is **constants only**: the base and scalar fields are crypto-bigint's generic
//! constant-time Montgomery arithmetic as `primefield`'s macros instantiate it (the "bigint"
//! backend the published `bp256`/`bp384` crates also offer), the group law is `primeorder`'s
//! complete formulas for a generic `a`, and ECDSA is the generic `ecdsa` crate. No field or point
//! arithmetic is written here. `tests/openssl.rs` checks the constants against
//! `openssl ecparam -param_enc explicit` and both signing directions against the OpenSSL CLI.

use elliptic_curve::bigint::{Odd, U512};
use elliptic_curve::consts::U64;
use elliptic_curve::{CurveArithmetic, PrimeCurveArithmetic};
use primeorder::{PrimeCurveParams, mul_backend, point_arithmetic};

/// Prime p of the base field.
pub(crate) const MODULUS_HEX: &str =
    "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3";
/// Order q of the generator (cofactor 1).
pub(crate) const ORDER_HEX: &str =
    "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca70330870553e5c414ca92619418661197fac10471db1d381085ddaddb58796829ca90069";
pub(crate) const A_HEX: &str =
    "7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94ca";
pub(crate) const B_HEX: &str =
    "3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94cadc083e67984050b75ebae5dd2809bd638016f723";
pub(crate) const GX_HEX: &str =
    "81aee4bdd82ed9645a21322e9c4c6a9385ed9f70b5d916c1b43b62eef4d0098eff3b1f78e2d0d48d50d1687b93b97d5f7c6d5047406a5e688b352209bcb9f822";
pub(crate) const GY_HEX: &str =
    "7dde385d566332ecc0eabfa9cf7822fdf209f70024a57b1aa000c55b881f8111b2dcde494a5f485e5bca4bd88a2763aed1ca2b2fa8f0540678cd1e0f3ad80892";

/// The curve brainpoolP512r1, OID 1.3.36.3.3.2.8.1.1.13.
#[derive(Copy, Clone, Debug, Default, Eq, PartialEq, PartialOrd, Ord)]
pub struct BrainpoolP512r1;

impl elliptic_curve::Curve for BrainpoolP512r1 {
    type FieldBytesSize = U64;
    type Uint = U512;
    const ORDER: Odd<U512> = Odd::<U512>::from_be_hex(ORDER_HEX);
}

impl elliptic_curve::PrimeCurve for BrainpoolP512r1 {}

impl elliptic_curve::point::PointCompression for BrainpoolP512r1 {
    const COMPRESS_POINTS: bool = false;
}

impl pkcs8::AssociatedOid for BrainpoolP512r1 {
    const OID: pkcs8::ObjectIdentifier = pkcs8::ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.13");
}

mod field {
    use elliptic_curve::bigint::U512;
    use elliptic_curve::ff::PrimeField;
    use elliptic_curve::ops::BatchInvert;
    use elliptic_curve::subtle::{Choice, ConstantTimeEq, CtOption};

    // The generator argument only matters for square roots when p = 1 mod 4; here p = 3 mod 4
    // and crypto-bigint takes the (p+1)/4 power. 2 is a quadratic non-residue mod p.
    primefield::monty_field_params! {
        name: FieldParams,
        modulus: super::MODULUS_HEX,
        uint: U512,
        byte_order: primefield::ByteOrder::BigEndian,
        multiplicative_generator: 2,
        doc: "Montgomery parameters for the brainpoolP512r1 base field"
    }

    primefield::monty_field_element! {
        name: FieldElement,
        params: FieldParams,
        uint: U512,
        doc: "Element of the brainpoolP512r1 base field"
    }

    primefield::monty_field_arithmetic! {
        name: FieldElement,
        params: FieldParams,
        uint: U512
    }

    impl BatchInvert for FieldElement {}
}

mod scalar {
    use elliptic_curve::bigint::U512;
    use elliptic_curve::ff::PrimeField;
    use elliptic_curve::scalar::{FromUintUnchecked, IsHigh};
    use elliptic_curve::subtle::{Choice, ConstantTimeEq, ConstantTimeGreater, CtOption};

    // q = 1 mod 8 (s = 3): crypto-bigint checks at compile time that the generator's t-th power
    // is a primitive 8th root of unity, i.e. that 7 is a quadratic non-residue mod q. ECDSA
    // never takes square roots of scalars.
    primefield::monty_field_params! {
        name: ScalarParams,
        modulus: super::ORDER_HEX,
        uint: U512,
        byte_order: primefield::ByteOrder::BigEndian,
        multiplicative_generator: 7,
        doc: "Montgomery parameters for the brainpoolP512r1 scalar field"
    }

    primefield::monty_field_element! {
        name: Scalar,
        params: ScalarParams,
        uint: U512,
        doc: "Element of the brainpoolP512r1 scalar field (integers mod q)"
    }

    primefield::monty_field_arithmetic! {
        name: Scalar,
        params: ScalarParams,
        uint: U512
    }

    primefield::monty_field_reduce! {
        name: Scalar,
        params: ScalarParams,
        uint: U512,
    }

    elliptic_curve::scalar_impls!(super::BrainpoolP512r1, Scalar);
    primeorder::wnaf::impl_wnaf_size_for_scalar!(Scalar);

    impl AsRef<Scalar> for Scalar {
        fn as_ref(&self) -> &Scalar {
            self
        }
    }

    impl FromUintUnchecked for Scalar {
        type Uint = U512;

        fn from_uint_unchecked(uint: U512) -> Self {
            Self::from_uint_unchecked(uint)
        }
    }

    impl IsHigh for Scalar {
        fn is_high(&self) -> Choice {
            const HALF: U512 = <super::BrainpoolP512r1 as elliptic_curve::Curve>::ORDER.as_ref().shr_vartime(1);
            self.to_canonical().ct_gt(&HALF)
        }
    }
}

pub use field::FieldElement;
pub use scalar::Scalar;

impl CurveArithmetic for BrainpoolP512r1 {
    type AffinePoint = primeorder::AffinePoint<BrainpoolP512r1>;
    type ProjectivePoint = primeorder::ProjectivePoint<BrainpoolP512r1>;
    type Scalar = Scalar;
}

impl elliptic_curve::hazmat::FieldArithmetic for BrainpoolP512r1 {
    type FieldElement = FieldElement;
}

impl PrimeCurveArithmetic for BrainpoolP512r1 {
    type CurveGroup = primeorder::ProjectivePoint<BrainpoolP512r1>;
}

impl PrimeCurveParams for BrainpoolP512r1 {
    type PointArithmetic = point_arithmetic::EquationAIsGeneric;
    type Backend = mul_backend::VariableOnly;

    const EQUATION_A: FieldElement = FieldElement::from_hex_vartime(A_HEX);
    const EQUATION_B: FieldElement = FieldElement::from_hex_vartime(B_HEX);
    const GENERATOR: (FieldElement, FieldElement) = (FieldElement::from_hex_vartime(GX_HEX), FieldElement::from_hex_vartime(GY_HEX));
}

impl ecdsa::EcdsaCurve for BrainpoolP512r1 {
    const NORMALIZE_S: bool = false;
}

/// RFC 6979 nonces with SHA-512, the hash matching the curve size (as bp256/bp384 pick SHA-256/384).
impl ecdsa::DigestAlgorithm for BrainpoolP512r1 {
    type Digest = sha2::Sha512;
}

pub type VerifyingKey = ecdsa::VerifyingKey<BrainpoolP512r1>;
pub type SigningKey = ecdsa::SigningKey<BrainpoolP512r1>;

#[cfg(test)]
mod tests {
    use elliptic_curve::group::Group as _;
    use elliptic_curve::ops::MulByGeneratorVartime as _;
    use elliptic_curve::sec1::ToSec1Point as _;

    use super::*;

    type Point = primeorder::ProjectivePoint<BrainpoolP512r1>;

    #[test]
    fn generator_has_order_q() {
        let g = Point::generator();
        assert!(!bool::from(g.is_identity()));
        // q*G = O: q is 0 as a scalar, so compute (q-1)*G + G.
        let minus_one = -Scalar::ONE;
        assert_eq!(g * minus_one + g, Point::IDENTITY);
        assert_eq!(g * minus_one, -g);
    }

    #[test]
    fn generator_encodes_as_the_rfc_5639_point() {
        let sec1 = Point::generator().to_affine().to_sec1_point(false);
        let hex: String = sec1.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, format!("04{GX_HEX}{GY_HEX}"));
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        use ecdsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
        let key = SigningKey::from_slice(&[0x5a; 64]).expect("scalar below q");
        let digest = [7u8; 64];
        let sig: ecdsa::Signature<BrainpoolP512r1> = key.sign_prehash(&digest).expect("sign");
        key.verifying_key().verify_prehash(&digest, &sig).expect("verify");
        let mut other = digest;
        other[0] ^= 1;
        assert!(key.verifying_key().verify_prehash(&other, &sig).is_err());
        // The public key is d*G through both multiplication paths.
        let d = Scalar::from_uint_unchecked(U512::from_be_slice(&[0x5a; 64]));
        assert_eq!(Point::mul_by_generator_vartime(&d), Point::generator() * d);
    }
}
