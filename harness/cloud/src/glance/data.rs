//! Image data on disk and the one-pass ingest: bytes stream in, go to a temporary file in the
//! destination directory and, in the same pass, through MD5 (`checksum`), SHA-512
//! (`os_hash_value`) and the signature verifier; the file is renamed into place only when all
//! of that succeeded, so a failed or interrupted upload leaves no partial file.
//!
//! Layout under the data directory: `<id>` per active image, `staging/<id>` for
//! `glance-direct`, `.upload-*` temporaries (removed at start-up).
//!
//! Memory is bounded: each worker has a channel of [`DEPTH`] chunks and the body is only read
//! when every worker has room. The hashes run on separate blocking threads because MD5 and
//! SHA-512 together cost more than the verifier's SHA-256 and would otherwise serialise on
//! one core.

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use md5::Digest as _;
use sigstack_verify::Verifier;
use tempfile::TempPath;
use tokio::sync::mpsc;

use super::format::HEAD_LEN;

/// Chunks queued per worker.
const DEPTH: usize = 8;
/// Small chunks are gathered up to this size before they are handed to the workers.
const GATHER: usize = sigstack_verify::READ_BUFFER;
const TEMP_PREFIX: &str = ".upload-";

pub fn image_path(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join(id)
}

pub fn staging_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("staging")
}

pub fn staged_path(data_dir: &Path, id: &str) -> PathBuf {
    staging_dir(data_dir).join(id)
}

/// Creates the directories and removes temporaries left by a crash.
pub fn prepare_dirs(data_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(staging_dir(data_dir))?;
    for dir in [data_dir.to_path_buf(), staging_dir(data_dir)] {
        for entry in std::fs::read_dir(&dir)?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

pub fn remove_image_data(data_dir: &Path, id: &str) {
    let _ = std::fs::remove_file(image_path(data_dir, id));
}

pub fn remove_staged(data_dir: &Path, id: &str) {
    let _ = std::fs::remove_file(staged_path(data_dir, id));
}

/// What the pass computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    /// MD5 hex; `None` when hashing was not asked for (staging).
    pub md5: Option<String>,
    /// SHA-512 hex.
    pub sha512: Option<String>,
    /// The first bytes, for the disk-format inspector.
    pub head: Vec<u8>,
}

/// Why an ingest failed.
#[derive(Debug)]
pub enum IngestError {
    /// The body ended early or errored (the client went away).
    Source(String),
    /// Writing the file failed.
    Io(std::io::Error),
    /// The data does not match the signature (or the verifier failed at the end).
    Signature(sigstack_verify::Error),
}

impl Display for IngestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IngestError::Source(e) => write!(f, "reading image data: {e}"),
            IngestError::Io(e) => write!(f, "writing image data: {e}"),
            IngestError::Signature(e) => write!(f, "{e}"),
        }
    }
}

/// A finished ingest: the temporary file (deleted if dropped) and its digests.
pub struct Ingested {
    pub temp: TempPath,
    pub digests: Digests,
}

impl Ingested {
    /// Renames the file into place.
    pub fn persist(self, to: &Path) -> std::io::Result<Digests> {
        self.temp.persist(to).map_err(|e| e.error)?;
        Ok(self.digests)
    }
}

enum Sink {
    Md5(md5::Md5),
    Sha512(sha2::Sha512),
    // Boxed: the verifier (key and signature) dwarfs the other sinks.
    Verify(Box<Verifier>),
    File(std::fs::File),
}

enum Outcome {
    Md5(String),
    Sha512(Vec<u8>),
    Verified(Result<(), sigstack_verify::Error>),
    Written,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sink {
    fn feed(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Md5(h) => h.update(chunk),
            Sink::Sha512(h) => h.update(chunk),
            Sink::Verify(v) => v.update(chunk),
            Sink::File(f) => f.write_all(chunk)?,
        }
        Ok(())
    }

    fn finish(self) -> std::io::Result<Outcome> {
        Ok(match self {
            Sink::Md5(h) => Outcome::Md5(hex(&h.finalize())),
            Sink::Sha512(h) => Outcome::Sha512(h.finalize().to_vec()),
            Sink::Verify(v) => Outcome::Verified(v.finish()),
            Sink::File(mut f) => {
                f.flush()?;
                Outcome::Written
            }
        })
    }
}

type Worker = tokio::task::JoinHandle<std::io::Result<Vec<Outcome>>>;

fn spawn_worker(mut sinks: Vec<Sink>) -> (mpsc::Sender<Bytes>, Worker) {
    let (tx, mut rx) = mpsc::channel::<Bytes>(DEPTH);
    let handle = tokio::task::spawn_blocking(move || {
        while let Some(chunk) = rx.blocking_recv() {
            for sink in &mut sinks {
                sink.feed(&chunk)?;
            }
        }
        sinks.into_iter().map(Sink::finish).collect()
    });
    (tx, handle)
}

/// Streams `source` into a new temporary file in `dir`, hashing when `hash` is set and
/// feeding `verifier` if given. `expected` (the request's Content-Length) catches a body that
/// ended early without an error.
pub async fn ingest<S, B, E>(
    mut source: S,
    dir: &Path,
    hash: bool,
    verifier: Option<Verifier>,
    expected: Option<u64>,
) -> Result<Ingested, IngestError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Into<Bytes>,
    E: Display,
{
    let temp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir).map_err(IngestError::Io)?;
    let (file, temp) = temp.into_parts();
    // Three workers: MD5, SHA-512 and verifier + file, balanced for two cores.
    let mut groups: Vec<Vec<Sink>> = Vec::new();
    if hash {
        groups.push(vec![Sink::Md5(md5::Md5::new())]);
        groups.push(vec![Sink::Sha512(sha2::Sha512::new())]);
    }
    let mut last = vec![Sink::File(file)];
    // A SHA-512 signature is checked against the `os_hash_value` digest: same bytes, same
    // algorithm, so the data is not hashed twice.
    let mut shares_sha512 = None;
    match verifier {
        Some(v) if hash && v.hash_method() == sigstack_verify::HashMethod::Sha512 => shares_sha512 = Some(v),
        Some(v) => last.insert(0, Sink::Verify(Box::new(v))),
        None => {}
    }
    groups.push(last);
    let (senders, workers): (Vec<_>, Vec<_>) = groups.into_iter().map(spawn_worker).unzip();

    let mut size = 0u64;
    let mut head = Vec::new();
    let mut gathered = BytesMut::new();
    let mut source_error = None;
    let send = |chunk: Bytes| {
        let senders = &senders;
        async move {
            for tx in senders {
                // A closed channel means the worker failed; its error is collected below.
                if tx.send(chunk.clone()).await.is_err() {
                    return false;
                }
            }
            true
        }
    };
    let mut open = true;
    while open {
        match source.next().await {
            Some(Ok(chunk)) => {
                let chunk: Bytes = chunk.into();
                size += chunk.len() as u64;
                if head.len() < HEAD_LEN {
                    let take = (HEAD_LEN - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..take]);
                }
                if chunk.len() >= GATHER && gathered.is_empty() {
                    open = send(chunk).await;
                } else {
                    gathered.extend_from_slice(&chunk);
                    if gathered.len() >= GATHER {
                        open = send(gathered.split().freeze()).await;
                    }
                }
            }
            Some(Err(e)) => {
                source_error = Some(e.to_string());
                break;
            }
            None => break,
        }
    }
    if open && source_error.is_none() && !gathered.is_empty() {
        send(gathered.split().freeze()).await;
    }
    drop(senders);
    let mut digests = Digests { size, md5: None, sha512: None, head };
    let mut verdict = Ok(());
    let mut sha512 = None;
    let mut io_error = None;
    for worker in workers {
        match worker.await {
            Ok(Ok(outcomes)) => {
                for outcome in outcomes {
                    match outcome {
                        Outcome::Md5(h) => digests.md5 = Some(h),
                        Outcome::Sha512(h) => {
                            digests.sha512 = Some(hex(&h));
                            sha512 = Some(h);
                        }
                        Outcome::Verified(v) => verdict = v,
                        Outcome::Written => {}
                    }
                }
            }
            Ok(Err(e)) => io_error = Some(e),
            Err(e) => io_error = Some(std::io::Error::other(e.to_string())),
        }
    }
    if let Some(e) = source_error {
        return Err(IngestError::Source(e));
    }
    if let Some(expected) = expected.filter(|n| *n != size) {
        return Err(IngestError::Source(format!("expected {expected} bytes, got {size}")));
    }
    if let Some(e) = io_error {
        return Err(IngestError::Io(e));
    }
    if let Some(v) = shares_sha512 {
        verdict = match &sha512 {
            Some(digest) => v.finish_with_digest(digest),
            None => Err(sigstack_verify::Error::InvalidSignature),
        };
    }
    verdict.map_err(IngestError::Signature)?;
    Ok(Ingested { temp, digests })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_writes_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: Vec<Result<Bytes, std::io::Error>> = (0..100u8).map(|i| Ok(Bytes::from(vec![i; 1000 + i as usize * 1000]))).collect();
        let all: Vec<u8> = chunks.iter().flat_map(|c| c.as_ref().unwrap().to_vec()).collect();
        let got = ingest(futures_util::stream::iter(chunks), dir.path(), true, None, None).await.unwrap();
        let digests = got.persist(&dir.path().join("img")).unwrap();
        assert_eq!(digests.size, all.len() as u64);
        assert_eq!(digests.md5.unwrap(), hex(&md5::Md5::digest(&all)));
        assert_eq!(digests.sha512.unwrap(), hex(&sha2::Sha512::digest(&all)));
        assert_eq!(std::fs::read(dir.path().join("img")).unwrap(), all);
    }

    #[tokio::test]
    async fn a_failed_source_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: Vec<Result<Bytes, String>> = vec![Ok(Bytes::from_static(b"abc")), Err("reset".into())];
        let got = ingest(futures_util::stream::iter(chunks), dir.path(), true, None, None).await;
        assert!(matches!(got, Err(IngestError::Source(_))));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let short: Vec<Result<Bytes, String>> = vec![Ok(Bytes::from_static(b"abc"))];
        let got = ingest(futures_util::stream::iter(short), dir.path(), true, None, Some(10)).await;
        assert!(matches!(got, Err(IngestError::Source(_))));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
