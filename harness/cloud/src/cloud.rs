//! Starting the whole simulated cloud: one listener per service on loopback, a catalog built
//! from the bound addresses, `/_sim/` control on every listener. The same code backs the
//! in-process handle tests use and `sigstack serve`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use serde::Serialize;
use sigstack_client::{CatalogEntry, Credentials, Endpoint, TlsOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::barbican::{self, KeyManager};
use crate::cinder::{self, VolumeService};
use crate::control::{self, Control};
use crate::deployment::{Deployment, DeploymentState};
use crate::glance::{self, ImageService};
use crate::keystone::{self, Identity, KeystoneState, Seed};
use crate::logging;
use crate::neutron::{self, NetworkService};
use crate::nova::{self, ComputeService};
use crate::provision;
use crate::store::{Store, StoreError};
use crate::tls::ServerTls;

/// How to start a cloud.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// Listen address; loopback only by default.
    pub host: IpAddr,
    /// First port: Keystone on it, Barbican +1, Glance +2, Nova +3, Cinder +4, Neutron +5. `None` binds
    /// ephemeral ports.
    pub port_base: Option<u16>,
    /// Where the state database and image files live. `None`: a temporary directory removed
    /// when the handle is dropped.
    pub data_dir: Option<PathBuf>,
    /// Keystone's initial users, projects and roles.
    pub seed: Seed,
    /// The deployment profile: service options, compute nodes, back ends, key-type profile.
    pub deployment: Deployment,
    /// HTTPS on every listener (`sigstack serve --tls`); `None`: plain HTTP.
    pub tls: Option<ServerTls>,
    /// The token `/_sim/` accepts besides an admin's Keystone token; `None`: a fresh random one.
    pub control_token: Option<String>,
    /// How long a client may take to send a request's headers, from the moment the server
    /// waits for them: a connection that sends nothing, or half a request line, is closed
    /// then. It also closes a keep-alive connection left idle that long (clients reconnect).
    pub header_read_timeout: Duration,
    /// How long a request body may send nothing while the service reads it: the request is
    /// then answered 408 and the connection closed. The clock restarts with every chunk, so
    /// an upload of any size that keeps sending is never cut.
    pub body_idle_timeout: Duration,
}

/// [`CloudConfig::header_read_timeout`] by default. Longer than the 30 s sigstack's clients
/// keep an idle connection pooled, so the server never closes a connection a client is about
/// to reuse (the request would fail with "connection closed before message completed").
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// [`CloudConfig::body_idle_timeout`] by default: generous, since a client may pause (a
/// compute node reading the image it uploads from a slow disk).
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

impl Default for CloudConfig {
    fn default() -> Self {
        CloudConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_base: None,
            data_dir: None,
            seed: Seed::default(),
            deployment: Deployment::default(),
            tls: None,
            control_token: None,
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_idle_timeout: BODY_IDLE_TIMEOUT,
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
    #[error("provisioning the deployment: {0}")]
    Provision(String),
    /// The TLS certificate, key or CA bundle cannot be used.
    #[error("{0}")]
    Tls(String),
}

/// The public endpoints of a running cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    /// Keystone's auth URL, `http://127.0.0.1:PORT/v3` (`https://` with TLS).
    pub identity: String,
    /// Barbican, `http://127.0.0.1:PORT` (clients append `/v1`).
    pub key_manager: String,
    /// Glance, `http://127.0.0.1:PORT` (clients append `/v2`).
    pub image: String,
    /// Nova, `http://127.0.0.1:PORT` (the catalog says `/v2.1`).
    pub compute: String,
    /// Cinder, `http://127.0.0.1:PORT` (the catalog says `/v3/$(project_id)s`).
    pub volume: String,
    /// Neutron, `http://127.0.0.1:PORT` (clients append `/v2.0`).
    pub network: String,
}

/// A running cloud. Dropping it stops every listener.
pub struct CloudHandle {
    pub endpoints: Endpoints,
    pub data_dir: PathBuf,
    pub seed: Seed,
    pub control: Arc<Control>,
    pub identity: Arc<Identity>,
    /// The deployment in effect (changed at run time by `/_sim/deployment`).
    pub deployment: Arc<DeploymentState>,
    /// How callers trust the cloud's certificate (the CA bundle under TLS; default for HTTP).
    pub tls: TlsOptions,
    control_token: String,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _temp: Option<tempfile::TempDir>,
}

impl CloudHandle {
    /// Password credentials for a seeded user, scoped to its project.
    pub fn credentials(&self, user: &str) -> Option<Credentials> {
        seed_credentials(&self.seed, &self.endpoints.identity, user, &self.tls)
    }

    pub fn admin(&self) -> Credentials {
        self.credentials("admin").expect("the seed has an admin")
    }

    pub fn demo(&self) -> Credentials {
        self.credentials("demo").expect("the seed has demo")
    }

    /// The token `/_sim/` accepts from tools (`X-Auth-Token`); a secret like a password.
    pub fn control_token(&self) -> &str {
        &self.control_token
    }

    /// An HTTP client for `/_sim/`: trusts the cloud's certificate and sends the control token.
    pub fn control_http(&self) -> reqwest::Client {
        sigstack_client::tls::build_http_client_with_token(&self.tls, &self.control_token)
            .expect("the cloud's own TLS options and hex token make a client")
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

/// Keystone's ids are 32 hex digits; the catalog's are derived from the names, so they are
/// stable across restarts.
fn catalog_id(name: &str) -> String {
    use md5::Digest;
    md5::Md5::digest(name.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn catalog(endpoints: &Endpoints) -> Vec<CatalogEntry> {
    let entry = |service_type: &str, name: &str, url: &str| CatalogEntry {
        service_type: service_type.into(),
        name: name.into(),
        id: catalog_id(&format!("{name}-service")),
        endpoints: ["public", "internal", "admin"]
            .into_iter()
            .map(|interface| Endpoint {
                id: catalog_id(&format!("{name}-{interface}")),
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
        entry("compute", "nova", &format!("{}/v2.1", endpoints.compute)),
        entry("block-storage", "cinderv3", &format!("{}/v3/$(project_id)s", endpoints.volume)),
        entry("network", "neutron", &endpoints.network),
    ]
}

pub(crate) async fn bind(service: &'static str, host: IpAddr, port: Option<u16>) -> Result<TcpListener, CloudError> {
    let addr = SocketAddr::new(host, port.unwrap_or(0));
    TcpListener::bind(addr).await.map_err(|source| CloudError::Bind { service, addr, source })
}

/// What every listener applies to its connections.
#[derive(Clone)]
pub(crate) struct Listening {
    /// HTTPS with this configuration; plain HTTP without.
    pub tls: Option<RustlsConfig>,
    pub header_read_timeout: Duration,
    pub body_idle_timeout: Duration,
}

/// Serves `app` as `service` on `listener` until `stop`: every request logged
/// ([`logging::layer`]), headers and idle bodies timed out. axum-server runs both HTTP and
/// HTTPS (the handshakes off the accept loop); its graceful shutdown stops accepting and lets
/// requests in flight finish.
pub(crate) fn serve(
    service: &'static str,
    listener: TcpListener,
    app: Router,
    listening: &Listening,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let app = logging::layer(service, app, listening.body_idle_timeout);
    let listening = listening.clone();
    tokio::spawn(async move {
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        tokio::spawn(async move {
            let _ = stop.wait_for(|s| *s).await;
            stopper.graceful_shutdown(None);
        });
        let server = listener.into_std().and_then(axum_server::from_tcp).map(|server| {
            let mut server = server
                .handle(handle)
                // Before hyper's own header timer starts: a connection that sends nothing at
                // all, while the protocol is being detected.
                .first_request_timeout(listening.header_read_timeout);
            server.http_builder().http1().header_read_timeout(listening.header_read_timeout);
            server
        });
        let served = match (server, listening.tls) {
            (Ok(server), None) => server.serve(app.into_make_service()).await,
            (Ok(server), Some(tls)) => {
                server.acceptor(axum_server::tls_rustls::RustlsAcceptor::new(tls)).serve(app.into_make_service()).await
            }
            (Err(e), _) => Err(e),
        };
        if let Err(e) = served {
            tracing::error!(service = %service, cause = %e, "the listener stopped");
        }
    })
}

/// Starts Keystone, Barbican, Glance, Nova, Cinder and Neutron, then provisions what the deployment
/// asks for (baseline images). Returns once every listener is bound and provisioning is done.
pub async fn start(config: CloudConfig) -> Result<CloudHandle, CloudError> {
    let (data_dir, temp) = match &config.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| CloudError::DataDir(dir.clone(), e))?;
            (dir.clone(), None)
        }
        None => {
            let temp =
                tempfile::Builder::new().prefix("sigstack-cloud-").tempdir().map_err(|e| CloudError::DataDir(std::env::temp_dir(), e))?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    // TLS first: a bad certificate or key fails before anything listens.
    let (server_tls, client_tls) = match &config.tls {
        Some(tls) => (Some(RustlsConfig::from_config(tls.server_config().map_err(CloudError::Tls)?)), tls.client_options()),
        None => (None, TlsOptions::default()),
    };
    // What the services call each other with: trusting the cloud's CA under TLS.
    let service_http = match &config.tls {
        Some(_) => sigstack_client::tls::http_client_for(&client_tls).map_err(|e| CloudError::Tls(e.to_string()))?,
        None => sigstack_client::session::http_client(),
    };
    let store = Arc::new(Store::open(&data_dir.join("sigstack.db"))?);
    let port = |offset: u16| config.port_base.map(|p| p + offset);
    let keystone_listener = bind("keystone", config.host, port(0)).await?;
    let barbican_listener = bind("barbican", config.host, port(1)).await?;
    let glance_listener = bind("glance", config.host, port(2)).await?;
    let nova_listener = bind("nova", config.host, port(3)).await?;
    let cinder_listener = bind("cinder", config.host, port(4)).await?;
    let neutron_listener = bind("neutron", config.host, port(5)).await?;
    let scheme = if server_tls.is_some() { "https" } else { "http" };
    let url = |l: &TcpListener| l.local_addr().map(|a| format!("{scheme}://{a}")).unwrap_or_default();
    let endpoints = Endpoints {
        identity: format!("{}/v3", url(&keystone_listener)),
        key_manager: url(&barbican_listener),
        image: url(&glance_listener),
        compute: url(&nova_listener),
        volume: url(&cinder_listener),
        network: url(&neutron_listener),
    };
    let deployment = DeploymentState::new(config.deployment.clone());

    let identity = Arc::new(Identity::open(store.clone(), &config.seed)?.with_deployment(deployment.clone()));
    identity.set_endpoints(endpoints.identity.clone(), catalog(&endpoints));
    let key_manager = Arc::new(KeyManager::open(store.clone(), deployment.clone())?);
    let profile = {
        let deployment = deployment.clone();
        Arc::new(move || deployment.get().key_type_profile)
    };
    let defects = {
        let deployment = deployment.clone();
        Arc::new(move || deployment.get().defects)
    };
    let glance_options = {
        let deployment = deployment.clone();
        Arc::new(move || deployment.get().glance)
    };
    let mut images =
        ImageService::open_with(store.clone(), data_dir.join("images"), profile)?.with_defects(defects).with_options(glance_options);
    if config.tls.is_some() {
        images = images.with_tls(client_tls.clone()).map_err(|e| CloudError::Tls(e.to_string()))?;
    }
    let images = Arc::new(images);
    let compute = Arc::new(ComputeService::open(store.clone(), data_dir.join("nova"), deployment.clone())?.with_http(service_http.clone()));
    let volumes = Arc::new(VolumeService::open(store.clone(), data_dir.join("cinder"), deployment.clone())?.with_http(service_http));
    let network = Arc::new(NetworkService::open(store.clone())?);
    let control = Arc::new(Control::new(store.clone()));
    // What `POST /_sim/reset` restores: the deployment, Keystone's seed, then every other
    // service's rows and files (the generic wipe: those services keep all state there), then
    // the deployment's provisioning again.
    control.register(deployment.clone());
    control.register(Arc::new(control::KeystoneSeed::new(store.clone(), config.seed.clone())));
    for service in ["barbican", "glance", "nova", "cinder", "neutron"] {
        control.register(Arc::new(control::SqlitePrefix::new(store.clone(), format!("{service}_"))));
    }
    control.register(Arc::new(control::DataDir::new("glance", data_dir.join("images"))));
    control.register(Arc::new(control::DataDir::new("nova", data_dir.join("nova"))));
    control.register(Arc::new(control::DataDir::new("cinder", data_dir.join("cinder"))));
    control.set_deployment(deployment.clone());
    let instance_ha = instance_ha_credentials(&config.seed, &endpoints, &deployment.get(), &client_tls);

    let (stop_tx, stop_rx) = watch::channel(false);
    let control_token = config.control_token.clone().unwrap_or_else(control::ControlAccess::generate_token);
    let access = Arc::new(control::ControlAccess::new(control_token.clone(), identity.clone()));
    let with_control = |service: &'static str, router: Router| control::wrap(service, router, control.clone(), access.clone());
    let listening =
        Listening { tls: server_tls, header_read_timeout: config.header_read_timeout, body_idle_timeout: config.body_idle_timeout };
    // Keystone, Barbican and Glance set their request ids themselves (oslo's `RequestId` in
    // their pipelines); the logging layer gives every other answer one (Nova's, Cinder's,
    // injected faults', `/_sim/`'s).
    let own_ids = logging::own_request_ids;
    let tasks = vec![
        serve(
            "keystone",
            keystone_listener,
            with_control("keystone", own_ids(keystone::router(KeystoneState { identity: identity.clone() }))),
            &listening,
            stop_rx.clone(),
        ),
        serve(
            "barbican",
            barbican_listener,
            with_control("barbican", own_ids(barbican::router(identity.clone(), key_manager, endpoints.key_manager.clone()))),
            &listening,
            stop_rx.clone(),
        ),
        serve(
            "glance",
            glance_listener,
            with_control("glance", own_ids(glance::router(identity.clone(), images, endpoints.image.clone()))),
            &listening,
            stop_rx.clone(),
        ),
        serve(
            "nova",
            nova_listener,
            with_control("nova", nova::router(identity.clone(), compute, endpoints.compute.clone(), instance_ha)),
            &listening,
            stop_rx.clone(),
        ),
        serve(
            "cinder",
            cinder_listener,
            with_control("cinder", cinder::router(identity.clone(), volumes, endpoints.volume.clone())),
            &listening,
            stop_rx.clone(),
        ),
        serve(
            "neutron",
            neutron_listener,
            with_control("neutron", neutron::router(identity.clone(), network, endpoints.network.clone())),
            &listening,
            stop_rx,
        ),
    ];
    let handle = CloudHandle {
        endpoints,
        data_dir,
        seed: config.seed,
        control: control.clone(),
        identity,
        deployment,
        tls: client_tls,
        control_token,
        shutdown: stop_tx,
        tasks,
        _temp: temp,
    };
    let provisioner = provision::Provisioner::new(handle.credentials("admin"), handle.seed.clone(), handle.deployment.clone());
    provisioner.run().await.map_err(CloudError::Provision)?;
    control.after_reset(Arc::new(provisioner));
    Ok(handle)
}

/// Password credentials for a seeded user, scoped to its project.
fn seed_credentials(seed: &Seed, auth_url: &str, user: &str, tls: &TlsOptions) -> Option<Credentials> {
    let u = seed.users.iter().find(|u| u.name == user)?;
    Some(Credentials {
        auth_url: auth_url.to_owned(),
        username: u.name.clone(),
        password: u.password.clone(),
        user_domain_name: "Default".into(),
        project_name: Some(u.project.clone()),
        project_id: None,
        project_domain_name: "Default".into(),
        region_name: Some("RegionOne".into()),
        interface: "public".into(),
        tls: tls.clone(),
        ..Credentials::default()
    })
}

/// The instance-HA service user's credentials (what Masakari authenticates with); `None` when
/// the seed has no such user.
fn instance_ha_credentials(seed: &Seed, endpoints: &Endpoints, deployment: &Deployment, tls: &TlsOptions) -> Option<Credentials> {
    seed_credentials(seed, &endpoints.identity, &deployment.instance_ha.user, tls)
}
