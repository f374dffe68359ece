//! The crate's single error type.

/// Everything that can go wrong. [`Error::Verification`] is the only variant meaning "the input
/// was well-formed but the signature is not valid for this key and digest"; every other variant
/// reports malformed or unacceptable input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Well-formed signature that does not verify.
    #[error("signature does not verify")]
    Verification,

    /// The SEC 1 point encoding is malformed (bad prefix byte, wrong total length, hybrid form).
    #[error("malformed point encoding: {0}")]
    PointEncoding(&'static str),

    /// A field element has the wrong number of bytes for the curve.
    #[error("field element has wrong length: expected {expected} bytes, got {got}")]
    FieldLength { expected: usize, got: usize },

    /// A field element encodes a value >= 2^m.
    #[error("field element out of range (degree >= m)")]
    FieldElementRange,

    /// A compressed point whose x-coordinate has no matching y (no solution of the quadratic).
    #[error("compressed point does not decompress to a curve point")]
    Decompression,

    /// The point does not satisfy the curve equation.
    #[error("point is not on the curve")]
    NotOnCurve,

    /// The point is the point at infinity.
    #[error("point is the point at infinity")]
    PointAtInfinity,

    /// The point is on the curve but not in the subgroup of prime order n (n*Q != infinity).
    #[error("point is not in the prime-order subgroup")]
    NotInSubgroup,

    /// r or s is outside [1, n-1].
    #[error("signature value {0} out of range [1, n-1]")]
    ScalarRange(&'static str),

    /// The signature is not a strict DER `SEQUENCE { INTEGER r, INTEGER s }`.
    #[error("signature is not strict DER: {0}")]
    SignatureEncoding(&'static str),

    /// The named-curve OID is not one of the ten binary curves.
    #[error("unknown or unsupported curve OID {0}")]
    UnknownCurve(String),

    /// The key declares a different curve from the one expected.
    #[error("curve mismatch: expected {expected}, found {found}")]
    CurveMismatch { expected: &'static str, found: &'static str },

    /// The key's algorithm is not id-ecPublicKey (or its parameters are not a named curve).
    #[error("unsupported key algorithm: {0}")]
    UnsupportedAlgorithm(String),

    /// The DER or PEM structure around a key is malformed.
    #[error("malformed key encoding: {0}")]
    KeyEncoding(String),

    /// The private scalar is outside [1, n-1] or does not match the embedded public key.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(&'static str),

    /// The prehash given to `sign_prehash` is not as long as the declared hash's output.
    #[error("prehash is {got} bytes but {hash} produces {expected}")]
    PrehashLength { hash: &'static str, expected: usize, got: usize },
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::KeyEncoding(e.to_string())
    }
}
