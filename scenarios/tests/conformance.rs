//! The conformance suite against the embedded simulated cloud, as a certified run, once per
//! shipped deployment profile (upstream-defaults, mos, upstream-certificate-validation): the
//! suite must hold whatever the cloud's options are, skipping what a profile cannot run.
//! Exits non-zero when a scenario fails or a `@required` one is skipped in any of them.
//!
//! `cargo test -p sigstack-scenarios --test conformance [-- --tags EXPR] [--report-dir DIR]
//! [--deployment NAME]` (with `--report-dir`, each profile's reports go to `DIR/<profile>`).
//! As a `harness = false` target it also receives what cargo passes every test binary: a name
//! filter (the suite runs only if it matches "conformance", as libtest would decide), `--list`,
//! and libtest flags, which are ignored.

use std::process::ExitCode;

use sigstack_cloud::deployment::{Deployment, SHIPPED};
use sigstack_scenarios::{RunOptions, Status, run};

fn usage(message: &str) -> ExitCode {
    eprintln!("conformance: {message}\nusage: conformance [--tags EXPR] [--report-dir DIR] [--deployment NAME]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut options = RunOptions { certified: true, ..RunOptions::default() };
    let mut profiles: Vec<&str> = SHIPPED.iter().map(|(name, _)| *name).collect();
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tags" | "--report-dir" | "--deployment" => {
                let Some(value) = args.next() else { return usage(&format!("{arg} needs a value")) };
                match arg.as_str() {
                    "--tags" => options.tags = Some(value),
                    "--report-dir" => options.report_dir = Some(value.into()),
                    _ => match profiles.iter().find(|p| **p == value) {
                        Some(p) => profiles = vec![*p],
                        None => return usage(&format!("no shipped deployment profile '{value}'")),
                    },
                }
            }
            "--list" => {
                println!("conformance: test");
                return ExitCode::SUCCESS;
            }
            flag if flag.starts_with('-') => eprintln!("conformance: ignoring {flag}"),
            filter => filters.push(filter.to_owned()),
        }
    }
    if !filters.is_empty() && !filters.iter().any(|f| "conformance".contains(f.as_str())) {
        eprintln!("conformance: filtered out by {filters:?}");
        return ExitCode::SUCCESS;
    }
    let mut failed = false;
    for profile in profiles {
        let deployment = match Deployment::shipped(profile) {
            Ok(d) => d,
            Err(e) => return usage(&e.to_string()),
        };
        let report_dir = options.report_dir.as_ref().map(|dir| dir.join(profile));
        let run_options = RunOptions { deployment: Some(deployment), report_dir, ..options.clone() };
        match run(run_options).await {
            Ok(summary) => {
                eprintln!("conformance ({profile}): {}", summary.verdict());
                for r in summary.scenarios.iter().filter(|r| r.status != Status::Passed) {
                    eprintln!(
                        "  {} {} [{}]: {}",
                        r.status,
                        r.scenario,
                        r.id.as_deref().unwrap_or("no @id"),
                        r.reason.as_deref().unwrap_or("")
                    );
                }
                failed |= !summary.succeeded();
            }
            Err(e) => {
                eprintln!("conformance ({profile}): {e}");
                return ExitCode::from(if e.is_usage() { 2 } else { 1 });
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
