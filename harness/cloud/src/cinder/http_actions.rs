//! The volume actions beyond upload, extend and detaching (`api/contrib/volume_actions.py`,
//! `admin_actions.py`, `volume_image_metadata.py`): each validates its arguments with the
//! action's schema, then applies `volume_ops`' rule. The admin actions need `rule:admin_api`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::fault::Fault;
use super::http::{CinderState, no_such_action, schema_error};
use super::http_types::{authorize, boolean};
use crate::jsonschema;
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// `common.py`'s volume statuses `os-reset_status` accepts.
const STATUSES: [&str; 21] = [
    "creating",
    "available",
    "deleting",
    "error",
    "error_deleting",
    "error_managing",
    "managing",
    "attaching",
    "in-use",
    "detaching",
    "maintenance",
    "reserved",
    "restoring-backup",
    "error_restoring",
    "downloading",
    "uploading",
    "retyping",
    "extending",
    "error_extending",
    "backing-up",
    "awaiting-transfer",
];

fn args_object<'a>(action: &str, args: &'a Value) -> Result<&'a Map<String, Value>, Fault> {
    args.as_object().ok_or_else(|| schema_error(action, args, &jsonschema::not_of_type(args, &["object"])))
}

fn required<'a>(action: &str, map: &'a Map<String, Value>, key: &str) -> Result<&'a Value, Fault> {
    map.get(key).ok_or_else(|| schema_error(action, &Value::Object(map.clone()), &jsonschema::required(key)))
}

fn optional_text(map: &Map<String, Value>, key: &str) -> Result<Option<String>, Fault> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(schema_error(key, other, &jsonschema::not_of_type(other, &["string", "null"]))),
    }
}

/// Any action `volume_action` does not handle itself; `None` when the name is unknown.
pub async fn dispatch(
    s: &CinderState,
    ctx: &AuthContext,
    _version: Microversion,
    id: &str,
    action: &str,
    args: &Value,
) -> Result<Response, Fault> {
    let accepted = || Ok(StatusCode::ACCEPTED.into_response());
    match action {
        "os-reserve" => {
            s.volumes.reserve(ctx, id)?;
            accepted()
        }
        "os-unreserve" => {
            s.volumes.unreserve(ctx, id)?;
            accepted()
        }
        "os-attach" => {
            let map = args_object(action, args)?;
            jsonschema::check_additional(action, map, |k| ["instance_uuid", "mountpoint", "host_name", "mode"].contains(&k))?;
            let mountpoint = match required(action, map, "mountpoint")? {
                Value::String(m) => m.clone(),
                other => return Err(schema_error("mountpoint", other, &jsonschema::not_of_type(other, &["string"]))),
            };
            let instance_uuid = optional_text(map, "instance_uuid")?;
            let host_name = optional_text(map, "host_name")?;
            if instance_uuid.is_some() && host_name.is_some() {
                return Err(Fault::invalid_volume("Invalid request to attach volume to an instance and a host."));
            }
            if instance_uuid.is_none() && host_name.is_none() {
                return Err(Fault::invalid_volume("Invalid request to attach volume to an invalid target"));
            }
            let mode = optional_text(map, "mode")?.unwrap_or_else(|| "rw".into());
            if mode != "rw" && mode != "ro" {
                return Err(schema_error("mode", &json!(mode), &jsonschema::not_one_of(&json!(mode), &["rw".into(), "ro".into()])));
            }
            s.volumes.legacy_attach(ctx, id, instance_uuid, host_name, mountpoint, &mode)?;
            accepted()
        }
        "os-detach" => {
            let attachment_id = match args {
                Value::Object(map) => optional_text(map, "attachment_id")?,
                _ => None,
            };
            s.volumes.legacy_detach(ctx, id, attachment_id.as_deref(), "Error detaching volume")?;
            accepted()
        }
        "os-initialize_connection" | "os-terminate_connection" => {
            let map = args_object(action, args)?;
            required(action, map, "connector")?;
            s.volumes.get(ctx, id)?;
            if action == "os-terminate_connection" {
                return accepted();
            }
            Err(no_such_action(action))
        }
        "os-set_bootable" => {
            let map = args_object(action, args)?;
            let bootable = boolean("bootable", required(action, map, "bootable")?)?;
            s.volumes.set_bootable(ctx, id, bootable)?;
            Ok(StatusCode::OK.into_response())
        }
        "os-update_readonly_flag" => {
            let map = args_object(action, args)?;
            let readonly = boolean("readonly", required(action, map, "readonly")?)?;
            s.volumes.set_readonly(ctx, id, readonly)?;
            accepted()
        }
        "os-retype" => {
            let map = args_object(action, args)?;
            let new_type = match required(action, map, "new_type")? {
                Value::String(t) => t.clone(),
                other => return Err(schema_error("new_type", other, &jsonschema::not_of_type(other, &["string"]))),
            };
            let target = s
                .volumes
                .volume_type(&new_type)?
                .filter(|t| super::http_types::visible(ctx, t))
                .ok_or_else(|| super::types::type_not_found(&new_type))?;
            let volume = s.volumes.get(ctx, id)?;
            if volume.volume_type == target.name {
                return Err(Fault::invalid_input(format!("New volume_type same as original: {new_type}.")));
            }
            s.volumes.check_volume_quota(&volume.project_id, &target.name, volume.size, true)?;
            s.volumes.retype(ctx, id, &target.name)?;
            accepted()
        }
        "os-set_image_metadata" => {
            let map = args_object(action, args)?;
            let meta = required(action, map, "metadata")?;
            let new = super::envelope::string_specs("metadata", meta, false)?;
            let volume = s.volumes.get(ctx, id)?;
            s.volumes.add_glance_metadata(&volume.id, &new)?;
            Ok(Json(json!({"metadata": s.volumes.glance_metadata(&volume.id)?})).into_response())
        }
        "os-unset_image_metadata" => {
            let map = args_object(action, args)?;
            let key = match required(action, map, "key")? {
                Value::String(k) => k.clone(),
                other => return Err(schema_error("key", other, &jsonschema::not_of_type(other, &["string"]))),
            };
            let volume = s.volumes.get(ctx, id)?;
            if !s.volumes.glance_metadata(&volume.id)?.contains_key(&key) {
                return Err(Fault::not_found(format!("Glance metadata for volume/snapshot {id} cannot be found.")));
            }
            s.volumes.delete_glance_metadata_key(&volume.id, &key)?;
            Ok(StatusCode::OK.into_response())
        }
        "os-show_image_metadata" => {
            let volume = s.volumes.get(ctx, id)?;
            Ok(Json(json!({"metadata": s.volumes.glance_metadata(&volume.id)?})).into_response())
        }
        "os-reset_status" => {
            let map = args_object(action, args)?;
            jsonschema::check_additional(action, map, |k| ["status", "attach_status", "migration_status"].contains(&k))?;
            let status = optional_text(map, "status")?.map(|t| t.to_lowercase());
            if let Some(st) = &status
                && !STATUSES.contains(&st.as_str())
            {
                let choices: Vec<Value> = STATUSES.iter().map(|c| json!(c)).collect();
                return Err(schema_error("status", &json!(st), &jsonschema::not_one_of(&json!(st), &choices)));
            }
            let migration_status = optional_text(map, "migration_status")?;
            authorize(ctx, "volume_extension:volume_admin_actions:reset_status")?;
            s.volumes.reset_status(ctx, id, status, migration_status)?;
            accepted()
        }
        "os-force_delete" => {
            authorize(ctx, "volume_extension:volume_admin_actions:force_delete")?;
            let volume = s.volumes.get(ctx, id)?;
            let key = s.volumes.encryption_key(&volume.id)?;
            s.volumes.remove(&volume.id)?;
            if key.is_some() {
                s.volumes.forget_encryption_key(&volume.id)?;
            }
            accepted()
        }
        "os-force_detach" => {
            let map = args_object(action, args)?;
            let attachment_id = optional_text(map, "attachment_id")?;
            authorize(ctx, "volume_extension:volume_admin_actions:force_detach")?;
            s.volumes.legacy_detach(ctx, id, attachment_id.as_deref(), "Error force detaching volume")?;
            accepted()
        }
        other => Err(no_such_action(other)),
    }
}
