//! What the suite is told about a real cloud: `clouds.yaml` (found as openstacksdk finds it,
//! in [`sigstack_client::clouds`]) and the capability file (`--capabilities`), the suite's
//! counterpart of tempest.conf's feature flags.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::RunError;

// clouds.yaml lives in the client crate, shared with the operator tools (`sigstack audit`,
// `sigstack sign-images`); re-exported so the suite's callers keep their paths.
pub use sigstack_client::clouds::{CloudsError, CloudsYaml, clouds_yaml_candidates, find_clouds_yaml};

/// Capability values, normalised to strings (`true`, `false`, `current`, `qcow2`), so tags
/// compare them one way whatever YAML type the file used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(pub BTreeMap<String, String>);

impl Capabilities {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Set and not `false` or empty: `@optional:<name>` runs.
    pub fn truthy(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !v.is_empty() && v != "false")
    }

    pub fn set(&mut self, name: &str, value: impl ToString) {
        self.0.insert(name.to_owned(), value.to_string());
    }
}

/// `--capabilities FILE`: suite user → clouds.yaml cloud name, and the capabilities.
#[derive(Debug, Default)]
pub struct CapabilityFile {
    pub users: BTreeMap<String, String>,
    pub capabilities: Capabilities,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapabilityFile {
    #[serde(default)]
    users: BTreeMap<String, String>,
    #[serde(default)]
    capabilities: BTreeMap<String, serde_yaml_ng::Value>,
}

impl CapabilityFile {
    pub fn load(path: &Path) -> Result<CapabilityFile, RunError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| RunError::UnreadableCapabilities { path: path.to_owned(), reason: e.to_string() })?;
        Self::parse(&text).map_err(|reason| RunError::Capabilities { path: path.to_owned(), reason })
    }

    pub fn parse(text: &str) -> Result<CapabilityFile, String> {
        // An empty file is a valid "nothing declared"; serde_yaml_ng reads it as null.
        if text.trim().is_empty() {
            return Ok(CapabilityFile::default());
        }
        let raw: RawCapabilityFile = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let mut capabilities = Capabilities::default();
        for (name, value) in raw.capabilities {
            let value = match value {
                serde_yaml_ng::Value::Bool(b) => b.to_string(),
                serde_yaml_ng::Value::String(s) => s,
                serde_yaml_ng::Value::Number(n) => n.to_string(),
                // `name:` with no value declares nothing.
                serde_yaml_ng::Value::Null => continue,
                _ => return Err(format!("capability '{name}' must be a boolean, string or number")),
            };
            capabilities.0.insert(name, value);
        }
        Ok(CapabilityFile { users: raw.users, capabilities })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_values_normalise_to_strings() {
        let f = CapabilityFile::parse("users:\n  admin: a\ncapabilities:\n  compute: true\n  volume: false\n  key_type_profile: current\n  n: 3\n  unset:\n").unwrap();
        assert_eq!(f.users.get("admin").map(String::as_str), Some("a"));
        assert!(f.capabilities.truthy("compute") && !f.capabilities.truthy("volume") && !f.capabilities.truthy("unset"));
        assert_eq!((f.capabilities.get("key_type_profile"), f.capabilities.get("n")), (Some("current"), Some("3")));
        assert!(CapabilityFile::parse("").unwrap().users.is_empty());
    }

    #[test]
    fn malformed_capability_files_are_refused() {
        assert!(CapabilityFile::parse("capabilitiez:\n  compute: true\n").unwrap_err().contains("capabilitiez"));
        assert!(CapabilityFile::parse("capabilities:\n  compute: [1]\n").unwrap_err().contains("compute"));
        assert!(CapabilityFile::parse("users: [admin]\n").is_err());
        assert!(CapabilityFile::parse(": : :").is_err());
    }
}
