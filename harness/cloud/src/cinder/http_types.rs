//! Volume types on the wire: list and show (everyone), create and delete
//! (`api/contrib/types_manage.py`, policy `volume_extension:types_manage`, admin only), and a
//! type's encryption spec (`api/contrib/volume_type_encryption.py`, policies
//! `volume_extension:volume_type_encryption:{create,get,delete}`, admin only). As in Cinder,
//! the body is validated before the policy is checked. Also a volume's encryption metadata
//! (`api/contrib/volume_encryption_metadata.py`, the project's readers), which Nova's
//! encryptors read before they fetch the key from Barbican.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::call::Call;
use super::fault::Fault;
use super::http::{CinderState, check_project, json_body, project_json_body, schema_error};
use super::model::now;
use super::types::{Encryption, VolumeType, type_not_found};
use super::views;
use crate::jsonschema::{self, SchemaError};
use crate::wire::AuthContext;

const MANAGE_POLICY: &str = "volume_extension:types_manage";
const CREATE_ENCRYPTION_POLICY: &str = "volume_extension:volume_type_encryption:create";
const GET_ENCRYPTION_POLICY: &str = "volume_extension:volume_type_encryption:get";
const DELETE_ENCRYPTION_POLICY: &str = "volume_extension:volume_type_encryption:delete";
const UPDATE_ENCRYPTION_POLICY: &str = "volume_extension:volume_type_encryption:update";
/// The encryption schema's `control_location` enum.
const CONTROL_LOCATIONS: [&str; 2] = ["front-end", "back-end"];

pub fn routes() -> Router<CinderState> {
    Router::new()
        .route("/v3/{project_id}/types", get(list).post(create))
        .route("/v3/{project_id}/types/{id}", get(show).put(super::http_type_extras::update_type).delete(delete))
        .route("/v3/{project_id}/types/{id}/encryption", get(show_encryption).post(create_encryption))
        .route("/v3/{project_id}/types/{id}/encryption/{key}", get(show_encryption_item).put(update_encryption).delete(delete_encryption))
        .route("/v3/{project_id}/volumes/{id}/encryption", get(volume_encryption_metadata))
}

/// `PolicyNotAuthorized` (403); every rule here is `rule:admin_api`.
pub(super) fn authorize(ctx: &AuthContext, rule: &str) -> Result<(), Fault> {
    if ctx.is_admin() { Ok(()) } else { Err(Fault::new(StatusCode::FORBIDDEN, format!("Policy doesn't allow {rule} to be performed."))) }
}

/// Private types are visible to admins and the projects they are shared with.
pub(super) fn visible(ctx: &AuthContext, t: &VolumeType) -> bool {
    t.is_public || ctx.is_admin() || t.projects.contains(&ctx.project_id)
}

async fn list(Call { s, ctx, path: project_id, .. }: Call<String>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let types: Vec<Value> = s.volumes.volume_types()?.iter().filter(|t| visible(&ctx, t)).map(|t| views::type_show(&ctx, t)).collect();
    Ok(Json(json!({"volume_types": types})).into_response())
}

/// A type the caller may see, by id or name (`default`: the default type).
pub(super) fn find(s: &CinderState, ctx: &AuthContext, reference: &str) -> Result<VolumeType, Fault> {
    if reference == "default" {
        return s.volumes.volume_types()?.into_iter().next().ok_or_else(Fault::internal);
    }
    s.volumes.volume_type(reference)?.filter(|t| visible(ctx, t)).ok_or_else(|| type_not_found(reference))
}

async fn show(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    Ok(Json(json!({"volume_type": views::type_show(&ctx, &find(&s, &ctx, &id)?)})).into_response())
}

/// The object under `key` of a body that must hold exactly that key.
pub(super) fn wrapped<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>, Fault> {
    let Some(top) = body.as_object() else { return Err(Fault::bad_request(format!("{body} is not of type 'object'"))) };
    let Some(inner) = top.get(key) else { return Err(SchemaError::root(body, jsonschema::required(key)).into()) };
    if let Some(message) = jsonschema::additional_properties(top, |k| k == key) {
        return Err(SchemaError::root(body, message).into());
    }
    inner.as_object().ok_or_else(|| schema_error(key, inner, &format!("{inner} is not of type 'object'")))
}

pub(super) fn only(map: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<(), Fault> {
    Ok(jsonschema::check_additional(field, map, |k| allowed.contains(&k))?)
}

/// `parameter_types.boolean`: a JSON boolean or one of oslo's boolean strings.
pub(super) fn boolean(field: &str, value: &Value) -> Result<bool, Fault> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "t" | "on" | "y" | "yes" => Ok(true),
            "false" | "0" | "f" | "off" | "n" | "no" => Ok(false),
            _ => Err(schema_error(field, value, &format!("{value} is not of type 'boolean', 'string'"))),
        },
        other => Err(schema_error(field, other, &format!("{other} is not of type 'boolean', 'string'"))),
    }
}

/// The `volume_types.create` schema: `name` required (1-255 characters, not only blanks),
/// `description`, `extra_specs` (string values), `os-volume-type-access:is_public`.
fn new_type(body: &Value) -> Result<VolumeType, Fault> {
    let vt = wrapped(body, "volume_type")?;
    only(vt, "volume_type", &["name", "description", "extra_specs", "os-volume-type-access:is_public"])?;
    let name = match vt.get("name") {
        None => return Err(schema_error("volume_type", &Value::Object(vt.clone()), &jsonschema::required("name"))),
        Some(v @ Value::String(n)) if n.is_empty() => return Err(schema_error("name", v, "'' is too short")),
        Some(v @ Value::String(n)) if n.chars().count() > 255 => return Err(schema_error("name", v, &jsonschema::too_long(v, 255))),
        // The schema's `name` format refuses a name of blanks only.
        Some(v @ Value::String(n)) if n.trim().is_empty() => return Err(schema_error("name", v, &jsonschema::not_a(v, "name"))),
        Some(Value::String(n)) => n.clone(),
        Some(other) => return Err(schema_error("name", other, &format!("{other} is not of type 'string'"))),
    };
    let description = match vt.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => Some(d.clone()),
        Some(other) => return Err(schema_error("description", other, &format!("{other} is not of type 'string', 'null'"))),
    };
    let extra_specs: BTreeMap<String, String> = match vt.get("extra_specs") {
        None => BTreeMap::new(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(schema_error(&format!("extra_specs/{k}"), other, &format!("{other} is not of type 'string'"))),
            })
            .collect::<Result<_, _>>()?,
        Some(Value::Null) => return Err(schema_error("extra_specs", &Value::Null, &jsonschema::not_of_type(&Value::Null, &["object"]))),
        Some(other) => return Err(schema_error("extra_specs", other, &format!("{other} is not of type 'object'"))),
    };
    let is_public = match vt.get("os-volume-type-access:is_public") {
        None => true,
        Some(v) => boolean("os-volume-type-access:is_public", v)?,
    };
    Ok(VolumeType {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        description,
        is_public,
        extra_specs,
        qos_specs_id: None,
        projects: Vec::new(),
    })
}

async fn create(Call { s, ctx, path: project_id, .. }: Call<String>, body: Bytes) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let new = new_type(&json_body(&body)?)?;
    authorize(&ctx, MANAGE_POLICY)?;
    s.volumes.create_volume_type(&new)?;
    Ok(Json(json!({"volume_type": views::type_manage_view(&ctx, &new, true)})).into_response())
}

async fn delete(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    authorize(&ctx, MANAGE_POLICY)?;
    s.volumes.delete_volume_type(&id)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// The encryption table row as `_get_volume_type_encryption` returns it.
fn encryption_view(e: &Encryption) -> Value {
    json!({
        "volume_type_id": e.volume_type_id,
        "encryption_id": e.encryption_id,
        "provider": e.provider,
        "cipher": e.cipher,
        "key_size": e.key_size,
        "control_location": e.control_location,
        "created_at": e.created_at,
        "updated_at": null,
        "deleted": false,
        "deleted_at": null,
    })
}

/// The `volume_type_encryption.create` schema; `key_size` may be an integer or a string of
/// digits (the controller turns it into an integer).
fn new_encryption(type_id: &str, body: &Value) -> Result<(Encryption, Map<String, Value>), Fault> {
    let enc = wrapped(body, "encryption")?;
    only(enc, "encryption", &["key_size", "provider", "control_location", "cipher"])?;
    jsonschema::check_required("encryption", enc, &["provider", "control_location"])?;
    let provider = match &enc["provider"] {
        Value::String(p) if p.chars().count() <= 255 => p.clone(),
        other => return Err(schema_error("provider", other, &format!("{other} is not of type 'string'"))),
    };
    let control_location = match &enc["control_location"] {
        Value::String(c) if CONTROL_LOCATIONS.contains(&c.as_str()) => c.clone(),
        other => {
            let choices = CONTROL_LOCATIONS.map(Value::from);
            return Err(schema_error("control_location", other, &jsonschema::not_one_of(other, &choices)));
        }
    };
    let cipher = match enc.get("cipher") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) => Some(c.clone()),
        Some(other) => return Err(schema_error("cipher", other, &format!("{other} is not of type 'string', 'null'"))),
    };
    let key_size = match enc.get("key_size") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(k) => Some(k),
            None => return Err(schema_error("key_size", &enc["key_size"], &format!("{n} is less than the minimum of 0"))),
        },
        Some(Value::String(k)) => match k.parse::<u64>() {
            Ok(k) => Some(k),
            Err(_) => return Err(schema_error("key_size", &enc["key_size"], &jsonschema::not_a(&enc["key_size"], "key_size"))),
        },
        Some(other) => return Err(schema_error("key_size", other, &format!("{other} is not of type 'string', 'integer', 'null'"))),
    };
    // The answer is the request's own body, `key_size` made an integer.
    let mut echoed = enc.clone();
    if let Some(k) = key_size {
        echoed.insert("key_size".into(), json!(k));
    }
    let spec = Encryption {
        encryption_id: uuid::Uuid::new_v4().to_string(),
        volume_type_id: type_id.to_owned(),
        provider,
        cipher,
        key_size,
        control_location,
        created_at: now(),
    };
    Ok((spec, echoed))
}

async fn create_encryption(
    Call { s, ctx, path: (project_id, type_id), .. }: Call<(String, String)>,
    body: Bytes,
) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let (spec, mut echoed) = new_encryption(&type_id, &json_body(&body)?)?;
    authorize(&ctx, CREATE_ENCRYPTION_POLICY)?;
    // `volume_type_encryption_create` adds the type and encryption ids to the very dict the
    // controller then answers with.
    echoed.insert("volume_type_id".into(), json!(type_id));
    echoed.insert("encryption_id".into(), json!(spec.encryption_id));
    s.volumes.create_type_encryption(&type_id, spec)?;
    Ok(Json(json!({"encryption": echoed})).into_response())
}

/// `PUT .../encryption/{encryption_id}`: the `update` schema (nothing required); the type
/// must exist and be unused; the answer is the request's body (`key_size` an integer).
async fn update_encryption(
    Call { s, ctx, path: (project_id, type_id, _encryption_id), .. }: Call<(String, String, String)>,
    body: Bytes,
) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let given = wrapped(&body, "encryption")?.clone();
    // Validated as a whole spec, the missing required fields standing in.
    let mut whole = json!({"provider": "", "control_location": "front-end"});
    for (k, v) in &given {
        whole[k] = v.clone();
    }
    let (parsed, echoed) = new_encryption(&type_id, &json!({"encryption": whole}))?;
    authorize(&ctx, UPDATE_ENCRYPTION_POLICY)?;
    s.volumes.volume_type(&type_id)?.filter(|t| t.id == type_id).ok_or_else(|| type_not_found(&type_id))?;
    let answer: Map<String, Value> = echoed.into_iter().filter(|(k, _)| given.contains_key(k)).collect();
    s.volumes.update_type_encryption(&type_id, |spec| {
        if given.contains_key("provider") {
            spec.provider = parsed.provider.clone();
        }
        if given.contains_key("control_location") {
            spec.control_location = parsed.control_location.clone();
        }
        if given.contains_key("cipher") {
            spec.cipher = parsed.cipher.clone();
        }
        if given.contains_key("key_size") {
            spec.key_size = parsed.key_size;
        }
    })?;
    Ok(Json(json!({"encryption": answer})).into_response())
}

/// What both encryption reads share: the policy, then the type must exist; its spec's view.
fn spec_view(s: &CinderState, ctx: &AuthContext, project_id: &str, type_id: &str) -> Result<Option<Value>, Fault> {
    check_project(ctx, project_id)?;
    authorize(ctx, GET_ENCRYPTION_POLICY)?;
    s.volumes.volume_type(type_id)?.filter(|t| t.id == type_id).ok_or_else(|| type_not_found(type_id))?;
    Ok(s.volumes.type_encryption(type_id)?.map(|e| encryption_view(&e)))
}

/// `GET .../encryption`: the spec, or `{}` for a type without one.
async fn show_encryption(Call { s, ctx, path: (project_id, type_id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    let view = spec_view(&s, &ctx, &project_id, &type_id)?;
    Ok(Json(view.unwrap_or_else(|| json!({}))).into_response())
}

/// `GET .../encryption/{key}`: `{key: value}`.
async fn show_encryption_item(
    Call { s, ctx, path: (project_id, type_id, key), .. }: Call<(String, String, String)>,
) -> Result<Response, Fault> {
    let view = spec_view(&s, &ctx, &project_id, &type_id)?;
    match view.as_ref().and_then(|v| v.get(&key)) {
        Some(value) => Ok(Json(json!({key: value})).into_response()),
        None => Err(Fault::not_found(format!("Volume type encryption for type {type_id} does not exist."))),
    }
}

/// `DELETE .../encryption/{encryption_id}`: the spec of the type goes (Cinder deletes by type;
/// the id in the URL is not compared).
async fn delete_encryption(
    Call { s, ctx, path: (project_id, type_id, _encryption_id), .. }: Call<(String, String, String)>,
) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    authorize(&ctx, DELETE_ENCRYPTION_POLICY)?;
    s.volumes.delete_type_encryption(&type_id)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET /v3/{project_id}/volumes/{id}/encryption` (`db.volume_encryption_metadata_get`): the
/// volume's key id (null when unencrypted), with its type's provider, cipher, key size and
/// control location when the type has an encryption spec.
async fn volume_encryption_metadata(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let volume = s.volumes.get(&ctx, &id)?;
    let mut values = json!({"encryption_key_id": s.volumes.encryption_key(&volume.id)?});
    if let Some(spec) = s.volumes.encryption_of_type_name(&volume.volume_type)? {
        values["control_location"] = json!(spec.control_location);
        values["cipher"] = json!(spec.cipher);
        values["key_size"] = json!(spec.key_size);
        values["provider"] = json!(spec.provider);
    }
    Ok(Json(values).into_response())
}
