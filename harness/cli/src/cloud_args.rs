//! What the operator tools (`audit`, `sign-images`) share: picking a cloud from clouds.yaml,
//! secure.yaml or the environment (the same `sigstack_client::clouds` code the conformance
//! suite uses), the async runtime,
//! progress on stderr, and aligned tables.

use std::io::IsTerminal;
use std::sync::Mutex;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sigstack_client::Session;
use sigstack_client::clouds::{self, ResolvedCloud, SearchPath};
use sigstack_ops::{CertificateSecret, Progress};

use crate::Outcome;

/// Which cloud and how to trust it, for the commands that work on one.
#[derive(Args, Clone, Debug, Default)]
pub struct CloudSelection {
    /// The cloud in clouds.yaml (default: $OS_CLOUD; without either: the OS_* variables of
    /// a sourced openrc file, else clouds.yaml's only cloud). secure.yaml is merged as the
    /// OpenStack clients do.
    #[arg(long, value_name = "NAME")]
    pub cloud: Option<String>,
    /// Do not verify the cloud's TLS certificates (as `verify: false` in clouds.yaml; a
    /// warning is printed).
    #[arg(long)]
    pub insecure: bool,
}

/// Resolves the cloud as the `openstack` CLI would. A missing or bad clouds.yaml, an
/// unknown cloud or auth type, a missing option: usage errors (exit 2) naming the key.
pub fn resolve(selection: &CloudSelection) -> Result<ResolvedCloud, Outcome> {
    let mut cloud = clouds::resolve(selection.cloud.as_deref(), None, &clouds::process_environment(), &SearchPath::from_process())
        .map_err(|e| Outcome::Usage(e.to_string()))?;
    if selection.insecure {
        cloud.credentials.tls.insecure = true;
    }
    Ok(cloud)
}

/// Authenticates to the resolved cloud. A TLS failure (unknown issuer, name mismatch, ...)
/// or bad TLS files are the caller's configuration (exit 2); a cloud that refuses the login
/// is a failure (exit 1).
pub async fn session(cloud: &ResolvedCloud) -> Result<Session, Outcome> {
    Session::authenticate(&cloud.credentials).await.map_err(|e| {
        let message = format!("cannot authenticate as cloud '{}' at {}: {e}", cloud.name, cloud.credentials.auth_url);
        if e.is_configuration() { Outcome::Usage(message) } else { Outcome::Error(message) }
    })
}

/// Runs an async command on a fresh runtime.
pub fn block_on<F: std::future::Future<Output = Outcome>>(future: F) -> Outcome {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(future),
        Err(e) => Outcome::Error(format!("cannot start the async runtime: {e}")),
    }
}

/// Shows the operator tools' progress on stderr: a bar per image download when stderr is a
/// terminal, and which Barbican secret sign-images uses.
#[derive(Default)]
pub struct CliProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl CliProgress {
    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        // A panic elsewhere while holding the lock leaves only a progress bar behind.
        self.bar.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Progress for CliProgress {
    fn download_started(&self, label: &str, total: Option<u64>) {
        *self.bar() = Some(progress_bar(total, label));
    }

    fn downloaded(&self, bytes: u64) {
        if let Some(bar) = self.bar().as_ref() {
            bar.inc(bytes);
        }
    }

    fn download_finished(&self) {
        if let Some(bar) = self.bar().take() {
            bar.finish_and_clear();
        }
    }

    fn certificate(&self, secret: &CertificateSecret) {
        match secret {
            CertificateSecret::Given { .. } => {}
            CertificateSecret::Existing { id, name } => eprintln!("using the certificate already stored as secret {id} ({name})"),
            CertificateSecret::WouldStore { name } => eprintln!("dry run: would store the certificate in Barbican as secret '{name}'"),
            CertificateSecret::Stored { id, name } => eprintln!("stored the certificate as secret {id} ({name})"),
        }
    }
}

/// Hidden unless stderr is a terminal, so logs and pipes never get control characters.
fn progress_bar(len: Option<u64>, label: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(len, target);
    if let Ok(style) = ProgressStyle::with_template("{msg:30!} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}") {
        bar.set_style(style);
    }
    bar.set_message(label.to_owned());
    bar
}

/// Columns padded to their widest cell (the last column is not padded).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_owned()
    };
    let mut text = line(header.to_vec());
    text.push('\n');
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn table_columns_align() {
        let t = table(
            &["ID", "NAME", "STATE"],
            &[vec!["a".into(), "longer-name".into(), "x".into()], vec!["bbbb".into(), "n".into(), "yy".into()]],
        );
        assert_eq!(t, "ID    NAME         STATE\na     longer-name  x\nbbbb  n            yy\n");
    }
}
