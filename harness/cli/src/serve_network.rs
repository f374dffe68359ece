//! `sigstack serve-network`: the simulated Neutron alone, every caller's token checked by the
//! real Keystone of the selected cloud (whose credentials, from clouds.yaml as for every other
//! command, are the service user's). `ci/realstack start --with compute` runs it as the network
//! endpoint real Nova needs. Prints `network: <url>` and `ready`, then runs until SIGINT or
//! SIGTERM.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sigstack_client::identity;
use sigstack_cloud::CloudError;
use sigstack_cloud::standalone_network::{NetworkConfig, start_network};

use crate::Outcome;
use crate::cloud_args::{self, CloudSelection};
use crate::serve::{StopSignals, logs, tls};

/// How long in-flight requests get to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Args)]
pub struct ServeNetworkArgs {
    /// The cloud whose Keystone checks the callers' tokens, with the service user's
    /// credentials (it needs the right to validate other users' tokens: admin or service).
    #[command(flatten)]
    cloud: CloudSelection,
    /// Where the network database lives (created if missing; kept across restarts).
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// Listen address. Loopback by default.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Listen port (default: a free one, printed).
    #[arg(long)]
    port: Option<u16>,
    /// The endpoint's URL as Keystone's catalog gives it (default: the listener's).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    #[command(flatten)]
    tls_files: tls::TlsFileArgs,
    /// How much is logged on stderr (as for `serve`); RUST_LOG, when set, overrides it.
    #[arg(long, value_enum, default_value_t = logs::LogLevel::Info)]
    log_level: logs::LogLevel,
}

pub fn serve_network(args: ServeNetworkArgs) -> Outcome {
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = match logs::filter(args.log_level, rust_log.as_deref()) {
        Ok((filter, _)) => filter,
        Err(message) => return Outcome::Usage(message),
    };
    let _log_writer = match logs::install(filter) {
        Ok(guard) => guard,
        Err(message) => return Outcome::Error(message),
    };
    let cloud = match cloud_args::resolve(&args.cloud) {
        Ok(cloud) => cloud,
        Err(outcome) => return outcome,
    };
    let server_tls = match args.tls_files.given(args.host) {
        Some(Ok(tls)) => Some(tls),
        Some(Err(message)) => return Outcome::Usage(message),
        None => None,
    };
    cloud_args::block_on(async move {
        let session = match cloud_args::session(&cloud).await {
            Ok(session) => session,
            Err(outcome) => return outcome,
        };
        let keystone_url = match identity::v3(&session) {
            Ok(url) => url,
            Err(e) => return Outcome::Error(format!("cloud '{}': {e}", cloud.name)),
        };
        let config = NetworkConfig {
            host: args.host,
            port: args.port,
            data_dir: args.data_dir,
            tls: server_tls,
            public_url: args.public_url,
            keystone: session,
            keystone_url,
        };
        let network = match start_network(config).await {
            Ok(network) => network,
            Err(e @ CloudError::Tls(_)) => return Outcome::Usage(e.to_string()),
            Err(e) => return Outcome::Error(e.to_string()),
        };
        let mut stop = match StopSignals::listen() {
            Ok(stop) => stop,
            Err(outcome) => return outcome,
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "network: {}\nready", network.url);
        let _ = out.flush();
        drop(out);
        stop.wait().await;
        eprintln!("sigstack serve-network: stopping");
        if tokio::time::timeout(SHUTDOWN_GRACE, network.shutdown()).await.is_err() {
            eprintln!("sigstack serve-network: requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
        }
        Outcome::Success
    })
}
