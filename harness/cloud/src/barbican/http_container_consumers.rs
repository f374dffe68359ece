//! A container's consumers (`ContainerConsumersController`) and read ACL
//! (`ContainerACLsController`) on the wire.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::super::super::containers::{self, ContainerConsumer};
use super::super::super::model::now_us;
use super::super::super::policy::Rule;
use super::super::{BarbicanState, Handled, aborted, acl_json, error, failure, page_at, paging, read_body, require_content_type, time};
use super::{authorize, container_json, container_ref, enforce_quota, lookup};
use crate::wire::AuthContext;

pub(super) fn routes(router: Router<BarbicanState>) -> Router<BarbicanState> {
    router
        .route("/v1/containers/{id}/consumers", get(list_consumers).post(add_consumer).delete(remove_consumer).fallback(consumers_other))
        .route("/v1/containers/{id}/consumers/{consumer_id}", get(consumer_get).fallback(consumer_other))
        .route("/v1/containers/{id}/acl", get(acl_get).put(acl_put).patch(acl_patch).delete(acl_delete).fallback(acl_other))
}

fn consumer_json(c: &ContainerConsumer) -> Value {
    json!({"created": time(c.created), "updated": time(c.updated), "status": "ACTIVE", "name": c.name, "URL": c.url})
}

/// The container as the consumer operations answer it (re-read after the change).
fn container_answer(s: &BarbicanState, id: &str, operation: &str) -> Handled {
    let container =
        s.model.get_container(id).map_err(|e| failure(operation, e))?.ok_or_else(|| error(404, "Secrets container not found."))?;
    Ok(Json(container_json(s, &container)).into_response())
}

async fn list_consumers(
    State(s): State<BarbicanState>,
    caller: AuthContext,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Handled {
    const OP: &str = "ContainerConsumers(s) retrieval";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Read, &caller, &found, OP)?;
    let params = query.map(|Query(q)| q).unwrap_or_default();
    let (offset, limit) = paging(&params);
    let all = &found.0.consumers;
    let items: Vec<Value> = all.iter().skip(offset as usize).take(limit as usize).map(consumer_json).collect();
    let path = format!("containers/{id}/consumers");
    Ok(Json(page_at(&s, "consumers", &path, items, all.len() as i64, offset, limit)).into_response())
}

/// `POST`: idempotent; answers the container (200) with a `Location` of
/// `convert_consumer_to_href(container_id)`.
async fn add_consumer(
    State(s): State<BarbicanState>,
    caller: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    const OP: &str = "ContainerConsumer creation";
    let body = read_body(body).await?;
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Read, &caller, &found, OP)?;
    require_content_type(&headers, &["application/json"])?;
    let (name, url) = containers::container_consumer(&body).map_err(|e| error(e.status, &e.message))?;
    enforce_quota(&s, &caller, "consumers", OP, || s.model.count_consumers(&caller.project_id))?;
    let now = now_us();
    let consumer = ContainerConsumer { project_id: caller.project_id.clone(), name, url, created: now, updated: now };
    s.model.add_container_consumer(&id, &consumer).map_err(|e| failure(OP, e))?;
    let mut response = container_answer(&s, &id, OP)?;
    if let Ok(v) = HeaderValue::from_str(&format!("{}/v1/consumers/{id}/consumers", s.public_url)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

async fn remove_consumer(
    State(s): State<BarbicanState>,
    caller: AuthContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    const OP: &str = "ContainerConsumer deletion";
    let body = read_body(body).await?;
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Read, &caller, &found, OP)?;
    require_content_type(&headers, &["application/json"])?;
    let (name, url) = containers::container_consumer(&body).map_err(|e| error(e.status, &e.message))?;
    let Some(consumer) = found.0.consumers.iter().find(|c| c.name == name && c.url == url) else {
        return Err(error(404, "Consumer not found."));
    };
    if consumer.project_id != caller.project_id && found.0.project_id != caller.project_id {
        return Err(error(403, "Not Allowed. Sorry, only the creator of a consumer can delete it."));
    }
    if !s.model.remove_container_consumer(&id, &name, &url).map_err(|e| failure(OP, e))? {
        return Err(error(404, "Consumer not found."));
    }
    container_answer(&s, &id, OP)
}

/// `GET .../consumers/{consumer_id}` (`consumer:get`): consumer ids are never shown, so a
/// well-formed one is not found.
async fn consumer_get(State(s): State<BarbicanState>, caller: AuthContext, Path((id, consumer_id)): Path<(String, String)>) -> Handled {
    const OP: &str = "ContainerConsumer retrieval";
    let found = lookup(&s, &id, OP)?;
    if !super::super::super::model::valid_secret_id(&consumer_id) {
        return Err(error(404, "Not Found. Provided consumer id is invalid."));
    }
    authorize(&s, Rule::ConsumerGet, &caller, &found, OP)?;
    Err(error(404, "Consumer not found."))
}

async fn consumer_other(State(s): State<BarbicanState>, _caller: AuthContext, Path((id, consumer_id)): Path<(String, String)>) -> Handled {
    lookup(&s, &id, "Container retrieval")?;
    if !super::super::super::model::valid_secret_id(&consumer_id) {
        return Err(error(404, "Not Found. Provided consumer id is invalid."));
    }
    Err(aborted(405))
}

async fn consumers_other(State(s): State<BarbicanState>, _caller: AuthContext, Path(id): Path<String>) -> Handled {
    lookup(&s, &id, "Container retrieval")?;
    Err(aborted(405))
}

// ---- /v1/containers/{id}/acl ----

async fn acl_get(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    const OP: &str = "ContainerACL(s) retrieval";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::AclGet, &caller, &found, OP)?;
    Ok(Json(acl_json(found.1.as_ref())).into_response())
}

/// PUT replaces (missing `project-access` is true, missing `users` empty); PATCH merges.
async fn acl_write(s: &BarbicanState, caller: &AuthContext, id: &str, headers: &HeaderMap, body: Body, replace: bool) -> Handled {
    const OP: &str = "ContainerACL(s) Update";
    let body = read_body(body).await?;
    let found = lookup(s, id, OP)?;
    authorize(s, Rule::Change, caller, &found, OP)?;
    require_content_type(headers, &["application/json"])?;
    let read = super::super::validate::acl_body(&body).map_err(|e| error(e.status, &e.message))?;
    let now = now_us();
    let result = match (read, replace) {
        (Some(r), true) => {
            let users = r.users.unwrap_or_default();
            s.model.write_container_acl(id, Some(r.project_access.unwrap_or(true)), Some(&users), now)
        }
        (Some(r), false) => s.model.write_container_acl(id, r.project_access, r.users.as_deref(), now),
        (None, true) => s.model.delete_container_acl(id),
        (None, false) => Ok(()),
    };
    result.map_err(|e| failure(OP, e))?;
    Ok(Json(json!({"acl_ref": format!("{}/acl", container_ref(s, id))})).into_response())
}

async fn acl_put(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Handled {
    acl_write(&s, &caller, &id, &headers, body, true).await
}

async fn acl_patch(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Handled {
    acl_write(&s, &caller, &id, &headers, body, false).await
}

/// 200 with a JSON `null` body, as for a secret's ACL.
async fn acl_delete(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    const OP: &str = "ContainerACL(s) deletion";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Change, &caller, &found, OP)?;
    s.model.delete_container_acl(&id).map_err(|e| failure(OP, e))?;
    Ok(Json(Value::Null).into_response())
}

async fn acl_other(State(s): State<BarbicanState>, _caller: AuthContext, Path(id): Path<String>) -> Response {
    match lookup(&s, &id, "ContainerACL(s) retrieval") {
        Ok(_) => aborted(405),
        Err(r) => r,
    }
}
