//! The conformance suite against the embedded simulated cloud, as a certified run: exits
//! non-zero when a scenario fails or a `@required` one is skipped.
//!
//! `cargo test -p sigstack-scenarios --test conformance [-- --tags EXPR] [--report-dir DIR]`.
//! As a `harness = false` target it also receives what cargo passes every test binary: a name
//! filter (the suite runs only if it matches "conformance", as libtest would decide), `--list`,
//! and libtest flags, which are ignored.

use std::process::ExitCode;

use sigstack_scenarios::{RunOptions, Status, run};

fn usage(message: &str) -> ExitCode {
    eprintln!("conformance: {message}\nusage: conformance [--tags EXPR] [--report-dir DIR]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut options = RunOptions { certified: true, ..RunOptions::default() };
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tags" | "--report-dir" => {
                let Some(value) = args.next() else { return usage(&format!("{arg} needs a value")) };
                if arg == "--tags" {
                    options.tags = Some(value);
                } else {
                    options.report_dir = Some(value.into());
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
    match run(options).await {
        Ok(summary) => {
            eprintln!("conformance: {}", summary.verdict());
            for r in summary.scenarios.iter().filter(|r| r.status != Status::Passed) {
                eprintln!("  {} {} [{}]: {}", r.status, r.scenario, r.id.as_deref().unwrap_or("no @id"), r.reason.as_deref().unwrap_or(""));
            }
            if summary.succeeded() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("conformance: {e}");
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
    }
}
