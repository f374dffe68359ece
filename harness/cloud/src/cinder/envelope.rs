//! The `{"<key>": ...}` envelope most Cinder request bodies wrap their fields in, checked the
//! way its JSON schemas do (so each message names the same path Cinder's validator does).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::fault::Fault;
use super::http::schema_error;
use super::http_type_extras::specs;
use crate::jsonschema::{self, SchemaError};

/// The body as an object holding `key`: both, for callers that check the rest themselves.
pub(super) fn member<'a>(body: &'a Value, key: &str) -> Result<(&'a Map<String, Value>, &'a Value), Fault> {
    let Some(top) = body.as_object() else { return Err(SchemaError::root(body, jsonschema::not_of_type(body, &["object"])).into()) };
    let Some(inner) = top.get(key) else { return Err(SchemaError::root(body, jsonschema::required(key)).into()) };
    Ok((top, inner))
}

/// The value under `key`, which must be the body's only property.
pub(super) fn sole_member<'a>(body: &'a Value, key: &str) -> Result<&'a Value, Fault> {
    let (top, inner) = member(body, key)?;
    if let Some(message) = jsonschema::additional_properties(top, |k| k == key) {
        return Err(SchemaError::root(body, message).into());
    }
    Ok(inner)
}

/// The object under `key` (other top-level properties are not checked).
pub(super) fn member_object<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>, Fault> {
    let (_, inner) = member(body, key)?;
    inner.as_object().ok_or_else(|| schema_error(key, inner, &jsonschema::not_of_type(inner, &["object"])))
}

/// `parameter_types.extra_specs` as stored: a null value (where allowed) becomes "".
pub(super) fn string_specs(field: &str, value: &Value, allow_null: bool) -> Result<BTreeMap<String, String>, Fault> {
    Ok(specs(field, value, allow_null)?.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect())
}
