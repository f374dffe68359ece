//! Scheduler hints at server create (`os:scheduler_hints`, or the legacy
//! `OS-SCH-HNT:scheduler_hints`): the create schema's `_hints` (known hints typed, any other
//! allowed), then the hints as the request spec keeps them (`RequestSpec._from_hints`: every
//! value a list, each item a string), which 2.100 shows. The simulator has no server groups,
//! so a `group` hint names one that does not exist; the other hints do not change where a
//! server lands here.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::fault::NovaFault;
use super::schema::check_name;
use crate::jsonschema::{self, Draft, Keyword, SchemaError, check_type, py_display};

/// `format: uuid` (`uuidutils.is_uuid_like`).
fn uuid_like(value: &Value) -> bool {
    value.as_str().is_some_and(|t| uuid::Uuid::parse_str(t).is_ok())
}

/// `{'type': 'string', 'format': 'uuid'}` at `field`.
fn check_uuid(field: &str, value: &Value) -> Result<(), SchemaError> {
    check_type(field, value, &["string"])?;
    if uuid_like(value) { Ok(()) } else { Err(SchemaError::at(field, value, jsonschema::not_a(value, "uuid"))) }
}

/// `oneOf` a uuid string or an array of them (`group`, `different_host`): any failure is
/// the `oneOf`'s own message.
fn check_uuid_or_uuids(field: &str, value: &Value) -> Result<(), SchemaError> {
    let valid = match value {
        Value::Array(items) => items.iter().all(uuid_like),
        other => uuid_like(other),
    };
    if valid { Ok(()) } else { Err(SchemaError::at(field, value, jsonschema::no_valid_schema(value))) }
}

/// `{'type': ['string', 'array'], 'items': item}` (`same_host`, `different_cell`): the items
/// of an array only.
fn check_string_or_array(field: &str, value: &Value, item: fn(&str, &Value) -> Result<(), SchemaError>) -> Result<(), SchemaError> {
    check_type(field, value, &["string", "array"])?;
    for (i, v) in value.as_array().into_iter().flatten().enumerate() {
        item(&i.to_string(), v)?;
    }
    Ok(())
}

fn check_string(field: &str, value: &Value) -> Result<(), SchemaError> {
    check_type(field, value, &["string"])
}

/// `re.search('^/[0-9a-f.:]+$', text)`.
fn cidr_matches(text: &str) -> bool {
    let body = text.strip_suffix('\n').unwrap_or(text).strip_prefix('/').unwrap_or_default();
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'.' || b == b':')
}

/// The `_hints` schema, property by property in its order.
fn check(field: &str, hints: &Value) -> Result<(), NovaFault> {
    check_type(field, hints, &["object"])?;
    let Some(object) = hints.as_object() else { return Ok(()) };
    if let Some(v) = object.get("group") {
        check_uuid_or_uuids("group", v)?;
    }
    if let Some(v) = object.get("different_host") {
        check_uuid_or_uuids("different_host", v)?;
    }
    if let Some(v) = object.get("same_host") {
        check_string_or_array("same_host", v, check_uuid)?;
    }
    if let Some(v) = object.get("query") {
        check_type("query", v, &["string", "object"])?;
    }
    if let Some(v) = object.get("target_cell") {
        check_name("target_cell", v)?;
    }
    if let Some(v) = object.get("different_cell") {
        check_string_or_array("different_cell", v, check_string)?;
    }
    if let Some(v) = object.get("build_near_host_ip") {
        check_type("build_near_host_ip", v, &["string"])?;
        let ip = v.as_str().unwrap_or_default();
        if ip.parse::<std::net::Ipv4Addr>().is_err() && ip.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(SchemaError::at("build_near_host_ip", v, jsonschema::no_valid_schema(v)).into());
        }
    }
    if let Some(v) = object.get("cidr") {
        Draft::Four.check("cidr", v, &[Keyword::Type(&["string"]), Keyword::Pattern("^/[0-9a-f.:]+$", cidr_matches)])?;
    }
    Ok(())
}

/// One item as oslo.versionedobjects' `String` field coerces it: a string, or `str()` of a
/// number (`True` for a boolean); anything else is a `ValueError` the API answers with a 500.
fn coerce(value: &Value) -> Result<String, NovaFault> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(py_display(value)),
        other => Err(NovaFault::internal_because(format!("a scheduler hint value {other} is not a string (RequestSpec.scheduler_hints)"))),
    }
}

/// The hints of a create body as the request spec keeps them: validated, `os:scheduler_hints`
/// winning over the legacy key, hints starting with `_nova` dropped (`compute.API.create`),
/// each value a list of strings.
pub fn from_create(body: &Value) -> Result<BTreeMap<String, Vec<String>>, NovaFault> {
    const KEYS: [&str; 2] = ["os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"];
    for key in KEYS {
        if let Some(hints) = body.get(key) {
            check(key, hints)?;
        }
    }
    let empty = Map::new();
    let hints = KEYS.iter().find_map(|k| body.get(*k)).and_then(Value::as_object).unwrap_or(&empty);
    let mut kept = BTreeMap::new();
    for (name, value) in hints.iter().filter(|(name, _)| !name.starts_with("_nova")) {
        let items = match value {
            Value::Array(items) => items.iter().map(coerce).collect::<Result<Vec<_>, _>>()?,
            single => vec![coerce(single)?],
        };
        kept.insert(name.clone(), items);
    }
    Ok(kept)
}

/// `_get_requested_instance_group`: a `group` hint names a server group, and there are none.
pub fn check_group(hints: &BTreeMap<String, Vec<String>>) -> Result<(), NovaFault> {
    match hints.get("group").and_then(|g| g.first()) {
        Some(group) => Err(NovaFault::bad_request(format!("Instance group {group} could not be found."))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const UUID: &str = "0b9d2a2e-6c1f-4a55-9a3e-5d0c9a1c4e11";

    fn kept(body: Value) -> BTreeMap<String, Vec<String>> {
        from_create(&body).unwrap()
    }

    fn refused(body: Value) -> (u16, String) {
        let e = from_create(&body).unwrap_err();
        (e.status.as_u16(), e.message)
    }

    #[test]
    fn hints_become_lists_of_strings() {
        assert!(kept(json!({"server": {}})).is_empty());
        let hints = kept(json!({"os:scheduler_hints": {"same_host": [UUID], "different_host": UUID, "custom": 5, "flag": true,
                                 "ratio": 1.5, "_nova_check_type": "rebuild", "query": "[\"=\", \"$free_ram_mb\", 1024]"}}));
        let expected: BTreeMap<String, Vec<String>> = [
            ("custom", vec!["5"]),
            ("different_host", vec![UUID]),
            ("flag", vec!["True"]),
            ("query", vec!["[\"=\", \"$free_ram_mb\", 1024]"]),
            ("ratio", vec!["1.5"]),
            ("same_host", vec![UUID]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
        .collect();
        assert_eq!(hints, expected);
        let legacy = kept(json!({"OS-SCH-HNT:scheduler_hints": {"a": "1"}}));
        assert_eq!(legacy["a"], ["1"]);
        let both = kept(json!({"OS-SCH-HNT:scheduler_hints": {"a": "legacy"}, "os:scheduler_hints": {"a": "new"}}));
        assert_eq!(both["a"], ["new"]);
        assert_eq!(refused(json!({"os:scheduler_hints": {"custom": {"nested": 1}}})).0, 500);
    }

    #[test]
    fn known_hints_are_typed() {
        assert_eq!(
            refused(json!({"os:scheduler_hints": 5})),
            (400, "Invalid input for field/attribute os:scheduler_hints. Value: 5. 5 is not of type 'object'".into())
        );
        assert_eq!(
            refused(json!({"os:scheduler_hints": {"group": "g1"}})),
            (400, "Invalid input for field/attribute group. Value: g1. 'g1' is not valid under any of the given schemas".into())
        );
        assert_eq!(
            refused(json!({"os:scheduler_hints": {"same_host": ["x"]}})),
            (400, "Invalid input for field/attribute 0. Value: x. 'x' is not a 'uuid'".into())
        );
        assert!(from_create(&json!({"os:scheduler_hints": {"same_host": "not checked as a uuid"}})).is_ok());
        assert_eq!(
            refused(json!({"os:scheduler_hints": {"cidr": "10.0.0.0/8"}})),
            (400, "Invalid input for field/attribute cidr. Value: 10.0.0.0/8. '10.0.0.0/8' does not match '^/[0-9a-f.:]+$'".into())
        );
        assert!(from_create(&json!({"os:scheduler_hints": {"cidr": "/24", "build_near_host_ip": "10.0.0.1"}})).is_ok());
        assert_eq!(
            refused(json!({"os:scheduler_hints": {"build_near_host_ip": "here"}})),
            (
                400,
                "Invalid input for field/attribute build_near_host_ip. Value: here. 'here' is not valid under any of the given schemas"
                    .into()
            )
        );
        let group = kept(json!({"os:scheduler_hints": {"group": UUID}}));
        assert_eq!(check_group(&group).unwrap_err().message, format!("Instance group {UUID} could not be found."));
    }
}
