//! What every simulated service shares on the wire: the authenticated caller (what
//! keystonemiddleware hands a real service), Keystone-shaped 401s, time formats, and the
//! answers of the WSGI middleware in front of the Python services (webob-rendered 404s and
//! oslo's body-size limit).

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
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
    /// Empty for a system-scoped token.
    pub project_id: String,
    /// Empty for a system-scoped token.
    pub project_name: String,
    pub roles: Vec<String>,
    pub expires_at: String,
    pub catalog: Vec<CatalogEntry>,
    /// A system-scoped token (`"system": {"all": true}`): the roles are the user's system role
    /// assignments and there is no project (oslo.policy's `system_scope` is `all`).
    pub system_scope: bool,
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

/// Service state that can validate tokens with the simulated Keystone.
pub trait HasIdentity {
    fn identity(&self) -> &Arc<Identity>;
}

/// Service state that tells who is calling from a request's `X-Auth-Token` (what
/// keystonemiddleware does in front of every OpenStack API): with the simulated Keystone, or
/// with a real one ([`TokenValidator::Remote`]).
pub trait Authenticates {
    fn authenticate(&self, token: Option<&str>) -> impl Future<Output = Result<AuthContext, Response>> + Send;
}

impl<S: HasIdentity + Sync> Authenticates for S {
    async fn authenticate(&self, token: Option<&str>) -> Result<AuthContext, Response> {
        validate_locally(self.identity(), token)
    }
}

fn validate_locally(identity: &Identity, token: Option<&str>) -> Result<AuthContext, Response> {
    let token = token.ok_or_else(|| unauthorized(identity))?;
    identity.validate(token).map_err(|e| {
        // keystonemiddleware answers 401 whatever went wrong; a store failure behind it
        // is still logged (the request's line, at warn).
        if let crate::keystone::AuthError::Store(e) = &e {
            crate::logging::cause(format!("validating a token: {e}"));
        }
        unauthorized(identity)
    })
}

/// Where a service's tokens are checked: the simulated Keystone in this process, or a real
/// Keystone it reaches over HTTP (`sigstack serve-network` beside real Nova).
#[derive(Clone)]
pub enum TokenValidator {
    Local(Arc<Identity>),
    Remote(Arc<crate::remote_keystone::RemoteKeystone>),
}

impl TokenValidator {
    pub async fn validate(&self, token: Option<&str>) -> Result<AuthContext, Response> {
        match self {
            TokenValidator::Local(identity) => validate_locally(identity, token),
            TokenValidator::Remote(keystone) => keystone.validate(token).await,
        }
    }
}

impl<S> FromRequestParts<S> for AuthContext
where
    S: Authenticates + Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts.headers.get("X-Auth-Token").and_then(|v| v.to_str().ok());
        state.authenticate(token).await
    }
}

/// keystonemiddleware's 401 (Keystone's error shape, with the `WWW-Authenticate` pointer).
pub fn unauthorized(identity: &Identity) -> Response {
    unauthorized_at(&identity.public_url())
}

/// [`unauthorized`] pointing at the Keystone at `keystone_url`.
pub fn unauthorized_at(keystone_url: &str) -> Response {
    let mut response = keystone_error(StatusCode::UNAUTHORIZED, "The request you have made requires authentication.");
    if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{keystone_url}\"")) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// `{"error": {"code", "title", "message"}}`, Keystone's error body. A 5xx's message (the
/// internal error) is also its request line's cause.
pub fn keystone_error(status: StatusCode, message: &str) -> Response {
    if status.is_server_error() {
        crate::logging::cause(message);
    }
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

// ---- what the services' WSGI middleware answers before their own code runs ----

/// oslo.middleware's `[oslo_middleware] max_request_body_size` (112 KiB), the limit of the
/// `sizelimit` filter in Keystone's, Nova's and Cinder's pipelines (Glance and Barbican have
/// none; Barbican enforces its own).
pub const MAX_REQUEST_BODY_SIZE: usize = 114_688;

/// An error a WSGI middleware raised as a `webob.exc` exception (oslo's `sizelimit`, the
/// routes mapper's 404): webob renders it itself, in the format the request's `Accept` asks
/// for, not in the service's own error shape.
pub fn webob_error(status: StatusCode, explanation: &str, method: &Method, headers: &HeaderMap) -> Response {
    crate::glance::Fault::new(status, explanation).render_for(&crate::glance::WebobRequest::of(method, headers))
}

/// The routes mapper's answer when no route matches the path and method (`Router._dispatch`
/// returns a bare `webob.exc.HTTPNotFound()`): Nova's and Cinder's unknown URLs, and their
/// known URLs with a method the mapper has no route for (they answer 404, never 405).
pub async fn routes_not_found(method: Method, headers: HeaderMap) -> Response {
    webob_error(StatusCode::NOT_FOUND, "The resource could not be found.", &method, &headers)
}

/// Why [`within_limit`] refused a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRefused {
    /// `Content-Length` says more than the limit.
    Declared,
    /// A body without `Content-Length` (chunked) went past the limit.
    Read,
    /// The body failed before its end (the client went away, or it stalled).
    Failed,
}

/// The request if its body is within `limit` bytes: a `Content-Length` is trusted (hyper holds
/// the body to it), a body without one is read into memory up to the limit.
pub async fn within_limit(request: Request, limit: usize) -> Result<Request, BodyRefused> {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => Err(BodyRefused::Declared),
        Some(_) => Ok(request),
        None => {
            let (parts, body) = request.into_parts();
            let mut stream = body.into_data_stream();
            let mut buffered = bytes::BytesMut::new();
            while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
                buffered.extend_from_slice(&chunk.map_err(|_| BodyRefused::Failed)?);
                if buffered.len() > limit {
                    return Err(BodyRefused::Read);
                }
            }
            Ok(Request::from_parts(parts, axum::body::Body::from(buffered.freeze())))
        }
    }
}

/// webob's `HTTPBadRequest` default explanation (what a body that failed mid-way gets; a
/// stalled one is answered 408 by the logging layer anyway).
pub const WEBOB_BAD_REQUEST: &str = "The server could not comply with the request since it is either malformed or otherwise incorrect.";

/// oslo.middleware's `RequestBodySizeLimiter`, as a middleware: a `Content-Length` above the
/// limit is refused at once; a body without one (chunked) is read up to the limit and refused
/// when it goes past (`LimitingReader.read`). Both are webob 413s, worded as oslo words them
/// (the first message is never interpolated: oslo passes the format string itself).
pub async fn sizelimit(request: Request, next: Next) -> Response {
    let (method, headers) = (request.method().clone(), request.headers().clone());
    match within_limit(request, MAX_REQUEST_BODY_SIZE).await {
        Ok(request) => next.run(request).await,
        Err(BodyRefused::Declared) => {
            webob_error(StatusCode::PAYLOAD_TOO_LARGE, "Request is too large. Larger than max_request_body_size (%s).", &method, &headers)
        }
        Err(BodyRefused::Read) => webob_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("Request is too large. Larger than {MAX_REQUEST_BODY_SIZE}."),
            &method,
            &headers,
        ),
        Err(BodyRefused::Failed) => webob_error(StatusCode::BAD_REQUEST, WEBOB_BAD_REQUEST, &method, &headers),
    }
}

/// A service router behind one more layer that sees every finished answer, after axum has put
/// its own `Allow` on a method refusal (layers on the router itself run inside that): `finish`
/// rewrites what axum does not say the way the real service says it.
pub fn finish_answers(router: Router, finish: fn(Response) -> Response) -> Router {
    Router::new().fallback_service(router).layer(axum::middleware::map_response(move |response: Response| async move { finish(response) }))
}

/// For [`finish_answers`]: the routes mapper's 404 has no `Allow` (axum adds one when the path
/// matched with another method).
pub fn no_allow_on_not_found(mut response: Response) -> Response {
    if response.status() == StatusCode::NOT_FOUND {
        response.headers_mut().remove(header::ALLOW);
    }
    response
}
