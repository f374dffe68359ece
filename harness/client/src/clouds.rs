//! `clouds.yaml`, found and read as openstacksdk does. One implementation for the conformance
//! suite (`sigstack conformance --cloud`) and the operator tools (`sigstack audit`,
//! `sigstack sign-images`), so both see a cloud the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::session::Credentials;

/// Why a cloud could not be read from clouds.yaml. All of them are the caller's configuration,
/// not the cloud failing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudsError {
    #[error("no clouds.yaml found (searched {})", .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoCloudsYaml { searched: Vec<PathBuf> },
    #[error("cannot read clouds.yaml {path}: {reason}")]
    CloudsYaml { path: PathBuf, reason: String },
    #[error("no cloud '{name}' in {path} (it has: {})", if .known.is_empty() { "none".to_owned() } else { .known.join(", ") })]
    UnknownCloud { name: String, path: PathBuf, known: Vec<String> },
    #[error("cloud '{name}' in {path} has no {field}")]
    IncompleteCloud { name: String, path: PathBuf, field: String },
}

/// Where openstacksdk looks for clouds.yaml, in order: `$OS_CLIENT_CONFIG_FILE`, the working
/// directory, `~/.config/openstack`, `/etc/openstack`. Pure, so the order is unit-tested.
pub fn clouds_yaml_candidates(env_file: Option<PathBuf>, cwd: Option<PathBuf>, home: Option<PathBuf>) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = env_file.into_iter().filter(|p| !p.as_os_str().is_empty()).collect();
    candidates.extend(cwd.map(|d| d.join("clouds.yaml")));
    candidates.extend(home.map(|h| h.join(".config/openstack/clouds.yaml")));
    candidates.push(PathBuf::from("/etc/openstack/clouds.yaml"));
    candidates
}

/// The first existing clouds.yaml of [`clouds_yaml_candidates`] for this process.
pub fn find_clouds_yaml() -> Result<PathBuf, CloudsError> {
    let candidates = clouds_yaml_candidates(
        std::env::var_os("OS_CLIENT_CONFIG_FILE").map(PathBuf::from),
        std::env::current_dir().ok(),
        std::env::var_os("HOME").map(PathBuf::from),
    );
    candidates.iter().find(|p| p.is_file()).cloned().ok_or(CloudsError::NoCloudsYaml { searched: candidates })
}

#[derive(Debug, Deserialize)]
struct CloudsFile {
    #[serde(default)]
    clouds: BTreeMap<String, CloudEntry>,
}

/// One `clouds:` entry; keys sigstack does not use (`identity_api_version`, `verify`, ...)
/// are ignored, as openstacksdk ignores what it does not know.
#[derive(Debug, Deserialize)]
struct CloudEntry {
    auth: Option<Auth>,
    region_name: Option<String>,
    interface: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Auth {
    auth_url: Option<String>,
    username: Option<String>,
    password: Option<String>,
    project_name: Option<String>,
    project_id: Option<String>,
    user_domain_name: Option<String>,
    project_domain_name: Option<String>,
    /// openstacksdk's shorthand for both domain names.
    domain_name: Option<String>,
}

/// A parsed clouds.yaml.
#[derive(Debug)]
pub struct CloudsYaml {
    pub path: PathBuf,
    clouds: BTreeMap<String, CloudEntry>,
}

impl CloudsYaml {
    pub fn load(path: &Path) -> Result<CloudsYaml, CloudsError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| CloudsError::CloudsYaml { path: path.to_owned(), reason: e.to_string() })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<CloudsYaml, CloudsError> {
        let file: CloudsFile =
            serde_yaml_ng::from_str(text).map_err(|e| CloudsError::CloudsYaml { path: path.to_owned(), reason: e.to_string() })?;
        Ok(CloudsYaml { path: path.to_owned(), clouds: file.clouds })
    }

    pub fn names(&self) -> Vec<String> {
        self.clouds.keys().cloned().collect()
    }

    /// The password credentials of cloud `name`.
    pub fn credentials(&self, name: &str) -> Result<Credentials, CloudsError> {
        let entry = self.clouds.get(name).ok_or_else(|| CloudsError::UnknownCloud {
            name: name.to_owned(),
            path: self.path.clone(),
            known: self.names(),
        })?;
        let incomplete =
            |field: &str| CloudsError::IncompleteCloud { name: name.to_owned(), path: self.path.clone(), field: field.to_owned() };
        let auth = entry.auth.as_ref().ok_or_else(|| incomplete("auth"))?;
        let domain = auth.domain_name.clone().unwrap_or_else(|| "Default".into());
        if auth.project_name.is_none() && auth.project_id.is_none() {
            return Err(incomplete("auth.project_name"));
        }
        Ok(Credentials {
            auth_url: auth.auth_url.clone().ok_or_else(|| incomplete("auth.auth_url"))?,
            username: auth.username.clone().ok_or_else(|| incomplete("auth.username"))?,
            // secure.yaml is not merged: the password must be in clouds.yaml itself.
            password: auth.password.clone().ok_or_else(|| incomplete("auth.password"))?,
            user_domain_name: auth.user_domain_name.clone().unwrap_or_else(|| domain.clone()),
            project_name: auth.project_name.clone(),
            project_id: auth.project_id.clone(),
            project_domain_name: auth.project_domain_name.clone().unwrap_or(domain),
            region_name: entry.region_name.clone(),
            interface: entry.interface.clone().unwrap_or_else(|| "public".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_openstacksdk_order() {
        let c = clouds_yaml_candidates(Some("/x/mine.yaml".into()), Some("/work".into()), Some("/home/u".into()));
        let c: Vec<&str> = c.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(c, ["/x/mine.yaml", "/work/clouds.yaml", "/home/u/.config/openstack/clouds.yaml", "/etc/openstack/clouds.yaml"]);
        let c = clouds_yaml_candidates(Some("".into()), None, None);
        assert_eq!(c, [PathBuf::from("/etc/openstack/clouds.yaml")]);
    }

    const CLOUDS: &str = "clouds:\n  full:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: u\n      password: p\n      project_name: proj\n      user_domain_name: UD\n      project_domain_name: PD\n    region_name: R2\n    interface: internal\n    identity_api_version: 3\n  short:\n    auth:\n      auth_url: http://127.0.0.1:5000\n      username: u\n      password: p\n      project_id: abc\n      domain_name: D\n  nopass:\n    auth:\n      auth_url: http://127.0.0.1:5000\n      username: u\n      project_name: p\n";

    #[test]
    fn clouds_yaml_entries_become_credentials() {
        let y = CloudsYaml::parse(Path::new("c.yaml"), CLOUDS).unwrap();
        let full = y.credentials("full").unwrap();
        assert_eq!(
            (full.username.as_str(), full.user_domain_name.as_str(), full.project_domain_name.as_str(), full.interface.as_str()),
            ("u", "UD", "PD", "internal")
        );
        assert_eq!((full.project_name.as_deref(), full.region_name.as_deref()), (Some("proj"), Some("R2")));
        let short = y.credentials("short").unwrap();
        assert_eq!((short.user_domain_name.as_str(), short.project_id.as_deref(), short.interface.as_str()), ("D", Some("abc"), "public"));
    }

    #[test]
    fn unknown_and_incomplete_clouds_are_named() {
        let y = CloudsYaml::parse(Path::new("c.yaml"), CLOUDS).unwrap();
        let e = y.credentials("nope").unwrap_err().to_string();
        assert!(e.contains("'nope'") && e.contains("c.yaml") && e.contains("full, nopass, short"), "{e}");
        let e = y.credentials("nopass").unwrap_err().to_string();
        assert!(e.contains("auth.password"), "{e}");
        assert!(CloudsYaml::parse(Path::new("c.yaml"), "clouds: [1, 2]").is_err());
    }
}
