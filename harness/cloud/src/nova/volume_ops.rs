//! Nova and Cinder around an attached volume: `nova.volume.cinder.API` (every call with the
//! user's token, Cinder errors translated as `translate_volume_exception` does) and the compute
//! host's halves of attach and detach, which run after the API answered.
//!
//! Attach (since Queens, the attachments API): the API reserves the volume
//! (`attachment_create` without a connector); the compute host then connects it
//! (`attachment_update` with its connector and the device), lets the driver attach it, and
//! completes the attachment (`os-complete`), after which Cinder shows the volume `in-use`. A
//! failure deletes the attachment and the mapping. Detach: the API moves the volume to
//! `detaching` (`os-begin_detaching`); the compute host detaches it and deletes the
//! attachment, and the mapping goes.

use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::error::error_message;
use sigstack_client::key_manager;
use sigstack_client::volume::{self, Attachment, Volume};

use super::fault::NovaFault;
use super::model::ComputeService;
use crate::wire::AuthContext;

/// A Cinder error as cinderclient words it: `<message> (HTTP <code>) (Request-ID: <id>)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CinderError {
    pub status: u16,
    pub text: String,
}

/// Sends a request to Cinder; the JSON body (or `null`) on success.
async fn call(request: reqwest::RequestBuilder) -> Result<Value, CinderError> {
    let response = request.send().await.map_err(|e| CinderError { status: 503, text: e.to_string() })?;
    let status = response.status().as_u16();
    let request_id = response.headers().get("x-openstack-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.text().await.unwrap_or_default();
    if status < 400 {
        return Ok(serde_json::from_str(&body).unwrap_or(Value::Null));
    }
    let mut text = format!("{} (HTTP {status})", error_message(&body));
    if let Some(id) = request_id {
        text.push_str(&format!(" (Request-ID: {id})"));
    }
    Err(CinderError { status, text })
}

/// `translate_volume_exception` around a call about `volume_id`: 404 is `VolumeNotFound`, 400
/// `InvalidInput`, 403 `Forbidden`; anything else is Nova's 500.
fn translate(volume_id: &str, e: CinderError) -> NovaFault {
    match e.status {
        404 => NovaFault::not_found(format!("Volume {volume_id} could not be found.")),
        400 => NovaFault::bad_request(format!("Invalid input received: {}", e.text)),
        403 => NovaFault::forbidden(e.text),
        _ => NovaFault::internal_because(format!("Cinder, about volume {volume_id}: {}", e.text)),
    }
}

/// `volume_api.get`.
pub async fn get_volume(session: &Session, volume_id: &str) -> Result<Volume, NovaFault> {
    volume::get_volume(session, volume_id).await.map_err(|e| match e.status() {
        Some(404) => NovaFault::not_found(format!("Volume {volume_id} could not be found.")),
        Some(403) => NovaFault::forbidden(e.to_string()),
        _ => NovaFault::internal_because(format!("Cinder, getting volume {volume_id}: {e}")),
    })
}

/// `volume_api.attachment_create(context, volume_id, instance.uuid)`: reserves the volume.
pub async fn attachment_create(session: &Session, volume_id: &str, instance: &str) -> Result<Attachment, NovaFault> {
    #[derive(Deserialize)]
    struct Body {
        attachment: Attachment,
    }
    let url = format!("{}/attachments", volume::project_url(session).map_err(NovaFault::internal_because)?);
    let body = json!({"attachment": {"volume_uuid": volume_id, "instance_uuid": instance, "connector": null}});
    let answer = call(volume::request_at(session, Method::POST, &url, volume::ATTACHMENTS_MICROVERSION).json(&body))
        .await
        .map_err(|e| translate(volume_id, e))?;
    serde_json::from_value::<Body>(answer)
        .map(|b| b.attachment)
        .map_err(|e| NovaFault::internal_because(format!("Cinder's attachment answer: {e}")))
}

/// `_check_and_begin_detach`: `check_detach`, then `begin_detaching`. An `InvalidInput` from
/// Cinder becomes `InvalidVolume` (`_detach_volume`).
pub async fn begin_detach(session: &Session, volume: &Volume) -> Result<(), NovaFault> {
    if volume.status == "available" {
        return Err(NovaFault::bad_request(format!("Invalid volume: volume {} already detached", volume.id)));
    }
    let url = format!("{}/volumes/{}/action", volume::project_url(session).map_err(NovaFault::internal_because)?, volume.id);
    match call(volume::request(session, Method::POST, &url).json(&json!({"os-begin_detaching": {}}))).await {
        Ok(_) => Ok(()),
        Err(e) => Err(match translate(&volume.id, e) {
            f if f.status == axum::http::StatusCode::BAD_REQUEST => NovaFault::bad_request(format!("Invalid volume: {}", f.message)),
            f => f,
        }),
    }
}

/// The connector of a compute host (`os-brick`'s `get_connector_properties`).
fn connector(host: &str, mountpoint: &str) -> Value {
    json!({
        "platform": "x86_64", "os_type": "linux", "ip": "127.0.0.1", "host": host, "multipath": false,
        "initiator": format!("iqn.2004-10.com.ubuntu:01:{host}"), "do_local_attach": false, "mountpoint": mountpoint,
    })
}

/// Attaches a volume on `host` at `device` for a server being built: reserves it first when
/// the API did not (`attachment_id` is `None`), then connects and completes. The attachment's
/// id; on failure the attachment is deleted.
pub async fn connect(
    session: &Session,
    server_id: &str,
    volume_id: &str,
    attachment_id: Option<&str>,
    host: &str,
    device: &str,
) -> Result<String, String> {
    let id = match attachment_id {
        Some(id) => id.to_owned(),
        None => volume::create_attachment(session, volume_id, server_id, None).await.map_err(|e| e.to_string())?.id,
    };
    let connected = async {
        volume::update_attachment(session, &id, &connector(host, device)).await?;
        volume::complete_attachment(session, &id).await
    }
    .await;
    match connected {
        Ok(()) => Ok(id),
        Err(e) => {
            let _ = volume::delete_attachment(session, &id).await;
            Err(e.to_string())
        }
    }
}

/// `LibvirtDriver._attach_encryptor` for a connection Cinder marked `encrypted`: the volume's
/// encryption metadata, then (for a spec with a provider) its key through castellan, whose
/// exception message is the error. The key itself becomes a libvirt secret on the host,
/// which the simulator has no use for.
pub async fn attach_encryptor(session: &Session, volume_id: &str, connection_info: Option<&Value>) -> Result<(), String> {
    let encrypted = connection_info.and_then(|c| c.pointer("/data/encrypted")).and_then(Value::as_bool).unwrap_or(false);
    if !encrypted {
        return Ok(());
    }
    let metadata = volume::get_encryption_metadata(session, volume_id).await.map_err(|e| e.to_string())?;
    let (Some(key_id), Some(_)) = (metadata.encryption_key_id, metadata.provider) else { return Ok(()) };
    key_manager::castellan_get(session, &key_id).await.map(|_| ()).map_err(|e| key_manager::castellan_error(&key_id, &e))
}

/// The compute host's `attach_volume`: connect, attach (with the encryptor), complete; on
/// failure the attachment is deleted and the mapping destroyed.
pub async fn attach(compute: Arc<ComputeService>, ctx: AuthContext, server_id: String, volume_id: String) {
    let session = ctx.session(compute.http.clone());
    let server = compute.get(&server_id).ok().flatten();
    let bdm = server.as_ref().and_then(|s| s.block_devices.iter().find(|b| b.volume_id.as_deref() == Some(volume_id.as_str())).cloned());
    let (Some(server), Some(bdm)) = (server, bdm) else { return };
    let Some(attachment_id) = bdm.attachment_id.clone() else { return };
    let host = server.host.clone().unwrap_or_default();
    let connected = async {
        let attachment = volume::update_attachment(&session, &attachment_id, &connector(&host, &bdm.device().unwrap_or_default()))
            .await
            .map_err(|e| e.to_string())?;
        attach_encryptor(&session, &volume_id, attachment.connection_info.as_ref()).await?;
        volume::complete_attachment(&session, &attachment_id).await.map_err(|e| e.to_string())
    }
    .await;
    let gone = compute.get(&server_id).ok().flatten().is_none();
    if connected.is_err() || gone {
        let _ = volume::delete_attachment(&session, &attachment_id).await;
        let _ = compute.remove_volume_device(&server_id, &volume_id);
    }
}

/// The compute host's `detach_volume`: the driver detaches, the attachment is deleted, the
/// mapping destroyed. If Cinder refuses, the volume rolls back to `in-use` and stays mapped.
pub async fn detach(compute: Arc<ComputeService>, ctx: AuthContext, server_id: String, volume_id: String, attachment_id: Option<String>) {
    let session = ctx.session(compute.http.clone());
    if let Some(id) = &attachment_id
        && volume::delete_attachment(&session, id).await.is_err()
    {
        let _ = volume::volume_action(&session, &volume_id, "os-roll_detaching").await;
        return;
    }
    let _ = compute.remove_volume_device(&server_id, &volume_id);
}

/// What deleting a server does to its volumes (`_shutdown_instance`, `_cleanup_volumes`): each
/// attachment is deleted, and a volume marked `delete_on_termination` is deleted too.
pub async fn release_volumes(compute: &ComputeService, ctx: &AuthContext, server_id: &str) {
    let session = ctx.session(compute.http.clone());
    let Ok(Some(server)) = compute.get(server_id) else { return };
    for bdm in &server.block_devices {
        if let Some(id) = &bdm.attachment_id {
            let _ = volume::delete_attachment(&session, id).await;
        }
        if let (true, Some(volume_id)) = (bdm.delete_on_termination, &bdm.volume_id) {
            let _ = volume::delete_volume(&session, volume_id).await;
        }
    }
}
