//! `/v3/credentials` (`keystone/api/credentials.py`): credentials of any type, their `blob`
//! returned as the string it was given (Keystone stores it encrypted; so does this model). An
//! `ec2` credential's id is the SHA-256 of its blob's `access`, as the OS-EC2 API finds it.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::ec2::{Credential, hash_access_key};
use super::http::{KeystoneState, bad_request};
use super::http_system::{collection, internal};
use super::http_tokens::{forbidden_action, validation_error};
use crate::wire::{AuthContext, keystone_error};

fn credential_json(s: &KeystoneState, c: &Credential) -> Value {
    json!({
        "id": c.id,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "type": c.kind,
        "blob": c.blob,
        "links": {"self": format!("{}/credentials/{}", s.identity.public_url(), c.id)},
    })
}

/// `ADMIN_OR_CRED_OWNER` (create, update, delete) and `ADMIN_OR_SYSTEM_READER_OR_CRED_OWNER`
/// (get, list).
fn allowed(caller: &AuthContext, owner: &str, action: &str) -> Result<(), Response> {
    let reading = matches!(action, "get_credential" | "list_credentials");
    if caller.is_admin() || caller.user_id == owner || (reading && caller.system_scope && caller.has_role("reader")) {
        Ok(())
    } else {
        Err(forbidden_action(&format!("identity:{action}")))
    }
}

/// `_validate_blob_json` for `ec2` credentials: the blob's `access`.
fn ec2_access(blob: &str) -> Result<String, Response> {
    let parsed: Value = serde_json::from_str(blob).map_err(|_| bad_request("Invalid blob in credential"))?;
    match parsed.as_object().filter(|o| !o.is_empty()) {
        None => Err(validation_error("blob", "credential")),
        Some(o) => match o.get("access").filter(|a| !a.is_null()) {
            Some(Value::String(a)) => Ok(a.clone()),
            Some(other) => Ok(other.to_string()),
            None => Err(validation_error("access", "credential")),
        },
    }
}

fn field(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key).and_then(Value::as_str).map(str::to_owned)
}

pub(super) async fn create_credential(State(s): State<KeystoneState>, caller: AuthContext, body: Bytes) -> Response {
    let body = super::schema::body_object(&body);
    let c = match super::schema::string_fields(
        &body,
        "credential",
        &["blob", "type", "user_id"],
        &["blob", "type", "user_id", "project_id"],
        &["project_id"],
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (user_id, kind, blob) =
        (field(&c, "user_id").unwrap_or_default(), field(&c, "type").unwrap_or_default(), field(&c, "blob").unwrap_or_default());
    if let Err(r) = allowed(&caller, &user_id, "create_credential") {
        return r;
    }
    let id = if kind.eq_ignore_ascii_case("ec2") {
        match ec2_access(&blob) {
            Ok(access) => hash_access_key(&access),
            Err(r) => return r,
        }
    } else {
        uuid::Uuid::new_v4().simple().to_string()
    };
    let credential = Credential { id: id.clone(), user_id, project_id: field(&c, "project_id"), kind, blob };
    match s.identity.create_credential(&credential) {
        Ok(true) => (StatusCode::CREATED, Json(json!({"credential": credential_json(&s, &credential)}))).into_response(),
        Ok(false) => keystone_error(
            StatusCode::CONFLICT,
            &format!("Conflict occurred attempting to store credential - Duplicate entry found with ID {id}."),
        ),
        Err(e) => internal(e),
    }
}

pub(super) async fn list_credentials(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match s.identity.credentials(q.get("user_id").map(String::as_str), q.get("type").map(String::as_str)) {
        Ok(list) => {
            // Each credential is filtered through `identity:get_credential`.
            let items =
                list.iter().filter(|c| allowed(&caller, &c.user_id, "get_credential").is_ok()).map(|c| credential_json(&s, c)).collect();
            collection("credentials", items, format!("{}/credentials", s.identity.public_url()))
        }
        Err(e) => internal(e),
    }
}

/// The credential (`_build_target_enforcement` looks it up: a 404 before any 403).
fn target(s: &KeystoneState, caller: &AuthContext, id: &str, action: &str) -> Result<Credential, Response> {
    let credential = match s.identity.credential(id) {
        Ok(Some(c)) => c,
        Ok(None) => return Err(keystone_error(StatusCode::NOT_FOUND, &format!("Could not find credential: {id}."))),
        Err(e) => return Err(internal(e)),
    };
    allowed(caller, &credential.user_id, action)?;
    Ok(credential)
}

pub(super) async fn show_credential(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    match target(&s, &caller, &id, "get_credential") {
        Ok(c) => Json(json!({"credential": credential_json(&s, &c)})).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn update_credential(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut current = match target(&s, &caller, &id, "update_credential") {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = super::schema::body_object(&body);
    let c = match super::schema::string_fields(&body, "credential", &[], &["blob", "type", "user_id", "project_id"], &["project_id"]) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if c.get("id").and_then(Value::as_str).is_some_and(|given| given != id) {
        return bad_request("Cannot change ID");
    }
    if let Some(blob) = field(&c, "blob") {
        if current.kind.eq_ignore_ascii_case("ec2")
            && let Err(r) = ec2_access(&blob)
        {
            return r;
        }
        current.blob = blob;
    }
    if let Some(kind) = field(&c, "type") {
        current.kind = kind;
    }
    if let Some(user) = field(&c, "user_id") {
        current.user_id = user;
    }
    if c.contains_key("project_id") {
        current.project_id = field(&c, "project_id");
    }
    // The policy again, on the credential as it would be.
    if let Err(r) = allowed(&caller, &current.user_id, "update_credential") {
        return r;
    }
    match s.identity.update_credential(&current) {
        Ok(()) => Json(json!({"credential": credential_json(&s, &current)})).into_response(),
        Err(e) => internal(e),
    }
}

pub(super) async fn delete_credential(State(s): State<KeystoneState>, caller: AuthContext, Path(id): Path<String>) -> Response {
    if let Err(r) = target(&s, &caller, &id, "delete_credential") {
        return r;
    }
    match s.identity.delete_credential(&id) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => internal(e),
    }
}
