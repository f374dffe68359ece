//! Glance v2 on the wire: discovery, schemas, image CRUD and listing. The data endpoints
//! (upload, download, stage, import) are in `http_data`. Every error is a [`Fault`] rendered
//! by `webob::render`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::{Value, json};

use super::http_data;
use super::http_listing;
use super::http_members;
use super::http_tasks;
use super::model::{IMPORT_METHODS, ImageService, check_tag_quota};
use super::patch;
use super::schema;
use super::webob::{self, Fault};
use crate::keystone::Identity;
use crate::wire::{AuthContext, HasIdentity};

#[derive(Clone)]
pub struct GlanceState {
    pub identity: Arc<Identity>,
    pub model: Arc<ImageService>,
    pub public_url: String,
}

impl HasIdentity for GlanceState {
    fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }
}

pub fn router(identity: Arc<Identity>, model: Arc<ImageService>, public_url: String) -> Router {
    let state = GlanceState { identity, model, public_url: public_url.clone() };
    // Image data is streamed, never buffered: no body limit on the data routes.
    let data = Router::new()
        .route("/v2/images/{id}/file", put(http_data::upload).get(http_data::download))
        .route("/v2/images/{id}/stage", put(http_data::stage))
        .layer(DefaultBodyLimit::disable());
    let api = Router::new()
        .route("/", get(versions))
        .route("/versions", get(versions_explicit))
        .route("/v2", get(versions))
        .route("/v2/", get(versions))
        .route("/v2/images", get(http_listing::list_images).post(create_image))
        .route("/v2/images/{id}", get(show_image).patch(update_image).delete(delete_image))
        .route("/v2/images/{id}/import", axum::routing::post(http_data::import))
        .route("/v2/images/{id}/tasks", get(image_tasks))
        .route("/v2/images/{id}/tags/{tag}", put(add_tag).delete(delete_tag))
        .route("/v2/images/{id}/members", get(http_members::index).post(http_members::create))
        .route("/v2/images/{id}/members/{member_id}", get(http_members::show).put(http_members::update).delete(http_members::delete))
        .route("/v2/images/{id}/locations", get(http_members::locations).post(http_members::add_location))
        .route("/v2/images/{id}/actions/deactivate", axum::routing::post(http_members::deactivate))
        .route("/v2/images/{id}/actions/reactivate", axum::routing::post(http_members::reactivate))
        .route("/v2/tasks", get(http_tasks::index).post(http_tasks::create))
        .route("/v2/tasks/{id}", get(http_tasks::show).delete(http_tasks::delete))
        .route("/v2/schemas/task", get(http_tasks::task_schema))
        .route("/v2/schemas/tasks", get(http_tasks::tasks_schema))
        .route("/v2/schemas/member", get(http_members::member_schema))
        .route("/v2/schemas/members", get(http_members::members_schema))
        .route("/v2/info/import", get(import_info))
        .route("/v2/schemas/image", get(|| async { Json(schema::image_schema()) }))
        .route("/v2/schemas/images", get(|| async { Json(schema::images_schema()) }))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(json_body_limit));
    let inner = api
        .merge(data)
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(webob::render))
        .layer(axum::middleware::from_fn(crate::keystone::request_id))
        .layer(axum::middleware::map_response(task_request_id))
        .layer(axum::middleware::from_fn(unauthorized))
        .with_state(state);
    // glance's `versionnegotiation` filter runs first, before authentication; the `Allow` of a
    // 405 is the route's `allowed_methods`, which axum's own header is rewritten to.
    Router::new()
        .fallback_service(inner)
        .layer(axum::middleware::from_fn_with_state(Arc::<str>::from(public_url), version_negotiation))
        .layer(axum::middleware::map_response(|response: Response| async move { glance_allow(response) }))
}

/// A JSON request body larger than this is refused. Glance itself sets no limit (no
/// `sizelimit` in its pipeline); the simulator bounds what it buffers well above the largest
/// image a real Glance stores (128 properties of a MySQL `TEXT` value, 64 KiB, each), with
/// webob's default 413.
pub const JSON_BODY_LIMIT: usize = 16 << 20;

async fn json_body_limit(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match crate::wire::within_limit(request, JSON_BODY_LIMIT).await {
        Ok(request) => next.run(request).await,
        Err(crate::wire::BodyRefused::Failed) => Fault::bad_request(crate::wire::WEBOB_BAD_REQUEST).into_response(),
        Err(_) => Fault::new(StatusCode::PAYLOAD_TOO_LARGE, "The body of your request was too large for this server.").into_response(),
    }
}

/// The versions glance's `versionnegotiation` accepts as a URL's first segment (this Glance:
/// one store, an image cache).
const URL_VERSIONS: [&str; 15] =
    ["v2", "v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5", "v2.6", "v2.7", "v2.9", "v2.14", "v2.15", "v2.16", "v2.17", "v2.18"];

/// `VersionNegotiationFilter.process_request`: `/versions` is the versions document; a known
/// version is rewritten to `/v2`; anything else gets the versions document (300), whatever
/// the method.
async fn version_negotiation(
    State(public_url): State<Arc<str>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let trimmed = path.trim_start_matches('/');
    let (first, rest) = trimmed.split_once('/').map(|(a, b)| (a, format!("/{b}"))).unwrap_or((trimmed, String::new()));
    if first == "versions" || first.is_empty() {
        return next.run(request).await;
    }
    if !URL_VERSIONS.contains(&first) {
        return (StatusCode::MULTIPLE_CHOICES, Json(versions_body(&public_url))).into_response();
    }
    if first != "v2" {
        let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
        if let Ok(uri) = format!("/v2{rest}{query}").parse() {
            *request.uri_mut() = uri;
        }
    }
    next.run(request).await
}

/// The request id a handler recorded in a task: the answer carries the same one (glance's
/// `x-openstack-request-id` is the context's `request_id`, which the task keeps).
#[derive(Debug, Clone)]
pub struct TaskRequestId(pub String);

async fn task_request_id(mut response: Response) -> Response {
    if let Some(TaskRequestId(id)) = response.extensions().get::<TaskRequestId>().cloned()
        && let Ok(v) = HeaderValue::from_str(&id)
    {
        response.headers_mut().insert("x-openstack-request-id", v);
    }
    response
}

/// The methods glance's routes mapper implements; any other on an unknown path is a 501.
const IMPLEMENTED_METHODS: [Method; 6] = [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::DELETE, Method::PATCH];

/// `Router._dispatch` without a match: 404, or 501 for a method it does not implement. The
/// caller must be authenticated first (the context middleware runs before the router).
async fn no_route(_ctx: AuthContext, method: Method) -> Fault {
    if IMPLEMENTED_METHODS.contains(&method) {
        Fault::not_found("The resource could not be found.")
    } else {
        Fault::new(StatusCode::NOT_IMPLEMENTED, "")
    }
}

/// `RejectMethodController.reject`: `HTTPMethodNotAllowed` with the route's methods in
/// `Allow` (set by [`glance_allow`]).
async fn method_not_allowed(_ctx: AuthContext) -> Fault {
    Fault::new(StatusCode::METHOD_NOT_ALLOWED, "")
}

/// axum's `Allow` (`GET,HEAD,PATCH,DELETE`) as glance's routes list them (`GET, PATCH, DELETE`).
fn glance_allow(mut response: Response) -> Response {
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && let Some(allow) = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok())
    {
        let methods: Vec<&str> = allow.split(',').map(str::trim).filter(|m| !m.is_empty() && *m != "HEAD").collect();
        if let Ok(v) = HeaderValue::from_str(&methods.join(", ")) {
            response.headers_mut().insert(header::ALLOW, v);
        }
    }
    response
}

/// webob's `HTTPUnauthorized` explanation.
const UNAUTHORIZED: &str = "This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.";

/// Glance runs keystonemiddleware with `delay_auth_decision`: an unauthenticated request
/// reaches Glance's context middleware, which raises webob's `HTTPUnauthorized` (rendered for
/// the `Accept` header) with authtoken's `WWW-Authenticate`, and no request id (there is no
/// context to carry one).
async fn unauthorized(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let accept = request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let response = next.run(request).await;
    if response.status() != StatusCode::UNAUTHORIZED {
        return response;
    }
    let mut webob = Fault::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED).render(accept.as_deref());
    if let Some(v) = response.headers().get(header::WWW_AUTHENTICATE) {
        webob.headers_mut().insert(header::WWW_AUTHENTICATE, v.clone());
    }
    webob
}

/// The versions document (E3): v2.18 current, older v2 minor versions supported.
fn versions_body(public_url: &str) -> Value {
    let href = format!("{}/v2/", public_url.trim_end_matches('/'));
    let ids = ["v2.18", "v2.17", "v2.16", "v2.15", "v2.14", "v2.9", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"];
    let versions: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({"id": id, "status": if i == 0 { "CURRENT" } else { "SUPPORTED" },
                   "links": [{"rel": "self", "href": href}]})
        })
        .collect();
    json!({"versions": versions})
}

async fn versions(State(s): State<GlanceState>) -> Response {
    (StatusCode::MULTIPLE_CHOICES, Json(versions_body(&s.public_url))).into_response()
}

async fn versions_explicit(State(s): State<GlanceState>) -> Response {
    Json(versions_body(&s.public_url)).into_response()
}

/// glance's `JSONRequestDeserializer.default`: the body must be present and a JSON object or
/// array.
pub fn json_body(bytes: &Bytes) -> Result<Value, Fault> {
    if bytes.is_empty() {
        return Err(Fault::bad_request("Body expected in request."));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|_| Fault::bad_request("Malformed JSON in request body."))?;
    if !(value.is_object() || value.is_array()) {
        return Err(Fault::bad_request("Unexpected body type. Expected list/dict."));
    }
    Ok(value)
}

fn image_response(status: StatusCode, view: Value) -> Response {
    (status, Json(view)).into_response()
}

async fn create_image(State(s): State<GlanceState>, ctx: AuthContext, body: Bytes) -> Result<Response, Fault> {
    let body = json_body(&body)?;
    let request = schema::split_create(&body)?;
    let image = s.model.create(&ctx, request)?;
    let mut response = image_response(StatusCode::CREATED, image.view());
    let headers = response.headers_mut();
    // webob makes glance's `/v2/images/{id}` absolute against the request's host.
    if let Ok(v) = HeaderValue::from_str(&format!("{}/v2/images/{}", s.public_url.trim_end_matches('/'), image.id)) {
        headers.insert(header::LOCATION, v);
    }
    headers.insert("OpenStack-image-import-methods", HeaderValue::from_static("glance-direct"));
    Ok(response)
}

async fn show_image(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>) -> Result<Response, Fault> {
    Ok(image_response(StatusCode::OK, s.model.get(&ctx, &id)?.view()))
}

async fn update_image(
    State(s): State<GlanceState>,
    ctx: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fault> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let draft4 = patch::check_content_type(content_type)?;
    let body = json_body(&body)?;
    let changes = patch::parse(&body, draft4)?;
    let image = s.model.update(&ctx, &id, &changes)?;
    Ok(image_response(StatusCode::OK, image.view()))
}

async fn delete_image(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>) -> Result<Response, Fault> {
    s.model.delete(&ctx, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The tags controller's own wording of the repository's 404 and the policy's 403.
fn tags_fault<'a>(id: &'a str, verb: &'a str) -> impl Fn(Fault) -> Fault + 'a {
    move |fault| match fault.status {
        StatusCode::NOT_FOUND => Fault::not_found(format!("Image {id} not found.")),
        StatusCode::FORBIDDEN => Fault::forbidden(format!("Not allowed to {verb} tags for image {id}.")),
        _ => fault,
    }
}

/// `PUT /v2/images/{id}/tags/{tag}` (what `openstack image set --tag` calls).
async fn add_tag(State(s): State<GlanceState>, ctx: AuthContext, Path((id, tag)): Path<(String, String)>) -> Result<Response, Fault> {
    schema::check_property("tags", &json!([tag])).map_err(Fault::bad_request)?;
    s.model.get_for(&ctx, &id, "modify_image").map_err(tags_fault(&id, "update"))?;
    let options = s.model.options();
    s.model
        .modify(&id, |img| {
            if !img.tags.contains(&tag) {
                img.tags.push(tag.clone());
            }
            // `QuotaImageTagsProxy.add`, worded by the tags controller (its trailing colon too).
            check_tag_quota(img.tags.len(), &options)
                .map_err(|e| Fault::new(e.status, format!("Image tag limit exceeded for image {id}: {}:", e.explanation)))
        })
        .map_err(tags_fault(&id, "update"))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_tag(State(s): State<GlanceState>, ctx: AuthContext, Path((id, tag)): Path<(String, String)>) -> Result<Response, Fault> {
    s.model.get_for(&ctx, &id, "modify_image").map_err(tags_fault(&id, "delete"))?;
    s.model.modify(&id, |img| {
        let before = img.tags.len();
        img.tags.retain(|t| t != &tag);
        if img.tags.len() == before {
            return Err(Fault::not_found("The resource could not be found."));
        }
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn image_tasks(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>) -> Result<Response, Fault> {
    s.model.get(&ctx, &id).map_err(|_| Fault::not_found("The resource could not be found."))?;
    let tasks = s.model.tasks(&id)?;
    Ok(Json(json!({"tasks": tasks})).into_response())
}

async fn import_info(_ctx: AuthContext) -> Response {
    Json(json!({"import-methods": {
        "description": "Import methods available.",
        "type": "array",
        "value": IMPORT_METHODS,
    }}))
    .into_response()
}
