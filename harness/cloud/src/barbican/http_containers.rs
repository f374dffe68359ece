//! `/v1/containers` on the wire (`barbican/api/controllers/containers.py`): create, list,
//! show, delete, and adding or removing a generic container's secrets, in the controllers'
//! order of checks: the id and the lookup (any project) first, then the policy, then the
//! Content-Type, then the body. Consumers and ACLs are in `http_container_consumers.rs`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::super::containers::{self, Container};
use super::super::model::{self, Acl, now_us};
use super::super::policy::Rule;
use super::entities::{ListQuery, WriteRequest, authorize, query_pairs, read_authorized_json, refuse_method};
use super::{
    BarbicanState, Handled, error, error_body, failure, forbidden, issue, page, paging, read_body, require_content_type, secret_ref, time,
};
use crate::wire::AuthContext;

#[path = "http_container_consumers.rs"]
mod consumers;

pub(super) fn routes(router: Router<BarbicanState>) -> Router<BarbicanState> {
    let router = router
        .route("/v1/containers", get(list_containers).post(create_container).fallback(super::method_not_allowed))
        .route("/v1/containers/", get(list_containers).post(create_container).fallback(super::method_not_allowed))
        .route("/v1/containers/{id}", get(show_container).delete(delete_container).fallback(refuse_method::<Container>))
        .route("/v1/containers/{id}/secrets", axum::routing::post(add_secret).delete(remove_secret).fallback(refuse_method::<Container>))
        .route("/v1/containers/{id}/{sub}", axum::routing::any(unknown_subresource));
    consumers::routes(router)
}

pub(super) fn container_ref(s: &BarbicanState, id: &str) -> String {
    format!("{}/v1/containers/{id}", s.public_url)
}

/// `Container.to_dict_fields` through `convert_to_hrefs`.
pub(super) fn container_json(s: &BarbicanState, c: &Container) -> Value {
    let secret_refs: Vec<Value> = c.secrets.iter().map(|(name, id)| json!({"name": name, "secret_ref": secret_ref(s, id)})).collect();
    let consumers: Vec<Value> = c.consumers.iter().map(|k| json!({"name": k.name, "URL": k.url})).collect();
    json!({
        "created": time(c.created),
        "updated": time(c.updated),
        "status": "ACTIVE",
        "name": c.name,
        "type": c.container_type,
        "creator_id": c.creator_id,
        "secret_refs": secret_refs,
        "consumers": consumers,
        "container_ref": container_ref(s, &c.id),
    })
}

/// `ContainersController._lookup`: a canonical UUID4, then the container in any project.
pub(super) fn lookup(s: &BarbicanState, id: &str, operation: &str) -> Result<(Container, Option<Acl>), Response> {
    if !model::valid_secret_id(id) {
        return Err(error(404, "Not Found. Provided container id is invalid."));
    }
    let container =
        s.model.get_container(id).map_err(|e| failure(operation, e))?.ok_or_else(|| error(404, "Secrets container not found."))?;
    let acl = s.model.container_acl(id).map_err(|e| failure(operation, e))?;
    Ok((container, acl))
}

/// `QuotaEnforcer.enforce` for `resource`: 403 "<op> issue seen - Creation not allowed...".
pub(super) fn enforce_quota(
    s: &BarbicanState,
    caller: &AuthContext,
    resource: &str,
    operation: &str,
    count: impl FnOnce() -> Result<i64, crate::store::StoreError>,
) -> Result<(), Response> {
    let within = s.model.within_quota(&caller.project_id, resource, count).map_err(|e| failure(operation, e))?;
    if within {
        Ok(())
    } else {
        Err(issue(operation, &super::Invalid { status: 403, message: super::super::extras::QUOTA_REACHED.into() }))
    }
}

async fn list_containers(State(s): State<BarbicanState>, caller: AuthContext, query: ListQuery) -> Handled {
    const OP: &str = "Containers(s) retrieval";
    if !(s.model.scope_ok(&caller) && model::may_list(s.model.policy(), &caller)) {
        return Err(forbidden(OP));
    }
    let params = query_pairs(query);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let (offset, limit) = paging(&params);
    let (found, total) =
        s.model.list_containers(&caller.project_id, get("name"), get("type"), offset, limit).map_err(|e| failure(OP, e))?;
    let items = found.iter().map(|c| container_json(&s, c)).collect();
    Ok(Json(page(&s, "containers", items, total, offset, limit)).into_response())
}

async fn create_container(State(s): State<BarbicanState>, caller: AuthContext, headers: HeaderMap, body: Body) -> Handled {
    const OP: &str = "Container creation";
    let body = read_body(body).await?;
    if !(s.model.scope_ok(&caller) && model::may_create(s.model.policy(), &caller)) {
        return Err(forbidden(OP));
    }
    require_content_type(&headers, &["application/json"])?;
    let new = containers::new_container(&body, &s.public_url).map_err(|e| error(e.status, &e.message))?;
    enforce_quota(&s, &caller, "containers", OP, || s.model.count_containers(&caller.project_id))?;
    let now = now_us();
    let mut secrets = Vec::new();
    for (name, reference) in &new.secret_refs {
        let id = containers::secret_id_from_ref(reference);
        let found = s.model.get(&id, now).map_err(|e| failure(OP, e))?;
        if found.is_none_or(|secret| secret.project_id != caller.project_id) {
            let name = name.as_deref().unwrap_or("None");
            return Err(error(404, &format!("Secret provided for '{name}' doesn't exist.")));
        }
        secrets.push((name.clone(), id));
    }
    let container = Container {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        project_id: caller.project_id.clone(),
        creator_id: caller.user_id.clone(),
        name: new.name,
        container_type: new.container_type,
        created: now,
        updated: now,
        secrets,
        consumers: Vec::new(),
    };
    s.model.insert_container(&container).map_err(|e| failure(OP, e))?;
    let href = container_ref(&s, &container.id);
    let location = HeaderValue::from_str(&href).map_err(|e| failure(OP, e))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(json!({"container_ref": href}))).into_response())
}

async fn show_container(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    const OP: &str = "Container retrieval";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Read, &caller, &found, OP)?;
    Ok(Json(container_json(&s, &found.0)).into_response())
}

async fn delete_container(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    const OP: &str = "Container deletion";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Delete, &caller, &found, OP)?;
    // `delete_entity_by_id(..., external_project_id)`: in the caller's project only.
    if found.0.project_id != caller.project_id {
        return Err(error(404, "Secrets container not found."));
    }
    s.model.delete_container(&id).map_err(|e| failure(OP, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An unknown sub-resource reaches `ContainerController`'s `index` with an extra argument:
/// `GET` and `DELETE` pass the policy check, then fail (`TypeError`, the generic 500); other
/// methods find no route (pecan's own 404, no detail).
async fn unknown_subresource(
    State(s): State<BarbicanState>,
    caller: AuthContext,
    method: axum::http::Method,
    Path((id, _)): Path<(String, String)>,
) -> Handled {
    let (rule, operation) = match method {
        axum::http::Method::GET => (Rule::Read, "Container retrieval"),
        axum::http::Method::DELETE => (Rule::Delete, "Container deletion"),
        _ => {
            lookup(&s, &id, "Container retrieval")?;
            return Err(error_body(404, None));
        }
    };
    let found = lookup(&s, &id, operation)?;
    authorize(&s, rule, &caller, &found, operation)?;
    Err(failure(operation, "the controller's index takes no sub-resource argument"))
}

/// `POST /v1/containers/{id}/secrets`: generic containers only; the secret must be in the
/// caller's project; the same (name, secret) twice is a 409.
async fn add_secret(State(s): State<BarbicanState>, WriteRequest { caller, id, headers, body }: WriteRequest) -> Handled {
    const OP: &str = "Container Secret creation";
    let (body, found) = read_authorized_json::<Container>(&s, &caller, &id, &headers, body, Rule::Change, OP).await?;
    if found.0.container_type != "generic" {
        return Err(error(400, "Only 'generic' containers can be modified."));
    }
    let (name, reference) = containers::container_secret(&body).map_err(|e| error(e.status, &e.message))?;
    let secret_id = reference.rsplit('/').next().unwrap_or_default().to_owned();
    let secret = s.model.get(&secret_id, now_us()).map_err(|e| failure(OP, e))?;
    if secret.is_none_or(|x| x.project_id != caller.project_id) {
        return Err(error(404, "Secret provided doesn't exist."));
    }
    if found.0.secrets.iter().any(|(n, sid)| *sid == secret_id && *n == name) {
        return Err(error(
            409,
            "Conflict. A secret with that name and ID is already stored in this container. The same secret can exist in a container as long as the name is unique.",
        ));
    }
    s.model.add_container_secret(&id, name.as_deref(), &secret_id, now_us()).map_err(|e| failure(OP, e))?;
    let href = container_ref(&s, &id);
    let location = HeaderValue::from_str(&href).map_err(|e| failure(OP, e))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(json!({"container_ref": href}))).into_response())
}

/// `DELETE /v1/containers/{id}/secrets` with the same body (no Content-Type check).
async fn remove_secret(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>, body: Body) -> Handled {
    const OP: &str = "Container Secret deletion";
    let body = read_body(body).await?;
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Change, &caller, &found, OP)?;
    let (name, reference) = containers::container_secret(&body).map_err(|e| error(e.status, &e.message))?;
    let secret_id = reference.rsplit('/').next().unwrap_or_default().to_owned();
    let secret = s.model.get(&secret_id, now_us()).map_err(|e| failure(OP, e))?;
    if secret.is_none_or(|x| x.project_id != caller.project_id) {
        let shown = name.as_deref().unwrap_or("None");
        return Err(error(404, &format!("Secret '{shown}' with reference '{reference}' doesn't exist.")));
    }
    if !found.0.secrets.iter().any(|(n, sid)| *sid == secret_id && *n == name) {
        return Err(error(404, "Secret provided is not in the container"));
    }
    s.model.remove_container_secret(&id, name.as_deref(), &secret_id).map_err(|e| failure(OP, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
