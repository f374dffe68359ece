//! `/v3/system/users/{user_id}/roles[/{role_id}]` (`keystone/api/system.py`), the scopes a
//! token's user may ask for (`/v3/auth/{catalog,projects,domains,system}`,
//! `keystone/api/auth.py`), `/v3/users/{user_id}/projects` and
//! `/v3/projects/{project_id}/users/{user_id}/roles`.

use axum::Json;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::http::{KeystoneState, entity_json, require_admin};
use super::model::Entity;
use crate::wire::{AuthContext, keystone_error};

pub(super) fn internal(e: impl std::fmt::Display) -> Response {
    keystone_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

/// An assignment or membership request's answer: 204 when it is done, a store error's 500.
pub(super) fn no_content(done: Result<(), impl std::fmt::Display>) -> Response {
    match done {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => internal(e),
    }
}

/// A check or removal's answer: 204 when it holds, else the 404 `missing` makes; a store
/// error's 500.
pub(super) fn no_content_if(holds: Result<bool, impl std::fmt::Display>, missing: impl FnOnce() -> Response) -> Response {
    match holds {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => missing(),
        Err(e) => internal(e),
    }
}

/// `{collection: [...], "links": {"self", "previous", "next"}}`, as `wrap_collection` does.
pub(super) fn collection(key: &str, items: Vec<Value>, self_url: String) -> Response {
    Json(json!({key: items, "links": {"self": self_url, "previous": null, "next": null}})).into_response()
}

/// Keystone's 404 for an entity of `kind` ("user", "role", ...) that is not there.
pub(super) fn not_found(kind: &str, id: &str) -> Response {
    keystone_error(StatusCode::NOT_FOUND, &format!("Could not find {kind}: {id}."))
}

pub(super) fn user_exists(s: &KeystoneState, id: &str) -> Result<(), Response> {
    match s.identity.users(None) {
        Ok(users) if users.iter().any(|u| u.id == id) => Ok(()),
        Ok(_) => Err(not_found("user", id)),
        Err(e) => Err(internal(e)),
    }
}

pub(super) fn role_exists(s: &KeystoneState, id: &str) -> Result<(), Response> {
    match s.identity.roles(None) {
        Ok(roles) if roles.iter().any(|r| r.id == id) => Ok(()),
        Ok(_) => Err(not_found("role", id)),
        Err(e) => Err(internal(e)),
    }
}

/// Keystone's 404 for a missing assignment of `role` to a user or group on a project, a
/// domain or (`target` "system") the system.
pub(super) fn no_assignment(role: &str, actor: &str, target: &str) -> Response {
    keystone_error(
        StatusCode::NOT_FOUND,
        &format!("Could not find role assignment with role: {role}, user or group: {actor}, project, domain, or system: {target}."),
    )
}

/// `{"roles": [...]}` with each role's description, linked to `path` below the public URL.
fn roles_collection(s: &KeystoneState, roles: impl Iterator<Item = Entity>, path: &str) -> Response {
    let base = s.identity.public_url();
    let items = roles
        .map(|r| {
            let mut v = entity_json("roles", &r, &base);
            v["description"] = json!(s.identity.role_description(&r.id).ok().flatten());
            v
        })
        .collect();
    collection("roles", items, format!("{base}/{path}"))
}

/// A system grant's target is built first (the role, then the user, must exist:
/// `_build_enforcement_target`), then the policy.
fn system_grant_target(s: &KeystoneState, caller: &AuthContext, user_id: &str, role_id: &str, action: &str) -> Result<(), Response> {
    role_exists(s, role_id)?;
    user_exists(s, user_id)?;
    require_admin(caller, action)
}

/// `GET /v3/system/users/{user_id}/roles`: the target is built first (the role and user must
/// exist: `_build_enforcement_target`), then the policy.
pub(super) async fn list_system_roles(State(s): State<KeystoneState>, caller: AuthContext, Path(user_id): Path<String>) -> Response {
    if let Err(r) = user_exists(&s, &user_id).and_then(|()| require_admin(&caller, "list_system_grants_for_user")) {
        return r;
    }
    match s.identity.system_assignments(Some(&user_id), None) {
        Ok(list) => roles_collection(&s, list.into_iter().map(|(_, role)| role), &format!("system/users/{user_id}/roles")),
        Err(e) => internal(e),
    }
}

/// `GET`/`HEAD /v3/system/users/{user_id}/roles/{role_id}`: 204 or 404.
pub(super) async fn check_system_role(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((user_id, role_id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = system_grant_target(&s, &caller, &user_id, &role_id, "check_system_grant_for_user") {
        return r;
    }
    no_content_if(s.identity.system_assignments(Some(&user_id), Some(&role_id)).map(|list| !list.is_empty()), || {
        no_assignment(&role_id, &user_id, "system")
    })
}

/// `PUT /v3/system/users/{user_id}/roles/{role_id}`: 204, also when it already exists.
pub(super) async fn grant_system_role(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((user_id, role_id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = system_grant_target(&s, &caller, &user_id, &role_id, "create_system_grant_for_user") {
        return r;
    }
    no_content(s.identity.grant_system(&user_id, &role_id))
}

/// `DELETE /v3/system/users/{user_id}/roles/{role_id}`: the user need not exist any more
/// (`allow_non_existing`); no such assignment is a 404.
pub(super) async fn revoke_system_role(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((user_id, role_id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = role_exists(&s, &role_id).and_then(|()| require_admin(&caller, "revoke_system_grant_for_user")) {
        return r;
    }
    no_content_if(s.identity.revoke_system(&user_id, &role_id), || no_assignment(&role_id, &user_id, "system"))
}

fn projects_json(s: &KeystoneState, projects: &[Entity]) -> Vec<Value> {
    let base = s.identity.public_url();
    projects.iter().map(|p| entity_json("projects", p, &base)).collect()
}

/// `GET /v3/auth/projects`: the projects the token's user has a role on (any token).
pub(super) async fn auth_projects(State(s): State<KeystoneState>, caller: AuthContext) -> Response {
    match s.identity.projects_for_user(&caller.user_id) {
        Ok(projects) => collection("projects", projects_json(&s, &projects), format!("{}/auth/projects", s.identity.public_url())),
        Err(e) => internal(e),
    }
}

/// `GET /v3/auth/domains`: domains the user has a role on, directly or through a group.
pub(super) async fn auth_domains(State(s): State<KeystoneState>, caller: AuthContext) -> Response {
    match s.identity.domains_for_user(&caller.user_id) {
        Ok(domains) => {
            let base = s.identity.public_url();
            let items = domains
                .iter()
                .map(|d| {
                    json!({"id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled, "tags": [], "options": {},
                        "links": {"self": format!("{base}/domains/{}", d.id)}})
                })
                .collect();
            collection("domains", items, format!("{base}/auth/domains"))
        }
        Err(e) => internal(e),
    }
}

/// `GET /v3/auth/system`: `[{"all": true}]` when the user has a role on the system.
pub(super) async fn auth_system(State(s): State<KeystoneState>, caller: AuthContext) -> Response {
    match s.identity.system_assignments(Some(&caller.user_id), None) {
        Ok(list) => {
            let system = if list.is_empty() { json!([]) } else { json!([{"all": true}]) };
            Json(json!({"system": system, "links": {"self": format!("{}/auth/system", s.identity.public_url())}})).into_response()
        }
        Err(e) => internal(e),
    }
}

/// `GET /v3/auth/catalog`: the token's catalog; a token without a project gets a 403.
pub(super) async fn auth_catalog(State(s): State<KeystoneState>, caller: AuthContext) -> Response {
    if caller.project_id.is_empty() {
        return keystone_error(StatusCode::FORBIDDEN, "A project-scoped token is required to produce a service catalog.");
    }
    let catalog = serde_json::to_value(s.identity.catalog_for(&caller.project_id)).unwrap_or(Value::Array(vec![]));
    Json(json!({"catalog": catalog, "links": {"self": format!("{}/auth/catalog", s.identity.public_url())}})).into_response()
}

/// Keystone's `rule:owner` on a user target, or an admin, or a system reader.
fn admin_reader_or_owner(caller: &AuthContext, user_id: &str, action: &str) -> Result<(), Response> {
    if caller.user_id == user_id || (caller.system_scope && caller.has_role("reader")) {
        return Ok(());
    }
    require_admin(caller, action)
}

/// `GET /v3/users/{user_id}/projects`: the user's projects (the user or an admin may ask).
pub(super) async fn user_projects(State(s): State<KeystoneState>, caller: AuthContext, Path(user_id): Path<String>) -> Response {
    if let Err(r) = user_exists(&s, &user_id).and_then(|()| admin_reader_or_owner(&caller, &user_id, "list_user_projects")) {
        return r;
    }
    match s.identity.projects_for_user(&user_id) {
        Ok(projects) => {
            collection("projects", projects_json(&s, &projects), format!("{}/users/{user_id}/projects", s.identity.public_url()))
        }
        Err(e) => internal(e),
    }
}

/// `GET /v3/projects/{project_id}/users/{user_id}/roles`: the user's roles on the project.
pub(super) async fn project_user_roles(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((project_id, user_id)): Path<(String, String)>,
) -> Response {
    let project_exists = match s.identity.projects(None) {
        Ok(p) => p.iter().any(|p| p.id == project_id),
        Err(e) => return internal(e),
    };
    if !project_exists {
        return not_found("project", &project_id);
    }
    if let Err(r) = user_exists(&s, &user_id).and_then(|()| require_admin(&caller, "list_grants")) {
        return r;
    }
    match s.identity.assignments(Some(&user_id), Some(&project_id), None) {
        Ok(list) => roles_collection(&s, list.into_iter().map(|a| a.role), &format!("projects/{project_id}/users/{user_id}/roles")),
        Err(e) => internal(e),
    }
}

/// `GET /v3/role_assignments`: project assignments, domain ones (users' and groups'), then
/// system ones (`"scope": {"system": {"all": true}}`); `scope.project.id`, `scope.domain.id`
/// and `scope.system` keep one kind. Names (`include_names`) are given for project and system
/// assignments; `effective` (group expansion, implied roles) is not modelled.
pub(super) async fn role_assignments(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = require_admin(&caller, "list_role_assignments") {
        return r;
    }
    let names = q.get("include_names").is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let base = s.identity.public_url();
    let (user, role) = (q.get("user.id").map(String::as_str), q.get("role.id").map(String::as_str));
    let project = q.get("scope.project.id").map(String::as_str);
    let domain = q.get("scope.domain.id").map(String::as_str);
    let group = q.get("group.id").map(String::as_str);
    let (want_project, want_domain, want_system) = match (project.is_some(), domain.is_some(), q.contains_key("scope.system")) {
        (true, _, _) => (true, false, false),
        (_, true, _) => (false, true, false),
        (_, _, true) => (false, false, true),
        _ => (true, true, true),
    };
    let named = |e: &Entity, with_domain: bool| {
        let mut v = json!({"id": e.id});
        if names {
            v["name"] = json!(e.name);
            if with_domain {
                v["domain"] = json!({"id": "default", "name": "Default"});
            }
        }
        v
    };
    let mut items = Vec::new();
    // Group assignments exist on domains only here.
    if want_project && group.is_none() {
        match s.identity.assignments(user, project, role) {
            Ok(list) => items.extend(list.iter().map(|a| {
                json!({
                    "role": named(&a.role, false),
                    "user": named(&a.user, true),
                    "scope": {"project": named(&a.project, true)},
                    "links": {"assignment": format!("{base}/projects/{}/users/{}/roles/{}", a.project.id, a.user.id, a.role.id)},
                })
            })),
            Err(e) => return internal(e),
        }
    }
    if want_domain && !(user.is_some() && group.is_some()) {
        match s.identity.domain_assignments(user.or(group), domain, role) {
            Ok(list) => items.extend(
                list.iter().filter(|(_, is_group, _, _)| (group.is_none() || *is_group) && (user.is_none() || !*is_group)).map(
                    |(actor, is_group, domain_id, role_id)| {
                        let kind = if *is_group { "group" } else { "user" };
                        json!({
                            "role": {"id": role_id},
                            kind: {"id": actor},
                            "scope": {"domain": {"id": domain_id}},
                            "links": {"assignment": format!("{base}/domains/{domain_id}/{kind}s/{actor}/roles/{role_id}")},
                        })
                    },
                ),
            ),
            Err(e) => return internal(e),
        }
    }
    if want_system && group.is_none() {
        match s.identity.system_assignments(user, role) {
            Ok(list) => items.extend(list.iter().map(|(u, r)| {
                json!({
                    "role": named(r, false),
                    "user": named(u, true),
                    "scope": {"system": {"all": true}},
                    "links": {"assignment": format!("{base}/system/users/{}/roles/{}", u.id, r.id)},
                })
            })),
            Err(e) => return internal(e),
        }
    }
    collection("role_assignments", items, format!("{base}/role_assignments"))
}
