//! The audit: what each image visible to the credentials would do if Nova's
//! `verify_glance_signatures` (and certificate validation against trusted certificate IDs)
//! were turned on, checked with the same engine and in the same order as Nova: cursive's
//! `get_verifier` (properties, certificate from Barbican, key type), then the certificate
//! chain, then (optionally) the data itself, streamed.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use sigstack_client::Session;
use sigstack_client::image::Image;
use sigstack_client::key_manager;
use sigstack_verify::{Certificate, Error, KeyTypeProfile, Presence, ValidationOptions, verify_certificate};

use crate::{OpsError, Progress, list_images, signature_properties, stream_image};

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

/// Audits the images visible to `session` (narrowed by `options.only`). Reads only.
pub async fn audit(session: &Session, options: &AuditOptions, progress: &dyn Progress) -> Result<AuditReport, OpsError> {
    let images = list_images(session, &options.only).await?;
    let mut auditor = Auditor { session, options, progress, certificates: HashMap::new() };
    // Trusted certificates are fetched once up front (Nova fetches them on every boot); those
    // that fail are skipped by verify_certificate, as cursive skips them.
    for id in &options.trusted_certificates {
        let _ = auditor.certificate(id).await;
    }
    let mut findings = Vec::with_capacity(images.len());
    for image in images {
        findings.push(auditor.audit(image).await);
    }
    Ok(AuditReport { options: options.clone(), findings })
}

struct Auditor<'a> {
    session: &'a Session,
    options: &'a AuditOptions,
    progress: &'a dyn Progress,
    /// Barbican answers by secret id: many images share one certificate.
    certificates: HashMap<String, Result<Certificate, Error>>,
}

impl Auditor<'_> {
    async fn certificate(&mut self, id: &str) -> Result<Certificate, Error> {
        if let Some(cached) = self.certificates.get(id) {
            return cached.clone();
        }
        let fetched = key_manager::get_certificate(self.session, id).await;
        self.certificates.insert(id.to_owned(), fetched.clone());
        fetched
    }

    async fn audit(&mut self, image: Image) -> Finding {
        let props = signature_properties(&image);
        let mut finding = Finding {
            image,
            state: ImageState::Signed,
            detail: String::new(),
            missing: Vec::new(),
            fails_signature: Some(true),
            fails_validation: (!self.options.trusted_certificates.is_empty()).then_some(true),
        };
        // 1. cursive get_verifier, before the certificate: presence, base64, hash, key type.
        let prepared = match props.prepare(self.options.profile) {
            Ok(p) => p,
            Err(e) => {
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
                return finding;
            }
        };
        // 2. The certificate, with the auditing user's token (Nova uses the booting user's).
        let certificate = match self.certificate(&prepared.certificate_uuid).await {
            Ok(c) => c,
            Err(e) => {
                finding.state = match e {
                    Error::CertificateNotFound(_) => ImageState::CertificateNotFound,
                    Error::CertificateRetrieval(_) => ImageState::CertificateUnavailable,
                    _ => ImageState::NotACertificate,
                };
                finding.detail = e.to_string();
                return finding;
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
                return finding;
            }
        };
        // 3. The chain, when trusted IDs were given (Nova: after get_verifier, before data).
        let chain = (!self.options.trusted_certificates.is_empty()).then(|| self.validate_chain(&prepared.certificate_uuid));
        finding.fails_validation = chain.as_ref().map(Result::is_err);
        // 4. The data.
        finding.fails_signature = Some(false);
        finding.detail = format!("{} {} certificate {}", prepared.key_type, prepared.hash_method.name(), prepared.certificate_uuid);
        if self.options.verify_data {
            let mut verifier = verifier;
            let label = finding.image.name.clone().unwrap_or_else(|| finding.image.id.clone());
            let streamed = stream_image(self.session, &finding.image.id, &label, self.progress, |chunk| verifier.update(chunk)).await;
            match streamed {
                Ok(_) => match verifier.finish() {
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
        }
        if let Some(Err(message)) = chain
            && finding.fails_signature == Some(false)
        {
            finding.state = ImageState::UntrustedCertificate;
            finding.detail = message;
        }
        finding
    }

    /// cursive `verify_certificate` over the cached Barbican answers; the message is Nova's
    /// `CertificateValidationFailed`.
    fn validate_chain(&self, uuid: &str) -> Result<(), String> {
        let fetch = |id: &str| self.certificates.get(id).cloned().unwrap_or_else(|| Err(Error::CertificateRetrieval(id.to_owned())));
        let options = ValidationOptions { key_type_profile: self.options.profile, ..ValidationOptions::default() };
        verify_certificate(fetch, uuid, &self.options.trusted_certificates, SystemTime::now(), options)
            .map(|_| ())
            .map_err(|e| Error::CertificateValidationFailed { certificate: uuid.to_owned(), reason: e.to_string() }.to_string())
    }
}
