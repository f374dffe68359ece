//! Which cloud, and how to reach it, found as the OpenStack clients find it (openstacksdk's
//! `config/loader.py`): `clouds.yaml` with `secure.yaml` merged over it, or the `OS_*`
//! variables of an openrc file when no cloud is named. One implementation for the
//! conformance suite and the operator tools, so every command sees a cloud the same way.
//!
//! The order, as openstacksdk: a cloud named by `--cloud` or `$OS_CLOUD` comes from
//! clouds.yaml; otherwise the `envvars` cloud made of the `OS_*` variables; otherwise the only
//! cloud of clouds.yaml. `OS_CACERT`, `OS_CERT`, `OS_KEY` and `OS_INSECURE` also apply to a
//! named cloud, as the `openstack` CLI's `--os-cacert` ... defaults do. Paths (`cacert`,
//! `cert`, `key`) get `~` expanded and are otherwise used as given, as python-requests does
//! (relative to the working directory).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use crate::auth::{AuthType, Credentials};
use crate::session::service_type_aliases;
use crate::tls::TlsOptions;

mod search;
pub use search::{Environment, SearchPath, clouds_yaml_candidates, find_clouds_yaml, process_environment};

/// Why a cloud could not be resolved. All of them are the caller's configuration, not the
/// cloud failing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudsError {
    #[error("no clouds.yaml found (searched {})", .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoCloudsYaml { searched: Vec<PathBuf> },
    #[error("cannot read {path}: {reason}")]
    CloudsYaml { path: PathBuf, reason: String },
    #[error("no cloud '{name}' in {path} (it has: {})", if .known.is_empty() { "none".to_owned() } else { .known.join(", ") })]
    UnknownCloud { name: String, path: PathBuf, known: Vec<String> },
    #[error("cloud '{name}' in {source_name} has no {field}")]
    IncompleteCloud { name: String, source_name: String, field: String },
    #[error("cloud '{name}' in {source_name}: {key}: {reason}")]
    InvalidOption { name: String, source_name: String, key: String, reason: String },
    #[error(
        "no cloud given: pass --cloud NAME, set OS_CLOUD, or source an openrc file (OS_AUTH_URL, OS_USERNAME, ...){}",
        .searched.as_ref().map(|s| format!("; {s}")).unwrap_or_default()
    )]
    NoCloud { searched: Option<String> },
}

/// Where a cloud came from, for messages: a file, or the environment.
fn source_of_env() -> String {
    "the environment (OS_* variables)".into()
}

/// A parsed clouds.yaml, with secure.yaml's entries merged over its own.
#[derive(Debug)]
pub struct CloudsYaml {
    pub path: PathBuf,
    pub secure_path: Option<PathBuf>,
    clouds: BTreeMap<String, Mapping>,
}

fn read_yaml(path: &Path) -> Result<String, CloudsError> {
    std::fs::read_to_string(path).map_err(|e| CloudsError::CloudsYaml { path: path.to_owned(), reason: e.to_string() })
}

fn parse_clouds(path: &Path, text: &str) -> Result<BTreeMap<String, Mapping>, CloudsError> {
    let invalid = |reason: String| CloudsError::CloudsYaml { path: path.to_owned(), reason };
    let document: Value = serde_yaml_ng::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let clouds = match document.get("clouds") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Mapping(m)) => m,
        Some(_) => return Err(invalid("'clouds' is not a mapping of cloud names".into())),
    };
    clouds
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().ok_or_else(|| invalid("a cloud name is not a string".into()))?.to_owned();
            match v {
                Value::Mapping(m) => Ok((name, m.clone())),
                Value::Null => Ok((name, Mapping::new())),
                _ => Err(invalid(format!("cloud '{name}' is not a mapping"))),
            }
        })
        .collect()
}

/// openstacksdk's `merge_clouds`: mappings merge key by key, anything else is replaced.
fn merge(base: &mut Mapping, over: &Mapping) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(Value::Mapping(b)), Value::Mapping(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

impl CloudsYaml {
    /// Reads `path`, merging the secure.yaml found on openstacksdk's search path.
    pub fn load(path: &Path) -> Result<CloudsYaml, CloudsError> {
        let secure = SearchPath::from_process().secure_yaml();
        Self::load_with_secure(path, secure.as_deref())
    }

    pub fn load_with_secure(path: &Path, secure: Option<&Path>) -> Result<CloudsYaml, CloudsError> {
        let text = read_yaml(path)?;
        let secure_text = secure.map(|s| read_yaml(s).map(|t| (s, t))).transpose()?;
        Self::parse_with_secure(path, &text, secure_text.as_ref().map(|(p, t)| (*p, t.as_str())))
    }

    pub fn parse(path: &Path, text: &str) -> Result<CloudsYaml, CloudsError> {
        Self::parse_with_secure(path, text, None)
    }

    pub fn parse_with_secure(path: &Path, text: &str, secure: Option<(&Path, &str)>) -> Result<CloudsYaml, CloudsError> {
        let mut clouds = parse_clouds(path, text)?;
        if let Some((secure_path, secure_text)) = secure {
            for (name, entry) in parse_clouds(secure_path, secure_text)? {
                merge(clouds.entry(name).or_default(), &entry);
            }
        }
        Ok(CloudsYaml { path: path.to_owned(), secure_path: secure.map(|(p, _)| p.to_owned()), clouds })
    }

    pub fn names(&self) -> Vec<String> {
        self.clouds.keys().cloned().collect()
    }

    /// How to reach cloud `name`.
    pub fn credentials(&self, name: &str) -> Result<Credentials, CloudsError> {
        let entry = self.clouds.get(name).ok_or_else(|| CloudsError::UnknownCloud {
            name: name.to_owned(),
            path: self.path.clone(),
            known: self.names(),
        })?;
        CloudEntry { name, source: self.path.display().to_string(), entry }.credentials()
    }
}

/// The `envvars` cloud: each `OS_X_Y` variable becomes key `x_y`, as openstacksdk's
/// `_get_os_environ`; `None` when only selectors (`OS_CLOUD`, `OS_REGION_NAME`, the config
/// file variables) are set.
pub fn environment_cloud(env: &Environment) -> Option<Mapping> {
    const SELECTORS: [&str; 5] = ["OS_CLOUD", "OS_REGION_NAME", "OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD_NAME"];
    let keys: Vec<&String> =
        env.keys().filter(|k| k.starts_with("OS_") && !["OS_TEST", "OS_STD", "OS_LOG"].iter().any(|p| k.starts_with(p))).collect();
    if keys.iter().all(|k| SELECTORS.contains(&k.as_str())) {
        return None;
    }
    let mut cloud = Mapping::new();
    for k in keys {
        cloud.insert(Value::String(k[3..].to_lowercase()), Value::String(env[k].clone()));
    }
    Some(cloud)
}

/// A resolved cloud: its name, where it came from, and how to reach it.
#[derive(Debug, Clone)]
pub struct ResolvedCloud {
    pub name: String,
    pub source: String,
    pub credentials: Credentials,
}

/// The cloud a command works on: `name` (or `$OS_CLOUD`) from clouds.yaml (`clouds_yaml`, or
/// the one openstacksdk would find), else the `OS_*` variables, else clouds.yaml's only cloud.
pub fn resolve(
    name: Option<&str>,
    clouds_yaml: Option<&Path>,
    env: &Environment,
    search: &SearchPath,
) -> Result<ResolvedCloud, CloudsError> {
    let named = name.filter(|n| !n.is_empty()).map(str::to_owned).or_else(|| env.get("OS_CLOUD").filter(|n| !n.is_empty()).cloned());
    let load = |path: Option<&Path>| -> Result<CloudsYaml, CloudsError> {
        let path = match path {
            Some(p) => p.to_owned(),
            None => search.clouds_yaml()?,
        };
        CloudsYaml::load_with_secure(&path, search.secure_yaml().as_deref())
    };
    let env_name = env.get("OS_CLOUD_NAME").cloned().unwrap_or_else(|| "envvars".into());
    let (name, source, mut credentials) = match named {
        // The environment's cloud by its name, as openstacksdk lists it beside clouds.yaml's.
        Some(name) if name == env_name && environment_cloud(env).is_some() => {
            let entry = environment_cloud(env).unwrap_or_default();
            let credentials = CloudEntry { name: &name, source: source_of_env(), entry: &entry }.credentials()?;
            (name, source_of_env(), credentials)
        }
        Some(name) => {
            let yaml = load(clouds_yaml)?;
            let credentials = yaml.credentials(&name)?;
            (name, yaml.path.display().to_string(), credentials)
        }
        None => match environment_cloud(env) {
            Some(entry) => {
                let name = env_name;
                let credentials = CloudEntry { name: &name, source: source_of_env(), entry: &entry }.credentials()?;
                (name, source_of_env(), credentials)
            }
            None => {
                let yaml = load(clouds_yaml).map_err(|e| CloudsError::NoCloud { searched: Some(e.to_string()) })?;
                match yaml.names().as_slice() {
                    [only] => {
                        let credentials = yaml.credentials(only)?;
                        (only.clone(), yaml.path.display().to_string(), credentials)
                    }
                    _ => return Err(CloudsError::NoCloud { searched: None }),
                }
            }
        },
    };
    apply_tls_environment(&mut credentials.tls, env, search);
    Ok(ResolvedCloud { name, source, credentials })
}

/// `OS_CACERT`, `OS_CERT`, `OS_KEY`, `OS_INSECURE` over a named cloud's settings.
fn apply_tls_environment(tls: &mut TlsOptions, env: &Environment, search: &SearchPath) {
    let path = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(|v| search.expand_user(v));
    if let Some(p) = path("OS_CACERT") {
        tls.cacert = Some(p);
    }
    if let Some(p) = path("OS_CERT") {
        tls.cert = Some(p);
    }
    if let Some(p) = path("OS_KEY") {
        tls.key = Some(p);
    }
    if env.get("OS_INSECURE").is_some_and(|v| truthy(v)) {
        tls.insecure = true;
    }
}

fn truthy(value: &str) -> bool {
    value.eq_ignore_ascii_case("true") || value == "1" || value.eq_ignore_ascii_case("yes")
}

/// One cloud's settings (a clouds.yaml entry, or the environment's), read into credentials.
struct CloudEntry<'a> {
    name: &'a str,
    source: String,
    entry: &'a Mapping,
}

/// Auth options openstacksdk moves from the top level of a cloud into `auth` (as the
/// environment gives them: `OS_USERNAME` becomes a top-level `username`).
const AUTH_KEYS: [&str; 18] = [
    "auth_url",
    "username",
    "password",
    "user_id",
    "user_domain_name",
    "user_domain_id",
    "project_name",
    "project_id",
    "tenant_name",
    "tenant_id",
    "project_domain_name",
    "project_domain_id",
    "domain_name",
    "domain_id",
    "application_credential_id",
    "application_credential_name",
    "application_credential_secret",
    "token",
];

impl CloudEntry<'_> {
    fn invalid(&self, key: &str, reason: impl Into<String>) -> CloudsError {
        CloudsError::InvalidOption {
            name: self.name.to_owned(),
            source_name: self.source.clone(),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    /// A scalar option as text (numbers and booleans as YAML writes them).
    fn scalar(&self, value: Option<&Value>, key: &str) -> Result<Option<String>, CloudsError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(self.invalid(key, "expected a single value")),
        }
    }

    fn top(&self, key: &str) -> Result<Option<String>, CloudsError> {
        self.scalar(self.entry.get(key), key)
    }

    /// An auth option: under `auth:`, else at the top level.
    fn auth(&self, key: &str) -> Result<Option<String>, CloudsError> {
        let auth = match self.entry.get("auth") {
            None | Some(Value::Null) => None,
            Some(Value::Mapping(m)) => Some(m),
            Some(_) => return Err(self.invalid("auth", "expected a mapping of auth options")),
        };
        match auth.and_then(|a| a.get(key)) {
            Some(v) => self.scalar(Some(v), &format!("auth.{key}")),
            None if AUTH_KEYS.contains(&key) => self.top(key),
            None => Ok(None),
        }
    }

    fn credentials(&self) -> Result<Credentials, CloudsError> {
        let auth_type = match self.top("auth_type")? {
            None => AuthType::Password,
            Some(name) => AuthType::from_name(&name)
                .ok_or_else(|| self.invalid("auth_type", format!("'{name}' is not supported (sigstack supports {})", AuthType::NAMES)))?,
        };
        let domain_name = self.auth("domain_name")?;
        let domain_id = self.auth("domain_id")?;
        let credentials = Credentials {
            auth_url: self.auth("auth_url")?.unwrap_or_default(),
            auth_type,
            username: self.auth("username")?.unwrap_or_default(),
            password: self.auth("password")?.unwrap_or_default(),
            user_id: self.auth("user_id")?,
            user_domain_name: self.auth("user_domain_name")?.or(domain_name.clone()).unwrap_or_else(|| "Default".into()),
            user_domain_id: self.auth("user_domain_id")?.or(domain_id.clone()),
            project_name: self.auth("project_name")?.or(self.auth("tenant_name")?),
            project_id: self.auth("project_id")?.or(self.auth("tenant_id")?),
            project_domain_name: self.auth("project_domain_name")?.or(domain_name).unwrap_or_else(|| "Default".into()),
            project_domain_id: self.auth("project_domain_id")?.or(domain_id),
            application_credential_id: self.auth("application_credential_id")?,
            application_credential_name: self.auth("application_credential_name")?,
            application_credential_secret: self.auth("application_credential_secret")?,
            token: self.auth("token")?,
            region_name: self.top("region_name")?,
            interface: self.interface()?,
            endpoint_overrides: self.endpoint_overrides()?,
            tls: self.tls()?,
        };
        if let Some(field) = credentials.missing_option() {
            return Err(CloudsError::IncompleteCloud {
                name: self.name.to_owned(),
                source_name: self.source.clone(),
                field: field.to_owned(),
            });
        }
        self.check_api_versions()?;
        Ok(credentials)
    }

    /// `interface` (or the legacy `endpoint_type`, `publicURL` style).
    fn interface(&self) -> Result<String, CloudsError> {
        let (key, value) = match (self.top("interface")?, self.top("endpoint_type")?) {
            (Some(v), _) => ("interface", v),
            (None, Some(v)) => ("endpoint_type", v),
            (None, None) => return Ok("public".into()),
        };
        let interface = value.trim_end_matches("URL").to_lowercase();
        match interface.as_str() {
            "public" | "internal" | "admin" => Ok(interface),
            _ => Err(self.invalid(key, format!("'{value}' is not an interface (public, internal or admin)"))),
        }
    }

    /// `<service>_endpoint_override`, keyed by the service type the session asks for.
    fn endpoint_overrides(&self) -> Result<BTreeMap<String, String>, CloudsError> {
        let mut overrides = BTreeMap::new();
        for (k, _) in self.entry {
            let Some(key) = k.as_str() else { continue };
            let Some(service) = key.strip_suffix("_endpoint_override") else { continue };
            let service_type = service.replace('_', "-");
            if service_type_aliases(&service_type).is_empty() {
                return Err(self.invalid(key, format!("unknown service type '{service_type}'")));
            }
            if let Some(url) = self.top(key)? {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(self.invalid(key, format!("'{url}' is not an http(s) URL")));
                }
                overrides.insert(service_type, url);
            }
        }
        Ok(overrides)
    }

    /// `<service>_api_version`: sigstack speaks identity 3, image 2, key-manager 1,
    /// block-storage 3 and compute 2.1 (with microversions); another major is refused rather
    /// than misread.
    fn check_api_versions(&self) -> Result<(), CloudsError> {
        for (k, _) in self.entry {
            let Some(key) = k.as_str() else { continue };
            let Some(service) = key.strip_suffix("_api_version") else { continue };
            let Some(version) = self.top(key)? else { continue };
            let major = version.trim_start_matches('v').split('.').next().unwrap_or_default().to_owned();
            let supported = match service.replace('_', "-").as_str() {
                "identity" => "3",
                "image" => "2",
                "key-manager" => "1",
                "compute" => "2",
                t if service_type_aliases(t).contains(&"block-storage") => "3",
                _ => continue,
            };
            if major != supported {
                return Err(self.invalid(key, format!("version {version} is not supported (sigstack speaks {supported})")));
            }
        }
        Ok(())
    }

    fn tls(&self) -> Result<TlsOptions, CloudsError> {
        let search = SearchPath::from_process();
        let flag = |key: &str| -> Result<Option<bool>, CloudsError> {
            match self.top(key)? {
                None => Ok(None),
                Some(v) if truthy(&v) => Ok(Some(true)),
                Some(v) if v.eq_ignore_ascii_case("false") || v == "0" || v.eq_ignore_ascii_case("no") => Ok(Some(false)),
                Some(v) => Err(self.invalid(key, format!("'{v}' is not true or false"))),
            }
        };
        // `insecure: true` wins over `verify`, as in openstacksdk.
        let insecure = flag("insecure")? == Some(true) || flag("verify")? == Some(false);
        let path = |key: &str| -> Result<Option<PathBuf>, CloudsError> { Ok(self.top(key)?.map(|v| search.expand_user(&v))) };
        Ok(TlsOptions { cacert: path("cacert")?, insecure, cert: path("cert")?, key: path("key")? })
    }
}

#[cfg(test)]
mod tests;
