//! Image data on the wire: `PUT .../file` (upload, verified, A3/A4), `GET .../file`
//! (download, A6), `PUT .../stage` and `POST .../import` (`glance-direct`, A8).
//!
//! Upload and stage run in their own task: if the client goes away and hyper drops the
//! handler, the task still sees the body end early and puts the image back to `queued`; a
//! [`Restore`] guard does the same if anything unwinds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::json;

use super::data::{self, Digests, IngestError};
use super::format;
use super::http::{GlanceState, json_body};
use super::model::{HASH_ALGO, IMPORT_METHODS, Image, ImageService, Status, Task, now};
use super::signature;
use super::webob::Fault;
use crate::deployment::Defects;
use crate::python::py_display as pystr;
use crate::wire::AuthContext;

/// An early refusal still reads (and discards) this much of the body, so the client sees the
/// answer instead of a reset connection.
const DRAIN_LIMIT: u64 = 64 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(30);

async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let mut seen = 0u64;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len() as u64;
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    })
    .await;
}

/// `request.get_content_type(('application/octet-stream',))`, 415 otherwise.
fn octet_stream(headers: &HeaderMap) -> Result<(), Fault> {
    let value = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("").split(';').next().unwrap_or("").trim());
    match value {
        Some(v) if v.eq_ignore_ascii_case("application/octet-stream") => Ok(()),
        other => Err(Fault::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("Invalid content type {}", other.unwrap_or("None")))),
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Puts the image back to `queued` (from `from`) when dropped armed; from `uploading` it also
/// forgets the staged size.
struct Restore {
    model: Arc<ImageService>,
    id: String,
    from: Status,
    armed: bool,
}

impl Restore {
    fn new(model: Arc<ImageService>, id: &str, from: Status) -> Restore {
        Restore { model, id: id.to_owned(), from, armed: true }
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if self.armed {
            let from = self.from;
            let _ = self.model.modify(&self.id, |img| {
                if img.status == from {
                    img.status = Status::Queued;
                    if from == Status::Uploading {
                        img.size = None;
                    }
                }
                Ok(())
            });
        }
    }
}

fn gone(id: &str) -> Fault {
    Fault::new(
        StatusCode::GONE,
        format!(
            "Image {id} could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded."
        ),
    )
}

fn ingest_fault(id: &str, error: IngestError, defects: &Defects) -> Fault {
    match error {
        IngestError::Signature(e) => signature::upload_fault(id, &e, defects),
        IngestError::Source(_) => Fault::bad_request("Error reading image data: the request body ended early."),
        IngestError::Io(e) => Fault::internal_because(format!("image {id}: writing image data: {e}")),
    }
}

/// Whether the image an upload (or stage) is filling was deleted meanwhile, by `DELETE` or
/// by `POST /_sim/reset` (which also removes the upload's temporary file): it is gone, or no
/// longer in the status the upload put it in.
fn deleted_during_upload(model: &ImageService, id: &str, status: Status) -> bool {
    match model.load(id) {
        Ok(Some(image)) => image.status != status,
        Ok(None) => true,
        Err(e) => {
            crate::logging::cause(&e);
            false
        }
    }
}

/// What a failure while storing the data means: Glance's 410 if the image was deleted during
/// the upload, else `fault`.
fn storing_failed(model: &ImageService, id: &str, status: Status, fault: Fault) -> Fault {
    if deleted_during_upload(model, id, status) { gone(id) } else { fault }
}

/// Whether a [`size_capped`] body went past `image_size_cap`.
struct SizeCap(Arc<AtomicBool>);

impl SizeCap {
    fn exceeded(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// glance's `LimitingReader` over the image data (`wrap_data_for_store_upload`, and the
/// stage's own): the data fails as soon as more than `cap` bytes came, so the store stops and
/// removes what it wrote.
fn size_capped(body: Body, cap: u64) -> (impl futures_util::Stream<Item = Result<Bytes, String>> + Unpin, SizeCap) {
    let exceeded = Arc::new(AtomicBool::new(false));
    let flag = exceeded.clone();
    let mut read = 0u64;
    let data = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(|e| e.to_string())?;
        read = read.saturating_add(chunk.len() as u64);
        if read > cap {
            flag.store(true, Ordering::SeqCst);
            return Err(IMAGE_TOO_LARGE.to_owned());
        }
        Ok(chunk)
    });
    (data, SizeCap(exceeded))
}

/// `ImageSizeLimitExceeded`'s message.
const IMAGE_TOO_LARGE: &str = "The provided image is too large.";

/// How `upload` and `stage` answer `ImageSizeLimitExceeded` (the image goes back to `queued`).
fn too_large() -> Fault {
    Fault::new(StatusCode::PAYLOAD_TOO_LARGE, format!("The incoming image is too large: {IMAGE_TOO_LARGE}"))
}

/// Marks a verified, stored image active with its digests.
fn activate(img: &mut Image, digests: &Digests) {
    img.status = Status::Active;
    img.size = Some(digests.size);
    img.checksum = digests.md5.clone();
    img.os_hash_algo = Some(HASH_ALGO.to_owned());
    img.os_hash_value = digests.sha512.clone();
    img.virtual_size = format::virtual_size(img.disk_format.as_deref(), &digests.head, digests.size);
}

/// The start of an upload or a stage: octet-stream only, then the status change. A refused
/// request's body is drained first, so the client reads the error instead of a reset.
async fn begin(
    s: &GlanceState,
    ctx: &AuthContext,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    action: &str,
    to: Status,
) -> Result<(Image, Body), Fault> {
    match octet_stream(headers).and_then(|_| s.model.transition(ctx, id, action, to)) {
        Ok(image) => Ok((image, body)),
        Err(fault) => {
            drain(body).await;
            Err(fault)
        }
    }
}

/// `PUT /v2/images/{id}/file`.
pub async fn upload(
    State(s): State<GlanceState>,
    ctx: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Fault> {
    let (image, body) = begin(&s, &ctx, &id, &headers, body, "upload_image", Status::Saving).await?;
    let model = s.model.clone();
    let expected = content_length(&headers);
    let task = tokio::spawn(crate::logging::carry(save_data(model, ctx, image, body, expected)));
    task.await.unwrap_or_else(|e| Err(Fault::internal_because(format!("the upload task: {e}"))))
}

pub(super) async fn save_data(
    model: Arc<ImageService>,
    ctx: AuthContext,
    image: Image,
    body: Body,
    expected: Option<u64>,
) -> Result<Response, Fault> {
    let restore = Restore::new(model.clone(), &image.id, Status::Saving);
    let defects = model.defects();
    // The certificate is fetched before any data is read (A3 step 3); a Glance with the
    // `glance_skips_verification` defect never does.
    let verifier = match defects.glance_skips_verification {
        true => Ok(None),
        false => signature::verifier_for(model.http(), &ctx, &image.properties, model.profile()).await,
    };
    let verifier = match verifier {
        Ok(v) => v,
        Err(e) => {
            drain(body).await;
            return Err(signature::upload_fault(&image.id, &e, &defects));
        }
    };
    let (data, size_cap) = size_capped(body, model.options().image_size_cap);
    let ingested = match data::ingest(data, model.data_dir(), true, verifier, expected).await {
        Ok(ingested) => ingested,
        Err(_) if size_cap.exceeded() => return Err(too_large()),
        Err(e @ IngestError::Io(_)) => return Err(storing_failed(&model, &image.id, Status::Saving, ingest_fault(&image.id, e, &defects))),
        Err(e) => return Err(ingest_fault(&image.id, e, &defects)),
    };
    if let Some(msg) = format::mismatch(image.container_format.as_deref(), image.disk_format.as_deref(), &ingested.digests.head) {
        return Err(Fault::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, msg));
    }
    let path = data::image_path(model.data_dir(), &image.id);
    // A reset during the upload removed the temporary file: the rename fails.
    let digests = ingested.persist(&path).map_err(|e| {
        storing_failed(&model, &image.id, Status::Saving, Fault::internal_because(format!("image {}: storing the data: {e}", image.id)))
    })?;
    let finished = model.modify(&image.id, |img| {
        if img.status != Status::Saving {
            return Err(gone(&img.id));
        }
        activate(img, &digests);
        Ok(())
    });
    match finished {
        Ok(_) => {
            restore.disarm();
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        // Deleted meanwhile (404 from the store, or no longer `saving`): Glance's 410. A store
        // failure stays a 500. Either way the data goes.
        Err(fault) => {
            data::remove_image_data(model.data_dir(), &image.id);
            Err(if fault.status.is_server_error() { fault } else { gone(&image.id) })
        }
    }
}

/// `GET /v2/images/{id}/file`: streamed from disk; `Range: bytes=a-b` gives 206.
pub async fn download(
    State(s): State<GlanceState>,
    ctx: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let image = s.model.get(&ctx, &id)?;
    if image.status == Status::Deactivated && !ctx.is_admin() {
        return Err(Fault::forbidden("The requested image has been deactivated. Image data download is forbidden."));
    }
    let path = data::image_path(s.model.data_dir(), &id);
    let file = match image.has_data() {
        true => tokio::fs::File::open(&path).await.ok(),
        false => None,
    };
    let (Some(mut file), Some(size)) = (file, image.size) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|r| parse_range(r, size));
    let (status, start, len) = match range {
        None => (StatusCode::OK, 0, size),
        Some(Some((a, b))) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        Some(None) => return Err(Fault::new(StatusCode::RANGE_NOT_SATISFIABLE, "The Range requested is not available.")),
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start)).await.map_err(|_| Fault::internal())?;
    }
    let reader = tokio_util::io::ReaderStream::with_capacity(file.take(len), sigstack_verify::READ_BUFFER);
    let mut response = Response::new(Body::from_stream(reader));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Some(md5) = image.checksum.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
        h.insert("Content-MD5", md5);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{}", start, start + len - 1, size))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(response)
}

/// One `bytes=` range within `size`: `Some((first, last))`, `None` if unsatisfiable.
fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.is_empty(), b.is_empty()) {
        (true, false) => {
            let n: u64 = b.parse().ok()?;
            (size.checked_sub(n.min(size))?, size.checked_sub(1)?)
        }
        (false, _) => {
            let first: u64 = a.parse().ok()?;
            let last = if b.is_empty() { size.checked_sub(1)? } else { b.parse::<u64>().ok()?.min(size.checked_sub(1)?) };
            (first, last)
        }
        _ => return None,
    };
    (range.0 <= range.1 && range.1 < size).then_some(range)
}

/// `PUT /v2/images/{id}/stage`: data to the staging area, no verification, status `uploading`.
pub async fn stage(
    State(s): State<GlanceState>,
    ctx: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Fault> {
    let (image, body) = begin(&s, &ctx, &id, &headers, body, "modify_image", Status::Uploading).await?;
    let model = s.model.clone();
    let expected = content_length(&headers);
    let task = tokio::spawn(crate::logging::carry(async move {
        let restore = Restore::new(model.clone(), &image.id, Status::Uploading);
        let staging = data::staging_dir(model.data_dir());
        let (data, size_cap) = size_capped(body, model.options().image_size_cap);
        let ingested = match data::ingest(data, &staging, false, None, expected).await {
            Ok(ingested) => ingested,
            Err(_) if size_cap.exceeded() => return Err(too_large()),
            Err(e @ IngestError::Io(_)) => {
                return Err(storing_failed(&model, &image.id, Status::Uploading, ingest_fault(&image.id, e, &Defects::default())));
            }
            Err(e) => return Err(ingest_fault(&image.id, e, &Defects::default())),
        };
        let digests = ingested.persist(&data::staged_path(model.data_dir(), &image.id)).map_err(|e| {
            let fault = Fault::internal_because(format!("image {}: staging the data: {e}", image.id));
            storing_failed(&model, &image.id, Status::Uploading, fault)
        })?;
        let staged = model.modify(&image.id, |img| {
            if img.status != Status::Uploading {
                return Err(gone(&img.id));
            }
            img.size = Some(digests.size);
            Ok(())
        });
        match staged {
            Ok(_) => {
                restore.disarm();
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            Err(fault) => {
                data::remove_staged(model.data_dir(), &image.id);
                Err(if fault.status.is_server_error() { fault } else { gone(&image.id) })
            }
        }
    }));
    task.await.unwrap_or_else(|e| Err(Fault::internal_because(format!("the stage task: {e}"))))
}

const LOCK: &str = "os_glance_import_task";
const IMPORTING: &str = "os_glance_importing_to_stores";
const FAILED: &str = "os_glance_failed_import";
/// The failed import task's message (glance's taskflow executor, for any non-import error).
const IMPORT_FAILED: &str = "Task failed due to Internal Error";

/// `POST /v2/images/{id}/import`: checks as glance's `import_image`, then 202 and an
/// asynchronous task; poll the image (or `GET .../tasks`) for the outcome.
pub async fn import(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>, body: Bytes) -> Result<Response, Fault> {
    let body = json_body(&body)?;
    let method = body.get("method").ok_or_else(|| Fault::bad_request("Import request requires a 'method' field."))?;
    let name = method.get("name").ok_or_else(|| Fault::bad_request("Import request requires a 'name' field."))?;
    let name = pystr(name);
    if !IMPORT_METHODS.contains(&name.as_str()) {
        return Err(Fault::bad_request(format!("Unknown import method name '{name}'.")));
    }
    let image = s.model.get(&ctx, &id)?;
    if image.status == Status::Active {
        return Err(Fault::conflict("Image with status active cannot be target for import"));
    }
    if image.status != Status::Uploading {
        return Err(Fault::conflict("Image needs to be staged before 'glance-direct' method can be used"));
    }
    if image.container_format.is_none() {
        return Err(Fault::conflict("'container_format' needs to be set before import"));
    }
    if image.disk_format.is_none() {
        return Err(Fault::conflict("'disk_format' needs to be set before import"));
    }
    s.model.get_for(&ctx, &id, "modify_image")?;
    let stamp = now();
    let task = Task {
        id: uuid::Uuid::new_v4().to_string(),
        task_type: "api_image_import".into(),
        status: "pending".into(),
        owner: ctx.project_id.clone(),
        user_id: ctx.user_id.clone(),
        image_id: id.clone(),
        request_id: format!("req-{}", uuid::Uuid::new_v4()),
        input: json!({"image_id": id, "import_req": body, "backend": [null]}),
        result: None,
        message: String::new(),
        expires_at: None,
        created_at: stamp.clone(),
        updated_at: stamp,
    };
    s.model.modify(&id, |img| {
        if img.properties.contains_key(LOCK) {
            return Err(Fault::conflict("Image has active task"));
        }
        if !img.status.can_become(Status::Importing) {
            return Err(img.status.transition_error(Status::Importing));
        }
        img.status = Status::Importing;
        img.properties.insert(LOCK.into(), task.id.clone());
        // Single store: the store lists are empty strings, as glance writes them.
        img.properties.insert(IMPORTING.into(), String::new());
        img.properties.insert(FAILED.into(), String::new());
        Ok(())
    })?;
    s.model.save_task(&task)?;
    let request_id = super::http::TaskRequestId(task.request_id.clone());
    tokio::spawn(run_import(s.model.clone(), ctx, id, task));
    let mut response = StatusCode::ACCEPTED.into_response();
    response.extensions_mut().insert(request_id);
    Ok(response)
}

/// The `api_image_import` flow for `glance-direct`: the same verifier path as an upload, from
/// the staged file. A failure leaves the image `importing` (see below).
async fn run_import(model: Arc<ImageService>, ctx: AuthContext, id: String, mut task: Task) {
    task.status = "processing".into();
    task.updated_at = now();
    let _ = model.save_task(&task);
    let outcome = import_data(&model, &ctx, &id).await;
    let staged = data::staged_path(model.data_dir(), &id);
    let _ = std::fs::remove_file(&staged);
    let finished = match outcome {
        Ok(digests) => model.modify(&id, |img| {
            if img.status != Status::Importing {
                return Err(gone(&id));
            }
            activate(img, &digests);
            img.properties.remove(LOCK);
            Ok(())
        }),
        Err(reason) => {
            // What Glance 33 does with one store (checked on the real service, ci/realstack):
            // the flow reverts, but the image stays `importing` with the staged size; the task
            // only says that it failed (the reason goes to the log).
            tracing::warn!(image_id = %id, task_id = %task.id, reason = %reason, "image import failed");
            task.message = IMPORT_FAILED.into();
            model.modify(&id, |img| {
                img.properties.remove(LOCK);
                img.properties.insert(FAILED.into(), String::new());
                img.properties.insert(IMPORTING.into(), String::new());
                Ok(())
            })
        }
    };
    let ok = finished.is_ok() && task.message.is_empty();
    if finished.is_err() {
        data::remove_image_data(model.data_dir(), &id);
    }
    task.status = if ok { "success" } else { "failure" }.into();
    task.result = ok.then(|| json!({"image_id": id}));
    task.updated_at = now();
    let _ = model.save_task(&task);
}

/// Verifies and stores the staged data; the error is the task's failure message.
async fn import_data(model: &ImageService, ctx: &AuthContext, id: &str) -> Result<Digests, String> {
    let image = model.get(ctx, id).map_err(|f| f.explanation)?;
    let defects = model.defects();
    let verifier = match defects.glance_skips_verification {
        true => None,
        false => signature::verifier_for(model.http(), ctx, &image.properties, model.profile())
            .await
            .map_err(|e| signature::upload_fault(id, &e, &defects).explanation)?,
    };
    let file = tokio::fs::File::open(data::staged_path(model.data_dir(), id)).await.map_err(|e| e.to_string())?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file, sigstack_verify::READ_BUFFER);
    let ingested =
        data::ingest(stream, model.data_dir(), true, verifier, image.size).await.map_err(|e| ingest_fault(id, e, &defects).explanation)?;
    if let Some(msg) = format::mismatch(image.container_format.as_deref(), image.disk_format.as_deref(), &ingested.digests.head) {
        return Err(msg);
    }
    ingested.persist(&data::image_path(model.data_dir(), id)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=95-200", 100), Some((95, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
