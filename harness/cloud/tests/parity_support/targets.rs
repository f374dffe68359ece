//! The clouds compared: the simulated one, or one described by a clouds.yaml (the real stack).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigstack_client::clouds::CloudsYaml;
use sigstack_client::{Credentials, Session};
use sigstack_cloud::deployment::Deployment;
use sigstack_cloud::{CloudConfig, CloudHandle, start};

use super::{CLOUD_NAMES, CLOUDS_ENV, Target};
use crate::glance_support::repo_path;

/// The compared users' credentials from a clouds.yaml, read as every sigstack command reads
/// one (the real stack's may use HTTPS with its CA, or an application credential).
fn credentials_from_clouds_yaml(path: &Path) -> BTreeMap<String, Credentials> {
    let yaml = CloudsYaml::load(path).unwrap_or_else(|e| panic!("{CLOUDS_ENV}={}: {e}", path.display()));
    CLOUD_NAMES.iter().map(|(user, cloud)| ((*user).to_owned(), yaml.credentials(cloud).unwrap_or_else(|e| panic!("{e}")))).collect()
}

async fn target(label: String, credentials: BTreeMap<String, Credentials>, cloud: Option<CloudHandle>) -> Target {
    let session = |user: &str| {
        let c = credentials[user].clone();
        let label = label.clone();
        let user = user.to_owned();
        async move { Session::authenticate(&c).await.unwrap_or_else(|e| panic!("{label}: {user} cannot authenticate: {e}")) }
    };
    Target {
        admin: session("admin").await,
        demo: session("demo").await,
        alt_demo: session("alt_demo").await,
        label,
        credentials,
        _cloud: cloud,
    }
}

async fn simulated_with(label: &str, deployment: Deployment) -> Target {
    let cloud = start(CloudConfig { deployment, ..CloudConfig::default() }).await.expect("the simulated cloud starts");
    let credentials = CLOUD_NAMES.iter().map(|(user, _)| ((*user).to_owned(), cloud.credentials(user).expect("seeded user"))).collect();
    target(label.into(), credentials, Some(cloud)).await
}

/// The simulated cloud with its default deployment.
pub async fn simulated() -> Target {
    simulated_with("simulated cloud", Deployment::default()).await
}

/// The deployment of `ci/realstack start --with compute,volume`, as
/// `ci/conformance-realstack.sh` gives it to the embedded run: Nova verifying signatures with
/// certificate validation and no default trusted certificates, ONE compute node `realstack`
/// with local disks, Cinder verifying, one back end that downloads (and verifies) every image.
const REALSTACK_DEPLOYMENT: &str = "ci/realstack.d/twin-deployment.yaml";

/// The simulated cloud deployed as the real stack with Nova and Cinder.
pub async fn simulated_realstack() -> Target {
    let path = repo_path(REALSTACK_DEPLOYMENT);
    let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let deployment = Deployment::from_yaml(REALSTACK_DEPLOYMENT, &yaml).expect("deployment");
    simulated_with("simulated cloud (the real stack's deployment)", deployment).await
}

/// `SIGSTACK_PARITY_CLOUDS_YAML`; a relative path is taken from the repository root (cargo runs
/// tests in the package's directory).
pub fn clouds_yaml_path(value: &std::ffi::OsStr) -> PathBuf {
    let path = PathBuf::from(value);
    if path.is_absolute() { path } else { repo_path(&path.to_string_lossy()) }
}

pub async fn from_clouds_yaml(path: &Path) -> Target {
    target(format!("cloud of {}", path.display()), credentials_from_clouds_yaml(path), None).await
}
