//! Volume types beyond create/show/delete: update (`types_manage._update`), extra specs
//! (`api/contrib/types_extra_specs.py`), and type access (`api/contrib/volume_type_access.py`:
//! `addProjectAccess`, `removeProjectAccess`, `GET os-volume-type-access`). The body is
//! validated before the policy is checked, as Cinder's `@validation.schema` runs first.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::call::Call;
use super::envelope::{sole_member, string_specs};
use super::fault::Fault;
use super::http::{CinderState, action_json, check_project, no_such_action, project_json_body, schema_error};
use super::http_types::{authorize, boolean, find, only, wrapped};
use super::views::{self, USER_VISIBLE_EXTRA_SPECS};
use crate::jsonschema::{self, SchemaError};
use crate::wire::AuthContext;

/// `parameter_types.extra_specs`' key pattern.
const KEY_PATTERN: &str = "^[a-zA-Z0-9-_:. /]{1,255}$";

pub fn routes() -> Router<CinderState> {
    Router::new()
        .route("/v3/{project_id}/types/{id}/extra_specs", get(list_specs).post(create_specs))
        .route("/v3/{project_id}/types/{id}/extra_specs/{key}", get(show_spec).put(update_spec).delete(delete_spec))
        .route("/v3/{project_id}/types/{id}/action", post(type_action))
        .route("/v3/{project_id}/types/{id}/os-volume-type-access", get(list_access))
}

fn key_ok(key: &str) -> bool {
    (1..=255).contains(&key.chars().count())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | ' ' | '/'))
}

/// `parameter_types.extra_specs` (and `_with_null`): string values of at most 255 characters
/// under keys matching the pattern, nothing else.
pub(super) fn specs(field: &str, value: &Value, allow_null: bool) -> Result<BTreeMap<String, Option<String>>, Fault> {
    let Some(map) = value.as_object() else {
        return Err(schema_error(field, value, &jsonschema::not_of_type(value, &["object"])));
    };
    for (k, v) in map.iter().filter(|(k, _)| key_ok(k)) {
        match v {
            Value::String(s) if s.chars().count() > 255 => return Err(schema_error(k, v, &jsonschema::too_long(v, 255))),
            Value::String(_) => {}
            Value::Null if allow_null => {}
            other => {
                let types: &[&str] = if allow_null { &["string", "null"] } else { &["string"] };
                return Err(schema_error(k, other, &jsonschema::not_of_type(other, types)));
            }
        }
    }
    if let Some(message) = jsonschema::unmatched_properties(map, key_ok, &[KEY_PATTERN]) {
        return Err(schema_error(field, value, &message));
    }
    Ok(map.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned))).collect())
}

/// What a caller may read of a type's extra specs (the sensitive ones need admin).
fn readable(ctx: &AuthContext, all: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    all.iter()
        .filter(|(k, _)| ctx.is_admin() || USER_VISIBLE_EXTRA_SPECS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `_allow_update`: no volume may use the type.
fn allow_update(s: &CinderState, type_name: &str) -> Result<(), Fault> {
    if s.volumes.all()?.iter().any(|v| v.volume_type == type_name) {
        return Err(Fault::bad_request("Volume Type is currently in use."));
    }
    Ok(())
}

/// `PUT /types/{id}` (`types_manage._update`).
pub async fn update_type(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let vt = wrapped(&body, "volume_type")?;
    only(vt, "volume_type", &["name", "description", "is_public"])?;
    let name = match vt.get("name") {
        None | Some(Value::Null) => None,
        Some(v @ Value::String(n)) if n.is_empty() => return Err(schema_error("name", v, "'' is too short")),
        Some(v @ Value::String(n)) if n.chars().count() > 255 => return Err(schema_error("name", v, &jsonschema::too_long(v, 255))),
        Some(Value::String(n)) => Some(n.trim().to_owned()),
        Some(other) => return Err(schema_error("name", other, &jsonschema::not_of_type(other, &["string", "null"]))),
    };
    let description = match vt.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => Some(Some(d.clone())),
        Some(other) => return Err(schema_error("description", other, &jsonschema::not_of_type(other, &["string", "null"]))),
    };
    let is_public = match vt.get("is_public") {
        None | Some(Value::Null) => None,
        Some(v) => Some(boolean("is_public", v)?),
    };
    authorize(&ctx, "volume_extension:type_update")?;
    if name.is_none() && description.is_none() && is_public.is_none() {
        return Err(Fault::bad_request("Specify volume type name, description, is_public or a combination thereof."));
    }
    let updated = s.volumes.update_volume_type(&id, name, description, is_public)?;
    Ok(Json(json!({"volume_type": views::type_manage_view(&ctx, &updated, false)})).into_response())
}

async fn list_specs(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let t = find(&s, &ctx, &id)?;
    Ok(Json(json!({"extra_specs": readable(&ctx, &t.extra_specs)})).into_response())
}

async fn create_specs(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let new = string_specs("extra_specs", sole_member(&body, "extra_specs")?, false)?;
    authorize(&ctx, "volume_extension:types_extra_specs:create")?;
    let t = find(&s, &ctx, &id)?;
    allow_update(&s, &t.name)?;
    s.volumes.set_extra_specs(&t.id, &new)?;
    Ok(Json(json!({"extra_specs": new})).into_response())
}

async fn show_spec(Call { s, ctx, path: (project_id, id, key), .. }: Call<(String, String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let t = find(&s, &ctx, &id)?;
    match readable(&ctx, &t.extra_specs).get(&key) {
        Some(v) => Ok(Json(json!({key: v})).into_response()),
        None => Err(Fault::not_found(format!("Volume Type {id} has no extra specs with key {key}."))),
    }
}

async fn update_spec(
    Call { s, ctx, path: (project_id, id, key), .. }: Call<(String, String, String)>,
    body: Bytes,
) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    // The schema: the extra-specs object with exactly one property.
    if let Some(map) = body.as_object() {
        if map.is_empty() {
            return Err(SchemaError::root(&body, jsonschema::too_few_properties(&body, 1)).into());
        }
        if map.len() > 1 {
            return Err(SchemaError::root(&body, jsonschema::too_many_properties(&body, 1)).into());
        }
    }
    let new = string_specs("extra_specs", &body, false).map_err(|f| match body.is_object() {
        true => f,
        false => SchemaError::root(&body, jsonschema::not_of_type(&body, &["object"])).into(),
    })?;
    authorize(&ctx, "volume_extension:types_extra_specs:update")?;
    let t = find(&s, &ctx, &id)?;
    allow_update(&s, &t.name)?;
    if !new.contains_key(&key) {
        return Err(Fault::bad_request("Request body and URI mismatch"));
    }
    s.volumes.set_extra_specs(&t.id, &new)?;
    Ok(Json(json!(new)).into_response())
}

async fn delete_spec(Call { s, ctx, path: (project_id, id, key), .. }: Call<(String, String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let t = find(&s, &ctx, &id)?;
    authorize(&ctx, "volume_extension:types_extra_specs:delete")?;
    allow_update(&s, &t.name)?;
    s.volumes.delete_extra_spec(&t.id, &key)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// The `add_project_access`/`remove_project_access` schema: `{"project": <string>}`.
fn project_arg(action: &str, args: &Value) -> Result<String, Fault> {
    let Some(map) = args.as_object() else { return Err(schema_error(action, args, &jsonschema::not_of_type(args, &["object"]))) };
    jsonschema::check_additional(action, map, |k| k == "project")?;
    match map.get("project") {
        None => Err(schema_error(action, args, &jsonschema::required("project"))),
        Some(Value::String(p)) => Ok(p.clone()),
        Some(other) => Err(schema_error("project", other, &jsonschema::not_of_type(other, &["string"]))),
    }
}

/// `POST /types/{id}/action`: `addProjectAccess`, `removeProjectAccess` (202).
async fn type_action(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    let (action, args) = action_json(&body)?;
    check_project(&ctx, &project_id)?;
    match action.as_str() {
        "addProjectAccess" => {
            let project = project_arg(&action, &args)?;
            authorize(&ctx, "volume_extension:volume_type_access:addProjectAccess")?;
            s.volumes.add_type_access(&id, &project)?;
        }
        "removeProjectAccess" => {
            let project = project_arg(&action, &args)?;
            authorize(&ctx, "volume_extension:volume_type_access:removeProjectAccess")?;
            s.volumes.remove_type_access(&id, &project)?;
        }
        other => return Err(no_such_action(other)),
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET /types/{id}/os-volume-type-access`: the projects of a private type.
async fn list_access(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    authorize(&ctx, "volume_extension:volume_type_access:get_all_for_type")?;
    let t = s.volumes.volume_type(&id)?.filter(|t| t.id == id).ok_or_else(|| super::types::type_not_found(&id))?;
    if t.is_public {
        return Err(Fault::not_found("Access list not available for public volume types."));
    }
    let access: Vec<Value> = t.projects.iter().map(|p| json!({"volume_type_id": t.id, "project_id": p})).collect();
    Ok(Json(json!({"volume_type_access": access})).into_response())
}
