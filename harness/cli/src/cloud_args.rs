//! What the operator tools (`audit`, `sign-images`) share: picking a cloud from clouds.yaml,
//! secure.yaml or the environment (the same `sigstack_client::clouds` code the conformance
//! suite uses), the async runtime,
//! progress on stderr, and aligned tables.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
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

/// Shows the operator tools' progress on stderr: a bar for the run's images and one per
/// download in flight (several with `--jobs`), when stderr is a terminal; and which Barbican
/// secret sign-images uses.
pub struct CliProgress {
    multi: MultiProgress,
    /// The images bar, made on the first `images_done`.
    images: Mutex<Option<ProgressBar>>,
    /// The downloads in flight, by image id.
    downloads: Mutex<HashMap<String, ProgressBar>>,
}

impl Default for CliProgress {
    fn default() -> CliProgress {
        // Hidden unless stderr is a terminal, so logs and pipes never get control characters.
        let target = if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        CliProgress { multi: MultiProgress::with_draw_target(target), images: Mutex::new(None), downloads: Mutex::new(HashMap::new()) }
    }
}

/// A lock whose holder panicked leaves only progress bars behind.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl CliProgress {
    /// A line on stderr that the bars do not draw over.
    fn note(&self, line: &str) {
        self.multi.suspend(|| eprintln!("{line}"));
    }
}

impl Progress for CliProgress {
    fn download_started(&self, id: &str, label: &str, total: Option<u64>) {
        let bar = self.multi.add(total.map_or_else(ProgressBar::no_length, ProgressBar::new));
        if let Ok(style) = ProgressStyle::with_template("{msg:30!} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}") {
            bar.set_style(style);
        }
        bar.set_message(label.to_owned());
        if let Some(old) = lock(&self.downloads).insert(id.to_owned(), bar) {
            old.finish_and_clear();
            self.multi.remove(&old);
        }
    }

    fn downloaded(&self, id: &str, bytes: u64) {
        if let Some(bar) = lock(&self.downloads).get(id) {
            bar.inc(bytes);
        }
    }

    fn download_finished(&self, id: &str) {
        if let Some(bar) = lock(&self.downloads).remove(id) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }

    fn images_done(&self, done: usize, total: usize) {
        let mut images = lock(&self.images);
        let bar = images.get_or_insert_with(|| {
            let bar = self.multi.insert(0, ProgressBar::new(total as u64));
            if let Ok(style) = ProgressStyle::with_template("{msg:30!} {bar:30} {pos}/{len} images {per_sec} eta {eta}") {
                bar.set_style(style);
            }
            bar.set_message("images");
            bar
        });
        bar.set_position(done as u64);
        if done >= total {
            bar.finish_and_clear();
        }
    }

    fn certificate(&self, secret: &CertificateSecret) {
        match secret {
            CertificateSecret::Given { .. } => {}
            CertificateSecret::Existing { id, name } => self.note(&format!("using the certificate already stored as secret {id} ({name})")),
            CertificateSecret::WouldStore { name } => {
                self.note(&format!("dry run: would store the certificate in Barbican as secret '{name}'"))
            }
            CertificateSecret::Stored { id, name } => self.note(&format!("stored the certificate as secret {id} ({name})")),
        }
    }
}

/// `--jobs N`'s value: a whole number, at least 1.
pub fn parse_jobs(text: &str) -> Result<NonZeroUsize, String> {
    text.parse::<NonZeroUsize>().map_err(|_| "expected a whole number of images at once, at least 1".to_owned())
}

/// `--jobs`, or by default the number of CPUs the process may use.
pub fn jobs(given: Option<NonZeroUsize>) -> NonZeroUsize {
    given.or_else(|| std::thread::available_parallelism().ok()).unwrap_or(NonZeroUsize::MIN)
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
