//! The `os-volume_upload_image` action (`volume_actions._volume_upload_image`: a Glance image
//! filled from the volume by `flow`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sigstack_client::image::{self, NewImage};

use super::fault::Fault;
use super::flow::{self, UploadToImage};
use super::http::{CinderState, schema_error};
use super::model::now;
use super::views;
use crate::jsonschema;
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// `os-volume_upload_image`: a new Glance image (unsigned: the reserved namespaces are
/// dropped) filled from the volume by a background task.
pub async fn upload_image(s: &CinderState, ctx: &AuthContext, version: Microversion, id: &str, args: &Value) -> Result<Response, Fault> {
    let field = "os-volume_upload_image";
    if !args.is_object() {
        return Err(schema_error(field, args, &format!("{args} is not of type 'object'")));
    }
    let image_name = match args.get("image_name") {
        Some(Value::String(n)) if !n.is_empty() => n.clone(),
        Some(other @ Value::String(_)) => return Err(schema_error("image_name", other, "'' is too short")),
        Some(other) => return Err(schema_error("image_name", other, &format!("{other} is not of type 'string'"))),
        None => return Err(schema_error(field, args, &jsonschema::required("image_name"))),
    };
    let text = |k: &str, default: &str| args.get(k).and_then(Value::as_str).unwrap_or(default).to_owned();
    let disk_format = text("disk_format", "raw");
    let container_format = text("container_format", "bare");
    let force = match args.get("force") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(v)) => v.eq_ignore_ascii_case("true") || v == "1" || v.eq_ignore_ascii_case("yes"),
        _ => false,
    };
    let seen = s.volumes.get(ctx, id)?;
    let from: &[&str] = if force { &["available", "in-use"] } else { &["available"] };
    let Some(volume) = s.volumes.transition(&seen.id, from, "uploading")? else {
        let current = s.volumes.get(ctx, id)?;
        return Err(Fault::invalid_volume(format!(
            "Volume {} status must be available or in-use, but current status is: {}.",
            current.id, current.status
        )));
    };
    let visibility = if version >= Microversion(3, 1) { text("visibility", "private") } else { "private".into() };
    let protected = version >= Microversion(3, 1) && args.get("protected").and_then(Value::as_bool).unwrap_or(false);
    let properties = flow::upload_properties(&s.volumes.glance_metadata(&volume.id)?);
    let new_image = NewImage {
        name: Some(image_name.clone()),
        container_format: Some(container_format.clone()),
        disk_format: Some(disk_format.clone()),
        visibility: Some(visibility.clone()),
        protected: Some(protected),
        properties,
        ..NewImage::default()
    };
    let session = ctx.session(s.volumes.http().clone());
    // Glance's own refusal (a bad disk format, a forbidden visibility) is passed on with its
    // status and explanation; anything else is cinder's 500. Either way the volume goes back
    // to the status it had.
    let created = match image::create_image(&session, &new_image).await {
        Ok(created) => created,
        Err(e) => {
            s.volumes.set_status(&volume.id, &volume.status)?;
            return Err(match &e {
                sigstack_client::Error::Http { status, message, .. } if (400..500).contains(status) => {
                    Fault::new(StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST), message.clone())
                }
                _ => Fault::internal_because(format!("creating the image in Glance: {e}")),
            });
        }
    };
    let job = UploadToImage {
        volume_id: volume.id.clone(),
        image_id: created.id.clone(),
        ctx: ctx.clone(),
        previous_status: volume.status.clone(),
        disk_format: disk_format.clone(),
    };
    tokio::spawn(flow::upload_to_image(s.volumes.clone(), job));
    let mut answer = json!({
        "id": volume.id,
        "updated_at": now(),
        "status": "uploading",
        "display_description": volume.description,
        "size": volume.size,
        "volume_type": s.volumes.volume_type(&volume.volume_type)?.map(|t| views::type_view(&t)),
        "image_id": created.id,
        "container_format": container_format,
        "disk_format": disk_format,
        "image_name": image_name,
    });
    if version >= Microversion(3, 1)
        && let Some(map) = answer.as_object_mut()
    {
        map.insert("protected".into(), json!(protected));
        map.insert("visibility".into(), json!(visibility));
    }
    Ok((StatusCode::ACCEPTED, Json(json!({"os-volume_upload_image": answer}))).into_response())
}
