//! The engine's one error type.
//!
//! `Display` gives exactly the text OpenStack's cursive puts in its exceptions, because services
//! and conformance scenarios are judged on those strings. cursive builds messages two ways
//! (see `docs/reference/cursive.md` §0): signature-path errors are wrapped as
//! `Signature verification for the image failed: <reason>.`, certificate-validation errors are
//! used verbatim. The variants below follow the same split.

/// Prefix cursive adds to every `SignatureVerificationError(reason=...)`.
pub const SIGNATURE_PREFIX: &str = "Signature verification for the image failed: ";

/// Everything that can go wrong while verifying an image signature or validating a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- signature path (prefixed, full stop added, as cursive's `reason=` form) ----
    /// A required property is missing or null. `property` is cursive's (quirky) name:
    /// the certificate property is reported as `img_signature_uuid`.
    #[error(
        "Signature verification for the image failed: Required image properties for signature \
         verification do not exist. Cannot verify signature. Missing property: {property}."
    )]
    MissingProperty { property: &'static str },

    #[error(
        "Signature verification for the image failed: The signature data was not properly \
         encoded using base64."
    )]
    SignatureEncoding,

    #[error("Signature verification for the image failed: Invalid signature hash method: {0}.")]
    InvalidHashMethod(String),

    #[error("Signature verification for the image failed: Invalid signature key type: {0}.")]
    InvalidKeyType(String),

    #[error(
        "Signature verification for the image failed: Invalid public key type for signature key \
         type: {0}."
    )]
    InvalidPublicKeyType(String),

    #[error("Signature verification for the image failed: Certificate not found with ID: {0}.")]
    CertificateNotFound(String),

    #[error("Signature verification for the image failed: Unable to retrieve certificate with ID: {0}.")]
    CertificateRetrieval(String),

    #[error("Signature verification for the image failed: Invalid certificate format: {0}.")]
    InvalidCertificateFormat(String),

    /// cursive's verifier factory returned `None` (an empty signature decodes to no bytes).
    #[error("Signature verification for the image failed: Error occurred while creating the verifier.")]
    VerifierCreation,

    /// The data does not match the signature. cursive raises `InvalidSignature` (not a
    /// `SignatureVerificationError`); Glance reports it with exactly this text.
    #[error("Signature verification failed")]
    InvalidSignature,

    // ---- escapes: cursive lets these through as raw Python exceptions ----
    /// Non-ASCII characters in `img_signature` (cursive: a bare `ValueError`).
    #[error("string argument should contain only ASCII characters")]
    NonAsciiSignature,

    /// The certificate bytes are neither PEM nor DER X.509 (cursive: a bare `ValueError`).
    #[error("Unable to load certificate: {0}")]
    CertificateParse(String),

    /// A `certificate` secret whose payload is not PEM: castellan's Barbican backend parses it
    /// with `load_pem_x509_certificate`, and cryptography's `ValueError` escapes cursive.
    #[error("Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details. {0}")]
    PemLoad(String),

    /// A certificate key with explicit EC domain parameters under the `legacy` profile:
    /// the `legacy` profile's cryptography (46, verified) raises this `ValueError` from
    /// `public_key()` and it escapes cursive.
    #[error("ECDSA keys with explicit parameters are unsupported at this time")]
    ExplicitCurveParameters,

    /// A public key or signature algorithm the backend cannot evaluate; cryptography's
    /// `UnsupportedAlgorithm` escapes cursive with this text (e.g. `Curve 1.3.132.0.38 is not
    /// supported` for a binary curve on cryptography >= 47).
    #[error("{0}")]
    UnsupportedAlgorithm(String),

    // ---- certificate validation (verbatim, no prefix, as cursive's positional form) ----
    #[error("The certificate is outside its valid date range.")]
    CertificateOutsideValidDates,

    /// No trusted issuer was found. `certificate` is the uuid of the top certificate of the chain
    /// built so far, or `None` while the chain holds only the base certificate. cursive's
    /// operator-precedence bug reduces the whole message to `certificate '<uuid>'` in the
    /// second case; we reproduce it on purpose.
    #[error("{}", chain_building_message(.certificate.as_deref()))]
    ChainBuilding { certificate: Option<String> },

    #[error(
        "Certificate validation failed. The signing certificate '{0}' does not have a basic \
         constraints extension."
    )]
    MissingBasicConstraints(String),

    #[error(
        "Certificate validation failed. The signing certificate '{0}' is not configured to \
         support certificate chains of sufficient length."
    )]
    PathLengthExceeded(String),

    /// Certificates that issue each other. cursive never terminates here; we stop and say so.
    #[error(
        "Certificate chain building failed. The signing certificate '{0}' appears twice in the \
         chain: the trusted certificates form a cycle."
    )]
    ChainCycle(String),

    // ---- Nova's wrappers around certificate validation ----
    #[error("Image signature certificate validation failed for certificate: {certificate}. {reason}")]
    CertificateValidationFailed { certificate: String, reason: String },

    #[error(
        "Image signature certificate validation enabled, but no trusted certificate IDs were \
         provided. Unable to validate the certificate used to verify the image signature."
    )]
    NoTrustedCertificates,

    // ---- private keys (signing is ours, not cursive's) ----
    #[error("Invalid private key: {0}")]
    InvalidPrivateKey(String),

    #[error("Signing failed: {0}")]
    Signing(String),
}

fn chain_building_message(certificate: Option<&str>) -> String {
    match certificate {
        None => "Certificate chain building failed. Could not locate the signing certificate for \
                 the base certificate in the set of trusted certificates."
            .to_owned(),
        Some(uuid) => format!("certificate '{uuid}'"),
    }
}

impl Error {
    /// True when the data simply does not match the signature (cursive's `InvalidSignature`),
    /// as opposed to a `SignatureVerificationError` or an escaped exception.
    pub fn is_invalid_signature(&self) -> bool {
        matches!(self, Error::InvalidSignature)
    }

    /// The Python exception class cursive raises for this error, for differential tests and for
    /// services that branch on it the way OpenStack code does.
    pub fn cursive_exception(&self) -> &'static str {
        match self {
            Error::InvalidSignature => "InvalidSignature",
            Error::NonAsciiSignature | Error::CertificateParse(_) | Error::PemLoad(_) | Error::ExplicitCurveParameters => "ValueError",
            Error::UnsupportedAlgorithm(_) => "UnsupportedAlgorithm",
            Error::CertificateValidationFailed { .. } | Error::NoTrustedCertificates => "CertificateValidationFailed",
            Error::InvalidPrivateKey(_) | Error::Signing(_) => "SigningError",
            _ => "SignatureVerificationError",
        }
    }
}
