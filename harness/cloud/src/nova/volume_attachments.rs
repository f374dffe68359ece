//! `os-volume_attachments` (`nova/api/openstack/compute/volume_attachments.py`): list, show,
//! attach and detach (202). Views by microversion: `tag` from 2.70, `delete_on_termination`
//! from 2.79, `attachment_id` and `bdm_uuid` instead of `id` (list and show) from 2.89. An
//! attach answers 200 with the attachment once the volume is reserved in Cinder, the compute
//! host finishing asynchronously; from 2.101 it answers 202 without a body as soon as the API's
//! own checks pass, and nova-conductor reserves the volume afterwards (a refusal then only
//! undoes the mapping). The list's query schema closes at 2.75.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::bdm::ReserveError;
use super::fault::NovaFault;
use super::http::{NovaState, body_json, find_server};
use super::model::{self, BlockDevice, ComputeService, Server};
use super::query::{self, Params, QuerySchema, ValueSchema};
use super::{policy, schema, volume_ops};
use crate::microversion::Microversion;
use crate::wire::AuthContext;

pub fn routes() -> Router<NovaState> {
    Router::new()
        .route("/v2.1/servers/{id}/os-volume_attachments", get(index).post(create))
        .route("/v2.1/servers/{id}/os-volume_attachments/{volume_id}", get(show).delete(delete))
}

/// `vm_states` `attach_volume` and `detach_volume` accept (`check_instance_state`).
const ATTACHABLE: [&str; 7] = [model::ACTIVE, "paused", "stopped", "resized", "soft-delete", "shelved", "shelved_offloaded"];

/// `check_instance_state(vm_state=..., task_state=(None,))` and
/// `raise_http_conflict_for_instance_invalid_state`: the vm_state is checked first.
fn check_state(server: &Server, method: &str) -> Result<(), NovaFault> {
    let (attr, state) = if !ATTACHABLE.contains(&server.vm_state.as_str()) {
        ("vm_state", server.vm_state.clone())
    } else if let Some(task) = &server.task_state {
        ("task_state", task.clone())
    } else {
        return Ok(());
    };
    Err(NovaFault::conflict(format!("Cannot '{method}' instance {} while it is in {attr} {state}", server.id)))
}

/// `_translate_attachment_detail_view`.
fn view(server_id: &str, bdm: &BlockDevice, v: Microversion) -> Value {
    let volume_id = bdm.volume_id.clone().unwrap_or_default();
    let mut d = json!({"volumeId": volume_id, "serverId": server_id});
    if v < Microversion(2, 89) {
        d["id"] = json!(volume_id);
    }
    if let Some(device) = bdm.device() {
        d["device"] = json!(device);
    }
    if v >= Microversion(2, 70) {
        d["tag"] = json!(bdm.tag);
    }
    if v >= Microversion(2, 79) {
        d["delete_on_termination"] = json!(bdm.delete_on_termination);
    }
    if v >= Microversion(2, 89) {
        d["attachment_id"] = json!(bdm.attachment_id);
        d["bdm_uuid"] = json!(bdm.bdm_uuid);
    }
    d
}

fn not_attached(server_id: &str, volume_id: &str) -> NovaFault {
    NovaFault::not_found(format!("Instance {server_id} is not attached to volume {volume_id}"))
}

/// `index_query` (open) and `index_query_v275` (closed): `limit` and `offset`.
fn index_query(v: Microversion) -> QuerySchema {
    const PROPERTIES: [(&str, ValueSchema); 2] = [("limit", ValueSchema::NonNegativeInteger), ("offset", ValueSchema::NonNegativeInteger)];
    QuerySchema { properties: &PROPERTIES, additional: v < Microversion(2, 75) }
}

/// `common.limited`: `offset` and `limit` (at most 1000) from the query.
fn limited<T>(items: Vec<T>, query: &Params) -> Result<Vec<T>, NovaFault> {
    let number = |name: &str| -> Result<Option<usize>, NovaFault> {
        match query::last(query, name) {
            None => Ok(None),
            Some(text) => text.parse::<usize>().map(Some).map_err(|_| NovaFault::bad_request(format!("{name} param must be an integer"))),
        }
    };
    let offset = number("offset")?.unwrap_or(0);
    let limit = number("limit")?.unwrap_or(1000).min(1000);
    Ok(items.into_iter().skip(offset).take(limit).collect())
}

async fn index(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, NovaFault> {
    let query = query::validate(&params, &index_query(v))?;
    let server = find_server(&s.compute, &ctx, &id, false)?;
    policy::enforce(&s.compute.deployment(), &ctx, policy::ATTACHMENTS_INDEX)?;
    let bdms = limited(server.block_devices.clone(), &query)?;
    let items: Vec<Value> = bdms.iter().filter(|b| b.volume_id.is_some()).map(|b| view(&server.id, b, v)).collect();
    Ok(Json(json!({"volumeAttachments": items})))
}

async fn show(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path((id, volume_id)): Path<(String, String)>,
) -> Result<Json<Value>, NovaFault> {
    let server = find_server(&s.compute, &ctx, &id, false)?;
    policy::enforce(&s.compute.deployment(), &ctx, policy::ATTACHMENTS_SHOW)?;
    let bdm = server
        .block_devices
        .iter()
        .find(|b| b.volume_id.as_deref() == Some(volume_id.as_str()))
        .ok_or_else(|| not_attached(&id, &volume_id))?;
    Ok(Json(json!({"volumeAttachment": view(&server.id, bdm, v)})))
}

/// Attach: validate, find the server, check its state, read the volume from Cinder, reserve a
/// device on the compute host (`reserve_block_device_name`), reserve the volume in Cinder
/// (`attachment_create`), and leave the rest to the compute host.
async fn create(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, NovaFault> {
    let request = schema::attach(&body_json(&body)?, v)?;
    let server = find_server(&s.compute, &ctx, &id, false)?;
    policy::enforce(&s.compute.deployment(), &ctx, policy::ATTACHMENTS_CREATE)?;
    check_state(&server, "attach_volume")?;
    let session = ctx.session(s.compute.http.clone());
    let volume = volume_ops::get_volume(&session, &request.volume_id).await?;
    let gone = || NovaFault::not_found(format!("Instance {id} could not be found."));
    let bdm = match s.compute.reserve_volume_device(&server.id, &volume.id, request.tag.clone(), request.delete_on_termination)? {
        None => return Err(gone()),
        Some(Err(ReserveError::AlreadyAttached)) => {
            return Err(NovaFault::bad_request(format!("Invalid volume: volume {} already attached", volume.id)));
        }
        Some(Ok(bdm)) => bdm,
    };
    if v >= Microversion(2, 101) {
        // `needs_device_returned` is off: the API casts to the conductor and answers with
        // webob's bare 202.
        tokio::spawn(reserve_and_attach(s.compute.clone(), ctx, server.id.clone(), volume.id.clone()));
        return Ok((StatusCode::ACCEPTED, [(header::CONTENT_TYPE, "text/html; charset=UTF-8")]).into_response());
    }
    let attachment = match volume_ops::attachment_create(&session, &volume.id, &server.id).await {
        Ok(a) => a,
        Err(fault) => {
            // `_attach_volume`: the mapping is destroyed when the reservation fails.
            s.compute.remove_volume_device(&server.id, &volume.id)?;
            return Err(fault);
        }
    };
    s.compute.set_attachment_id(&server.id, &volume.id, &attachment.id)?;
    tokio::spawn(volume_ops::attach(s.compute.clone(), ctx, server.id.clone(), volume.id.clone()));
    let mut answer = json!({"id": volume.id, "serverId": server.id, "volumeId": volume.id, "device": bdm.device_name});
    if v >= Microversion(2, 70) {
        answer["tag"] = json!(request.tag);
    }
    if v >= Microversion(2, 79) {
        answer["delete_on_termination"] = json!(request.delete_on_termination);
    }
    Ok(Json(json!({"volumeAttachment": answer})).into_response())
}

/// nova-conductor's `attach_volume` after a 2.101 attach: reserves the volume in Cinder, then
/// the compute host attaches it. A refused reservation destroys the mapping; only the log
/// tells why.
async fn reserve_and_attach(compute: Arc<ComputeService>, ctx: AuthContext, server_id: String, volume_id: String) {
    let session = ctx.session(compute.http.clone());
    match volume_ops::attachment_create(&session, &volume_id, &server_id).await {
        Ok(attachment) => {
            if compute.set_attachment_id(&server_id, &volume_id, &attachment.id).is_ok() {
                volume_ops::attach(compute, ctx, server_id, volume_id).await;
            }
        }
        Err(fault) => {
            let _ = compute.remove_volume_device(&server_id, &volume_id);
            crate::logging::cause(format!("attaching volume {volume_id} to server {server_id}: {}", fault.message));
        }
    }
}

/// Detach: the volume must exist and be mapped, not as the root disk; the server's state must
/// allow it; Cinder moves the volume to `detaching`, and the compute host does the rest.
async fn delete(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Path((id, volume_id)): Path<(String, String)>,
) -> Result<Response, NovaFault> {
    let server = find_server(&s.compute, &ctx, &id, false)?;
    policy::enforce(&s.compute.deployment(), &ctx, policy::ATTACHMENTS_DELETE)?;
    let session = ctx.session(s.compute.http.clone());
    let volume = volume_ops::get_volume(&session, &volume_id).await?;
    let bdm = server
        .block_devices
        .iter()
        .find(|b| b.volume_id.as_deref() == Some(volume.id.as_str()))
        .cloned()
        .ok_or_else(|| not_attached(&id, &volume_id))?;
    if bdm.is_root() {
        return Err(NovaFault::bad_request("Cannot detach a root device volume"));
    }
    check_state(&server, "detach_volume")?;
    volume_ops::begin_detach(&session, &volume).await?;
    tokio::spawn(volume_ops::detach(s.compute.clone(), ctx, server.id.clone(), volume.id.clone(), bdm.attachment_id.clone()));
    Ok(StatusCode::ACCEPTED.into_response())
}
