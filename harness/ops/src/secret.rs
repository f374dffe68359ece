//! The Barbican secret holding the signing certificate: stored once, so re-runs do not pile up
//! secrets.

use sigstack_client::Session;
use sigstack_client::key_manager::{self, ListQuery, NewSecret};
use sigstack_verify::{Certificate, HashMethod};

use crate::{OpsError, Progress, Signer};

/// Which secret holds the certificate the images are signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateSecret {
    /// The secret the caller named, checked to hold this certificate.
    Given { id: String },
    /// A secret of ours that already held this certificate.
    Existing { id: String, name: String },
    /// Stored by this run.
    Stored { id: String, name: String },
    /// Dry run: would be stored under this name.
    WouldStore { name: String },
}

impl CertificateSecret {
    /// The secret's uuid; `None` for one a dry run would store.
    pub fn id(&self) -> Option<&str> {
        match self {
            CertificateSecret::Given { id } | CertificateSecret::Existing { id, .. } | CertificateSecret::Stored { id, .. } => Some(id),
            CertificateSecret::WouldStore { .. } => None,
        }
    }
}

/// `sigstack-image-signing-<first 16 hex digits of the certificate's SHA-256>`.
pub fn secret_name(certificate: &Certificate) -> String {
    let digest = HashMethod::Sha256.digest(certificate.der());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sigstack-image-signing-{hex}")
}

/// `given` (checked to hold this very certificate), an existing secret of ours with the same
/// certificate, or a new one (not stored on a dry run).
pub(crate) async fn resolve(
    session: &Session,
    signer: &Signer,
    given: Option<&str>,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<CertificateSecret, OpsError> {
    let secret = find_or_store(session, signer, given, dry_run).await?;
    progress.certificate(&secret);
    Ok(secret)
}

async fn find_or_store(session: &Session, signer: &Signer, given: Option<&str>, dry_run: bool) -> Result<CertificateSecret, OpsError> {
    if let Some(id) = given {
        return match key_manager::get_certificate(session, id).await {
            Ok(c) if c == *signer.certificate() => Ok(CertificateSecret::Given { id: id.to_owned() }),
            Ok(_) => Err(OpsError::CertificateIdMismatch { id: id.to_owned() }),
            Err(source) => Err(OpsError::CertificateIdUnreadable { id: id.to_owned(), source }),
        };
    }
    let name = secret_name(signer.certificate());
    // Listing needs a role that may list secrets; without it a new secret is stored.
    let query = ListQuery { name: Some(name.clone()), secret_type: Some("certificate".into()), limit: Some(100), ..ListQuery::default() };
    if let Ok(list) = key_manager::list_secrets(session, &query).await {
        for secret in list.secrets {
            let id = key_manager::secret_uuid(&secret.secret_ref).to_owned();
            if key_manager::get_certificate(session, &id).await.is_ok_and(|c| c == *signer.certificate()) {
                return Ok(CertificateSecret::Existing { id, name });
            }
        }
    }
    if dry_run {
        return Ok(CertificateSecret::WouldStore { name });
    }
    let secret = NewSecret::certificate(&name, signer.certificate_pem());
    let secret_ref = key_manager::create_secret(session, &secret).await.map_err(OpsError::StoreCertificate)?;
    Ok(CertificateSecret::Stored { id: key_manager::secret_uuid(&secret_ref).to_owned(), name })
}
