//! `sigstack serve`: the simulated cloud as a long-running process for real OpenStack clients
//! (python-openstackclient, the SDKs) and manual exploration. It writes a `clouds.yaml` and
//! openrc files, prints `key: value` lines naming them and the endpoints, then `ready`, and
//! runs until SIGINT or SIGTERM. State lives in the data directory's SQLite database, so a
//! restart on the same directory (even after SIGKILL) keeps everything acknowledged. With
//! `--tls` every service speaks HTTPS ([`tls`]: the certificates).

pub(crate) mod logs;
pub(crate) mod tls;

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use sigstack_client::Credentials;
use sigstack_cloud::deployment::Deployment;
use sigstack_cloud::keystone::Seed;
use sigstack_cloud::{CloudConfig, CloudError, CloudHandle, ServerTls};

use crate::Outcome;

/// The clouds `serve` writes: name in clouds.yaml, seeded user. The first two always (the
/// seed must have them); the others when the seed has the user (the conformance suite's
/// second-project user and the instance-HA service user).
const CLOUDS: [(&str, &str); 4] =
    [("sigstack-admin", "admin"), ("sigstack-demo", "demo"), ("sigstack-alt-demo", "alt_demo"), ("sigstack-instance-ha", "instance-ha")];
const REQUIRED_CLOUDS: usize = 2;

/// The capability file `serve` writes beside clouds.yaml (`sigstack conformance
/// --capabilities`).
pub const CAPABILITIES_FILE: &str = "capabilities.yaml";

/// The file beside clouds.yaml holding the token `/_sim/` accepts from tools (mode 0600);
/// the capability file names it in `settings: control_token_file`.
pub const CONTROL_TOKEN_FILE: &str = "control-token";

/// How long in-flight requests get to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Args)]
#[command(after_long_help = SERVE_HELP)]
pub struct ServeArgs {
    /// Where the state database and image files live (created if missing). Default: a new
    /// temporary directory, kept after exit and printed.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where to write clouds.yaml (default `<data-dir>/clouds.yaml`); the openrc files go
    /// beside it.
    #[arg(long)]
    clouds_yaml: Option<PathBuf>,
    /// Listen address. Loopback by default; anything else exposes the simulator (it has no
    /// real security) to the network.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Keystone on N, Barbican on N+1, Glance on N+2, Nova on N+3, Cinder on N+4, Neutron on
    /// N+5. Default: free ports chosen by the OS.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=65530))]
    port_base: Option<u16>,
    /// The deployment profile: a shipped one (`mos`, `upstream-certificate-validation`,
    /// `upstream-defaults`) or a YAML file.
    #[arg(long, default_value = "upstream-defaults")]
    deployment: String,
    /// Serve all five services over HTTPS (plain HTTP otherwise). Without --tls-cert, a CA
    /// and a server certificate for the listen address are made in `<data-dir>/tls/` and
    /// reused on restart; clouds.yaml gets `cacert:` and the openrc files `OS_CACERT`.
    #[arg(long)]
    tls: bool,
    #[command(flatten)]
    tls_files: tls::TlsFileArgs,
    /// How much the cloud logs on stderr: error (5xx answers with their cause, failed
    /// background work), warn, info (also one line per request), debug, trace. RUST_LOG, when
    /// set, overrides it.
    #[arg(long, value_enum, default_value_t = logs::LogLevel::Info)]
    log_level: logs::LogLevel,
}

const SERVE_HELP: &str = "\
HTTPS (--tls):
  The generated files are <data-dir>/tls/ca.pem (CA \"sigstack serve CA\", ECDSA P-256, ten
  years), ca.key, server.pem (SAN IP <host> and DNS localhost, serverAuth, one year) and
  server.key; the keys are mode 0600 and never printed. A restart on the same data directory
  reuses them (a server certificate that no longer fits --host, or expires within a day, is
  issued again by the same CA, so ca.pem stays trusted).
  With --tls-cert/--tls-key the given files are served as they are; clouds.yaml's cacert is
  --tls-ca, or the --tls-cert file itself when --tls-ca is not given. The bundle must verify
  the certificate for --host (an IP address SAN), or serve exits 2.
  Endpoints and the catalog are https://<host>:<port>; clouds.yaml entries get `cacert:
  <absolute path>` and the openrc files `export OS_CACERT=...`.

Logs (stderr):
  One line per request at info: service, method, path (never the query string), status, the
  request id the service answered with, duration. Every 5xx at error, with its cause (the
  client gets the service's usual body); failed background work (a server build, a snapshot,
  an import) at error or warn. Bodies, headers (tokens) and query strings are never logged.
  --log-level sets the level; RUST_LOG, when set and not empty, takes precedence (tracing's
  filter syntax: RUST_LOG=sigstack_cloud::nova=debug,info); a RUST_LOG that does not parse
  exits 2. Lines are written in the background: a reader that falls far behind loses lines,
  never slows the cloud.

The /_sim/ control API (on every listener):
  Needs X-Auth-Token: a Keystone token of a user with the admin role, or the control token in
  the control-token file beside clouds.yaml (mode 0600, new on every start; the capability file
  names it for `sigstack conformance`). Bodies must be application/json.";

pub fn serve(args: ServeArgs) -> Outcome {
    let rust_log = match std::env::var_os("RUST_LOG").map(|v| v.into_string()) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => return Outcome::Usage("RUST_LOG is not valid UTF-8".into()),
    };
    let (filter, source) = match logs::filter(args.log_level, rust_log.as_deref()) {
        Ok(chosen) => chosen,
        Err(message) => return Outcome::Usage(message),
    };
    // Kept to the end: dropping it writes the lines still waiting.
    let _log_writer = match logs::install(filter) {
        Ok(guard) => guard,
        Err(message) => return Outcome::Error(message),
    };
    if let logs::Source::RustLog(spec) = &source {
        eprintln!("sigstack serve: logging as RUST_LOG={spec} says (it overrides --log-level)");
    }
    let data_dir = match &args.data_dir {
        Some(dir) => match std::fs::create_dir_all(dir) {
            Ok(()) => dir.clone(),
            Err(e) => return Outcome::Usage(format!("cannot create data directory {}: {e}", dir.display())),
        },
        None => match tempfile::Builder::new().prefix("sigstack-serve-").tempdir() {
            Ok(dir) => dir.keep(),
            Err(e) => return Outcome::Error(format!("cannot create a temporary data directory: {e}")),
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return Outcome::Error(format!("cannot start the async runtime: {e}")),
    };
    let outcome = runtime.block_on(run(args, data_dir));
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

/// Keystone's seed: `<data-dir>/seed.json` when present (`{"roles": [...], "projects": [...],
/// "users": [{"name", "password", "project", "roles": [...]}]}`), the defaults otherwise. It is
/// applied once, when the data directory is new.
fn load_seed(data_dir: &std::path::Path) -> Result<Seed, String> {
    let path = data_dir.join(SEED_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("invalid seed file {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Seed::default()),
        Err(e) => Err(format!("cannot read seed file {}: {e}", path.display())),
    }
}

/// The seed file's name inside the data directory.
pub const SEED_FILE: &str = "seed.json";

async fn run(args: ServeArgs, data_dir: PathBuf) -> Outcome {
    let seed = match load_seed(&data_dir) {
        Ok(seed) => seed,
        Err(message) => return Outcome::Usage(message),
    };
    let deployment = match Deployment::load(&args.deployment) {
        Ok(d) => d,
        Err(e) => return Outcome::Usage(e.to_string()),
    };
    let tls = match server_tls(&args, &data_dir) {
        Ok(tls) => tls,
        Err(message) => return Outcome::Usage(message),
    };
    let config = CloudConfig {
        host: args.host,
        port_base: args.port_base,
        data_dir: Some(data_dir.clone()),
        seed,
        deployment,
        tls,
        ..CloudConfig::default()
    };
    let cloud = match sigstack_cloud::start(config).await {
        Ok(cloud) => cloud,
        Err(e @ CloudError::Bind { .. }) => return Outcome::Usage(e.to_string()),
        Err(e @ CloudError::DataDir(..)) => return Outcome::Usage(e.to_string()),
        Err(e @ CloudError::Tls(_)) => return Outcome::Usage(e.to_string()),
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let clouds_yaml = args.clouds_yaml.unwrap_or_else(|| data_dir.join("clouds.yaml"));
    let openrcs = match write_client_config(&cloud, &clouds_yaml) {
        Ok(files) => files,
        Err(e) => return Outcome::Usage(e),
    };
    // Listen for the stop signals before announcing `ready`, so a signal sent right after it
    // is not lost.
    let mut stop = match StopSignals::listen() {
        Ok(stop) => stop,
        Err(outcome) => return outcome,
    };

    let mut lines = vec![format!("data-dir: {}", data_dir.display()), format!("clouds-yaml: {}", clouds_yaml.display())];
    lines.extend(openrcs.iter().map(|p| format!("openrc: {}", p.display())));
    if let Some(cacert) = &cloud.tls.cacert {
        lines.push(format!("cacert: {}", cacert.display()));
    }
    lines.push(format!("identity: {}", cloud.endpoints.identity));
    lines.push(format!("key-manager: {}", cloud.endpoints.key_manager));
    lines.push(format!("image: {}", cloud.endpoints.image));
    lines.push(format!("compute: {}", cloud.endpoints.compute));
    lines.push(format!("volume: {}", cloud.endpoints.volume));
    lines.push(format!("network: {}", cloud.endpoints.network));
    lines.push(format!("deployment: {}", cloud.deployment.get().name));
    lines.push(format!("capabilities: {}", capabilities_path(&clouds_yaml).display()));
    lines.push(format!("control-token: {}", clouds_yaml.with_file_name(CONTROL_TOKEN_FILE).display()));
    lines.push(format!("clouds: {}", written_clouds(&cloud).map(|(name, _)| name).collect::<Vec<_>>().join(" ")));
    lines.push("ready".into());
    // A closed stdout (the parent stopped reading) must not take the cloud down.
    let mut out = std::io::stdout().lock();
    for line in &lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    drop(out);
    if args.data_dir.is_none() {
        eprintln!("sigstack serve: using the new data directory {} (kept after exit)", data_dir.display());
    }

    stop.wait().await;
    eprintln!("sigstack serve: stopping");
    if tokio::time::timeout(SHUTDOWN_GRACE, cloud.shutdown()).await.is_err() {
        eprintln!("sigstack serve: requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    Outcome::Success
}

/// The listeners' TLS: the operator's files, the generated ones (`--tls`), or none.
fn server_tls(args: &ServeArgs, data_dir: &Path) -> Result<Option<ServerTls>, String> {
    if let Some(given) = args.tls_files.given(args.host) {
        return given.map(Some);
    }
    if !args.tls {
        return Ok(None);
    }
    let (files, made) = tls::generated(data_dir, args.host)?;
    let dir = data_dir.join(tls::TLS_DIR);
    match made {
        tls::Made::New => eprintln!("sigstack serve: made a new CA and server certificate in {}", dir.display()),
        tls::Made::Reused => eprintln!("sigstack serve: reusing the CA and server certificate in {}", dir.display()),
        tls::Made::NewServerCertificate => {
            eprintln!("sigstack serve: reusing the CA in {}; issued a new server certificate for {}", dir.display(), args.host)
        }
    }
    Ok(Some(files))
}

/// YAML double-quoted scalar (JSON string syntax is a subset).
fn yaml(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// POSIX shell single-quoted word.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn credentials(cloud: &CloudHandle, user: &str) -> Result<Credentials, String> {
    cloud.credentials(user).ok_or_else(|| format!("the seed has no user '{user}'"))
}

/// The clouds written: the required ones, then the optional ones whose user the seed has.
fn written_clouds(cloud: &CloudHandle) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    CLOUDS.into_iter().enumerate().filter(|(i, (_, user))| *i < REQUIRED_CLOUDS || cloud.credentials(user).is_some()).map(|(_, c)| c)
}

fn capabilities_path(clouds_yaml: &Path) -> PathBuf {
    clouds_yaml.with_file_name(CAPABILITIES_FILE)
}

/// The conformance suite's capability file for this cloud: which clouds.yaml entry each suite
/// user is, and what the deployment offers.
fn capabilities_yaml(cloud: &CloudHandle, control_token: &Path) -> String {
    let mut text =
        String::from("# Written by `sigstack serve`: `sigstack conformance --cloud sigstack-demo --capabilities <this file>`.\nusers:\n");
    for (name, user) in written_clouds(cloud) {
        text.push_str(&format!("  {}: {}\n", yaml(user), yaml(name)));
    }
    // The suite reaches `/_sim/` with the control token (absolute: a copy of this file
    // elsewhere still finds it).
    let token_file = std::path::absolute(control_token).unwrap_or_else(|_| control_token.to_path_buf());
    text.push_str(&format!("settings:\n  control_token_file: {}\n", yaml(&token_file.display().to_string())));
    // The same capabilities the embedded target declares, so a run through this file and an
    // embedded run select the same scenarios.
    text.push_str("capabilities:\n");
    for (name, value) in &sigstack_scenarios::target::embedded_capabilities(cloud).0 {
        // Booleans, profile names and formats: plain YAML scalars.
        text.push_str(&format!("  {name}: {value}\n"));
    }
    text
}

/// os-client-config's clouds.yaml for every cloud in [`CLOUDS`].
fn clouds_yaml(cloud: &CloudHandle) -> Result<String, String> {
    let mut text = String::from(
        "# Written by `sigstack serve`: the simulated cloud, for openstack CLI / SDK clients.\n# Use: export OS_CLIENT_CONFIG_FILE=<this file> OS_CLOUD=sigstack-admin (or sigstack-demo, ...)\nclouds:\n",
    );
    for (name, user) in written_clouds(cloud) {
        let c = credentials(cloud, user)?;
        let project = c.project_name.clone().unwrap_or_default();
        let cacert = c.tls.cacert.as_ref().map(|p| format!("    cacert: {}\n", yaml(&p.display().to_string()))).unwrap_or_default();
        text.push_str(&format!(
            "  {name}:\n    auth:\n      auth_url: {}\n      username: {}\n      password: {}\n      project_name: {}\n      user_domain_name: {}\n      project_domain_name: {}\n    region_name: {}\n    interface: {}\n    identity_api_version: 3\n{cacert}",
            yaml(&c.auth_url),
            yaml(&c.username),
            yaml(&c.password),
            yaml(&project),
            yaml(&c.user_domain_name),
            yaml(&c.project_domain_name),
            yaml(c.region_name.as_deref().unwrap_or("RegionOne")),
            yaml(&c.interface),
        ));
    }
    Ok(text)
}

fn openrc(cloud: &CloudHandle, name: &str, user: &str) -> Result<String, String> {
    let c = credentials(cloud, user)?;
    let vars = [
        ("OS_AUTH_URL", c.auth_url.clone()),
        ("OS_USERNAME", c.username.clone()),
        ("OS_PASSWORD", c.password.clone()),
        ("OS_PROJECT_NAME", c.project_name.clone().unwrap_or_default()),
        ("OS_USER_DOMAIN_NAME", c.user_domain_name.clone()),
        ("OS_PROJECT_DOMAIN_NAME", c.project_domain_name.clone()),
        ("OS_REGION_NAME", c.region_name.clone().unwrap_or_else(|| "RegionOne".into())),
        ("OS_IDENTITY_API_VERSION", "3".into()),
        ("OS_INTERFACE", c.interface.clone()),
    ];
    let cacert = c.tls.cacert.as_ref().map(|p| ("OS_CACERT", p.display().to_string()));
    let mut text = format!("# Written by `sigstack serve`: source it to use {name} with the openstack CLI.\n");
    for (var, value) in vars.into_iter().chain(cacert) {
        text.push_str(&format!("export {var}={}\n", sh(&value)));
    }
    Ok(text)
}

/// Writes clouds.yaml and the openrc files beside it; returns the openrc paths.
fn write_client_config(cloud: &CloudHandle, clouds_yaml_path: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = match clouds_yaml_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write = |path: &Path, text: String| std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()));
    write(clouds_yaml_path, clouds_yaml(cloud)?)?;
    let control_token = clouds_yaml_path.with_file_name(CONTROL_TOKEN_FILE);
    write_private(&control_token, cloud.control_token())?;
    write(&capabilities_path(clouds_yaml_path), capabilities_yaml(cloud, &control_token))?;
    let mut written = Vec::new();
    for (name, user) in written_clouds(cloud) {
        let path = dir.join(format!("{name}-openrc.sh"));
        write(&path, openrc(cloud, name, user)?)?;
        written.push(path);
    }
    Ok(written)
}

/// Writes a secret readable by its owner only (mode 0600 from the start: never briefly
/// world-readable), replacing what was there.
fn write_private(path: &Path, secret: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    // A file left by an earlier run may have wider permissions: remove it, then create anew.
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed(e)),
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(failed)?;
    writeln!(file, "{secret}").map_err(failed)
}

/// SIGTERM and SIGINT, listened for before `ready` is printed so that a signal sent right
/// after it is not lost.
pub(crate) struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    pub(crate) fn listen() -> Result<StopSignals, Outcome> {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(terminate), Ok(interrupt)) => Ok(StopSignals { terminate, interrupt }),
            (Err(e), _) | (_, Err(e)) => Err(Outcome::Error(format!("cannot handle SIGTERM/SIGINT: {e}"))),
        }
    }

    pub(crate) async fn wait(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
