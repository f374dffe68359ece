//! What the secret and container controllers share on the wire: `_lookup` before the policy,
//! the JSON request preamble, the ACL sub-resource, and the consumer sub-resource's paging,
//! `Location`, id and ownership checks. Barbican's two controllers repeat the same code, so
//! one generic copy keeps their answers alike.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::super::containers::Container;
use super::super::model::{self, Acl, Action, KeyManager, Secret, now_us};
use super::super::policy::{self, Rule, Target};
use super::{
    BarbicanState, Handled, aborted, acl_json, error, failure, forbidden, page_at, paging, read_body, require_content_type, validate,
};
use crate::store::StoreError;
use crate::wire::AuthContext;

/// What `_lookup` found: the entity and its ACL row, if any.
pub(super) type Found<T> = (T, Option<Acl>);

/// A listing's raw query string, which Barbican reads leniently (a malformed one is empty).
pub(super) type ListQuery = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// The query's pairs; a query axum cannot parse counts as none.
pub(super) fn query_pairs(query: ListQuery) -> Vec<(String, String)> {
    query.map(|Query(q)| q).unwrap_or_default()
}

/// A write to the resource the path's one `{id}` names: the caller (whose 401 comes first),
/// the id, the headers and the unread body, as every such handler takes them.
pub(super) struct WriteRequest {
    pub caller: AuthContext,
    pub id: String,
    pub headers: HeaderMap,
    pub body: Body,
}

impl FromRequest<BarbicanState> for WriteRequest {
    type Rejection = Response;

    async fn from_request(request: Request, state: &BarbicanState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let caller = AuthContext::from_request_parts(&mut parts, state).await?;
        let Path(id) = Path::<String>::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        Ok(Self { caller, id, headers: parts.headers, body })
    }
}

/// A secret or a container: what both controllers look up, guard with ACLs and give consumers.
pub(super) trait Guarded: Sized + Send + 'static {
    /// The operation a bare lookup (before refusing a method) reports failures as.
    const RETRIEVAL: &'static str;
    /// The ACL controller's operation prefix (`SecretACL(s)`, `ContainerACL(s)`).
    const ACLS: &'static str;
    /// The `_lookup`: a canonical UUID4, then the entity in any project, with its ACL.
    fn lookup(s: &BarbicanState, id: &str, operation: &str) -> Result<Found<Self>, Response>;
    /// The entity as the per-entity rules of `policy.rs` see it.
    fn target(found: &Found<Self>) -> Target<'_>;
    /// Whether the caller may read (`change` false) or change the entity's ACL.
    fn may_use_acl(s: &BarbicanState, caller: &AuthContext, found: &Found<Self>, change: bool) -> bool;
    fn href(s: &BarbicanState, id: &str) -> String;
    fn write_acl(model: &KeyManager, id: &str, access: Option<bool>, users: Option<&[String]>, now: i64) -> Result<(), StoreError>;
    fn delete_acl(model: &KeyManager, id: &str) -> Result<(), StoreError>;
}

impl Guarded for Secret {
    const RETRIEVAL: &'static str = "Secret retrieval";
    const ACLS: &'static str = "SecretACL(s)";
    fn lookup(s: &BarbicanState, id: &str, operation: &str) -> Result<Found<Self>, Response> {
        super::lookup(s, id, operation)
    }
    fn target(found: &Found<Self>) -> Target<'_> {
        Target { project_id: &found.0.project_id, creator_id: &found.0.creator_id, acl: found.1.as_ref() }
    }
    /// Secrets' own ACL actions (`model.rs`), which know the ACL-ignoring defect.
    fn may_use_acl(s: &BarbicanState, caller: &AuthContext, found: &Found<Self>, change: bool) -> bool {
        let action = if change { Action::AclChange } else { Action::AclGet };
        s.model.permits(action, caller, &found.0, found.1.as_ref())
    }
    fn href(s: &BarbicanState, id: &str) -> String {
        super::secret_ref(s, id)
    }
    fn write_acl(model: &KeyManager, id: &str, access: Option<bool>, users: Option<&[String]>, now: i64) -> Result<(), StoreError> {
        model.write_acl(id, access, users, now)
    }
    fn delete_acl(model: &KeyManager, id: &str) -> Result<(), StoreError> {
        model.delete_acl(id)
    }
}

impl Guarded for Container {
    const RETRIEVAL: &'static str = "Container retrieval";
    const ACLS: &'static str = "ContainerACL(s)";
    fn lookup(s: &BarbicanState, id: &str, operation: &str) -> Result<Found<Self>, Response> {
        super::containers::lookup(s, id, operation)
    }
    fn target(found: &Found<Self>) -> Target<'_> {
        Target { project_id: &found.0.project_id, creator_id: &found.0.creator_id, acl: found.1.as_ref() }
    }
    fn may_use_acl(s: &BarbicanState, caller: &AuthContext, found: &Found<Self>, change: bool) -> bool {
        allowed(s, if change { Rule::Change } else { Rule::AclGet }, caller, found)
    }
    fn href(s: &BarbicanState, id: &str) -> String {
        super::containers::container_ref(s, id)
    }
    fn write_acl(model: &KeyManager, id: &str, access: Option<bool>, users: Option<&[String]>, now: i64) -> Result<(), StoreError> {
        model.write_container_acl(id, access, users, now)
    }
    fn delete_acl(model: &KeyManager, id: &str) -> Result<(), StoreError> {
        model.delete_container_acl(id)
    }
}

fn allowed<T: Guarded>(s: &BarbicanState, rule: Rule, caller: &AuthContext, found: &Found<T>) -> bool {
    s.model.scope_ok(caller) && policy::entity_allowed(s.model.policy(), rule, caller, T::target(found))
}

/// A per-entity rule of `policy.rs`, with scope enforcement.
pub(super) fn authorize<T: Guarded>(
    s: &BarbicanState,
    rule: Rule,
    caller: &AuthContext,
    found: &Found<T>,
    operation: &str,
) -> Result<(), Response> {
    if allowed(s, rule, caller, found) { Ok(()) } else { Err(forbidden(operation)) }
}

/// The controllers' order for a JSON write: the body (413), the lookup (404), the policy
/// (403), then the Content-Type (415).
pub(super) async fn read_authorized_json<T: Guarded>(
    s: &BarbicanState,
    caller: &AuthContext,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    rule: Rule,
    operation: &str,
) -> Result<(bytes::Bytes, Found<T>), Response> {
    let body = read_body(body).await?;
    let found = T::lookup(s, id, operation)?;
    authorize(s, rule, caller, &found, operation)?;
    require_content_type(headers, &["application/json"])?;
    Ok((body, found))
}

/// Other methods on the entity or a collection below it: the lookup runs first (404), then
/// pecan's bare 405.
pub(super) async fn refuse_method<T: Guarded>(State(s): State<BarbicanState>, _caller: AuthContext, Path(id): Path<String>) -> Handled {
    T::lookup(&s, &id, T::RETRIEVAL)?;
    Err(aborted(405))
}

// ---- {secret,container}/{id}/acl ----

/// The ACL routes of a secret or a container at `path`.
pub(super) fn acl_routes<T: Guarded>(router: Router<BarbicanState>, path: &str) -> Router<BarbicanState> {
    use axum::routing::get;
    router.route(path, get(acl_get::<T>).put(acl_put::<T>).patch(acl_patch::<T>).delete(acl_delete::<T>).fallback(acl_other::<T>))
}

async fn acl_get<T: Guarded>(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    let operation = format!("{} retrieval", T::ACLS);
    let found = T::lookup(&s, &id, &operation)?;
    if !T::may_use_acl(&s, &caller, &found, false) {
        return Err(forbidden(&operation));
    }
    Ok(Json(acl_json(found.1.as_ref())).into_response())
}

/// PUT replaces (missing `project-access` is true, missing `users` empty); PATCH merges.
async fn acl_write<T: Guarded>(
    s: &BarbicanState,
    caller: &AuthContext,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    replace: bool,
) -> Handled {
    let operation = format!("{} Update", T::ACLS);
    let body = read_body(body).await?;
    let found = T::lookup(s, id, &operation)?;
    if !T::may_use_acl(s, caller, &found, true) {
        return Err(forbidden(&operation));
    }
    require_content_type(headers, &["application/json"])?;
    let read = validate::acl_body(&body).map_err(|e| error(e.status, &e.message))?;
    let now = now_us();
    let result = match (read, replace) {
        (Some(r), true) => {
            let users = r.users.unwrap_or_default();
            T::write_acl(&s.model, id, Some(r.project_access.unwrap_or(true)), Some(&users), now)
        }
        (Some(r), false) => T::write_acl(&s.model, id, r.project_access, r.users.as_deref(), now),
        (None, true) => T::delete_acl(&s.model, id),
        (None, false) => Ok(()),
    };
    result.map_err(|e| failure(&operation, e))?;
    Ok(Json(json!({"acl_ref": format!("{}/acl", T::href(s, id))})).into_response())
}

async fn acl_put<T: Guarded>(State(s): State<BarbicanState>, WriteRequest { caller, id, headers, body }: WriteRequest) -> Handled {
    acl_write::<T>(&s, &caller, &id, &headers, body, true).await
}

async fn acl_patch<T: Guarded>(State(s): State<BarbicanState>, WriteRequest { caller, id, headers, body }: WriteRequest) -> Handled {
    acl_write::<T>(&s, &caller, &id, &headers, body, false).await
}

/// 200 with a JSON `null` body: the controller returns nothing under the json template.
async fn acl_delete<T: Guarded>(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    let operation = format!("{} deletion", T::ACLS);
    let found = T::lookup(&s, &id, &operation)?;
    if !T::may_use_acl(&s, &caller, &found, true) {
        return Err(forbidden(&operation));
    }
    T::delete_acl(&s.model, &id).map_err(|e| failure(&operation, e))?;
    Ok(Json(Value::Null).into_response())
}

async fn acl_other<T: Guarded>(State(s): State<BarbicanState>, _caller: AuthContext, Path(id): Path<String>) -> Handled {
    T::lookup(&s, &id, &format!("{} retrieval", T::ACLS))?;
    Err(aborted(405))
}

// ---- {secret,container}/{id}/consumers ----

/// A page of `all` under `consumers`, linked to `{kind}/{id}/consumers`.
pub(super) fn consumer_page<C>(s: &BarbicanState, query: ListQuery, kind: &str, id: &str, all: &[C], to_json: fn(&C) -> Value) -> Handled {
    let (offset, limit) = paging(&query_pairs(query));
    let items: Vec<Value> = all.iter().skip(offset as usize).take(limit as usize).map(to_json).collect();
    let path = format!("{kind}/{id}/consumers");
    Ok(Json(page_at(s, "consumers", &path, items, all.len() as i64, offset, limit)).into_response())
}

/// A registered consumer's answer carries `convert_consumer_to_href(id)` as its `Location`
/// (Barbican's `consumers/{id}/consumers`, whatever the entity).
pub(super) fn with_consumer_location(s: &BarbicanState, id: &str, mut response: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("{}/v1/consumers/{id}/consumers", s.public_url)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Only the consumer's project or the entity's may remove a consumer.
pub(super) fn may_remove_consumer(consumer_project: &str, owner_project: &str, caller: &AuthContext) -> Result<(), Response> {
    if consumer_project != caller.project_id && owner_project != caller.project_id {
        return Err(error(403, "Not Allowed. Sorry, only the creator of a consumer can delete it."));
    }
    Ok(())
}

/// A consumer id in the path must be a canonical UUID4 (it is checked after the lookup).
pub(super) fn valid_consumer_id(consumer_id: &str) -> Result<(), Response> {
    if model::valid_secret_id(consumer_id) { Ok(()) } else { Err(error(404, "Not Found. Provided consumer id is invalid.")) }
}

/// Other methods on one consumer: the lookup, the consumer id, then the bare 405.
pub(super) async fn refuse_consumer_method<T: Guarded>(
    State(s): State<BarbicanState>,
    _caller: AuthContext,
    Path((id, consumer_id)): Path<(String, String)>,
) -> Handled {
    T::lookup(&s, &id, T::RETRIEVAL)?;
    valid_consumer_id(&consumer_id)?;
    Err(aborted(405))
}
