//! ECDSA over the ten SEC 2 binary curves (sect163k1, sect163r2, sect233k1, sect233r1,
//! sect283k1, sect283r1, sect409k1, sect409r1, sect571k1, sect571r1), in pure Rust.
//!
//! These curves are needed to verify legacy OpenStack image signatures: cursive's
//! `ECC_SECT409K1`, `ECC_SECT409R1`, `ECC_SECT571K1`, `ECC_SECT571R1` key types, and, since
//! cursive does not bind the curve to the key type, any certificate key on a binary curve
//! Python's cryptography loaded before version 47. No maintained Rust crate implements them,
//! so the field and curve arithmetic is written here and tested differentially against the
//! OpenSSL command-line tool.
//!
//! # What is implemented
//!
//! * GF(2^m) arithmetic in polynomial basis for m = 163, 233, 283, 409 and 571 (one generic
//!   implementation; the SEC 2 reduction polynomials), with a PCLMULQDQ multiplier selected at
//!   run time and a portable fallback.
//! * Point arithmetic in López–Dahab coordinates; interleaved wNAF double-scalar multiplication.
//! * Public keys from SEC 1 points (compressed or uncompressed) and SubjectPublicKeyInfo DER/PEM,
//!   fully validated (on the curve, not infinity, and in the subgroup of prime order n, which
//!   every curve needs since h > 1: checked by trace conditions equivalent to n*Q = infinity,
//!   a few microseconds instead of a scalar multiplication).
//! * ECDSA verification over a prehash with FIPS 186-4 truncation and strict DER signatures.
//! * ECDSA signing with RFC 6979 deterministic nonces, from PKCS#8 or SEC 1 private keys.
//!
//! # Constant time: signing is for tests only
//!
//! **Nothing in this crate is constant time.** Field multiplication uses data-dependent table
//! lookups on the portable path, scalar multiplication uses variable-time wNAF recoding and
//! branches on the scalar, and scalar inversion is variable time. That is fine for verification,
//! where every input is public. **Signing ([`SigningKey`]) leaks the private key through timing
//! and exists only to produce test images and fixtures; never use it with a key that matters.**
//!
//! # Portable fallback
//!
//! PCLMULQDQ is detected at run time. Setting `SIGSTACK_GF2M_PORTABLE=1` (any value but empty or
//! `0`; read once per process) forces the portable carry-less multiplier, so the whole test suite
//! can be run on that path (`SIGSTACK_GF2M_PORTABLE=1 cargo test -p sigstack-binary-curves`,
//! where a test checks the override took effect); the unit tests also compare both multipliers
//! directly on random and edge-case inputs.
//!
//! # Example
//!
//! ```
//! use sigstack_binary_curves::{BinaryCurve, HashAlg, PublicKey, SigningKey};
//!
//! let key = SigningKey::from_bytes(BinaryCurve::Sect409k1, &[0x2a; 40])?;
//! let digest = HashAlg::Sha384.digest(b"image bytes");
//! let sig = key.sign_prehash(&digest, HashAlg::Sha384)?;
//! let public = PublicKey::from_sec1_bytes(BinaryCurve::Sect409k1, &key.public_key().to_sec1_bytes(true))?;
//! public.verify_prehash(&digest, &sig)?;
//! # Ok::<(), sigstack_binary_curves::Error>(())
//! ```

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_debug_implementations)]

mod curve;
mod ecdsa;
mod error;
mod field;
mod keys;
mod mul;
mod point;
mod scalar;
mod sig;

pub use curve::BinaryCurve;
pub use der::asn1::ObjectIdentifier;
pub use ecdsa::HashAlg;
pub use error::Error;
pub use keys::{ID_EC_PUBLIC_KEY, PublicKey, SigningKey};
pub use sig::Signature;

/// Whether field multiplication uses the PCLMULQDQ instruction in this process (detected at run
/// time; `SIGSTACK_GF2M_PORTABLE=1` forces the portable fallback).
pub fn uses_pclmulqdq() -> bool {
    field::kernels::has_clmul()
}

/// Whether `SIGSTACK_GF2M_PORTABLE` forces the portable multiplier in this process (set to
/// anything but empty or `0`), so a test run can check the override took effect.
pub fn portable_multiplier_forced() -> bool {
    field::kernels::portable_forced()
}

#[cfg(test)]
mod tests;
