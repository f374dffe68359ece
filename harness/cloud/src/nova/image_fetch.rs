//! Nova's image download (`nova/image/glance.py` `GlanceImageServiceV2.download`) as the
//! libvirt driver reaches it through `imagebackend.Image.cache`: `_get_verifier` runs first
//! (image metadata, signing certificate and certificate validation, all with the caller's
//! token), then the data streams from Glance through the verifier into a temporary file in the
//! node's `_base`, renamed into the cache only once `verify()` passed.

use std::time::SystemTime;

use futures_util::StreamExt;
use sigstack_client::Session;
use sigstack_client::image;
use sigstack_client::key_manager::get_certificate;
use sigstack_verify::{Certificate, Error as VerifyError, Presence, SignatureProperties, ValidationOptions, Verifier, verify_certificate};
use tokio::io::AsyncWriteExt;

use crate::deployment::Deployment;

use super::model::ImageCache;

/// Why an image could not be put in a node's cache.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// cursive or Nova's certificate validation said no (or the data did not verify).
    #[error("{0}")]
    Verification(#[from] VerifyError),
    /// Glance did not answer as expected.
    #[error("{0}")]
    Glance(#[from] sigstack_client::Error),
    /// The image has no data (`ImageUnacceptable`).
    #[error("Image {0} is unacceptable: image has no data")]
    NoData(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl FetchError {
    /// The exceptions `_build_and_run_instance` turns into `BuildAbortException` (no
    /// reschedule): cursive's `SignatureVerificationError`, `CertificateValidationFailed`,
    /// `ImageUnacceptable`. Everything else (notably `InvalidSignature`, re-raised unchanged by
    /// `download`) is generic and reschedules.
    pub fn aborts_build(&self) -> bool {
        match self {
            FetchError::Verification(e) => {
                matches!(e.cursive_exception(), "SignatureVerificationError" | "CertificateValidationFailed")
            }
            FetchError::NoData(_) => true,
            FetchError::Glance(_) | FetchError::Io(_) => false,
        }
    }
}

/// The trusted certificates `_get_verifier` uses: the instance's, else the configured defaults
/// when `enable_certificate_validation` is on.
pub fn effective_trusted_certs(instance: Option<&[String]>, deployment: &Deployment) -> Vec<String> {
    match instance {
        Some(certs) if !certs.is_empty() => certs.to_vec(),
        _ if deployment.nova.glance.enable_certificate_validation => deployment.nova.glance.default_trusted_certificate_ids.clone(),
        _ => Vec::new(),
    }
}

/// `GlanceImageServiceV2._get_verifier`: `None` when nothing is to be verified. The
/// deployment's defects (conformance-suite testing) change it on purpose:
/// `nova_skips_verification` reads `verify_glance_signatures` as False,
/// `nova_boots_unsigned` verifies nothing for an image missing any signature property, and
/// `nova_skips_certificate_validation` never validates the signing certificate.
pub async fn get_verifier(
    session: &Session,
    image_id: &str,
    trusted_certs: Option<&[String]>,
    deployment: &Deployment,
) -> Result<Option<Verifier>, FetchError> {
    let defects = &deployment.defects;
    let trusted = effective_trusted_certs(trusted_certs, deployment);
    let verify = deployment.nova_verify_glance_signatures() && !defects.nova_skips_verification;
    if trusted.is_empty() && !verify {
        return Ok(None);
    }
    let image = image::get_image(session, image_id).await?;
    // Nova reads the four properties with `.get()`: absent ones are None, so cursive reports
    // the first missing one (as `img_signature_uuid` for the certificate).
    let properties = SignatureProperties::from_pairs(
        sigstack_verify::PROPERTY_NAMES.iter().map(|name| (*name, image.property(name).map(str::to_owned))),
    );
    if defects.nova_boots_unsigned && properties.presence() != Presence::Complete {
        return Ok(None);
    }
    let prepared = properties.prepare(deployment.key_type_profile)?;
    let certificate = get_certificate(session, &prepared.certificate_uuid).await?;
    let verifier = prepared.verifier(&certificate)?;
    if defects.nova_skips_certificate_validation {
        return Ok(Some(verifier));
    }
    if !trusted.is_empty() {
        validate_certificate(session, &prepared.certificate_uuid, &trusted, deployment).await?;
    } else if deployment.nova.glance.enable_certificate_validation {
        return Err(VerifyError::NoTrustedCertificates.into());
    }
    Ok(Some(verifier))
}

/// cursive's `verify_certificate` as Nova calls it: each trusted certificate fetched in order
/// (unavailable ones skipped), then the signing certificate, then the chain; a
/// `SignatureVerificationError` becomes `CertificateValidationFailed`.
async fn validate_certificate(session: &Session, cert_uuid: &str, trusted: &[String], deployment: &Deployment) -> Result<(), VerifyError> {
    // The engine's `verify_certificate` is synchronous; fetch everything it will ask for first,
    // in the order cursive asks (the signing certificate is fetched again, as cursive does).
    let mut fetched: Vec<(String, Result<Certificate, VerifyError>)> = Vec::new();
    for uuid in trusted.iter().map(String::as_str).chain(std::iter::once(cert_uuid)) {
        if fetched.iter().all(|(u, _)| u != uuid) {
            fetched.push((uuid.to_owned(), get_certificate(session, uuid).await));
        }
    }
    let fetch = |uuid: &str| {
        fetched
            .iter()
            .find(|(u, _)| u == uuid)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| Err(VerifyError::CertificateRetrieval(uuid.to_owned())))
    };
    let options = ValidationOptions { key_type_profile: deployment.key_type_profile, ..ValidationOptions::default() };
    match verify_certificate(fetch, cert_uuid, trusted, SystemTime::now(), options) {
        Ok(_) => Ok(()),
        Err(e) if e.cursive_exception() == "SignatureVerificationError" => {
            Err(VerifyError::CertificateValidationFailed { certificate: cert_uuid.to_owned(), reason: e.to_string() })
        }
        Err(e) => Err(e),
    }
}

/// Downloads an image into `host`'s cache. With a verifier, every chunk is fed to it before it
/// is written and the file is only renamed into place after `verify()` passed; on any failure
/// the partial file is removed, so nothing is cached.
pub async fn download_to_cache(
    session: &Session,
    cache: &ImageCache,
    host: &str,
    image_id: &str,
    mut verifier: Option<Verifier>,
) -> Result<(), FetchError> {
    let Some(target) = cache.path(host, image_id) else {
        return Err(FetchError::NoData(image_id.to_owned()));
    };
    let download = image::download(session, image_id).await?.ok_or_else(|| FetchError::NoData(image_id.to_owned()))?;
    let temp = cache.temp_path(host)?;
    let result = async {
        let mut file = tokio::fs::File::create(&temp).await?;
        let mut stream = std::pin::pin!(download.stream());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if let Some(v) = verifier.as_mut() {
                v.update(&chunk);
            }
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        if let Some(v) = verifier.take() {
            v.finish()?;
        }
        tokio::fs::rename(&temp, &target).await?;
        Ok::<(), FetchError>(())
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

/// Verifies an image already in `host`'s cache, as a download would have, reading the cached
/// file through the verifier (the `nova_verifies_cached_images` deployment switch: stricter
/// than Nova, which never verifies a cached image).
pub async fn verify_cached(cache: &ImageCache, host: &str, image_id: &str, mut verifier: Verifier) -> Result<(), FetchError> {
    use tokio::io::AsyncReadExt;
    let path = cache.path(host, image_id).ok_or_else(|| FetchError::NoData(image_id.to_owned()))?;
    let mut file = tokio::fs::File::open(&path).await?;
    let mut chunk = vec![0u8; sigstack_verify::READ_BUFFER];
    loop {
        let n = file.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        verifier.update(&chunk[..n]);
    }
    verifier.finish()?;
    Ok(())
}

/// Downloads without any verification (the simulator's cache warming).
pub async fn warm_cache(session: &Session, cache: &ImageCache, host: &str, image_id: &str) -> Result<(), FetchError> {
    download_to_cache(session, cache, host, image_id, None).await
}
