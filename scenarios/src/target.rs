//! The cloud under test: the embedded simulated cloud, or a real one from clouds.yaml, with the
//! suite users it has credentials for and the capabilities it declares.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use sigstack_client::{Credentials, Session};

use crate::RunError;
use sigstack_client::clouds::{self, SearchPath};

use crate::config::{Capabilities, CapabilityFile};
use crate::plan::{Available, SUITE_USERS};

/// Everything the steps need to reach the target.
#[derive(Debug)]
pub struct Target {
    /// `embedded (deployment upstream-defaults)` or `cloud sigstack-demo (/path/clouds.yaml)`.
    pub description: String,
    /// Service type → endpoint URL, for the report.
    pub endpoints: BTreeMap<String, String>,
    pub users: BTreeMap<String, Credentials>,
    pub capabilities: Capabilities,
    /// The token the simulator's `/_sim/` control API takes (the embedded cloud's own, or the
    /// capability file's `control_token_file`); `None` for a real cloud.
    pub control_token: Option<String>,
    /// [`Target::control_http`], built once (a client loads the trust roots).
    control_client: std::sync::OnceLock<reqwest::Client>,
}

/// Suite users who get a project of their own in every scenario when the target allows it:
/// the scenario's user works in a fresh project, and "a user of another project" in another.
/// "admin" and the "instance-ha" service user stay the target's own.
pub const ISOLATED_USERS: [&str; 2] = ["demo", "alt_demo"];

/// A scenario about what the deployment prepared for its own users (MOS's pre-built images,
/// whose certificate only they may read) acts as the target's users, never isolated ones.
pub const TARGET_USERS_TAG: &str = "target-users";

/// Opting out in a capability file: `isolated_projects: false` (a cloud whose admin may not
/// create projects and users).
pub const ISOLATED_PROJECTS: &str = "isolated_projects";

impl Target {
    /// Each scenario in its own projects: needs admin credentials (to create projects and
    /// users, as tempest's dynamic credentials do) and no opt-out.
    pub fn isolated(&self) -> bool {
        self.users.contains_key("admin")
            && self.capabilities.truthy("admin_credentials")
            && self.capabilities.get(ISOLATED_PROJECTS) != Some("false")
    }

    /// The description the report prints, with how scenarios are kept apart.
    pub fn described(&self) -> String {
        if self.isolated() {
            format!("{}; each scenario in its own projects", self.description)
        } else {
            format!("{}; scenarios share the target's projects", self.description)
        }
    }

    /// An HTTP client trusting the target as its users' clouds.yaml entries say (`cacert`,
    /// `verify`): for the calls that carry no session, such as the `/_sim/` control API.
    pub fn http(&self) -> reqwest::Client {
        sigstack_client::tls::http_client_for(&self.tls()).unwrap_or_else(|_| sigstack_client::session::http_client())
    }

    fn tls(&self) -> sigstack_client::TlsOptions {
        self.users.get("demo").or_else(|| self.users.values().next()).map(|c| c.tls.clone()).unwrap_or_default()
    }

    /// An HTTP client for the simulator's `/_sim/` control API: [`Target::http`] sending the
    /// control token.
    pub fn control_http(&self) -> reqwest::Client {
        let Some(token) = &self.control_token else { return self.http() };
        self.control_client
            .get_or_init(|| sigstack_client::tls::build_http_client_with_token(&self.tls(), token).unwrap_or_else(|_| self.http()))
            .clone()
    }

    pub fn available(&self) -> Available {
        Available { users: self.users.keys().cloned().collect(), capabilities: self.capabilities.clone() }
    }
}

/// The target of the run in progress. cucumber builds each World with no arguments, so the
/// World finds the target here; `run` holds a lock so two runs never share it.
static CURRENT: RwLock<Option<Arc<Target>>> = RwLock::new(None);

pub fn set_current(target: Option<Arc<Target>>) {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = target;
}

pub fn current() -> Arc<Target> {
    CURRENT.read().unwrap_or_else(|e| e.into_inner()).clone().expect("a conformance run is in progress")
}

/// The capabilities of the embedded cloud's deployment, as `sigstack serve` writes them.
pub fn embedded_capabilities(cloud: &sigstack_cloud::CloudHandle) -> Capabilities {
    let d = cloud.deployment.get();
    let mut caps = Capabilities::default();
    for name in ["admin_credentials", "compute", "volume", "simulated_control"] {
        caps.set(name, true);
    }
    caps.set("verify_glance_signatures", d.nova_verify_glance_signatures());
    caps.set("certificate_validation", d.nova.glance.enable_certificate_validation);
    caps.set("default_trusted_certificates", !d.nova.glance.default_trusted_certificate_ids.is_empty());
    caps.set("cinder_verification", d.cinder_verification() == sigstack_cloud::deployment::CinderVerification::Enabled);
    // Upstream Nova never verifies what it boots from its image cache; the defect switch makes
    // a stricter one (which must not fail certification for it).
    caps.set("cached_images_verified", d.defects.nova_verifies_cached_images);
    caps.set("key_type_profile", d.key_type_profile);
    caps.set("image_format", "qcow2");
    // Declared only where the deployment provisions MOS's pre-built images.
    if d.baseline_images {
        caps.set("baseline_images", true);
    }
    caps
}

/// Starts the embedded cloud. A capability file, if given, overrides its capabilities key by
/// key (to rehearse a vendor's file against the simulator); its `users` are not used, the
/// seed's users are.
pub async fn embedded(
    file: Option<&CapabilityFile>,
    deployment: Option<sigstack_cloud::deployment::Deployment>,
) -> Result<(Target, sigstack_cloud::CloudHandle), RunError> {
    let mut config = sigstack_cloud::CloudConfig::default();
    if let Some(d) = deployment {
        config.deployment = d;
    }
    let cloud = sigstack_cloud::start(config).await.map_err(|e| RunError::Target(format!("the embedded cloud did not start: {e}")))?;
    let users = SUITE_USERS.iter().filter_map(|u| cloud.credentials(u).map(|c| ((*u).to_owned(), c))).collect();
    let mut capabilities = embedded_capabilities(&cloud);
    if let Some(file) = file {
        capabilities.0.extend(file.capabilities.0.clone());
    }
    let e = &cloud.endpoints;
    let endpoints =
        [("identity", &e.identity), ("key-manager", &e.key_manager), ("image", &e.image), ("compute", &e.compute), ("volume", &e.volume)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
    let description = format!("embedded simulated cloud (deployment {})", cloud.deployment.get().name);
    let control_token = Some(cloud.control_token().to_owned());
    Ok((Target { description, endpoints, users, capabilities, control_token, control_client: Default::default() }, cloud))
}

/// A real cloud: `cloud` from clouds.yaml (or the environment's `envvars` cloud), found,
/// merged with secure.yaml and trusted as every sigstack command does. Without a capability
/// file that cloud's user is "demo" and nothing else is known; with one, its `users` name the
/// clouds of the other suite users ("demo" defaults to `cloud`).
pub async fn real(cloud: &str, clouds_yaml: Option<PathBuf>, file: Option<&CapabilityFile>, insecure: bool) -> Result<Target, RunError> {
    let env = clouds::process_environment();
    let search = SearchPath::from_process();
    let resolve = |name: &str| -> Result<(String, Credentials), RunError> {
        let mut resolved = clouds::resolve(Some(name), clouds_yaml.as_deref(), &env, &search)?;
        resolved.credentials.tls.insecure |= insecure;
        Ok((resolved.source, resolved.credentials))
    };
    let (source, primary) = resolve(cloud)?;
    let mut users = BTreeMap::new();
    if let Some(file) = file {
        for (user, cloud_name) in &file.users {
            users.insert(user.clone(), resolve(cloud_name)?.1);
        }
    }
    users.entry("demo".to_owned()).or_insert_with(|| primary.clone());
    let capabilities = file.map(|f| f.capabilities.clone()).unwrap_or_default();

    // Authenticating once up front turns a wrong password, an untrusted certificate or an
    // unreachable Keystone into one clear error instead of every scenario failing, and gives
    // the report its endpoints.
    let session = Session::authenticate(&primary).await.map_err(|e| {
        let message = format!("cannot authenticate as cloud '{cloud}' at {}: {e}", primary.auth_url);
        if e.is_configuration() { RunError::TargetConfiguration(message) } else { RunError::Target(message) }
    })?;
    let endpoints = session
        .token()
        .catalog
        .iter()
        .filter_map(|entry| {
            let ep = entry.endpoints.iter().find(|ep| {
                ep.interface == primary.interface
                    && primary.region_name.as_ref().is_none_or(|r| ep.region_id.as_ref() == Some(r) || ep.region.as_ref() == Some(r))
            })?;
            Some((entry.service_type.clone(), ep.url.clone()))
        })
        .collect();
    let description = format!("cloud {cloud} ({source})");
    let control_token = match file {
        Some(file) => file.control_token()?,
        None => None,
    };
    Ok(Target { description, endpoints, users, capabilities, control_token, control_client: Default::default() })
}
