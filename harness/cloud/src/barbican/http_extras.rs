//! A secret's user metadata (`secretmeta.py`) and consumers (`SecretConsumersController`),
//! and the quotas (`quotas.py`) on the wire.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::super::extras::{self, ProjectQuotas, QUOTA_RESOURCES, SecretConsumer};
use super::super::model::{Secret, now_us};
use super::super::policy::{self, Rule, Target};
use super::entities::{
    ListQuery, WriteRequest, authorize, consumer_page, may_remove_consumer, query_pairs, read_authorized_json, refuse_consumer_method,
    refuse_method, valid_consumer_id, with_consumer_location,
};
use super::{
    BarbicanState, Handled, aborted, error, failure, forbidden, lookup, paging, read_body, require_content_type, secret_json, secret_ref,
    time,
};
use crate::microversion::Microversion;
use crate::wire::AuthContext;

pub(super) fn routes(router: Router<BarbicanState>) -> Router<BarbicanState> {
    router
        .route("/v1/secrets/{id}/metadata", get(metadata_get).put(metadata_put).post(metadatum_post).fallback(refuse_method::<Secret>))
        .route("/v1/secrets/{id}/metadata/", get(metadata_get).put(metadata_put).post(metadatum_post).fallback(refuse_method::<Secret>))
        .route("/v1/secrets/{id}/metadata/{key}", get(metadatum_get).put(metadatum_put).delete(metadatum_delete).fallback(metadatum_other))
        .route(
            "/v1/secrets/{id}/consumers",
            get(consumers_get).post(consumer_post).delete(consumer_delete).fallback(refuse_method::<Secret>),
        )
        .route("/v1/secrets/{id}/consumers/{consumer_id}", get(consumer_get).fallback(refuse_consumer_method::<Secret>))
        .route("/v1/quotas", get(quotas_get).fallback(super::method_not_allowed))
        .route("/v1/project-quotas", get(project_quotas_list).fallback(super::method_not_allowed))
        .route(
            "/v1/project-quotas/{project_id}",
            get(project_quotas_get).put(project_quotas_put).delete(project_quotas_delete).fallback(super::method_not_allowed),
        )
}

fn invalid(e: super::Invalid) -> Response {
    error(e.status, &e.message)
}

// ---- /v1/secrets/{id}/metadata ----

async fn metadata_get(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    const OP: &str = "Secret metadata retrieval";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Read, &caller, &found, OP)?;
    let metadata: Map<String, Value> =
        s.model.secret_metadata(&id).map_err(|e| failure(OP, e))?.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    Ok(Json(json!({"metadata": metadata})).into_response())
}

/// `PUT`: replaces the whole set; 201 and the `metadata_ref`.
async fn metadata_put(State(s): State<BarbicanState>, WriteRequest { caller, id, headers, body }: WriteRequest) -> Handled {
    const OP: &str = "Secret metadata creation";
    let (body, _) = read_authorized_json::<Secret>(&s, &caller, &id, &headers, body, Rule::Change, OP).await?;
    let metadata = extras::new_metadata(&body).map_err(invalid)?;
    s.model.replace_secret_metadata(&id, &metadata).map_err(|e| failure(OP, e))?;
    Ok((StatusCode::CREATED, Json(json!({"metadata_ref": format!("{}/metadata", secret_ref(&s, &id))}))).into_response())
}

/// `POST`: one new key (409 if it is there); 201, `Location` of the key, `{key, value}`.
async fn metadatum_post(State(s): State<BarbicanState>, WriteRequest { caller, id, headers, body }: WriteRequest) -> Handled {
    const OP: &str = "Secret metadatum creation";
    let (body, _) = read_authorized_json::<Secret>(&s, &caller, &id, &headers, body, Rule::Change, OP).await?;
    let (key, value) = extras::new_metadatum(&body).map_err(invalid)?;
    let current = s.model.secret_metadata(&id).map_err(|e| failure(OP, e))?;
    if current.iter().any(|(k, _)| *k == key) {
        return Err(error(409, "Conflict. Key in request is already in the secret metadata"));
    }
    s.model.set_secret_metadatum(&id, &key, &value).map_err(|e| failure(OP, e))?;
    let location = HeaderValue::from_str(&format!("{}/metadata/{key}", secret_ref(&s, &id))).map_err(|e| failure(OP, e))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(json!({"key": key, "value": value}))).into_response())
}

async fn metadatum_get(State(s): State<BarbicanState>, caller: AuthContext, Path((id, key)): Path<(String, String)>) -> Handled {
    const OP: &str = "Secret metadatum retrieval";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Read, &caller, &found, OP)?;
    let current = s.model.secret_metadata(&id).map_err(|e| failure(OP, e))?;
    match current.into_iter().find(|(k, _)| *k == key) {
        Some((k, v)) => Ok(Json(json!({"key": k, "value": v})).into_response()),
        None => Err(error(404, "Secret metadata not found.")),
    }
}

/// `PUT /metadata/{key}`: the key must exist (404) and match the body's (409, with
/// Barbican's truncated message); 200 `{key, value}`.
async fn metadatum_put(
    State(s): State<BarbicanState>,
    caller: AuthContext,
    Path((id, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    const OP: &str = "Secret metadatum update";
    let (body, _) = read_authorized_json::<Secret>(&s, &caller, &id, &headers, body, Rule::Change, OP).await?;
    let current = s.model.secret_metadata(&id).map_err(|e| failure(OP, e))?;
    let (new_key, value) = extras::new_metadatum(&body).map_err(invalid)?;
    if !current.iter().any(|(k, _)| *k == key) {
        return Err(error(404, "Secret metadata not found."));
    }
    if key != new_key {
        // The second half of the sentence is a separate statement in Barbican's code.
        return Err(error(409, "Key in request data does not match key in the "));
    }
    s.model.set_secret_metadatum(&id, &new_key, &value).map_err(|e| failure(OP, e))?;
    Ok(Json(json!({"key": new_key, "value": value})).into_response())
}

/// `DELETE /metadata/{key}`: 204 whether or not the key was there.
async fn metadatum_delete(State(s): State<BarbicanState>, caller: AuthContext, Path((id, key)): Path<(String, String)>) -> Handled {
    const OP: &str = "Secret metadatum removal";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Change, &caller, &found, OP)?;
    s.model.delete_secret_metadatum(&id, &key).map_err(|e| failure(OP, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `SecretController._lookup` refuses other methods on a key with a bare 405.
async fn metadatum_other(State(s): State<BarbicanState>, _caller: AuthContext, Path((id, _)): Path<(String, String)>) -> Handled {
    lookup(&s, &id, "Secret retrieval")?;
    Err(aborted(405))
}

// ---- /v1/secrets/{id}/consumers ----

fn consumer_json(c: &SecretConsumer) -> Value {
    json!({
        "created": time(c.created), "updated": time(c.updated), "status": "ACTIVE",
        "service": c.service, "resource_type": c.resource_type, "resource_id": c.resource_id,
    })
}

async fn consumers_get(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>, query: ListQuery) -> Handled {
    const OP: &str = "SecretConsumers(s) retrieval";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Read, &caller, &found, OP)?;
    let all = s.model.secret_consumers(&id).map_err(|e| failure(OP, e))?;
    consumer_page(&s, query, "secrets", &id, &all, consumer_json)
}

/// The secret as the consumer operations answer it: with its consumers, whatever the version.
fn secret_answer(s: &BarbicanState, id: &str, operation: &str) -> Handled {
    let secret = s.model.get(id, now_us()).map_err(|e| failure(operation, e))?.ok_or_else(|| error(404, "Secret not found."))?;
    Ok(Json(secret_json(s, &secret, Microversion(1, 1))).into_response())
}

async fn consumer_post(State(s): State<BarbicanState>, WriteRequest { caller, id, headers, body }: WriteRequest) -> Handled {
    const OP: &str = "SecretConsumer creation";
    let (body, _) = read_authorized_json::<Secret>(&s, &caller, &id, &headers, body, Rule::Read, OP).await?;
    let (service, resource_type, resource_id) = extras::secret_consumer(&body).map_err(invalid)?;
    super::containers::enforce_quota(&s, &caller, "consumers", OP, || s.model.count_consumers(&caller.project_id))?;
    let now = now_us();
    let consumer =
        SecretConsumer { project_id: caller.project_id.clone(), service, resource_type, resource_id, created: now, updated: now };
    s.model.add_secret_consumer(&id, &consumer).map_err(|e| failure(OP, e))?;
    Ok(with_consumer_location(&s, &id, secret_answer(&s, &id, OP)?))
}

async fn consumer_delete(State(s): State<BarbicanState>, WriteRequest { caller, id, headers, body }: WriteRequest) -> Handled {
    const OP: &str = "SecretConsumer deletion";
    let (body, found) = read_authorized_json::<Secret>(&s, &caller, &id, &headers, body, Rule::Read, OP).await?;
    let (service, resource_type, resource_id) = extras::secret_consumer(&body).map_err(invalid)?;
    let all = s.model.secret_consumers(&id).map_err(|e| failure(OP, e))?;
    let Some(consumer) = all.iter().find(|c| c.service == service && c.resource_type == resource_type && c.resource_id == resource_id)
    else {
        return Err(error(404, "Consumer not found."));
    };
    may_remove_consumer(&consumer.project_id, &found.0.project_id, &caller)?;
    if !s.model.remove_secret_consumer(&id, &service, &resource_type, &resource_id).map_err(|e| failure(OP, e))? {
        return Err(error(404, "Consumer not found."));
    }
    secret_answer(&s, &id, OP)
}

/// `GET .../consumers/{consumer_id}` (`consumer:get`, whose rules name a container target:
/// for a secret only the roles count). Consumer ids are never shown, so a well-formed one is
/// not found.
async fn consumer_get(State(s): State<BarbicanState>, caller: AuthContext, Path((id, consumer_id)): Path<(String, String)>) -> Handled {
    const OP: &str = "SecretConsumer retrieval";
    lookup(&s, &id, OP)?;
    valid_consumer_id(&consumer_id)?;
    let no_container = Target { project_id: "", creator_id: "", acl: None };
    if !(s.model.scope_ok(&caller) && policy::entity_allowed(s.model.policy(), Rule::ConsumerGet, &caller, no_container)) {
        return Err(forbidden(OP));
    }
    Err(error(404, "Consumer not found."))
}

// ---- quotas ----

fn quotas_json(values: impl IntoIterator<Item = Value>) -> Value {
    Value::Object(QUOTA_RESOURCES.iter().map(|r| (*r).to_owned()).zip(values).collect())
}

fn configured_json(q: &ProjectQuotas) -> Value {
    quotas_json(q.iter().map(|v| v.map_or(Value::Null, Value::from)))
}

/// `GET /v1/quotas`: the caller's project's effective quotas.
async fn quotas_get(State(s): State<BarbicanState>, caller: AuthContext) -> Handled {
    const OP: &str = "Quotas";
    if !(s.model.scope_ok(&caller) && policy::may_get_quotas(s.model.policy(), &caller)) {
        return Err(forbidden(OP));
    }
    let effective = s.model.effective_quotas(&caller.project_id).map_err(|e| failure(OP, e))?;
    Ok(Json(json!({"quotas": quotas_json(effective.map(Value::from))})).into_response())
}

fn may_manage(s: &BarbicanState, caller: &AuthContext) -> Result<(), Response> {
    if s.model.scope_ok(caller) && policy::may_manage_quotas(s.model.policy(), caller) { Ok(()) } else { Err(forbidden("Project Quotas")) }
}

async fn project_quotas_list(State(s): State<BarbicanState>, caller: AuthContext, query: ListQuery) -> Handled {
    const OP: &str = "Project Quotas";
    may_manage(&s, &caller)?;
    let (offset, limit) = paging(&query_pairs(query));
    let (found, total) = s.model.list_project_quotas(offset, limit).map_err(|e| failure(OP, e))?;
    let items: Vec<Value> = found.iter().map(|(p, q)| json!({"project_id": p, "project_quotas": configured_json(q)})).collect();
    // `add_nav_hrefs` runs even on an empty page here.
    let mut body = json!({"project_quotas": items});
    let href = |offset: i64| format!("{}/v1/project_quotas?limit={limit}&offset={offset}", s.public_url);
    if offset > 0 {
        body["previous"] = json!(href((offset - limit).max(0)));
    }
    if total > offset.saturating_add(limit) {
        body["next"] = json!(href(offset.saturating_add(limit)));
    }
    body["total"] = json!(total);
    Ok(Json(body).into_response())
}

async fn project_quotas_get(State(s): State<BarbicanState>, caller: AuthContext, Path(project_id): Path<String>) -> Handled {
    const OP: &str = "Project Quotas";
    may_manage(&s, &caller)?;
    match s.model.project_quotas(&project_id).map_err(|e| failure(OP, e))? {
        Some(q) => Ok(Json(json!({"project_quotas": configured_json(&q)})).into_response()),
        None => Err(error(404, "Project quotas not found.")),
    }
}

/// `PUT`: an empty body is `NoDataToProcess`; 204.
async fn project_quotas_put(
    State(s): State<BarbicanState>,
    WriteRequest { caller, id: project_id, headers, body }: WriteRequest,
) -> Handled {
    const OP: &str = "Project Quotas";
    let body = read_body(body).await?;
    may_manage(&s, &caller)?;
    require_content_type(&headers, &["application/json"])?;
    if body.is_empty() {
        return Err(super::issue(OP, &super::Invalid { status: 400, message: "No data supplied to process.".into() }));
    }
    let given = extras::project_quotas(&body).map_err(invalid)?;
    s.model.set_project_quotas(&project_id, &given, now_us()).map_err(|e| failure(OP, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn project_quotas_delete(State(s): State<BarbicanState>, caller: AuthContext, Path(project_id): Path<String>) -> Handled {
    const OP: &str = "Project Quotas";
    may_manage(&s, &caller)?;
    if !s.model.delete_project_quotas(&project_id).map_err(|e| failure(OP, e))? {
        return Err(error(404, "Project quotas not found."));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
