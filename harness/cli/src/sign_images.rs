//! `sigstack sign-images`: signs the images of an existing cloud, the manual step the MOS
//! document asks for when signature verification is turned on after deployment. The work
//! and its safety rules are `sigstack_ops::sign_images`; this is the flags, the messages
//! (naming the files and flags the operator gave), the table and the exit code.

use std::path::PathBuf;

use clap::Args;
use sigstack_ops::{Fanout, OpsError, Shard, SignOptions, SignReport, Signer};
use sigstack_verify::{Certificate, HashMethod, SigningKey};

use crate::cloud_args::{self, CliProgress};
use crate::{Outcome, input};

#[derive(Args)]
pub struct SignImagesArgs {
    #[command(flatten)]
    cloud: cloud_args::CloudSelection,
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
    /// How many images to sign at once (downloads overlap, their data is hashed on as many
    /// threads). Default: the number of CPUs.
    #[arg(long, value_name = "N", value_parser = cloud_args::parse_jobs)]
    jobs: Option<std::num::NonZeroUsize>,
    /// Only shard I of N (0 <= I < N) of the images, as `audit --shard`: N runs with
    /// I = 0..N-1 cover every image once.
    #[arg(long, value_name = "I/N", allow_hyphen_values = true)]
    shard: Option<Shard>,
}

pub fn sign_images(args: SignImagesArgs) -> Outcome {
    let cloud = match cloud_args::resolve(&args.cloud) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let signer = match signer(&args) {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    cloud_args::block_on(run(args, cloud, signer))
}

/// Reads the key and certificate; `Signer::new` proves they belong together.
fn signer(args: &SignImagesArgs) -> Result<Signer, Outcome> {
    let usage = |what: &str, e: sigstack_verify::Error| Outcome::Usage(format!("{what}: {e}"));
    let hash: HashMethod = args.hash_method.parse().map_err(|e| usage("--hash-method", e))?;
    let pem = input::read_file(&args.key, "key")?;
    let pem = String::from_utf8(pem).map_err(|_| Outcome::Usage(format!("key {} is not PEM text", args.key.display())))?;
    let key = SigningKey::from_pem(&pem).map_err(|e| usage(&format!("key {}", args.key.display()), e))?;
    let certificate = input::read_file(&args.certificate, "certificate")?;
    let certificate =
        Certificate::from_pem_or_der(&certificate).map_err(|e| usage(&format!("certificate {}", args.certificate.display()), e))?;
    Signer::new(key, certificate, hash).map_err(|e| refusal(e, args, ""))
}

/// The library's refusal in the operator's terms: the files and flags they gave.
fn refusal(e: OpsError, args: &SignImagesArgs, cloud: &str) -> Outcome {
    let key = args.key.display();
    let certificate = args.certificate.display();
    match e {
        OpsError::KeyNotPem => Outcome::Usage(format!("key {key} is not PEM text")),
        OpsError::Key(e) => Outcome::Usage(format!("key {key}: {e}")),
        OpsError::Certificate(e) => Outcome::Usage(format!("certificate {certificate}: {e}")),
        OpsError::KeyCertificateMismatch => Outcome::Usage(format!(
            "the key {key} does not match the certificate {certificate} (a test signature does not verify with the certificate's public key); nothing was changed"
        )),
        OpsError::UnknownImage(wanted) => {
            Outcome::Usage(format!("--only {wanted}: no image with this name or id is visible to cloud '{cloud}'"))
        }
        OpsError::CertificateIdMismatch { id } => {
            Outcome::Usage(format!("--certificate-id {id} holds a different certificate than {certificate}"))
        }
        OpsError::CertificateIdUnreadable { id, source } => Outcome::Error(format!("--certificate-id {id}: {source}")),
        OpsError::StoreCertificate(e) => Outcome::Error(format!(
            "Barbican refused to store the certificate: {}; no image was changed (storing needs the creator or admin role; or store it yourself and pass --certificate-id)",
            sigstack_ops::service_message(&e)
        )),
        other if other.is_usage() => Outcome::Usage(other.to_string()),
        other => Outcome::Error(other.to_string()),
    }
}

async fn run(args: SignImagesArgs, cloud: sigstack_client::clouds::ResolvedCloud, signer: Signer) -> Outcome {
    let session = match cloud_args::session(&cloud).await {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let options = SignOptions { certificate_id: args.certificate_id.clone(), only: args.only.clone(), dry_run: args.dry_run };
    let fanout = Fanout { jobs: cloud_args::jobs(args.jobs), shard: args.shard };
    let report = match sigstack_ops::sign_images_with(&session, &signer, &options, &fanout, &CliProgress::default()).await {
        Ok(report) => report,
        Err(e) => return refusal(e, &args, &cloud.name),
    };
    out!("{}", render(&report));
    let shared = report.shared();
    if let (false, Some(secret)) = (shared.is_empty(), &report.certificate) {
        // Nova reads the certificate with the booting user's token; Barbican's default ACL
        // covers the secret's own project only.
        let names: Vec<String> = shared.iter().map(|r| r.image.name.clone().unwrap_or_default()).collect();
        eprintln!(
            "note: {} image(s) signed here are visible to other projects ({}); their users can boot them only if they may read secret {} (e.g. `openstack acl user add --user <id> <secret href>`); otherwise Nova fails with 'Unable to retrieve certificate'",
            shared.len(),
            names.join(", "),
            secret.id().unwrap_or("<new secret>")
        );
    }
    if let Some(stopped) = &report.stopped {
        return Outcome::Error(format!(
            "stopped at image {} ({}): {}. The images not yet started were not touched; re-run to resume.",
            stopped.image_name, stopped.image_id, stopped.reason
        ));
    }
    match report.tally().failed {
        0 => Outcome::Success,
        n => Outcome::Error(format!("{n} image(s) could not be signed")),
    }
}

/// The per-image table and the summary line.
fn render(report: &SignReport) -> String {
    let rows: Vec<Vec<String>> =
        report.results.iter().map(|r| vec![r.image.id.clone(), r.image.name.clone().unwrap_or_default(), r.outcome.to_string()]).collect();
    let mut text = cloud_args::table(&["ID", "NAME", "RESULT"], &rows);
    let t = report.tally();
    text.push('\n');
    if let Some(shard) = report.shard {
        text.push_str(&format!("shard {shard} ({} image(s)): ", report.results.len()));
    }
    text.push_str(&format!("{} signed, {} failed, {} skipped", t.signed, t.failed, t.skipped));
    if report.dry_run {
        text.push_str(&format!(", {} would be signed (dry run: nothing was changed)", t.would_sign));
    }
    if t.not_attempted > 0 {
        text.push_str(&format!(", {} not attempted", t.not_attempted));
    }
    text.push('\n');
    text
}
