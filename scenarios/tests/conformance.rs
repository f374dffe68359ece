//! The conformance suite: `features/*.feature` run against the embedded simulated cloud.
//!
//! `cargo test -p sigstack-scenarios --test conformance` (cucumber flags after `--`, e.g.
//! `-- --tags @required`). Exits non-zero when a scenario fails or a `@required` scenario
//! is skipped. The `output-junit` feature enables cucumber's JUnit writer (not wired yet).

#[path = "../steps/barbican.rs"]
mod barbican;
#[path = "../steps/common.rs"]
mod common;
#[path = "../steps/glance.rs"]
mod glance;

use common::Conformance;
use cucumber::World as _;
use futures_util::FutureExt as _;

fn features() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../features")
}

fn required(_: &cucumber::gherkin::Feature, _: Option<&cucumber::gherkin::Rule>, s: &cucumber::gherkin::Scenario) -> bool {
    s.tags.iter().any(|t| t == "required")
}

#[tokio::main]
async fn main() {
    let cucumber = Conformance::cucumber()
        .after(|_, _, _, _, world| {
            async move {
                if let Some(w) = world {
                    w.cleanup().await;
                }
            }
            .boxed_local()
        })
        .fail_on_skipped_with(required);
    cucumber.run_and_exit(features()).await;
}
