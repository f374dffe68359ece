//! Cinder's request rules without HTTP: the `POST /volumes` schema
//! (`cinder/api/schemas/volumes.py`) with the messages its validator gives
//! (`cinder/api/validation/validators.py`: `Invalid input for field/attribute <last path
//! element>. Value: <str(value)>. <jsonschema message>`, the bare message at the root, and the
//! custom format checkers' own exceptions, which escape the validator as `InvalidInput`).
//! Keywords are checked in the schema's order and the first failure is the answer.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::fault::Fault;
use super::views::Microversion;
use crate::python::{py_display, py_repr, py_str};

/// `constants.DB_MAX_INT`, `volume_size`'s maximum.
pub const DB_MAX_INT: u64 = 0x7FFF_FFFF;
/// `parameter_types.extra_specs`' key pattern (volume metadata).
pub const METADATA_KEY_PATTERN: &str = "^[a-zA-Z0-9-_:. /]{1,255}$";

/// A jsonschema failure at a field.
pub fn invalid(field: &str, value: &Value, message: &str) -> Fault {
    Fault::bad_request(format!("Invalid input for field/attribute {field}. Value: {}. {message}", py_display(value)))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_type(field: &str, value: &Value, allowed: &[&str]) -> Result<(), Fault> {
    if allowed.contains(&type_name(value)) {
        return Ok(());
    }
    let names: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    Err(invalid(field, value, &format!("{} is not of type {}", py_repr(value), names.join(", "))))
}

fn max_length(field: &str, value: &Value, max: usize) -> Result<(), Fault> {
    match value.as_str() {
        Some(s) if s.chars().count() > max => Err(invalid(field, value, &format!("{} is too long", py_repr(value)))),
        _ => Ok(()),
    }
}

/// The `*_non_mandatory_remove_white_spaces` formats: the stripped text may have 255
/// characters (`utils.check_string_length`, whose `InvalidInput` is the answer).
fn name_like(field: &str, entity: &str, value: &Value) -> Result<(), Fault> {
    check_type(field, value, &["string", "null"])?;
    if let Some(text) = value.as_str() {
        let length = text.trim().chars().count();
        if length > 255 {
            return Err(Fault::invalid_input(format!("{entity} has {length} characters, more than 255.")));
        }
    }
    Ok(())
}

/// `parameter_types.optional_uuid` (`oneOf` null or a UUID string).
fn optional_uuid(field: &str, value: &Value) -> Result<Option<String>, Fault> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => Ok(Some(s.clone())),
        other => Err(invalid(field, other, &format!("{} is not valid under any of the given schemas", py_repr(other)))),
    }
}

fn metadata_key_ok(key: &str) -> bool {
    let key = key.strip_suffix('\n').unwrap_or(key);
    (1..=255).contains(&key.chars().count())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | ' ' | '/'))
}

/// `parameter_types.metadata_allows_null`: string values of at most 255 characters under keys
/// matching [`METADATA_KEY_PATTERN`]; any other key is refused.
fn metadata(value: &Value) -> Result<BTreeMap<String, String>, Fault> {
    check_type("metadata", value, &["object", "null"])?;
    let Some(items) = value.as_object() else { return Ok(BTreeMap::new()) };
    for (key, v) in items.iter().filter(|(k, _)| metadata_key_ok(k)) {
        check_type(key, v, &["string"])?;
        max_length(key, v, 255)?;
    }
    let extra: Vec<String> = items.keys().filter(|k| !metadata_key_ok(k)).map(|k| py_str(k)).collect();
    if !extra.is_empty() {
        let verb = if extra.len() == 1 { "does" } else { "do" };
        return Err(invalid(
            "metadata",
            value,
            &format!("{} {verb} not match any of the regexes: '{METADATA_KEY_PATTERN}'", extra.join(", ")),
        ));
    }
    Ok(items.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
}

/// `parameter_types.volume_size_allows_null`: an integer or a string of digits, 1 to
/// [`DB_MAX_INT`] (Cinder's `minimum`/`maximum` read a string as a number), or null.
fn size(value: &Value) -> Result<Option<u64>, Fault> {
    check_type("size", value, &["integer", "string", "null"])?;
    let number = match value {
        Value::Null => return Ok(None),
        Value::String(text) => {
            let digits = text.strip_suffix('\n').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid("size", value, &format!("{} does not match '^[0-9]+$'", py_repr(value))));
            }
            let significant = digits.trim_start_matches('0');
            if significant.len() > 10 { u64::MAX } else { significant.parse::<u64>().unwrap_or(0) }
        }
        other => match other.as_u64() {
            Some(n) => n,
            None => return Err(invalid("size", other, &format!("{} is less than the minimum of 1", py_repr(other)))),
        },
    };
    if number < 1 {
        return Err(invalid("size", value, "0 is less than the minimum of 1"));
    }
    if number > DB_MAX_INT {
        let shown = match value {
            Value::String(text) => text.strip_suffix('\n').unwrap_or(text).trim_start_matches('0').to_owned(),
            other => py_repr(other),
        };
        return Err(invalid("size", value, &format!("{shown} is greater than the maximum of {DB_MAX_INT}")));
    }
    Ok(Some(number))
}

/// `parameter_types.optional_boolean` (`multiattach`): null or Cinder's booleans. Returns
/// whether it is set true (`utils.get_bool_param`).
fn optional_boolean(field: &str, value: &Value) -> Result<bool, Fault> {
    const TRUE: [&str; 12] = ["True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", "y", "t"];
    const FALSE: [&str; 12] = ["False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no", "n", "f"];
    match value {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::String(s) if TRUE.contains(&s.as_str()) => Ok(true),
        Value::String(s) if FALSE.contains(&s.as_str()) => Ok(false),
        other => Err(invalid(field, other, &format!("{} is not valid under any of the given schemas", py_repr(other)))),
    }
}

/// A `POST /volumes` body that passed the schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewVolume {
    pub name: Option<String>,
    pub description: Option<String>,
    pub volume_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub snapshot_id: Option<String>,
    pub source_volid: Option<String>,
    pub consistencygroup_id: Option<String>,
    pub group_id: Option<String>,
    pub backup_id: Option<String>,
    pub size: Option<u64>,
    pub multiattach: bool,
    pub image_ref: Option<String>,
}

/// The properties of `volume` in the schema's order, with the microversion each appears at.
const VOLUME_PROPERTIES: [(&str, Microversion); 16] = [
    ("name", Microversion(3, 0)),
    ("description", Microversion(3, 0)),
    ("display_name", Microversion(3, 0)),
    ("display_description", Microversion(3, 0)),
    ("volume_type", Microversion(3, 0)),
    ("metadata", Microversion(3, 0)),
    ("snapshot_id", Microversion(3, 0)),
    ("source_volid", Microversion(3, 0)),
    ("consistencygroup_id", Microversion(3, 0)),
    ("size", Microversion(3, 0)),
    ("availability_zone", Microversion(3, 0)),
    ("multiattach", Microversion(3, 0)),
    ("image_id", Microversion(3, 0)),
    ("imageRef", Microversion(3, 0)),
    ("group_id", Microversion(3, 13)),
    ("backup_id", Microversion(3, 47)),
];

/// `volumes.create` (and its 3.13, 3.47 and 3.53 variants).
pub fn create_volume(body: &Value, version: Microversion) -> Result<NewVolume, Fault> {
    let Some(top) = body.as_object() else {
        return Err(Fault::bad_request(format!("{} is not of type 'object'", py_repr(body))));
    };
    let mut new = NewVolume::default();
    if let Some(volume) = top.get("volume") {
        check_type("volume", volume, &["object"])?;
        let volume = volume.as_object().cloned().unwrap_or_default();
        volume_properties(&volume, version, &mut new)?;
        if version >= Microversion(3, 53)
            && let Some(extra) = volume.keys().find(|k| !VOLUME_PROPERTIES.iter().any(|(p, since)| p == k && version >= *since))
        {
            return Err(invalid(
                "volume",
                &Value::Object(volume.clone()),
                &format!("Additional properties are not allowed ({} was unexpected)", py_str(extra)),
            ));
        }
    }
    if let Some(hints) = top.get("OS-SCH-HNT:scheduler_hints") {
        check_type("OS-SCH-HNT:scheduler_hints", hints, &["object", "null"])?;
    }
    if !top.contains_key("volume") {
        return Err(Fault::bad_request("'volume' is a required property"));
    }
    if let Some(extra) = top.keys().find(|k| *k != "volume" && *k != "OS-SCH-HNT:scheduler_hints") {
        return Err(Fault::bad_request(format!("Additional properties are not allowed ({} was unexpected)", py_str(extra))));
    }
    Ok(new)
}

fn volume_properties(volume: &Map<String, Value>, version: Microversion, new: &mut NewVolume) -> Result<(), Fault> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    for (name, since) in VOLUME_PROPERTIES {
        let Some(v) = volume.get(name).filter(|_| version >= since) else { continue };
        match name {
            "name" | "display_name" => {
                name_like(name, "name", v)?;
                if name == "name" || new.name.is_none() {
                    new.name = text(v).map(|t| t.trim().to_owned());
                }
            }
            "description" | "display_description" => {
                name_like(name, "description", v)?;
                if name == "description" || new.description.is_none() {
                    new.description = text(v).map(|t| t.trim().to_owned());
                }
            }
            "volume_type" => {
                check_type(name, v, &["string", "null"])?;
                max_length(name, v, 255)?;
                new.volume_type = text(v);
            }
            "metadata" => new.metadata = metadata(v)?,
            "snapshot_id" => new.snapshot_id = optional_uuid(name, v)?,
            "source_volid" => new.source_volid = optional_uuid(name, v)?,
            "consistencygroup_id" => new.consistencygroup_id = optional_uuid(name, v)?,
            "backup_id" => new.backup_id = optional_uuid(name, v)?,
            "size" => new.size = size(v)?,
            "availability_zone" => {
                check_type(name, v, &["string", "null"])?;
                if v.as_str().is_some_and(str::is_empty) {
                    return Err(invalid(name, v, "'' should be non-empty"));
                }
                max_length(name, v, 255)?;
            }
            "multiattach" => new.multiattach = optional_boolean(name, v)?,
            "image_id" | "imageRef" | "group_id" => {
                check_type(name, v, &["string", "null"])?;
                max_length(name, v, 255)?;
                match name {
                    "group_id" => new.group_id = text(v),
                    // `imageRef` wins over `image_id` (the controller renames one to the other).
                    "imageRef" => new.image_ref = text(v).or(new.image_ref.take()),
                    _ => new.image_ref = new.image_ref.take().or(text(v)),
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(body: Value) -> String {
        create_volume(&body, Microversion(3, 0)).unwrap_err().message
    }

    #[test]
    fn messages_follow_cinders_validator() {
        let long = "n".repeat(256);
        assert_eq!(err(json!({"volume": {"name": long}})), "Invalid input received: name has 256 characters, more than 255.");
        assert_eq!(
            err(json!({"volume": {"display_description": long}})),
            "Invalid input received: description has 256 characters, more than 255."
        );
        // Stripped before it is measured.
        assert!(create_volume(&json!({"volume": {"name": format!(" {} ", "n".repeat(255))}}), Microversion(3, 0)).is_ok());
        assert_eq!(
            err(json!({"volume": {"name": 5}})),
            "Invalid input for field/attribute name. Value: 5. 5 is not of type 'string', 'null'"
        );
        assert_eq!(
            err(json!({"volume": {"snapshot_id": "abc"}})),
            "Invalid input for field/attribute snapshot_id. Value: abc. 'abc' is not valid under any of the given schemas"
        );
        assert_eq!(
            err(json!({"volume": {"size": "0"}})),
            "Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1"
        );
        assert_eq!(
            err(json!({"volume": {"size": "1x"}})),
            "Invalid input for field/attribute size. Value: 1x. '1x' does not match '^[0-9]+$'"
        );
        assert_eq!(
            err(json!({"volume": {"size": 2147483648u64}})),
            "Invalid input for field/attribute size. Value: 2147483648. 2147483648 is greater than the maximum of 2147483647"
        );
        assert_eq!(
            err(json!({"volume": {"metadata": {"k": 1}}})),
            "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'"
        );
        assert_eq!(
            err(json!({"volume": {"metadata": {"": "v"}}})),
            "Invalid input for field/attribute metadata. Value: {'': 'v'}. '' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{1,255}$'"
        );
        assert_eq!(err(json!({"volume": {}, "x": 1})), "Additional properties are not allowed ('x' was unexpected)");
        assert_eq!(err(json!({})), "'volume' is a required property");
        let e = create_volume(&json!({"volume": {"size": 1, "foo": 1}}), Microversion(3, 53)).unwrap_err().message;
        assert_eq!(
            e,
            "Invalid input for field/attribute volume. Value: {'foo': 1, 'size': 1}. Additional properties are not allowed ('foo' was unexpected)"
        );
        assert!(create_volume(&json!({"volume": {"size": 1, "foo": 1}}), Microversion(3, 52)).is_ok());
        let ok =
            create_volume(&json!({"volume": {"size": "3", "image_id": "a", "imageRef": "b", "display_name": "d"}}), Microversion(3, 0))
                .unwrap();
        assert_eq!((ok.size, ok.image_ref.as_deref(), ok.name.as_deref()), (Some(3), Some("b"), Some("d")));
    }
}
