//! `/v3/auth/tokens`: issuing tokens with the `password`, `token` (rescoping) and
//! `application_credential` methods (`keystone/api/auth.py`, `keystone/auth/core.py`,
//! `keystone/auth/plugins/`), validating and revoking them.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::http::{KeystoneState, bad_request, domain_ref};
use super::model::{AuthError, DomainRef, Identity, ProjectRef, UserRef};
use super::tokens::{Grant, Scope, TokenError, TokenInfo};
use crate::jsonschema::{self, py_repr};
use crate::wire::{AuthContext, format_keystone, keystone_error, unauthorized};

/// Keystone's `ValidationError`: `Expecting to find <attribute> in <target>. ...` (400).
pub(super) fn validation_error(attribute: &str, target: &str) -> Response {
    bad_request(&format!(
        "Expecting to find {attribute} in {target}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error."
    ))
}

/// `ForbiddenAction` (403): `You are not authorized to perform the requested action: <action>.`
/// (an action ending in a period gets a second one, as in Keystone).
pub(super) fn forbidden_action(action: &str) -> Response {
    keystone_error(StatusCode::FORBIDDEN, &format!("You are not authorized to perform the requested action: {action}."))
}

fn store_error(e: impl std::fmt::Display) -> Response {
    keystone_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

/// `{"id", "name"}` of the domain a user or project (by id) is in.
fn domain_of(
    identity: &Identity,
    lister: fn(&Identity, Option<&str>) -> Result<Vec<super::model::Entity>, crate::store::StoreError>,
    id: &str,
) -> Value {
    let domain_id = lister(identity, None)
        .ok()
        .and_then(|all| all.into_iter().find(|e| e.id == id))
        .and_then(|e| e.domain_id)
        .unwrap_or_else(|| super::model::DEFAULT_DOMAIN_ID.to_owned());
    let name = identity.domain(&DomainRef::Id(domain_id.clone())).ok().flatten().map(|d| d.name).unwrap_or_default();
    json!({"id": domain_id, "name": name})
}

/// The token body Keystone returns on issue and validation (`render_token.py`). Roles carry
/// their ids (Keystone's are 32-hex), not their names twice.
fn token_body(identity: &Identity, ctx: &AuthContext, info: &TokenInfo, include_catalog: bool) -> Value {
    let role_ids: HashMap<String, String> = identity.roles(None).unwrap_or_default().into_iter().map(|r| (r.name, r.id)).collect();
    let issued_at = time::OffsetDateTime::from_unix_timestamp(info.issued_at).map(format_keystone).unwrap_or_default();
    let mut token = json!({
        "methods": info.methods,
        "expires_at": ctx.expires_at,
        "issued_at": issued_at,
        "audit_ids": info.audit_ids,
        "user": {"id": ctx.user_id, "name": ctx.user_name, "domain": domain_of(identity, Identity::users, &ctx.user_id), "password_expires_at": null},
    });
    let roles = || ctx.roles.iter().map(|r| json!({"id": role_ids.get(r).unwrap_or(r), "name": r})).collect::<Vec<_>>();
    match info.scope {
        Scope::System => {
            token["roles"] = json!(roles());
            token["system"] = json!({"all": true});
        }
        Scope::Project(_) => {
            let domain = domain_of(identity, Identity::projects, &ctx.project_id);
            token["project"] = json!({"id": ctx.project_id, "name": ctx.project_name, "domain": domain});
            token["is_domain"] = json!(false);
            token["roles"] = json!(roles());
        }
        // `render_token`: an unscoped token has no project, roles or catalog.
        Scope::Unscoped => {}
    }
    if include_catalog && info.scope != Scope::Unscoped {
        token["catalog"] = serde_json::to_value(&ctx.catalog).unwrap_or(Value::Array(vec![]));
    }
    if let Some(cred) = &info.application_credential {
        token["application_credential"] = json!({"id": cred.id, "name": cred.name, "restricted": !cred.is_unrestricted()});
    }
    json!({"token": token})
}

type Issued = (String, AuthContext, TokenInfo);

pub(super) async fn issue_token(
    State(s): State<KeystoneState>,
    Query(query): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    if body.is_empty() {
        return bad_request("The request you have made requires authentication.");
    }
    let body = super::schema::body_object(&body);
    let auth = &body["auth"];
    let identity = &auth["identity"];
    let methods: Vec<&str> = identity["methods"].as_array().map(|m| m.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if let Err(r) = check_token_schema(identity) {
        return r;
    }
    // One method decides (methods combined in one request are not modelled).
    let Some(method) = ["application_credential", "token", "password"].into_iter().find(|m| methods.contains(m)) else {
        return unauthorized(&s.identity);
    };
    // `AuthInfo._validate_auth_methods`: a listed method needs its payload.
    if identity.get(method).is_none() {
        return validation_error(method, "identity");
    }
    let issued = match method {
        "application_credential" => application_credential_auth(&s, auth),
        "token" => token_auth(&s, auth),
        _ => password_auth(&s, auth),
    };
    match issued {
        Ok((token, ctx, info)) => {
            let body = token_body(&s.identity, &ctx, &info, !query.contains_key("nocatalog"));
            let mut response = (StatusCode::CREATED, Json(body)).into_response();
            if let Ok(v) = token.parse() {
                response.headers_mut().insert("X-Subject-Token", v);
            }
            response
        }
        Err(r) => r,
    }
}

fn issue_error(s: &KeystoneState, e: AuthError) -> Response {
    match e {
        // Keystone's 401s point at itself: `WWW-Authenticate: Keystone uri="<public v3 URL>"`.
        AuthError::Unauthorized => unauthorized(&s.identity),
        e @ AuthError::PasswordTooLong(_) => keystone_error(StatusCode::FORBIDDEN, &e.to_string()),
        AuthError::Store(e) => store_error(e),
    }
}

fn project_ref(project: &Value) -> Option<ProjectRef> {
    match (project.get("id").and_then(Value::as_str), project.get("name").and_then(Value::as_str)) {
        (Some(id), _) => Some(ProjectRef::Id(id.to_owned())),
        (None, Some(name)) => Some(ProjectRef::Name { name: name.to_owned(), domain: domain_ref(&project["domain"]) }),
        (None, None) => None,
    }
}

fn password_auth(s: &KeystoneState, auth: &Value) -> Result<Issued, Response> {
    // `AuthInfo.create` resolves the scope before any method runs.
    let scope = requested_scope(s, auth)?;
    let user = &auth["identity"]["password"]["user"];
    let password = user["password"].as_str().unwrap_or_default();
    let user_ref = match (user.get("id").and_then(Value::as_str), user.get("name").and_then(Value::as_str)) {
        (Some(id), _) => UserRef::Id(id.to_owned()),
        (None, Some(name)) => UserRef::Name { name: name.to_owned(), domain: domain_ref(&user["domain"]) },
        (None, None) => return Err(bad_request("Invalid input for field identity/password/user: id or name must be present.")),
    };
    s.identity.authenticate(&user_ref, password, scope).map_err(|e| issue_error(s, e))
}

/// jsonschema's `str(ValidationError)` as `keystone.common.validation` puts it in the 400 of
/// `auth/schema.py`'s `token_issue` (only the `identity.token` part is checked here).
fn check_token_schema(identity: &Value) -> Result<(), Response> {
    const TOKEN_SCHEMA: &str = "{'type': 'object',\n     'properties': {'id': {'type': 'string'}},\n     'required': ['id']}";
    let schema_path = "schema['properties']['identity']['properties']['token']";
    let Some(token) = identity.get("token") else {
        return Ok(());
    };
    let fail = |path: &str, message: String, validator: &str, schema_path: &str, schema: &str, instance_path: &str, instance: &Value| {
        Err(bad_request(&format!(
            "Invalid input for field '{path}': {message}\n\nFailed validating '{validator}' in {schema_path}:\n    {schema}\n\nOn instance{instance_path}:\n    {}",
            py_repr(instance)
        )))
    };
    match token {
        Value::Object(o) => match o.get("id") {
            None => {
                fail("identity/token", jsonschema::required("id"), "required", schema_path, TOKEN_SCHEMA, "['identity']['token']", token)
            }
            Some(Value::String(_)) => Ok(()),
            Some(id) => fail(
                "identity/token/id",
                jsonschema::not_of_type(id, &["string"]),
                "type",
                &format!("{schema_path}['properties']['id']"),
                "{'type': 'string'}",
                "['identity']['token']['id']",
                id,
            ),
        },
        other => fail(
            "identity/token",
            jsonschema::not_of_type(other, &["object"]),
            "type",
            schema_path,
            TOKEN_SCHEMA,
            "['identity']['token']",
            other,
        ),
    }
}

/// `AuthInfo._validate_and_normalize_scope_data`: `None` without a scope. Project and system
/// scopes and explicitly unscoped requests are modelled; a domain or trust scope is a 401
/// (no user has a role on a domain here, and there are no trusts).
fn requested_scope(s: &KeystoneState, auth: &Value) -> Result<Option<Scope>, Response> {
    let Some(scope) = auth.get("scope") else {
        return Ok(None);
    };
    let kinds = ["project", "domain", "unscoped", "system", "OS-TRUST:trust"];
    if kinds.iter().filter(|k| scope.get(**k).is_some()).count() != 1 {
        return Err(validation_error("system, project, domain, OS-TRUST:trust or unscoped", "scope"));
    }
    if scope.get("system").is_some() {
        return Ok(Some(Scope::System));
    }
    if scope.get("unscoped").is_some() {
        return Ok(Some(Scope::Unscoped));
    }
    let project = project_ref(&scope["project"]).ok_or_else(|| unauthorized(&s.identity))?;
    match s.identity.project_id(&project) {
        Ok(Some(id)) => Ok(Some(Scope::Project(id))),
        Ok(None) => Err(unauthorized(&s.identity)),
        Err(e) => Err(store_error(e)),
    }
}

/// The `token` method (`auth/plugins/token.py`): a new token for the same user, keeping the
/// original's expiry (so rescoping never extends a session), its methods and audit chain.
fn token_auth(s: &KeystoneState, auth: &Value) -> Result<Issued, Response> {
    let requested = requested_scope(s, auth)?;
    let id = auth["identity"]["token"]["id"].as_str().unwrap_or_default();
    // `validate_token` raises `TokenNotFound` (404) with the reason, not a 401.
    let (original, info) = s.identity.inspect(id).map_err(|e| match e {
        TokenError::Store(e) => store_error(e),
        e => keystone_error(StatusCode::NOT_FOUND, &e.to_string()),
    })?;
    let scope_asked = auth.get("scope").is_some_and(|v| !is_falsy(v));
    let project_or_domain = ["project", "domain"].iter().any(|k| auth["scope"].get(*k).is_some());
    if info.scope == Scope::System && project_or_domain {
        return Err(forbidden_action("Using a system-scoped token to create a project-scoped or domain-scoped token is not allowed."));
    }
    if info.application_credential.is_some() && scope_asked {
        return Err(forbidden_action("Using an application credential token to create a scoped token is not allowed."));
    }
    // Without a scope Keystone scopes to the user's default project, or issues an unscoped
    // token (`_check_and_set_default_scoping`).
    let scope = match requested {
        Some(scope) => scope,
        None => s.identity.default_scope(&original.user_id).map_err(store_error)?,
    };
    let mut methods = vec!["token".to_owned()];
    for m in info.methods {
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    let grant = Grant {
        user_id: original.user_id,
        scope,
        methods,
        expires_at: Some(info.expires_at),
        application_credential: info.application_credential,
        parent_audit_id: info.audit_ids.last().cloned(),
    };
    s.identity.issue(grant).map_err(|e| issue_error(s, e))
}

fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

fn truthy_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `AuthPluginException`'s 401: the message, plus `identity: {}` in the error object.
fn auth_plugin_error(s: &KeystoneState, detail: &str) -> Response {
    let body = json!({"error": {"code": 401, "title": "Unauthorized", "message": format!("Error authenticating with application credential: {detail}"), "identity": {}}});
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{}\"", s.identity.public_url())) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// The `application_credential` method: by `id`, or by `name` with the owner's `user` (id, or
/// name and domain); always scoped to the credential's project with its roles.
fn application_credential_auth(s: &KeystoneState, auth: &Value) -> Result<Issued, Response> {
    // `AuthInfo`: "Application credentials can't choose their own scope".
    if auth.get("scope").is_some() {
        return Err(auth_plugin_error(s, "Application credentials cannot request a scope."));
    }
    let payload = &auth["identity"]["application_credential"];
    // `AuthInfo._lookup_app_cred`.
    let cred = if let Some(id) = truthy_str(payload, "id") {
        s.identity
            .application_credential(id)
            .map_err(store_error)?
            .ok_or_else(|| keystone_error(StatusCode::NOT_FOUND, &format!("Could not find Application Credential: {id}.")))?
    } else {
        let name = truthy_str(payload, "name").ok_or_else(|| validation_error("name or ID", "application credential"))?;
        let user = payload.get("user").filter(|u| !is_falsy(u)).ok_or_else(|| validation_error("user", "application credential"))?;
        let user_id = match truthy_str(user, "id") {
            Some(id) => id.to_owned(),
            None => {
                let domain = user.get("domain").ok_or_else(|| validation_error("domain", "user"))?;
                let domain = match (truthy_str(domain, "id"), truthy_str(domain, "name")) {
                    (_, Some(name)) => DomainRef::Name(name.to_owned()),
                    (Some(id), None) => DomainRef::Id(id.to_owned()),
                    (None, None) => return Err(validation_error("id or name", "domain")),
                };
                if s.identity.domain(&domain).map_err(store_error)?.is_none() {
                    return Err(unauthorized(&s.identity));
                }
                let user_name = user.get("name").and_then(Value::as_str).unwrap_or_default();
                let user_ref = UserRef::Name { name: user_name.to_owned(), domain };
                // `get_user_by_name` is not caught there: Keystone answers its 404.
                s.identity
                    .user_id(&user_ref)
                    .map_err(store_error)?
                    .ok_or_else(|| keystone_error(StatusCode::NOT_FOUND, &format!("Could not find user: {user_name}.")))?
            }
        };
        let mut found = s.identity.application_credentials(&user_id, Some(name)).map_err(store_error)?;
        if found.len() != 1 {
            return Err(unauthorized(&s.identity));
        }
        found.remove(0)
    };
    // The plugin: `Invalid application credential ID or secret` (wrong secret, expired), a 401.
    let secret = payload.get("secret").and_then(Value::as_str);
    let cred = s.identity.check_application_credential(&cred.id, secret).map_err(store_error)?.ok_or_else(|| unauthorized(&s.identity))?;
    let project_id = cred.project_id.clone().ok_or_else(|| unauthorized(&s.identity))?;
    let grant = Grant {
        user_id: cred.user_id.clone(),
        scope: Scope::Project(project_id),
        methods: vec!["application_credential".into()],
        expires_at: None,
        application_credential: Some(cred),
        parent_audit_id: None,
    };
    s.identity.issue(grant).map_err(|e| issue_error(s, e))
}

/// `X-Subject-Token`, validated as Keystone's `validate_token` does: 404 with its reason.
fn subject(s: &KeystoneState, headers: &HeaderMap) -> Result<(AuthContext, TokenInfo), Response> {
    let token = headers
        .get("X-Subject-Token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad_request("Expecting to find X-Subject-Token in headers."))?;
    s.identity.inspect(token).map_err(|e| match e {
        TokenError::Store(e) => store_error(e),
        e => keystone_error(StatusCode::NOT_FOUND, &e.to_string()),
    })
}

/// Keystone's token policies (`common/policies/token.py`): check and revoke are
/// `admin_or_token_subject`, validate is `service_admin_or_token_subject` (the `service` role
/// too). The subject token is resolved first, so an unknown one is 404 before any 403.
fn may_inspect(caller: &AuthContext, subject: &AuthContext, action: &str) -> Result<(), Response> {
    let service = action == "validate_token" && caller.roles.iter().any(|r| r == "service");
    if caller.is_admin() || service || caller.user_id == subject.user_id {
        Ok(())
    } else {
        Err(forbidden_action(&format!("identity:{action}")))
    }
}

pub(super) async fn validate_token(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match subject(&s, &headers).and_then(|(ctx, info)| may_inspect(&caller, &ctx, "validate_token").map(|()| (ctx, info))) {
        Ok((ctx, info)) => {
            let mut response = Json(token_body(&s.identity, &ctx, &info, !query.contains_key("nocatalog"))).into_response();
            if let Some(v) = headers.get("X-Subject-Token") {
                response.headers_mut().insert("X-Subject-Token", v.clone());
            }
            response
        }
        Err(r) => r,
    }
}

pub(super) async fn check_token(State(s): State<KeystoneState>, caller: AuthContext, headers: HeaderMap) -> Response {
    match subject(&s, &headers).and_then(|(ctx, _)| may_inspect(&caller, &ctx, "check_token")) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(r) => r,
    }
}

pub(super) async fn revoke_token(State(s): State<KeystoneState>, caller: AuthContext, headers: HeaderMap) -> Response {
    let Some(token) = headers.get("X-Subject-Token").and_then(|v| v.to_str().ok()) else {
        return bad_request("Expecting to find X-Subject-Token in headers.");
    };
    if let Err(r) = subject(&s, &headers).and_then(|(ctx, _)| may_inspect(&caller, &ctx, "revoke_token")) {
        return r;
    }
    match s.identity.revoke(token) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(TokenError::Store(e)) => store_error(e),
        Err(e) => keystone_error(StatusCode::NOT_FOUND, &e.to_string()),
    }
}
