//! Keystone v3 on the wire: discovery, and the admin API python-openstackclient uses for
//! `openstack role add` and `openstack role assignment list --names`. Tokens are in
//! `http_tokens.rs`, application credentials in `http_application_credentials.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::{Value, json};

use super::http_application_credentials::{
    create_application_credential, delete_application_credential, list_application_credentials, show_application_credential,
};
use super::http_credentials::{create_credential, delete_credential, list_credentials, show_credential, update_credential};
use super::http_ec2::{create_ec2, delete_ec2, list_ec2, show_ec2};
use super::http_groups::{
    add_group_user, check_domain_role, check_group_user, create_group, delete_group, grant_domain_role, list_domain_roles, list_groups,
    remove_group_user, revoke_domain_role, show_group,
};
use super::http_roles::{create_domain, create_role, delete_domain, delete_role, list_domains, show_domain, update_domain, update_role};
use super::http_system::{
    auth_catalog, auth_domains, auth_projects, auth_system, check_system_role, grant_system_role, list_system_roles, no_assignment,
    no_content, no_content_if, not_found, project_user_roles, revoke_system_role, role_assignments, user_projects,
};
use super::http_tokens::{check_token, issue_token, revoke_token, validate_token};
use super::model::{CreateError, DomainRef, Entity, Identity};
use super::schema;
use crate::wire::{AuthContext, HasIdentity, keystone_error};

#[derive(Clone)]
pub struct KeystoneState {
    pub identity: Arc<Identity>,
}

impl HasIdentity for KeystoneState {
    fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }
}

pub fn router(state: KeystoneState) -> Router {
    let router = Router::new()
        .route("/", get(versions))
        .route("/v3", get(version))
        .route("/v3/", get(version))
        .route("/v3/auth/tokens", get(validate_token).head(check_token).post(issue_token).delete(revoke_token))
        .route("/v3/users", get(list_users).post(create_user))
        .route("/v3/users/{id}", get(show_user).delete(delete_user))
        .route("/v3/users/{user_id}/application_credentials", get(list_application_credentials).post(create_application_credential))
        .route("/v3/users/{user_id}/application_credentials/{id}", get(show_application_credential).delete(delete_application_credential))
        .route("/v3/projects", get(list_projects).post(create_project))
        .route("/v3/projects/{id}", get(show_project).delete(delete_project))
        .route("/v3/users/{user_id}/projects", get(user_projects))
        .route("/v3/users/{user_id}/credentials/OS-EC2", get(list_ec2).post(create_ec2))
        .route("/v3/users/{user_id}/credentials/OS-EC2/{access}", get(show_ec2).delete(delete_ec2))
        .route("/v3/roles", get(list_roles).post(create_role))
        .route("/v3/roles/{id}", get(show_role).patch(update_role).delete(delete_role))
        .route("/v3/domains", get(list_domains).post(create_domain))
        .route("/v3/domains/{id}", get(show_domain).patch(update_domain).delete(delete_domain))
        .route("/v3/projects/{project}/users/{user}/roles", get(project_user_roles))
        .route("/v3/projects/{project}/users/{user}/roles/{role}", put(grant_role).head(check_grant).get(check_grant).delete(revoke_role))
        .route("/v3/credentials", get(list_credentials).post(create_credential))
        .route("/v3/credentials/{id}", get(show_credential).patch(update_credential).delete(delete_credential))
        .route("/v3/groups", get(list_groups).post(create_group))
        .route("/v3/groups/{id}", get(show_group).delete(delete_group))
        .route(
            "/v3/groups/{group_id}/users/{user_id}",
            put(add_group_user).head(check_group_user).get(check_group_user).delete(remove_group_user),
        )
        .route("/v3/domains/{domain_id}/{kind}/{actor}/roles", get(list_domain_roles))
        .route(
            "/v3/domains/{domain_id}/{kind}/{actor}/roles/{role}",
            put(grant_domain_role).head(check_domain_role).get(check_domain_role).delete(revoke_domain_role),
        )
        .route("/v3/system/users/{user_id}/roles", get(list_system_roles))
        .route(
            "/v3/system/users/{user_id}/roles/{role_id}",
            put(grant_system_role).head(check_system_role).get(check_system_role).delete(revoke_system_role),
        )
        .route("/v3/auth/catalog", get(auth_catalog))
        .route("/v3/auth/projects", get(auth_projects))
        .route("/v3/auth/domains", get(auth_domains))
        .route("/v3/auth/system", get(auth_system))
        .route("/v3/role_assignments", get(role_assignments))
        // Flask's routing failures are werkzeug's own HTML pages; its `before_request` JSON
        // check runs first; oslo's sizelimit and request id wrap the application.
        .fallback(schema::not_found)
        .method_not_allowed_fallback(schema::method_not_allowed)
        .layer(middleware::from_fn(schema::json_body))
        .layer(middleware::from_fn(request_id))
        .layer(middleware::from_fn(crate::wire::sizelimit))
        .with_state(state);
    crate::wire::finish_answers(router, schema::werkzeug_allow)
}

/// oslo.middleware's `RequestId`, in every real service's pipeline: each answer, errors
/// included, carries `x-openstack-request-id: req-<uuid4>`.
pub async fn request_id(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Ok(v) = HeaderValue::from_str(&format!("req-{}", uuid::Uuid::new_v4())) {
        response.headers_mut().insert("x-openstack-request-id", v);
    }
    response
}

fn version_object(identity: &Identity) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/", identity.public_url())}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

async fn versions(State(s): State<KeystoneState>) -> Response {
    let body = json!({"versions": {"values": [version_object(&s.identity)]}});
    let mut response = (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response();
    if let Ok(v) = format!("{}/", s.identity.public_url()).parse() {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

async fn version(State(s): State<KeystoneState>) -> Json<Value> {
    Json(json!({"version": version_object(&s.identity)}))
}

pub(super) fn bad_request(message: &str) -> Response {
    keystone_error(StatusCode::BAD_REQUEST, message)
}

pub(super) fn domain_ref(v: &Value) -> DomainRef {
    match (v.get("id").and_then(Value::as_str), v.get("name").and_then(Value::as_str)) {
        (Some(id), _) => DomainRef::Id(id.to_owned()),
        (None, Some(name)) => DomainRef::Name(name.to_owned()),
        (None, None) => DomainRef::Id(String::new()),
    }
}

/// Keystone's admin API requires the admin role (default policy `admin_required`); the 403
/// names the policy rule of the action, `identity:<action>`.
pub(super) fn require_admin(caller: &AuthContext, action: &str) -> Result<(), Response> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(keystone_error(StatusCode::FORBIDDEN, &format!("You are not authorized to perform the requested action: identity:{action}.")))
    }
}

pub(super) fn entity_json(kind: &str, e: &Entity, base: &str) -> Value {
    let mut v = json!({"id": e.id, "name": e.name, "links": {"self": format!("{base}/{kind}/{}", e.id)}});
    match kind {
        "users" => {
            v["domain_id"] = json!(e.domain_id);
            v["enabled"] = json!(true);
            v["password_expires_at"] = Value::Null;
            v["options"] = json!({});
        }
        "projects" => {
            v["domain_id"] = json!(e.domain_id);
            v["enabled"] = json!(true);
            v["is_domain"] = json!(false);
            v["parent_id"] = json!(e.domain_id);
            v["description"] = json!("");
            v["tags"] = json!([]);
            v["options"] = json!({});
        }
        "roles" => {
            v["domain_id"] = Value::Null;
            v["description"] = Value::Null;
            v["options"] = role_options(&e.name);
        }
        _ => {
            v["domain_id"] = Value::Null;
            v["description"] = Value::Null;
        }
    }
    v
}

/// A role's `options`: `keystone-manage bootstrap` makes the roles it creates immutable (seen on
/// real Keystone 30: `{"immutable": true}` on admin, member and reader; `manager` is created
/// by the same `_ensure_role_exists`); roles made through the API have none.
pub(super) fn role_options(name: &str) -> Value {
    if super::roles::immutable_role(name) { json!({"immutable": true}) } else { json!({}) }
}

type Lister = fn(&Identity, Option<&str>) -> Result<Vec<Entity>, crate::store::StoreError>;

fn list(s: &KeystoneState, caller: &AuthContext, kind: &str, query: &HashMap<String, String>, lister: Lister) -> Response {
    if let Err(r) = require_admin(caller, &format!("list_{kind}")) {
        return r;
    }
    let base = s.identity.public_url();
    match lister(&s.identity, query.get("name").map(String::as_str)) {
        Ok(items) => {
            let items: Vec<Value> = items.iter().map(|e| entity_json(kind, e, &base)).collect();
            Json(json!({kind: items, "links": {"self": format!("{base}/{kind}"), "previous": null, "next": null}})).into_response()
        }
        Err(e) => keystone_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn show(s: &KeystoneState, caller: &AuthContext, kind: &str, singular: &str, id: &str, lister: Lister) -> Response {
    if let Err(r) = require_admin(caller, &format!("get_{singular}")) {
        return r;
    }
    let base = s.identity.public_url();
    match lister(&s.identity, None) {
        Ok(items) => match items.iter().find(|e| e.id == id) {
            Some(e) => Json(json!({singular: entity_json(kind, e, &base)})).into_response(),
            None => keystone_error(StatusCode::NOT_FOUND, &format!("Could not find {singular}: {id}.")),
        },
        Err(e) => keystone_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn list_users(State(s): State<KeystoneState>, caller: AuthContext, Query(q): Query<HashMap<String, String>>) -> Response {
    list(&s, &caller, "users", &q, Identity::users)
}
async fn show_user(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    show(&s, &caller, "users", "user", &id, Identity::users)
}
async fn list_projects(State(s): State<KeystoneState>, caller: AuthContext, Query(q): Query<HashMap<String, String>>) -> Response {
    list(&s, &caller, "projects", &q, Identity::projects)
}
async fn show_project(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    show(&s, &caller, "projects", "project", &id, Identity::projects)
}
async fn list_roles(State(s): State<KeystoneState>, caller: AuthContext, Query(q): Query<HashMap<String, String>>) -> Response {
    list(&s, &caller, "roles", &q, Identity::roles)
}
async fn show_role(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    show(&s, &caller, "roles", "role", &id, Identity::roles)
}

/// Resolves the three ids of a grant, with Keystone's 404s.
fn grant_ids(s: &KeystoneState, project: &str, user: &str, role: &str) -> Result<(), Response> {
    let exists = |items: Result<Vec<Entity>, _>, id: &str| items.map(|v| v.iter().any(|e| e.id == id)).unwrap_or(false);
    if !exists(s.identity.projects(None), project) {
        return Err(keystone_error(StatusCode::NOT_FOUND, &format!("Could not find project: {project}.")));
    }
    if !exists(s.identity.users(None), user) {
        return Err(keystone_error(StatusCode::NOT_FOUND, &format!("Could not find user: {user}.")));
    }
    if !exists(s.identity.roles(None), role) {
        return Err(keystone_error(StatusCode::NOT_FOUND, &format!("Could not find role: {role}.")));
    }
    Ok(())
}

async fn grant_role(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((project, user, role)): Path<(String, String, String)>,
) -> Response {
    if let Err(r) = require_admin(&caller, "create_grant").and_then(|()| grant_ids(&s, &project, &user, &role)) {
        return r;
    }
    no_content(s.identity.grant(&user, &project, &role))
}

async fn check_grant(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((project, user, role)): Path<(String, String, String)>,
) -> Response {
    if let Err(r) = require_admin(&caller, "check_grant").and_then(|()| grant_ids(&s, &project, &user, &role)) {
        return r;
    }
    no_content_if(s.identity.assignments(Some(&user), Some(&project), Some(&role)).map(|a| !a.is_empty()), || {
        no_assignment(&role, &user, &project)
    })
}

async fn revoke_role(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((project, user, role)): Path<(String, String, String)>,
) -> Response {
    if let Err(r) = require_admin(&caller, "revoke_grant").and_then(|()| grant_ids(&s, &project, &user, &role)) {
        return r;
    }
    no_content_if(s.identity.revoke_grant(&user, &project, &role), || no_assignment(&role, &user, &project))
}

pub(super) fn create_error(e: CreateError) -> Response {
    let status = match e {
        CreateError::UnknownDomain(_) => StatusCode::BAD_REQUEST,
        CreateError::PasswordTooLong(_) => StatusCode::FORBIDDEN,
        CreateError::Conflict(_) => StatusCode::CONFLICT,
        CreateError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    keystone_error(status, &e.to_string())
}

fn str_field<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get(field).and_then(Value::as_str)
}

async fn create_project(State(s): State<KeystoneState>, caller: AuthContext, body: Bytes) -> Response {
    // The schema is checked before the policy (`request_body_schema` wraps the resource).
    let project = match schema::project_create(&schema::body_object(&body)) {
        Ok(project) => project,
        Err(r) => return r,
    };
    if let Err(r) = require_admin(&caller, "create_project") {
        return r;
    }
    // The schema does not require `project`: without one the resource fails reading its
    // name (a `KeyError`, Keystone's unexpected error).
    let Some(project) = project else {
        return keystone_error(StatusCode::INTERNAL_SERVER_ERROR, "An unexpected error prevented the server from fulfilling your request.");
    };
    let name = project.get("name").and_then(Value::as_str).unwrap_or_default().trim().to_owned();
    let project = Value::Object(project);
    let domain = str_field(&project, "domain_id").unwrap_or(super::model::DEFAULT_DOMAIN_ID);
    let description = str_field(&project, "description").unwrap_or("");
    match s.identity.create_project(&name, domain, description) {
        Ok(e) => {
            let mut v = entity_json("projects", &e, &s.identity.public_url());
            v["description"] = json!(description);
            (StatusCode::CREATED, Json(json!({"project": v}))).into_response()
        }
        Err(e) => create_error(e),
    }
}

async fn create_user(State(s): State<KeystoneState>, caller: AuthContext, body: Bytes) -> Response {
    // The schema is checked before the policy (`request_body_schema` wraps the resource).
    let user = match schema::user_create(&schema::body_object(&body)) {
        Ok(user) => Value::Object(user),
        Err(r) => return r,
    };
    if let Err(r) = require_admin(&caller, "create_user") {
        return r;
    }
    let name = str_field(&user, "name").unwrap_or_default();
    let domain = str_field(&user, "domain_id").unwrap_or(super::model::DEFAULT_DOMAIN_ID);
    let default_project = str_field(&user, "default_project_id");
    // A user without a password exists but cannot authenticate with one (Keystone stores none).
    let password = str_field(&user, "password").unwrap_or("");
    match s.identity.create_user(name, domain, password, default_project) {
        Ok(e) => {
            let mut v = entity_json("users", &e, &s.identity.public_url());
            if let Some(p) = default_project {
                v["default_project_id"] = json!(p);
            }
            (StatusCode::CREATED, Json(json!({"user": v}))).into_response()
        }
        Err(e) => create_error(e),
    }
}

type Deleter = fn(&Identity, &str) -> Result<bool, crate::store::StoreError>;

fn delete(caller: &AuthContext, singular: &str, id: &str, identity: &Identity, deleter: Deleter) -> Response {
    if let Err(r) = require_admin(caller, &format!("delete_{singular}")) {
        return r;
    }
    no_content_if(deleter(identity, id), || not_found(singular, id))
}

async fn delete_project(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    delete(&caller, "project", &id, &s.identity, Identity::delete_project)
}

async fn delete_user(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    delete(&caller, "user", &id, &s.identity, Identity::delete_user)
}
