//! Cinder v3 on the wire: the router (every `http_*` module's routes), version discovery,
//! volume create, show and delete, and the action dispatch (`os-extend`, detaching here; the
//! rest in `http_actions`, upload in `http_upload`). The asynchronous work is in `flow`; every
//! synchronous failure is a [`Fault`] (`{"badRequest": {...}}` and friends).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use sigstack_client::image::{self, Image};

use super::call::Call;
use super::encryption;
use super::extend;
use super::fault::Fault;
use super::flow::{self, CreateFromImage};
use super::http_actions;
use super::http_attach;
use super::http_types;
use super::http_volumes;
use super::model::{GIB, Volume, VolumeService, now};
use super::types::{VolumeType, type_not_found};
use super::views::{self, VOLUME};
use crate::jsonschema::SchemaError;
use crate::keystone::Identity;
use crate::microversion::{self, Microversion};
use crate::wire::{AuthContext, HasIdentity};

#[derive(Clone)]
pub struct CinderState {
    pub identity: Arc<Identity>,
    pub volumes: Arc<VolumeService>,
    pub public_url: String,
}

impl HasIdentity for CinderState {
    fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }
}

/// The microversion a request asks for; extracting it answers a bad header with Cinder's
/// 400/406.
pub struct Version(pub Microversion);

impl<S: Send + Sync> FromRequestParts<S> for Version {
    type Rejection = Fault;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        views::requested_version(&parts.headers).map(Version)
    }
}

/// Every versioned answer names its microversion (`OpenStack-API-Version: volume 3.x`).
async fn version_headers(request: Request, next: Next) -> Response {
    let version = views::requested_version(request.headers()).ok();
    let mut response = next.run(request).await;
    if let Some(version) = version {
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&VOLUME.header_value(version)) {
            headers.insert(microversion::HEADER, v);
        }
        headers.insert("Vary", HeaderValue::from_static(microversion::HEADER));
    }
    response
}

pub fn router(identity: Arc<Identity>, volumes: Arc<VolumeService>, public_url: String) -> Router {
    let state = CinderState { identity, volumes, public_url };
    // Inside the routes (each a `wsgi.Resource`): the microversion, then the body's content
    // type.
    let project = Router::new()
        .route("/v3/{project_id}/volumes", get(http_volumes::list_volumes).post(create_volume))
        .route("/v3/{project_id}/volumes/{id}", get(show_volume).put(http_volumes::update_volume).delete(delete_volume))
        .route("/v3/{project_id}/volumes/{id}/action", axum::routing::post(volume_action))
        .merge(super::http_messages::routes())
        .merge(http_volumes::routes())
        .merge(http_types::routes())
        .merge(super::http_type_extras::routes())
        .merge(super::http_qos::routes())
        .merge(super::http_admin::routes())
        .merge(super::transfers::routes())
        .merge(super::groups::routes())
        .merge(http_attach::routes())
        .layer(axum::middleware::from_fn(request_body))
        .layer(axum::middleware::from_fn(version_headers));
    // Around them, the pipeline: oslo's sizelimit, keystonemiddleware, then the routes mapper,
    // whose miss (a path, or a method on a path, without a route) is webob's bare 404.
    let inner = Router::new()
        .route("/", get(versions_all))
        .route("/v3", get(versions_v3))
        .route("/v3/", get(versions_v3))
        .merge(project)
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .layer(axum::middleware::from_fn(crate::wire::sizelimit))
        .with_state(state);
    crate::wire::finish_answers(inner, crate::wire::no_allow_on_not_found)
}

/// The routes mapper found nothing (after authentication, which runs first).
async fn no_route(_ctx: AuthContext, method: axum::http::Method, headers: axum::http::HeaderMap) -> Response {
    crate::wire::routes_not_found(method, headers).await
}

/// The media types Cinder's `Request.get_content_type` accepts.
const CONTENT_TYPES: [&str; 2] = ["application/json", "application/vnd.openstack.volume+json"];

/// `Resource.__call__` before the controller: the microversion, then `get_body`. An empty body
/// is no body; a body without `Content-Type` is ignored (the controller gets none); any other
/// media type is a 415, whatever the method.
async fn request_body(request: Request, next: Next) -> Response {
    if let Err(fault) = views::requested_version(request.headers()) {
        return fault.into_response();
    }
    let (parts, body) = request.into_parts();
    // Within oslo's size limit already (the `sizelimit` layer runs first).
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Fault::bad_request(crate::wire::WEBOB_BAD_REQUEST).into_response();
    };
    let kept = match parts.headers.get(axum::http::header::CONTENT_TYPE) {
        _ if bytes.is_empty() => false,
        None => false,
        Some(value) => {
            let raw = String::from_utf8_lossy(value.as_bytes());
            if !CONTENT_TYPES.contains(&raw.split(';').next().unwrap_or_default()) {
                return Fault::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Type").into_response();
            }
            true
        }
    };
    let body = if kept { axum::body::Body::from(bytes) } else { axum::body::Body::empty() };
    next.run(Request::from_parts(parts, body)).await
}

/// `GET /`: 300 with every version (only v3 since v2's removal).
async fn versions_all(State(s): State<CinderState>) -> Response {
    (StatusCode::MULTIPLE_CHOICES, Json(json!({"versions": [views::version_entry(&s.public_url)]}))).into_response()
}

/// `GET /v3/`: 200 with v3 alone.
async fn versions_v3(State(s): State<CinderState>) -> Response {
    Json(json!({"versions": [views::version_entry(&s.public_url)]})).into_response()
}

/// cinder's wsgi: the URL's project must be the token's.
pub(super) fn check_project(ctx: &AuthContext, project_id: &str) -> Result<(), Fault> {
    if project_id == ctx.project_id { Ok(()) } else { Err(Fault::bad_request("Malformed request url")) }
}

fn request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4())
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-openstack-request-id", v);
    }
    response
}

/// The body a controller method takes: none (empty, or ignored for want of a
/// `Content-Type`) makes the method miss its `body` argument, a 500 in Cinder; anything not
/// JSON is "Malformed request body".
pub(super) fn json_body(bytes: &Bytes) -> Result<Value, Fault> {
    if bytes.is_empty() {
        return Err(Fault::internal_because("the request has no body (Cinder ignores a body without Content-Type)"));
    }
    serde_json::from_slice(bytes).map_err(|_| Fault::bad_request("Malformed request body"))
}

/// An action's body and name (`action_peek`, before the action is looked up): JSON with
/// exactly one key. A one-element list or string has no keys to read (`AttributeError`), and
/// a number no length (`TypeError`): the resource then answers a bare 404.
pub(super) fn action_json(bytes: &Bytes) -> Result<(String, Value), Fault> {
    let malformed = || Fault::bad_request("Malformed request body");
    let body: Value = serde_json::from_slice(bytes).map_err(|_| malformed())?;
    let length = match &body {
        Value::Object(o) => o.len(),
        Value::Array(a) => a.len(),
        Value::String(s) => s.chars().count(),
        _ => return Err(Fault::no_resource()),
    };
    if length != 1 {
        return Err(malformed());
    }
    let Some((name, args)) = body.as_object().and_then(|o| o.iter().next()).map(|(n, a)| (n.clone(), a.clone())) else {
        return Err(Fault::no_resource());
    };
    Ok((name, args))
}

/// An action the resource has no method for (`KeyError` in `get_method`).
pub(super) fn no_such_action(name: &str) -> Fault {
    Fault::bad_request(format!("There is no such action: {name}. Verify the request body and Content-Type header and try again."))
}

/// How most handlers taking a body start: the URL's project must be the caller's, and only
/// then is the body parsed (a foreign project is answered before a bad body).
pub(super) fn project_json_body(ctx: &AuthContext, project_id: &str, body: &Bytes) -> Result<Value, Fault> {
    check_project(ctx, project_id)?;
    json_body(body)
}

/// A jsonschema failure at `field`, as cinder's validator words it.
pub(super) fn schema_error(field: &str, value: &Value, message: &str) -> Fault {
    SchemaError::at(field, value, message).into()
}

/// The volume type a request names (by name or id; a private one for admins only); the
/// default type (the first back end's) when none is named.
fn volume_type(s: &CinderState, ctx: &AuthContext, requested: Option<&str>) -> Result<VolumeType, Fault> {
    match requested.filter(|t| !t.is_empty()) {
        None => s.volumes.volume_types()?.into_iter().next().ok_or_else(Fault::internal),
        Some(name) => s.volumes.volume_type(name)?.filter(|t| http_types::visible(ctx, t)).ok_or_else(|| type_not_found(name)),
    }
}

/// `_image_uuid_from_ref`: the last path segment as an id, else an image name; anything not
/// found (or not visible) is the same 400.
async fn find_image(session: &sigstack_client::Session, image_ref: &str) -> Result<Image, Fault> {
    let candidate = image_ref.rsplit('/').next().unwrap_or(image_ref);
    if uuid::Uuid::parse_str(candidate).is_ok()
        && let Ok(image) = image::get_image(session, candidate).await
    {
        return Ok(image);
    }
    if let Ok(page) = image::list_images(session, &[("name", image_ref)]).await {
        if page.images.len() > 1 {
            return Err(Fault::new(
                StatusCode::CONFLICT,
                format!("Multiple matches found for '{image_ref}', use an ID to be more specific."),
            ));
        }
        if let Some(image) = page.images.into_iter().next() {
            return Ok(image);
        }
    }
    Err(Fault::invalid_input("Invalid image identifier or unable to access requested image."))
}

/// `_check_image_metadata`: active, fits in the volume, meets `min_disk`.
fn check_image(image: &Image, size: u64) -> Result<(), Fault> {
    if image.status != "active" {
        return Err(Fault::invalid_input(format!("Image {} is not active.", image.id)));
    }
    let image_gb = image.size.unwrap_or(0).div_ceil(GIB);
    if image_gb > size {
        return Err(Fault::invalid_input(format!("Size of specified image {image_gb}GB is larger than volume size {size}GB.")));
    }
    if size < image.min_disk {
        return Err(Fault::invalid_input(format!(
            "Volume size {size}GB cannot be smaller than the image minDisk size {}GB.",
            image.min_disk
        )));
    }
    Ok(())
}

async fn create_volume(Call { s, ctx, version, path: project_id }: Call<String>, body: Bytes) -> Result<Response, Fault> {
    let body = json_body(&body)?;
    check_project(&ctx, &project_id)?;
    let new = super::schema::create_volume(&body, version)?;
    // `VolumesController.create`, in its order: the type, the snapshot, the source volume,
    // the group, the image, the backup (each missing one a 404, the image a 400).
    let requested_type = match new.volume_type.as_deref().filter(|t| !t.is_empty()) {
        Some(name) => Some(volume_type(&s, &ctx, Some(name))?),
        None => None,
    };
    if let Some(id) = &new.snapshot_id {
        // This Cinder has no snapshots.
        return Err(Fault::not_found(format!("Snapshot {id} could not be found.")));
    }
    let source = match &new.source_volid {
        Some(id) => Some(s.volumes.get(&ctx, id)?),
        None => None,
    };
    if let Some(id) = new.consistencygroup_id.as_ref() {
        return Err(Fault::not_found(format!("Group {id} could not be found.")));
    }
    let group = match new.group_id.as_ref() {
        Some(id) => Some(s.volumes.group(&ctx, id)?),
        None => None,
    };
    let session = ctx.session(s.volumes.http().clone());
    let image = match new.image_ref.as_deref() {
        Some(r) => Some(find_image(&session, r).await?),
        None => None,
    };
    if let Some(id) = &new.backup_id {
        return Err(Fault::not_found(format!("Backup {id} could not be found.")));
    }
    if new.multiattach {
        return Err(Fault::bad_request(
            "multiattach parameter has been removed. The default behavior is to use multiattach enabled volume types. \
             Contact your administrator to create a multiattach enabled volume type and use it to create multiattach volumes.",
        ));
    }
    // `volume.API.create`: a clone keeps its source's type unless the requested one could
    // hold it; then the flow's checks of the source and of the size.
    let volume_type = match (&source, requested_type) {
        (Some(src), Some(requested)) => {
            let source_type = volume_type(&s, &ctx, Some(&src.volume_type))?;
            if requested.id != source_type.id && !retype_possible(&s, &source_type, &requested)? {
                return Err(Fault::invalid_input(format!(
                    "Invalid volume_type provided: {} (requested type is not compatible; either match source volume, or omit type argument).",
                    requested.id
                )));
            }
            requested
        }
        (Some(src), None) => volume_type(&s, &ctx, Some(&src.volume_type))?,
        (None, Some(requested)) => requested,
        (None, None) => volume_type(&s, &ctx, None)?,
    };
    if source.as_ref().is_some_and(|v| !["available", "in-use"].contains(&v.status.as_str())) {
        return Err(Fault::invalid_volume("Originating source volume status must be one of 'available, in-use' values"));
    }
    let size = match (new.size, &source) {
        (Some(size), Some(src)) if size < src.size => {
            return Err(Fault::invalid_input(format!(
                "Volume size '{size}'GB cannot be smaller than original volume size  {}GB. They must be >= original volume size.",
                src.size
            )));
        }
        (Some(size), _) => size,
        (None, Some(src)) => src.size,
        (None, None) => return Err(Fault::invalid_input("Volume size 'None' must be an integer and greater than 0")),
    };
    if let Some(image) = &image {
        check_image(image, size)?;
    }
    s.volumes.check_volume_quota(&ctx.project_id, &volume_type.name, size, true)?;
    let type_specs = volume_type.extra_specs.clone();
    // An encrypted type: the volume's key is made in Barbican, with the caller's token,
    // before the volume exists; a clone gets a copy of its source's key.
    let encryption_key = match s.volumes.type_encryption(&volume_type.id)? {
        Some(spec) => match source.as_ref().map(|src| s.volumes.encryption_key(&src.id)).transpose()?.flatten() {
            Some(source_key) => Some(encryption::clone_key(&session, &source_key).await?),
            None => Some(encryption::create_key(&session, &spec).await?),
        },
        None => None,
    };
    let created = now();
    let record = Volume {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: ctx.project_id.clone(),
        user_id: ctx.user_id.clone(),
        name: new.name,
        description: new.description,
        size,
        status: "creating".into(),
        volume_type: volume_type.name,
        bootable: source.as_ref().is_some_and(|src| src.bootable),
        availability_zone: "nova".into(),
        created_at: created.clone(),
        updated_at: created,
        metadata: new.metadata,
        image_id: image.as_ref().map(|i| i.id.clone()),
        source_volid: source.as_ref().map(|src| src.id.clone()),
    };
    s.volumes.insert(&record)?;
    if let Some(g) = &group {
        s.volumes.modify_extras(&record.id, |e| e.group_id = Some(g.id.clone()))?;
    }
    if let Some(key) = &encryption_key {
        s.volumes.set_encryption_key(&record.id, key)?;
    }
    let request_id = request_id();
    // cinder-scheduler: no back end satisfying the type leaves the volume in `error`.
    let schedulable = s.volumes.backend(Some(&record.volume_type)).is_some_and(|b| super::scheduler::satisfies(&b, &type_specs));
    if !schedulable {
        s.volumes.set_status(&record.id, "error")?;
        s.volumes.add_message(
            &ctx.project_id,
            &request_id,
            &record.id,
            super::scheduler::NO_BACKEND_EVENT_ID,
            super::scheduler::NO_BACKEND_USER_MESSAGE,
        )?;
        let view = created_view(&s, &ctx, version, &record)?;
        return Ok(with_request_id((StatusCode::ACCEPTED, Json(json!({"volume": view}))).into_response(), &request_id));
    }
    match (image, source) {
        (Some(image), _) => {
            let job = CreateFromImage { volume_id: record.id.clone(), image, ctx: ctx.clone(), request_id: request_id.clone() };
            tokio::spawn(flow::create_from_image(s.volumes.clone(), job));
        }
        (None, Some(src)) => {
            // The clone carries its source's Glance metadata (`signature_verified` too).
            s.volumes.add_glance_metadata(&record.id, &s.volumes.glance_metadata(&src.id)?)?;
            tokio::spawn(create_clone(s.volumes.clone(), record.id.clone(), src.id, size));
        }
        (None, None) => {
            tokio::spawn(create_blank(s.volumes.clone(), record.id.clone(), size));
        }
    }
    let view = created_view(&s, &ctx, version, &record)?;
    Ok(with_request_id((StatusCode::ACCEPTED, Json(json!({"volume": view}))).into_response(), &request_id))
}

/// The create's answer: the new record as the API wrote it, never updated yet
/// (`updated_at` null).
fn created_view(s: &CinderState, ctx: &AuthContext, version: Microversion, record: &Volume) -> Result<Value, Fault> {
    let mut view = views::volume_detail(&s.public_url, ctx, version, record, &s.volumes.facts(record)?, false);
    view["updated_at"] = Value::Null;
    Ok(view)
}

/// `_retype_is_possible`: the same encryption, and one volume service or the same back end.
fn retype_possible(s: &CinderState, from: &VolumeType, to: &VolumeType) -> Result<bool, Fault> {
    // `volume_types_encryption_changed` compares the specs, not their ids and dates.
    let spec = |t: &VolumeType| -> Result<_, Fault> {
        Ok(s.volumes.type_encryption(&t.id)?.map(|e| (e.provider, e.cipher, e.key_size, e.control_location)))
    };
    if spec(from)? != spec(to)? {
        return Ok(false);
    }
    let backends = s.volumes.deployment().get().cinder.backends.len();
    let backend = |t: &VolumeType| s.volumes.backend(Some(&t.name)).map(|b| b.name);
    Ok(backends == 1 || backend(from) == backend(to))
}

/// A clone (`create_cloned_volume`): the source's data copied, grown to the clone's size.
pub(super) async fn create_clone(volumes: Arc<VolumeService>, id: String, source: String, size: u64) {
    let (from, to) = (volumes.volume_path(&source), volumes.volume_path(&id));
    let copied = match tokio::fs::copy(&from, &to).await {
        Ok(_) => std::fs::OpenOptions::new().write(true).open(&to).and_then(|f| {
            let wanted = size.saturating_mul(GIB);
            if f.metadata()?.len() < wanted { f.set_len(wanted) } else { Ok(()) }
        }),
        Err(e) => Err(e),
    };
    let status = match copied {
        Ok(()) => "available",
        Err(e) => {
            volumes.log_error(&id, &format!("VolumeBackendAPIException: cloning volume {source}: {e}"));
            "error"
        }
    };
    if let Err(e) = volumes.set_status(&id, status) {
        volumes.log_error(&id, &format!("DBError: {e}"));
    }
}

/// A volume without a source: an empty (sparse) file of its size.
async fn create_blank(volumes: Arc<VolumeService>, id: String, size: u64) {
    let path = volumes.volume_path(&id);
    let made = std::fs::File::create(&path).and_then(|f| f.set_len(size.saturating_mul(GIB)));
    let status = match made {
        Ok(()) => "available",
        Err(e) => {
            volumes.log_error(&id, &format!("VolumeBackendAPIException: {e}"));
            "error"
        }
    };
    if let Err(e) = volumes.set_status(&id, status) {
        volumes.log_error(&id, &format!("DBError: {e}"));
    }
}

async fn show_volume(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let volume = s.volumes.get(&ctx, &id)?;
    Ok(Json(json!({"volume": views::volume_detail(&s.public_url, &ctx, version, &volume, &s.volumes.facts(&volume)?, true)}))
        .into_response())
}

/// Statuses a volume may be deleted in (`volume.api.delete`).
const DELETABLE: [&str; 5] = ["available", "error", "error_restoring", "error_extending", "error_managing"];

async fn delete_volume(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let volume = s.volumes.get(&ctx, &id)?;
    if s.volumes.transition(&volume.id, &DELETABLE, "deleting")?.is_none() {
        return Err(Fault::invalid_volume(
            "Volume status must be available or error or error_restoring or error_extending or error_managing and must \
             not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated \
             from snapshots after volume transfer.",
        ));
    }
    let key = s.volumes.encryption_key(&volume.id)?;
    s.volumes.remove(&volume.id)?;
    // cinder-volume deletes the volume's key once the volume is gone.
    if let Some(key) = key {
        s.volumes.forget_encryption_key(&volume.id)?;
        let session = ctx.session(s.volumes.http().clone());
        if let Err(e) = encryption::delete_key(&session, &key).await {
            s.volumes.log_error(&volume.id, &format!("Unable to delete encryption key {key}: {e}"));
        }
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /volumes/{id}/action`: the action is the body's key.
async fn volume_action(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    let (action, args) = action_json(&body)?;
    let args = &args;
    check_project(&ctx, &project_id)?;
    match action.as_str() {
        "os-volume_upload_image" => super::http_upload::upload_image(&s, &ctx, version, &id, args).await,
        "os-extend" => extend::extend(&s, &ctx, version, &id, args),
        "os-begin_detaching" => {
            s.volumes.begin_detaching(&ctx, &id)?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-roll_detaching" => {
            s.volumes.roll_detaching(&ctx, &id)?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        other => http_actions::dispatch(&s, &ctx, version, &id, other, args).await,
    }
}
