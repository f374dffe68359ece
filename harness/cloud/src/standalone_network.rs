//! The simulated Neutron alone, in front of a real Keystone (`sigstack serve-network`): the
//! network endpoint a real Nova needs (`ci/realstack start --with compute`), answered by the
//! same service the simulated cloud runs, its callers' tokens checked by that Keystone.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use sigstack_client::Session;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cloud::{Listening, bind, serve};
use crate::neutron::{self, NetworkService};
use crate::remote_keystone::RemoteKeystone;
use crate::store::Store;
use crate::tls::ServerTls;
use crate::{BODY_IDLE_TIMEOUT, CloudError, HEADER_READ_TIMEOUT};

pub struct NetworkConfig {
    pub host: IpAddr,
    /// `None`: a free port.
    pub port: Option<u16>,
    /// Where the network database lives (created if missing).
    pub data_dir: PathBuf,
    pub tls: Option<ServerTls>,
    /// The URL clients reach it at, as the catalog names it (default: the listener's).
    pub public_url: Option<String>,
    /// The service user's session with the real Keystone, which checks every caller's token.
    pub keystone: Session,
    /// Keystone's public v3 URL, named in a 401's `WWW-Authenticate`.
    pub keystone_url: String,
}

/// A running network service; stopped by [`NetworkHandle::shutdown`] or when dropped.
pub struct NetworkHandle {
    pub url: String,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl NetworkHandle {
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for NetworkHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

pub async fn start_network(config: NetworkConfig) -> Result<NetworkHandle, CloudError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| CloudError::DataDir(config.data_dir.clone(), e))?;
    let tls = match &config.tls {
        Some(tls) => Some(RustlsConfig::from_config(tls.server_config().map_err(CloudError::Tls)?)),
        None => None,
    };
    let store = Arc::new(Store::open(&config.data_dir.join("sigstack-network.db"))?);
    let network = Arc::new(NetworkService::open(store)?);
    let listener = bind("neutron", config.host, config.port).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let local = listener.local_addr().map(|a| format!("{scheme}://{a}")).unwrap_or_default();
    let url = config.public_url.unwrap_or(local);
    let keystone = Arc::new(RemoteKeystone::new(config.keystone, config.keystone_url));
    let app = neutron::router_with_keystone(keystone, network, url.clone());
    let listening = Listening { tls, header_read_timeout: HEADER_READ_TIMEOUT, body_idle_timeout: BODY_IDLE_TIMEOUT };
    let (stop, stop_rx) = watch::channel(false);
    let task = serve("neutron", listener, app, &listening, stop_rx);
    Ok(NetworkHandle { url, stop, task: Some(task) })
}
