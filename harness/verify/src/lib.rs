//! sigstack's image-signature verification engine: the job OpenStack's Python library cursive
//! does for Glance, Nova and Cinder, with the same verdicts and the same messages.
//!
//! No I/O of its own, no async, no global state. The flow mirrors cursive's `get_verifier`:
//!
//! 1. [`SignatureProperties::prepare`] checks the four image properties (missing values,
//!    base64, hash method, key type under a [`KeyTypeProfile`]);
//! 2. the caller fetches the signing certificate named by
//!    [`PreparedSignature::certificate_uuid`] from its key manager and parses it with
//!    [`Certificate::from_pem`] / [`Certificate::from_der`];
//! 3. [`PreparedSignature::verifier`] checks the key type and returns a streaming
//!    [`Verifier`]: `update` with each chunk, then `finish`.
//!
//! Certificate validation (Nova's trusted certificates) is [`CertificateValidator`].
//!
//! For data behind a `std::io::Read`, [`Verifier::verify_reader`] (and [`read_ahead`] for other
//! hashing) reads on a scoped helper thread into a small ring of buffers while the calling
//! thread hashes, so reading overlaps hashing in bounded memory.
//!
//! Deliberate cursive quirks, kept for conformance: the missing certificate property is
//! reported as `img_signature_uuid`; `ECC_*` key types do not bind the curve (any EC key
//! passes, and every curve Python's cryptography loads verifies: P-192 to P-521, secp256k1,
//! brainpoolP256r1/P384r1/P512r1, and the ten SEC 2 binary curves under `legacy`); the signature path never checks certificate dates; a chain whose intermediate
//! has no trusted issuer reports only `certificate '<uuid>'`; the root's path length counts.

mod algorithms;
pub mod base64_lenient;
mod brainpool_p512;
mod certificate;
mod error;
mod explicit_params;
mod properties;
mod public_key;
mod read_ahead;
mod sign;
mod validation;
mod verifier;

pub use algorithms::{EcCurve, HashMethod, Hasher, KeyType, KeyTypeProfile};
pub use certificate::{Certificate, SigningCapability, unix_time};
pub use error::{Error, SIGNATURE_PREFIX};
pub use properties::{
    CERTIFICATE_UUID, HASH_METHOD, KEY_TYPE, PROPERTY_NAMES, PreparedSignature, Presence, SIGNATURE, SignatureProperties,
    should_create_verifier,
};
pub use public_key::{EcPublicKey, NamedEcCurve, PublicKey, RsaPadding, SignatureHash};
pub use read_ahead::{READ_AHEAD_BUFFERS, READ_AHEAD_CHUNK, read_ahead, read_ahead_with};
pub use sign::SigningKey;
pub use validation::{CertificateValidator, TrustSkip, ValidationOptions, verify_certificate};
pub use verifier::{READ_BUFFER, Verifier};
