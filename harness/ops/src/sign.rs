//! Signing the images of an existing cloud.
//!
//! Safety rules, in order: the key must match the certificate before anything is touched
//! ([`Signer::new`]); the certificate is stored in Barbican once (an existing secret with the
//! same certificate is reused); image data is only ever read; each image gets its four
//! properties in one JSON-patch, and because Glance does not re-verify on PATCH the image is
//! then downloaded again and verified, and the properties are put back as they were if that
//! fails. A Glance error (5xx, no answer) stops the run: the cloud is unwell, and carrying on
//! would only spread half-finished work.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use base64::Engine as _;
use futures_util::StreamExt;
use serde_json::json;
use sigstack_client::Session;
use sigstack_client::image::{self, Image, PatchOp};
use sigstack_client::key_manager;
use sigstack_verify::{Certificate, KeyTypeProfile, PROPERTY_NAMES};

use crate::{
    CertificateSecret, Fanout, OpsError, Progress, Shard, Signer, StreamError, label, list_images, secret, service_message,
    signature_properties, stream_image,
};

/// Which images, and how.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// A Barbican secret that already holds the certificate; nothing is stored.
    pub certificate_id: Option<String>,
    /// Only these images (ids or names). Selected images signed with another certificate are
    /// re-signed. Empty: every active image that is unsigned, partially signed or has invalid
    /// properties.
    pub only: Vec<String>,
    /// Decide and report, change nothing.
    pub dry_run: bool,
}

/// What happened to one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignOutcome {
    Signed,
    /// Dry run: it would have been signed.
    WouldSign,
    Skipped(String),
    Failed(String),
    /// The run stopped before this image.
    NotAttempted,
}

impl SignOutcome {
    /// A stable one-word kind: `signed`, `would-sign`, `skipped`, `failed`, `not-attempted`.
    pub fn kind(&self) -> &'static str {
        match self {
            SignOutcome::Signed => "signed",
            SignOutcome::WouldSign => "would-sign",
            SignOutcome::Skipped(_) => "skipped",
            SignOutcome::Failed(_) => "failed",
            SignOutcome::NotAttempted => "not-attempted",
        }
    }
}

impl std::fmt::Display for SignOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignOutcome::Signed => f.write_str("signed"),
            SignOutcome::WouldSign => f.write_str("would sign (dry run)"),
            SignOutcome::Skipped(why) => write!(f, "skipped ({why})"),
            SignOutcome::Failed(why) => write!(f, "failed: {why}"),
            SignOutcome::NotAttempted => f.write_str("not attempted (the run stopped)"),
        }
    }
}

/// One image of the run: as listed before it started, and what happened to it.
#[derive(Debug, Clone)]
pub struct ImageResult {
    pub image: Image,
    pub outcome: SignOutcome,
}

/// Where and why the run stopped (a Glance or Barbican failure that is not about one image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub image_id: String,
    /// The image's name, empty when it has none.
    pub image_name: String,
    pub reason: String,
}

/// Counts of the outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub signed: usize,
    pub would_sign: usize,
    pub skipped: usize,
    pub failed: usize,
    pub not_attempted: usize,
}

/// A run's result, image by image in Glance's listing order.
#[derive(Debug, Clone)]
pub struct SignReport {
    /// The certificate's secret; `None` when there was nothing to sign.
    pub certificate: Option<CertificateSecret>,
    pub results: Vec<ImageResult>,
    pub stopped: Option<Stopped>,
    pub dry_run: bool,
    /// The shard the run was limited to.
    pub shard: Option<Shard>,
}

impl SignReport {
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for r in &self.results {
            *match r.outcome {
                SignOutcome::Signed => &mut t.signed,
                SignOutcome::WouldSign => &mut t.would_sign,
                SignOutcome::Skipped(_) => &mut t.skipped,
                SignOutcome::Failed(_) => &mut t.failed,
                SignOutcome::NotAttempted => &mut t.not_attempted,
            } += 1;
        }
        t
    }

    /// Images signed (or, on a dry run, to be signed) that other projects can see: their users
    /// boot them only if Barbican lets them read the certificate (Nova reads it with the
    /// booting user's token; the default ACL covers the secret's own project only).
    pub fn shared(&self) -> Vec<&ImageResult> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, SignOutcome::Signed | SignOutcome::WouldSign))
            .filter(|r| r.image.visibility.as_deref() != Some("private"))
            .collect()
    }

    /// Nothing failed and the run did not stop.
    pub fn is_success(&self) -> bool {
        self.stopped.is_none() && self.tally().failed == 0
    }

    /// The result of the image with this id or name.
    pub fn result(&self, image: &str) -> Option<&ImageResult> {
        self.results.iter().find(|r| crate::selects(image, &r.image))
    }
}

/// Signs the images visible to `session` that need it (see [`SignOptions`]), one at a time.
/// Refusals ([`OpsError`]) happen before any image or secret changes; per-image problems are
/// in the report.
pub async fn sign_images(
    session: &Session,
    signer: &Signer,
    options: &SignOptions,
    progress: &dyn Progress,
) -> Result<SignReport, OpsError> {
    sign_images_with(session, signer, options, &Fanout::default(), progress).await
}

/// [`sign_images`] on `fanout.jobs` images at a once (each image's data hashed on a thread of
/// its own), and on `fanout.shard`'s images only. When the run stops (a Glance failure that
/// is not about one image) no further image is started; those already in progress finish,
/// each signed or put back as it was.
pub async fn sign_images_with(
    session: &Session,
    signer: &Signer,
    options: &SignOptions,
    fanout: &Fanout,
    progress: &dyn Progress,
) -> Result<SignReport, OpsError> {
    let images: Vec<Image> = list_images(session, &options.only).await?.into_iter().filter(|i| fanout.selects(&i.id)).collect();
    let selected = !options.only.is_empty();
    let jobs = fanout.jobs.get();
    // Barbican answers by secret id: a re-run over many images signed with one certificate
    // reads it once.
    let mut wanted: Vec<&str> = images.iter().filter_map(certificate_to_check).collect();
    let mut seen = HashSet::new();
    wanted.retain(|id| seen.insert(*id));
    let certificates: HashMap<String, Result<Certificate, sigstack_verify::Error>> =
        futures_util::stream::iter(wanted.into_iter().map(str::to_owned))
            // Owned ids: a borrowed item would make the future not provably Send (rust#102211).
            .map(|id| async move {
                let fetched = key_manager::get_certificate(session, &id).await;
                (id, fetched)
            })
            .buffer_unordered(jobs)
            .collect()
            .await;
    let plan: Vec<(Image, Option<SignOutcome>)> = images
        .into_iter()
        .map(|image| {
            let decision = decide(signer, &image, selected, &certificates);
            (image, decision)
        })
        .collect();
    let certificate = if plan.iter().any(|(_, d)| d.is_none()) {
        Some(secret::resolve(session, signer, options.certificate_id.as_deref(), options.dry_run, progress).await?)
    } else {
        None
    };
    let certificate_id = certificate.as_ref().and_then(CertificateSecret::id);
    let stopped: Mutex<Option<Stopped>> = Mutex::new(None);
    let is_stopped = || stopped.lock().unwrap_or_else(|e| e.into_inner()).is_some();
    let planned = &plan;
    let work = futures_util::stream::iter(0..plan.len())
        .map(|index| {
            let (stopped, is_stopped) = (&stopped, &is_stopped);
            let (image, decision) = &planned[index];
            async move {
                let outcome = match (decision, certificate_id) {
                    (Some(skip), _) => skip.clone(),
                    // Checked when the image's turn comes: after a stop, nothing new starts.
                    _ if is_stopped() => SignOutcome::NotAttempted,
                    _ if options.dry_run => SignOutcome::WouldSign,
                    (None, Some(id)) => match sign_one(session, signer, image, id, progress).await {
                        Ok(()) => SignOutcome::Signed,
                        Err(Failure::Image(why)) => SignOutcome::Failed(why),
                        Err(Failure::Stop(why)) => {
                            let mut first = stopped.lock().unwrap_or_else(|e| e.into_inner());
                            if first.is_none() {
                                *first = Some(Stopped { image_id: image.id.clone(), image_name: label(image), reason: why.clone() });
                            }
                            SignOutcome::Failed(why)
                        }
                    },
                    (None, None) => SignOutcome::NotAttempted,
                };
                (index, outcome)
            }
        })
        .buffer_unordered(jobs);
    let outcomes = crate::collect_in_order(work, plan.len(), progress).await;
    let results = plan
        .into_iter()
        .zip(outcomes)
        .map(|((image, _), outcome)| ImageResult { image, outcome: outcome.unwrap_or(SignOutcome::NotAttempted) })
        .collect();
    let stopped = stopped.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(SignReport { certificate, results, stopped, dry_run: options.dry_run, shard: fanout.shard })
}

/// The certificate `decide` needs to read for this image: that of an active image whose
/// properties are valid.
fn certificate_to_check(image: &Image) -> Option<&str> {
    let props = signature_properties(image);
    if image.status != "active" || props.prepare(KeyTypeProfile::Current).is_err() {
        return None;
    }
    image.property("img_signature_certificate_uuid")
}

/// `None` to sign; otherwise why not. Reads only.
fn decide(
    signer: &Signer,
    image: &Image,
    selected: bool,
    certificates: &HashMap<String, Result<Certificate, sigstack_verify::Error>>,
) -> Option<SignOutcome> {
    if image.status != "active" {
        return Some(SignOutcome::Skipped(format!("status {}, no data to sign", image.status)));
    }
    let props = signature_properties(image);
    let uuid = props.certificate_uuid.as_deref()?;
    if props.prepare(KeyTypeProfile::Current).is_err() {
        return None;
    }
    // Signed with this certificate if the referenced secret holds the same certificate,
    // whatever its id (read beforehand, see `certificate_to_check`). The data is not
    // downloaded again (that is what makes re-runs cheap); an audit with `verify_data` checks
    // it.
    match certificates.get(uuid)? {
        Ok(c) if c == signer.certificate() => Some(SignOutcome::Skipped("already signed with this certificate".into())),
        _ if selected => None,
        Ok(_) => Some(SignOutcome::Skipped(format!("signed with another certificate ({uuid}); select it with --only to re-sign"))),
        Err(e) => Some(SignOutcome::Skipped(format!(
            "signed with certificate {uuid}, which cannot be read ({e}); select it with --only to re-sign"
        ))),
    }
}

enum Failure {
    /// This image failed; the others can go on.
    Image(String),
    /// Glance itself is failing: stop the run.
    Stop(String),
}

/// 5xx and transport failures mean Glance is unwell; 4xx are about this image.
fn classify(what: &str, e: &sigstack_client::Error) -> Failure {
    match e.status() {
        Some(403) if what == "PATCH" => Failure::Image(format!("not owned: Glance refused to change it ({})", service_message(e))),
        Some(s) if s < 500 => Failure::Image(format!("{what}: {}", service_message(e))),
        _ => Failure::Stop(format!("{what}: {}; this image was not changed", service_message(e))),
    }
}

async fn sign_one(session: &Session, signer: &Signer, image: &Image, certificate_id: &str, progress: &dyn Progress) -> Result<(), Failure> {
    // 1. Hash the stored data as Nova will read it.
    let hasher = stream_image(session, &image.id, &label(image), progress, signer.hash_method().hasher()).await.map_err(|e| match e {
        StreamError::NoData => Failure::Image("the image has no data".into()),
        StreamError::Glance(e) => match classify("download", &e) {
            Failure::Image(why) => Failure::Image(format!("cannot download: {why}")),
            stop => stop,
        },
        StreamError::Cancelled => Failure::Stop("the hashing thread was cancelled".into()),
    })?;
    let signature = signer.sign_digest(&hasher.finalize()).map_err(|e| Failure::Image(e.to_string()))?;
    let values = [
        base64::engine::general_purpose::STANDARD.encode(signature),
        signer.hash_method().name().to_owned(),
        signer.key_type().name().to_owned(),
        certificate_id.to_owned(),
    ];
    // 2. One PATCH: Glance applies all operations or none.
    let ops: Vec<PatchOp> = PROPERTY_NAMES
        .iter()
        .zip(values)
        .map(|(name, value)| {
            let path = format!("/{name}");
            if image.properties.contains_key(*name) {
                PatchOp::Replace { path, value: json!(value) }
            } else {
                PatchOp::Add { path, value: json!(value) }
            }
        })
        .collect();
    let patched = image::update_image(session, &image.id, &ops).await.map_err(|e| classify("PATCH", &e))?;
    // 3. Glance does not re-verify on PATCH: read back what it stored and verify the data.
    if let Err(why) = verify_stored(session, &patched, progress).await {
        return Err(match restore(session, image).await {
            Ok(()) => {
                Failure::Image(format!("verification after the PATCH failed ({why}); the signature properties were put back as they were"))
            }
            Err(e) => Failure::Stop(format!(
                "verification after the PATCH failed ({why}) and putting the properties back failed too ({}): remove the img_signature* properties of this image by hand",
                service_message(&e)
            )),
        });
    }
    Ok(())
}

/// Verifies the image as Nova would: its properties, the certificate from Barbican, the data.
async fn verify_stored(session: &Session, image: &Image, progress: &dyn Progress) -> Result<(), String> {
    let prepared = signature_properties(image).prepare(KeyTypeProfile::Current).map_err(|e| e.to_string())?;
    let certificate = key_manager::get_certificate(session, &prepared.certificate_uuid).await.map_err(|e| e.to_string())?;
    let verifier = prepared.verifier(&certificate).map_err(|e| e.to_string())?;
    let label = format!("verify {}", label(image));
    let verifier = stream_image(session, &image.id, &label, progress, verifier).await.map_err(|e| e.to_string())?;
    verifier.finish().map_err(|e| e.to_string())
}

/// Puts the four properties back as they were before this run patched them.
async fn restore(session: &Session, before: &Image) -> Result<(), sigstack_client::Error> {
    let ops: Vec<PatchOp> = PROPERTY_NAMES
        .iter()
        .map(|name| {
            let path = format!("/{name}");
            match before.properties.get(*name) {
                Some(value) => PatchOp::Replace { path, value: value.clone() },
                None => PatchOp::Remove { path },
            }
        })
        .collect();
    image::update_image(session, &before.id, &ops).await.map(|_| ())
}
