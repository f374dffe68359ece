//! Where openstacksdk looks for clouds.yaml and secure.yaml, and the process environment it
//! reads, as values so that every rule is unit-tested without touching the real ones.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::CloudsError;

/// Environment variables (the process's, or a test's).
pub type Environment = BTreeMap<String, String>;

/// The places searched: `$OS_CLIENT_CONFIG_FILE` / `$OS_CLIENT_SECURE_FILE` first, then the
/// working directory, `~/.config/openstack`, `/etc/openstack`; `.yaml`, `.yml`, `.json`.
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    pub clouds_file: Option<PathBuf>,
    pub secure_file: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

const SUFFIXES: [&str; 3] = ["yaml", "yml", "json"];

impl SearchPath {
    pub fn from_process() -> SearchPath {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        SearchPath {
            clouds_file: var("OS_CLIENT_CONFIG_FILE"),
            secure_file: var("OS_CLIENT_SECURE_FILE"),
            cwd: std::env::current_dir().ok(),
            home: var("HOME"),
        }
    }

    fn candidates(&self, stem: &str, first: Option<&PathBuf>) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self.cwd.iter().cloned().collect();
        dirs.extend(self.home.as_ref().map(|h| h.join(".config/openstack")));
        dirs.push(PathBuf::from("/etc/openstack"));
        let mut out: Vec<PathBuf> = first.cloned().into_iter().collect();
        for dir in dirs {
            out.extend(SUFFIXES.iter().map(|s| dir.join(format!("{stem}.{s}"))));
        }
        out
    }

    pub fn clouds_candidates(&self) -> Vec<PathBuf> {
        self.candidates("clouds", self.clouds_file.as_ref())
    }

    /// The first existing clouds.yaml.
    pub fn clouds_yaml(&self) -> Result<PathBuf, CloudsError> {
        let candidates = self.clouds_candidates();
        candidates.iter().find(|p| p.is_file()).cloned().ok_or(CloudsError::NoCloudsYaml { searched: candidates })
    }

    /// The first existing secure.yaml, if any.
    pub fn secure_yaml(&self) -> Option<PathBuf> {
        self.candidates("secure", self.secure_file.as_ref()).into_iter().find(|p| p.is_file())
    }

    /// `~/x` as python's `os.path.expanduser`; anything else as given.
    pub fn expand_user(&self, path: &str) -> PathBuf {
        match (path.strip_prefix("~/"), &self.home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ if path == "~" => self.home.clone().unwrap_or_else(|| PathBuf::from(path)),
            _ => PathBuf::from(path),
        }
    }
}

/// Where openstacksdk looks for clouds.yaml, in order (`.yaml` first in each directory).
pub fn clouds_yaml_candidates(env_file: Option<PathBuf>, cwd: Option<PathBuf>, home: Option<PathBuf>) -> Vec<PathBuf> {
    SearchPath { clouds_file: env_file.filter(|p| !p.as_os_str().is_empty()), secure_file: None, cwd, home }.clouds_candidates()
}

/// The first existing clouds.yaml for this process.
pub fn find_clouds_yaml() -> Result<PathBuf, CloudsError> {
    SearchPath::from_process().clouds_yaml()
}

/// The process environment.
pub fn process_environment() -> Environment {
    std::env::vars().collect()
}
