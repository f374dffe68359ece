//! From the embedded Gherkin to what cucumber runs: parse, expand outlines, apply `--tags`, and
//! turn every scenario the target cannot run into a skipped one that says why.
//!
//! cucumber skips a scenario only when a step has no definition, so a scenario to skip gets a
//! single step `Given [skipped] <reason>` that no definition matches; the reason then shows in
//! the progress output and in cucumber.json. Such scenarios move to a copy of their feature
//! without Background, because a Background runs before any scenario step and may itself need
//! what the target lacks (the Glance Background stores a certificate as "admin").

use std::collections::BTreeSet;
use std::path::PathBuf;

use cucumber::feature::Ext as _;
use cucumber::gherkin::{Feature, GherkinEnv, Rule, Scenario, Step, StepType, tagexpr::TagOperation};
use cucumber::tag::Ext as _;

use crate::RunError;
use crate::config::Capabilities;

/// The users the steps know by name (quoted in the Gherkin: `"demo" stores ...`).
pub const SUITE_USERS: [&str; 4] = ["admin", "demo", "alt_demo", "instance-ha"];

/// Steps that act as a user their text does not quote: a role grant is done by "admin".
const IMPLICIT_USERS: [(&str, &str); 1] = [(" holds the \"", "admin")];

/// The text before the reason in a skip step; reports find reasons by it.
pub const SKIP_PREFIX: &str = "[skipped] ";

/// What the target offers: the suite users it has credentials for, and its capabilities.
#[derive(Debug, Clone, Default)]
pub struct Available {
    pub users: BTreeSet<String>,
    pub capabilities: Capabilities,
}

/// The embedded features, parsed and with their outlines expanded. `path` is
/// `features/<name>` so reports name the file as in the repository.
pub fn embedded_features() -> Result<Vec<Feature>, RunError> {
    crate::FEATURES
        .iter()
        .map(|(name, text)| {
            let path = PathBuf::from("features").join(name);
            let bad = |reason: String| RunError::Feature { name: (*name).to_owned(), reason };
            let mut feature = Feature::parse(text, GherkinEnv::default()).map_err(|e| bad(e.to_string()))?;
            feature.path = Some(path);
            feature.expand_examples().map_err(|e| bad(e.to_string()))
        })
        .collect()
}

/// The tags that apply to a scenario: its feature's, its rule's and its own (examples' tags
/// are already in the scenario after expansion), as cucumber's `--tags` sees them.
fn tags<'a>(feature: &'a Feature, rule: Option<&'a Rule>, scenario: &'a Scenario) -> impl Iterator<Item = &'a String> + Clone {
    feature.tags.iter().chain(rule.into_iter().flat_map(|r| r.tags.iter())).chain(scenario.tags.iter())
}

/// The suite users a scenario acts as, from its steps and the Backgrounds that run before them.
pub fn users_needed(feature: &Feature, rule: Option<&Rule>, scenario: &Scenario) -> BTreeSet<String> {
    let steps = feature
        .background
        .iter()
        .flat_map(|b| b.steps.iter())
        .chain(rule.iter().flat_map(|r| r.background.iter().flat_map(|b| b.steps.iter())))
        .chain(scenario.steps.iter());
    let mut users = BTreeSet::new();
    for step in steps {
        let texts = std::iter::once(step.value.as_str()).chain(step.table.iter().flat_map(|t| t.rows.iter().flatten().map(String::as_str)));
        for text in texts {
            for quoted in text.split('"').skip(1).step_by(2) {
                if SUITE_USERS.contains(&quoted) {
                    users.insert(quoted.to_owned());
                }
            }
        }
        for (marker, user) in IMPLICIT_USERS {
            if step.value.contains(marker) {
                users.insert(user.to_owned());
            }
        }
    }
    users
}

/// Why the target cannot run this scenario, or `None` when it can.
pub fn skip_reason(feature: &Feature, rule: Option<&Rule>, scenario: &Scenario, available: &Available) -> Option<String> {
    let caps = &available.capabilities;
    let mut reasons = Vec::new();
    for tag in tags(feature, rule, scenario) {
        if tag == "simulated" && !caps.truthy("simulated_control") {
            reasons.push("needs the simulated cloud's /_sim/ control API (capability simulated_control)".to_owned());
        } else if let Some(condition) = tag.strip_prefix("optional:") {
            match condition.split_once('=') {
                Some((name, wanted)) if caps.get(name) != Some(wanted) => {
                    reasons.push(format!("needs capability {name} = {wanted} (the target has {})", caps.get(name).unwrap_or("none")))
                }
                // `@simulated` already says why simulated_control is needed.
                None if condition == "simulated_control" && tags(feature, rule, scenario).any(|t| t == "simulated") => {}
                None if !caps.truthy(condition) => reasons.push(format!("needs capability {condition}")),
                _ => {}
            }
        }
    }
    // "admin" counts only when the file also declares the credentials admin ones.
    let admin_ok = caps.truthy("admin_credentials");
    let mut missing = Vec::new();
    for user in users_needed(feature, rule, scenario) {
        if user == "admin" && !admin_ok {
            reasons.push("needs admin credentials (capability admin_credentials)".to_owned());
        } else if !available.users.contains(&user) {
            missing.push(user);
        }
    }
    if !missing.is_empty() {
        reasons.push(format!("needs the user(s) {} (not in the capability file's users)", missing.join(", ")));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// A scenario reduced to one undefined step carrying the reason.
fn skipped(mut scenario: Scenario, reason: &str) -> Scenario {
    let position = scenario.position;
    scenario.steps = vec![Step {
        keyword: "Given ".into(),
        ty: StepType::Given,
        value: format!("{SKIP_PREFIX}{reason}"),
        docstring: None,
        table: None,
        span: scenario.span,
        position,
    }];
    scenario
}

/// What cucumber runs: scenarios selected by `tags`, the ones the target cannot run turned
/// into skipped ones (in a Background-less copy of their feature, right after it).
pub fn prepare(features: Vec<Feature>, filter: Option<&TagOperation>, available: &Available) -> Vec<Feature> {
    let mut out = Vec::new();
    for feature in features {
        let mut runnable = feature.clone();
        let mut skipping = Feature { background: None, ..feature.clone() };
        let split = |scenarios: &[Scenario], rule: Option<&Rule>| {
            let (mut run, mut skip) = (Vec::new(), Vec::new());
            for s in scenarios {
                if filter.is_some_and(|f| !f.eval(tags(&feature, rule, s))) {
                    continue;
                }
                match skip_reason(&feature, rule, s, available) {
                    Some(reason) => skip.push(skipped(s.clone(), &reason)),
                    None => run.push(s.clone()),
                }
            }
            (run, skip)
        };
        (runnable.scenarios, skipping.scenarios) = split(&feature.scenarios, None);
        runnable.rules.clear();
        skipping.rules.clear();
        for rule in &feature.rules {
            let (run, skip) = split(&rule.scenarios, Some(rule));
            if !run.is_empty() {
                runnable.rules.push(Rule { scenarios: run, ..rule.clone() });
            }
            if !skip.is_empty() {
                skipping.rules.push(Rule { scenarios: skip, background: None, ..rule.clone() });
            }
        }
        for f in [runnable, skipping] {
            if !f.scenarios.is_empty() || !f.rules.is_empty() {
                out.push(f);
            }
        }
    }
    out
}

/// `--tags` in cucumber's syntax (`@required and not @simulated`).
pub fn parse_tags(expr: &str) -> Result<TagOperation, RunError> {
    expr.parse::<TagOperation>().map_err(|e| RunError::Tags { expr: expr.to_owned(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEATURE: &str = r#"@f
Feature: F
  Background:
    Given "admin" stored the certificate "x" as secret "s"

  @id:1 @required
  Scenario: needs demo and admin
    When "demo" does a thing

  @id:2 @required @simulated
  Scenario: needs the control API
    When "demo" does a thing

  @id:3 @optional:compute
  Scenario: needs compute
    When "demo" does a thing

  Scenario Outline: profile
    When "<user>" does a thing

    @id:4 @optional:key_type_profile=current
    Examples:
      | user     |
      | alt_demo |

  @id:5
  Scenario: grants a role
    Given "demo" holds the "creator" role in its project
"#;

    fn feature(text: &str) -> Feature {
        Feature::parse(text, GherkinEnv::default()).unwrap().expand_examples().unwrap()
    }

    fn all(users: &[&str], caps: &[(&str, &str)]) -> Available {
        let mut capabilities = Capabilities::default();
        for (k, v) in caps {
            capabilities.set(k, v);
        }
        Available { users: users.iter().map(|u| (*u).to_owned()).collect(), capabilities }
    }

    /// (id, skip reason) of every scenario `prepare` keeps, in order.
    fn outcome(filter: Option<&str>, available: &Available) -> Vec<(String, Option<String>)> {
        let op = filter.map(|f| parse_tags(f).unwrap());
        let mut out = Vec::new();
        for f in prepare(vec![feature(FEATURE)], op.as_ref(), available) {
            for s in &f.scenarios {
                let id = s.tags.iter().find_map(|t| t.strip_prefix("id:")).unwrap_or("?").to_owned();
                let reason = s.steps[0].value.strip_prefix(SKIP_PREFIX).map(str::to_owned);
                assert_eq!(reason.is_some(), f.background.is_none(), "skipped scenarios, and only they, lose the Background");
                out.push((id, reason));
            }
        }
        out
    }

    #[test]
    fn everything_runs_when_everything_is_there() {
        let full = all(
            &SUITE_USERS,
            &[("admin_credentials", "true"), ("simulated_control", "true"), ("compute", "true"), ("key_type_profile", "current")],
        );
        assert!(outcome(None, &full).iter().all(|(_, r)| r.is_none()), "{:?}", outcome(None, &full));
        assert_eq!(outcome(None, &full).len(), 5);
    }

    #[test]
    fn missing_capabilities_and_users_skip_with_a_reason() {
        // A real cloud without a capability file: one user, no capabilities.
        let bare = all(&["demo"], &[]);
        let got = outcome(None, &bare);
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|(_, r)| r.as_deref().is_some_and(|r| r.contains("admin credentials"))), "{got:?}");
        let r = |id: &str| got.iter().find(|(i, _)| i == id).and_then(|(_, r)| r.clone()).unwrap();
        assert!(r("2").contains("simulated_control"));
        assert!(r("3").contains("needs capability compute"));
        assert!(r("4").contains("key_type_profile = current (the target has none)") && r("4").contains("alt_demo"), "{}", r("4"));

        let legacy = all(&SUITE_USERS, &[("admin_credentials", "true"), ("key_type_profile", "legacy"), ("compute", "false")]);
        let got = outcome(None, &legacy);
        let reason = |id: &str| got.iter().find(|(i, _)| i == id).unwrap().1.clone();
        assert_eq!(reason("1"), None);
        assert!(reason("3").unwrap().contains("compute"));
        assert!(reason("4").unwrap().contains("the target has legacy"));
        assert_eq!(reason("5"), None);
    }

    #[test]
    fn implicit_admin_and_admin_credentials_flag() {
        // Mapped admin user, but the file says the credentials are not admin ones.
        let no_admin = all(&SUITE_USERS, &[("admin_credentials", "false")]);
        let f = feature(FEATURE);
        let grant = f.scenarios.iter().find(|s| s.tags.contains(&"id:5".to_owned())).unwrap();
        assert_eq!(users_needed(&f, None, grant), ["admin", "demo"].map(String::from).into());
        assert!(skip_reason(&f, None, grant, &no_admin).unwrap().contains("admin credentials"));
        let f = Feature { background: None, ..f.clone() };
        assert!(skip_reason(&f, None, grant, &no_admin).is_some(), "the role grant needs admin even without the Background");
    }

    #[test]
    fn tag_filter_selects_before_skipping() {
        let full = all(&SUITE_USERS, &[("admin_credentials", "true")]);
        let ids: Vec<String> = outcome(Some("@required and not @simulated"), &full).into_iter().map(|(i, _)| i).collect();
        assert_eq!(ids, ["1"]);
        let ids: Vec<String> = outcome(Some("@id:4 or @f and @id:3"), &full).into_iter().map(|(i, _)| i).collect();
        assert_eq!(ids, ["3", "4"]);
        assert!(outcome(Some("@nothing"), &full).is_empty());
        assert!(parse_tags("@a and and").is_err());
    }

    #[test]
    fn embedded_features_parse_and_have_ids() {
        let features = embedded_features().unwrap();
        assert!(features.len() >= 2);
        for f in &features {
            for s in &f.scenarios {
                assert!(s.tags.iter().any(|t| t.starts_with("id:")), "{}: {} has no @id", f.name, s.name);
                assert!(
                    s.tags.iter().any(|t| t == "required" || t.starts_with("optional:")),
                    "{} is neither required nor optional",
                    s.name
                );
                // A real cloud has no /_sim/ control API, so a scenario needing it cannot be
                // required of a vendor's certified run.
                let all: Vec<&String> = f.tags.iter().chain(&s.tags).collect();
                assert!(
                    !(all.iter().any(|t| *t == "simulated") && all.iter().any(|t| *t == "required")),
                    "{}: {} is @simulated and @required",
                    f.name,
                    s.name
                );
            }
        }
    }
}
