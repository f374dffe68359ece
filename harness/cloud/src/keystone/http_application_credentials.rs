//! `/v3/users/{user_id}/application_credentials[/{id}]` (`keystone/api/users.py`'s
//! `UserAppCredListCreateResource` and `UserAppCredGetDeleteResource`), with Keystone's default
//! policies (`keystone/common/policies/application_credential.py`), its request schema
//! (`keystone/application_credential/schema.py`, jsonschema's messages) and its errors.
//!
//! Access rules are refused (400): the simulated services do not enforce them, and a credential
//! that silently allowed more than its rules say would be worse than none. An empty list is
//! accepted, as Keystone stores nothing for it.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::application_credentials::{ApplicationCredential, NewApplicationCredential, generate_secret, now_micros};
use super::http::{KeystoneState, bad_request, create_error};
use super::http_tokens::{forbidden_action, validation_error};
use super::tokens::TokenError;
use crate::jsonschema::{self, Draft, Keyword, SchemaError};
use crate::wire::{AuthContext, keystone_error, unauthorized};

fn store_error(e: impl std::fmt::Display) -> Response {
    keystone_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

fn not_found(id: &str) -> Response {
    keystone_error(StatusCode::NOT_FOUND, &format!("Could not find Application Credential: {id}."))
}

/// `users.py`'s `_check_unrestricted_application_credential`.
fn check_unrestricted(s: &KeystoneState, caller: &AuthContext) -> Result<(), Response> {
    let (_, info) = s.identity.inspect(&caller.token).map_err(|e| match e {
        TokenError::Store(e) => store_error(e),
        _ => unauthorized(&s.identity),
    })?;
    match info.application_credential {
        Some(cred) if !cred.is_unrestricted() => {
            Err(forbidden_action("Using method 'application_credential' is not allowed for managing additional application credentials."))
        }
        _ => Ok(()),
    }
}

/// The default policies: `rule:owner` for create, `admin_required or owner` otherwise (the
/// owner being the credential's user when it exists, as `_update_request_user_id_attribute`
/// makes it).
fn enforce(caller: &AuthContext, owner: &str, action: &str, admin_allowed: bool) -> Result<(), Response> {
    if caller.user_id == owner || (admin_allowed && caller.is_admin()) {
        Ok(())
    } else {
        Err(forbidden_action(&format!("identity:{action}")))
    }
}

fn format_expiry(micros: i64) -> Value {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(&f).ok())
        .map_or(Value::Null, Value::String)
}

/// The `application_credential` object: the table's columns (`secret_hash` dropped), the roles
/// as `role_api.get_role` gives them, the self link Keystone builds (`/v3/application_credentials/
/// {id}`, the resource having no `api_prefix`), and `secret` only in the answer to the create.
fn app_cred_json(c: &ApplicationCredential, base: &str, secret: Option<&str>) -> Value {
    let roles: Vec<Value> = c
        .roles
        .iter()
        .map(|r| json!({"id": r.id, "name": r.name, "domain_id": null, "description": null, "options": super::http::role_options(&r.name)}))
        .collect();
    let mut v = json!({
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "system": c.system,
        "expires_at": c.expires_at.map_or(Value::Null, format_expiry),
        "unrestricted": c.unrestricted,
        "roles": roles,
        "links": {"self": format!("{base}/application_credentials/{}", c.id)},
    });
    if let Some(secret) = secret {
        v["secret"] = json!(secret);
    }
    v
}

/// Keystone's `json_body_before_request`, then `get_json(silent=True) or {}`.
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !(content_type.is_empty() || mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))) {
        return Err(validation_error("application/json", "Content-Type header"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(validation_error("valid JSON", "request body")),
    }
}

/// jsonschema errors as `keystone.api.validation` words them; the one reported is the
/// shallowest (jsonschema's `best_match`), the first in schema order among equals.
#[derive(Default)]
struct Errors(Vec<(usize, SchemaError)>);

impl Errors {
    fn add(&mut self, path: &[&str], instance: &Value, message: String) {
        let error = match path.last() {
            None => SchemaError::root(instance, message),
            Some(last) => SchemaError::at(last, instance, message),
        };
        self.0.push((path.len(), error));
    }

    fn best(self) -> Option<String> {
        let depth = self.0.iter().map(|(d, _)| *d).min()?;
        self.0.into_iter().find(|(d, _)| *d == depth).map(|(_, e)| e.detail())
    }

    /// The first of `keywords` the instance fails; true when it fails none.
    fn check(&mut self, path: &[&str], v: &Value, keywords: &[Keyword]) -> bool {
        match keywords.iter().find_map(|k| Draft::Four.error(v, *k)) {
            Some(message) => {
                self.add(path, v, message);
                false
            }
            None => true,
        }
    }

    /// `type`; true when the instance has one of the types.
    fn types(&mut self, path: &[&str], v: &Value, types: &[&str]) -> bool {
        self.check(path, v, &[Keyword::Type(types)])
    }

    /// `parameter_types.name`: a string of 1 to 255 characters with a non-space.
    fn name(&mut self, path: &[&str], v: &Value) {
        let non_space: fn(&str) -> bool = |s| !s.chars().all(char::is_whitespace);
        self.check(
            path,
            v,
            &[Keyword::Type(&["string"]), Keyword::MinLength(1), Keyword::MaxLength(255), Keyword::Pattern(r"[\S]+", non_space)],
        );
    }

    /// `parameter_types.id_string`.
    fn id_string(&mut self, path: &[&str], v: &Value) {
        let id_chars: fn(&str) -> bool = |s| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        self.check(
            path,
            v,
            &[Keyword::Type(&["string"]), Keyword::MinLength(1), Keyword::MaxLength(64), Keyword::Pattern("^[a-zA-Z0-9-]+$", id_chars)],
        );
    }

    fn additional(&mut self, path: &[&str], object: &Map<String, Value>, allowed: &[&str]) {
        if let Some(message) = jsonschema::additional_properties(object, |k| allowed.contains(&k)) {
            self.add(path, &Value::Object(object.clone()), message);
        }
    }
}

/// The properties of the create schema, in its order.
const CREATE_PROPERTIES: [&str; 10] =
    ["id", "secret", "name", "description", "expires_at", "project_id", "access_rules", "unrestricted", "system", "roles"];

/// `application_credential_create_request_body`.
fn validate_create(body: &Value) -> Option<String> {
    let mut errors = Errors::default();
    let top = body.as_object().cloned().unwrap_or_default();
    if let Some(app) = top.get("application_credential") {
        let path = ["application_credential"];
        if errors.types(&path, app, &["object"]) {
            let o = app.as_object().cloned().unwrap_or_default();
            for key in &CREATE_PROPERTIES {
                let Some(v) = o.get(*key) else { continue };
                let p = ["application_credential", *key];
                match *key {
                    "id" | "project_id" => {
                        errors.types(&p, v, &["string"]);
                    }
                    "secret" | "description" | "expires_at" | "system" => {
                        errors.types(&p, v, &["string", "null"]);
                    }
                    "name" => errors.name(&p, v),
                    "unrestricted" => {
                        errors.types(&p, v, &["boolean", "null"]);
                    }
                    "access_rules" => {
                        if errors.types(&p, v, &["array"]) {
                            for (i, rule) in v.as_array().into_iter().flatten().enumerate() {
                                let index = i.to_string();
                                errors.types(&["application_credential", "access_rules", &index], rule, &["object"]);
                            }
                        }
                    }
                    _ => validate_roles(&mut errors, v),
                }
            }
            errors.additional(&path, &o, &CREATE_PROPERTIES);
            if !o.contains_key("name") {
                errors.add(&path, app, jsonschema::required("name"));
            }
        }
    } else {
        errors.add(&[], body, jsonschema::required("application_credential"));
    }
    errors.additional(&[], &top, &["application_credential"]);
    errors.best()
}

fn validate_roles(errors: &mut Errors, roles: &Value) {
    if !errors.types(&["application_credential", "roles"], roles, &["array"]) {
        return;
    }
    for (i, role) in roles.as_array().into_iter().flatten().enumerate() {
        let index = i.to_string();
        let path = ["application_credential", "roles", index.as_str()];
        if !errors.types(&path, role, &["object"]) {
            continue;
        }
        let o = role.as_object().cloned().unwrap_or_default();
        if let Some(id) = o.get("id") {
            errors.id_string(&["application_credential", "roles", &index, "id"], id);
        }
        if let Some(name) = o.get("name") {
            errors.name(&["application_credential", "roles", &index, "name"], name);
        }
        if o.is_empty() {
            errors.add(&path, role, jsonschema::too_few_properties(role, 1));
        } else if o.len() > 1 {
            errors.add(&path, role, jsonschema::too_many_properties(role, 1));
        }
        errors.additional(&path, &o, &["id", "name"]);
    }
}

/// `utils.parse_expiration_date`: ISO 8601 in UTC (a `Z` is appended when missing), not in
/// the past. Microseconds since the epoch.
fn parse_expiration(text: &str) -> Result<i64, Response> {
    const TIMESTAMP: &str = "Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.";
    const PAST: &str = "The 'expires_at' must not be before now. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.";
    let s = text.strip_suffix('Z').unwrap_or(text);
    let (date, time_part) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let number = |t: &str, len: usize| (t.len() == len && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse::<u32>().ok()).flatten();
    let parsed = (|| {
        let mut d = date.split('-');
        let (year, month, day) = (number(d.next()?, 4)?, number(d.next()?, 2)?, number(d.next()?, 2)?);
        if d.next().is_some() {
            return None;
        }
        let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
        let date = time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
        let (mut hour, mut minute, mut second, mut micro) = (0, 0, 0, 0);
        if let Some(t) = time_part {
            let (hms, fraction) = t.split_once('.').map_or((t, None), |(a, b)| (a, Some(b)));
            let mut parts = hms.split(':');
            hour = number(parts.next()?, 2)?;
            minute = number(parts.next()?, 2)?;
            second = parts.next().map_or(Some(0), |x| number(x, 2))?;
            if parts.next().is_some() {
                return None;
            }
            if let Some(f) = fraction {
                if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                micro = format!("{:0<6}", &f[..f.len().min(6)]).parse().ok()?;
            }
        }
        let t = time::Time::from_hms_micro(u8::try_from(hour).ok()?, u8::try_from(minute).ok()?, u8::try_from(second).ok()?, micro).ok()?;
        Some((date.with_time(t).assume_utc().unix_timestamp_nanos() / 1000) as i64)
    })();
    let micros = parsed.ok_or_else(|| bad_request(TIMESTAMP))?;
    if micros < now_micros() {
        return Err(bad_request(PAST));
    }
    Ok(micros)
}

/// The token's roles as `(id, name)`.
fn token_roles(s: &KeystoneState, caller: &AuthContext) -> Result<Vec<(String, String)>, Response> {
    let all = s.identity.roles(None).map_err(store_error)?;
    Ok(caller.roles.iter().filter_map(|name| all.iter().find(|r| &r.name == name)).map(|r| (r.id.clone(), r.name.clone())).collect())
}

/// `_get_roles`: the requested roles (by id, or by name: `Role <name> is not defined`, a 404)
/// must all be in the token; none requested: the token's.
fn requested_roles(s: &KeystoneState, caller: &AuthContext, app: &Value) -> Result<Vec<String>, Response> {
    let token_roles = token_roles(s, caller)?;
    let requested = app.get("roles").and_then(Value::as_array).filter(|r| !r.is_empty());
    let Some(requested) = requested else {
        return Ok(token_roles.into_iter().map(|(id, _)| id).collect());
    };
    let mut ids = Vec::new();
    for role in requested {
        let id = match (role.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()), role.get("name").and_then(Value::as_str)) {
            (Some(id), _) => id.to_owned(),
            (None, name) => {
                let name = name.unwrap_or_default();
                let found = s.identity.roles(Some(name)).map_err(store_error)?;
                found
                    .into_iter()
                    .next()
                    .map(|r| r.id)
                    .ok_or_else(|| keystone_error(StatusCode::NOT_FOUND, &format!("Role {name} is not defined")))?
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.iter().any(|id| !token_roles.iter().any(|(t, _)| t == id)) {
        return Err(bad_request("Invalid application credential: Cannot create an application credential with unassigned role"));
    }
    Ok(ids)
}

pub(super) async fn create_application_credential(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(message) = validate_create(&body) {
        return bad_request(&message);
    }
    // `identity:create_application_credential` is `rule:owner`: not even an admin creates
    // one for another user.
    if let Err(r) = enforce(&caller, &user_id, "create_application_credential", false).and_then(|()| check_unrestricted(&s, &caller)) {
        return r;
    }
    let app = &body["application_credential"];
    let role_ids = match requested_roles(&s, &caller, app) {
        Ok(ids) => ids,
        Err(r) => return r,
    };
    let expires_at = match app.get("expires_at").and_then(Value::as_str).filter(|e| !e.is_empty()) {
        Some(text) => match parse_expiration(text) {
            Ok(micros) => Some(micros),
            Err(r) => return r,
        },
        None => None,
    };
    if app.get("access_rules").and_then(Value::as_array).is_some_and(|r| !r.is_empty()) {
        return bad_request("Invalid application credential: access rules are not supported by sigstack's simulated Keystone");
    }
    let str_field = |key: &str| app.get(key).and_then(Value::as_str).map(str::to_owned);
    let secret = str_field("secret").filter(|s| !s.is_empty()).unwrap_or_else(generate_secret);
    let new = NewApplicationCredential {
        name: str_field("name").unwrap_or_default(),
        description: str_field("description"),
        secret: secret.clone(),
        user_id,
        project_id: caller.project_id.clone(),
        system: str_field("system"),
        expires_at,
        unrestricted: app.get("unrestricted").and_then(Value::as_bool),
        role_ids,
    };
    match s.identity.create_application_credential(&new) {
        Ok(cred) => {
            let body = json!({"application_credential": app_cred_json(&cred, &s.identity.public_url(), Some(&secret))});
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Err(e) => create_error(e),
    }
}

pub(super) async fn list_application_credentials(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path(user_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = enforce(&caller, &user_id, "list_application_credentials", true) {
        return r;
    }
    let base = s.identity.public_url();
    match s.identity.application_credentials(&user_id, query.get("name").map(String::as_str)) {
        Ok(creds) => {
            let items: Vec<Value> = creds.iter().map(|c| app_cred_json(c, &base, None)).collect();
            let query = raw.filter(|q| !q.is_empty()).map(|q| format!("?{q}")).unwrap_or_default();
            let links = json!({"next": null, "self": format!("{base}/users/{user_id}/application_credentials{query}"), "previous": null});
            Json(json!({"application_credentials": items, "links": links})).into_response()
        }
        Err(e) => store_error(e),
    }
}

/// The credential and the policy check on its owner (the path's user when there is none).
fn lookup(s: &KeystoneState, caller: &AuthContext, user_id: &str, id: &str, action: &str) -> Result<ApplicationCredential, Response> {
    let cred = s.identity.application_credential(id).map_err(store_error)?;
    let owner = cred.as_ref().map_or(user_id, |c| c.user_id.as_str());
    enforce(caller, owner, action, true)?;
    if action == "delete_application_credential" {
        check_unrestricted(s, caller)?;
    }
    cred.ok_or_else(|| not_found(id))
}

pub(super) async fn show_application_credential(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((user_id, id)): Path<(String, String)>,
) -> Response {
    match lookup(&s, &caller, &user_id, &id, "get_application_credential") {
        Ok(cred) => Json(json!({"application_credential": app_cred_json(&cred, &s.identity.public_url(), None)})).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn delete_application_credential(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((user_id, id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = lookup(&s, &caller, &user_id, &id, "delete_application_credential") {
        return r;
    }
    match s.identity.delete_application_credential(&id) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => not_found(&id),
        Err(e) => store_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_errors_are_jsonschemas() {
        let check = |body: Value| validate_create(&body);
        assert_eq!(check(json!({})).unwrap(), "'application_credential' is a required property");
        assert_eq!(
            check(json!({"application_credential": {"description": "d"}})).unwrap(),
            "Invalid input for field/attribute application_credential. Value: {'description': 'd'}. 'name' is a required property"
        );
        assert_eq!(
            check(json!({"application_credential": {"name": ""}})).unwrap(),
            "Invalid input for field/attribute name. Value: . '' should be non-empty"
        );
        assert_eq!(
            check(json!({"application_credential": {"name": "a", "unrestricted": "yes"}})).unwrap(),
            "Invalid input for field/attribute unrestricted. Value: yes. 'yes' is not of type 'boolean', 'null'"
        );
        assert_eq!(
            check(json!({"application_credential": {"name": "a", "nme": 1}})).unwrap(),
            "Invalid input for field/attribute application_credential. Value: {'name': 'a', 'nme': 1}. Additional properties are not allowed ('nme' was unexpected)"
        );
        assert_eq!(
            check(json!({"application_credential": {"name": "a", "roles": [{"id": "x", "name": "y"}]}})).unwrap(),
            "Invalid input for field/attribute 0. Value: {'id': 'x', 'name': 'y'}. {'id': 'x', 'name': 'y'} has too many properties"
        );
        assert_eq!(check(json!({"application_credential": {"name": "a", "roles": [{"name": "member"}], "expires_at": null}})), None);
    }

    #[test]
    fn expiration_dates_parse_as_keystone_does() {
        assert_eq!(parse_expiration("2999-01-02T03:04:05").unwrap(), parse_expiration("2999-01-02T03:04:05.000000Z").unwrap());
        assert!(parse_expiration("2999-01-02").is_ok());
        assert_eq!(parse_expiration("yesterday").unwrap_err().status(), StatusCode::BAD_REQUEST);
        assert_eq!(parse_expiration("2000-01-01T00:00:00Z").unwrap_err().status(), StatusCode::BAD_REQUEST);
        assert_eq!(format_expiry(parse_expiration("2999-01-02T03:04:05.5").unwrap()), json!("2999-01-02T03:04:05.500000"));
    }
}
