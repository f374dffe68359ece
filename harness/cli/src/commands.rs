//! The subcommands. Each returns an [`Outcome`]; only `main` prints failures and exits.

use std::path::PathBuf;

use base64::Engine as _;
use clap::Args;
use sigstack_verify::{
    Certificate, CertificateValidator, Error, HashMethod, KeyTypeProfile, SignatureProperties, SigningKey, ValidationOptions,
};

use crate::Outcome;
use crate::input;

#[derive(Args)]
pub struct VerifyArgs {
    /// The image data.
    #[arg(long)]
    image: PathBuf,
    /// `img_signature`: base64 text, or @FILE holding it.
    #[arg(long)]
    signature: String,
    /// `img_signature_hash_method`: SHA-224, SHA-256, SHA-384 or SHA-512.
    #[arg(long)]
    hash_method: String,
    /// `img_signature_key_type`: RSA-PSS, DSA, ECC_SECP384R1, ECC_SECP521R1, ECC_SECT* (legacy).
    #[arg(long)]
    key_type: String,
    /// The signing certificate (PEM or DER), as stored in Barbican.
    #[arg(long)]
    certificate: PathBuf,
    /// A trusted certificate; with any, the certificate chain is validated as Nova does.
    #[arg(long = "trusted")]
    trusted: Vec<PathBuf>,
    /// The time certificate dates are checked against (RFC 3339); default now.
    #[arg(long)]
    now: Option<String>,
    /// Which key types are registered: `current` (cursive on cryptography >= 47) or `legacy`.
    #[arg(long, default_value = "current")]
    profile: KeyTypeProfile,
}

#[derive(Args)]
pub struct SignArgs {
    #[arg(long)]
    image: PathBuf,
    /// Private key PEM (PKCS#8, PKCS#1 RSA or SEC1 EC). Keys whose signatures `verify` could
    /// not check are refused: RSA over 16384 bits, P-192 (verify-only), unknown curves.
    #[arg(long)]
    key: PathBuf,
    #[arg(long)]
    hash_method: String,
    #[arg(long)]
    key_type: String,
    /// Sign with a binary-curve (sect*) key even though that signer is not constant time: its
    /// timing leaks the private key, so use it with test keys only.
    #[arg(long)]
    allow_non_constant_time: bool,
}

#[derive(Args)]
pub struct CertificateArgs {
    /// The signing certificate to validate.
    #[arg(long)]
    certificate: PathBuf,
    /// Trusted certificates, in order (at least one).
    #[arg(long = "trusted", required = true)]
    trusted: Vec<PathBuf>,
    #[arg(long)]
    now: Option<String>,
    /// Which keys the cloud's cryptography loads: `current` (no binary curves) or `legacy`.
    #[arg(long, default_value = "current")]
    profile: KeyTypeProfile,
}

fn failed(e: Error) -> Outcome {
    Outcome::Failed(e.to_string())
}

/// Loads trusted certificates, each identified by its path (the CLI's stand-in for a Barbican
/// uuid, so chain messages name the file).
fn validator(paths: &[PathBuf], now: &Option<String>, profile: KeyTypeProfile) -> Result<CertificateValidator, Outcome> {
    let now = input::now(now.as_deref())?;
    let mut trusted = Vec::with_capacity(paths.len());
    for path in paths {
        trusted.push((path.display().to_string(), input::certificate(path)?));
    }
    let options = ValidationOptions { key_type_profile: profile, ..ValidationOptions::default() };
    CertificateValidator::new(trusted, now, options).map_err(failed)
}

pub fn verify(args: VerifyArgs) -> Outcome {
    match run_verify(args) {
        Ok(()) => {
            outln!("verified");
            Outcome::Success
        }
        Err(outcome) => outcome,
    }
}

fn run_verify(args: VerifyArgs) -> Result<(), Outcome> {
    let certificate_id = args.certificate.display().to_string();
    let properties = SignatureProperties {
        signature: Some(input::signature_text(&args.signature)?),
        hash_method: Some(args.hash_method),
        key_type: Some(args.key_type),
        certificate_uuid: Some(certificate_id.clone()),
    };
    let prepared = properties.prepare(args.profile).map_err(failed)?;
    let leaf = input::certificate(&args.certificate)?;
    let mut verifier = prepared.verifier(&leaf).map_err(failed)?;
    // Nova validates the chain after get_verifier and before downloading the data.
    if !args.trusted.is_empty() {
        let validator = validator(&args.trusted, &args.now, args.profile)?;
        validator
            .validate(&leaf)
            .map_err(|e| failed(Error::CertificateValidationFailed { certificate: certificate_id.clone(), reason: e.to_string() }))?;
    }
    input::stream_file(&args.image, |chunk| verifier.update(chunk))?;
    verifier.finish().map_err(failed)
}

pub fn sign(args: SignArgs) -> Outcome {
    match run_sign(args) {
        Ok(signature) => {
            outln!("{signature}");
            Outcome::Success
        }
        Err(outcome) => outcome,
    }
}

fn run_sign(args: SignArgs) -> Result<String, Outcome> {
    let usage = |e: Error| Outcome::Usage(e.to_string());
    let hash: HashMethod = args.hash_method.parse().map_err(usage)?;
    let key_type = KeyTypeProfile::Legacy.lookup(&args.key_type).map_err(usage)?;
    let pem = input::read_file(&args.key, "key")?;
    let pem = String::from_utf8(pem).map_err(|_| Outcome::Usage(format!("key {} is not PEM text", args.key.display())))?;
    // Refuses keys `verify` could not check (RSA over 16384 bits, P-192, unknown curves).
    let key = SigningKey::from_pem(&pem).map_err(usage)?;
    // Refuse a mismatched key before reading a possibly huge image.
    key.public_key().check_key_type(key_type).map_err(usage)?;
    if !key.is_constant_time() {
        let curve = key.public_key().describe();
        if !args.allow_non_constant_time {
            return Err(Outcome::Usage(format!(
                "the binary-curve signer ({curve}) is not constant time: its timing leaks the private key. \
                 Pass --allow-non-constant-time to sign anyway, with a test key only"
            )));
        }
        eprintln!(
            "warning: signing with the binary-curve signer ({curve}), which is not constant time; \
             binary-curve keys load only on clouds with cryptography < 47 (verify --profile legacy)"
        );
    }
    let mut hasher = hash.hasher();
    input::stream_file(&args.image, |chunk| hasher.update(chunk))?;
    let digest = hasher.finalize();
    let signature = key.sign_digest(key_type, hash, &digest, &mut rand::rngs::SysRng).map_err(usage)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signature))
}

pub fn validate_certificate(args: CertificateArgs) -> Outcome {
    let result = (|| {
        let leaf: Certificate = input::certificate(&args.certificate)?;
        let validator = validator(&args.trusted, &args.now, args.profile)?;
        validator.validate(&leaf).map_err(failed)
    })();
    match result {
        Ok(chain) => {
            outln!("valid");
            eprintln!("chain: {}", chain.join(" -> "));
            Outcome::Success
        }
        Err(outcome) => outcome,
    }
}
