//! Who may use `/_sim/`: the control API switches verification off, injects faults and dumps
//! state, so on a shared `sigstack serve` it answers only a Keystone token holding the admin
//! role, or the cloud's control token (written beside clouds.yaml for tools). Bodies must be
//! JSON: a web page can send `text/plain` or form bodies cross-site without a preflight, never
//! `application/json` with an `X-Auth-Token` header.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::keystone::Identity;

/// The header callers of `/_sim/` authenticate with (the one every OpenStack API uses).
pub const AUTH_HEADER: &str = "x-auth-token";

/// What `/_sim/` accepts: the control token, or an admin token Keystone validates.
pub struct ControlAccess {
    token: String,
    identity: Arc<Identity>,
}

/// Why a caller was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one that is neither the control token nor a valid Keystone token (401).
    Unauthenticated,
    /// A valid Keystone token without the admin role (403).
    NotAdmin,
}

impl ControlAccess {
    pub fn new(token: String, identity: Arc<Identity>) -> ControlAccess {
        ControlAccess { token, identity }
    }

    /// A fresh control token: 256 random bits, hex.
    pub fn generate_token() -> String {
        let bytes: [u8; 32] = rand::random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn check(&self, presented: Option<&str>) -> Result<(), Refusal> {
        let presented = presented.filter(|t| !t.is_empty()).ok_or(Refusal::Unauthenticated)?;
        if bool::from(presented.as_bytes().ct_eq(self.token.as_bytes())) {
            return Ok(());
        }
        match self.identity.validate(presented) {
            Ok(caller) if caller.is_admin() => Ok(()),
            Ok(_) => Err(Refusal::NotAdmin),
            Err(_) => Err(Refusal::Unauthenticated),
        }
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

/// A body that is not JSON: `Content-Type` other than `application/json` (with or without
/// parameters), or a body with no type at all.
fn non_json_body(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS) {
        return false;
    }
    match headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(ct) => !ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"),
        // No type: only an empty body (`POST /_sim/reset` with nothing) is accepted.
        None => {
            headers.contains_key(header::TRANSFER_ENCODING)
                || headers.get(header::CONTENT_LENGTH).is_some_and(|len| len.to_str().map_or(true, |l| l.trim() != "0"))
        }
    }
}

/// In front of every listener: checks callers of `/_sim/...`, passes everything else through.
pub async fn middleware(State(access): State<Arc<ControlAccess>>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/_sim/") {
        return next.run(request).await;
    }
    let token = request.headers().get(AUTH_HEADER).and_then(|v| v.to_str().ok());
    match access.check(token) {
        Ok(()) => {}
        Err(Refusal::Unauthenticated) => {
            let mut r = refuse(
                StatusCode::UNAUTHORIZED,
                "The /_sim/ control API needs X-Auth-Token: a Keystone token with the admin role, or the cloud's control token (the control-token file beside clouds.yaml).",
            );
            r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("X-Auth-Token"));
            return r;
        }
        Err(Refusal::NotAdmin) => {
            return refuse(StatusCode::FORBIDDEN, "The /_sim/ control API is for administrators: the token has no admin role.");
        }
    }
    if non_json_body(request.method(), request.headers()) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The /_sim/ control API takes JSON bodies only (Content-Type: application/json).",
        );
    }
    next.run(request).await
}
