//! The operator tools' core, as a library: [`audit`] (which images of a cloud would stop
//! booting once Nova verifies signatures) and [`sign_images`] (sign them, the manual step the
//! MOS document asks for when verification is turned on after deployment).
//!
//! `sigstack audit` and `sigstack sign-images` are thin wrappers over it (flags, rendering,
//! exit codes), and the conformance suite runs the MOS flow through it. Everything goes
//! through the OpenStack APIs with a [`sigstack_client::Session`]; nothing is printed: the
//! caller sees progress through [`Progress`] and gets typed reports or an [`OpsError`].
//!
//! ```no_run
//! # async fn example(session: sigstack_client::Session, key_pem: &[u8], cert: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! use std::num::NonZeroUsize;
//! use sigstack_ops::{AuditOptions, Fanout, NoProgress, SignOptions, Signer};
//! use sigstack_verify::HashMethod;
//!
//! let report = sigstack_ops::audit(&session, &AuditOptions::default(), &NoProgress).await?;
//! println!("{} image(s) would fail to boot", report.failing());
//! // Shard 2 of 8 of the images (by id), 4 images at once, data checked too.
//! let fanout = Fanout { jobs: NonZeroUsize::new(4).unwrap(), shard: Some("2/8".parse()?) };
//! let options = AuditOptions { verify_data: true, fanout, ..AuditOptions::default() };
//! let part = sigstack_ops::audit(&session, &options, &NoProgress).await?;
//! println!("shard 2/8: {} image(s)", part.findings.len());
//! let signer = Signer::from_pem(key_pem, cert, HashMethod::Sha256)?; // refuses a mismatched key
//! let signed = sigstack_ops::sign_images(&session, &signer, &SignOptions::default(), &NoProgress).await?;
//! assert!(signed.is_success());
//! # Ok(()) }
//! ```

mod audit;
mod error;
mod secret;
mod shard;
mod sign;
mod signer;
mod stream;

pub use audit::{AuditOptions, AuditReport, CURSIVE_ORDER, Finding, ImageState, Summary, audit};
pub use error::{OpsError, service_message};
pub use secret::{CertificateSecret, secret_name};
pub use shard::{Fanout, Shard, ShardError, ShardSetError, check_complete};
pub use sign::{ImageResult, SignOptions, SignOutcome, SignReport, Stopped, Tally, sign_images, sign_images_with};
pub use signer::Signer;
pub(crate) use stream::{StreamError, stream_image};

/// What the tools report while they run. Every method has an empty default, so a caller
/// implements only what it shows; [`NoProgress`] shows nothing.
///
/// With [`Fanout::jobs`] above 1 several downloads run at once, from several threads: each
/// call names its download by the image id (one image has one download at a time).
pub trait Progress: Send + Sync {
    /// The download of image `id` starts; `label` names it (the image name, or
    /// `verify <name>` for the check after signing), `total` is Glance's Content-Length when
    /// it sent one.
    fn download_started(&self, id: &str, label: &str, total: Option<u64>) {
        let _ = (id, label, total);
    }

    /// `bytes` more of image `id` arrived.
    fn downloaded(&self, id: &str, bytes: u64) {
        let _ = (id, bytes);
    }

    /// The download of image `id` ended, successfully or not.
    fn download_finished(&self, id: &str) {
        let _ = id;
    }

    /// `done` of the run's `total` images are dealt with (audited; signed, skipped or
    /// failed). Called with 0 before the first.
    fn images_done(&self, done: usize, total: usize) {
        let _ = (done, total);
    }

    /// `sign_images` settled which Barbican secret holds the certificate, before any image is
    /// changed.
    fn certificate(&self, secret: &CertificateSecret) {
        let _ = secret;
    }
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// The image's name, or an empty string for a nameless one (how the tools label images).
pub(crate) fn label(image: &sigstack_client::image::Image) -> String {
    image.name.clone().unwrap_or_default()
}

/// `--only`-style selection: an image's id or its name.
pub(crate) fn selects(wanted: &str, image: &sigstack_client::image::Image) -> bool {
    image.id == wanted || image.name.as_deref() == Some(wanted)
}

/// Every image visible to the session, narrowed to `only` (ids or names) when it is not empty.
/// Every entry of `only` must select something: a typo must not look like "nothing to do".
pub(crate) async fn list_images(
    session: &sigstack_client::Session,
    only: &[String],
) -> Result<Vec<sigstack_client::image::Image>, OpsError> {
    let images = sigstack_client::image::list_all_images(session, &[]).await.map_err(OpsError::ListImages)?;
    if let Some(missing) = only.iter().find(|wanted| !images.iter().any(|i| selects(wanted, i))) {
        return Err(OpsError::UnknownImage(missing.clone()));
    }
    Ok(images.into_iter().filter(|i| only.is_empty() || only.iter().any(|w| selects(w, i))).collect())
}

/// The signature properties of a Glance image, as the engine reads them.
pub(crate) fn signature_properties(image: &sigstack_client::image::Image) -> sigstack_verify::SignatureProperties {
    sigstack_verify::SignatureProperties::from_pairs(image.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Drives `work` (each item tagged with its index) to the end, telling `progress` how many of
/// `total` are done, and returns the results in index order whatever order they finished in.
pub(crate) async fn collect_in_order<T>(
    work: impl futures_util::Stream<Item = (usize, T)>,
    total: usize,
    progress: &dyn Progress,
) -> Vec<Option<T>> {
    use futures_util::StreamExt;
    let mut results: Vec<Option<T>> = std::iter::repeat_with(|| None).take(total).collect();
    let mut work = std::pin::pin!(work);
    progress.images_done(0, total);
    let mut done = 0;
    while let Some((index, result)) = work.next().await {
        results[index] = Some(result);
        done += 1;
        progress.images_done(done, total);
    }
    results
}
