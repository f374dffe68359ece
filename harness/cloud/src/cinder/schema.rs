//! Cinder's request rules without HTTP: the `POST /volumes` schema
//! (`cinder/api/schemas/volumes.py`) with the messages its validator gives
//! (`cinder/api/validation/validators.py`: `Invalid input for field/attribute <last path
//! element>. Value: <str(value)>. <jsonschema message>`, the bare message at the root, and the
//! custom format checkers' own exceptions, which escape the validator as `InvalidInput`).
//! Keywords are checked in the schema's order and the first failure is the answer.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::fault::Fault;
use crate::jsonschema::{self, Draft, Keyword, SchemaError, check_type, py_repr};
use crate::microversion::Microversion;

/// `constants.DB_MAX_INT`, `volume_size`'s maximum.
pub const DB_MAX_INT: u64 = 0x7FFF_FFFF;
/// `parameter_types.extra_specs`' key pattern (volume metadata).
pub const METADATA_KEY_PATTERN: &str = "^[a-zA-Z0-9-_:. /]{1,255}$";

fn max_length(field: &str, value: &Value, max: usize) -> Result<(), SchemaError> {
    Draft::Four.check(field, value, &[Keyword::MaxLength(max)])
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
        other => Err(SchemaError::at(field, other, jsonschema::no_valid_schema(other)).into()),
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
        Draft::Four.check(key, v, &[Keyword::Type(&["string"]), Keyword::MaxLength(255)])?;
    }
    if let Some(message) = jsonschema::unmatched_properties(items, metadata_key_ok, &[METADATA_KEY_PATTERN]) {
        return Err(SchemaError::at("metadata", value, message).into());
    }
    Ok(items.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
}

/// `parameter_types.volume_size_allows_null`: an integer or a string of digits, 1 to
/// [`DB_MAX_INT`] (Cinder's `minimum`/`maximum` read a string as a number), or null.
fn size(value: &Value) -> Result<Option<u64>, Fault> {
    check_type("size", value, &["integer", "string", "null"])?;
    let fail = |message: String| Fault::from(SchemaError::at("size", value, message));
    let number = match value {
        Value::Null => return Ok(None),
        Value::String(text) => {
            let digits = text.strip_suffix('\n').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail(jsonschema::does_not_match(value, "^[0-9]+$")));
            }
            let significant = digits.trim_start_matches('0');
            if significant.len() > 10 { u64::MAX } else { significant.parse::<u64>().unwrap_or(0) }
        }
        other => match other.as_u64() {
            Some(n) => n,
            None => return Err(fail(jsonschema::less_than_minimum(&py_repr(other), 1))),
        },
    };
    if number < 1 {
        return Err(fail(jsonschema::less_than_minimum("0", 1)));
    }
    if number > DB_MAX_INT {
        let shown = match value {
            Value::String(text) => text.strip_suffix('\n').unwrap_or(text).trim_start_matches('0').to_owned(),
            other => py_repr(other),
        };
        return Err(fail(jsonschema::greater_than_maximum(&shown, DB_MAX_INT)));
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
        other => Err(SchemaError::at(field, other, jsonschema::no_valid_schema(other)).into()),
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
    let top = jsonschema::root_object(body)?;
    let mut new = NewVolume::default();
    if let Some(volume) = top.get("volume") {
        check_type("volume", volume, &["object"])?;
        let volume = volume.as_object().cloned().unwrap_or_default();
        volume_properties(&volume, version, &mut new)?;
        if version >= Microversion(3, 53) {
            jsonschema::check_additional("volume", &volume, |k| VOLUME_PROPERTIES.iter().any(|(p, since)| *p == k && version >= *since))?;
        }
    }
    if let Some(hints) = top.get("OS-SCH-HNT:scheduler_hints") {
        check_type("OS-SCH-HNT:scheduler_hints", hints, &["object", "null"])?;
    }
    if !top.contains_key("volume") {
        return Err(SchemaError::root(body, jsonschema::required("volume")).into());
    }
    if let Some(message) = jsonschema::additional_properties(top, |k| k == "volume" || k == "OS-SCH-HNT:scheduler_hints") {
        return Err(SchemaError::root(body, message).into());
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
                Draft::Four.check(name, v, &[Keyword::Type(&["string", "null"]), Keyword::MinLength(1), Keyword::MaxLength(255)])?;
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
        // The dict as the request ordered it; the unexpected keys sorted, as jsonschema lists them.
        let e = create_volume(&json!({"volume": {"size": 1, "foo": 1}}), Microversion(3, 53)).unwrap_err().message;
        assert_eq!(
            e,
            "Invalid input for field/attribute volume. Value: {'size': 1, 'foo': 1}. Additional properties are not allowed ('foo' was unexpected)"
        );
        let e = create_volume(&json!({"volume": {"zz": 1, "size": 1, "aa": 2}, "y": 1, "b": 2}), Microversion(3, 53)).unwrap_err().message;
        assert!(e.ends_with("Additional properties are not allowed ('aa', 'zz' were unexpected)"), "{e}");
        assert_eq!(err(json!({"volume": {}, "y": 1, "b": 2})), "Additional properties are not allowed ('b', 'y' were unexpected)");
        assert_eq!(err(json!([1])), "[1] is not of type 'object'");
        assert_eq!(
            err(json!({"volume": {"availability_zone": ""}})),
            "Invalid input for field/attribute availability_zone. Value: . '' should be non-empty"
        );
        assert_eq!(
            err(json!({"volume": {"metadata": {"b!": "v", "a!": "v"}}})),
            "Invalid input for field/attribute metadata. Value: {'b!': 'v', 'a!': 'v'}. 'a!', 'b!' do not match any of the regexes: '^[a-zA-Z0-9-_:. /]{1,255}$'"
        );
        assert!(create_volume(&json!({"volume": {"size": 1, "foo": 1}}), Microversion(3, 52)).is_ok());
        let ok =
            create_volume(&json!({"volume": {"size": "3", "image_id": "a", "imageRef": "b", "display_name": "d"}}), Microversion(3, 0))
                .unwrap();
        assert_eq!((ok.size, ok.image_ref.as_deref(), ok.name.as_deref()), (Some(3), Some("b"), Some("d")));
    }
}
