//! `POST /v3/roles`, `PATCH`/`DELETE /v3/roles/{id}` (`keystone/api/roles.py`) and
//! `/v3/domains` (`keystone/api/domains.py`). The body schema is checked before the policy.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::http::{KeystoneState, create_error, entity_json, require_admin};
use super::http_system::{collection, internal};
use super::model::DomainRef;
use super::roles::{ChangeError, Domain};
use super::schema;
use crate::wire::{AuthContext, keystone_error};

fn change_error(e: ChangeError) -> Response {
    let status = match e {
        ChangeError::NotFound(..) => StatusCode::NOT_FOUND,
        ChangeError::Forbidden(_) => StatusCode::FORBIDDEN,
        ChangeError::Conflict(_) => StatusCode::CONFLICT,
        ChangeError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    keystone_error(status, &e.to_string())
}

/// A role as `/v3/roles` shows it, with its description.
fn role_json(s: &KeystoneState, role: &super::model::Entity) -> Value {
    let mut v = entity_json("roles", role, &s.identity.public_url());
    v["description"] = json!(s.identity.role_description(&role.id).ok().flatten());
    v
}

pub(super) async fn create_role(State(s): State<KeystoneState>, caller: AuthContext, body: Bytes) -> Response {
    let role = match schema::role_or_domain(&schema::body_object(&body), "role", true) {
        Ok(role) => role,
        Err(r) => return r,
    };
    if let Err(r) = require_admin(&caller, "create_role") {
        return r;
    }
    // Domain-specific roles are not modelled.
    if role.get("domain_id").is_some_and(|d| !d.is_null()) {
        return keystone_error(StatusCode::NOT_IMPLEMENTED, "Domain-specific roles are not implemented by this simulation.");
    }
    let name = role.get("name").and_then(Value::as_str).unwrap_or_default();
    let description = role.get("description").and_then(Value::as_str);
    match s.identity.create_role(name, description) {
        Ok(e) => (StatusCode::CREATED, Json(json!({"role": role_json(&s, &e)}))).into_response(),
        Err(e) => create_error(e),
    }
}

pub(super) async fn update_role(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>, body: Bytes) -> Response {
    let role = match schema::role_or_domain(&schema::body_object(&body), "role", false) {
        Ok(role) => role,
        Err(r) => return r,
    };
    if let Err(r) = require_admin(&caller, "update_role") {
        return r;
    }
    let name = role.get("name").and_then(Value::as_str);
    let description = role.get("description").map(Value::as_str);
    match s.identity.update_role(&id, name, description) {
        Ok(e) => Json(json!({"role": role_json(&s, &e)})).into_response(),
        Err(e) => change_error(e),
    }
}

pub(super) async fn delete_role(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    if let Err(r) = require_admin(&caller, "delete_role") {
        return r;
    }
    match s.identity.delete_role(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => change_error(e),
    }
}

fn domain_json(s: &KeystoneState, d: &Domain) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "enabled": d.enabled,
        "tags": [],
        "options": {},
        "links": {"self": format!("{}/domains/{}", s.identity.public_url(), d.id)},
    })
}

/// `parameter_types.boolean` as `strutils.bool_from_string` reads it.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => ["1", "t", "true", "on", "y", "yes"].contains(&s.to_ascii_lowercase().as_str()),
        _ => false,
    }
}

pub(super) async fn list_domains(
    State(s): State<KeystoneState>,
    _caller: AuthContext,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let enabled = q.get("enabled").map(|v| truthy(&Value::String(v.clone())) || v.is_empty());
    match s.identity.domains(q.get("name").map(String::as_str), enabled) {
        Ok(domains) => {
            let items = domains.iter().map(|d| domain_json(&s, d)).collect();
            collection("domains", items, format!("{}/domains", s.identity.public_url()))
        }
        Err(e) => internal(e),
    }
}

pub(super) async fn show_domain(State(s): State<KeystoneState>, _caller: AuthContext, Path(id): Path<String>) -> Response {
    match s.identity.domain(&DomainRef::Id(id.clone())) {
        Ok(Some(d)) => Json(json!({"domain": domain_json(&s, &d)})).into_response(),
        Ok(None) => keystone_error(StatusCode::NOT_FOUND, &format!("Could not find domain: {id}.")),
        Err(e) => internal(e),
    }
}

pub(super) async fn create_domain(State(s): State<KeystoneState>, caller: AuthContext, body: Bytes) -> Response {
    let domain = match schema::role_or_domain(&schema::body_object(&body), "domain", true) {
        Ok(domain) => domain,
        Err(r) => return r,
    };
    if let Err(r) = require_admin(&caller, "create_domain") {
        return r;
    }
    let name = domain.get("name").and_then(Value::as_str).unwrap_or_default();
    let description = domain.get("description").and_then(Value::as_str).unwrap_or_default();
    let enabled = domain.get("enabled").is_none_or(|v| v.is_null() || truthy(v));
    match s.identity.create_domain(name, description, enabled) {
        Ok(d) => (StatusCode::CREATED, Json(json!({"domain": domain_json(&s, &d)}))).into_response(),
        Err(e) => create_error(e),
    }
}

pub(super) async fn update_domain(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>, body: Bytes) -> Response {
    let domain = match schema::role_or_domain(&schema::body_object(&body), "domain", false) {
        Ok(domain) => domain,
        Err(r) => return r,
    };
    if let Err(r) = require_admin(&caller, "update_domain") {
        return r;
    }
    let name = domain.get("name").and_then(Value::as_str);
    let description = domain.get("description").and_then(Value::as_str);
    let enabled = domain.get("enabled").filter(|v| !v.is_null()).map(truthy);
    match s.identity.update_domain(&id, name, description, enabled) {
        Ok(d) => Json(json!({"domain": domain_json(&s, &d)})).into_response(),
        Err(e) => change_error(e),
    }
}

pub(super) async fn delete_domain(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    if let Err(r) = require_admin(&caller, "delete_domain") {
        return r;
    }
    match s.identity.delete_domain(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => change_error(e),
    }
}
