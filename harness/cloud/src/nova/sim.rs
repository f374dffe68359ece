//! `/_sim/compute/...`: simulator-only control of the compute nodes. Real Nova has nothing
//! like it; conformance scenarios using it are `@simulated`.
//!
//! - `GET /_sim/compute/nodes`: every node of the deployment with its storage back end
//!   (`lvm`, `local`, `rbd`), `supports_trusted_certs`, `state` (`up`/`down`), the image ids in
//!   its `_base` cache and the servers it hosts.
//! - `POST /_sim/compute/nodes/{host}/image-cache` `{"image_id": ...}`: downloads the image
//!   from Glance with the user's token in `X-Subject-Token` (`X-Auth-Token` is the control
//!   API's own) into the node's cache, without verification (a node that had the image before
//!   verification was turned on). 200 with the node; 401 without a valid subject token.
//! - `DELETE /_sim/compute/nodes/{host}/image-cache/{image_id}`: evicts it (204; 404 if not
//!   cached).
//! - `POST /_sim/compute/nodes/{host}/fail`: marks the node's nova-compute down and, as
//!   Masakari does, authenticates with the deployment's `instance_ha` user and evacuates every
//!   server on the host through the public API (microversion 2.29, no target host). Waits for
//!   each evacuation to finish (up to 60 s) and answers with a per-server report:
//!   `{"host", "state": "down", "evacuations": [{"server_id", "accepted", "error"?, "status",
//!   "host", "fault"?}]}`. With the body `{"evacuate": false}` the host just goes down (a
//!   cloud without instance HA).
//! - `POST /_sim/compute/nodes/{host}/recover`: marks it up again.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};
use sigstack_client::{Session, compute};

use super::http::NovaState;
use super::image_fetch;
use super::model::ComputeNode;

/// How long `fail` waits for each evacuation to settle.
const EVACUATION_WAIT: Duration = Duration::from_secs(60);

pub fn routes() -> Router<NovaState> {
    Router::new()
        .route("/_sim/compute/nodes", get(nodes))
        .route("/_sim/compute/nodes/{host}/image-cache", post(warm))
        .route("/_sim/compute/nodes/{host}/image-cache/{image_id}", delete(evict))
        .route("/_sim/compute/nodes/{host}/fail", post(fail))
        .route("/_sim/compute/nodes/{host}/recover", post(recover))
}

/// A `/_sim/` error; a 5xx's message (the internal error) is also its request line's cause.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    if status.is_server_error() {
        crate::logging::cause(&message);
    }
    (status, Json(json!({"error": message}))).into_response()
}

fn node_view(s: &NovaState, node: &ComputeNode) -> Value {
    let servers: Vec<String> = s
        .compute
        .all_servers()
        .unwrap_or_default()
        .into_iter()
        .filter(|x| x.host.as_deref() == Some(node.spec.host.as_str()))
        .map(|x| x.id)
        .collect();
    json!({
        "host": node.spec.host,
        "images_type": node.spec.images_type,
        "supports_trusted_certs": node.spec.supports_trusted_certs,
        "state": if node.up { "up" } else { "down" },
        "cached_images": s.compute.cache.list(&node.spec.host),
        "servers": servers,
    })
}

/// The node, or the status and message to answer with.
fn find_node(s: &NovaState, host: &str) -> Result<ComputeNode, (StatusCode, String)> {
    match s.compute.node(host) {
        Ok(Some(node)) => Ok(node),
        Ok(None) => Err((StatusCode::NOT_FOUND, format!("no compute node '{host}'"))),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

async fn nodes(State(s): State<NovaState>) -> Response {
    match s.compute.nodes() {
        Ok(nodes) => Json(json!({"nodes": nodes.iter().map(|n| node_view(&s, n)).collect::<Vec<_>>()})).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn warm(State(s): State<NovaState>, headers: HeaderMap, Path(host): Path<String>, body: Bytes) -> Response {
    let node = match find_node(&s, &host) {
        Ok(n) => n,
        Err((status, message)) => return error(status, message),
    };
    let subject = headers.get("X-Subject-Token").and_then(|v| v.to_str().ok());
    let Some(ctx) = subject.and_then(|t| s.identity.validate(t).ok()) else {
        return error(StatusCode::UNAUTHORIZED, "X-Subject-Token must be a valid token of the user the node downloads as");
    };
    let image_id = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["image_id"].as_str().map(str::to_owned));
    let Some(image_id) = image_id else {
        return error(StatusCode::BAD_REQUEST, "body must be {\"image_id\": \"<uuid>\"}");
    };
    let session = ctx.session(s.compute.http.clone());
    match image_fetch::warm_cache(&session, &s.compute.cache, &host, &image_id).await {
        Ok(()) => Json(json!({"node": node_view(&s, &node)})).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, format!("cannot cache image {image_id} on {host}: {e}")),
    }
}

async fn evict(State(s): State<NovaState>, Path((host, image_id)): Path<(String, String)>) -> Response {
    if let Err((status, message)) = find_node(&s, &host) {
        return error(status, message);
    }
    if s.compute.cache.remove(&host, &image_id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, format!("image {image_id} is not cached on {host}"))
    }
}

async fn recover(State(s): State<NovaState>, Path(host): Path<String>) -> Response {
    let node = match find_node(&s, &host) {
        Ok(n) => n,
        Err((status, message)) => return error(status, message),
    };
    match s.compute.set_node_up(&host, true) {
        Ok(()) => Json(json!({"node": node_view(&s, &ComputeNode { up: true, ..node })})).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn fail(State(s): State<NovaState>, Path(host): Path<String>, body: Bytes) -> Response {
    if let Err((status, message)) = find_node(&s, &host) {
        return error(status, message);
    }
    let evacuate = if body.is_empty() {
        true
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) if v.is_object() => v.get("evacuate").and_then(Value::as_bool).unwrap_or(true),
            _ => return error(StatusCode::BAD_REQUEST, "body must be empty or {\"evacuate\": true|false}"),
        }
    };
    if let Err(e) = s.compute.set_node_up(&host, false) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    let servers: Vec<String> = s
        .compute
        .all_servers()
        .unwrap_or_default()
        .into_iter()
        .filter(|x| x.host.as_deref() == Some(host.as_str()))
        .map(|x| x.id)
        .collect();
    let mut report = Vec::new();
    if evacuate && !servers.is_empty() {
        let Some(credentials) = s.instance_ha.clone() else {
            return error(StatusCode::CONFLICT, "this cloud has no instance-HA user to evacuate with");
        };
        let session = match Session::authenticate_with(s.compute.http.clone(), &credentials).await {
            Ok(session) => session,
            Err(e) => return error(StatusCode::BAD_GATEWAY, format!("instance-HA user cannot authenticate: {e}")),
        };
        for id in servers {
            report.push(evacuate_one(&s, &session, &id).await);
        }
    }
    Json(json!({"host": host, "state": "down", "evacuations": report})).into_response()
}

/// One Masakari evacuation: the public API call with the service user's token, then the
/// server's outcome as that user sees it.
async fn evacuate_one(s: &NovaState, session: &Session, id: &str) -> Value {
    if let Err(e) = compute::evacuate(session, "2.29", id, None).await {
        return json!({"server_id": id, "accepted": false, "error": e.to_string()});
    }
    let deadline = tokio::time::Instant::now() + EVACUATION_WAIT;
    loop {
        let server = s.compute.get(id).ok().flatten();
        match server {
            Some(x) if x.task_state.is_none() => {
                let status = x.status();
                return json!({
                    "server_id": id, "accepted": true, "status": status, "host": x.host,
                    "fault": x.fault.filter(|_| status == "ERROR").map(|f| f.message),
                });
            }
            None => return json!({"server_id": id, "accepted": true, "status": "DELETED"}),
            Some(_) if tokio::time::Instant::now() >= deadline => {
                return json!({"server_id": id, "accepted": true, "status": "REBUILD", "error": "evacuation still running"});
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}
