//! Per-scenario results, read back from cucumber.json (one source for the verdict, the exit
//! code and every report), and the human reports derived from them: report.md and report.html,
//! a feature × scenario × result matrix with skip reasons, the target, its capabilities, the
//! suite version and the wall time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::config::Capabilities;
use crate::coverage;
use crate::plan::SKIP_PREFIX;
use crate::{REPORT_HTML, REPORT_MD, RunError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        })
    }
}

#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub feature: String,
    pub uri: String,
    pub scenario: String,
    /// Line in the feature file (an outline's example row for expanded outlines).
    pub line: u64,
    /// The `@id:<uuid>` tag's uuid.
    pub id: Option<String>,
    /// The scenario's tags without `@` (examples' tags included).
    pub tags: Vec<String>,
    pub status: Status,
    /// Why it was skipped, or what failed.
    pub reason: Option<String>,
}

impl ScenarioResult {
    pub fn required(&self) -> bool {
        self.tags.iter().any(|t| t == "required")
    }
}

/// What a run did, and against what.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub version: String,
    /// The run id every resource the run created is named with (`sigstack conformance
    /// cleanup --run <id>` finds what an interrupted run left).
    pub run_id: String,
    pub target: String,
    pub endpoints: BTreeMap<String, String>,
    pub users: Vec<String>,
    pub capabilities: Capabilities,
    pub tags: Option<String>,
    pub certified: bool,
    pub wall_time: Duration,
    pub scenarios: Vec<ScenarioResult>,
}

impl RunSummary {
    pub fn count(&self, status: Status) -> usize {
        self.scenarios.iter().filter(|s| s.status == status).count()
    }

    /// Whether a certified run needs this scenario: `@required`, or every `@optional:`
    /// condition of it is a capability the target declares (see [`crate::coverage`]).
    pub fn required(&self, result: &ScenarioResult) -> bool {
        coverage::certifies(result, &self.capabilities)
    }

    pub fn required_skipped(&self) -> Vec<&ScenarioResult> {
        self.scenarios.iter().filter(|s| self.required(s) && s.status == Status::Skipped).collect()
    }

    /// The services and capabilities the run did not cover, with how many scenarios each
    /// kept from running.
    pub fn not_covered(&self) -> Vec<coverage::Uncovered> {
        coverage::not_covered(&self.scenarios, &self.capabilities)
    }

    /// No scenario failed, and a certified run skipped no `@required` scenario.
    pub fn succeeded(&self) -> bool {
        self.count(Status::Failed) == 0 && (!self.certified || self.required_skipped().is_empty())
    }

    /// One line: `PASS: 17 scenarios (16 passed, 0 failed, 1 skipped)`, and for a certified
    /// run that skipped `@required` ones, how many.
    pub fn verdict(&self) -> String {
        let mut line = format!(
            "{}: {} scenarios ({} passed, {} failed, {} skipped)",
            if self.succeeded() { "PASS" } else { "FAIL" },
            self.scenarios.len(),
            self.count(Status::Passed),
            self.count(Status::Failed),
            self.count(Status::Skipped),
        );
        let required = self.required_skipped().len();
        if required > 0 {
            let _ = write!(line, "; {required} @required skipped{}", if self.certified { " (not allowed in a certified run)" } else { "" });
        }
        // A certified verdict says what it does not vouch for.
        let uncovered = self.not_covered();
        if self.certified && !uncovered.is_empty() {
            let _ = write!(line, "; not covered: {}", uncovered.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "));
        }
        line
    }
}

fn tag_names(v: &Value) -> Vec<String> {
    v["tags"].as_array().into_iter().flatten().filter_map(|t| t["name"].as_str()).map(|t| t.trim_start_matches('@').to_owned()).collect()
}

/// The results in cucumber.json. A scenario's Background is a separate element with the
/// scenario's name and line; both count. A step that no definition matches is a failure (a
/// suite bug) unless it is the skip step `plan` put there.
pub fn read_cucumber_json(path: &Path) -> Result<Vec<ScenarioResult>, RunError> {
    let bad = |reason: String| RunError::Report { path: path.to_owned(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let features: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let mut out: Vec<ScenarioResult> = Vec::new();
    let mut index: BTreeMap<(String, String, String, u64), usize> = BTreeMap::new();
    for feature in features.as_array().ok_or_else(|| bad("not a JSON array".into()))? {
        let uri = feature["uri"].as_str().unwrap_or_default().to_owned();
        let feature_name = feature["name"].as_str().unwrap_or_default().to_owned();
        for element in feature["elements"].as_array().into_iter().flatten() {
            let name = element["name"].as_str().unwrap_or_default().to_owned();
            let line = element["line"].as_u64().unwrap_or(0);
            let key = (uri.clone(), feature_name.clone(), name.clone(), line);
            let i = *index.entry(key).or_insert_with(|| {
                out.push(ScenarioResult {
                    feature: feature_name.clone(),
                    uri: uri.clone(),
                    scenario: name.clone(),
                    line,
                    id: None,
                    tags: Vec::new(),
                    status: Status::Passed,
                    reason: None,
                });
                out.len() - 1
            });
            let result = &mut out[i];
            if element["type"] == "scenario" {
                result.tags = tag_names(element);
                result.id = result.tags.iter().find_map(|t| t.strip_prefix("id:")).map(str::to_owned);
            }
            let hooks = ["before", "after"].into_iter().flat_map(|k| element[k].as_array().into_iter().flatten());
            let steps = element["steps"].as_array().into_iter().flatten();
            for item in hooks.chain(steps) {
                apply(result, item);
            }
        }
    }
    // Concurrency and @serial decide the order cucumber reports in; the reports follow the files.
    out.sort_by(|a, b| (&a.uri, a.line).cmp(&(&b.uri, b.line)));
    Ok(out)
}

/// Folds one step's or hook's result into the scenario's: a failure wins over a skip, which
/// wins over a pass.
fn apply(result: &mut ScenarioResult, item: &Value) {
    let status = item["result"]["status"].as_str().unwrap_or("passed");
    let step = item["name"].as_str().unwrap_or("hook");
    let (status, reason) = match status {
        "passed" => return,
        "skipped" => match step.strip_prefix(SKIP_PREFIX) {
            Some(reason) => (Status::Skipped, reason.to_owned()),
            None => (Status::Failed, format!("no step definition matches: {}{step}", item["keyword"].as_str().unwrap_or(""))),
        },
        other => {
            let message = item["result"]["error_message"].as_str().unwrap_or(other);
            (Status::Failed, format!("{step}: {message}"))
        }
    };
    let rank = |s: Status| match s {
        Status::Passed => 0,
        Status::Skipped => 1,
        Status::Failed => 2,
    };
    // The first reason of the worst status is the one to show.
    if rank(status) > rank(result.status) {
        result.status = status;
        result.reason = Some(reason);
    }
}

/// Writes report.md and report.html into `dir`.
pub fn write(summary: &RunSummary, dir: &Path) -> Result<(), RunError> {
    for (name, text) in [(REPORT_MD, markdown(summary)), (REPORT_HTML, html(summary))] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| RunError::Report { path, reason: e.to_string() })?;
    }
    Ok(())
}

/// The header facts, as (label, value) rows, shared by both reports.
fn facts(s: &RunSummary) -> Vec<(&'static str, String)> {
    let endpoints = s.endpoints.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>();
    let capabilities = s.capabilities.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
    vec![
        ("Result", s.verdict()),
        ("Suite", format!("sigstack-scenarios {}", s.version)),
        ("Run id", s.run_id.clone()),
        ("Target", s.target.clone()),
        ("Endpoints", if endpoints.is_empty() { "none".into() } else { endpoints.join("\n") }),
        ("Users", if s.users.is_empty() { "none".into() } else { s.users.join(", ") }),
        ("Capabilities", if capabilities.is_empty() { "none declared (all false)".into() } else { capabilities.join(", ") }),
        ("Tag filter", s.tags.clone().unwrap_or_else(|| "none".into())),
        (
            "Certified run",
            if s.certified {
                "yes: a skipped @required scenario fails the run, and so does a skipped scenario whose capabilities the target declares"
                    .into()
            } else {
                "no".into()
            },
        ),
        ("Not covered", {
            let uncovered = s.not_covered();
            if uncovered.is_empty() {
                "nothing: every selected scenario ran".into()
            } else {
                uncovered.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
            }
        }),
        ("Wall time", format!("{:.1} s", s.wall_time.as_secs_f64())),
    ]
}

fn kind(s: &RunSummary, r: &ScenarioResult) -> String {
    if r.required() {
        "required".into()
    } else if s.required(r) {
        let conditions = r.tags.iter().filter(|t| t.starts_with("optional:")).cloned().collect::<Vec<_>>().join(" ");
        format!("required (declared: {conditions})")
    } else {
        r.tags.iter().filter(|t| t.starts_with("optional:")).cloned().collect::<Vec<_>>().join(" ")
    }
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

pub fn markdown(s: &RunSummary) -> String {
    let mut out = String::from("# sigstack conformance report\n\n| | |\n|---|---|\n");
    for (label, value) in facts(s) {
        let _ = writeln!(out, "| {label} | {} |", md_cell(&value));
    }
    out.push_str("\n## Results\n\n| Feature | Scenario | @id | Kind | Result | Reason |\n|---|---|---|---|---|---|\n");
    for r in &s.scenarios {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            md_cell(&r.feature),
            md_cell(&r.scenario),
            r.id.as_deref().unwrap_or("—"),
            md_cell(&kind(s, r)),
            r.status,
            md_cell(r.reason.as_deref().unwrap_or("")),
        );
    }
    out
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn html(s: &RunSummary) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sigstack conformance report</title>\n<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;white-space:pre-wrap}.passed{background:#dfd}.failed{background:#fdd}.skipped{background:#ffd}</style></head><body>\n<h1>sigstack conformance report</h1>\n<table>\n",
    );
    for (label, value) in facts(s) {
        let _ = writeln!(out, "<tr><th>{label}</th><td>{}</td></tr>", esc(&value));
    }
    out.push_str("</table>\n<h2>Results</h2>\n<table>\n<tr><th>Feature</th><th>Scenario</th><th>@id</th><th>Kind</th><th>Result</th><th>Reason</th></tr>\n");
    for r in &s.scenarios {
        let _ = writeln!(
            out,
            "<tr class=\"{status}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td><td>{}</td></tr>",
            esc(&r.feature),
            esc(&r.scenario),
            esc(r.id.as_deref().unwrap_or("—")),
            esc(&kind(s, r)),
            esc(r.reason.as_deref().unwrap_or("")),
            status = r.status,
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cucumber.json with: a Background + scenario that passed, a scenario skipped by the
    /// plan, one whose step has no definition, and one whose `after` hook failed.
    const JSON: &str = r#"[{"uri":"features/f.feature","name":"F","elements":[
      {"type":"background","name":"ok","line":9,"tags":[],"steps":[{"keyword":"Given ","name":"bg","result":{"status":"passed"}}]},
      {"type":"scenario","name":"ok","line":9,"tags":[{"name":"id:a"},{"name":"required"}],"steps":[{"keyword":"When ","name":"x","result":{"status":"passed"}}]},
      {"type":"scenario","name":"plan skip","line":3,"tags":[{"name":"@id:b"},{"name":"@required"}],"steps":[{"keyword":"Given ","name":"[skipped] needs capability compute","result":{"status":"skipped"}}]},
      {"type":"scenario","name":"typo","line":5,"tags":[{"name":"id:c"},{"name":"optional:x"}],"steps":[{"keyword":"When ","name":"nobody knows me","result":{"status":"skipped"}}]},
      {"type":"scenario","name":"hook","line":7,"tags":[{"name":"id:d"}],"after":[{"result":{"status":"failed","error_message":"cleanup broke"}}],"steps":[{"keyword":"When ","name":"x","result":{"status":"passed"}}]}
    ]}]"#;

    fn summary(certified: bool) -> RunSummary {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cucumber.json");
        std::fs::write(&path, JSON).unwrap();
        RunSummary {
            version: "9".into(),
            run_id: "sigstack-20260101-000000-abcd".into(),
            target: "t".into(),
            endpoints: BTreeMap::new(),
            users: vec![],
            capabilities: Capabilities::default(),
            tags: None,
            certified,
            wall_time: Duration::from_secs(1),
            scenarios: read_cucumber_json(&path).unwrap(),
        }
    }

    #[test]
    fn results_fold_backgrounds_hooks_and_skips() {
        let s = summary(false);
        let got: Vec<(&str, Status, Option<&str>)> =
            s.scenarios.iter().map(|r| (r.id.as_deref().unwrap(), r.status, r.reason.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("b", Status::Skipped, Some("needs capability compute")),
                ("c", Status::Failed, Some("no step definition matches: When nobody knows me")),
                ("d", Status::Failed, Some("hook: cleanup broke")),
                ("a", Status::Passed, None),
            ],
            "sorted by line; a skip step the plan did not write is a suite bug, not a skip"
        );
        assert!(!s.succeeded());
        assert_eq!(s.required_skipped().len(), 1);
    }

    #[test]
    fn certified_runs_refuse_required_skips_only() {
        let mut s = summary(false);
        s.scenarios.retain(|r| r.status != Status::Failed);
        assert!(s.succeeded(), "{}", s.verdict());
        s.certified = true;
        assert!(!s.succeeded());
        assert!(s.verdict().contains("; 1 @required skipped (not allowed in a certified run); not covered: "), "{}", s.verdict());
        s.scenarios.retain(|r| !r.required() || r.status != Status::Skipped);
        assert!(s.succeeded());
        // Declaring the capability a skipped scenario needed makes it required.
        let mut declared = summary(true);
        let template = declared.scenarios[0].clone();
        declared.scenarios.retain(|r| r.status != Status::Failed && !r.required());
        declared.scenarios.push(ScenarioResult { tags: vec!["optional:compute".into()], status: Status::Skipped, ..template });
        assert!(declared.succeeded(), "{}", declared.verdict());
        assert!(declared.verdict().ends_with("; not covered: Nova (capability compute: 1 scenario)"), "{}", declared.verdict());
        declared.capabilities.set("compute", true);
        assert!(!declared.succeeded(), "a declared capability is certified: {}", declared.verdict());
    }

    #[test]
    fn reports_escape_what_they_quote() {
        let mut s = summary(false);
        s.scenarios[0].scenario = "a | b <i>".into();
        assert!(markdown(&s).contains("a \\| b <i>"));
        assert!(html(&s).contains("a | b &lt;i&gt;"));
    }
}
