//! Streaming an image's data from Glance: memory stays bounded whatever the image size.
//!
//! The download runs on the async side; the chunks go through a small bounded channel to a
//! blocking thread that owns the hasher or verifier, so several images at once hash on as
//! many cores while their downloads overlap. A slow hasher holds the download back (the
//! channel is full), so at most [`QUEUED_CHUNKS`] chunks per image wait in memory, plus what
//! the HTTP stack buffers for the connection.

use futures_util::StreamExt;
use sigstack_client::{Session, image};

use crate::Progress;

/// Chunks of one download waiting for its hashing thread (each is what the HTTP stack
/// delivers, typically 8–64 KiB).
pub(crate) const QUEUED_CHUNKS: usize = 4;

/// Why streaming an image's data stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamError {
    /// Glance has no data for it (204: status queued).
    #[error("the image has no data")]
    NoData,
    /// Glance refused or the connection broke.
    #[error("download failed: {0}")]
    Glance(sigstack_client::Error),
    /// The runtime shut down under the hashing thread.
    #[error("the hashing thread was cancelled")]
    Cancelled,
}

/// Something that consumes an image's data on a blocking thread (a hasher, a verifier).
pub(crate) trait Sink: Send + 'static {
    fn update(&mut self, chunk: &[u8]);
}

impl Sink for sigstack_verify::Verifier {
    fn update(&mut self, chunk: &[u8]) {
        sigstack_verify::Verifier::update(self, chunk);
    }
}

impl Sink for sigstack_verify::Hasher {
    fn update(&mut self, chunk: &[u8]) {
        sigstack_verify::Hasher::update(self, chunk);
    }
}

/// Streams image `id` chunk by chunk into `sink` on a blocking thread, reporting to
/// `progress` under `id` and `label`. Returns the sink once every byte went through it.
pub(crate) async fn stream_image<S: Sink>(
    session: &Session,
    id: &str,
    label: &str,
    progress: &dyn Progress,
    mut sink: S,
) -> Result<S, StreamError> {
    let download = image::download(session, id).await.map_err(StreamError::Glance)?.ok_or(StreamError::NoData)?;
    progress.download_started(id, label, download.content_length);
    let mut stream = Box::pin(download.stream());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(QUEUED_CHUNKS);
    let worker = tokio::task::spawn_blocking(move || {
        while let Some(chunk) = rx.blocking_recv() {
            sink.update(&chunk);
        }
        sink
    });
    let result = loop {
        match stream.next().await {
            None => break Ok(()),
            Some(Err(e)) => break Err(StreamError::Glance(e)),
            Some(Ok(chunk)) => {
                let len = chunk.len() as u64;
                // Only fails when the thread is gone, i.e. it panicked: the join says so.
                if tx.send(chunk).await.is_err() {
                    break Ok(());
                }
                progress.downloaded(id, len);
            }
        }
    };
    drop(tx);
    progress.download_finished(id);
    let sink = match worker.await {
        Ok(sink) => sink,
        // A bug in the hasher: the caller's panic, not an image's problem.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => return Err(StreamError::Cancelled),
    };
    result.map(|()| sink)
}
