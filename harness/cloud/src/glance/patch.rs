//! `PATCH /v2/images/{id}` (A5): glance's JSON-patch dialects, parsed and checked as its
//! `RequestDeserializer.update` does, then applied as `ImagesController._do_<op>`. PATCH never
//! touches image data, so it never verifies a signature.

use serde_json::Value;

use super::model::{Image, not_authorized};
use super::schema::{self, READONLY, check_non_negative, is_reserved};
use super::webob::Fault;
use crate::jsonschema::py_display as pystr;
use crate::wire::AuthContext;

/// The two media types, sorted as glance lists them in `Accept-Patch`.
pub const V20: &str = "application/openstack-images-v2.0-json-patch";
pub const V21: &str = "application/openstack-images-v2.1-json-patch";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Remove,
    Replace,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        match s {
            "add" => Some(Op::Add),
            "remove" => Some(Op::Remove),
            "replace" => Some(Op::Replace),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Remove => "remove",
            Op::Replace => "replace",
        }
    }
}

/// One parsed change. `draft4` marks the v2.0 dialect, where `add` refuses existing keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub op: Op,
    pub path: Vec<String>,
    pub value: Option<Value>,
    pub draft4: bool,
}

/// 415 for anything but the two patch media types.
pub fn check_content_type(content_type: Option<&str>) -> Result<bool, Fault> {
    let media = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match media.as_deref() {
        Some(V20) => Ok(true),
        Some(V21) => Ok(false),
        _ => Err(Fault::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Image PATCH expects Content-Type one of: {V20}, {V21}"),
        )
        .with_header(axum::http::HeaderName::from_static("accept-patch"), format!("{V20}, {V21}"))),
    }
}

/// Parses the body (already JSON) into changes, with glance's 400/403 messages.
pub fn parse(body: &Value, draft4: bool) -> Result<Vec<Change>, Fault> {
    let Value::Array(items) = body else {
        return Err(Fault::bad_request("Request body must be a JSON array of operation objects."));
    };
    let mut changes = Vec::new();
    for raw in items {
        let Value::Object(raw) = raw else {
            return Err(Fault::bad_request("Operations must be JSON objects."));
        };
        let (op, pointer) = if draft4 {
            let mut found = None;
            for name in ["add", "remove", "replace"] {
                if raw.contains_key(name) {
                    if found.is_some() {
                        return Err(Fault::bad_request(
                            "Operation objects must contain only one member named \"add\", \"remove\", or \"replace\".",
                        ));
                    }
                    found = Op::parse(name);
                }
            }
            let op = found.ok_or_else(|| {
                Fault::bad_request("Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".")
            })?;
            (op, raw.get(op.name()).cloned().unwrap_or(Value::Null))
        } else {
            let op = match raw.get("op") {
                None => {
                    return Err(Fault::bad_request(
                        "Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.",
                    ));
                }
                Some(v) => v.as_str().and_then(Op::parse).ok_or_else(|| {
                    Fault::bad_request(format!("Invalid operation: `{}`. It must be one of the following: add, remove, replace.", pystr(v)))
                })?,
            };
            let path = raw.get("path").cloned().ok_or_else(|| Fault::bad_request("Unable to find 'path' in JSON Schema change"))?;
            (op, path)
        };
        let path = decode_pointer(&pointer)?;
        let depth = match (path[0].as_str(), op) {
            ("locations", Op::Add | Op::Remove) => 2,
            _ => 1,
        };
        if path.len() != depth {
            return Err(Fault::bad_request(format!("Invalid JSON pointer for this resource: '/{}'", path.join("/"))));
        }
        let value = match op {
            Op::Remove => None,
            _ => Some(
                raw.get("value")
                    .cloned()
                    .ok_or_else(|| Fault::bad_request(format!("Operation \"{}\" requires a member named \"value\".", op.name())))?,
            ),
        };
        let change = Change { op, path, value, draft4 };
        validate(&change)?;
        changes.push(change);
    }
    Ok(changes)
}

/// `_decode_json_pointer` with `_validate_json_pointer`'s messages.
fn decode_pointer(pointer: &Value) -> Result<Vec<String>, Fault> {
    let p = match pointer {
        Value::String(s) => s.as_str(),
        other => return Err(Fault::bad_request(format!("Pointer `{}` does not start with \"/\".", pystr(other)))),
    };
    let bad = |what: &str| Fault::bad_request(format!("Pointer `{p}` {what}"));
    if !p.starts_with('/') {
        return Err(bad("does not start with \"/\"."));
    }
    // re.search(r'/\s*?/', pointer[1:])
    let rest = &p[1..];
    let adjacent = rest.match_indices('/').any(|(i, _)| rest[i + 1..].trim_start().starts_with('/'));
    if adjacent {
        return Err(bad("contains adjacent \"/\"."));
    }
    if p.len() > 1 && p.ends_with('/') {
        return Err(bad("end with \"/\"."));
    }
    if rest.trim() == "/" {
        return Err(bad("does not contains valid token."));
    }
    let bad_tilde = p.match_indices('~').any(|(i, _)| !matches!(p.as_bytes().get(i + 1), Some(b'0' | b'1')));
    if bad_tilde {
        return Err(bad("contains \"~\" not part of a recognized escape sequence."));
    }
    Ok(p.trim_start_matches('/').split('/').map(|part| part.replace("~1", "/").replace("~0", "~").trim().to_owned()).collect())
}

/// `_validate_change`: read-only and reserved names, then the value against the schema.
fn validate(change: &Change) -> Result<(), Fault> {
    let root = change.path[0].as_str();
    if READONLY.contains(&root) {
        return Err(Fault::forbidden(format!("Attribute '{root}' is read-only.")));
    }
    if is_reserved(root) {
        return Err(Fault::forbidden(format!("Attribute '{root}' is reserved.")));
    }
    match (&change.value, root) {
        (_, "locations") | (None, _) => Ok(()),
        (Some(value), _) => schema::check_property(root, value).map_err(Fault::bad_request),
    }
}

/// Applies one change to the image (`_do_add`, `_do_remove`, `_do_replace`).
pub fn apply(image: &mut Image, change: &Change, ctx: &AuthContext) -> Result<(), Fault> {
    let root = change.path[0].as_str();
    let value = change.value.clone().unwrap_or(Value::Null);
    let exists = Image::has_attribute(root) || image.properties.contains_key(root);
    match change.op {
        Op::Replace => {
            if root == "locations" {
                let empty = value.as_array().is_none_or(|a| a.is_empty());
                return Err(Fault::forbidden(if empty {
                    "Cannot set locations to empty list."
                } else {
                    "It's not allowed to update locations if locations are invisible."
                }));
            }
            if root == "owner" && !ctx.is_admin() {
                return Err(Fault::forbidden("Owner can't be updated by non admin."));
            }
            check_policy(root, &value, ctx)?;
            if !exists {
                return Err(Fault::conflict(format!("Property {root} does not exist.")));
            }
            set(image, root, value)
        }
        Op::Add => {
            if root == "locations" {
                return Err(Fault::forbidden("It's not allowed to add locations if locations are invisible."));
            }
            check_policy(root, &value, ctx)?;
            if exists && change.draft4 {
                return Err(Fault::conflict(format!("Property {root} already present.")));
            }
            set(image, root, value)
        }
        Op::Remove => {
            if root == "locations" {
                return Err(Fault::forbidden("It's not allowed to remove locations if locations are invisible."));
            }
            if Image::has_attribute(root) {
                return Err(Fault::forbidden(format!("Property {root} may not be removed.")));
            }
            if image.properties.remove(root).is_none() {
                return Err(Fault::conflict(format!("Property {root} does not exist.")));
            }
            Ok(())
        }
    }
}

/// `update_property`'s extra policies: only admins may make an image public.
fn check_policy(root: &str, value: &Value, ctx: &AuthContext) -> Result<(), Fault> {
    if root == "visibility" && value.as_str() == Some("public") && !ctx.is_admin() {
        return Err(not_authorized("publicize_image"));
    }
    Ok(())
}

fn set(image: &mut Image, root: &str, value: Value) -> Result<(), Fault> {
    let text = || value.as_str().map(str::to_owned);
    match root {
        "name" => image.name = text(),
        "owner" => image.owner = text(),
        "container_format" => image.container_format = text(),
        "disk_format" => image.disk_format = text(),
        "visibility" => image.visibility = text().unwrap_or_else(|| image.visibility.clone()),
        "protected" => image.protected = value.as_bool().unwrap_or(image.protected),
        "os_hidden" => image.os_hidden = value.as_bool().unwrap_or(image.os_hidden),
        "min_disk" | "min_ram" => {
            let n = value.as_i64();
            check_non_negative(root, n)?;
            let n = n.unwrap_or(0);
            if root == "min_disk" { image.min_disk = n } else { image.min_ram = n }
        }
        "tags" => {
            let mut tags: Vec<String> = Vec::new();
            for t in value.as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !tags.iter().any(|x| x == t) {
                    tags.push(t.to_owned());
                }
            }
            image.tags = tags;
        }
        _ => {
            image.properties.insert(root.to_owned(), text().unwrap_or_default());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(body: Value, draft4: bool) -> String {
        parse(&body, draft4).unwrap_err().explanation
    }

    #[test]
    fn parse_errors_match_glance() {
        assert_eq!(err(json!({}), false), "Request body must be a JSON array of operation objects.");
        assert_eq!(err(json!([1]), false), "Operations must be JSON objects.");
        assert!(err(json!([{"path": "/a"}]), false).starts_with("Unable to find `op`"));
        assert_eq!(
            err(json!([{"op": "move", "path": "/a"}]), false),
            "Invalid operation: `move`. It must be one of the following: add, remove, replace."
        );
        assert_eq!(err(json!([{"op": "add", "path": "a", "value": "x"}]), false), "Pointer `a` does not start with \"/\".");
        assert_eq!(err(json!([{"op": "add", "path": "/a//b", "value": "x"}]), false), "Pointer `/a//b` contains adjacent \"/\".");
        assert_eq!(err(json!([{"op": "add", "path": "/a/", "value": "x"}]), false), "Pointer `/a/` end with \"/\".");
        assert_eq!(
            err(json!([{"op": "add", "path": "/a~2", "value": "x"}]), false),
            "Pointer `/a~2` contains \"~\" not part of a recognized escape sequence."
        );
        assert_eq!(err(json!([{"op": "add", "path": "/a/b", "value": "x"}]), false), "Invalid JSON pointer for this resource: '/a/b'");
        assert_eq!(err(json!([{"op": "add", "path": "/a"}]), false), "Operation \"add\" requires a member named \"value\".");
        assert_eq!(
            err(json!([{"op": "add", "path": "/a", "value": 1}]), false),
            "Provided object does not match schema 'image': 1 is not of type 'string'"
        );
        assert_eq!(err(json!([{"op": "replace", "path": "/status", "value": "active"}]), false), "Attribute 'status' is read-only.");
        assert_eq!(err(json!([{"op": "add", "path": "/os_glance_x", "value": "a"}]), false), "Attribute 'os_glance_x' is reserved.");
        assert_eq!(
            err(json!([{"add": "/a", "remove": "/a"}]), true),
            "Operation objects must contain only one member named \"add\", \"remove\", or \"replace\"."
        );
        let ok = parse(&json!([{"replace": "/a~1b", "value": "v"}]), true).unwrap();
        assert_eq!(ok[0].path, vec!["a/b".to_owned()]);
        assert_eq!(ok[0].op, Op::Replace);
    }
}
