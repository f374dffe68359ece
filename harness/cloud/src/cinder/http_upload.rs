//! The `os-volume_upload_image` action (`volume_actions._volume_upload_image`: a Glance image
//! filled from the volume by `flow`) and user messages (`api/v3/messages.py`, from 3.3).

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use sigstack_client::image::{self, NewImage};

use super::call::Call;
use super::fault::Fault;
use super::flow::{self, UploadToImage};
use super::http::{CinderState, check_project, schema_error};
use super::model::{UserMessage, now};
use super::views::{self, MESSAGES_VERSION};
use crate::jsonschema;
use crate::microversion::Microversion;
use crate::wire::AuthContext;

pub fn message_routes() -> Router<CinderState> {
    Router::new()
        .route("/v3/{project_id}/messages", get(list_messages))
        .route("/v3/{project_id}/messages/{id}", get(show_message).delete(delete_message))
}

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

/// User messages exist from 3.3; before, the route is unknown.
fn messages_allowed(version: Microversion) -> Result<(), Fault> {
    if version >= MESSAGES_VERSION { Ok(()) } else { Err(Fault::no_resource()) }
}

/// `resource_filters.json`'s filters for messages, as `message_get_all` matches them.
const MESSAGE_FILTERS: [&str; 5] = ["resource_uuid", "resource_type", "event_id", "request_id", "message_level"];
/// What `get_pagination_params` and `get_sort_params` take out of the query before filtering.
const PAGINATION: [&str; 6] = ["limit", "marker", "offset", "sort", "sort_key", "sort_dir"];

/// The messages' filters (3.5): every other query key, matched exactly. From 3.31 a
/// non-admin's key that is not a configured filter is refused (`reject_invalid_filters`;
/// `all_tenants` is ignored); an admin's key that is not a message column matches nothing.
/// `None`: nothing matches.
fn message_filters(
    ctx: &AuthContext,
    version: Microversion,
    query: &BTreeMap<String, String>,
) -> Result<Option<Vec<(String, String)>>, Fault> {
    if version < Microversion(3, 5) {
        return Ok(Some(Vec::new()));
    }
    let mut filters: BTreeMap<String, String> =
        query.iter().filter(|(k, _)| !PAGINATION.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    if version >= Microversion(3, 31) && !ctx.is_admin() {
        filters.remove("all_tenants");
        let invalid: Vec<&str> = filters.keys().map(String::as_str).filter(|k| !MESSAGE_FILTERS.contains(k)).collect();
        if !invalid.is_empty() {
            return Err(Fault::bad_request(format!("Invalid filters {} are found in query options.", invalid.join(","))));
        }
    }
    if filters.keys().any(|k| !MESSAGE_FILTERS.contains(&k.as_str())) {
        return Ok(None);
    }
    Ok(Some(filters.into_iter().collect()))
}

async fn list_messages(
    Call { s, ctx, version, path: project_id }: Call<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, Fault> {
    messages_allowed(version)?;
    check_project(&ctx, &project_id)?;
    let Some(filters) = message_filters(&ctx, version, &query)? else { return Ok(Json(json!({"messages": []})).into_response()) };
    let field = |m: &UserMessage, key: &str| -> String {
        match key {
            "resource_uuid" => m.resource_uuid.clone(),
            "resource_type" => m.resource_type.clone(),
            "event_id" => m.event_id.clone(),
            "request_id" => m.request_id.clone(),
            _ => m.message_level.clone(),
        }
    };
    let messages: Vec<Value> = s
        .volumes
        .messages()?
        .iter()
        .filter(|m| filters.iter().all(|(k, v)| field(m, k) == *v))
        .map(|m| views::message_view(&s.public_url, &ctx.project_id, m))
        .collect();
    Ok(Json(json!({"messages": messages})).into_response())
}

async fn show_message(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    messages_allowed(version)?;
    check_project(&ctx, &project_id)?;
    let message = s.volumes.message(&ctx, &id)?;
    Ok(Json(json!({"message": views::message_view(&s.public_url, &ctx.project_id, &message)})).into_response())
}

async fn delete_message(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    messages_allowed(version)?;
    check_project(&ctx, &project_id)?;
    s.volumes.delete_message(&ctx, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
