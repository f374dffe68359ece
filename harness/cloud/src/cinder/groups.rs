//! Generic volume groups (`api/v3/groups.py`, from 3.13; `cinder.group.api`): a group of a
//! group type holding volumes of its volume types (`cinder_groups`; a volume's group is in
//! its extras). Create (then `available`), show, list, update (name, description, volumes
//! in and out), delete (`delete-volumes` to take the volumes along), create from another
//! group (3.14: its volumes cloned), and the admin's status reset (3.20).

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::call::Call;
use super::envelope::member_object;
use super::fault::Fault;
use super::http::{CinderState, action_json, check_project, json_body, no_such_action, project_json_body, schema_error};
use super::http_types::authorize;
use super::model::{Volume, VolumeService, now};
use crate::jsonschema;
use crate::microversion::Microversion;
use crate::store::StoreError;
use crate::wire::AuthContext;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cinder_groups (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL, body TEXT NOT NULL);
";

/// `mv.GROUP_VOLUME`, `mv.GROUP_SNAPSHOTS`, `mv.GROUP_VOLUME_RESET_STATUS`, `mv.GROUP_REPLICATION`.
const GROUP_VOLUME: Microversion = Microversion(3, 13);
const GROUP_SNAPSHOTS: Microversion = Microversion(3, 14);
const GROUP_RESET_STATUS: Microversion = Microversion(3, 20);
const GROUP_REPLICATION: Microversion = Microversion(3, 38);
/// `fields.GroupStatus.ALL`.
const STATUSES: [&str; 8] = ["error", "available", "creating", "deleting", "deleted", "updating", "in-use", "error_deleting"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub project_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: String,
    pub availability_zone: String,
    pub group_type_id: String,
    pub volume_types: Vec<String>,
    pub created_at: String,
    pub source_group_id: Option<String>,
}

fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Group {id} could not be found."))
}

impl VolumeService {
    fn all_groups(&self) -> Result<Vec<Group>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM cinder_groups ORDER BY seq")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|b| b.ok()).filter_map(|b| serde_json::from_str(&b).ok()).collect())
        })
    }

    /// A group the caller may see (its project's, or any for an admin).
    pub fn group(&self, ctx: &AuthContext, id: &str) -> Result<Group, Fault> {
        self.all_groups()?
            .into_iter()
            .find(|g| g.id == id && (g.project_id == ctx.project_id || ctx.is_admin()))
            .ok_or_else(|| not_found(id))
    }

    pub fn project_groups(&self, project_id: &str) -> Result<Vec<Group>, StoreError> {
        Ok(self.all_groups()?.into_iter().filter(|g| g.project_id == project_id).collect())
    }

    fn save_group(&self, g: &Group) -> Result<(), StoreError> {
        let body = serde_json::to_string(g).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        self.store.with(|c| {
            c.execute(
                "INSERT INTO cinder_groups (id, project_id, body) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                params![g.id, g.project_id, body],
            )
            .map(|_| ())
        })
    }

    fn set_group_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        if let Some(mut g) = self.all_groups()?.into_iter().find(|g| g.id == id) {
            g.status = status.to_owned();
            self.save_group(&g)?;
        }
        Ok(())
    }

    /// The volumes in a group.
    pub fn group_volumes(&self, group_id: &str) -> Result<Vec<Volume>, StoreError> {
        let mut out = Vec::new();
        for v in self.all()? {
            if self.extras(&v.id)?.group_id.as_deref() == Some(group_id) {
                out.push(v);
            }
        }
        Ok(out)
    }
}

pub fn routes() -> Router<CinderState> {
    Router::new()
        .route("/v3/{project_id}/groups", get(list).post(create))
        .route("/v3/{project_id}/groups/detail", get(list_detail))
        .route("/v3/{project_id}/groups/action", post(create_from_src))
        .route("/v3/{project_id}/groups/{id}", get(show).put(update))
        .route("/v3/{project_id}/groups/{id}/action", post(group_action))
}

fn allowed(version: Microversion, at: Microversion) -> Result<(), Fault> {
    if version >= at { Ok(()) } else { Err(Fault::no_resource()) }
}

fn detail(ctx: &AuthContext, version: Microversion, g: &Group) -> Value {
    let mut v = json!({
        "id": g.id, "status": g.status, "availability_zone": g.availability_zone, "created_at": g.created_at,
        "name": g.name, "description": g.description, "group_type": g.group_type_id, "volume_types": g.volume_types,
    });
    if version >= GROUP_SNAPSHOTS {
        v["group_snapshot_id"] = Value::Null;
        v["source_group_id"] = json!(g.source_group_id);
    }
    if version >= GROUP_REPLICATION {
        v["replication_status"] = json!("disabled");
    }
    if version >= Microversion(3, 58) && ctx.is_admin() {
        v["project_id"] = json!(g.project_id);
    }
    v
}

fn text(map: &Map<String, Value>, key: &str) -> Result<Option<String>, Fault> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(schema_error(key, other, &jsonschema::not_of_type(other, &["string", "null"]))),
    }
}

/// A new group, `creating` until the volume service has made it (at once here).
fn start_group(s: &CinderState, g: &Group) -> Result<(), Fault> {
    let used = s.volumes.project_groups(&g.project_id)?.len() as i64;
    let limit = s.volumes.project_quotas(&g.project_id)?.get("groups").copied().unwrap_or(-1);
    if limit >= 0 && used + 1 > limit {
        return Err(Fault::new(StatusCode::PAYLOAD_TOO_LARGE, format!("Maximum number of groups allowed ({limit}) exceeded")));
    }
    s.volumes.save_group(g)?;
    let (volumes, id) = (s.volumes.clone(), g.id.clone());
    tokio::spawn(async move {
        let _ = volumes.set_group_status(&id, "available");
    });
    Ok(())
}

async fn create(Call { s, ctx, version, path: project_id }: Call<String>, body: Bytes) -> Result<Response, Fault> {
    allowed(version, GROUP_VOLUME)?;
    let body = project_json_body(&ctx, &project_id, &body)?;
    let g = member_object(&body, "group")?;
    jsonschema::check_additional("group", g, |k| ["name", "description", "group_type", "volume_types", "availability_zone"].contains(&k))?;
    jsonschema::check_required("group", g, &["group_type", "volume_types"])?;
    let group_type = text(g, "group_type")?.unwrap_or_default();
    let types: Vec<String> = match &g["volume_types"] {
        Value::Array(items) if !items.is_empty() => items.iter().map(|t| t.as_str().unwrap_or_default().to_owned()).collect(),
        other => return Err(schema_error("volume_types", other, &jsonschema::not_of_type(other, &["array"]))),
    };
    let gt = s.volumes.group_type(&group_type)?;
    let mut type_ids = Vec::new();
    for t in &types {
        let found = s.volumes.volume_type(t)?.ok_or_else(|| super::types::type_not_found(t))?;
        type_ids.push(found.id);
    }
    let group = Group {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: ctx.project_id.clone(),
        name: text(g, "name")?,
        description: text(g, "description")?,
        status: "creating".into(),
        availability_zone: text(g, "availability_zone")?.unwrap_or_else(|| "nova".into()),
        group_type_id: gt.id,
        volume_types: type_ids,
        created_at: now(),
        source_group_id: None,
    };
    start_group(&s, &group)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"group": {"id": group.id, "name": group.name}}))).into_response())
}

/// `POST groups/action` `{"create-from-src": {"source_group_id": ...}}` (3.14): the new group
/// takes the source's types, and a clone of each of its volumes.
async fn create_from_src(Call { s, ctx, version, path: project_id }: Call<String>, body: Bytes) -> Result<Response, Fault> {
    let (action, _) = action_json(&body)?;
    allowed(version, GROUP_SNAPSHOTS)?;
    check_project(&ctx, &project_id)?;
    if action != "create-from-src" {
        return Err(no_such_action(&action));
    }
    let body = json_body(&body)?;
    let src = member_object(&body, "create-from-src")?;
    let source_id = text(src, "source_group_id")?;
    if let Some(snapshot) = text(src, "group_snapshot_id")? {
        return Err(Fault::not_found(format!("GroupSnapshot {snapshot} could not be found.")));
    }
    let Some(source_id) = source_id else {
        return Err(Fault::bad_request("Either 'group_snapshot_id' or 'source_group_id' must be provided to create group from source."));
    };
    let source = s.volumes.group(&ctx, &source_id)?;
    let group = Group {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: ctx.project_id.clone(),
        name: text(src, "name")?,
        description: text(src, "description")?,
        status: "creating".into(),
        availability_zone: source.availability_zone.clone(),
        group_type_id: source.group_type_id.clone(),
        volume_types: source.volume_types.clone(),
        created_at: now(),
        source_group_id: Some(source.id.clone()),
    };
    start_group(&s, &group)?;
    for v in s.volumes.group_volumes(&source.id)? {
        s.volumes.check_volume_quota(&ctx.project_id, &v.volume_type, v.size, true)?;
        let created = now();
        let clone = Volume {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: ctx.project_id.clone(),
            user_id: ctx.user_id.clone(),
            status: "creating".into(),
            source_volid: Some(v.id.clone()),
            created_at: created.clone(),
            updated_at: created,
            ..v.clone()
        };
        s.volumes.insert(&clone)?;
        s.volumes.modify_extras(&clone.id, |e| e.group_id = Some(group.id.clone()))?;
        tokio::spawn(super::http::create_clone(Arc::clone(&s.volumes), clone.id, v.id.clone(), v.size));
    }
    Ok((StatusCode::ACCEPTED, Json(json!({"group": {"id": group.id, "name": group.name}}))).into_response())
}

async fn show(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    allowed(version, GROUP_VOLUME)?;
    check_project(&ctx, &project_id)?;
    let g = s.volumes.group(&ctx, &id)?;
    Ok(Json(json!({"group": detail(&ctx, version, &g)})).into_response())
}

async fn list(Call { s, ctx, version, path: project_id }: Call<String>) -> Result<Response, Fault> {
    allowed(version, GROUP_VOLUME)?;
    check_project(&ctx, &project_id)?;
    let list: Vec<Value> = s.volumes.project_groups(&ctx.project_id)?.iter().map(|g| json!({"id": g.id, "name": g.name})).collect();
    Ok(Json(json!({"groups": list})).into_response())
}

async fn list_detail(Call { s, ctx, version, path: project_id }: Call<String>) -> Result<Response, Fault> {
    allowed(version, GROUP_VOLUME)?;
    check_project(&ctx, &project_id)?;
    let list: Vec<Value> = s.volumes.project_groups(&ctx.project_id)?.iter().map(|g| detail(&ctx, version, g)).collect();
    Ok(Json(json!({"groups": list})).into_response())
}

/// The comma-separated volume ids of `add_volumes`/`remove_volumes`.
fn ids(value: Option<String>) -> Vec<String> {
    value.map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
}

/// `PUT groups/{id}`: name, description, volumes in and out; 202.
async fn update(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    allowed(version, GROUP_VOLUME)?;
    let body = project_json_body(&ctx, &project_id, &body)?;
    let g = member_object(&body, "group")?;
    jsonschema::check_additional("group", g, |k| ["name", "description", "add_volumes", "remove_volumes"].contains(&k))?;
    let (name, description) = (text(g, "name")?, text(g, "description")?);
    let (add, remove) = (ids(text(g, "add_volumes")?), ids(text(g, "remove_volumes")?));
    if name.is_none() && description.is_none() && add.is_empty() && remove.is_empty() {
        return Err(Fault::bad_request("Name, description, add_volumes, and remove_volumes can not be all empty in the request body."));
    }
    let mut group = s.volumes.group(&ctx, &id)?;
    if group.status != "available" {
        return Err(Fault::bad_request(format!("Invalid group: Group status must be available, but current status is: {}.", group.status)));
    }
    for vid in &add {
        let v = s.volumes.get(&ctx, vid)?;
        let type_id = s.volumes.volume_type(&v.volume_type)?.map(|t| t.id).unwrap_or_default();
        if !group.volume_types.contains(&type_id) {
            return Err(Fault::bad_request(format!(
                "Invalid volume: Cannot add volume {vid} to group {id} because volume type {type_id} is not supported by the group."
            )));
        }
    }
    for vid in &add {
        s.volumes.modify_extras(vid, |e| e.group_id = Some(group.id.clone()))?;
    }
    for vid in &remove {
        if s.volumes.extras(vid)?.group_id.as_deref() == Some(group.id.as_str()) {
            s.volumes.modify_extras(vid, |e| e.group_id = None)?;
        }
    }
    if let Some(n) = name {
        group.name = Some(n);
    }
    if let Some(d) = description {
        group.description = Some(d);
    }
    s.volumes.save_group(&group)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST groups/{id}/action`: `delete` (3.13), `reset_status` (3.20).
async fn group_action(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    let (action, args) = action_json(&body)?;
    allowed(version, GROUP_VOLUME)?;
    check_project(&ctx, &project_id)?;
    match action.as_str() {
        "delete" => {
            let delete_volumes = match args.get("delete-volumes") {
                None => false,
                Some(v) => super::http_types::boolean("delete-volumes", v)?,
            };
            let group = s.volumes.group(&ctx, &id)?;
            let volumes = s.volumes.group_volumes(&group.id)?;
            if !volumes.is_empty() && !delete_volumes {
                return Err(Fault::bad_request(format!(
                    "Invalid group: Group {id} still contains volumes. The delete-volumes flag is required to delete it."
                )));
            }
            if !["available", "error"].contains(&group.status.as_str()) {
                return Err(Fault::bad_request(format!(
                    "Invalid group: Group status must be available or error, but current status is: {}",
                    group.status
                )));
            }
            for v in volumes {
                s.volumes.remove(&v.id)?;
            }
            s.volumes.store.with(|c| c.execute("DELETE FROM cinder_groups WHERE id = ?1", params![group.id]).map(|_| ()))?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "reset_status" => {
            allowed(version, GROUP_RESET_STATUS)?;
            let status = match args.get("status") {
                Some(Value::String(st)) if STATUSES.contains(&st.to_lowercase().as_str()) => st.to_lowercase(),
                Some(other) => {
                    let choices: Vec<Value> = STATUSES.iter().map(|c| json!(c)).collect();
                    return Err(schema_error("status", other, &jsonschema::not_one_of(other, &choices)));
                }
                None => return Err(schema_error("reset_status", &args, &jsonschema::required("status"))),
            };
            authorize(&ctx, "group:reset_status")?;
            let group = s.volumes.group(&ctx, &id)?;
            s.volumes.set_group_status(&group.id, &status)?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        other => Err(no_such_action(other)),
    }
}
