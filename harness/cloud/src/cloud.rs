//! Starting the whole simulated cloud: one listener per service on loopback, a catalog built
//! from the bound addresses, `/_sim/` control on every listener. The same code backs the
//! in-process handle tests use and `sigstack serve`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use serde::Serialize;
use sigstack_client::{CatalogEntry, Credentials, Endpoint};
use sigstack_verify::KeyTypeProfile;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::barbican::{self, KeyManager};
use crate::control::{self, Control};
use crate::glance::{self, ImageService};
use crate::keystone::{self, Identity, KeystoneState, Seed};
use crate::store::{Store, StoreError};

/// How to start a cloud.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// Listen address; loopback only by default.
    pub host: IpAddr,
    /// First port: Keystone on it, Barbican +1, Glance +2. `None` binds ephemeral ports.
    pub port_base: Option<u16>,
    /// Where the state database and image files live. `None`: a temporary directory removed
    /// when the handle is dropped.
    pub data_dir: Option<PathBuf>,
    /// Keystone's initial users, projects and roles.
    pub seed: Seed,
    /// Which key types the cloud's cursive registers.
    pub key_type_profile: KeyTypeProfile,
}

impl Default for CloudConfig {
    fn default() -> Self {
        CloudConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_base: None,
            data_dir: None,
            seed: Seed::default(),
            key_type_profile: KeyTypeProfile::Current,
        }
    }
}

/// Why the cloud did not start.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("cannot bind {service} on {addr}: {source}")]
    Bind { service: &'static str, addr: SocketAddr, source: std::io::Error },
    #[error("data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The public endpoints of a running cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    /// Keystone's auth URL, `http://127.0.0.1:PORT/v3`.
    pub identity: String,
    /// Barbican, `http://127.0.0.1:PORT` (clients append `/v1`).
    pub key_manager: String,
    /// Glance, `http://127.0.0.1:PORT` (clients append `/v2`).
    pub image: String,
}

/// A running cloud. Dropping it stops every listener.
pub struct CloudHandle {
    pub endpoints: Endpoints,
    pub data_dir: PathBuf,
    pub seed: Seed,
    pub control: Arc<Control>,
    pub identity: Arc<Identity>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _temp: Option<tempfile::TempDir>,
}

impl CloudHandle {
    /// Password credentials for a seeded user, scoped to its project.
    pub fn credentials(&self, user: &str) -> Option<Credentials> {
        let u = self.seed.users.iter().find(|u| u.name == user)?;
        Some(Credentials {
            auth_url: self.endpoints.identity.clone(),
            username: u.name.clone(),
            password: u.password.clone(),
            user_domain_name: "Default".into(),
            project_name: Some(u.project.clone()),
            project_id: None,
            project_domain_name: "Default".into(),
            region_name: Some("RegionOne".into()),
            interface: "public".into(),
        })
    }

    pub fn admin(&self) -> Credentials {
        self.credentials("admin").expect("the seed has an admin")
    }

    pub fn demo(&self) -> Credentials {
        self.credentials("demo").expect("the seed has demo")
    }

    /// Stops the listeners and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for CloudHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

fn catalog(endpoints: &Endpoints) -> Vec<CatalogEntry> {
    let entry = |service_type: &str, name: &str, url: &str| CatalogEntry {
        service_type: service_type.into(),
        name: name.into(),
        id: format!("{name}-service"),
        endpoints: ["public", "internal", "admin"]
            .into_iter()
            .map(|interface| Endpoint {
                id: format!("{name}-{interface}"),
                interface: interface.into(),
                region_id: Some("RegionOne".into()),
                region: Some("RegionOne".into()),
                url: url.into(),
            })
            .collect(),
    };
    vec![
        entry("identity", "keystone", &endpoints.identity),
        entry("key-manager", "barbican", &endpoints.key_manager),
        entry("image", "glance", &endpoints.image),
    ]
}

async fn bind(service: &'static str, host: IpAddr, port: Option<u16>) -> Result<TcpListener, CloudError> {
    let addr = SocketAddr::new(host, port.unwrap_or(0));
    TcpListener::bind(addr).await.map_err(|source| CloudError::Bind { service, addr, source })
}

fn serve(listener: TcpListener, app: Router, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
    })
}

/// Starts Keystone, Barbican and Glance. Returns once every listener is bound.
pub async fn start(config: CloudConfig) -> Result<CloudHandle, CloudError> {
    let (data_dir, temp) = match &config.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| CloudError::DataDir(dir.clone(), e))?;
            (dir.clone(), None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("sigstack-cloud-")
                .tempdir()
                .map_err(|e| CloudError::DataDir(std::env::temp_dir(), e))?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let store = Arc::new(Store::open(&data_dir.join("sigstack.db"))?);
    let port = |offset: u16| config.port_base.map(|p| p + offset);
    let keystone_listener = bind("keystone", config.host, port(0)).await?;
    let barbican_listener = bind("barbican", config.host, port(1)).await?;
    let glance_listener = bind("glance", config.host, port(2)).await?;
    let url = |l: &TcpListener| l.local_addr().map(|a| format!("http://{a}")).unwrap_or_default();
    let endpoints = Endpoints {
        identity: format!("{}/v3", url(&keystone_listener)),
        key_manager: url(&barbican_listener),
        image: url(&glance_listener),
    };

    let identity = Arc::new(Identity::open(store.clone(), &config.seed)?);
    identity.set_endpoints(endpoints.identity.clone(), catalog(&endpoints));
    let key_manager = Arc::new(KeyManager::open(store.clone())?);
    let images = Arc::new(ImageService::open(store.clone(), data_dir.join("images"), config.key_type_profile)?);
    let control = Arc::new(Control::new(store.clone()));
    // What `POST /_sim/reset` restores: Keystone's seed, then every Barbican and Glance row and
    // Glance's image files (the generic wipe: those services keep all state there).
    control.register(Arc::new(control::KeystoneSeed::new(store.clone(), config.seed.clone())));
    control.register(Arc::new(control::SqlitePrefix::new(store.clone(), "barbican_")));
    control.register(Arc::new(control::SqlitePrefix::new(store.clone(), "glance_")));
    control.register(Arc::new(control::DataDir::new("glance", data_dir.join("images"))));

    let (stop_tx, stop_rx) = watch::channel(false);
    let with_control = |service: &'static str, router: Router| {
        control::wrap(service, router, control.clone())
    };
    let tasks = vec![
        serve(keystone_listener, with_control("keystone", keystone::router(KeystoneState { identity: identity.clone() })), stop_rx.clone()),
        serve(barbican_listener, with_control("barbican", barbican::router(identity.clone(), key_manager, endpoints.key_manager.clone())), stop_rx.clone()),
        serve(glance_listener, with_control("glance", glance::router(identity.clone(), images, endpoints.image.clone())), stop_rx),
    ];
    Ok(CloudHandle {
        endpoints,
        data_dir,
        seed: config.seed,
        control,
        identity,
        shutdown: stop_tx,
        tasks,
        _temp: temp,
    })
}
