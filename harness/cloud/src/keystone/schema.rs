//! Keystone's request rules before its resources run: the JSON body check every request goes
//! through (`json_body_before_request`), werkzeug's own 404 and 405 pages (Keystone registers
//! no handler for them), and the user and project create schemas
//! (`keystone/identity/schema.py`, `keystone/resource/schema.py`) with the messages of
//! `keystone.api.validation` (`Invalid input for field/attribute <last path element>. Value:
//! <str(value)>. <jsonschema message>`, the bare message at the root). Keywords are checked in
//! the schemas' order; the first failure is the answer.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::http::bad_request;
use super::http_tokens::validation_error;
use crate::jsonschema::{self, Draft, Keyword, SchemaError, check_required, check_type};

/// The JSON media types werkzeug's `is_json` accepts: `application/json` and
/// `application/*+json`, parameters ignored.
fn is_json(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// `json_body_before_request`, which Flask runs before it routes: a request with a body
/// (whatever its method or URL) must say `application/json` (or nothing) and carry a JSON
/// object. The body is passed on as read.
pub async fn json_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    // Within oslo's size limit already (the `sizelimit` layer runs first).
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return validation_error("valid JSON", "request body");
    };
    if !bytes.is_empty() && !parts.uri.path().starts_with("/v3/OS-OAUTH2/") {
        let content_type = parts.headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        match content_type.as_deref() {
            None | Some("") => {}
            Some(ct) if is_json(ct) => {}
            Some(_) => return validation_error("application/json", "Content-Type header"),
        }
        if !matches!(serde_json::from_slice::<Value>(&bytes), Ok(Value::Object(_))) {
            return validation_error("valid JSON", "request body");
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// `request_body_json`: the body as a JSON object, `{}` when there is none (the
/// [`json_body`] layer refused anything else).
pub fn body_object(bytes: &Bytes) -> Value {
    match serde_json::from_slice(bytes) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::new()),
    }
}

/// werkzeug's `HTTPException.get_body`, what Flask answers for a routing failure.
fn werkzeug_page(status: StatusCode, description: &str) -> Response {
    let name = status.canonical_reason().unwrap_or_default();
    let code = status.as_u16();
    let page = format!("<!doctype html>\n<html lang=en>\n<title>{code} {name}</title>\n<h1>{name}</h1>\n<p>{description}</p>\n");
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// werkzeug's `NotFound`: no route has the URL.
pub async fn not_found() -> Response {
    not_found_page()
}

/// [`not_found`], for a handler whose route matched a wider pattern than Keystone's.
pub fn not_found_page() -> Response {
    werkzeug_page(
        StatusCode::NOT_FOUND,
        "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
    )
}

/// werkzeug's `MethodNotAllowed`: a route has the URL, not the method (`Allow` is set by
/// [`werkzeug_allow`]).
pub async fn method_not_allowed() -> Response {
    werkzeug_page(StatusCode::METHOD_NOT_ALLOWED, "The method is not allowed for the requested URL.")
}

/// axum's `Allow` (`GET,HEAD,POST`) as Flask lists a URL's methods: `OPTIONS` too (Flask
/// answers it for every route), comma and space between them.
pub fn werkzeug_allow(mut response: Response) -> Response {
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && let Some(allow) = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok())
    {
        let mut methods: Vec<&str> = allow.split(',').map(str::trim).filter(|m| !m.is_empty()).collect();
        methods.push("OPTIONS");
        methods.sort_unstable();
        methods.dedup();
        if let Ok(v) = HeaderValue::from_str(&methods.join(", ")) {
            response.headers_mut().insert(header::ALLOW, v);
        }
    }
    response
}

// ---- jsonschema ----

/// A jsonschema failure, as `keystone.api.validation` answers it (400).
fn schema_error(e: SchemaError) -> Response {
    bad_request(&e.detail())
}

/// A string's `minLength`, `maxLength` and `pattern` (the keywords pass anything else).
fn check_text(field: &str, value: &Value, max: usize, pattern: Keyword) -> Result<(), SchemaError> {
    Draft::Four.check(field, value, &[Keyword::MinLength(1), Keyword::MaxLength(max), pattern])
}
/// `[\S]+`, searched: some character that is not whitespace.
fn has_non_space(text: &str) -> bool {
    text.chars().any(|c| !c.is_whitespace())
}

/// `^[a-zA-Z0-9-]+$` (`domain_id`, the ids of `id_string`).
fn id_chars(text: &str) -> bool {
    let text = text.strip_suffix('\n').unwrap_or(text);
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `parameter_types.boolean`: a boolean, null, or one of its strings.
fn check_boolean(field: &str, value: &Value) -> Result<(), SchemaError> {
    check_type(field, value, &["boolean", "string", "null"])?;
    let choices = serde_json::json!([
        true, "True", "TRUE", "true", false, "False", "FALSE", "false", "", "1", "0", "y", "Y", "n", "N", "on", "ON", "off", "OFF", "yes",
        "no"
    ]);
    let choices = choices.as_array().map(Vec::as_slice).unwrap_or_default();
    if value.is_null() || choices.contains(value) {
        return Ok(());
    }
    Err(SchemaError::at(field, value, jsonschema::not_one_of(value, choices)))
}

/// `^[a-zA-Z0-9-]+$` (`domain_id`, the ids of `id_string`).
const ID_PATTERN: Keyword = Keyword::Pattern("^[a-zA-Z0-9-]+$", id_chars);
/// `[\S]+`, searched: some character that is not whitespace.
const NAME_PATTERN: Keyword = Keyword::Pattern("[\\S]+", has_non_space);

/// `_identity_name` (users: 255 characters) and the project `_name_properties` (64).
fn check_name(value: &Value, max: usize) -> Result<(), SchemaError> {
    check_type("name", value, &["string"])?;
    check_text("name", value, max, NAME_PATTERN)
}

/// The object under `kind` (`user`, `project`), or the root's error.
fn wrapped<'a>(body: &'a Value, kind: &str) -> Result<Option<&'a Map<String, Value>>, SchemaError> {
    match jsonschema::root_object(body)?.get(kind) {
        None => Ok(None),
        Some(v) => {
            check_type(kind, v, &["object"])?;
            Ok(v.as_object())
        }
    }
}

/// The root's `additionalProperties: False` beside `kind`.
fn only(body: &Value, kind: &str) -> Result<(), SchemaError> {
    match body.as_object().and_then(|o| jsonschema::additional_properties(o, |k| k == kind)) {
        Some(message) => Err(SchemaError::root(body, message)),
        None => Ok(()),
    }
}

/// `user_create_request`: `{"user": {...}}` with a `name`; returns the user object.
pub fn user_create(body: &Value) -> Result<Map<String, Value>, Response> {
    user(body).map_err(schema_error)
}

fn user(body: &Value) -> Result<Map<String, Value>, SchemaError> {
    let user = wrapped(body, "user")?;
    if let Some(user) = user {
        for field in ["domain_id", "default_project_id", "description", "enabled", "name", "password"] {
            let Some(value) = user.get(field) else { continue };
            match field {
                "domain_id" => {
                    check_type(field, value, &["string"])?;
                    check_text(field, value, 64, ID_PATTERN)?;
                }
                "enabled" => check_boolean(field, value)?,
                "name" => check_name(value, 255)?,
                _ => check_type(field, value, &["string", "null"])?,
            }
        }
        check_required("user", user, &["name"])?;
    }
    let Some(user) = user else {
        return Err(SchemaError::root(body, jsonschema::required("user")));
    };
    only(body, "user")?;
    Ok(user.clone())
}

/// `project_create_request_body`: the project object (the schema requires no `project` key:
/// `None` without one).
pub fn project_create(body: &Value) -> Result<Option<Map<String, Value>>, Response> {
    project(body).map_err(schema_error)
}

fn project(body: &Value) -> Result<Option<Map<String, Value>>, SchemaError> {
    let project = wrapped(body, "project")?;
    if let Some(project) = project {
        for field in ["description", "domain_id", "enabled", "is_domain", "parent_id", "name"] {
            let Some(value) = project.get(field) else { continue };
            match field {
                "description" => check_type(field, value, &["string", "null"])?,
                "domain_id" | "parent_id" => {
                    check_type(field, value, &["string", "null"])?;
                    check_text(field, value, 64, ID_PATTERN)?;
                }
                "enabled" | "is_domain" => check_boolean(field, value)?,
                _ => check_name(value, 64)?,
            }
        }
        check_required("project", project, &["name"])?;
    }
    only(body, "project")?;
    Ok(project.cloned())
}

/// `role_create_request_body` / `domain_create_request_body` (`create`: `name` required) and
/// their update bodies (`minProperties: 1`): the object under `kind` (`role`, `domain`).
pub fn role_or_domain(body: &Value, kind: &str, create: bool) -> Result<Map<String, Value>, Response> {
    role_or_domain_object(body, kind, create).map_err(schema_error)
}

fn role_or_domain_object(body: &Value, kind: &str, create: bool) -> Result<Map<String, Value>, SchemaError> {
    let object = wrapped(body, kind)?;
    if let Some(object) = object {
        for field in ["description", "domain_id", "enabled", "name"] {
            let Some(value) = object.get(field) else { continue };
            match field {
                "description" => check_type(field, value, &["string", "null"])?,
                "domain_id" if kind == "role" => {
                    check_type(field, value, &["string", "null"])?;
                    check_text(field, value, 64, ID_PATTERN)?;
                }
                "enabled" if kind == "domain" => check_boolean(field, value)?,
                "name" => check_name(value, if kind == "role" { 255 } else { 64 })?,
                _ => {}
            }
        }
        if create {
            check_required(kind, object, &["name"])?;
        } else if object.is_empty() {
            return Err(SchemaError::at(kind, &Value::Object(object.clone()), "{} does not have enough properties".to_owned()));
        }
    }
    let Some(object) = object else {
        return Err(SchemaError::root(body, jsonschema::required(kind)));
    };
    only(body, kind)?;
    Ok(object.clone())
}

/// A `{kind: {...}}` body whose listed fields are strings (or null where `nullable`), with
/// `required` fields (`credential_create`, `group_create` and their updates).
pub fn string_fields(
    body: &Value,
    kind: &str,
    required: &[&str],
    strings: &[&str],
    nullable: &[&str],
) -> Result<Map<String, Value>, Response> {
    string_object(body, kind, required, strings, nullable).map_err(schema_error)
}

fn string_object(
    body: &Value,
    kind: &str,
    required: &[&str],
    strings: &[&str],
    nullable: &[&str],
) -> Result<Map<String, Value>, SchemaError> {
    let object = wrapped(body, kind)?;
    if let Some(object) = object {
        for field in strings {
            let Some(value) = object.get(*field) else { continue };
            if nullable.contains(field) {
                check_type(field, value, &["string", "null"])?;
            } else if *field == "name" {
                check_name(value, 64)?;
            } else {
                check_type(field, value, &["string"])?;
            }
        }
        check_required(kind, object, required)?;
    }
    let Some(object) = object else {
        return Err(SchemaError::root(body, jsonschema::required(kind)));
    };
    only(body, kind)?;
    Ok(object.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn message(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()["error"]["message"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn user_and_project_messages() {
        let long = "u".repeat(256);
        let e = user_create(&json!({"user": {"name": long}})).unwrap_err();
        assert_eq!(message(e).await, format!("Invalid input for field/attribute name. Value: {long}. '{long}' is too long"));
        let e = user_create(&json!({"user": {"name": "   "}})).unwrap_err();
        assert_eq!(message(e).await, r"Invalid input for field/attribute name. Value:    . '   ' does not match '[\\S]+'");
        let e = user_create(&json!({"user": {"name": "x", "enabled": "maybe"}})).unwrap_err();
        assert!(
            message(e).await.starts_with("Invalid input for field/attribute enabled. Value: maybe. 'maybe' is not one of [True, 'True'")
        );
        let e = user_create(&json!({"user": {}})).unwrap_err();
        assert_eq!(message(e).await, "Invalid input for field/attribute user. Value: {}. 'name' is a required property");
        let e = user_create(&json!({"x": 1})).unwrap_err();
        assert_eq!(message(e).await, "'user' is a required property");
        let e = project_create(&json!({"project": {"name": "p".repeat(65)}})).unwrap_err();
        assert!(message(e).await.ends_with("' is too long"));
        assert!(project_create(&json!({"project": {"name": "p".repeat(64)}})).is_ok());
        let e = project_create(&json!({"project": {"name": "p", "domain_id": "a b"}})).unwrap_err();
        assert_eq!(message(e).await, "Invalid input for field/attribute domain_id. Value: a b. 'a b' does not match '^[a-zA-Z0-9-]+$'");
        assert_eq!(project_create(&json!({})).unwrap(), None);
    }
}
