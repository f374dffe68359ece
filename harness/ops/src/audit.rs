//! The audit: what each image visible to the credentials would do if Nova's
//! `verify_glance_signatures` (and certificate validation against trusted certificate IDs)
//! were turned on, checked with the same engine and in the same order as Nova: cursive's
//! `get_verifier` (properties, certificate from Barbican, key type), then the certificate
//! chain, then (optionally) the data itself, streamed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::SystemTime;

use futures_util::StreamExt;
use sigstack_client::Session;
use sigstack_client::image::Image;
use sigstack_client::key_manager;
use sigstack_verify::{Certificate, Error, KeyTypeProfile, PreparedSignature, Presence, ValidationOptions, Verifier, verify_certificate};

use crate::{Fanout, OpsError, Progress, list_images, signature_properties, stream_image};

/// cursive's order: certificate uuid, hash method, signature, key type.
pub const CURSIVE_ORDER: [&str; 4] =
    ["img_signature_certificate_uuid", "img_signature_hash_method", "img_signature", "img_signature_key_type"];

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Barbican IDs of trusted certificates; with any, every signed image's certificate chain
    /// is validated as Nova does with `trusted_image_certificates`.
    pub trusted_certificates: Vec<String>,
    /// Download every signed image and check its data against the signature.
    pub verify_data: bool,
    /// The key types the cloud's cursive registers.
    pub profile: KeyTypeProfile,
    /// Only these images (ids or names); empty: every image visible to the credentials.
    pub only: Vec<String>,
    /// How many images at once, and which shard of them.
    pub fanout: Fanout,
}

/// An image's verdict, in the order Nova finds problems. [`ImageState::name`] is the stable
/// name of the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageState {
    Unsigned,
    PartiallySigned,
    InvalidSignatureEncoding,
    InvalidHashMethod,
    InvalidKeyType,
    /// An `ECC_SECT*` key type, which current cursive no longer registers.
    SectKeyType,
    InvalidProperties,
    CertificateNotFound,
    CertificateUnavailable,
    NotACertificate,
    KeyTypeMismatch,
    UnsupportedCertificateKey,
    VerifierError,
    UntrustedCertificate,
    DataMismatch,
    DataUnavailable,
    Signed,
    /// Signed, and the data was checked too.
    Verified,
}

impl ImageState {
    pub fn name(self) -> &'static str {
        match self {
            ImageState::Unsigned => "unsigned",
            ImageState::PartiallySigned => "partially-signed",
            ImageState::InvalidSignatureEncoding => "invalid-signature-encoding",
            ImageState::InvalidHashMethod => "invalid-hash-method",
            ImageState::InvalidKeyType => "invalid-key-type",
            ImageState::SectKeyType => "sect-key-type",
            ImageState::InvalidProperties => "invalid-properties",
            ImageState::CertificateNotFound => "certificate-not-found",
            ImageState::CertificateUnavailable => "certificate-unavailable",
            ImageState::NotACertificate => "not-a-certificate",
            ImageState::KeyTypeMismatch => "key-type-mismatch",
            ImageState::UnsupportedCertificateKey => "unsupported-certificate-key",
            ImageState::VerifierError => "verifier-error",
            ImageState::UntrustedCertificate => "untrusted-certificate",
            ImageState::DataMismatch => "data-mismatch",
            ImageState::DataUnavailable => "data-unavailable",
            ImageState::Signed => "signed",
            ImageState::Verified => "verified",
        }
    }
}

impl std::fmt::Display for ImageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One image's verdict.
#[derive(Debug, Clone)]
pub struct Finding {
    pub image: Image,
    pub state: ImageState,
    /// The message Nova would put in the fault, or what was checked.
    pub detail: String,
    /// For partially signed images: the missing properties, in the order cursive checks them.
    pub missing: Vec<&'static str>,
    /// Would fail to boot with `verify_glance_signatures=True`; `None` when it could not be
    /// checked (the data could not be downloaded).
    pub fails_signature: Option<bool>,
    /// Would fail with certificate validation against the trusted IDs; `None` without IDs.
    pub fails_validation: Option<bool>,
}

impl Finding {
    /// Would fail to boot, or could not be checked (which is not clean either).
    pub fn would_fail(&self) -> bool {
        self.fails_signature != Some(false) || self.fails_validation == Some(true)
    }
}

/// Every image's verdict, in Glance's listing order.
#[derive(Debug, Clone)]
pub struct AuditReport {
    pub options: AuditOptions,
    pub findings: Vec<Finding>,
}

/// The counts of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub images: usize,
    /// Would fail with `verify_glance_signatures=True`.
    pub fail_signature: usize,
    /// Would fail with certificate validation; `None` without trusted IDs.
    pub fail_validation: Option<usize>,
    /// Could not be checked.
    pub unchecked: usize,
    /// State name → count.
    pub by_state: BTreeMap<&'static str, usize>,
}

impl AuditReport {
    pub fn summary(&self) -> Summary {
        let mut by_state = BTreeMap::new();
        for f in &self.findings {
            *by_state.entry(f.state.name()).or_insert(0) += 1;
        }
        let count = |pred: &dyn Fn(&Finding) -> bool| self.findings.iter().filter(|f| pred(f)).count();
        Summary {
            images: self.findings.len(),
            fail_signature: count(&|f| f.fails_signature == Some(true)),
            fail_validation: (!self.options.trusted_certificates.is_empty()).then(|| count(&|f| f.fails_validation == Some(true))),
            unchecked: count(&|f| f.fails_signature.is_none()),
            by_state,
        }
    }

    /// How many images would fail to boot or could not be checked.
    pub fn failing(&self) -> usize {
        self.findings.iter().filter(|f| f.would_fail()).count()
    }

    /// No image would fail and every one was checked.
    pub fn is_clean(&self) -> bool {
        self.failing() == 0
    }

    /// The finding of the image with this id or name.
    pub fn finding(&self, image: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| crate::selects(image, &f.image))
    }
}

/// Audits the images visible to `session` (narrowed by `options.only` and
/// `options.fanout.shard`). Reads only.
///
/// In three steps: the signature properties of every image (no I/O); every distinct
/// certificate from Barbican, once, `fanout.jobs` at a time; then each image's verdict,
/// `fanout.jobs` at a time, its data (with `verify_data`) hashed on a thread of its own. The
/// report is in Glance's listing order whatever order the images finish in.
pub async fn audit(session: &Session, options: &AuditOptions, progress: &dyn Progress) -> Result<AuditReport, OpsError> {
    let images: Vec<Image> = list_images(session, &options.only).await?.into_iter().filter(|i| options.fanout.selects(&i.id)).collect();
    let jobs = options.fanout.jobs.get();
    // 1. cursive get_verifier's first half, before the certificate: presence, base64, hash,
    //    key type.
    let prepared: Vec<Result<PreparedSignature, Error>> =
        images.iter().map(|image| signature_properties(image).prepare(options.profile)).collect();
    // 2. Barbican answers by secret id: many images share one certificate, so each distinct
    //    one is read once. Trusted certificates that fail are skipped by verify_certificate,
    //    as cursive skips them (Nova fetches them on every boot).
    let mut wanted: Vec<&str> = options.trusted_certificates.iter().map(String::as_str).collect();
    wanted.extend(prepared.iter().filter_map(|p| p.as_ref().ok()).map(|p| p.certificate_uuid.as_str()));
    let mut seen = HashSet::new();
    wanted.retain(|id| seen.insert(*id));
    let certificates: HashMap<String, Result<Certificate, Error>> = futures_util::stream::iter(wanted.into_iter().map(str::to_owned))
        // Owned ids: a borrowed item would make the future not provably Send (rust#102211).
        .map(|id| async move {
            let fetched = key_manager::get_certificate(session, &id).await;
            (id, fetched)
        })
        .buffer_unordered(jobs)
        .collect()
        .await;
    let auditor = &Auditor { session, options, progress, certificates };
    // 3. Each image's verdict, `jobs` at a time (only those whose data is downloaded take
    //    time); a verifier exists only while its image is in flight.
    let images_total = images.len();
    let checked = futures_util::stream::iter(images.into_iter().zip(prepared).enumerate())
        .map(|(index, (image, prepared))| async move {
            let finding = match auditor.check(image, prepared) {
                Err(verdict) => *verdict,
                Ok(pending) if options.verify_data => auditor.check_data(pending).await,
                Ok(pending) => untrusted(pending.finding, pending.chain),
            };
            (index, finding)
        })
        .buffer_unordered(jobs);
    let findings = crate::collect_in_order(checked, images_total, progress).await;
    Ok(AuditReport { options: options.clone(), findings: findings.into_iter().flatten().collect() })
}

struct Auditor<'a> {
    session: &'a Session,
    options: &'a AuditOptions,
    progress: &'a dyn Progress,
    /// Every certificate the images and the trusted IDs name, by secret id.
    certificates: HashMap<String, Result<Certificate, Error>>,
}

/// An image whose signature path is fine (properties, certificate, key): only its data and
/// the chain's verdict are left to apply.
struct Pending {
    finding: Finding,
    verifier: Verifier,
    /// The chain's verdict, applied once the data is known to match.
    chain: Option<Result<(), String>>,
}

impl Auditor<'_> {
    fn certificate(&self, id: &str) -> Result<Certificate, Error> {
        self.certificates.get(id).cloned().unwrap_or_else(|| Err(Error::CertificateRetrieval(id.to_owned())))
    }

    /// Steps 1 to 3 of Nova's order; `Err` holds the verdict of an image that fails there.
    fn check(&self, image: Image, prepared: Result<PreparedSignature, Error>) -> Result<Pending, Box<Finding>> {
        let mut finding = Finding {
            image,
            state: ImageState::Signed,
            detail: String::new(),
            missing: Vec::new(),
            fails_signature: Some(true),
            fails_validation: (!self.options.trusted_certificates.is_empty()).then_some(true),
        };
        // 1. cursive get_verifier, before the certificate: presence, base64, hash, key type.
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                let props = signature_properties(&finding.image);
                finding.state = match (&props.presence(), &e) {
                    (Presence::Unsigned, _) => ImageState::Unsigned,
                    (Presence::Partial(missing), _) => {
                        finding.missing = CURSIVE_ORDER.into_iter().filter(|p| missing.contains(p)).collect();
                        ImageState::PartiallySigned
                    }
                    (_, Error::SignatureEncoding | Error::NonAsciiSignature) => ImageState::InvalidSignatureEncoding,
                    (_, Error::InvalidHashMethod(_)) => ImageState::InvalidHashMethod,
                    (_, Error::InvalidKeyType(name)) if KeyTypeProfile::Legacy.lookup(name).is_ok() => ImageState::SectKeyType,
                    (_, Error::InvalidKeyType(_)) => ImageState::InvalidKeyType,
                    _ => ImageState::InvalidProperties,
                };
                finding.detail = e.to_string();
                return Err(Box::new(finding));
            }
        };
        // 2. The certificate, with the auditing user's token (Nova uses the booting user's).
        let certificate = match self.certificate(&prepared.certificate_uuid) {
            Ok(c) => c,
            Err(e) => {
                finding.state = match e {
                    Error::CertificateNotFound(_) => ImageState::CertificateNotFound,
                    Error::CertificateRetrieval(_) => ImageState::CertificateUnavailable,
                    _ => ImageState::NotACertificate,
                };
                finding.detail = e.to_string();
                return Err(Box::new(finding));
            }
        };
        let verifier = match prepared.verifier(&certificate) {
            Ok(v) => v,
            Err(e) => {
                finding.state = match e {
                    Error::InvalidPublicKeyType(_) => ImageState::KeyTypeMismatch,
                    Error::UnsupportedAlgorithm(_) => ImageState::UnsupportedCertificateKey,
                    _ => ImageState::VerifierError,
                };
                finding.detail = e.to_string();
                return Err(Box::new(finding));
            }
        };
        // 3. The chain, when trusted IDs were given (Nova: after get_verifier, before data).
        let chain = (!self.options.trusted_certificates.is_empty()).then(|| self.validate_chain(&prepared.certificate_uuid));
        finding.fails_validation = chain.as_ref().map(Result::is_err);
        finding.fails_signature = Some(false);
        finding.detail = format!("{} {} certificate {}", prepared.key_type, prepared.hash_method.name(), prepared.certificate_uuid);
        Ok(Pending { finding, verifier, chain })
    }

    /// Step 4 (`verify_data`): downloads the data, hashing it on a thread of its own, and
    /// checks it against the signature.
    async fn check_data(&self, pending: Pending) -> Finding {
        let Pending { mut finding, verifier, chain } = pending;
        let label = finding.image.name.clone().unwrap_or_else(|| finding.image.id.clone());
        match stream_image(self.session, &finding.image.id, &label, self.progress, verifier).await {
            Ok(verifier) => match verifier.finish() {
                Ok(()) => finding.state = ImageState::Verified,
                Err(e) => {
                    finding.state = ImageState::DataMismatch;
                    finding.detail = e.to_string();
                    finding.fails_signature = Some(true);
                    finding.fails_validation = finding.fails_validation.map(|_| true);
                }
            },
            Err(e) => {
                finding.state = ImageState::DataUnavailable;
                finding.detail = e.to_string();
                finding.fails_signature = None;
            }
        }
        untrusted(finding, chain)
    }

    /// cursive `verify_certificate` over the fetched Barbican answers; the message is Nova's
    /// `CertificateValidationFailed`.
    fn validate_chain(&self, uuid: &str) -> Result<(), String> {
        let fetch = |id: &str| self.certificate(id);
        let options = ValidationOptions { key_type_profile: self.options.profile, ..ValidationOptions::default() };
        verify_certificate(fetch, uuid, &self.options.trusted_certificates, SystemTime::now(), options)
            .map(|_| ())
            .map_err(|e| Error::CertificateValidationFailed { certificate: uuid.to_owned(), reason: e.to_string() }.to_string())
    }
}

/// A signature that checks out but whose chain does not: `untrusted-certificate`.
fn untrusted(mut finding: Finding, chain: Option<Result<(), String>>) -> Finding {
    if let Some(Err(message)) = chain
        && finding.fails_signature == Some(false)
    {
        finding.state = ImageState::UntrustedCertificate;
        finding.detail = message;
    }
    finding
}
