//! `sigstack sign-images`: signs the images of an existing cloud, the manual step the MOS
//! document asks for when signature verification is turned on after deployment.
//!
//! Safety rules, in order: the key must match the certificate before anything is touched;
//! the certificate is stored in Barbican once (an existing secret with the same certificate
//! is reused, so re-runs do not pile up secrets); image data is only ever read; each image
//! gets its four properties in one JSON-patch, and because Glance does not re-verify on PATCH
//! the image is then downloaded again and verified, and the properties are put back as they
//! were if that fails. A Glance error (5xx, no answer) stops the run: the cloud is unwell, and
//! carrying on would only spread half-finished work.

use std::collections::HashMap;
use std::path::PathBuf;

use base64::Engine as _;
use clap::Args;
use serde_json::json;
use sigstack_client::Session;
use sigstack_client::image::{self, Image, PatchOp};
use sigstack_client::key_manager::{self, ListQuery, NewSecret};
use sigstack_verify::{
    Certificate, EcCurve, EcPublicKey, HashMethod, KeyType, KeyTypeProfile, PROPERTY_NAMES, PublicKey, SignatureProperties,
    SigningKey, Verifier,
};

use crate::cloud_args::{self, StreamError};
use crate::{Outcome, input};

#[derive(Args)]
pub struct SignImagesArgs {
    /// The cloud in clouds.yaml (default: $OS_CLOUD).
    #[arg(long, value_name = "NAME")]
    cloud: Option<String>,
    /// The signing private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC).
    #[arg(long, value_name = "KEY.pem")]
    key: PathBuf,
    /// The signing certificate (PEM or DER); its public key must be the key's.
    #[arg(long, value_name = "CERT.pem")]
    certificate: PathBuf,
    /// A Barbican secret that already holds the certificate; nothing is stored.
    #[arg(long, value_name = "ID")]
    certificate_id: Option<String>,
    /// `img_signature_hash_method`: SHA-224, SHA-256, SHA-384 or SHA-512.
    #[arg(long, value_name = "H", default_value = "SHA-256")]
    hash_method: String,
    /// Sign only this image (name or id; repeatable). Selected images signed with another
    /// certificate are re-signed.
    #[arg(long, value_name = "IMAGE")]
    only: Vec<String>,
    /// Say what would be done; change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// The signer, checked before the cloud is contacted.
struct Signer {
    key: SigningKey,
    key_type: KeyType,
    hash: HashMethod,
    certificate: Certificate,
    certificate_pem: Vec<u8>,
}

pub fn sign_images(args: SignImagesArgs) -> Outcome {
    let cloud = match cloud_args::cloud_name(args.cloud.clone()) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let signer = match signer(&args) {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    cloud_args::block_on(run(args, cloud, signer))
}

/// Reads the key and certificate and proves they belong together with a test signature.
fn signer(args: &SignImagesArgs) -> Result<Signer, Outcome> {
    let usage = |what: &str, e: sigstack_verify::Error| Outcome::Usage(format!("{what}: {e}"));
    let hash: HashMethod = args.hash_method.parse().map_err(|e| usage("--hash-method", e))?;
    let pem = input::read_file(&args.key, "key")?;
    let pem = String::from_utf8(pem).map_err(|_| Outcome::Usage(format!("key {} is not PEM text", args.key.display())))?;
    let key = SigningKey::from_pem(&pem).map_err(|e| usage(&format!("key {}", args.key.display()), e))?;
    let certificate_pem = input::read_file(&args.certificate, "certificate")?;
    let certificate = Certificate::from_pem_or_der(&certificate_pem)
        .map_err(|e| usage(&format!("certificate {}", args.certificate.display()), e))?;
    // Barbican stores PEM (castellan parses PEM); a DER file is converted.
    let certificate_pem = certificate.to_pem().into_bytes();
    let key_type = key_type_for(&key.public_key())?;
    let cert_key = certificate
        .public_key_for(KeyTypeProfile::Current)
        .map_err(|e| usage(&format!("certificate {}", args.certificate.display()), e))?;
    let probe = hash.digest(b"sigstack sign-images key check");
    let signature = key
        .sign_digest(key_type, hash, &probe, &mut rand::rngs::SysRng)
        .map_err(|e| usage(&format!("key {}", args.key.display()), e))?;
    let matches = Verifier::new(hash, cert_key, signature).and_then(|mut v| {
        v.update(b"sigstack sign-images key check");
        v.finish()
    });
    if matches.is_err() {
        return Err(Outcome::Usage(format!(
            "the key {} does not match the certificate {} (a test signature does not verify with the certificate's public key); nothing was changed",
            args.key.display(),
            args.certificate.display()
        )));
    }
    Ok(Signer { key, key_type, hash, certificate, certificate_pem })
}

/// The key type current cursive accepts for this key. P-256 is never registered and binary
/// curves are gone with cryptography >= 47, so signing with them would make every image fail.
fn key_type_for(key: &PublicKey) -> Result<KeyType, Outcome> {
    match key {
        PublicKey::Rsa(_) => Ok(KeyType::RsaPss),
        PublicKey::Dsa(_) => Ok(KeyType::Dsa),
        PublicKey::Ec(EcPublicKey::P384(_)) => Ok(KeyType::Ecc(EcCurve::Secp384r1)),
        PublicKey::Ec(EcPublicKey::P521(_)) => Ok(KeyType::Ecc(EcCurve::Secp521r1)),
        other => Err(Outcome::Usage(format!(
            "a {} key cannot sign images that current cursive verifies (use RSA, DSA, EC P-384 or EC P-521)",
            other.describe()
        ))),
    }
}

/// What happened to one image.
enum Verdict {
    Signed,
    WouldSign,
    Skipped(String),
    Failed(String),
    NotAttempted,
}

impl Verdict {
    /// For the summary line.
    fn kind(&self) -> &'static str {
        match self {
            Verdict::Signed => "signed",
            Verdict::WouldSign => "would-sign",
            Verdict::Skipped(_) => "skipped",
            Verdict::Failed(_) => "failed",
            Verdict::NotAttempted => "not-attempted",
        }
    }

    fn text(&self) -> String {
        match self {
            Verdict::Signed => "signed".into(),
            Verdict::WouldSign => "would sign (dry run)".into(),
            Verdict::Skipped(why) => format!("skipped ({why})"),
            Verdict::Failed(why) => format!("failed: {why}"),
            Verdict::NotAttempted => "not attempted (the run stopped)".into(),
        }
    }
}

async fn run(args: SignImagesArgs, cloud: String, signer: Signer) -> Outcome {
    let session = match cloud_args::session(&cloud).await {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let images = match image::list_all_images(&session, &[]).await {
        Ok(images) => images,
        Err(e) => return Outcome::Error(format!("cannot list images: {e}")),
    };
    // Every --only must name something, checked before anything changes.
    for wanted in &args.only {
        if !images.iter().any(|i| selects(wanted, i)) {
            return Outcome::Usage(format!("--only {wanted}: no image with this name or id is visible to cloud '{cloud}'"));
        }
    }
    let mut plan = Vec::new();
    // Barbican answers by secret id: a re-run over many images signed with one certificate
    // reads it once.
    let mut certificates = HashMap::new();
    for image in images {
        if !args.only.is_empty() && !args.only.iter().any(|w| selects(w, &image)) {
            continue;
        }
        let decision = decide(&session, &signer, &image, !args.only.is_empty(), &mut certificates).await;
        plan.push((image, decision));
    }
    let to_sign = plan.iter().filter(|(_, d)| d.is_none()).count();
    let mut stopped = None;
    let certificate_id = if to_sign == 0 {
        None
    } else {
        match certificate_id(&session, &signer, &args).await {
            Ok(id) => Some(id),
            Err(outcome) => return outcome,
        }
    };
    let mut rows = Vec::new();
    let mut tally = std::collections::BTreeMap::<&str, usize>::new();
    let mut shared = Vec::new();
    for (image, decision) in plan {
        let result = match (decision, &certificate_id) {
            (Some(skip), _) => skip,
            _ if stopped.is_some() => Verdict::NotAttempted,
            _ if args.dry_run => Verdict::WouldSign,
            (None, Some(id)) => match sign_one(&session, &signer, &image, id).await {
                Ok(()) => Verdict::Signed,
                Err(Failure::Image(why)) => Verdict::Failed(why),
                Err(Failure::Stop(why)) => {
                    stopped = Some(format!("{} ({}): {why}", label(&image), image.id));
                    Verdict::Failed(why)
                }
            },
            (None, None) => Verdict::NotAttempted,
        };
        if matches!(result, Verdict::Signed | Verdict::WouldSign) && image.visibility.as_deref() != Some("private") {
            shared.push(label(&image));
        }
        *tally.entry(result.kind()).or_default() += 1;
        rows.push(vec![image.id.clone(), label(&image), result.text()]);
    }
    print!("{}", cloud_args::table(&["ID", "NAME", "RESULT"], &rows));
    let count = |kind: &str| tally.get(kind).copied().unwrap_or(0);
    let mut summary = format!("\n{} signed, {} failed, {} skipped", count("signed"), count("failed"), count("skipped"));
    if args.dry_run {
        summary.push_str(&format!(", {} would be signed (dry run: nothing was changed)", count("would-sign")));
    }
    if count("not-attempted") > 0 {
        summary.push_str(&format!(", {} not attempted", count("not-attempted")));
    }
    println!("{summary}");
    if let (false, Some(id)) = (shared.is_empty(), &certificate_id) {
        // Nova reads the certificate with the booting user's token; Barbican's default ACL
        // covers the secret's own project only.
        eprintln!(
            "note: {} image(s) signed here are visible to other projects ({}); their users can boot them only if they may read secret {id} (e.g. `openstack acl user add --user <id> <secret href>`); otherwise Nova fails with 'Unable to retrieve certificate'",
            shared.len(),
            shared.join(", ")
        );
    }
    if let Some(why) = stopped {
        return Outcome::Error(format!("stopped at image {why}. The images after it were not touched; re-run to resume."));
    }
    match count("failed") {
        0 => Outcome::Success,
        n => Outcome::Error(format!("{n} image(s) could not be signed")),
    }
}

fn label(image: &Image) -> String {
    image.name.clone().unwrap_or_default()
}

fn selects(wanted: &str, image: &Image) -> bool {
    image.id == wanted || image.name.as_deref() == Some(wanted)
}

/// `None` to sign; otherwise why not. Reads only.
async fn decide(
    session: &Session,
    signer: &Signer,
    image: &Image,
    selected: bool,
    certificates: &mut HashMap<String, Result<Certificate, sigstack_verify::Error>>,
) -> Option<Verdict> {
    if image.status != "active" {
        return Some(Verdict::Skipped(format!("status {}, no data to sign", image.status)));
    }
    let props = SignatureProperties::from_pairs(image.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let uuid = props.certificate_uuid.as_deref()?;
    if props.prepare(KeyTypeProfile::Current).is_err() {
        return None;
    }
    // Signed with this certificate if the referenced secret holds the same certificate,
    // whatever its id. The data is not downloaded again (that is what makes re-runs cheap);
    // `audit --verify-data` checks it.
    if !certificates.contains_key(uuid) {
        certificates.insert(uuid.to_owned(), key_manager::get_certificate(session, uuid).await);
    }
    match certificates.get(uuid)? {
        Ok(c) if *c == signer.certificate => Some(Verdict::Skipped("already signed with this certificate".into())),
        _ if selected => None,
        Ok(_) => Some(Verdict::Skipped(format!("signed with another certificate ({uuid}); select it with --only to re-sign"))),
        Err(e) => Some(Verdict::Skipped(format!("signed with certificate {uuid}, which cannot be read ({e}); select it with --only to re-sign"))),
    }
}

/// The Barbican secret holding the certificate: `--certificate-id` (checked to hold this very
/// certificate), an existing secret of ours with the same certificate, or a new one.
async fn certificate_id(session: &Session, signer: &Signer, args: &SignImagesArgs) -> Result<String, Outcome> {
    if let Some(id) = &args.certificate_id {
        return match key_manager::get_certificate(session, id).await {
            Ok(c) if c == signer.certificate => Ok(id.clone()),
            Ok(_) => Err(Outcome::Usage(format!("--certificate-id {id} holds a different certificate than {}", args.certificate.display()))),
            Err(e) => Err(Outcome::Error(format!("--certificate-id {id}: {e}"))),
        };
    }
    let name = secret_name(&signer.certificate);
    // Listing needs a role that may list secrets; without it a new secret is stored.
    let query = ListQuery { name: Some(name.clone()), secret_type: Some("certificate".into()), limit: Some(100), ..ListQuery::default() };
    if let Ok(list) = key_manager::list_secrets(session, &query).await {
        for secret in list.secrets {
            let id = key_manager::secret_uuid(&secret.secret_ref).to_owned();
            if key_manager::get_certificate(session, &id).await.is_ok_and(|c| c == signer.certificate) {
                eprintln!("using the certificate already stored as secret {id} ({name})");
                return Ok(id);
            }
        }
    }
    if args.dry_run {
        eprintln!("dry run: would store the certificate in Barbican as secret '{name}'");
        return Ok("<new secret>".into());
    }
    let secret = NewSecret::certificate(&name, &signer.certificate_pem);
    let secret_ref = key_manager::create_secret(session, &secret).await.map_err(|e| {
        Outcome::Error(format!(
            "Barbican refused to store the certificate: {}; no image was changed (storing needs the creator or admin role; or store it yourself and pass --certificate-id)",
            message(&e)
        ))
    })?;
    let id = key_manager::secret_uuid(&secret_ref).to_owned();
    eprintln!("stored the certificate as secret {id} ({name})");
    Ok(id)
}

/// `sigstack-image-signing-<first 16 hex digits of the certificate's SHA-256>`.
fn secret_name(certificate: &Certificate) -> String {
    let digest = HashMethod::Sha256.digest(certificate.der());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sigstack-image-signing-{hex}")
}

/// The service's own message when it gave one.
fn message(e: &sigstack_client::Error) -> String {
    match e {
        sigstack_client::Error::Http { status, message, .. } => format!("{status} {message}"),
        other => other.to_string(),
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
        Some(403) if what == "PATCH" => Failure::Image(format!("not owned: Glance refused to change it ({})", message(e))),
        Some(s) if s < 500 => Failure::Image(format!("{what}: {}", message(e))),
        _ => Failure::Stop(format!("{what}: {}; this image was not changed", message(e))),
    }
}

async fn sign_one(session: &Session, signer: &Signer, image: &Image, certificate_id: &str) -> Result<(), Failure> {
    // 1. Hash the stored data as Nova will read it.
    let mut hasher = signer.hash.hasher();
    cloud_args::stream_image(session, &image.id, &label(image), |chunk| hasher.update(chunk)).await.map_err(|e| match e {
        StreamError::NoData => Failure::Image("the image has no data".into()),
        StreamError::Glance(e) => match classify("download", &e) {
            Failure::Image(why) => Failure::Image(format!("cannot download: {why}")),
            stop => stop,
        },
    })?;
    let digest = hasher.finalize();
    let signature = signer
        .key
        .sign_digest(signer.key_type, signer.hash, &digest, &mut rand::rngs::SysRng)
        .map_err(|e| Failure::Image(e.to_string()))?;
    let values = [
        base64::engine::general_purpose::STANDARD.encode(signature),
        signer.hash.name().to_owned(),
        signer.key_type.name().to_owned(),
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
    if let Err(why) = verify_stored(session, &patched).await {
        return Err(match restore(session, image).await {
            Ok(()) => Failure::Image(format!("verification after the PATCH failed ({why}); the signature properties were put back as they were")),
            Err(e) => Failure::Stop(format!(
                "verification after the PATCH failed ({why}) and putting the properties back failed too ({}): remove the img_signature* properties of this image by hand",
                message(&e)
            )),
        });
    }
    Ok(())
}

/// Verifies the image as Nova would: its properties, the certificate from Barbican, the data.
async fn verify_stored(session: &Session, image: &Image) -> Result<(), String> {
    let props = SignatureProperties::from_pairs(image.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let prepared = props.prepare(KeyTypeProfile::Current).map_err(|e| e.to_string())?;
    let certificate = key_manager::get_certificate(session, &prepared.certificate_uuid).await.map_err(|e| e.to_string())?;
    let mut verifier = prepared.verifier(&certificate).map_err(|e| e.to_string())?;
    let label = format!("verify {}", label(image));
    cloud_args::stream_image(session, &image.id, &label, |chunk| verifier.update(chunk)).await.map_err(|e| e.to_string())?;
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
