//! What every simulated service shares on the wire: the authenticated caller (what
//! keystonemiddleware hands a real service), Keystone-shaped 401s, and time formats.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sigstack_client::CatalogEntry;

use crate::keystone::Identity;

/// The caller of a request, from a validated `X-Auth-Token`.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub token: String,
    pub user_id: String,
    pub user_name: String,
    pub project_id: String,
    pub project_name: String,
    pub roles: Vec<String>,
    pub expires_at: String,
    pub catalog: Vec<CatalogEntry>,
}

impl AuthContext {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }

    /// A client session acting as this caller (services calling services with the user's
    /// token, as castellan does for Glance).
    pub fn session(&self, http: reqwest::Client) -> sigstack_client::Session {
        sigstack_client::Session::from_token(
            http,
            sigstack_client::Token {
                value: self.token.clone(),
                expires_at: self.expires_at.clone(),
                user: sigstack_client::Named { id: self.user_id.clone(), name: self.user_name.clone() },
                project: Some(sigstack_client::Named { id: self.project_id.clone(), name: self.project_name.clone() }),
                roles: self.roles.iter().map(|r| sigstack_client::Named { id: r.clone(), name: r.clone() }).collect(),
                catalog: self.catalog.clone(),
            },
        )
    }
}

/// Service state that can validate tokens.
pub trait HasIdentity {
    fn identity(&self) -> &Arc<Identity>;
}

impl<S> FromRequestParts<S> for AuthContext
where
    S: HasIdentity + Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let identity = state.identity();
        let token = parts.headers.get("X-Auth-Token").and_then(|v| v.to_str().ok()).ok_or_else(|| unauthorized(identity))?;
        identity.validate(token).map_err(|_| unauthorized(identity))
    }
}

/// keystonemiddleware's 401 (Keystone's error shape, with the `WWW-Authenticate` pointer).
pub fn unauthorized(identity: &Identity) -> Response {
    let mut response = keystone_error(StatusCode::UNAUTHORIZED, "The request you have made requires authentication.");
    if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{}\"", identity.public_url())) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// `{"error": {"code", "title", "message"}}`, Keystone's error body.
pub fn keystone_error(status: StatusCode, message: &str) -> Response {
    let body = json!({"error": {
        "code": status.as_u16(),
        "title": status.canonical_reason().unwrap_or(""),
        "message": message,
    }});
    (status, axum::Json(body)).into_response()
}

/// Current time as Keystone writes it: `2015-11-07T02:58:43.578887Z`.
pub fn now_keystone() -> String {
    format_keystone(time::OffsetDateTime::now_utc())
}

pub fn format_keystone(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.format(&f).unwrap_or_default()
}

/// Glance's timestamps: `2015-11-29T22:21:42Z`.
pub fn format_glance(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).unwrap_or_default()
}

/// Barbican's timestamps: naive ISO with microseconds, no zone: `2015-03-23T20:46:51.650515`.
pub fn format_barbican(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");
    t.format(&f).unwrap_or_default()
}

/// A Nova- or Cinder-style error answer: `{"<name>": {"code", "message"}}`, the name from
/// their `wsgi.Fault._fault_names` (Nova also names 429 `overLimit`; Cinder does not), anything
/// unnamed being a `computeFault`.
pub fn wsgi_fault(status: StatusCode, message: &str, names_429: bool) -> Response {
    let name = match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 => "overLimit",
        429 if names_429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    };
    (status, axum::Json(json!({name: {"code": status.as_u16(), "message": message}}))).into_response()
}
