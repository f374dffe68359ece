//! `sigstack audit`: what each image visible to the credentials would do if Nova's
//! `verify_glance_signatures` (and certificate validation with `--trusted-cert` IDs) were
//! turned on, checked with the same engine and in the same order as Nova: cursive's
//! `get_verifier` (properties, certificate from Barbican, key type), then the certificate
//! chain, then (with `--verify-data`) the data itself, streamed.
//!
//! The JSON output (`--format json`) is a stable interface; its keys are documented in
//! README.md ("Operator tools").

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::image::{self, Image};
use sigstack_client::key_manager;
use sigstack_verify::{
    Certificate, Error, KeyTypeProfile, Presence, SignatureProperties, ValidationOptions, verify_certificate,
};

use crate::Outcome;
use crate::cloud_args;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Args)]
pub struct AuditArgs {
    /// The cloud in clouds.yaml (default: $OS_CLOUD).
    #[arg(long, value_name = "NAME")]
    cloud: Option<String>,
    /// A trusted certificate's Barbican ID; with any, the certificate chain of every signed
    /// image is validated as Nova does with `trusted_image_certificates`.
    #[arg(long = "trusted-cert", value_name = "ID")]
    trusted_cert: Vec<String>,
    /// Download every signed image and check its data against the signature (streamed).
    #[arg(long)]
    verify_data: bool,
    /// `table` (aligned columns) or `json` (stable keys, see README.md).
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Which key types the cloud's cursive registers: `current` (cryptography >= 47, no binary
    /// SECT curves) or `legacy`.
    #[arg(long, default_value = "current")]
    profile: KeyTypeProfile,
}

/// One image's verdict.
struct Finding {
    image: Image,
    /// A stable state name (README lists them).
    state: &'static str,
    /// The message Nova would put in the fault, or what was checked.
    detail: String,
    /// For partially signed images: the missing properties, in the order cursive checks them.
    missing: Vec<&'static str>,
    /// Would fail to boot with `verify_glance_signatures=True`; `None` when it could not be
    /// checked (the data could not be downloaded).
    fails_signature: Option<bool>,
    /// Would fail with certificate validation against the given IDs; `None` without IDs.
    fails_validation: Option<bool>,
}

/// cursive's order: certificate uuid, hash method, signature, key type.
const CURSIVE_ORDER: [&str; 4] = [
    "img_signature_certificate_uuid",
    "img_signature_hash_method",
    "img_signature",
    "img_signature_key_type",
];

pub fn audit(args: AuditArgs) -> Outcome {
    let cloud = match cloud_args::cloud_name(args.cloud.clone()) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    cloud_args::block_on(run(args, cloud))
}

async fn run(args: AuditArgs, cloud: String) -> Outcome {
    let session = match cloud_args::session(&cloud).await {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let images = match image::list_all_images(&session, &[]).await {
        Ok(images) => images,
        Err(e) => return Outcome::Error(format!("cannot list images: {e}")),
    };
    let mut auditor = Auditor { session, args: &args, certificates: HashMap::new() };
    // Trusted certificates are fetched once up front (Nova fetches them on every boot); those
    // that fail are skipped by verify_certificate, as cursive skips them.
    for id in &args.trusted_cert {
        let _ = auditor.certificate(id).await;
    }
    let mut findings = Vec::with_capacity(images.len());
    for image in images {
        findings.push(auditor.audit(image).await);
    }
    let failing = findings.iter().filter(|f| f.fails_signature != Some(false) || f.fails_validation == Some(true)).count();
    match args.format {
        Format::Table => print!("{}", render_table(&findings, &args)),
        Format::Json => println!("{:#}", render_json(&cloud, &findings, &args)),
    }
    if failing > 0 {
        // The report is already on stdout; Error's line goes to stderr, so JSON stays parseable.
        Outcome::Error(format!("{failing} image(s) would fail to boot or could not be checked"))
    } else {
        Outcome::Success
    }
}

struct Auditor<'a> {
    session: Session,
    args: &'a AuditArgs,
    /// Barbican answers by secret id: many images share one certificate.
    certificates: HashMap<String, Result<Certificate, Error>>,
}

impl Auditor<'_> {
    async fn certificate(&mut self, id: &str) -> Result<Certificate, Error> {
        if let Some(cached) = self.certificates.get(id) {
            return cached.clone();
        }
        let fetched = key_manager::get_certificate(&self.session, id).await;
        self.certificates.insert(id.to_owned(), fetched.clone());
        fetched
    }

    async fn audit(&mut self, image: Image) -> Finding {
        let props = SignatureProperties::from_pairs(image.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut finding = Finding {
            image,
            state: "signed",
            detail: String::new(),
            missing: Vec::new(),
            fails_signature: Some(true),
            fails_validation: (!self.args.trusted_cert.is_empty()).then_some(true),
        };
        // 1. cursive get_verifier, before the certificate: presence, base64, hash, key type.
        let prepared = match props.prepare(self.args.profile) {
            Ok(p) => p,
            Err(e) => {
                finding.state = match (&props.presence(), &e) {
                    (Presence::Unsigned, _) => "unsigned",
                    (Presence::Partial(missing), _) => {
                        finding.missing = CURSIVE_ORDER.into_iter().filter(|p| missing.contains(p)).collect();
                        "partially-signed"
                    }
                    (_, Error::SignatureEncoding | Error::NonAsciiSignature) => "invalid-signature-encoding",
                    (_, Error::InvalidHashMethod(_)) => "invalid-hash-method",
                    (_, Error::InvalidKeyType(name)) if KeyTypeProfile::Legacy.lookup(name).is_ok() => "sect-key-type",
                    (_, Error::InvalidKeyType(_)) => "invalid-key-type",
                    _ => "invalid-properties",
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
                    Error::CertificateNotFound(_) => "certificate-not-found",
                    Error::CertificateRetrieval(_) => "certificate-unavailable",
                    _ => "not-a-certificate",
                };
                finding.detail = e.to_string();
                return finding;
            }
        };
        let verifier = match prepared.verifier(&certificate) {
            Ok(v) => v,
            Err(e) => {
                finding.state = match e {
                    Error::InvalidPublicKeyType(_) => "key-type-mismatch",
                    Error::UnsupportedAlgorithm(_) => "unsupported-certificate-key",
                    _ => "verifier-error",
                };
                finding.detail = e.to_string();
                return finding;
            }
        };
        // 3. The chain, when trusted IDs were given (Nova: after get_verifier, before data).
        let chain = if self.args.trusted_cert.is_empty() { None } else { Some(self.validate_chain(&prepared.certificate_uuid)) };
        finding.fails_validation = chain.as_ref().map(Result::is_err);
        // 4. The data.
        finding.fails_signature = Some(false);
        finding.detail = format!("{} {} certificate {}", prepared.key_type, prepared.hash_method.name(), prepared.certificate_uuid);
        if self.args.verify_data {
            let mut verifier = verifier;
            let label = finding.image.name.clone().unwrap_or_else(|| finding.image.id.clone());
            match cloud_args::stream_image(&self.session, &finding.image.id, &label, |chunk| verifier.update(chunk)).await {
                Ok(_) => match verifier.finish() {
                    Ok(()) => finding.state = "verified",
                    Err(e) => {
                        finding.state = "data-mismatch";
                        finding.detail = e.to_string();
                        finding.fails_signature = Some(true);
                        finding.fails_validation = finding.fails_validation.map(|_| true);
                    }
                },
                Err(e) => {
                    finding.state = "data-unavailable";
                    finding.detail = e.to_string();
                    finding.fails_signature = None;
                }
            }
        }
        if let Some(Err(message)) = chain
            && finding.fails_signature == Some(false)
        {
            finding.state = "untrusted-certificate";
            finding.detail = message;
        }
        finding
    }

    /// cursive `verify_certificate` over the cached Barbican answers; the message is Nova's
    /// `CertificateValidationFailed`.
    fn validate_chain(&self, uuid: &str) -> Result<(), String> {
        let fetch = |id: &str| {
            self.certificates.get(id).cloned().unwrap_or_else(|| Err(Error::CertificateRetrieval(id.to_owned())))
        };
        let options = ValidationOptions { key_type_profile: self.args.profile, ..ValidationOptions::default() };
        verify_certificate(fetch, uuid, &self.args.trusted_cert, SystemTime::now(), options).map(|_| ()).map_err(|e| {
            Error::CertificateValidationFailed { certificate: uuid.to_owned(), reason: e.to_string() }.to_string()
        })
    }
}

fn name(image: &Image) -> String {
    image.name.clone().unwrap_or_default()
}

fn render_table(findings: &[Finding], args: &AuditArgs) -> String {
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            let detail =
                if f.missing.is_empty() { f.detail.clone() } else { format!("missing {}: {}", f.missing.join(", "), f.detail) };
            vec![f.image.id.clone(), name(&f.image), f.state.to_owned(), detail]
        })
        .collect();
    let mut text = cloud_args::table(&["ID", "NAME", "STATE", "DETAIL"], &rows);
    let s = summary(findings, args);
    text.push_str(&format!(
        "\n{} image(s); with Nova verify_glance_signatures=True {} would fail to boot",
        s.images, s.fail_signature
    ));
    if s.unchecked > 0 {
        text.push_str(&format!(" and {} could not be checked", s.unchecked));
    }
    text.push('\n');
    match s.fail_validation {
        Some(n) => text.push_str(&format!(
            "with certificate validation against {}: {n} would fail to boot\n",
            args.trusted_cert.join(", ")
        )),
        None => text.push_str("certificate validation: not checked (no --trusted-cert given)\n"),
    }
    if !args.verify_data {
        text.push_str("image data: not checked (pass --verify-data to download and verify it)\n");
    }
    text
}

struct Summary {
    images: usize,
    fail_signature: usize,
    fail_validation: Option<usize>,
    unchecked: usize,
    by_state: BTreeMap<&'static str, usize>,
}

fn summary(findings: &[Finding], args: &AuditArgs) -> Summary {
    let mut by_state = BTreeMap::new();
    for f in findings {
        *by_state.entry(f.state).or_insert(0) += 1;
    }
    Summary {
        images: findings.len(),
        fail_signature: findings.iter().filter(|f| f.fails_signature == Some(true)).count(),
        fail_validation: (!args.trusted_cert.is_empty())
            .then(|| findings.iter().filter(|f| f.fails_validation == Some(true)).count()),
        unchecked: findings.iter().filter(|f| f.fails_signature.is_none()).count(),
        by_state,
    }
}

fn render_json(cloud: &str, findings: &[Finding], args: &AuditArgs) -> Value {
    let images: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "id": f.image.id,
                "name": f.image.name,
                "status": f.image.status,
                "owner": f.image.owner,
                "visibility": f.image.visibility,
                "state": f.state,
                "detail": f.detail,
                "missing_properties": f.missing,
                "certificate_uuid": f.image.property("img_signature_certificate_uuid"),
                "fails_signature_verification": f.fails_signature,
                "fails_certificate_validation": f.fails_validation,
            })
        })
        .collect();
    let s = summary(findings, args);
    json!({
        "cloud": cloud,
        "profile": args.profile.name(),
        "trusted_certificates": args.trusted_cert,
        "verify_data": args.verify_data,
        "images": images,
        "summary": {
            "images": s.images,
            "fail_signature_verification": s.fail_signature,
            "fail_certificate_validation": s.fail_validation,
            "unchecked": s.unchecked,
            "by_state": s.by_state,
        },
    })
}
