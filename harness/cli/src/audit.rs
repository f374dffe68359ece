//! `sigstack audit`: what each image visible to the credentials would do if Nova's
//! `verify_glance_signatures` (and certificate validation with `--trusted-cert` IDs) were
//! turned on. The checks are `sigstack_ops::audit`; this is the flags, the rendering and the
//! exit code.
//!
//! The JSON output (`--output json`; `--format` is an alias) is a stable interface; its keys
//! are documented in README.md ("Operator tools"). `--shard I/N` audits a part of the images,
//! and `audit merge` makes one report of the whole cloud from the JSON reports of all shards.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use sigstack_ops::{AuditOptions, AuditReport, Fanout, Shard};
use sigstack_verify::KeyTypeProfile;

use crate::cloud_args::{self, CliProgress};
use crate::{Outcome, input};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: Option<AuditCommand>,
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
    #[arg(long, visible_alias = "format", value_enum, default_value = "table")]
    output: Format,
    /// Which key types the cloud's cursive registers: `current` (cryptography >= 47, no binary
    /// SECT curves) or `legacy`.
    #[arg(long, default_value = "current")]
    profile: KeyTypeProfile,
    /// How many images to check at once (downloads overlap, their data is hashed on as many
    /// threads). Default: the number of CPUs.
    #[arg(long, value_name = "N", value_parser = cloud_args::parse_jobs)]
    jobs: Option<std::num::NonZeroUsize>,
    /// Only shard I of N (0 <= I < N) of the images: an image belongs to shard
    /// SHA-256(id) mod N, so N runs with I = 0..N-1 audit every image once, and new images
    /// never move the others. Merge their `--output json` reports with `audit merge`.
    #[arg(long, value_name = "I/N", allow_hyphen_values = true)]
    shard: Option<Shard>,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Merge the JSON reports of the shards of one `audit --shard I/N --output json` run.
    ///
    /// Every shard 0..N-1 must be given once, all made with the same cloud, --profile,
    /// --trusted-cert IDs and --verify-data; otherwise nothing is printed and the exit code is
    /// 2. The merged report has the keys of `audit --output json` (`shard` null), the images
    /// ordered by id and the summary recomputed; exit 0 when no image would fail, 1 otherwise.
    Merge(MergeArgs),
}

#[derive(Args)]
struct MergeArgs {
    /// The shard reports.
    #[arg(value_name = "SHARD.json", required = true)]
    reports: Vec<PathBuf>,
    /// `json` (the keys of `audit --output json`) or `table`.
    #[arg(long, visible_alias = "format", value_enum, default_value = "json")]
    output: Format,
}

pub fn audit(args: AuditArgs) -> Outcome {
    if let Some(AuditCommand::Merge(merge_args)) = args.command {
        return merge(merge_args);
    }
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
    let options = AuditOptions {
        trusted_certificates: args.trusted_cert,
        verify_data: args.verify_data,
        profile: args.profile,
        only: Vec::new(),
        fanout: Fanout { jobs: cloud_args::jobs(args.jobs), shard: args.shard },
    };
    let report = match sigstack_ops::audit(&session, &options, &CliProgress::default()).await {
        Ok(report) => report,
        Err(e) if e.is_usage() => return Outcome::Usage(e.to_string()),
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let json = render_json(&cloud.name, &report);
    print_report(&json, args.output);
    exit(report.failing())
}

fn print_report(report: &Value, format: Format) {
    match format {
        Format::Table => out!("{}", render_table(report)),
        Format::Json => outln!("{report:#}"),
    }
}

fn exit(failing: usize) -> Outcome {
    match failing {
        0 => Outcome::Success,
        // The report is already on stdout; Error's line goes to stderr, so JSON stays parseable.
        failing => Outcome::Error(format!("{failing} image(s) would fail to boot or could not be checked")),
    }
}

/// The table, from the JSON report (so `audit` and `audit merge` print the same).
fn render_table(report: &Value) -> String {
    let text_of = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let images = report["images"].as_array().map(Vec::as_slice).unwrap_or_default();
    let rows: Vec<Vec<String>> = images
        .iter()
        .map(|i| {
            let missing: Vec<String> = i["missing_properties"].as_array().into_iter().flatten().map(text_of).collect();
            let detail = text_of(&i["detail"]);
            let detail = if missing.is_empty() { detail } else { format!("missing {}: {detail}", missing.join(", ")) };
            vec![text_of(&i["id"]), text_of(&i["name"]), text_of(&i["state"]), detail]
        })
        .collect();
    let mut text = cloud_args::table(&["ID", "NAME", "STATE", "DETAIL"], &rows);
    let s = &report["summary"];
    let count = |v: &Value| v.as_u64().unwrap_or_default();
    let shard = report["shard"].as_str().map(|s| format!(" in shard {s}")).unwrap_or_default();
    text.push_str(&format!(
        "\n{} image(s){shard}; with Nova verify_glance_signatures=True {} would fail to boot",
        count(&s["images"]),
        count(&s["fail_signature_verification"])
    ));
    if count(&s["unchecked"]) > 0 {
        text.push_str(&format!(" and {} could not be checked", count(&s["unchecked"])));
    }
    text.push('\n');
    match s["fail_certificate_validation"].as_u64() {
        Some(n) => {
            let trusted: Vec<String> = report["trusted_certificates"].as_array().into_iter().flatten().map(text_of).collect();
            text.push_str(&format!("with certificate validation against {}: {n} would fail to boot\n", trusted.join(", ")));
        }
        None => text.push_str("certificate validation: not checked (no --trusted-cert given)\n"),
    }
    if report["verify_data"] != true {
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
        "shard": report.options.fanout.shard.map(|s| s.to_string()),
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

/// The options a shard report was made with; the shards of one run must agree on them.
const SAME_IN_EVERY_SHARD: [(&str, &str); 4] =
    [("cloud", "the cloud"), ("profile", "--profile"), ("trusted_certificates", "--trusted-cert"), ("verify_data", "--verify-data")];

/// `audit merge`: refuses (exit 2) anything but the complete set of one run's shards.
fn merge(args: MergeArgs) -> Outcome {
    let mut reports = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        match shard_report(path) {
            Ok(report) => reports.push(report),
            Err(outcome) => return outcome,
        }
    }
    let shards: Vec<(String, Shard)> = reports.iter().map(|r| (r.label.clone(), r.shard)).collect();
    if let Err(e) = sigstack_ops::check_complete(&shards) {
        return Outcome::Usage(format!("cannot merge: {e}"));
    }
    let first = &reports[0];
    for other in &reports[1..] {
        for (key, what) in SAME_IN_EVERY_SHARD {
            if comparable(key, &first.json[key]) != comparable(key, &other.json[key]) {
                return Outcome::Usage(format!(
                    "cannot merge: {} and {} differ in {what} ({} against {}): all shards must come from one run",
                    first.label, other.label, first.json[key], other.json[key]
                ));
            }
        }
    }
    // Every image once, in the shard its id belongs to.
    let mut seen: HashMap<String, &str> = HashMap::new();
    let mut images: Vec<Value> = Vec::new();
    for report in &reports {
        for image in report.json["images"].as_array().into_iter().flatten() {
            let id = image["id"].as_str().unwrap_or_default();
            if !report.shard.contains(id) {
                return Outcome::Usage(format!(
                    "cannot merge: {} lists image {id}, which belongs to shard {}/{}, not {}",
                    report.label,
                    Shard::of(id, report.shard.count()),
                    report.shard.count(),
                    report.shard
                ));
            }
            if let Some(earlier) = seen.insert(id.to_owned(), &report.label) {
                return Outcome::Usage(format!("cannot merge: image {id} is in both {earlier} and {}", report.label));
            }
            images.push(image.clone());
        }
    }
    images.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let trusted = first.json["trusted_certificates"].as_array().is_some_and(|t| !t.is_empty());
    let failing = images.iter().filter(|i| would_fail(i)).count();
    let summary = summary(&images, trusted);
    let merged = json!({
        "cloud": first.json["cloud"],
        "profile": first.json["profile"],
        "trusted_certificates": first.json["trusted_certificates"],
        "verify_data": first.json["verify_data"],
        "shard": null,
        "images": images,
        "summary": summary,
    });
    print_report(&merged, args.output);
    exit(failing)
}

/// A shard report, read and checked to have the keys `merge` relies on.
struct ShardReport {
    label: String,
    shard: Shard,
    json: Value,
}

fn shard_report(path: &std::path::Path) -> Result<ShardReport, Outcome> {
    let label = path.display().to_string();
    let bytes = input::read_file(path, "shard report")?;
    let json: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Outcome::Usage(format!("{label} is not JSON ({e}): expected the output of `sigstack audit --output json`")))?;
    let not_a_report = |why: &str| Outcome::Usage(format!("{label} is not a report of `sigstack audit --output json`: {why}"));
    let shard = match &json["shard"] {
        Value::String(s) => s.parse::<Shard>().map_err(|e| not_a_report(&format!("shard {s:?}: {e}")))?,
        Value::Null => {
            return Err(Outcome::Usage(format!(
                "{label} was made without --shard: it already covers every image (merge the reports of `audit --shard I/N`)"
            )));
        }
        other => return Err(not_a_report(&format!("shard is {other}"))),
    };
    let typed = |key: &str, ok: fn(&Value) -> bool| if ok(&json[key]) { Ok(()) } else { Err(not_a_report(&format!("no valid `{key}`"))) };
    typed("cloud", Value::is_string)?;
    typed("profile", Value::is_string)?;
    typed("verify_data", Value::is_boolean)?;
    typed("trusted_certificates", |v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string)))?;
    typed("images", |v| {
        v.as_array().is_some_and(|a| {
            a.iter().all(|i| {
                i["id"].is_string()
                    && i["state"].is_string()
                    && (i["fails_signature_verification"].is_boolean() || i["fails_signature_verification"].is_null())
                    && (i["fails_certificate_validation"].is_boolean() || i["fails_certificate_validation"].is_null())
            })
        })
    })?;
    Ok(ShardReport { label, shard, json })
}

/// The trusted IDs compare as a set (their order on the command line does not matter).
fn comparable(key: &str, value: &Value) -> Value {
    match (key, value.as_array()) {
        ("trusted_certificates", Some(ids)) => {
            let mut ids: Vec<&str> = ids.iter().filter_map(Value::as_str).collect();
            ids.sort_unstable();
            ids.dedup();
            json!(ids)
        }
        _ => value.clone(),
    }
}

/// As `Finding::would_fail`: would fail to boot, or could not be checked.
fn would_fail(image: &Value) -> bool {
    image["fails_signature_verification"] != false || image["fails_certificate_validation"] == true
}

/// As `AuditReport::summary`, from the JSON images.
fn summary(images: &[Value], trusted: bool) -> Value {
    let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
    for image in images {
        *by_state.entry(image["state"].as_str().unwrap_or_default()).or_insert(0) += 1;
    }
    let count = |pred: &dyn Fn(&Value) -> bool| images.iter().filter(|i| pred(i)).count();
    json!({
        "images": images.len(),
        "fail_signature_verification": count(&|i| i["fails_signature_verification"] == true),
        "fail_certificate_validation": trusted.then(|| count(&|i| i["fails_certificate_validation"] == true)),
        "unchecked": count(&|i| i["fails_signature_verification"].is_null()),
        "by_state": by_state,
    })
}
