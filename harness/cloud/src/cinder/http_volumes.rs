//! Volumes on the wire beyond create, show and delete: the lists with their filters, sorting
//! and pagination (`volumes_links`), `GET volumes/summary` (3.12), `PUT volumes/{id}`, and
//! the volume's metadata (`api/v3/volume_metadata.py`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::call::Call;
use super::envelope::{member_object, sole_member, string_specs};
use super::fault::Fault;
use super::http::{CinderState, check_project, json_body, project_json_body, schema_error};
use super::model::Volume;
use super::pagination;
use super::views;
use crate::jsonschema;
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// `mv.VOLUME_SUMMARY`.
const VOLUME_SUMMARY: Microversion = Microversion(3, 12);
/// `osapi_max_limit`.
pub fn routes() -> Router<CinderState> {
    Router::new()
        .route("/v3/{project_id}/volumes/detail", get(list_volumes_detail))
        .route("/v3/{project_id}/volumes/summary", get(summary))
        .route("/v3/{project_id}/volumes/{id}/metadata", get(show_metadata).post(create_metadata).put(replace_metadata))
        .route(
            "/v3/{project_id}/volumes/{id}/metadata/{key}",
            get(show_metadata_item).put(update_metadata_item).delete(delete_metadata_item),
        )
}

/// `ast.literal_eval` of a flat dict of strings (`{'Type': 'work'}`), as the `metadata`
/// filter is given.
fn python_dict(text: &str) -> Option<BTreeMap<String, String>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut out = BTreeMap::new();
    for item in inner.split(',').filter(|s| !s.trim().is_empty()) {
        let (k, v) = item.split_once(':')?;
        let unquote = |s: &str| {
            let s = s.trim();
            s.strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| s.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                .map(str::to_owned)
        };
        out.insert(unquote(k)?, unquote(v)?);
    }
    Some(out)
}

fn bool_text(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "t" | "on" | "y" | "yes" => Some(true),
        "false" | "0" | "f" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// The caller's volumes after the query's filters, sort, marker, offset and limit; whether a
/// `next` link is due.
fn listed(s: &CinderState, ctx: &AuthContext, version: Microversion, query: &[(String, String)]) -> Result<(Vec<Volume>, bool), Fault> {
    let get = |k: &str| query.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let all_tenants = ctx.is_admin() && get("all_tenants").as_deref().and_then(bool_text).unwrap_or(false);
    let mut volumes = if all_tenants { s.volumes.list_all_projects()? } else { s.volumes.list(ctx)? };
    if let Some(p) = get("project_id").filter(|_| all_tenants) {
        volumes.retain(|v| v.project_id == p);
    }
    if let Some(name) = get("name").or_else(|| get("display_name")) {
        volumes.retain(|v| v.name.as_deref() == Some(name.as_str()));
    }
    if let Some(status) = get("status") {
        volumes.retain(|v| v.status == status);
    }
    if let Some(zone) = get("availability_zone") {
        volumes.retain(|v| v.availability_zone == zone);
    }
    if let Some(b) = get("bootable") {
        // `_check_boolean_filter_value`: strict from 3.2 (`VOLUME_LIST_BOOTABLE`); before,
        // anything but `False`/`false`/`FALSE` is true.
        let wanted = if version >= Microversion(3, 2) {
            bool_text(&b).ok_or_else(|| Fault::invalid_input(format!("'bootable = {b}'")))?
        } else {
            !["False", "false", "FALSE"].contains(&b.as_str())
        };
        volumes.retain(|v| v.bootable == wanted);
    }
    if let Some(m) = get("metadata") {
        // `ast.literal_eval`; a value that is no dict is kept as a string, which no volume's
        // metadata matches.
        match python_dict(&m) {
            Some(wanted) => volumes.retain(|v| wanted.iter().all(|(k, val)| v.metadata.get(k) == Some(val))),
            None => volumes.clear(),
        }
    }
    // Sorting: `sort=key:dir,...` or `sort_key`/`sort_dir`; the default newest first.
    let (key, dir) = match (get("sort"), get("sort_key")) {
        (Some(sort), _) => {
            let first = sort.split(',').next().unwrap_or_default().to_owned();
            let (k, d) = first.split_once(':').map(|(k, d)| (k.to_owned(), d.to_owned())).unwrap_or((first, "desc".into()));
            (k, d)
        }
        (None, Some(k)) => (k, get("sort_dir").unwrap_or_else(|| "desc".into())),
        (None, None) => ("created_at".into(), get("sort_dir").unwrap_or_else(|| "desc".into())),
    };
    if dir != "asc" && dir != "desc" {
        return Err(Fault::invalid_input("Unknown sort direction, must be 'desc' or 'asc'"));
    }
    let field = |v: &Volume| -> String {
        match key.as_str() {
            "id" => v.id.clone(),
            "name" | "display_name" => v.name.clone().unwrap_or_default(),
            "status" => v.status.clone(),
            "size" => format!("{:020}", v.size),
            "updated_at" => v.updated_at.clone(),
            _ => v.created_at.clone(),
        }
    };
    volumes.sort_by_key(|v| (field(v), v.id.clone()));
    if dir == "desc" {
        volumes.reverse();
    }
    if let Some(marker) = get("marker") {
        let Some(at) = volumes.iter().position(|v| v.id == marker) else {
            return Err(Fault::not_found(format!("Volume {marker} could not be found.")));
        };
        volumes.drain(..=at);
    }
    let offset = pagination::offset(get("offset").as_deref())?;
    volumes.drain(..offset.min(volumes.len()));
    let limit = pagination::limit(get("limit").as_deref())?;
    volumes.truncate(limit);
    let next = !volumes.is_empty() && volumes.len() >= limit;
    Ok((volumes, next))
}

/// `{"volumes": views}`, with the `volumes_links` next page link when `listed` left some out.
fn volume_page(
    s: &CinderState,
    project_id: &str,
    collection: &str,
    query: &[(String, String)],
    volumes: &[Volume],
    next: bool,
    views: Vec<Value>,
) -> Response {
    let mut body = json!({"volumes": views});
    if next && let Some(last) = volumes.last() {
        body["volumes_links"] = pagination::next_link(&s.public_url, project_id, collection, query, &last.id);
    }
    Json(body).into_response()
}

pub async fn list_volumes(
    Call { s, ctx, version, path: project_id }: Call<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let (volumes, next) = listed(&s, &ctx, version, &query)?;
    let summaries = volumes.iter().map(|v| views::volume_summary(&s.public_url, v)).collect();
    Ok(volume_page(&s, &project_id, "volumes", &query, &volumes, next, summaries))
}

async fn list_volumes_detail(
    Call { s, ctx, version, path: project_id }: Call<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let (volumes, next) = listed(&s, &ctx, version, &query)?;
    let mut out = Vec::new();
    for volume in &volumes {
        out.push(views::volume_detail(&s.public_url, &ctx, version, volume, &s.volumes.facts(volume)?, true));
    }
    Ok(volume_page(&s, &project_id, "volumes/detail", &query, &volumes, next, out))
}

/// `GET volumes/summary` (3.12; the distinct metadata from 3.36).
async fn summary(
    Call { s, ctx, version, path: project_id }: Call<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, Fault> {
    // Below 3.12 the method is not there (`VersionNotFoundForAPIMethod`: a bare 404).
    if version < VOLUME_SUMMARY {
        return Err(Fault::no_resource());
    }
    check_project(&ctx, &project_id)?;
    let all = ctx.is_admin() && query.iter().any(|(k, v)| k == "all_tenants" && bool_text(v).unwrap_or(false));
    let volumes = if all { s.volumes.list_all_projects()? } else { s.volumes.list(&ctx)? };
    let mut summary = json!({"total_count": volumes.len(), "total_size": volumes.iter().map(|v| v.size).sum::<u64>()});
    if version >= Microversion(3, 36) {
        let mut metadata: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for v in &volumes {
            for (k, val) in &v.metadata {
                let values = metadata.entry(k.clone()).or_default();
                if !values.contains(val) {
                    values.push(val.clone());
                }
            }
        }
        summary["metadata"] = json!(metadata);
    }
    Ok(Json(json!({"volume-summary": summary})).into_response())
}

/// The `volume_metadata` schemas: `{"metadata": {...}}` (or `{"meta": {...}}` for one item),
/// string values of at most 255 characters under keys of the extra-specs pattern.
fn metadata_body(body: &Value, wrapper: &str) -> Result<BTreeMap<String, String>, Fault> {
    string_specs(wrapper, sole_member(body, wrapper)?, false)
}

async fn show_metadata(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let volume = s.volumes.get(&ctx, &id)?;
    Ok(Json(json!({"metadata": views::visible_metadata(&volume, &s.volumes.extras(&volume.id)?)})).into_response())
}

async fn create_metadata(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let new = metadata_body(&json_body(&body)?, "metadata")?;
    let all = s.volumes.update_metadata(&ctx, &id, &new, false)?;
    Ok(Json(json!({"metadata": all})).into_response())
}

async fn replace_metadata(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let new = metadata_body(&json_body(&body)?, "metadata")?;
    let all = s.volumes.update_metadata(&ctx, &id, &new, true)?;
    Ok(Json(json!({"metadata": all})).into_response())
}

async fn show_metadata_item(Call { s, ctx, path: (project_id, id, key), .. }: Call<(String, String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let volume = s.volumes.get(&ctx, &id)?;
    match views::visible_metadata(&volume, &s.volumes.extras(&volume.id)?).get(&key) {
        Some(v) => Ok(Json(json!({"meta": {key: v}})).into_response()),
        None => Err(Fault::not_found(format!("Volume {id} has no metadata with key {key}."))),
    }
}

async fn update_metadata_item(
    Call { s, ctx, path: (project_id, id, key), .. }: Call<(String, String, String)>,
    body: Bytes,
) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let item = metadata_body(&body, "meta")?;
    if item.len() > 1 {
        return Err(schema_error("meta", &body["meta"], &jsonschema::too_many_properties(&body["meta"], 1)));
    }
    if !item.contains_key(&key) {
        return Err(Fault::bad_request("Request body and URI mismatch"));
    }
    s.volumes.update_metadata(&ctx, &id, &item, false)?;
    Ok(Json(json!({"meta": item})).into_response())
}

async fn delete_metadata_item(Call { s, ctx, path: (project_id, id, key), .. }: Call<(String, String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    s.volumes.delete_metadata_key(&ctx, &id, &key)?;
    Ok(StatusCode::OK.into_response())
}

/// `PUT volumes/{id}`: name, description, metadata (and their `display_` aliases); 200 with
/// the detail view.
pub async fn update_volume(
    Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>,
    body: Bytes,
) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let fields = member_object(&body, "volume")?;
    jsonschema::check_additional("volume", fields, |k| {
        ["name", "description", "display_name", "display_description", "metadata"].contains(&k)
    })?;
    let text = |k: &str| -> Result<Option<Option<String>>, Fault> {
        match fields.get(k) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(v @ Value::String(t)) if t.trim().chars().count() > 255 => Err(schema_error(k, v, &jsonschema::too_long(v, 255))),
            Some(Value::String(t)) => Ok(Some(Some(t.clone()))),
            Some(other) => Err(schema_error(k, other, &jsonschema::not_of_type(other, &["string", "null"]))),
        }
    };
    let name = text("name")?.or(text("display_name")?);
    let description = text("description")?.or(text("display_description")?);
    let metadata = match fields.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m) => Some(string_specs("metadata", m, false)?),
    };
    let volume = s.volumes.get(&ctx, &id)?;
    if volume.status == "maintenance" {
        return Err(Fault::invalid_volume("The volume cannot be updated during maintenance."));
    }
    let updated = s
        .volumes
        .modify(&volume.id, |v| {
            if let Some(n) = name {
                v.name = n;
            }
            if let Some(d) = description {
                v.description = d;
            }
            if let Some(m) = metadata {
                v.metadata = m;
            }
        })?
        .ok_or_else(|| Fault::not_found(format!("Volume {id} could not be found.")))?;
    let view = views::volume_detail(&s.public_url, &ctx, version, &updated, &s.volumes.facts(&updated)?, false);
    Ok(Json(json!({"volume": view})).into_response())
}
