//! The v3 attachments API on the wire (`cinder/api/v3/attachments.py`, microversion 3.27 and
//! later; `os-complete` from 3.44, `mode` from 3.54): what Nova calls to attach a volume
//! (create to reserve, update with the connector, complete) and to detach it (delete).

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::attach::Attachment;
use super::call::Call;
use super::fault::Fault;
use super::http::{CinderState, action_json, check_project, no_such_action, project_json_body, schema_error};
use super::views;
use crate::jsonschema::{self, SchemaError};
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// `mv.NEW_ATTACH`, `mv.NEW_ATTACH_COMPLETION`, `mv.ATTACHMENT_CREATE_MODE_ARG`.
const NEW_ATTACH: Microversion = Microversion(3, 27);
const NEW_ATTACH_COMPLETION: Microversion = Microversion(3, 44);
const CREATE_MODE_ARG: Microversion = Microversion(3, 54);

pub fn routes() -> Router<CinderState> {
    Router::new()
        .route("/v3/{project_id}/attachments", get(list).post(create))
        .route("/v3/{project_id}/attachments/detail", get(list_detail))
        .route("/v3/{project_id}/attachments/{id}", get(show).put(update).delete(delete))
        .route("/v3/{project_id}/attachments/{id}/action", post(action))
        .layer(axum::middleware::from_fn(crate::keystone::request_id))
}

/// `VersionNotFoundForAPIMethod`: the method does not exist at the requested version.
fn at_least(version: Microversion, minimum: Microversion) -> Result<(), Fault> {
    if version >= minimum { Ok(()) } else { Err(Fault::not_found(format!("API version {version} is not supported on this method."))) }
}

/// `{"attachment": {...}}` with only `allowed` keys: the inner object.
fn attachment_body<'a>(body: &'a Value, allowed: &[&str]) -> Result<&'a Map<String, Value>, Fault> {
    let Some(top) = body.as_object() else { return Err(Fault::bad_request(format!("{body} is not of type 'object'"))) };
    let Some(inner) = top.get("attachment") else { return Err(SchemaError::root(body, jsonschema::required("attachment")).into()) };
    if let Some(message) = jsonschema::additional_properties(top, |k| k == "attachment") {
        return Err(SchemaError::root(body, message).into());
    }
    let Some(fields) = inner.as_object() else {
        return Err(schema_error("attachment", inner, &format!("{inner} is not of type 'object'")));
    };
    jsonschema::check_additional("attachment", fields, |k| allowed.contains(&k))?;
    Ok(fields)
}

/// `parameter_types.uuid`: a string in UUID format.
fn uuid_field(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, Fault> {
    match fields.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if uuid::Uuid::parse_str(s).is_ok() => Ok(Some(s.clone())),
        Some(other) => Err(schema_error(name, other, &jsonschema::not_a(other, "uuid"))),
    }
}

async fn create(Call { s, ctx, version, path: project_id }: Call<String>, body: Bytes) -> Result<Response, Fault> {
    at_least(version, NEW_ATTACH)?;
    let body = project_json_body(&ctx, &project_id, &body)?;
    let allowed: &[&str] = if version >= CREATE_MODE_ARG {
        &["instance_uuid", "connector", "volume_uuid", "mode"]
    } else {
        &["instance_uuid", "connector", "volume_uuid"]
    };
    let fields = attachment_body(&body, allowed)?;
    let instance_uuid = uuid_field(fields, "instance_uuid")?;
    let Some(volume_uuid) = uuid_field(fields, "volume_uuid")? else {
        return Err(schema_error("attachment", &Value::Object(fields.clone()), &jsonschema::required("volume_uuid")));
    };
    let connector = match fields.get("connector") {
        None | Some(Value::Null) => None,
        Some(c @ Value::Object(_)) => Some(c.clone()),
        Some(other) => return Err(schema_error("connector", other, &jsonschema::not_of_type(other, &["object", "null"]))),
    };
    let mode = match fields.get("mode") {
        None => "null".to_owned(),
        Some(Value::String(m)) if m == "rw" || m == "ro" => m.clone(),
        Some(other) => return Err(schema_error("mode", other, &jsonschema::not_one_of(other, &["rw".into(), "ro".into()]))),
    };
    let mut attachment = s.volumes.reserve_attachment(&ctx, &volume_uuid, instance_uuid.as_deref(), &mode)?;
    if let Some(connector) = connector {
        attachment = s.volumes.connect_attachment(&ctx, &attachment.id, &connector)?;
    }
    Ok(Json(json!({"attachment": views::attachment_detail(&attachment)})).into_response())
}

async fn show(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    at_least(version, NEW_ATTACH)?;
    check_project(&ctx, &project_id)?;
    let attachment = s.volumes.attachment(&ctx, &id)?;
    Ok(Json(json!({"attachment": views::attachment_detail(&attachment)})).into_response())
}

/// The project's attachments, in the summary (`GET attachments`) or detail view.
fn listed(
    s: &CinderState,
    ctx: &AuthContext,
    version: Microversion,
    project_id: &str,
    view: fn(&Attachment) -> Value,
) -> Result<Response, Fault> {
    at_least(version, NEW_ATTACH)?;
    check_project(ctx, project_id)?;
    let items: Vec<Value> = s.volumes.project_attachments(ctx)?.iter().map(view).collect();
    Ok(Json(json!({"attachments": items})).into_response())
}

async fn list(Call { s, ctx, version, path: project_id }: Call<String>) -> Result<Response, Fault> {
    listed(&s, &ctx, version, &project_id, views::attachment_summary)
}

async fn list_detail(Call { s, ctx, version, path: project_id }: Call<String>) -> Result<Response, Fault> {
    listed(&s, &ctx, version, &project_id, views::attachment_detail)
}

/// `PUT`: the consumer's connector; the volume is connected and `attaching`.
async fn update(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    at_least(version, NEW_ATTACH)?;
    let body = project_json_body(&ctx, &project_id, &body)?;
    let fields = attachment_body(&body, &["connector"])?;
    let connector = match fields.get("connector") {
        None => return Err(schema_error("attachment", &Value::Object(fields.clone()), &jsonschema::required("connector"))),
        Some(c @ Value::Object(m)) if !m.is_empty() => c.clone(),
        Some(c @ Value::Object(_)) => return Err(schema_error("connector", c, "{} does not have enough properties")),
        Some(other) => return Err(schema_error("connector", other, &jsonschema::not_of_type(other, &["object"]))),
    };
    let attachment = s.volumes.connect_attachment(&ctx, &id, &connector)?;
    Ok(Json(json!({"attachment": views::attachment_detail(&attachment)})).into_response())
}

/// `DELETE`: 200 with the volume's remaining attachments.
async fn delete(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    at_least(version, NEW_ATTACH)?;
    check_project(&ctx, &project_id)?;
    let remaining = s.volumes.delete_attachment(&ctx, &id)?;
    Ok(Json(json!({"attachments": remaining.iter().map(views::attachment_summary).collect::<Vec<_>>()})).into_response())
}

/// `POST .../action`: `os-complete` (3.44 and later), 204.
async fn action(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    let (name, _) = action_json(&body)?;
    check_project(&ctx, &project_id)?;
    match name.as_str() {
        "os-complete" => {
            at_least(version, NEW_ATTACH_COMPLETION)?;
            s.volumes.complete_attachment(&ctx, &id)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        other => Err(no_such_action(other)),
    }
}
