//! Volume transfers (`cinder.transfer.api`, `api/contrib/volume_transfer.py` at
//! `os-volume-transfer`, `api/v3/volume_transfer.py` at `volume-transfers` from 3.55): the
//! owner offers an `available` volume (it is `awaiting-transfer`) with a one-time auth key;
//! another project accepts it with the key (the volume, its quota usage and ownership move),
//! or the owner deletes the offer (the volume is `available` again). Records live in
//! `cinder_transfers`; the key is kept as a salted SHA-256, as Cinder keeps a salted hash.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::call::Call;
use super::envelope::member;
use super::fault::Fault;
use super::http::{CinderState, check_project, project_json_body, schema_error};
use super::model::{VolumeService, now};
use crate::jsonschema;
use crate::microversion::Microversion;
use crate::store::StoreError;
use crate::wire::AuthContext;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cinder_transfers (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL, body TEXT NOT NULL);
";

/// `mv.TRANSFER_WITH_SNAPSHOTS`, `mv.TRANSFER_WITH_HISTORY`.
const WITH_SNAPSHOTS: Microversion = Microversion(3, 55);
const WITH_HISTORY: Microversion = Microversion(3, 57);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Transfer {
    id: String,
    volume_id: String,
    name: Option<String>,
    salt: String,
    crypt_hash: String,
    created_at: String,
    source_project_id: String,
    no_snapshots: bool,
}

fn hash(salt: &str, key: &str) -> String {
    let digest = sha2::Sha256::digest(format!("{salt}{key}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Transfer {id} could not be found."))
}

impl VolumeService {
    fn transfers(&self) -> Result<Vec<Transfer>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM cinder_transfers ORDER BY seq")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|b| b.ok()).filter_map(|b| serde_json::from_str(&b).ok()).collect())
        })
    }

    fn transfer(&self, id: &str) -> Result<Transfer, Fault> {
        self.transfers()?.into_iter().find(|t| t.id == id).ok_or_else(|| not_found(id))
    }

    fn drop_transfer(&self, id: &str) -> Result<(), StoreError> {
        self.store.with(|c| c.execute("DELETE FROM cinder_transfers WHERE id = ?1", params![id]).map(|_| ()))
    }
}

pub fn routes() -> Router<CinderState> {
    let mut router = Router::new();
    for base in ["os-volume-transfer", "volume-transfers"] {
        router = router
            .route(&format!("/v3/{{project_id}}/{base}"), get(list).post(create))
            .route(&format!("/v3/{{project_id}}/{base}/detail"), get(list_detail))
            .route(&format!("/v3/{{project_id}}/{base}/{{id}}"), get(show).delete(delete))
            .route(&format!("/v3/{{project_id}}/{base}/{{id}}/accept"), post(accept));
    }
    router
}

fn links(s: &CinderState, project_id: &str, id: &str) -> Value {
    let root = s.public_url.trim_end_matches('/');
    json!([
        {"href": format!("{root}/v3/{project_id}/os-volume-transfer/{id}"), "rel": "self"},
        {"href": format!("{root}/{project_id}/os-volume-transfer/{id}"), "rel": "bookmark"},
    ])
}

fn summary(s: &CinderState, t: &Transfer) -> Value {
    json!({"id": t.id, "volume_id": t.volume_id, "name": t.name, "links": links(s, &t.source_project_id, &t.id)})
}

fn detail(s: &CinderState, version: Microversion, t: &Transfer) -> Value {
    let mut v = json!({"id": t.id, "created_at": t.created_at, "name": t.name, "volume_id": t.volume_id, "links": links(s, &t.source_project_id, &t.id)});
    if version >= WITH_SNAPSHOTS {
        v["no_snapshots"] = json!(t.no_snapshots);
    }
    if version >= WITH_HISTORY {
        v["destination_project_id"] = Value::Null;
        v["source_project_id"] = json!(t.source_project_id);
        v["accepted"] = json!(false);
    }
    v
}

/// The `volume_transfer.create` schema (`no_snapshots` from 3.55 on `volume-transfers`).
async fn create(Call { s, ctx, version, path: project_id }: Call<String>, body: Bytes) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let (_, inner) = member(&body, "transfer")?;
    let Some(fields) = inner.as_object() else { return Err(schema_error("transfer", inner, &jsonschema::not_of_type(inner, &["object"]))) };
    jsonschema::check_additional("transfer", fields, |k| ["volume_id", "name", "no_snapshots"].contains(&k))?;
    let volume_id = match fields.get("volume_id") {
        None => return Err(schema_error("transfer", inner, &jsonschema::required("volume_id"))),
        Some(Value::String(v)) if uuid::Uuid::parse_str(v).is_ok() => v.clone(),
        Some(other) => return Err(schema_error("volume_id", other, &jsonschema::not_a(other, "uuid"))),
    };
    let name = match fields.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(n.trim().to_owned()),
        Some(other) => return Err(schema_error("name", other, &jsonschema::not_of_type(other, &["string", "null"]))),
    };
    let no_snapshots = fields.get("no_snapshots").and_then(Value::as_bool).unwrap_or(false);
    let volume = s.volumes.get(&ctx, &volume_id)?;
    if s.volumes.transition(&volume.id, &["available"], "awaiting-transfer")?.is_none() {
        return Err(Fault::invalid_volume("status must be available"));
    }
    let key: String = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
    let salt: String = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
    let transfer = Transfer {
        id: uuid::Uuid::new_v4().to_string(),
        volume_id: volume.id.clone(),
        name,
        crypt_hash: hash(&salt, &key),
        salt,
        created_at: now(),
        source_project_id: volume.project_id.clone(),
        no_snapshots,
    };
    let stored = serde_json::to_string(&transfer).map_err(|_| Fault::internal())?;
    s.volumes.store.with(|c| {
        c.execute(
            "INSERT INTO cinder_transfers (id, project_id, body) VALUES (?1, ?2, ?3)",
            params![transfer.id, transfer.source_project_id, stored],
        )
        .map(|_| ())
    })?;
    let mut view = detail(&s, version, &transfer);
    view["auth_key"] = json!(key);
    Ok((StatusCode::ACCEPTED, Json(json!({"transfer": view}))).into_response())
}

/// The caller's project's transfers (all of them for an admin).
fn visible(s: &CinderState, ctx: &AuthContext) -> Result<Vec<Transfer>, Fault> {
    Ok(s.volumes.transfers()?.into_iter().filter(|t| t.source_project_id == ctx.project_id || ctx.is_admin()).collect())
}

async fn list(Call { s, ctx, path: project_id, .. }: Call<String>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let list: Vec<Value> = visible(&s, &ctx)?.iter().map(|t| summary(&s, t)).collect();
    Ok(Json(json!({"transfers": list})).into_response())
}

async fn list_detail(Call { s, ctx, version, path: project_id }: Call<String>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let list: Vec<Value> = visible(&s, &ctx)?.iter().map(|t| detail(&s, version, t)).collect();
    Ok(Json(json!({"transfers": list})).into_response())
}

async fn show(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let t = visible(&s, &ctx)?.into_iter().find(|t| t.id == id).ok_or_else(|| not_found(&id))?;
    Ok(Json(json!({"transfer": detail(&s, version, &t)})).into_response())
}

async fn delete(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let t = visible(&s, &ctx)?.into_iter().find(|t| t.id == id).ok_or_else(|| not_found(&id))?;
    s.volumes.transition(&t.volume_id, &["awaiting-transfer"], "available")?;
    s.volumes.drop_transfer(&t.id)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST .../{id}/accept` `{"accept": {"auth_key": ...}}`: 202 with the transfer's summary.
async fn accept(Call { s, ctx, path: (project_id, id), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let (_, inner) = member(&body, "accept")?;
    let key = match inner.get("auth_key") {
        Some(Value::String(k)) => k.clone(),
        Some(other) => return Err(schema_error("auth_key", other, &jsonschema::not_of_type(other, &["string"]))),
        None => return Err(schema_error("accept", inner, &jsonschema::required("auth_key"))),
    };
    let t = s.volumes.transfer(&id)?;
    if hash(&t.salt, &key) != t.crypt_hash {
        return Err(Fault::bad_request(format!("Invalid auth key: Attempt to transfer {id} with invalid auth key.")));
    }
    let Some(volume) = s.volumes.get_any(&t.volume_id)? else { return Err(not_found(&id)) };
    s.volumes.check_volume_quota(&ctx.project_id, &volume.volume_type, volume.size, true)?;
    s.volumes.change_owner(&volume.id, &ctx.project_id, &ctx.user_id)?;
    s.volumes.drop_transfer(&t.id)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"transfer": summary(&s, &t)}))).into_response())
}
