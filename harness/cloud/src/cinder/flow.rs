//! cinder-volume's asynchronous work: the create-volume-from-image flow (docs/reference/openstack-behaviour.md
//! C; `_create_from_image`) and `copy_volume_to_image`. Both run as tasks after the API has
//! answered, with the requesting user's token, as cinder-volume acts with the request context.
//!
//! Create from image tries, in order: the driver's `clone_image` (RBD + bare/raw: cloned inside
//! Ceph, never downloaded, never verified), the image-volume cache (a hit is a clone of the
//! cached volume, never verified), and only then a download from Glance to a temporary file,
//! `verify_glance_image_signature` on that file, and the copy into the volume.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use sigstack_client::Session;
use sigstack_client::image::{self, Image};
use sigstack_verify::{Presence, SignatureProperties};
use tokio::io::AsyncWriteExt;

use super::model::{CacheEntry, GIB, VolumeService};
use crate::deployment::{CinderVerification, VolumeDriver};
use crate::store::StoreError;
use crate::wire::AuthContext;

/// cinder's `_verify_image` reads the downloaded file in 1024-byte chunks.
const VERIFY_CHUNK: usize = 1024;
/// `message_field`: action `COPY_IMAGE_TO_VOLUME` (005), detail `SIGNATURE_VERIFICATION_FAILED`
/// (011), on a `VOLUME` resource.
pub const SIGNATURE_EVENT_ID: &str = "VOLUME_VOLUME_005_011";
pub const SIGNATURE_USER_MESSAGE: &str = "copy image to volume:Image signature verification failed.";
/// `image_utils.GLANCE_RESERVED_NAMESPACES` (plus `signature_verified`): never copied into an
/// image uploaded from a volume.
pub const RESERVED_NAMESPACES: [&str; 3] = ["os_glance", "img_signature", "signature_verified"];
/// `glance_core_properties`: volume image metadata that describes the old image, not the new.
pub const GLANCE_CORE_PROPERTIES: [&str; 9] =
    ["checksum", "container_format", "disk_format", "image_name", "image_id", "min_disk", "min_ram", "name", "size"];

/// Why an asynchronous operation failed (the exception cinder-volume logs).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// `InvalidSignatureImage`: some but not all signature properties.
    #[error("Signature metadata is incomplete for image: {0}.")]
    InvalidSignatureImage(String),
    /// `ImageSignatureVerificationException`: the only one that makes a user message.
    #[error("Failed to verify image signature, reason: {0}.")]
    ImageSignatureVerification(String),
    /// A cursive error that is not a `SignatureVerificationError` escapes `get_verifier`
    /// unwrapped (castellan's PEM `ValueError`, for example).
    #[error("{0}")]
    Escaped(sigstack_verify::Error),
    /// `ImageCopyFailure`: the download or the copy into the volume failed.
    #[error("Failed to copy image to volume: {0}")]
    ImageCopy(String),
    /// `ImageUnacceptable`: the image cannot become this volume (its virtual size is larger).
    #[error("Image {image_id} is unacceptable: {reason}")]
    ImageUnacceptable { image_id: String, reason: String },
    /// Glance refused or failed while uploading a volume.
    #[error("{0}")]
    Upload(String),
    /// The volume's type names a back end the deployment no longer has.
    #[error("Volume type with name {0} could not be found.")]
    BackendGone(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FlowError {
    /// The Python exception class, for the operator log.
    pub fn exception_class(&self) -> &'static str {
        match self {
            FlowError::InvalidSignatureImage(_) => "InvalidSignatureImage",
            FlowError::ImageSignatureVerification(_) => "ImageSignatureVerificationException",
            FlowError::Escaped(e) => e.cursive_exception(),
            FlowError::ImageCopy(_) => "ImageCopyFailure",
            FlowError::ImageUnacceptable { .. } => "ImageUnacceptable",
            FlowError::Upload(_) => "ImageUploadFailure",
            FlowError::BackendGone(_) => "VolumeTypeNotFoundByName",
            FlowError::Store(_) => "DBError",
        }
    }
}

fn copy_failure(e: impl std::fmt::Display) -> FlowError {
    FlowError::ImageCopy(e.to_string())
}

/// A temporary download, removed when dropped (on success too: `TemporaryImages.fetch` is a
/// context manager), so no error path leaves it behind.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What the API hands the flow.
pub struct CreateFromImage {
    pub volume_id: String,
    pub image: Image,
    pub ctx: AuthContext,
    pub request_id: String,
}

/// Cinder's `scheduler_max_attempts` default: how many times a volume is scheduled.
pub const SCHEDULER_MAX_ATTEMPTS: u32 = 3;

/// Runs the create-from-image flow; on failure the exception is logged, and only
/// `ImageSignatureVerificationException` leaves a user message.
///
/// A failure while downloading or verifying the image is rescheduled, whatever it was, as
/// Cinder 29 does (checked against the real service, docs/fidelity.md): the download block's
/// handler reads the volume's Glance metadata, none is stored yet, so `GlanceMetadataNotFound`
/// replaces the exception and no-reschedule types such as the signature errors never apply.
/// The one back end is tried `scheduler_max_attempts` times (no `RetryFilter` by default),
/// then the scheduler gives up with its own message and the volume goes to `error`.
pub async fn create_from_image(service: Arc<VolumeService>, job: CreateFromImage) {
    let mut attempt = 1;
    let result = loop {
        let mut rescheduled = false;
        match run_create(&service, &job, &mut rescheduled).await {
            Ok(()) => {
                break service.modify(&job.volume_id, |v| {
                    v.status = "available".into();
                    v.bootable = true;
                });
            }
            Err(error) => {
                service.log_error(&job.volume_id, &format!("{}: {error}", error.exception_class()));
                if matches!(error, FlowError::ImageSignatureVerification(_)) {
                    let _ = service.add_message(
                        &job.ctx.project_id,
                        &job.request_id,
                        &job.volume_id,
                        SIGNATURE_EVENT_ID,
                        SIGNATURE_USER_MESSAGE,
                    );
                }
                let _ = std::fs::remove_file(service.volume_path(&job.volume_id));
                if rescheduled && attempt < SCHEDULER_MAX_ATTEMPTS {
                    attempt += 1;
                    let _ = service.set_status(&job.volume_id, "creating");
                    continue;
                }
                if rescheduled {
                    let _ = service.add_message(
                        &job.ctx.project_id,
                        &job.request_id,
                        &job.volume_id,
                        super::scheduler::NO_BACKEND_EVENT_ID,
                        super::scheduler::NO_BACKEND_USER_MESSAGE,
                    );
                }
                break service.modify(&job.volume_id, |v| v.status = "error".into());
            }
        }
    };
    if let Err(e) = result {
        service.log_error(&job.volume_id, &format!("DBError: {e}"));
    }
}

/// One attempt; `rescheduled` is set when a failure would send the volume back to the
/// scheduler (see [`create_from_image`]).
async fn run_create(service: &VolumeService, job: &CreateFromImage, rescheduled: &mut bool) -> Result<(), FlowError> {
    let volume = service.get_any(&job.volume_id)?.ok_or_else(|| copy_failure("the volume was deleted"))?;
    let backend = service.backend(Some(&volume.volume_type)).ok_or_else(|| FlowError::BackendGone(volume.volume_type.clone()))?;
    let deployment = service.deployment().get();
    let session = job.ctx.session(service.http().clone());
    let image = &job.image;
    let volume_path = service.volume_path(&volume.id);
    let size_bytes = volume.size.saturating_mul(GIB);
    // `check_virtual_size`, before any clone or download.
    if let Some(virtual_size) = image.virtual_size {
        let virtual_gb = virtual_size.div_ceil(GIB);
        if virtual_gb > volume.size {
            return Err(FlowError::ImageUnacceptable {
                image_id: image.id.clone(),
                reason: format!("Image virtual size is {virtual_gb}GB and doesn't fit in a volume of size {}GB.", volume.size),
            });
        }
    }

    // 1. driver.clone_image: RBD clones a bare/raw image inside Ceph; nothing is downloaded
    //    by cinder-volume, so nothing is verified. (The data still has to reach the simulated
    //    volume: it is fetched here, standing in for Ceph's copy-on-write clone.)
    // An encrypted volume is never cloned nor cached ("all images are raw data, we can't use
    // clone_image to copy data if new volume is encrypted"): it is always downloaded, so
    // always verified.
    let encrypted = service.encryption_key(&volume.id)?.is_some();
    if !encrypted && backend.driver == VolumeDriver::Rbd && is_bare_raw(image) {
        fetch(&session, &image.id, &volume_path).await?;
        extend(&volume_path, size_bytes)?;
        service.add_glance_metadata(&volume.id, &captured_metadata(image))?;
        return Ok(());
    }

    // 2-3. The image-volume cache (held per image, as `@coordination.synchronized`).
    let lock = service.image_lock(&image.id);
    let _held = lock.lock().await;
    let mut create_cache_entry = false;
    if deployment.cinder.image_volume_cache_enabled && !encrypted {
        if let Some(entry) = service.cache_entry(&backend.name, &image.id)? {
            let cached = service.cache_path(&backend.name, &image.id);
            // `get_entry` evicts an entry older than the image's last update.
            let fresh = image.updated_at.as_deref().is_none_or(|u| entry.image_updated_at.as_str() >= u);
            if fresh && cached.exists() {
                tokio::fs::copy(&cached, &volume_path).await.map_err(copy_failure)?;
                extend(&volume_path, size_bytes)?;
                service.add_glance_metadata(&volume.id, &captured_metadata(image))?;
                return Ok(());
            }
            service.evict(&backend.name, &image.id)?;
        }
        create_cache_entry = true;
    }

    // 4. Download, verify, copy. Until the first Glance metadata is stored, any failure is
    //    rescheduled.
    service.set_status(&volume.id, "downloading")?;
    let temp = TempFile(service.temp_path());
    *rescheduled = true;
    fetch(&session, &image.id, &temp.0).await?;
    if deployment.cinder_verification() != CinderVerification::Disabled {
        let verified = match deployment.defects.cinder_marks_unverified_as_verified {
            true => claim_verified(&session, &image.id).await?,
            false => verify_glance_image_signature(&session, &image.id, &temp.0, deployment.key_type_profile).await?,
        };
        let flag = BTreeMap::from([("signature_verified".to_owned(), if verified { "True" } else { "False" }.to_owned())]);
        service.add_glance_metadata(&volume.id, &flag)?;
        *rescheduled = false;
    }
    if create_cache_entry {
        // The cached image-volume holds the image's bytes; a hit extends its copy to the new
        // volume's size, so no sparse gigabytes are ever copied.
        let cached = service.cache_path(&backend.name, &image.id);
        tokio::fs::copy(&temp.0, &cached).await.map_err(copy_failure)?;
        service.put_cache_entry(&CacheEntry {
            backend: backend.name.clone(),
            image_id: image.id.clone(),
            image_updated_at: image.updated_at.clone().unwrap_or_default(),
            size: image.size.unwrap_or(0),
        })?;
    }
    // "qemu-img convert": the simulated volume holds the image bytes as they are.
    tokio::fs::rename(&temp.0, &volume_path).await.map_err(copy_failure)?;
    extend(&volume_path, size_bytes)?;
    service.add_glance_metadata(&volume.id, &captured_metadata(image))?;
    Ok(())
}

fn is_bare_raw(image: &Image) -> bool {
    image.container_format.as_deref() == Some("bare") && image.disk_format.as_deref() == Some("raw")
}

/// Grows a volume file to its size without writing (sparse).
fn extend(path: &Path, size: u64) -> Result<(), FlowError> {
    let file = std::fs::OpenOptions::new().write(true).open(path).map_err(copy_failure)?;
    if file.metadata().map_err(copy_failure)?.len() < size {
        file.set_len(size).map_err(copy_failure)?;
    }
    Ok(())
}

/// Streams the image's data from Glance into `to` (never whole in memory). A partial file is
/// the caller's to remove.
async fn fetch(session: &Session, image_id: &str, to: &Path) -> Result<(), FlowError> {
    let download = image::download(session, image_id)
        .await
        .map_err(copy_failure)?
        .ok_or_else(|| copy_failure(format!("image {image_id} has no data")))?;
    let mut file = tokio::fs::File::create(to).await.map_err(copy_failure)?;
    let mut stream = std::pin::pin!(download.stream());
    while let Some(chunk) = stream.next().await {
        file.write_all(&chunk.map_err(copy_failure)?).await.map_err(copy_failure)?;
    }
    file.flush().await.map_err(copy_failure)?;
    file.sync_all().await.map_err(copy_failure)?;
    Ok(())
}

/// `_capture_volume_image_metadata`: the image's id and name, its base attributes that have a
/// value, and every custom property, all as strings.
pub fn captured_metadata(image: &Image) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = image
        .properties
        .iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k.clone(), s.clone())),
            serde_json::Value::Null => None,
            other => Some((k.clone(), other.to_string())),
        })
        .collect();
    out.insert("image_id".into(), image.id.clone());
    if let Some(name) = image.name.as_ref().filter(|n| !n.is_empty()) {
        out.insert("image_name".into(), name.clone());
    }
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            out.insert(k.to_owned(), v);
        }
    };
    put("checksum", image.checksum.clone());
    put("container_format", image.container_format.clone());
    put("disk_format", image.disk_format.clone());
    put("min_disk", Some(image.min_disk.to_string()));
    put("min_ram", Some(image.min_ram.to_string()));
    put("size", image.size.map(|s| s.to_string()));
    out
}

/// `image_utils.verify_glance_image_signature` (docs/reference/cursive.md §6, Cinder): `Ok(false)` for an
/// unsigned image, `Ok(true)` once the downloaded file verifies.
pub async fn verify_glance_image_signature(
    session: &Session,
    image_id: &str,
    path: &Path,
    profile: sigstack_verify::KeyTypeProfile,
) -> Result<bool, FlowError> {
    let image = image::get_image(session, image_id).await.map_err(copy_failure)?;
    let pairs = sigstack_verify::PROPERTY_NAMES.iter().map(|k| (*k, image.property(k).map(str::to_owned)));
    let properties = SignatureProperties::from_pairs(pairs);
    match properties.presence() {
        Presence::Unsigned => return Ok(false),
        Presence::Partial(_) => return Err(FlowError::InvalidSignatureImage(image_id.to_owned())),
        Presence::Complete => {}
    }
    let verifier = get_verifier(session, &properties, profile).await.map_err(|e| {
        if e.cursive_exception() == "SignatureVerificationError" {
            FlowError::ImageSignatureVerification(format!("Failed to get verifier for image: {image_id}"))
        } else {
            FlowError::Escaped(e)
        }
    })?;
    // `tpool.execute(_verify_image, ...)`: hashing is blocking work.
    let path = path.to_path_buf();
    let outcome = tokio::task::spawn_blocking(move || verify_file(&path, verifier)).await;
    match outcome {
        Ok(Ok(())) => Ok(true),
        Ok(Err(VerifyFailure::InvalidSignature)) => {
            Err(FlowError::ImageSignatureVerification(format!("Image signature verification failed for image: {image_id}")))
        }
        Ok(Err(VerifyFailure::Other(error))) => {
            Err(FlowError::ImageSignatureVerification(format!("Failed to verify signature for image: {image_id} due to error: {error} ")))
        }
        Err(join) => {
            Err(FlowError::ImageSignatureVerification(format!("Failed to verify signature for image: {image_id} due to error: {join} ")))
        }
    }
}

/// The `cinder_marks_unverified_as_verified` deployment defect (conformance-suite testing):
/// the properties are looked at as [`verify_glance_image_signature`] does, but an image with
/// all four is called verified without fetching its certificate or reading its data.
async fn claim_verified(session: &Session, image_id: &str) -> Result<bool, FlowError> {
    let image = image::get_image(session, image_id).await.map_err(copy_failure)?;
    let pairs = sigstack_verify::PROPERTY_NAMES.iter().map(|k| (*k, image.property(k).map(str::to_owned)));
    match SignatureProperties::from_pairs(pairs).presence() {
        Presence::Unsigned => Ok(false),
        Presence::Partial(_) => Err(FlowError::InvalidSignatureImage(image_id.to_owned())),
        Presence::Complete => Ok(true),
    }
}

/// cursive's `get_verifier` with the user's token (castellan reaches Barbican as the user).
async fn get_verifier(
    session: &Session,
    properties: &SignatureProperties,
    profile: sigstack_verify::KeyTypeProfile,
) -> Result<sigstack_verify::Verifier, sigstack_verify::Error> {
    let prepared = properties.prepare(profile)?;
    let certificate = sigstack_client::key_manager::get_certificate(session, &prepared.certificate_uuid).await?;
    prepared.verifier(&certificate)
}

enum VerifyFailure {
    InvalidSignature,
    Other(String),
}

/// `_verify_image`: 1024-byte reads, `update` each, then `verify`.
fn verify_file(path: &Path, mut verifier: sigstack_verify::Verifier) -> Result<(), VerifyFailure> {
    let mut file = std::fs::File::open(path).map_err(|e| VerifyFailure::Other(e.to_string()))?;
    let mut chunk = [0u8; VERIFY_CHUNK];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => verifier.update(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(VerifyFailure::Other(e.to_string())),
        }
    }
    verifier
        .finish()
        .map_err(|e| if e.is_invalid_signature() { VerifyFailure::InvalidSignature } else { VerifyFailure::Other(e.to_string()) })
}

/// The properties an image uploaded from this volume gets: the volume's image metadata
/// without the core properties and without the reserved namespaces (so never a signature).
pub fn upload_properties(glance_metadata: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    glance_metadata
        .iter()
        .filter(|(k, _)| !GLANCE_CORE_PROPERTIES.contains(&k.as_str()))
        .filter(|(k, _)| !RESERVED_NAMESPACES.iter().any(|ns| k.starts_with(ns)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// What the API hands the upload task.
pub struct UploadToImage {
    pub volume_id: String,
    pub image_id: String,
    pub ctx: AuthContext,
    /// The status the volume goes back to (`available`, or `in-use` for a forced upload).
    pub previous_status: String,
    /// The image's disk format: `qcow2` is converted (`qemu-img convert -O qcow2`), anything
    /// else is uploaded as the volume's bytes.
    pub disk_format: String,
}

/// `copy_volume_to_image`: streams the whole volume into the new image; the volume goes back to
/// its previous status either way, and a failed upload deletes the image.
pub async fn upload_to_image(service: Arc<VolumeService>, job: UploadToImage) {
    let session = job.ctx.session(service.http().clone());
    let path = service.volume_path(&job.volume_id);
    let converted = (job.disk_format == "qcow2").then(|| service.temp_path());
    let outcome = async {
        let path = match &converted {
            Some(temp) => {
                let (src, dst) = (path.clone(), temp.clone());
                let size = tokio::fs::metadata(&src).await.map_err(|e| FlowError::Upload(e.to_string()))?.len();
                tokio::task::spawn_blocking(move || crate::qcow2::convert(&src, &dst, size))
                    .await
                    .map_err(|e| FlowError::Upload(e.to_string()))?
                    .map_err(|e| FlowError::Upload(format!("qemu-img convert: {e}")))?;
                temp.clone()
            }
            None => path.clone(),
        };
        let file = tokio::fs::File::open(&path).await.map_err(|e| FlowError::Upload(e.to_string()))?;
        let size = file.metadata().await.map_err(|e| FlowError::Upload(e.to_string()))?.len();
        image::upload(&session, &job.image_id, file, Some(size)).await.map_err(|e| FlowError::Upload(e.to_string()))
    }
    .await;
    if let Some(temp) = &converted {
        let _ = tokio::fs::remove_file(temp).await;
    }
    if let Err(error) = outcome {
        service.log_error(&job.volume_id, &format!("{}: {error}", error.exception_class()));
        let _ = image::delete_image(&session, &job.image_id).await;
    }
    if let Err(e) = service.set_status(&job.volume_id, &job.previous_status) {
        service.log_error(&job.volume_id, &format!("DBError: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cinders() {
        assert_eq!(FlowError::InvalidSignatureImage("I".into()).to_string(), "Signature metadata is incomplete for image: I.");
        let e = FlowError::ImageSignatureVerification("Failed to verify signature for image: I due to error: boom ".into());
        assert_eq!(e.to_string(), "Failed to verify image signature, reason: Failed to verify signature for image: I due to error: boom .");
    }

    #[test]
    fn uploads_drop_core_properties_and_reserved_namespaces() {
        let meta: BTreeMap<String, String> = [
            ("image_id", "x"),
            ("checksum", "c"),
            ("img_signature", "s"),
            ("img_signature_key_type", "RSA-PSS"),
            ("signature_verified", "True"),
            ("os_glance_import_task", "t"),
            ("hw_disk_bus", "scsi"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let kept = upload_properties(&meta);
        assert_eq!(kept.into_iter().collect::<Vec<_>>(), vec![("hw_disk_bus".to_owned(), "scsi".to_owned())]);
    }
}
