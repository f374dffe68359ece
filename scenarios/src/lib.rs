//! sigstack's conformance suite as a library: the Gherkin of `features/` and the fixtures it
//! names are embedded at build time, and [`run`] runs them against the embedded simulated cloud
//! or a real cloud from clouds.yaml, writing JUnit, Cucumber JSON, Markdown and HTML reports.
//! `sigstack conformance` and `cargo test -p sigstack-scenarios` both call [`run`].

pub mod config;
pub mod coverage;
pub mod discover;
pub mod disk_image;
pub mod interrupt;
pub mod ledger;
pub mod leftovers;
pub mod naming;
pub mod plan;
pub mod report;
mod steps;
pub mod target;
mod wait;
mod world;

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use cucumber::{World as _, WriterExt as _, cli, writer, writer::Coloring};
use futures_util::FutureExt as _;
use futures_util::stream;

pub use crate::config::{Capabilities, CapabilityFile};
pub use crate::report::{RunSummary, ScenarioResult, Status};
use crate::world::Conformance;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The suite's version, recorded in every report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The report files a run writes into its report directory.
pub const JUNIT: &str = "junit.xml";
pub const CUCUMBER_JSON: &str = "cucumber.json";
pub const REPORT_MD: &str = "report.md";
pub const REPORT_HTML: &str = "report.html";

/// How to run the suite.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// A clouds.yaml cloud; `None` runs against the embedded simulated cloud.
    pub cloud: Option<String>,
    /// The clouds.yaml to read; `None` searches as openstacksdk does.
    pub clouds_yaml: Option<PathBuf>,
    /// The capability file (`--capabilities`).
    pub capabilities: Option<PathBuf>,
    /// A cucumber tag expression selecting scenarios (`@required and not @simulated`).
    pub tags: Option<String>,
    /// Where the four reports go; `None` keeps them in a temporary directory only.
    pub report_dir: Option<PathBuf>,
    /// A certified run fails when a `@required` scenario is skipped.
    pub certified: bool,
    /// Scenarios run at once (cucumber's default, 64, when `None`).
    pub concurrency: Option<usize>,
    /// The embedded cloud's deployment profile (`upstream-defaults` when `None`); a real
    /// cloud is what it is, so this with `cloud` is a usage error.
    pub deployment: Option<sigstack_cloud::deployment::Deployment>,
    /// `--insecure`: the target's TLS certificates are not verified.
    pub insecure: bool,
    /// No progress on stderr (tests that run the suite many times).
    pub quiet: bool,
}

/// The capability naming how many scenarios the target takes at once.
pub const MAX_CONCURRENT_SCENARIOS: &str = "max_concurrent_scenarios";

/// Why a run could not happen. [`RunError::is_usage`] separates what the caller asked wrongly
/// (exit 2) from the target failing (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// clouds.yaml missing, unreadable, or without the named cloud (the messages come from
    /// `sigstack_client::clouds`, shared with the operator tools).
    #[error(transparent)]
    Clouds(#[from] sigstack_client::clouds::CloudsError),
    #[error("cannot read capability file {path}: {reason}")]
    UnreadableCapabilities { path: PathBuf, reason: String },
    #[error("invalid capability file {path}: {reason}")]
    Capabilities { path: PathBuf, reason: String },
    #[error("invalid tag expression '{expr}': {reason}")]
    Tags { expr: String, reason: String },
    #[error("embedded feature {name} does not parse: {reason}")]
    Feature { name: String, reason: String },
    #[error("the target cannot be used: {0}")]
    Target(String),
    /// The caller's side of reaching the target is wrong: TLS trust (unknown issuer, name
    /// mismatch), CA or client-certificate files, credentials options.
    #[error("the target cannot be used: {0}")]
    TargetConfiguration(String),
    #[error("report {path}: {reason}")]
    Report { path: PathBuf, reason: String },
    #[error("a deployment profile applies to the embedded cloud only, not to cloud '{0}'")]
    DeploymentWithCloud(String),
}

impl RunError {
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RunError::Clouds(_)
                | RunError::UnreadableCapabilities { .. }
                | RunError::Capabilities { .. }
                | RunError::Tags { .. }
                | RunError::Report { .. }
                | RunError::DeploymentWithCloud(_)
                | RunError::TargetConfiguration(_)
        )
    }
}

/// cucumber's parser for features prepared in memory ([`plan::prepare`]).
struct Prepared;

impl cucumber::Parser<Vec<cucumber::gherkin::Feature>> for Prepared {
    type Cli = cli::Empty;
    type Output = stream::Iter<std::vec::IntoIter<cucumber::parser::Result<cucumber::gherkin::Feature>>>;

    fn parse(self, input: Vec<cucumber::gherkin::Feature>, _: cli::Empty) -> Self::Output {
        stream::iter(input.into_iter().map(Ok).collect::<Vec<_>>())
    }
}

/// One run at a time per process: the World finds the target in a global.
pub(crate) static RUN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs the suite: progress on stderr, the reports into the report directory, and the
/// per-scenario results back. A failed scenario is a result, not an error.
pub async fn run(options: RunOptions) -> Result<RunSummary, RunError> {
    let _one_at_a_time = RUN.lock().await;
    let started = Instant::now();
    let filter = options.tags.as_deref().map(plan::parse_tags).transpose()?;
    let file = options.capabilities.as_deref().map(CapabilityFile::load).transpose()?;
    let features = plan::embedded_features()?;

    // The target first: a wrong cloud name must not leave empty report files behind.
    let (target, cloud) = match &options.cloud {
        None => {
            let (target, cloud) = target::embedded(file.as_ref(), options.deployment.clone()).await?;
            (target, Some(cloud))
        }
        Some(name) if options.deployment.is_some() => return Err(RunError::DeploymentWithCloud(name.clone())),
        Some(name) => (target::real(name, options.clouds_yaml.clone(), file.as_ref(), options.insecure).await?, None),
    };
    let features = plan::prepare(features, filter.as_ref(), &target.available());
    // A filter that matches nothing is almost always a typo; an empty "PASS" would hide it.
    if features.is_empty()
        && let Some(expr) = &options.tags
    {
        return Err(RunError::Tags { expr: expr.clone(), reason: "it selects no scenario".into() });
    }
    let (scratch, dir) = match &options.report_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| RunError::Report { path: dir.clone(), reason: e.to_string() })?;
            (None, dir.clone())
        }
        None => {
            let tmp = tempfile::tempdir().map_err(|e| RunError::Report { path: std::env::temp_dir(), reason: e.to_string() })?;
            let path = tmp.path().to_owned();
            (Some(tmp), path)
        }
    };
    let create = |name: &str| {
        let path = dir.join(name);
        File::create(&path).map_err(|e| RunError::Report { path, reason: e.to_string() })
    };
    let (junit, json) = (create(JUNIT)?, create(CUCUMBER_JSON)?);

    let concurrency_capability = match target.capabilities.get(MAX_CONCURRENT_SCENARIOS) {
        None => None,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(RunError::Capabilities {
                    path: options.capabilities.clone().unwrap_or_default(),
                    reason: format!("capability {MAX_CONCURRENT_SCENARIOS} must be a positive integer, not '{v}'"),
                });
            }
        },
    };
    let target = Arc::new(target);
    target::set_current(Some(target.clone()));

    let out: Box<dyn std::io::Write> = if options.quiet { Box::new(std::io::sink()) } else { Box::new(std::io::stderr()) };
    let progress = writer::Basic::raw(out, Coloring::Auto, 0)
        .summarized()
        .tee::<Conformance, _>(writer::JUnit::for_tee(junit, 0))
        .tee::<Conformance, _>(writer::Json::for_tee(json))
        .normalized();
    let mut cucumber = Conformance::cucumber::<PathBuf>()
        .before(|feature, rule, scenario, world| {
            let tags = feature.tags.iter().chain(rule.iter().flat_map(|r| r.tags.iter())).chain(scenario.tags.iter());
            world.target_users = tags.into_iter().any(|t| t == target::TARGET_USERS_TAG);
            async {}.boxed_local()
        })
        .after(|_, _, _, _, world| {
            async move {
                if let Some(w) = world {
                    w.cleanup().await;
                }
            }
            .boxed_local()
        })
        .with_parser(Prepared)
        .with_writer(progress);
    // A real cloud may not take 64 scenarios at once (services on SQLite answer "database is
    // locked"); its capability file says how many it does.
    if let Some(n) = options.concurrency.or(concurrency_capability) {
        cucumber = cucumber.max_concurrent_scenarios(n);
    }
    // An explicit (default) CLI: cucumber must not parse this process's arguments, which
    // belong to `sigstack conformance` or the test harness.
    cucumber.with_cli(cli::Opts::<_, _, _, cli::Empty>::default()).run(features).await;

    target::set_current(None);
    if let Some(cloud) = cloud {
        cloud.shutdown().await;
    }
    let scenarios = report::read_cucumber_json(&dir.join(CUCUMBER_JSON))?;
    let summary = RunSummary {
        version: VERSION.to_owned(),
        run_id: naming::run_id(),
        target: target.described(),
        endpoints: target.endpoints.clone(),
        users: target.users.keys().cloned().collect(),
        capabilities: target.capabilities.clone(),
        tags: options.tags.clone(),
        certified: options.certified,
        wall_time: started.elapsed(),
        scenarios,
    };
    report::write(&summary, &dir)?;
    annotate_junit(&summary, &dir.join(JUNIT))?;
    drop(scratch);
    Ok(summary)
}

/// Adds the run's coverage (declared capabilities, what was not covered) to junit.xml.
fn annotate_junit(summary: &RunSummary, path: &std::path::Path) -> Result<(), RunError> {
    let bad = |e: std::io::Error| RunError::Report { path: path.to_owned(), reason: e.to_string() };
    let xml = std::fs::read_to_string(path).map_err(bad)?;
    std::fs::write(path, coverage::annotate_junit(&xml, &summary.not_covered(), &summary.capabilities)).map_err(bad)
}
