//! The deployment's Nova section: nova.conf's options, Nova's policy overrides and which Nova
//! release the compute API speaks as (`max_microversion`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::microversion::Microversion;

/// The compute API's newest microversion in Nova 34.0.0 (2026.2): `_MAX_API_VERSION`.
pub const NOVA_34_MAX_MICROVERSION: Microversion = Microversion(2, 104);
/// Its oldest, 2.1 (every release since Liberty).
pub const NOVA_MIN_MICROVERSION: Microversion = Microversion(2, 1);

/// nova.conf and nova's policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NovaOptions {
    /// `[glance]`.
    #[serde(default)]
    pub glance: NovaGlanceOptions,
    /// Policy overrides, rule name -> check string (`"@"` allow, `"!"` deny, `"role:admin"`,
    /// `"rule:project_member_or_admin"`, `"role:a or role:b"`). Unlisted rules keep their
    /// defaults.
    #[serde(default)]
    pub policy: BTreeMap<String, String>,
    /// `[scheduler] max_attempts`: hosts tried for one build (a reschedule per failure).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The newest compute microversion, as a quoted `"X.Y"`: which Nova release the API
    /// speaks as. `"2.104"` (the default) is Nova 34.0.0 (2026.2); an older release's
    /// maximum simulates it, e.g. `"2.96"` for Nova 30 (2024.2 Dalmatian): the version
    /// documents, `latest`, and the 406 for anything newer follow it, and the features of
    /// later microversions are out of reach. Between 2.1 and 2.104.
    #[serde(default = "default_max_microversion", deserialize_with = "microversion_text")]
    pub max_microversion: String,
}

fn default_max_attempts() -> u32 {
    3
}

fn default_max_microversion() -> String {
    NOVA_34_MAX_MICROVERSION.to_string()
}

/// `max_microversion` as text only: an unquoted YAML `2.100` is the float 2.1, so a number is
/// refused with a hint instead of being read as another version.
fn microversion_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Quoted(String),
        Number(f64),
    }
    match Text::deserialize(d)? {
        Text::Quoted(text) => Ok(text),
        Text::Number(n) => Err(serde::de::Error::custom(format!(
            "nova.max_microversion must be a quoted string such as \"2.96\", not the number {n} (YAML reads 2.100 as 2.1)"
        ))),
    }
}

impl Default for NovaOptions {
    fn default() -> Self {
        NovaOptions {
            glance: NovaGlanceOptions::default(),
            policy: BTreeMap::new(),
            max_attempts: default_max_attempts(),
            max_microversion: default_max_microversion(),
        }
    }
}

impl NovaOptions {
    /// The checked [`NovaOptions::max_microversion`] (Nova 34's maximum if it were invalid,
    /// which [`NovaOptions::check`] keeps out of a loaded deployment).
    pub fn max_microversion(&self) -> Microversion {
        parse_max_microversion(&self.max_microversion).unwrap_or(NOVA_34_MAX_MICROVERSION)
    }

    /// Rules serde cannot express.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("nova.max_attempts must be at least 1".into());
        }
        for rule in self.policy.keys() {
            if !rule.starts_with("os_compute_api:") {
                return Err(format!("nova.policy: '{rule}' is not a compute API policy rule"));
            }
        }
        parse_max_microversion(&self.max_microversion).map(|_| ())
    }
}

fn parse_max_microversion(text: &str) -> Result<Microversion, String> {
    let version =
        Microversion::parse(text).ok_or_else(|| format!("nova.max_microversion '{text}' is not a microversion (X.Y, such as \"2.96\")"))?;
    if !(NOVA_MIN_MICROVERSION..=NOVA_34_MAX_MICROVERSION).contains(&version) {
        return Err(format!(
            "nova.max_microversion must be between {NOVA_MIN_MICROVERSION} and {NOVA_34_MAX_MICROVERSION} (Nova 34.0.0), got '{text}'"
        ));
    }
    Ok(version)
}

/// nova.conf `[glance]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NovaGlanceOptions {
    /// Unset: follows the MOS switch, else upstream's default (False).
    #[serde(default)]
    pub verify_glance_signatures: Option<bool>,
    /// Deprecated for removal since Nova 16.0.0 and still read by Nova 34: when on, the
    /// simulated Nova logs oslo.config's deprecation warning once at start.
    #[serde(default)]
    pub enable_certificate_validation: bool,
    #[serde(default)]
    pub default_trusted_certificate_ids: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::super::{Deployment, DeploymentState, SHIPPED};
    use super::*;
    use serde_json::json;

    #[test]
    fn max_microversion_defaults_to_nova_34_and_can_be_lowered() {
        for (name, _) in SHIPPED {
            let d = Deployment::shipped(name).unwrap();
            assert_eq!((d.nova.max_microversion.as_str(), d.nova.max_microversion()), ("2.104", Microversion(2, 104)), "{name}");
        }
        let d = Deployment::from_yaml("x", "nova: {max_microversion: \"2.96\"}").unwrap();
        assert_eq!(d.nova.max_microversion(), Microversion(2, 96));
        assert_eq!(Deployment::from_yaml("x", "nova: {max_microversion: '2.1'}").unwrap().nova.max_microversion(), Microversion(2, 1));
        let state = DeploymentState::new(Deployment::default());
        assert_eq!(
            state.merge_patch(&json!({"nova": {"max_microversion": "2.100"}})).unwrap().nova.max_microversion(),
            Microversion(2, 100)
        );
        state.restore();
        assert_eq!(state.get().nova.max_microversion(), Microversion(2, 104));
    }

    #[test]
    fn max_microversion_errors_name_the_key() {
        let refused = |yaml: &str| Deployment::from_yaml("x", yaml).unwrap_err().to_string();
        assert_eq!(
            refused("nova: {max_microversion: \"2.105\"}"),
            "invalid deployment x: nova.max_microversion must be between 2.1 and 2.104 (Nova 34.0.0), got '2.105'"
        );
        assert_eq!(
            refused("nova: {max_microversion: \"2.0\"}"),
            "invalid deployment x: nova.max_microversion must be between 2.1 and 2.104 (Nova 34.0.0), got '2.0'"
        );
        assert_eq!(
            refused("nova: {max_microversion: \"3.1\"}"),
            "invalid deployment x: nova.max_microversion must be between 2.1 and 2.104 (Nova 34.0.0), got '3.1'"
        );
        for bad in ["latest", "2.x", "2.01", "", " 2.96"] {
            assert_eq!(
                refused(&format!("nova: {{max_microversion: \"{bad}\"}}")),
                format!("invalid deployment x: nova.max_microversion '{bad}' is not a microversion (X.Y, such as \"2.96\")")
            );
        }
        let e = refused("nova: {max_microversion: 2.100}");
        assert!(e.contains("nova.max_microversion must be a quoted string such as \"2.96\", not the number 2.1"), "{e}");
        let state = DeploymentState::new(Deployment::default());
        let e = state.merge_patch(&json!({"nova": {"max_microversion": "2.999"}})).unwrap_err();
        assert!(e.contains("nova.max_microversion must be between 2.1 and 2.104"), "{e}");
        assert_eq!(state.get().nova.max_microversion, "2.104", "a refused patch changes nothing");
    }
}
