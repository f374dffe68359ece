//! The image schema: the documents served at `/v2/schemas/*`, value checks with jsonschema's
//! messages (`Provided object does not match schema 'image': <reason>`), and the split of a
//! create body into base attributes and custom properties (glance's `RequestDeserializer.create`
//! and `ImageFactory.new_image`, A7).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::model::BASE_ATTRIBUTES;
use super::webob::Fault;
use crate::jsonschema::{self, Draft, Keyword};

const UUID_PATTERN: &str = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";
const CONTAINER_FORMATS: [&str; 8] = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"];
const DISK_FORMATS: [&str; 11] = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"];
const VISIBILITIES: [&str; 4] = ["community", "public", "private", "shared"];
/// Sent on create: refused as read-only before schema validation (`_disallowed_properties`).
const DISALLOWED: [&str; 5] = ["direct_url", "self", "file", "schema", "stores"];
/// Refused by `ImageFactory.new_image` as read-only.
const FACTORY_READONLY: [&str; 8] =
    ["created_at", "updated_at", "status", "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size"];
/// PATCH may not touch these (`_readonly_properties`).
pub const READONLY: [&str; 13] = [
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "id",
    "os_hash_algo",
    "os_hash_value",
];
/// Neither create nor PATCH may use these; nor any key in the `os_glance` namespace.
pub const RESERVED: [&str; 3] = ["location", "deleted", "deleted_at"];
pub const RESERVED_NAMESPACE: &str = "os_glance";

pub fn is_reserved(key: &str) -> bool {
    RESERVED.contains(&key) || key.starts_with(RESERVED_NAMESPACE)
}

/// A create request, split into what `new_image` takes. `Some(None)` is an explicit null.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateRequest {
    pub id: Option<String>,
    pub name: Option<Option<String>>,
    pub visibility: Option<String>,
    pub protected: Option<bool>,
    pub os_hidden: Option<bool>,
    pub min_disk: Option<i64>,
    pub min_ram: Option<i64>,
    pub container_format: Option<Option<String>>,
    pub disk_format: Option<Option<String>>,
    pub owner: Option<Option<String>>,
    pub tags: Vec<String>,
    pub properties: BTreeMap<String, String>,
}

/// Checks and splits a create body in glance's order: disallowed keys (403), schema (400),
/// key length (400), reserved keys (403), then the factory's read-only keys (403).
pub fn split_create(body: &Value) -> Result<CreateRequest, Fault> {
    let map = jsonschema::root_object(body).map_err(|e| Fault::bad_request(mismatch(&e.message)))?;
    for key in DISALLOWED {
        if map.contains_key(key) {
            return Err(Fault::forbidden(format!("Attribute '{key}' is read-only.")));
        }
    }
    for (key, value) in map {
        check_property(key, value).map_err(Fault::bad_request)?;
    }
    for key in map.keys().filter(|k| !BASE_ATTRIBUTES.contains(&k.as_str())) {
        if key.chars().count() > 255 {
            return Err(Fault::bad_request("Custom property should not be greater than 255 characters."));
        }
        if is_reserved(key) {
            return Err(Fault::forbidden(format!("Attribute '{key}' is reserved.")));
        }
    }
    for key in FACTORY_READONLY {
        if map.contains_key(key) {
            return Err(Fault::forbidden(format!("Attribute '{key}' is read-only.")));
        }
    }
    // `locations` passed the schema (an array) but is reserved for the factory.
    if map.contains_key("locations") {
        return Err(Fault::forbidden("Attribute 'locations' is reserved."));
    }
    let string = |k: &str| map.get(k).map(|v| v.as_str().map(str::to_owned));
    let mut req = CreateRequest {
        id: map.get("id").and_then(Value::as_str).map(str::to_owned),
        name: string("name"),
        visibility: map.get("visibility").and_then(Value::as_str).map(str::to_owned),
        protected: map.get("protected").and_then(Value::as_bool),
        os_hidden: map.get("os_hidden").and_then(Value::as_bool),
        min_disk: map.get("min_disk").and_then(Value::as_i64),
        min_ram: map.get("min_ram").and_then(Value::as_i64),
        container_format: string("container_format"),
        disk_format: string("disk_format"),
        owner: string("owner"),
        tags: map
            .get("tags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
        properties: BTreeMap::new(),
    };
    for (key, value) in map.iter().filter(|(k, _)| !BASE_ATTRIBUTES.contains(&k.as_str())) {
        if let Value::String(s) = value {
            req.properties.insert(key.clone(), s.clone());
        }
    }
    for (name, value) in [("min_disk", req.min_disk), ("min_ram", req.min_ram)] {
        check_non_negative(name, value)?;
    }
    Ok(req)
}

/// glance db `_validate_image`: `min_disk`/`min_ram` must not be negative.
pub fn check_non_negative(name: &str, value: Option<i64>) -> Result<(), Fault> {
    match value {
        Some(v) if v < 0 => Err(Fault::bad_request(format!("Image {name} must be >= 0 ('{v}' specified)."))),
        _ => Ok(()),
    }
}

fn mismatch(reason: &str) -> String {
    format!("Provided object does not match schema 'image': {reason}")
}

/// Validates `{name: value}` against the image schema; the error is glance's full explanation.
pub fn check_property(name: &str, value: &Value) -> Result<(), String> {
    check_inner(name, value).map_err(|reason| mismatch(&reason))
}

fn check_inner(name: &str, value: &Value) -> Result<(), String> {
    let types = |allowed: &[&str]| Draft::Four.error(value, Keyword::Type(allowed)).map_or(Ok(()), Err);
    let max_len = |n: usize| Draft::Four.error(value, Keyword::MaxLength(n)).map_or(Ok(()), Err);
    // An `enum` of strings, with `None` first when the schema allows null.
    let one_of = |choices: &[&str], null: bool| -> Result<(), String> {
        if value.as_str().is_some_and(|s| choices.contains(&s)) || (null && value.is_null()) {
            return Ok(());
        }
        let listed: Vec<Value> = null.then_some(Value::Null).into_iter().chain(choices.iter().map(|c| Value::from(*c))).collect();
        Err(jsonschema::not_one_of(value, &listed))
    };
    match name {
        "id" => types(&["string"]).and_then(|_| Draft::Four.error(value, Keyword::Pattern(UUID_PATTERN, is_uuid)).map_or(Ok(()), Err)),
        "name" | "owner" => types(&["null", "string"]).and_then(|_| max_len(255)),
        "visibility" => types(&["string"]).and_then(|_| one_of(&VISIBILITIES, false)),
        "protected" | "os_hidden" => types(&["boolean"]),
        "checksum" => types(&["null", "string"]).and_then(|_| max_len(32)),
        "os_hash_algo" => types(&["null", "string"]).and_then(|_| max_len(64)),
        "os_hash_value" => types(&["null", "string"]).and_then(|_| max_len(128)),
        "size" | "virtual_size" => types(&["null", "integer"]),
        "min_ram" | "min_disk" => types(&["integer"]),
        "container_format" => types(&["null", "string"]).and_then(|_| one_of(&CONTAINER_FORMATS, true)),
        "disk_format" => types(&["null", "string"]).and_then(|_| one_of(&DISK_FORMATS, true)),
        "status" => types(&["string"]).and_then(|_| one_of(&STATUS_NAMES, false)),
        "created_at" | "updated_at" | "direct_url" | "self" | "file" | "schema" => types(&["string"]),
        "tags" => {
            types(&["array"])?;
            for tag in value.as_array().into_iter().flatten() {
                check_inner("_tag", tag)?;
            }
            Ok(())
        }
        "_tag" => types(&["string"]).and_then(|_| max_len(255)),
        "locations" | "stores" => Ok(()),
        _ => types(&["string"]),
    }
}

const STATUS_NAMES: [&str; 9] =
    ["queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"];

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn nullable(t: &str) -> Value {
    json!(["null", t])
}

/// `GET /v2/schemas/image`: glance's image schema (draft 4), trimmed of descriptions.
pub fn image_schema() -> Value {
    let statuses: Vec<&str> = STATUS_NAMES.to_vec();
    let mut container: Vec<Value> = vec![Value::Null];
    container.extend(CONTAINER_FORMATS.iter().map(|c| json!(c)));
    let mut disk: Vec<Value> = vec![Value::Null];
    disk.extend(DISK_FORMATS.iter().map(|c| json!(c)));
    json!({
        "name": "image",
        "properties": {
            "id": {"type": "string", "pattern": UUID_PATTERN, "description": "An identifier for the image"},
            "name": {"type": nullable("string"), "maxLength": 255, "description": "Descriptive name for the image"},
            "status": {"type": "string", "readOnly": true, "enum": statuses, "description": "Status of the image"},
            "visibility": {"type": "string", "enum": VISIBILITIES, "description": "Scope of image accessibility"},
            "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
            "os_hidden": {"type": "boolean", "description": "If true, image will not appear in default image list response."},
            "checksum": {"type": nullable("string"), "readOnly": true, "maxLength": 32, "description": "md5 hash of image contents."},
            "os_hash_algo": {"type": nullable("string"), "readOnly": true, "maxLength": 64, "description": "Algorithm to calculate the os_hash_value"},
            "os_hash_value": {"type": nullable("string"), "readOnly": true, "maxLength": 128, "description": "Hexdigest of the image contents using the algorithm specified by the os_hash_algo"},
            "owner": {"type": nullable("string"), "maxLength": 255, "description": "Owner of the image"},
            "size": {"type": nullable("integer"), "readOnly": true, "description": "Size of image file in bytes"},
            "virtual_size": {"type": nullable("integer"), "readOnly": true, "description": "Virtual size of image in bytes"},
            "container_format": {"type": nullable("string"), "enum": container, "description": "Format of the container"},
            "disk_format": {"type": nullable("string"), "enum": disk, "description": "Format of the disk"},
            "created_at": {"type": "string", "readOnly": true, "description": "Date and time of image registration"},
            "updated_at": {"type": "string", "readOnly": true, "description": "Date and time of the last image modification"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}, "description": "List of strings related to the image"},
            "direct_url": {"type": "string", "readOnly": true, "description": "URL to access the image file kept in external store"},
            "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
            "min_disk": {"type": "integer", "description": "Amount of disk space (in GB) required to boot image."},
            "self": {"type": "string", "readOnly": true, "description": "An image self url"},
            "file": {"type": "string", "readOnly": true, "description": "An image file url"},
            "stores": {"type": "string", "readOnly": true, "description": "Store in which image data resides.  Only present when the operator has enabled multiple stores.  May be a comma-separated list of store identifiers."},
            "schema": {"type": "string", "readOnly": true, "description": "An image schema url"},
            "locations": {"type": "array", "items": {"type": "object", "properties": {"url": {"type": "string", "maxLength": 255}, "metadata": {"type": "object"}, "validation_data": {"type": "object"}}, "required": ["url", "metadata"]}, "description": "A set of URLs to access the image file kept in external store"},
        },
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

/// `GET /v2/schemas/images`.
pub fn images_schema() -> Value {
    json!({
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glance::model::Status;

    #[test]
    fn messages_follow_jsonschema() {
        assert_eq!(check_inner("x", &json!(5)).unwrap_err(), "5 is not of type 'string'");
        assert_eq!(check_inner("name", &json!(5)).unwrap_err(), "5 is not of type 'null', 'string'");
        assert_eq!(check_inner("visibility", &json!("x")).unwrap_err(), "'x' is not one of ['community', 'public', 'private', 'shared']");
        assert!(check_inner("disk_format", &json!("raw")).is_ok());
        assert!(check_inner("disk_format", &Value::Null).is_ok());
        assert!(check_inner("disk_format", &json!("x")).unwrap_err().starts_with("'x' is not one of [None, 'ami'"));
        assert_eq!(check_inner("tags", &json!(["ok", 5])).unwrap_err(), "5 is not of type 'string'");
        assert_eq!(check_inner("min_ram", &serde_json::from_str::<Value>("5.0").unwrap()).unwrap_err(), "5.0 is not of type 'integer'");
        assert_eq!(check_inner("checksum", &json!("c".repeat(33))).unwrap_err(), format!("'{}' is too long", "c".repeat(33)));
        assert_eq!(
            split_create(&json!(["x"])).unwrap_err().explanation,
            "Provided object does not match schema 'image': ['x'] is not of type 'object'"
        );
        assert_eq!(check_inner("id", &json!("nope")).unwrap_err(), format!("'nope' does not match '{UUID_PATTERN}'"));
        assert!(STATUS_NAMES.iter().all(|s| Status::parse(s).is_some()));
    }
}
