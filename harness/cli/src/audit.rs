//! `sigstack audit`: what each image visible to the credentials would do if Nova's
//! `verify_glance_signatures` (and certificate validation with `--trusted-cert` IDs) were
//! turned on. The checks are `sigstack_ops::audit`; this is the flags, the rendering and the
//! exit code.
//!
//! The JSON output (`--format json`) is a stable interface; its keys are documented in
//! README.md ("Operator tools").

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use sigstack_client::image::Image;
use sigstack_ops::{AuditOptions, AuditReport};
use sigstack_verify::KeyTypeProfile;

use crate::Outcome;
use crate::cloud_args::{self, CliProgress};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    cloud: cloud_args::CloudSelection,
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

pub fn audit(args: AuditArgs) -> Outcome {
    let cloud = match cloud_args::resolve(&args.cloud) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    cloud_args::block_on(run(args, cloud))
}

async fn run(args: AuditArgs, cloud: sigstack_client::clouds::ResolvedCloud) -> Outcome {
    let session = match cloud_args::session(&cloud).await {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let options =
        AuditOptions { trusted_certificates: args.trusted_cert, verify_data: args.verify_data, profile: args.profile, only: Vec::new() };
    let report = match sigstack_ops::audit(&session, &options, &CliProgress::default()).await {
        Ok(report) => report,
        Err(e) if e.is_usage() => return Outcome::Usage(e.to_string()),
        Err(e) => return Outcome::Error(e.to_string()),
    };
    match args.format {
        Format::Table => out!("{}", render_table(&report)),
        Format::Json => outln!("{:#}", render_json(&cloud.name, &report)),
    }
    match report.failing() {
        0 => Outcome::Success,
        // The report is already on stdout; Error's line goes to stderr, so JSON stays parseable.
        failing => Outcome::Error(format!("{failing} image(s) would fail to boot or could not be checked")),
    }
}

fn name(image: &Image) -> String {
    image.name.clone().unwrap_or_default()
}

fn render_table(report: &AuditReport) -> String {
    let rows: Vec<Vec<String>> = report
        .findings
        .iter()
        .map(|f| {
            let detail = if f.missing.is_empty() { f.detail.clone() } else { format!("missing {}: {}", f.missing.join(", "), f.detail) };
            vec![f.image.id.clone(), name(&f.image), f.state.name().to_owned(), detail]
        })
        .collect();
    let mut text = cloud_args::table(&["ID", "NAME", "STATE", "DETAIL"], &rows);
    let s = report.summary();
    text.push_str(&format!("\n{} image(s); with Nova verify_glance_signatures=True {} would fail to boot", s.images, s.fail_signature));
    if s.unchecked > 0 {
        text.push_str(&format!(" and {} could not be checked", s.unchecked));
    }
    text.push('\n');
    match s.fail_validation {
        Some(n) => text.push_str(&format!(
            "with certificate validation against {}: {n} would fail to boot\n",
            report.options.trusted_certificates.join(", ")
        )),
        None => text.push_str("certificate validation: not checked (no --trusted-cert given)\n"),
    }
    if !report.options.verify_data {
        text.push_str("image data: not checked (pass --verify-data to download and verify it)\n");
    }
    text
}

fn render_json(cloud: &str, report: &AuditReport) -> Value {
    let images: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "id": f.image.id,
                "name": f.image.name,
                "status": f.image.status,
                "owner": f.image.owner,
                "visibility": f.image.visibility,
                "state": f.state.name(),
                "detail": f.detail,
                "missing_properties": f.missing,
                "certificate_uuid": f.image.property("img_signature_certificate_uuid"),
                "fails_signature_verification": f.fails_signature,
                "fails_certificate_validation": f.fails_validation,
            })
        })
        .collect();
    let s = report.summary();
    json!({
        "cloud": cloud,
        "profile": report.options.profile.name(),
        "trusted_certificates": report.options.trusted_certificates,
        "verify_data": report.options.verify_data,
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
