//! The `os-extend` volume action (`volume_actions._extend`, `volume.api._extend`): the new size
//! must exceed the current one, the volume must be `available` (or, from microversion 3.42,
//! `in-use`: `extend_attached_volume`); it goes `extending` and cinder-volume grows it, then it
//! is back in its previous status with the new size.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::fault::Fault;
use super::http::{CinderState, schema_error};
use super::model::{GIB, VolumeService};
use crate::jsonschema;
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// `mv.VOLUME_EXTEND_INUSE`.
pub const EXTEND_INUSE: Microversion = Microversion(3, 42);

/// The `volume_action.extend` schema: `{"new_size": <integer or digit string, at least 1>}`
/// and nothing else.
fn new_size(args: &Value) -> Result<u64, Fault> {
    let field = "os-extend";
    let Some(map) = args.as_object() else { return Err(schema_error(field, args, &format!("{args} is not of type 'object'"))) };
    jsonschema::check_additional(field, map, |k| k == "new_size")?;
    let Some(value) = map.get("new_size") else { return Err(schema_error(field, args, &jsonschema::required("new_size"))) };
    let parsed = match value {
        Value::Number(n) => {
            n.as_i64().ok_or_else(|| schema_error("new_size", value, &format!("{n} is not of type 'integer', 'string'")))?
        }
        Value::String(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
            t.parse::<i64>().map_err(|_| schema_error("new_size", value, &format!("'{t}' is too large")))?
        }
        Value::String(_) => return Err(schema_error("new_size", value, &jsonschema::does_not_match(value, "^[0-9]+$"))),
        other => return Err(schema_error("new_size", other, &format!("{other} is not of type 'integer', 'string'"))),
    };
    if parsed < 1 {
        return Err(schema_error("new_size", value, &jsonschema::less_than_minimum(&parsed.to_string(), 1)));
    }
    Ok(parsed as u64)
}

/// `_extend`: the size check, then the conditional status change; the growing itself is
/// cinder-volume's, in the background.
pub fn extend(s: &CinderState, ctx: &AuthContext, version: Microversion, id: &str, args: &Value) -> Result<Response, Fault> {
    let size = new_size(args)?;
    let volume = s.volumes.get(ctx, id)?;
    let attached = version >= EXTEND_INUSE && volume.status == "in-use";
    if size <= volume.size {
        return Err(Fault::invalid_input(format!(
            "New size for extend must be greater than current size. (current: {}, extended: {size}).",
            volume.size
        )));
    }
    let expected = if attached { "in-use" } else { "available" };
    if volume.status == expected {
        s.volumes.check_volume_quota(&volume.project_id, &volume.volume_type, size - volume.size, false)?;
    }
    if s.volumes.transition(&volume.id, &[expected], "extending")?.is_none() {
        // Cinder prints its `expected` dict with Python's repr.
        return Err(Fault::invalid_volume(format!(
            "Volume {} status must be '{{'status': '{expected}'}}' to extend, currently {}.",
            volume.id, volume.status
        )));
    }
    tokio::spawn(grow(s.volumes.clone(), volume.id, size, expected.to_owned()));
    Ok(StatusCode::ACCEPTED.into_response())
}

/// cinder-volume's `extend_volume`: the driver grows the volume's data (for an encrypted
/// volume, the LUKS container with it); success sets the size and restores the status, a
/// driver failure leaves `error_extending`.
async fn grow(volumes: Arc<VolumeService>, id: String, size: u64, previous_status: String) {
    let path = volumes.volume_path(&id);
    let grown = std::fs::OpenOptions::new().write(true).open(&path).and_then(|f| f.set_len(size.saturating_mul(GIB)));
    let result = match grown {
        Ok(()) => volumes.modify(&id, |v| {
            v.size = size;
            v.status = previous_status;
        }),
        Err(e) => {
            volumes.log_error(&id, &format!("VolumeBackendAPIException: extend failed: {e}"));
            volumes.modify(&id, |v| v.status = "error_extending".into())
        }
    };
    if let Err(e) = result {
        volumes.log_error(&id, &format!("DBError: {e}"));
    }
}
