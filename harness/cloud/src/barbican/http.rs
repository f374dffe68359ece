//! Barbican v1 on the wire: version discovery, secrets, payloads, ACLs, orders (in
//! `http_orders.rs`), containers (`http_containers.rs`), secret metadata, consumers and quotas
//! (`http_extras.rs`), the key-manager microversion header, and Barbican's JSON error bodies (`JSONErrorHook`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::model::{self, Acl, Action, KeyManager, ListFilter, Secret, now_us};
use super::validate::{self, Invalid, MAX_REQUEST_BYTES, MAX_SECRET_BYTES, TOO_LARGE};
use crate::keystone::Identity;
use crate::microversion::{self, Microversion, Microversions, Refused};
use crate::wire::{AuthContext, HasIdentity, format_barbican};
use entities::{ListQuery, WriteRequest, query_pairs};

#[path = "http_containers.rs"]
mod containers;
#[path = "http_entities.rs"]
mod entities;
#[path = "http_extras.rs"]
mod extras;
#[path = "http_orders.rs"]
mod orders;
#[path = "http_transport_keys.rs"]
mod transport_keys;

#[derive(Clone)]
struct BarbicanState {
    identity: Arc<Identity>,
    model: Arc<KeyManager>,
    public_url: Arc<str>,
}

impl HasIdentity for BarbicanState {
    fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }
}

/// The key-manager microversions this Barbican speaks, 1.0 to 1.2 (`latest` exactly, as
/// microversion_parse compares it).
const KEY_MANAGER: Microversions = Microversions {
    service_type: "key-manager",
    legacy_header: None,
    min: Microversion(1, 0),
    max: Microversion(1, 2),
    latest_in_any_case: false,
};

/// Secrets list their consumers from 1.1.
const CONSUMERS: Microversion = Microversion(1, 1);

/// From 1.2 a secret with consumers is only deleted with `?force=true`.
const NO_DELETE_WITH_CONSUMERS: Microversion = Microversion(1, 2);

type Handled = Result<Response, Response>;

pub fn router(identity: Arc<Identity>, model: Arc<KeyManager>, public_url: String) -> Router {
    let state = BarbicanState { identity, model, public_url: public_url.trim_end_matches('/').into() };
    let router = Router::new()
        .route("/", get(versions).fallback(method_not_allowed))
        .route("/v1", get(version).fallback(method_not_allowed))
        .route("/v1/", get(version).fallback(method_not_allowed))
        .route("/v1/secrets", get(list_secrets).post(create_secret).fallback(method_not_allowed))
        .route("/v1/secrets/", get(list_secrets).post(create_secret).fallback(method_not_allowed))
        .route("/v1/secrets/{id}", get(show_secret).put(put_payload).delete(delete_secret).fallback(entities::refuse_method::<Secret>))
        .route("/v1/secrets/{id}/payload", get(get_payload).fallback(payload_other));
    let router = entities::acl_routes::<Secret>(router, "/v1/secrets/{id}/acl").route("/v1/secrets/{id}/{sub}", any(unknown_subresource));
    transport_keys::routes(extras::routes(containers::routes(orders::routes(router))))
        .route("/{*rest}", any(not_found))
        .layer(middleware::from_fn(microversion))
        .layer(middleware::from_fn(crate::keystone::request_id))
        .with_state(state)
}

// ---- errors ----

/// webob's reason phrases (they differ from `http`'s for 413).
fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        _ => "Internal Server Error",
    }
}

/// `{"code", "title", "description"}`; `description` is null when pecan's own routing
/// found nothing (`HTTPNotFound()` without a detail).
fn error_body(status: u16, description: Option<&str>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, Json(json!({"code": status, "title": title(status), "description": description}))).into_response()
}

fn error(status: u16, description: &str) -> Response {
    error_body(status, Some(description))
}

/// A policy refusal, worded by the operation (`handle_exceptions`).
fn forbidden(operation: &str) -> Response {
    error(403, &format!("{operation} attempt not allowed - please review your user/project privileges"))
}

/// A `BarbicanHTTPException` caught by `handle_exceptions`: "<op> issue seen - <reason>."
fn issue(operation: &str, e: &Invalid) -> Response {
    error(e.status, &format!("{operation} issue seen - {}.", e.message))
}

/// An unexpected error (`handle_exceptions`' generic 500); the cause goes to the request's log
/// line, never to the client.
fn failure(operation: &str, cause: impl std::fmt::Display) -> Response {
    crate::logging::cause(cause);
    error(500, &format!("{operation} failure seen - please contact site administrator."))
}

/// A bare `pecan.abort(status)`: its `detail` defaults to `''` (Barbican 23 with pecan 1.8
/// answers `"description": ""`).
fn aborted(status: u16) -> Response {
    error_body(status, Some(""))
}

async fn method_not_allowed() -> Response {
    aborted(405)
}

async fn not_found() -> Response {
    aborted(404)
}

// ---- microversions ----

/// microversion_parse's middleware: reads `OpenStack-API-Version: key-manager X.Y`, answers
/// the version in force on every response.
async fn microversion(mut request: Request, next: Next) -> Response {
    let version = match KEY_MANAGER.negotiate(request.headers()) {
        Ok(version) => version,
        // `extract_version` refuses a malformed version and one outside the range alike.
        Err(refused) => {
            let text = match refused {
                Refused::Malformed(text) => text,
                Refused::Unsupported(version) => version.to_string(),
            };
            return error(406, &format!("Invalid microversion: Unacceptable version header: {text}"));
        }
    };
    request.extensions_mut().insert(version);
    let mut response = next.run(request).await;
    // keystonemiddleware's authtoken answers 401 before Barbican's microversion middleware.
    if response.status() == StatusCode::UNAUTHORIZED {
        return response;
    }
    if let Ok(v) = HeaderValue::from_str(&KEY_MANAGER.header_value(version)) {
        response.headers_mut().insert(microversion::HEADER, v);
    }
    response.headers_mut().append(header::VARY, HeaderValue::from_static("OpenStack-API-Version"));
    response
}

// ---- version discovery ----

fn version_info(s: &BarbicanState, microversions: bool) -> Value {
    let links = json!([
        {"rel": "self", "href": format!("{}/v1/", s.public_url)},
        {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
    ]);
    if microversions {
        json!({"id": "v1", "status": "CURRENT", "min_version": KEY_MANAGER.min.to_string(), "max_version": KEY_MANAGER.max.to_string(), "links": links})
    } else {
        // At 1.0 Barbican answers the pre-microversion document.
        json!({"id": "v1", "status": "stable", "links": links,
               "media-types": [{"base": "application/json", "type": "application/vnd.openstack.key-manager-v1+json"}]})
    }
}

async fn versions(State(s): State<BarbicanState>, Extension(mv): Extension<Microversion>) -> Response {
    let body = if mv == KEY_MANAGER.min {
        json!({"versions": {"values": [version_info(&s, false)]}})
    } else {
        json!({"versions": [version_info(&s, true)]})
    };
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

async fn version(State(s): State<BarbicanState>, _caller: AuthContext, Extension(mv): Extension<Microversion>) -> Response {
    Json(json!({"version": version_info(&s, mv > KEY_MANAGER.min)})).into_response()
}

// ---- helpers ----

fn secret_ref(s: &BarbicanState, id: &str) -> String {
    format!("{}/v1/secrets/{id}", s.public_url)
}

fn time(us: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).map(format_barbican).unwrap_or_default()
}

fn secret_json(s: &BarbicanState, secret: &Secret, mv: Microversion) -> Value {
    let mut v = json!({
        "created": time(secret.created),
        "updated": time(secret.updated),
        "status": "ACTIVE",
        "name": secret.name,
        "secret_type": secret.secret_type,
        "expiration": secret.expiration.map(validate::isoformat),
        "algorithm": secret.algorithm,
        "bit_length": secret.bit_length,
        "mode": secret.mode,
        "creator_id": secret.creator_id,
        "secret_ref": secret_ref(s, &secret.id),
    });
    if mv >= CONSUMERS {
        // A store failure here shows as no consumers; the request still answers.
        let consumers = s.model.secret_consumers(&secret.id).unwrap_or_default();
        let consumers: Vec<Value> = consumers
            .iter()
            .map(|c| json!({"service": c.service, "resource_type": c.resource_type, "resource_id": c.resource_id}))
            .collect();
        v["consumers"] = Value::Array(consumers);
    }
    if let (Some(ct), Some(_)) = (&secret.content_type, &secret.payload) {
        v["content_types"] = json!({"default": ct});
    }
    v
}

/// Reads a body up to Barbican's request limit.
async fn read_body(body: Body) -> Result<bytes::Bytes, Response> {
    axum::body::to_bytes(body, MAX_REQUEST_BYTES).await.map_err(|_| error(413, TOO_LARGE))
}

/// `enforce_content_types`: webob's media type (parameters dropped) must be listed.
fn require_content_type(headers: &HeaderMap, valid: &[&str]) -> Result<String, Response> {
    let value = headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).unwrap_or_default();
    let media = value.split(';').next().unwrap_or_default().trim().to_owned();
    if valid.contains(&media.as_str()) {
        return Ok(media);
    }
    let list: Vec<String> = valid.iter().map(|v| format!("'{v}'")).collect();
    Err(error(415, &format!("Unexpected content type. Expected content types are: [{}]", list.join(", "))))
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// `SecretsController._lookup`: the id must be a canonical UUID4 and the secret live. Runs
/// before any policy check, in every project.
fn lookup(s: &BarbicanState, id: &str, operation: &str) -> Result<(Secret, Option<Acl>), Response> {
    if !model::valid_secret_id(id) {
        return Err(error(404, "Not Found. Provided secret id is invalid."));
    }
    let secret = s.model.get(id, now_us()).map_err(|e| failure(operation, e))?.ok_or_else(|| error(404, "Secret not found."))?;
    let acl = s.model.acl(id).map_err(|e| failure(operation, e))?;
    Ok((secret, acl))
}

fn authorize(
    s: &BarbicanState,
    action: Action,
    caller: &AuthContext,
    found: &(Secret, Option<Acl>),
    operation: &str,
) -> Result<(), Response> {
    if s.model.permits(action, caller, &found.0, found.1.as_ref()) { Ok(()) } else { Err(forbidden(operation)) }
}

/// The payload for an `Accept` (absent or empty means `application/octet-stream`).
fn payload_response(secret: &Secret, accept: Option<&str>, operation: &str) -> Response {
    let accept = accept.filter(|a| !a.is_empty()).unwrap_or("application/octet-stream");
    let (Some(stored), Some(bytes)) = (&secret.content_type, &secret.payload) else {
        return error(404, "Not Found. Sorry but your secret has no payload.");
    };
    match validate::render_payload(stored, bytes, accept) {
        Ok((body, content_type)) => {
            let ct = HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
            ([(header::CONTENT_TYPE, ct)], body).into_response()
        }
        Err(e) => issue(operation, &e),
    }
}

// ---- /v1/secrets ----

async fn list_secrets(
    State(s): State<BarbicanState>,
    caller: AuthContext,
    Extension(mv): Extension<Microversion>,
    query: ListQuery,
) -> Handled {
    const OP: &str = "Secret(s) retrieval";
    if !(s.model.scope_ok(&caller) && model::may_list(s.model.policy(), &caller)) {
        return Err(forbidden(OP));
    }
    let params = query_pairs(query);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let bad_query = || error(400, "URI provided invalid query string parameters.");
    let mut dates = Vec::new();
    for column in ["created", "updated", "expiration"] {
        if let Some(v) = get(column) {
            dates.extend(validate::date_filters(v, column).ok_or_else(bad_query)?);
        }
    }
    let sort = match get("sort") {
        Some(v) => validate::sort_keys(v).ok_or_else(bad_query)?,
        None => Vec::new(),
    };
    let int = |k: &str| get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let (offset, limit) = paging(&params);
    let filter = ListFilter {
        project_id: caller.project_id.clone(),
        acl_user: get("acl_only").filter(|v| v.eq_ignore_ascii_case("true")).map(|_| caller.user_id.clone()),
        name: get("name").map(validate::unquote_plus),
        alg: get("alg").map(str::to_owned),
        mode: get("mode").map(str::to_owned),
        bits: int("bits").filter(|b| *b > 0),
        secret_type: get("secret_type").map(str::to_owned),
        dates,
        sort,
        offset,
        limit,
    };
    let (secrets, total) = s.model.list(&filter, now_us()).map_err(|e| failure(OP, e))?;
    let items: Vec<Value> = secrets.iter().map(|x| secret_json(&s, x, mv)).collect();
    let mut body = page(&s, "secrets", items, total, offset, limit);
    // Barbican 23 keeps the other query parameters in the paging links.
    let kept = validate::nav_query(&params);
    if !kept.is_empty() {
        for link in ["previous", "next"] {
            if let Some(href) = body.get(link).and_then(Value::as_str) {
                body[link] = json!(format!("{href}&{kept}"));
            }
        }
    }
    Ok(Json(body).into_response())
}

/// `clean_paging_values`: `(offset, limit)`; bad numbers fall back to the defaults.
fn paging(params: &[(String, String)]) -> (i64, i64) {
    let int = |k: &str| params.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.trim().parse::<i64>().ok());
    (int("offset").map_or(0, |o| o.max(0)), int("limit").map_or(10, |l| l.clamp(1, 100)))
}

/// A listing with `total` and, when the page is not empty, `add_nav_hrefs`' `previous` and
/// `next` links.
fn page(s: &BarbicanState, resource: &str, items: Vec<Value>, total: i64, offset: i64, limit: i64) -> Value {
    page_at(s, resource, resource, items, total, offset, limit)
}

/// [`page`] with the items under `key` and the links to `path` (`secrets/{id}/consumers`).
fn page_at(s: &BarbicanState, key: &str, path: &str, items: Vec<Value>, total: i64, offset: i64, limit: i64) -> Value {
    let nonempty = !items.is_empty();
    let mut body = json!({"total": total});
    body[key] = Value::Array(items);
    if nonempty {
        let href = |offset: i64| format!("{}/v1/{path}?limit={limit}&offset={offset}", s.public_url);
        if offset > 0 {
            body["previous"] = json!(href((offset - limit).max(0)));
        }
        if total > offset.saturating_add(limit) {
            body["next"] = json!(href(offset.saturating_add(limit)));
        }
    }
    body
}

async fn create_secret(State(s): State<BarbicanState>, caller: AuthContext, headers: HeaderMap, body: Body) -> Handled {
    const OP: &str = "Secret creation";
    let body = read_body(body).await?;
    if !(s.model.scope_ok(&caller) && model::may_create(s.model.policy(), &caller)) {
        return Err(forbidden(OP));
    }
    require_content_type(&headers, &["application/json"])?;
    let now = now_us();
    let new = validate::new_secret(&body, now).map_err(|e| error(e.status, &e.message))?;
    containers::enforce_quota(&s, &caller, "secrets", OP, || s.model.count_secrets(&caller.project_id))?;
    let (content_type, payload) = new.payload.map_or((None, None), |(ct, bytes)| (Some(ct), Some(bytes)));
    let secret = Secret {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        project_id: caller.project_id.clone(),
        creator_id: caller.user_id.clone(),
        name: new.name,
        secret_type: new.secret_type,
        algorithm: new.algorithm,
        bit_length: new.bit_length,
        mode: new.mode,
        expiration: new.expiration,
        created: now,
        updated: now,
        content_type,
        payload,
    };
    s.model.insert(&secret).map_err(|e| failure(OP, e))?;
    let href = secret_ref(&s, &secret.id);
    let location = HeaderValue::from_str(&href).map_err(|e| failure(OP, e))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(json!({"secret_ref": href}))).into_response())
}

// ---- /v1/secrets/{id} ----

async fn show_secret(
    State(s): State<BarbicanState>,
    caller: AuthContext,
    Extension(mv): Extension<Microversion>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Handled {
    const OP: &str = "Secret retrieval";
    let found = lookup(&s, &id, OP)?;
    let accept = header_str(&headers, header::ACCEPT);
    if matches!(accept.as_deref(), None | Some("application/json" | "*/*")) {
        authorize(&s, Action::Get, &caller, &found, OP)?;
        return Ok(Json(secret_json(&s, &found.0, mv)).into_response());
    }
    // Any other Accept is the deprecated payload retrieval, under `secret:decrypt`.
    authorize(&s, Action::Decrypt, &caller, &found, OP)?;
    Ok(payload_response(&found.0, accept.as_deref(), OP))
}

async fn put_payload(State(s): State<BarbicanState>, WriteRequest { caller, id, headers, body }: WriteRequest) -> Handled {
    const OP: &str = "Secret update";
    let body = read_body(body).await?;
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Action::Put, &caller, &found, OP)?;
    let media = require_content_type(&headers, &["application/octet-stream", "text/plain"])?;
    if body.is_empty() {
        return Err(issue(OP, &Invalid { status: 400, message: "No data supplied to process".into() }));
    }
    if body.len() > MAX_SECRET_BYTES {
        return Err(issue(OP, &Invalid { status: 413, message: TOO_LARGE.into() }));
    }
    if found.0.payload.is_some() {
        return Err(error(409, "Secret already has data, cannot modify it."));
    }
    // `normalize_before_encryption`: text is kept as sent; binary may be base64 on the wire.
    let payload = match (media.as_str(), header_str(&headers, header::CONTENT_ENCODING).filter(|e| !e.is_empty())) {
        ("text/plain", _) | (_, None) => body.to_vec(),
        (_, Some(enc)) if enc.eq_ignore_ascii_case("base64") => {
            let text =
                std::str::from_utf8(&body).map_err(|_| issue(OP, &Invalid { status: 400, message: "Problem decoding payload".into() }))?;
            sigstack_verify::base64_lenient::decode(text)
                .map_err(|_| issue(OP, &Invalid { status: 400, message: "Problem decoding payload".into() }))?
        }
        (_, Some(enc)) => {
            return Err(issue(OP, &Invalid { status: 400, message: format!("content-encoding of '{enc}' not supported") }));
        }
    };
    if !s.model.set_payload(&id, &media, &payload, now_us()).map_err(|e| failure(OP, e))? {
        return Err(error(409, "Secret already has data, cannot modify it."));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_secret(
    State(s): State<BarbicanState>,
    caller: AuthContext,
    Extension(mv): Extension<Microversion>,
    Path(id): Path<String>,
    query: ListQuery,
) -> Handled {
    const OP: &str = "Secret deletion";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Action::Delete, &caller, &found, OP)?;
    if mv >= NO_DELETE_WITH_CONSUMERS {
        let params = query_pairs(query);
        // `strutils.bool_from_string(force, strict=True)`.
        let force = match params.iter().find(|(k, _)| k == "force").map(|(_, v)| v.trim().to_ascii_lowercase()) {
            None => false,
            Some(v) if ["1", "t", "true", "on", "y", "yes"].contains(&v.as_str()) => true,
            Some(v) if ["0", "f", "false", "off", "n", "no"].contains(&v.as_str()) => false,
            Some(_) => return Err(error(400, "URI provided invalid query string parameters.")),
        };
        let consumers = s.model.secret_consumers(&id).map_err(|e| failure(OP, e))?;
        if !consumers.is_empty() && !force {
            return Err(issue(OP, &Invalid { status: 400, message: "Secret cannot be deleted as it has consumers.".into() }));
        }
    }
    s.model.delete(&id).map_err(|e| failure(OP, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn unknown_subresource(State(s): State<BarbicanState>, _caller: AuthContext, Path((id, _)): Path<(String, String)>) -> Handled {
    lookup(&s, &id, "Secret retrieval")?;
    Err(aborted(404))
}

// ---- /v1/secrets/{id}/payload ----

async fn get_payload(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>, headers: HeaderMap) -> Handled {
    const OP: &str = "Secret payload retrieval";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Action::Decrypt, &caller, &found, OP)?;
    Ok(payload_response(&found.0, header_str(&headers, header::ACCEPT).as_deref(), OP))
}

/// Barbican checks `secret:decrypt` before refusing the method.
async fn payload_other(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    const OP: &str = "Secret payload retrieval";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Action::Decrypt, &caller, &found, OP)?;
    Err(aborted(405))
}

// ---- /v1/secrets/{id}/acl (handlers in `http_entities.rs`) ----

/// A secret's or a container's ACL as `GET .../acl` answers it.
fn acl_json(acl: Option<&Acl>) -> Value {
    match acl {
        None => json!({"read": {"project-access": true}}),
        Some(a) => json!({"read": {
            "project-access": a.project_access,
            "users": a.users,
            "created": time(a.created),
            "updated": time(a.updated),
        }}),
    }
}
