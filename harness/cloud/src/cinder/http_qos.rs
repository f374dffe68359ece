//! QoS specs (`api/contrib/qos_specs_manage.py`, every policy `rule:admin_api`) and group
//! types with their group specs (`api/v3/group_types.py`, `group_specs.py`, from 3.11).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::call::Call;
use super::envelope::{member, sole_member, string_specs};
use super::fault::Fault;
use super::http::{CinderState, check_project, project_json_body, schema_error};
use super::http_types::{authorize, boolean, only, wrapped};
use super::more_types::{GroupType, QosSpecs};
use crate::jsonschema::{self, SchemaError};
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// `mv.GROUP_TYPE`.
const GROUP_TYPE: Microversion = Microversion(3, 11);

pub fn routes() -> Router<CinderState> {
    Router::new()
        .route("/v3/{project_id}/qos-specs", get(list_qos).post(create_qos))
        .route("/v3/{project_id}/qos-specs/{id}", get(show_qos).put(set_keys).delete(delete_qos))
        .route("/v3/{project_id}/qos-specs/{id}/delete_keys", axum::routing::put(unset_keys))
        .route("/v3/{project_id}/qos-specs/{id}/associations", get(associations))
        .route("/v3/{project_id}/qos-specs/{id}/associate", get(associate))
        .route("/v3/{project_id}/qos-specs/{id}/disassociate", get(disassociate))
        .route("/v3/{project_id}/qos-specs/{id}/disassociate_all", get(disassociate_all))
        .route("/v3/{project_id}/group_types", get(list_group_types).post(create_group_type))
        .route("/v3/{project_id}/group_types/{id}", get(show_group_type).put(update_group_type).delete(delete_group_type))
        .route("/v3/{project_id}/group_types/{id}/group_specs", get(list_group_specs).post(create_group_specs))
        .route("/v3/{project_id}/group_types/{id}/group_specs/{key}", get(show_group_spec).put(update_group_spec).delete(delete_group_spec))
}

fn links(s: &CinderState, project_id: &str, id: &str) -> Value {
    let root = s.public_url.trim_end_matches('/');
    json!([
        {"href": format!("{root}/v3/{project_id}/qos-specs/{id}"), "rel": "self"},
        {"href": format!("{root}/{project_id}/qos-specs/{id}"), "rel": "bookmark"},
    ])
}

fn qos_view(q: &QosSpecs) -> Value {
    json!({"id": q.id, "name": q.name, "consumer": q.consumer, "specs": q.specs})
}

fn admin(ctx: &AuthContext, project_id: &str, rule: &str) -> Result<(), Fault> {
    check_project(ctx, project_id)?;
    authorize(ctx, rule)
}

async fn list_qos(Call { s, ctx, path: project_id, .. }: Call<String>) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:qos_specs_manage:get_all")?;
    let all: Vec<Value> = s.volumes.all_qos_specs()?.iter().map(qos_view).collect();
    Ok(Json(json!({"qos_specs": all})).into_response())
}

/// The `qos_specs.create` schema: `{"qos_specs": {"name": <string>, ...}}`, any other keys
/// being specs (their values strings, as the controller stores them).
async fn create_qos(Call { s, ctx, path: project_id, .. }: Call<String>, body: Bytes) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let q = wrapped(&body, "qos_specs")?;
    let name = match q.get("name") {
        None => return Err(schema_error("qos_specs", &Value::Object(q.clone()), &jsonschema::required("name"))),
        Some(v @ Value::String(n)) if n.trim().is_empty() || n.trim().chars().count() > 255 => {
            return Err(schema_error("name", v, &jsonschema::not_a(v, "name_skip_leading_trailing_spaces")));
        }
        Some(Value::String(n)) => n.trim().to_owned(),
        Some(other) => return Err(schema_error("name", other, &jsonschema::not_of_type(other, &["string"]))),
    };
    let rest: BTreeMap<String, String> = q
        .iter()
        .filter(|(k, _)| *k != "name")
        .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| crate::jsonschema::py_display(v))))
        .collect();
    authorize(&ctx, "volume_extension:qos_specs_manage:create")?;
    let created = s.volumes.create_qos_specs(&name, rest)?;
    Ok(Json(json!({"qos_specs": qos_view(&created), "links": links(&s, &project_id, &created.id)})).into_response())
}

async fn show_qos(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:qos_specs_manage:get")?;
    let q = s.volumes.qos_specs(&id)?;
    Ok(Json(json!({"qos_specs": qos_view(&q), "links": links(&s, &project_id, &q.id)})).into_response())
}

/// `PUT /qos-specs/{id}` (the `set` schema): answers the request's body.
async fn set_keys(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let new = string_specs("qos_specs", sole_member(&body, "qos_specs")?, true)?;
    authorize(&ctx, "volume_extension:qos_specs_manage:update")?;
    s.volumes.update_qos_specs(&id, &new)?;
    Ok(Json(body.clone()).into_response())
}

/// `PUT /qos-specs/{id}/delete_keys` (the `unset` schema), 202.
async fn unset_keys(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let keys = sole_member(&body, "keys")?;
    let Some(items) = keys.as_array() else { return Err(schema_error("keys", keys, &jsonschema::not_of_type(keys, &["array"]))) };
    let mut names = Vec::new();
    for item in items {
        match item {
            Value::String(k) if !k.is_empty() && k.chars().count() <= 255 => names.push(k.clone()),
            other => return Err(schema_error("keys", other, &jsonschema::not_of_type(other, &["string"]))),
        }
    }
    authorize(&ctx, "volume_extension:qos_specs_manage:delete")?;
    s.volumes.delete_qos_keys(&id, &names)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn delete_qos(
    Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:qos_specs_manage:delete")?;
    let force = match query.get("force") {
        None => false,
        Some(v) => boolean("force", &json!(v)).map_err(|_| Fault::invalid_input(format!("Invalid value '{v}' for force.")))?,
    };
    s.volumes.delete_qos_specs(&id, force)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn associations(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:qos_specs_manage:get_all")?;
    let list: Vec<Value> =
        s.volumes.qos_associations(&id)?.iter().map(|t| json!({"association_type": "volume_type", "name": t.name, "id": t.id})).collect();
    Ok(Json(json!({"qos_associations": list})).into_response())
}

fn vol_type_id(query: &BTreeMap<String, String>) -> Result<String, Fault> {
    query.get("vol_type_id").cloned().ok_or_else(|| Fault::bad_request("Volume Type id must not be None."))
}

async fn associate(call: Call<(String, String)>, Query(query): Query<BTreeMap<String, String>>) -> Result<Response, Fault> {
    link_type(call, &query, true)
}

async fn disassociate(call: Call<(String, String)>, Query(query): Query<BTreeMap<String, String>>) -> Result<Response, Fault> {
    link_type(call, &query, false)
}

/// `associate`/`disassociate` differ only in which way the `vol_type_id` link changes.
fn link_type(
    Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>,
    query: &BTreeMap<String, String>,
    associate: bool,
) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:qos_specs_manage:update")?;
    let type_id = vol_type_id(query)?;
    if associate {
        s.volumes.associate_qos(&id, &type_id)?;
    } else {
        s.volumes.disassociate_qos(&id, &type_id)?;
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn disassociate_all(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:qos_specs_manage:update")?;
    s.volumes.disassociate_all_qos(&id)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

// ---- group types ----

fn group_allowed(version: Microversion) -> Result<(), Fault> {
    if version >= GROUP_TYPE { Ok(()) } else { Err(Fault::no_resource()) }
}

/// The checks the group type handlers taking a body start with, in Cinder's order.
fn group_body(version: Microversion, ctx: &AuthContext, project_id: &str, body: &Bytes) -> Result<Value, Fault> {
    group_allowed(version)?;
    project_json_body(ctx, project_id, body)
}

fn group_type_view(ctx: &AuthContext, g: &GroupType) -> Value {
    let mut v = json!({"id": g.id, "name": g.name, "description": g.description, "is_public": g.is_public});
    if ctx.is_admin()
        && let Some(map) = v.as_object_mut()
    {
        map.insert("group_specs".into(), json!(g.group_specs));
    }
    v
}

async fn list_group_types(
    Call { s, ctx, version, path: project_id }: Call<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, Fault> {
    group_allowed(version)?;
    check_project(&ctx, &project_id)?;
    // `_parse_is_public`: admins filter with `is_public` (absent or `None`: all); others see
    // the public ones.
    let filter: Option<bool> = if ctx.is_admin() {
        match query.get("is_public").map(String::as_str) {
            None | Some("None") | Some("none") => None,
            Some(v) => Some(boolean("is_public", &json!(v)).map_err(|_| Fault::invalid_input(format!("Invalid is_public filter [{v}]")))?),
        }
    } else {
        Some(true)
    };
    let mut types: Vec<GroupType> = s.volumes.group_types()?.into_iter().filter(|g| filter.is_none_or(|p| g.is_public == p)).collect();
    if let Some(sort) = query.get("sort") {
        let (key, dir) = sort.split_once(':').unwrap_or((sort.as_str(), "desc"));
        if key == "name" {
            types.sort_by(|a, b| a.name.cmp(&b.name));
        }
        if dir == "desc" {
            types.reverse();
        }
    }
    let list: Vec<Value> = types.iter().map(|g| group_type_view(&ctx, g)).collect();
    Ok(Json(json!({"group_types": list})).into_response())
}

async fn create_group_type(Call { s, ctx, version, path: project_id }: Call<String>, body: Bytes) -> Result<Response, Fault> {
    let body = group_body(version, &ctx, &project_id, &body)?;
    let g = wrapped(&body, "group_type")?;
    only(g, "group_type", &["name", "description", "is_public", "group_specs"])?;
    let name = match g.get("name") {
        None => return Err(schema_error("group_type", &Value::Object(g.clone()), &jsonschema::required("name"))),
        Some(v @ Value::String(n)) if n.trim().is_empty() => return Err(schema_error("name", v, "'' is too short")),
        Some(Value::String(n)) => n.trim().to_owned(),
        Some(other) => return Err(schema_error("name", other, &jsonschema::not_of_type(other, &["string"]))),
    };
    let description = g.get("description").and_then(Value::as_str).map(str::to_owned);
    let is_public = match g.get("is_public") {
        None => true,
        Some(v) => boolean("is_public", v)?,
    };
    let group_specs = match g.get("group_specs") {
        None => BTreeMap::new(),
        Some(v) => string_specs("group_specs", v, false)?,
    };
    authorize(&ctx, "group:group_types:create")?;
    let new = GroupType { id: uuid::Uuid::new_v4().to_string(), name, description, is_public, group_specs };
    s.volumes.save_group_type(&new, true)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"group_type": group_type_view(&ctx, &new)}))).into_response())
}

async fn show_group_type(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    group_allowed(version)?;
    check_project(&ctx, &project_id)?;
    if id == "default" {
        return Err(Fault::not_found("Default group type can not be found."));
    }
    let g = s.volumes.group_type(&id)?;
    Ok(Json(json!({"group_type": group_type_view(&ctx, &g)})).into_response())
}

async fn update_group_type(
    Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>,
    body: Bytes,
) -> Result<Response, Fault> {
    let body = group_body(version, &ctx, &project_id, &body)?;
    let g = wrapped(&body, "group_type")?;
    only(g, "group_type", &["name", "description", "is_public"])?;
    let name = g.get("name").and_then(Value::as_str).map(|n| n.trim().to_owned());
    let description = g.get("description").and_then(Value::as_str).map(str::to_owned);
    let is_public = match g.get("is_public") {
        None | Some(Value::Null) => None,
        Some(v) => Some(boolean("is_public", v)?),
    };
    authorize(&ctx, "group:group_types:update")?;
    if name.as_deref() == Some("") {
        return Err(Fault::bad_request("Group type name can not be empty."));
    }
    if name.is_none() && description.is_none() && is_public.is_none() {
        return Err(Fault::bad_request("Specify group type name, description or a combination thereof."));
    }
    let mut existing = s.volumes.group_type(&id)?;
    if let Some(n) = name {
        existing.name = n;
    }
    if let Some(d) = description {
        existing.description = Some(d);
    }
    if let Some(p) = is_public {
        existing.is_public = p;
    }
    s.volumes.save_group_type(&existing, false)?;
    Ok(Json(json!({"group_type": group_type_view(&ctx, &existing)})).into_response())
}

async fn delete_group_type(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    group_allowed(version)?;
    admin(&ctx, &project_id, "group:group_types:delete")?;
    s.volumes.delete_group_type(&id)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn list_group_specs(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    group_allowed(version)?;
    admin(&ctx, &project_id, "group:group_types_specs")?;
    Ok(Json(json!({"group_specs": s.volumes.group_type(&id)?.group_specs})).into_response())
}

async fn create_group_specs(
    Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>,
    body: Bytes,
) -> Result<Response, Fault> {
    let body = group_body(version, &ctx, &project_id, &body)?;
    // Unlike the other envelopes, this schema allows properties beside `group_specs`.
    let (_, inner) = member(&body, "group_specs")?;
    let new = string_specs("group_specs", inner, false)?;
    authorize(&ctx, "group:group_types_specs")?;
    let mut g = s.volumes.group_type(&id)?;
    g.group_specs.extend(new);
    s.volumes.save_group_type(&g, false)?;
    Ok((StatusCode::ACCEPTED, Json(body.clone())).into_response())
}

async fn show_group_spec(Call { s, ctx, version, path: (project_id, id, key) }: Call<(String, String, String)>) -> Result<Response, Fault> {
    group_allowed(version)?;
    admin(&ctx, &project_id, "group:group_types_specs")?;
    let g = s.volumes.group_type(&id)?;
    match g.group_specs.get(&key) {
        Some(v) => Ok(Json(json!({key: v})).into_response()),
        None => Err(Fault::not_found(format!("Group Type {id} has no extra spec with key {key}."))),
    }
}

async fn update_group_spec(
    Call { s, ctx, version, path: (project_id, id, key) }: Call<(String, String, String)>,
    body: Bytes,
) -> Result<Response, Fault> {
    let body = group_body(version, &ctx, &project_id, &body)?;
    let new = string_specs("group_specs", &body, false)?;
    if new.len() != 1 {
        return Err(SchemaError::root(&body, jsonschema::too_many_properties(&body, 1)).into());
    }
    authorize(&ctx, "group:group_types_specs")?;
    if !new.contains_key(&key) {
        return Err(Fault::bad_request("Request body and URI mismatch"));
    }
    let mut g = s.volumes.group_type(&id)?;
    g.group_specs.extend(new);
    s.volumes.save_group_type(&g, false)?;
    Ok(Json(body.clone()).into_response())
}

async fn delete_group_spec(
    Call { s, ctx, version, path: (project_id, id, key) }: Call<(String, String, String)>,
) -> Result<Response, Fault> {
    group_allowed(version)?;
    admin(&ctx, &project_id, "group:group_types_specs")?;
    let mut g = s.volumes.group_type(&id)?;
    if g.group_specs.remove(&key).is_none() {
        return Err(Fault::not_found(format!("Group Type {id} has no specs with key {key}.")));
    }
    s.volumes.save_group_type(&g, false)?;
    Ok(StatusCode::ACCEPTED.into_response())
}
