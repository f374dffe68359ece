//! `sigstack conformance`: the conformance suite (embedded in the binary) against the embedded
//! simulated cloud or a real cloud from clouds.yaml. Progress goes to stderr, the verdict to
//! stdout, the reports (junit.xml, cucumber.json, report.md, report.html) to `--report-dir`.
//!
//! Exit 0 when every selected scenario passed or was skipped for a stated reason; 1 when one
//! failed, or (with `--certified`) a `@required` one was skipped; 2 for usage errors; 130 when
//! interrupted (the first Ctrl-C lets every scenario delete what it created and writes the
//! reports; a second one exits at once).
//!
//! `sigstack conformance cleanup` finds and deletes what runs left behind (by the run id every
//! name starts with): exit 0 when everything found was deleted, 1 otherwise, 2 usage errors.
//!
//! `sigstack conformance discover` probes a cloud and writes a capability file with the
//! evidence of each capability as comments. The file is written whatever the probes found
//! (what they could not establish is commented out, so not declared); exit 0 when every
//! capability was determined and everything the probes created was deleted, 1 otherwise (a
//! probe failed, a capability stayed undetermined, a deletion failed; the reasons on stderr
//! and in the file), 2 usage errors, 130 when interrupted (the probes' resources are deleted
//! first, and no file is written).

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use sigstack_scenarios::config::{CapabilityFile, RunSettings};
use sigstack_scenarios::{RunOptions, Status, discover, interrupt, ledger, leftovers, naming};

use crate::Outcome;
use crate::cloud_args::{self, CloudSelection};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ConformanceArgs {
    #[command(subcommand)]
    command: Option<ConformanceCommand>,
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

#[derive(Subcommand)]
enum ConformanceCommand {
    /// Find and delete the servers, volumes, volume types, images, secrets, users and projects
    /// that runs of the suite left behind (their names start with a run id), and print what
    /// was found and what happened to it.
    Cleanup(CleanupArgs),
    /// Probe a cloud (catalog, API versions, roles; Glance, Nova and Cinder with signed,
    /// unsigned and tampered images) and write a capability file with the evidence of every
    /// capability as comments. Everything the probes create is deleted.
    Discover(DiscoverArgs),
}

#[derive(Args)]
struct DiscoverArgs {
    #[command(flatten)]
    cloud: CloudSelection,
    /// Where to write the capability file (default: stdout).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A capability file whose `settings` (timeouts, polling, flavor, network) and
    /// `image_format` the probes use; its `users` and the capabilities discover does not probe
    /// are carried over.
    #[arg(long, value_name = "FILE")]
    capabilities: Option<PathBuf>,
}

#[derive(Args)]
struct CleanupArgs {
    #[command(flatten)]
    cloud: CloudSelection,
    /// Only the resources of this run (`sigstack-YYYYMMDD-HHMMSS-xxxx`, printed when the run
    /// started and in its summary); default: every run's.
    #[arg(long, value_name = "ID")]
    run: Option<String>,
    /// List what would be deleted, delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// The capability file of the cloud: its `settings` (timeouts, polling) and whether it is
    /// simulated.
    #[arg(long)]
    capabilities: Option<PathBuf>,
}

/// `--cloud`, else a non-empty `OS_CLOUD`, as the OpenStack clients choose.
fn cloud(args: &ConformanceArgs) -> Option<String> {
    args.cloud.clone().or_else(|| std::env::var("OS_CLOUD").ok().filter(|c| !c.is_empty()))
}

pub fn conformance(args: ConformanceArgs) -> Outcome {
    match args.command {
        Some(ConformanceCommand::Cleanup(cleanup_args)) => return cleanup(cleanup_args),
        Some(ConformanceCommand::Discover(discover_args)) => return discover(discover_args),
        None => {}
    }
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
        quiet: false,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return Outcome::Error(format!("cannot start the async runtime: {e}")),
    };
    let run_id = naming::new_run_id();
    naming::set_run_id(&run_id);
    let cleanup_hint = match &options.cloud {
        Some(cloud) => format!("sigstack conformance cleanup --cloud {cloud} --run {run_id}"),
        None => format!("sigstack conformance cleanup --run {run_id}"),
    };
    let result = runtime.block_on(async {
        let hint = cleanup_hint.clone();
        // Ctrl-C: the first stops the run gracefully, the second at once.
        let watcher = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupt::request();
                eprintln!("interrupted: no scenario starts any more; the running ones stop and delete what they created, then the reports are written (Ctrl-C again to exit at once)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("aborted: what the run created may be left behind; `{hint}` deletes it");
                    std::process::exit(130);
                }
            }
        });
        eprintln!("run id: {run_id} (the names of everything this run creates start with it)");
        let result = sigstack_scenarios::run(options).await;
        watcher.abort();
        result
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let summary = match result {
        Ok(summary) => summary,
        Err(e) if e.is_usage() => return Outcome::Usage(e.to_string()),
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let left = ledger::take_cleanup_failures();
    if !left.is_empty() {
        eprintln!("cleanup: {} resources could not be deleted (above); `{cleanup_hint}` deletes them", left.len());
    }
    if interrupt::requested() {
        let stopped = summary.scenarios.iter().filter(|r| r.reason.as_deref().is_some_and(|m| m.contains(interrupt::MESSAGE))).count();
        outln!("interrupted: {stopped} scenarios did not run or were stopped");
        outln!("run id: {run_id}");
        outln!("reports: {}", args.report_dir.display());
        outln!("{}", summary.verdict());
        let _ = std::io::stdout().flush();
        std::process::exit(130);
    }
    for r in summary.scenarios.iter().filter(|r| r.status != Status::Passed) {
        outln!(
            "{} {}: {} [{}]: {}",
            r.status,
            r.feature,
            r.scenario,
            r.id.as_deref().unwrap_or("no @id"),
            r.reason.as_deref().unwrap_or("")
        );
    }
    outln!("run id: {run_id}");
    outln!("reports: {}", args.report_dir.display());
    if summary.succeeded() {
        outln!("{}", summary.verdict());
        Outcome::Success
    } else {
        Outcome::Failed(summary.verdict())
    }
}

/// `sigstack conformance cleanup`: the leftovers table on stdout, notes on stderr.
fn cleanup(args: CleanupArgs) -> Outcome {
    if let Some(run) = &args.run
        && !naming::is_run_id(run)
    {
        return Outcome::Usage(format!("--run {run}: a run id looks like sigstack-20250131-142501-9f3a"));
    }
    let file = match args.capabilities.as_deref().map(CapabilityFile::load).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => return Outcome::Usage(e.to_string()),
    };
    let cloud = match cloud_args::resolve(&args.cloud) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let settings = RunSettings::resolve(&file.capabilities, false);
    let options = leftovers::Options { run: args.run.clone(), dry_run: args.dry_run };
    cloud_args::block_on(async move {
        let session = match cloud_args::session(&cloud).await {
            Ok(s) => s,
            Err(outcome) => return outcome,
        };
        let report = leftovers::cleanup(&cloud.credentials, &session, &options, &settings).await;
        if report.rows.is_empty() {
            outln!("no leftovers of {} on cloud {}", options.run.as_deref().unwrap_or("any run"), cloud.name);
        } else {
            out!("{}", cloud_args::table(&["KIND", "NAME", "ID", "PROJECT", "RESULT"], &report.rows()));
        }
        for note in &report.notes {
            eprintln!("note: {note}");
        }
        for problem in &report.problems {
            eprintln!("error: {problem}");
        }
        let summary = format!("cleanup: {}", report.summary());
        if report.succeeded() {
            outln!("{summary}");
            Outcome::Success
        } else {
            Outcome::Failed(summary)
        }
    })
}

/// `sigstack conformance discover`: the capability file on stdout or in `--output`, progress
/// and problems on stderr.
fn discover(args: DiscoverArgs) -> Outcome {
    let file = match args.capabilities.as_deref().map(CapabilityFile::load).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => return Outcome::Usage(e.to_string()),
    };
    if let Some(output) = &args.output {
        let dir = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        if !dir.is_dir() {
            return Outcome::Usage(format!("--output {}: no directory {}", output.display(), dir.display()));
        }
    }
    let cloud = match cloud_args::resolve(&args.cloud) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    cloud_args::block_on(async move {
        let session = match cloud_args::session(&cloud).await {
            Ok(s) => s,
            Err(outcome) => return outcome,
        };
        let settings = RunSettings::resolve(&file.capabilities, false);
        let options = discover::Options { cloud: cloud.name.clone(), source: cloud.source.clone(), file };
        let prober = discover::Prober::new(session, options);
        let run = prober.run_id().to_owned();
        eprintln!("discover: probing cloud {} (run id {run}: everything the probes create is named after it and deleted)", cloud.name);
        let started = std::time::Instant::now();
        let probed = tokio::select! {
            d = prober.probe() => Some(d),
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(mut discovery) = probed else {
            eprintln!("interrupted: deleting what the probes created (Ctrl-C again to exit at once)");
            // The probes' own records, then a sweep by the run id's names: a create in flight
            // when the probes stopped may have been done by the cloud without being recorded.
            let sweep = leftovers::Options { run: Some(run.clone()), dry_run: false };
            let left = tokio::select! {
                left = async {
                    let mut left = prober.cleanup().await;
                    let report = leftovers::cleanup(&cloud.credentials, prober.session(), &sweep, &settings).await;
                    if !report.succeeded() {
                        left.push(format!("the sweep by name: {}", report.summary()));
                    }
                    left
                } => left,
                _ = tokio::signal::ctrl_c() => vec!["(the deletions were interrupted)".to_owned()],
            };
            for l in &left {
                eprintln!("not deleted: {l}");
            }
            eprintln!("`sigstack conformance cleanup --cloud {} --run {run}` finds and deletes anything left", cloud.name);
            std::process::exit(130);
        };
        eprintln!("discover: deleting what the probes created");
        discovery.leftovers = prober.cleanup().await;
        let text = discovery.to_yaml();
        match &args.output {
            Some(path) => {
                if let Err(e) = std::fs::write(path, &text) {
                    return Outcome::Error(format!("cannot write {}: {e}", path.display()));
                }
                eprintln!("discover: wrote {}", path.display());
            }
            None => {
                out!("{text}");
                let _ = std::io::stdout().flush();
            }
        }
        eprintln!("discover: {} s", started.elapsed().as_secs());
        for p in &discovery.problems {
            eprintln!("problem: {p}");
        }
        for l in &discovery.leftovers {
            eprintln!("not deleted: {l}");
        }
        if !discovery.leftovers.is_empty() {
            eprintln!("`sigstack conformance cleanup --cloud {} --run {run}` deletes what is left", cloud.name);
        }
        let undetermined = discovery.undetermined();
        if discovery.succeeded() {
            Outcome::Success
        } else if !undetermined.is_empty() {
            Outcome::Error(format!("discover: not determined (left undeclared in the file): {}", undetermined.join(", ")))
        } else if !discovery.leftovers.is_empty() {
            Outcome::Error(format!("discover: {} resources the probes created could not be deleted", discovery.leftovers.len()))
        } else {
            Outcome::Error(format!("discover: {} probes failed unexpectedly", discovery.problems.len()))
        }
    })
}
