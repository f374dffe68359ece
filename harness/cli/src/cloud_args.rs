//! What the operator tools (`audit`, `sign-images`) share: picking a cloud from clouds.yaml
//! (the same `sigstack_client::clouds` code the conformance suite uses), the async runtime,
//! progress on stderr, and aligned tables.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sigstack_client::Session;
use sigstack_client::clouds::{CloudsYaml, find_clouds_yaml};
use sigstack_ops::{CertificateSecret, Progress};

use crate::Outcome;

/// Which cloud: `--cloud NAME`, else `$OS_CLOUD`, as the openstack CLI does.
pub fn cloud_name(arg: Option<String>) -> Result<String, Outcome> {
    arg.filter(|s| !s.is_empty())
        .or_else(|| std::env::var("OS_CLOUD").ok().filter(|s| !s.is_empty()))
        .ok_or_else(|| Outcome::Usage("no cloud given: pass --cloud NAME or set OS_CLOUD".into()))
}

/// Authenticates as cloud `name` of the clouds.yaml openstacksdk would find. A missing or bad
/// clouds.yaml is a usage error (exit 2); a cloud that refuses the login is a failure (exit 1).
pub async fn session(name: &str) -> Result<Session, Outcome> {
    let path = find_clouds_yaml().map_err(|e| Outcome::Usage(e.to_string()))?;
    let yaml = CloudsYaml::load(&path).map_err(|e| Outcome::Usage(e.to_string()))?;
    let credentials = yaml.credentials(name).map_err(|e| Outcome::Usage(e.to_string()))?;
    Session::authenticate(&credentials)
        .await
        .map_err(|e| Outcome::Error(format!("cannot authenticate as cloud '{name}' at {}: {e}", credentials.auth_url)))
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
    let target =
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
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
        let t = table(&["ID", "NAME", "STATE"], &[vec!["a".into(), "longer-name".into(), "x".into()], vec!["bbbb".into(), "n".into(), "yy".into()]]);
        assert_eq!(t, "ID    NAME         STATE\na     longer-name  x\nbbbb  n            yy\n");
    }
}
