//! What a run certifies, and what it leaves out. A capability the target declares is a
//! capability it is certified on: every scenario whose `@optional:` conditions the target's
//! capabilities all meet counts as `@required` in a certified run (a cloud that declares
//! `compute` must pass the Nova scenarios it can run). Every condition the target does not
//! meet is named, with the service it stands for and how many scenarios it kept from running,
//! in the summary, the verdict line of a certified run, the reports and junit.xml.

use std::collections::BTreeMap;

use crate::config::Capabilities;
use crate::report::{ScenarioResult, Status};

/// Whether `@optional:<condition>` holds for these capabilities: `name` truthy, or
/// `name=value` equal.
pub fn condition_met(condition: &str, capabilities: &Capabilities) -> bool {
    match condition.split_once('=') {
        Some((name, wanted)) => capabilities.get(name) == Some(wanted),
        None => capabilities.truthy(condition),
    }
}

/// The target's `@optional:` conditions a scenario needs and the target does not meet (and
/// `simulated_control` for a `@simulated` scenario on a target without it).
pub fn unmet(tags: &[String], capabilities: &Capabilities) -> Vec<String> {
    let mut out: Vec<String> =
        tags.iter().filter_map(|t| t.strip_prefix("optional:")).filter(|c| !condition_met(c, capabilities)).map(str::to_owned).collect();
    if tags.iter().any(|t| t == "simulated") && !capabilities.truthy("simulated_control") && !out.iter().any(|c| c == "simulated_control") {
        out.push("simulated_control".into());
    }
    out
}

/// A certified run needs the scenario: `@required`, or not `@simulated` with every
/// `@optional:` condition met by what the target declares.
pub fn certifies(result: &ScenarioResult, capabilities: &Capabilities) -> bool {
    if result.required() {
        return true;
    }
    let optional = result.tags.iter().any(|t| t.starts_with("optional:"));
    optional && !result.tags.iter().any(|t| t == "simulated") && unmet(&result.tags, capabilities).is_empty()
}

/// What a condition stands for, for people reading the verdict.
fn meaning(condition: &str) -> Option<&'static str> {
    Some(match condition {
        "compute" => "Nova",
        "volume" => "Cinder",
        "simulated_control" => "the simulator's /_sim/ control API",
        "admin_credentials" => "admin credentials",
        "verify_glance_signatures" | "verify_glance_signatures=true" => "Nova signature verification",
        "verify_glance_signatures=false" => "Nova without signature verification",
        "certificate_validation" | "certificate_validation=true" => "Nova certificate validation",
        "certificate_validation=false" => "Nova without certificate validation",
        "cinder_verification" => "Cinder signature verification",
        "cached_images_verified=false" => "Nova's image cache booting unverified (upstream's limitation)",
        "cached_images_verified" | "cached_images_verified=true" => "Nova verifying cached images",
        "baseline_images" => "MOS pre-built images",
        "key_type_profile=legacy" => "binary-curve (SECT) key types",
        "key_type_profile=current" => "cryptography >= 47 key types",
        "default_trusted_certificates=false" => "Nova without default trusted certificates",
        _ => return None,
    })
}

/// One thing not covered: the condition, what it stands for, and how many scenarios it kept
/// from running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncovered {
    pub condition: String,
    pub scenarios: usize,
}

impl std::fmt::Display for Uncovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = if self.scenarios == 1 { "" } else { "s" };
        // Users the target lacks, and skip reasons of no condition, read as they are.
        if self.condition.starts_with("user ") || self.condition.contains(' ') {
            return write!(f, "{} ({} scenario{plural})", self.condition, self.scenarios);
        }
        let what = match self.condition.split_once('=') {
            Some((name, value)) => format!("capability {name} = {value}"),
            None => format!("capability {}", self.condition),
        };
        match meaning(&self.condition) {
            Some(meaning) => write!(f, "{meaning} ({what}: {} scenario{plural})", self.scenarios),
            None => write!(f, "{what} ({} scenario{plural})", self.scenarios),
        }
    }
}

/// Every condition that kept a skipped scenario from running, most scenarios first.
pub fn not_covered(results: &[ScenarioResult], capabilities: &Capabilities) -> Vec<Uncovered> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in results.iter().filter(|r| r.status == Status::Skipped) {
        let mut conditions = unmet(&r.tags, capabilities);
        // Users the target lacks are in the plan's reason only.
        if let Some(users) = r.reason.as_deref().and_then(|reason| reason.split("needs the user(s) ").nth(1)) {
            let users = users.split(" (").next().unwrap_or_default();
            conditions.extend(users.split(", ").map(|u| format!("user {u}")));
        }
        if conditions.is_empty()
            && let Some(reason) = &r.reason
        {
            conditions.push(reason.clone());
        }
        for c in conditions {
            *counts.entry(c).or_default() += 1;
        }
    }
    let mut out: Vec<Uncovered> = counts.into_iter().map(|(condition, scenarios)| Uncovered { condition, scenarios }).collect();
    out.sort_by(|a, b| b.scenarios.cmp(&a.scenarios).then(a.condition.cmp(&b.condition)));
    out
}

/// junit.xml as cucumber wrote it, with the run's coverage as `<properties>` of its first
/// test suite (`not-covered`, one property per condition; `certified-capabilities`), so CI
/// systems that read JUnit show what the verdict does not cover.
pub fn annotate_junit(xml: &str, uncovered: &[Uncovered], declared: &Capabilities) -> String {
    let Some(start) = xml.find("<testsuite ") else { return xml.to_owned() };
    let Some(end) = xml[start..].find('>').map(|i| start + i) else { return xml.to_owned() };
    let self_closing = xml[..end].ends_with('/');
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let mut properties = String::from("<properties>");
    let declared: Vec<String> = declared.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
    properties.push_str(&format!("<property name=\"declared-capabilities\" value=\"{}\"/>", escape(&declared.join(", "))));
    for u in uncovered {
        properties.push_str(&format!("<property name=\"not-covered\" value=\"{}\"/>", escape(&u.to_string())));
    }
    properties.push_str("</properties>");
    if self_closing {
        format!("{}>{properties}</testsuite>{}", &xml[..end - 1], &xml[end + 1..])
    } else {
        format!("{}{properties}{}", &xml[..=end], &xml[end + 1..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(pairs: &[(&str, &str)]) -> Capabilities {
        Capabilities(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    fn result(tags: &[&str], status: Status, reason: Option<&str>) -> ScenarioResult {
        ScenarioResult {
            feature: "F".into(),
            uri: "features/f.feature".into(),
            scenario: "s".into(),
            line: 1,
            id: None,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            status,
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn a_declared_capability_makes_its_scenarios_required() {
        let nova = result(&["optional:compute", "optional:verify_glance_signatures=true"], Status::Skipped, None);
        assert!(!certifies(&nova, &caps(&[])));
        assert!(!certifies(&nova, &caps(&[("compute", "true"), ("verify_glance_signatures", "false")])));
        assert!(certifies(&nova, &caps(&[("compute", "true"), ("verify_glance_signatures", "true")])));
        let simulated = result(&["optional:compute", "simulated"], Status::Skipped, None);
        assert!(!certifies(&simulated, &caps(&[("compute", "true"), ("simulated_control", "true")])), "never required of a vendor");
        assert!(certifies(&result(&["required"], Status::Passed, None), &caps(&[])));
        assert!(!certifies(&result(&[], Status::Passed, None), &caps(&[])), "neither required nor optional");
    }

    #[test]
    fn what_is_not_covered_is_named_and_counted() {
        let declared = caps(&[("compute", "true"), ("verify_glance_signatures", "false")]);
        let results = vec![
            result(&["optional:volume"], Status::Skipped, Some("needs capability volume")),
            result(&["optional:volume", "optional:cinder_verification"], Status::Skipped, Some("needs capability volume")),
            result(&["optional:compute", "optional:verify_glance_signatures=true"], Status::Skipped, Some("x")),
            result(&["optional:compute", "simulated"], Status::Skipped, Some("y")),
            result(
                &["optional:compute"],
                Status::Skipped,
                Some("needs the user(s) alt_demo, instance-ha (not in the capability file's users)"),
            ),
            result(&["optional:volume"], Status::Passed, None),
        ];
        let text: Vec<String> = not_covered(&results, &declared).iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "Cinder (capability volume: 2 scenarios)",
                "Cinder signature verification (capability cinder_verification: 1 scenario)",
                "the simulator's /_sim/ control API (capability simulated_control: 1 scenario)",
                "user alt_demo (1 scenario)",
                "user instance-ha (1 scenario)",
                "Nova signature verification (capability verify_glance_signatures = true: 1 scenario)",
            ]
        );
    }

    #[test]
    fn junit_gets_the_coverage_as_properties() {
        let uncovered = [Uncovered { condition: "compute".into(), scenarios: 3 }];
        let declared = caps(&[("volume", "true")]);
        let xml = "<?xml version=\"1.0\"?><testsuites><testsuite name=\"F\" tests=\"1\"><testcase name=\"a\"/></testsuite></testsuites>";
        assert_eq!(
            annotate_junit(xml, &uncovered, &declared),
            "<?xml version=\"1.0\"?><testsuites><testsuite name=\"F\" tests=\"1\"><properties><property name=\"declared-capabilities\" value=\"volume=true\"/><property name=\"not-covered\" value=\"Nova (capability compute: 3 scenarios)\"/></properties><testcase name=\"a\"/></testsuite></testsuites>"
        );
        let empty = "<testsuites><testsuite name=\"F\" tests=\"0\"/></testsuites>";
        assert!(annotate_junit(empty, &uncovered, &declared).starts_with("<testsuites><testsuite name=\"F\" tests=\"0\"><properties>"));
    }
}
