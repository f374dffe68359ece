//! Reading the CLI's inputs: certificates, keys, signatures, times, and streaming image files.

use std::fs::File;
use std::io::{self, IsTerminal};
use std::path::Path;
use std::time::SystemTime;

use indicatif::{ProgressBar, ProgressStyle};
use sigstack_verify::{Certificate, Error, read_ahead};

use crate::Outcome;

/// Images above this size get a progress bar when stderr is a terminal.
const PROGRESS_THRESHOLD: u64 = 1 << 30;

pub fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Outcome> {
    std::fs::read(path).map_err(|e| Outcome::Usage(format!("cannot read {what} {}: {e}", path.display())))
}

/// A certificate file (PEM, possibly with leading text, or DER). A file that is not a
/// certificate is a verification failure, as it would be in OpenStack.
pub fn certificate(path: &Path) -> Result<Certificate, Outcome> {
    let bytes = read_file(path, "certificate")?;
    Certificate::from_pem_or_der(&bytes).map_err(|e| Outcome::Failed(e.to_string()))
}

/// `--signature`: base64 text, or `@path` to a file holding it.
pub fn signature_text(arg: &str) -> Result<String, Outcome> {
    match arg.strip_prefix('@') {
        Some(path) => {
            let bytes = read_file(Path::new(path), "signature file")?;
            String::from_utf8(bytes).map_err(|_| Outcome::Failed(Error::NonAsciiSignature.to_string()))
        }
        None => Ok(arg.to_owned()),
    }
}

/// `--now`: an RFC 3339 time; absent means the real clock.
pub fn now(arg: Option<&str>) -> Result<SystemTime, Outcome> {
    let Some(text) = arg else { return Ok(SystemTime::now()) };
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| Outcome::Usage(format!("invalid --now '{text}': {e} (expected RFC 3339, e.g. 2026-11-23T12:00:00Z)")))?;
    Ok(SystemTime::from(parsed))
}

/// Streams a file through `sink` in fixed-size chunks; memory stays bounded whatever its size.
/// The file is read on a helper thread into a small ring of buffers
/// ([`sigstack_verify::read_ahead`]) while `sink` hashes on this one, so the kernel's copy
/// overlaps the hash.
pub fn stream_file(path: &Path, mut sink: impl FnMut(&[u8])) -> Result<(), Outcome> {
    let unreadable = |e: io::Error| Outcome::Usage(format!("cannot read image {}: {e}", path.display()));
    let file = File::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    let progress = (size > PROGRESS_THRESHOLD && io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(size);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}") {
            bar.set_style(style);
        }
        bar
    });
    read_ahead(file, |chunk| {
        sink(chunk);
        if let Some(bar) = &progress {
            bar.inc(chunk.len() as u64);
        }
    })
    .map_err(unreadable)?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(())
}
