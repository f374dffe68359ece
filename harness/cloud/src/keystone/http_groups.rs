//! `/v3/groups` and their members (`keystone/api/groups.py`), and role assignments on domains
//! for users and groups (`/v3/domains/{domain_id}/{users,groups}/{actor_id}/roles[/{role_id}]`,
//! `keystone/api/domains.py`).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::groups::Group;
use super::http::{KeystoneState, create_error, entity_json, require_admin};
use super::http_system::{collection, internal, no_assignment, no_content, no_content_if, not_found, role_exists, user_exists};
use super::model::DomainRef;
use crate::wire::{AuthContext, keystone_error};

fn group_json(s: &KeystoneState, g: &Group) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "domain_id": g.domain_id,
        "description": g.description,
        "links": {"self": format!("{}/groups/{}", s.identity.public_url(), g.id)},
    })
}

fn group_exists(s: &KeystoneState, id: &str) -> Result<(), Response> {
    match s.identity.group(id) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(not_found("group", id)),
        Err(e) => Err(internal(e)),
    }
}

fn domain_exists(s: &KeystoneState, id: &str) -> Result<(), Response> {
    match s.identity.domain(&DomainRef::Id(id.to_owned())) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(not_found("domain", id)),
        Err(e) => Err(internal(e)),
    }
}

pub(super) async fn create_group(State(s): State<KeystoneState>, caller: AuthContext, body: Bytes) -> Response {
    let group = match super::schema::string_fields(
        &super::schema::body_object(&body),
        "group",
        &["name"],
        &["name", "domain_id", "description"],
        &["description"],
    ) {
        Ok(group) => group,
        Err(r) => return r,
    };
    let name = group.get("name").and_then(Value::as_str).unwrap_or_default();
    if let Err(r) = require_admin(&caller, "create_group") {
        return r;
    }
    let domain = group.get("domain_id").and_then(Value::as_str).unwrap_or(super::model::DEFAULT_DOMAIN_ID);
    let description = group.get("description").and_then(Value::as_str).unwrap_or_default();
    match s.identity.create_group(name, domain, description) {
        Ok(g) => (StatusCode::CREATED, Json(json!({"group": group_json(&s, &g)}))).into_response(),
        Err(e) => create_error(e),
    }
}

pub(super) async fn list_groups(State(s): State<KeystoneState>, caller: AuthContext, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Err(r) = require_admin(&caller, "list_groups") {
        return r;
    }
    match s.identity.groups(q.get("name").map(String::as_str)) {
        Ok(groups) => {
            collection("groups", groups.iter().map(|g| group_json(&s, g)).collect(), format!("{}/groups", s.identity.public_url()))
        }
        Err(e) => internal(e),
    }
}

pub(super) async fn show_group(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    match s.identity.group(&id) {
        Ok(Some(g)) => match require_admin(&caller, "get_group") {
            Ok(()) => Json(json!({"group": group_json(&s, &g)})).into_response(),
            Err(r) => r,
        },
        Ok(None) => not_found("group", &id),
        Err(e) => internal(e),
    }
}

pub(super) async fn delete_group(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    if let Err(r) = group_exists(&s, &id).and_then(|()| require_admin(&caller, "delete_group")) {
        return r;
    }
    match s.identity.delete_group(&id) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => internal(e),
    }
}

fn not_in_group(user: &str, group: &str) -> Response {
    keystone_error(StatusCode::NOT_FOUND, &format!("User '{user}' not found in group '{group}'"))
}

/// The group, then the user, must exist; then the policy.
fn membership_target(s: &KeystoneState, caller: &AuthContext, group: &str, user: &str, action: &str) -> Result<(), Response> {
    group_exists(s, group)?;
    user_exists(s, user)?;
    require_admin(caller, action)
}

/// `PUT`, `GET`/`HEAD` and `DELETE /v3/groups/{group_id}/users/{user_id}`.
pub(super) async fn add_group_user(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((group, user)): Path<(String, String)>,
) -> Response {
    if let Err(r) = membership_target(&s, &caller, &group, &user, "add_user_to_group") {
        return r;
    }
    no_content(s.identity.add_member(&group, &user))
}

pub(super) async fn check_group_user(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((group, user)): Path<(String, String)>,
) -> Response {
    if let Err(r) = membership_target(&s, &caller, &group, &user, "check_user_in_group") {
        return r;
    }
    no_content_if(s.identity.is_member(&group, &user), || not_in_group(&user, &group))
}

pub(super) async fn remove_group_user(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((group, user)): Path<(String, String)>,
) -> Response {
    if let Err(r) = require_admin(&caller, "remove_user_from_group") {
        return r;
    }
    match s.identity.remove_member(&group, &user) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => match group_exists(&s, &group).and_then(|()| user_exists(&s, &user)) {
            Ok(()) => not_in_group(&user, &group),
            Err(r) => r,
        },
        Err(e) => internal(e),
    }
}

/// The user (`kind` "users") or group ("groups") exists; another kind is no route at all.
fn actor_exists(s: &KeystoneState, kind: &str, actor: &str) -> Result<(), Response> {
    match kind {
        "users" => user_exists(s, actor),
        "groups" => group_exists(s, actor),
        _ => Err(super::schema::not_found_page()),
    }
}

/// The path's domain, actor (`users` or `groups`) and role exist, and the caller is an admin.
fn domain_grant_target(
    s: &KeystoneState,
    caller: &AuthContext,
    ids: &(String, String, String, String),
    action: &str,
) -> Result<(), Response> {
    let (domain, kind, actor, role) = ids;
    role_exists(s, role)?;
    domain_exists(s, domain)?;
    actor_exists(s, kind, actor)?;
    require_admin(caller, action)
}

pub(super) async fn grant_domain_role(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path(ids): Path<(String, String, String, String)>,
) -> Response {
    if let Err(r) = domain_grant_target(&s, &caller, &ids, "create_grant") {
        return r;
    }
    let (domain, _, actor, role) = &ids;
    no_content(s.identity.grant_domain(actor, domain, role))
}

pub(super) async fn check_domain_role(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path(ids): Path<(String, String, String, String)>,
) -> Response {
    if let Err(r) = domain_grant_target(&s, &caller, &ids, "check_grant") {
        return r;
    }
    let (domain, _, actor, role) = &ids;
    no_content_if(s.identity.has_domain_grant(actor, domain, role), || no_assignment(role, actor, domain))
}

pub(super) async fn revoke_domain_role(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path(ids): Path<(String, String, String, String)>,
) -> Response {
    if let Err(r) = domain_grant_target(&s, &caller, &ids, "revoke_grant") {
        return r;
    }
    let (domain, _, actor, role) = &ids;
    no_content_if(s.identity.revoke_domain(actor, domain, role), || no_assignment(role, actor, domain))
}

/// `GET /v3/domains/{domain_id}/{users,groups}/{actor_id}/roles`.
pub(super) async fn list_domain_roles(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((domain, kind, actor)): Path<(String, String, String)>,
) -> Response {
    let checked =
        domain_exists(&s, &domain).and_then(|()| actor_exists(&s, &kind, &actor)).and_then(|()| require_admin(&caller, "list_grants"));
    if let Err(r) = checked {
        return r;
    }
    match s.identity.domain_roles(&actor, &domain) {
        Ok(roles) => {
            let base = s.identity.public_url();
            let items = roles.iter().map(|r| entity_json("roles", r, &base)).collect();
            collection("roles", items, format!("{base}/domains/{domain}/{kind}/{actor}/roles"))
        }
        Err(e) => internal(e),
    }
}
