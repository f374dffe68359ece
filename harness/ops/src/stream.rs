//! Streaming an image's data from Glance: memory stays bounded whatever the image size.

use futures_util::StreamExt;
use sigstack_client::{Session, image};

use crate::Progress;

/// Why streaming an image's data stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamError {
    /// Glance has no data for it (204: status queued).
    #[error("the image has no data")]
    NoData,
    /// Glance refused or the connection broke.
    #[error("download failed: {0}")]
    Glance(sigstack_client::Error),
}

/// Streams image `id` chunk by chunk into `sink`, reporting to `progress` under `label`.
/// Returns the byte count.
pub(crate) async fn stream_image(
    session: &Session,
    id: &str,
    label: &str,
    progress: &dyn Progress,
    mut sink: impl FnMut(&[u8]) + Send,
) -> Result<u64, StreamError> {
    let download = image::download(session, id).await.map_err(StreamError::Glance)?.ok_or(StreamError::NoData)?;
    progress.download_started(label, download.content_length);
    let mut stream = Box::pin(download.stream());
    let mut total = 0u64;
    let result = loop {
        match stream.next().await {
            None => break Ok(total),
            Some(Err(e)) => break Err(StreamError::Glance(e)),
            Some(Ok(chunk)) => {
                sink(&chunk);
                total += chunk.len() as u64;
                progress.downloaded(chunk.len() as u64);
            }
        }
    };
    progress.download_finished();
    result
}
