//! The one error type of the operator tools. Every variant is raised before any image or
//! secret is changed; problems with single images during a run are per-image results in the
//! reports instead, since the other images go on.

/// Why a tool refused to run or could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The signing key file is not text.
    #[error("the key is not PEM text")]
    KeyNotPem,
    /// The signing key cannot be read or cannot sign.
    #[error("key: {0}")]
    Key(sigstack_verify::Error),
    /// The certificate cannot be read, or its public key cannot be loaded.
    #[error("certificate: {0}")]
    Certificate(sigstack_verify::Error),
    /// A key current cursive does not register (P-256, binary curves): every image signed with
    /// it would fail to boot. Holds the key's description.
    #[error("a {0} key cannot sign images that current cursive verifies (use RSA, DSA, EC P-384 or EC P-521)")]
    UnusableKey(String),
    /// A test signature by the key does not verify with the certificate's public key.
    #[error(
        "the key does not match the certificate (a test signature does not verify with the certificate's public key); nothing was changed"
    )]
    KeyCertificateMismatch,
    /// Glance would not list the images.
    #[error("cannot list images: {0}")]
    ListImages(sigstack_client::Error),
    /// An image asked for by name or id is not visible to the credentials.
    #[error("no image with this name or id is visible: {0}")]
    UnknownImage(String),
    /// The given certificate secret holds another certificate than the signer's.
    #[error("secret {id} holds a different certificate than the signing certificate")]
    CertificateIdMismatch { id: String },
    /// The given certificate secret cannot be read as a certificate.
    #[error("certificate secret {id}: {source}")]
    CertificateIdUnreadable { id: String, source: sigstack_verify::Error },
    /// Barbican refused to store the certificate (typically: no `creator` role).
    #[error("Barbican refused to store the certificate: {}; no image was changed (storing needs the creator or admin role; or store it yourself and pass its id)", service_message(.0))]
    StoreCertificate(sigstack_client::Error),
}

impl OpsError {
    /// True when the caller asked for something impossible (bad key, certificate, selection),
    /// false when the cloud failed or refused; a CLI maps them to different exit codes.
    pub fn is_usage(&self) -> bool {
        !matches!(self, OpsError::ListImages(_) | OpsError::CertificateIdUnreadable { .. } | OpsError::StoreCertificate(_))
    }
}

/// The service's own status and message when it answered, else the whole error.
pub fn service_message(e: &sigstack_client::Error) -> String {
    match e {
        sigstack_client::Error::Http { status, message, .. } => format!("{status} {message}"),
        other => other.to_string(),
    }
}
