//! `sigstack conformance`: the conformance suite (embedded in the binary) against the embedded
//! simulated cloud or a real cloud from clouds.yaml. Progress goes to stderr, the verdict to
//! stdout, the reports (junit.xml, cucumber.json, report.md, report.html) to `--report-dir`.
//!
//! Exit 0 when every selected scenario passed or was skipped for a stated reason; 1 when one
//! failed, or (with `--certified`) a `@required` one was skipped; 2 for usage errors.

use std::path::PathBuf;

use clap::Args;
use sigstack_scenarios::{RunOptions, Status};

use crate::Outcome;

#[derive(Args)]
pub struct ConformanceArgs {
    /// The clouds.yaml cloud to test (default: `$OS_CLOUD`; neither: the embedded simulated
    /// cloud); `envvars` is the cloud of a sourced openrc (`OS_*`). clouds.yaml is searched as
    /// openstacksdk does: `$OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`,
    /// `~/.config/openstack/clouds.yaml`, `/etc/openstack/clouds.yaml`; secure.yaml is merged.
    #[arg(long)]
    cloud: Option<String>,
    /// Capability file (YAML): `users` (suite user → clouds.yaml cloud) and `capabilities`
    /// (feature flags such as `compute: true`, `key_type_profile: current`).
    #[arg(long)]
    capabilities: Option<PathBuf>,
    /// Select scenarios by a cucumber tag expression, e.g. `@required and not @simulated`.
    #[arg(long)]
    tags: Option<String>,
    /// Where the reports are written (created if missing).
    #[arg(long, default_value = "conformance-report")]
    report_dir: PathBuf,
    /// Fail when a `@required` scenario is skipped (a certification run).
    #[arg(long)]
    certified: bool,
    /// The embedded cloud's deployment profile, as `sigstack serve --deployment`: a shipped
    /// one (`mos`, `upstream-certificate-validation`, `upstream-defaults`) or a YAML file.
    /// Not with a real cloud.
    #[arg(long)]
    deployment: Option<String>,
    /// Do not verify the target's TLS certificates (as `verify: false` in clouds.yaml; a
    /// warning is printed).
    #[arg(long)]
    insecure: bool,
}

/// `--cloud`, else a non-empty `OS_CLOUD`, as the OpenStack clients choose.
fn cloud(args: &ConformanceArgs) -> Option<String> {
    args.cloud.clone().or_else(|| std::env::var("OS_CLOUD").ok().filter(|c| !c.is_empty()))
}

pub fn conformance(args: ConformanceArgs) -> Outcome {
    let deployment = match args.deployment.as_deref().map(sigstack_cloud::deployment::Deployment::load).transpose() {
        Ok(d) => d,
        Err(e) => return Outcome::Usage(e.to_string()),
    };
    let options = RunOptions {
        cloud: cloud(&args),
        clouds_yaml: None,
        capabilities: args.capabilities.clone(),
        tags: args.tags.clone(),
        report_dir: Some(args.report_dir.clone()),
        certified: args.certified,
        concurrency: None,
        deployment,
        insecure: args.insecure,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return Outcome::Error(format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(sigstack_scenarios::run(options));
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let summary = match result {
        Ok(summary) => summary,
        Err(e) if e.is_usage() => return Outcome::Usage(e.to_string()),
        Err(e) => return Outcome::Error(e.to_string()),
    };
    for r in summary.scenarios.iter().filter(|r| r.status != Status::Passed) {
        println!("{} {}: {} [{}]: {}", r.status, r.feature, r.scenario, r.id.as_deref().unwrap_or("no @id"), r.reason.as_deref().unwrap_or(""));
    }
    println!("reports: {}", args.report_dir.display());
    if summary.succeeded() {
        println!("{}", summary.verdict());
        Outcome::Success
    } else {
        Outcome::Failed(summary.verdict())
    }
}
