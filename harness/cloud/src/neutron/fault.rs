//! Neutron's error bodies: `{"NeutronError": {"type", "message", "detail"}}`, the exception's
//! class name as `type` (neutron's `api_common.convert_exception_to_http_exc`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeutronError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
}

impl NeutronError {
    pub fn not_found(kind: &'static str, message: String) -> NeutronError {
        NeutronError { status: StatusCode::NOT_FOUND, kind, message }
    }

    pub fn conflict(kind: &'static str, message: String) -> NeutronError {
        NeutronError { status: StatusCode::CONFLICT, kind, message }
    }

    /// A 400. The class follows the message, as in neutron: attribute validation and
    /// parsing raise webob's `HTTPBadRequest`; the plugin's checks `InvalidInput` ("Invalid
    /// input for operation: ...") or a resource's `BadRequest` ("Bad router request: ...").
    pub fn bad_request(message: String) -> NeutronError {
        let kind = if message.starts_with("Invalid input for operation:") {
            "InvalidInput"
        } else if message.starts_with("Bad ") {
            "BadRequest"
        } else {
            "HTTPBadRequest"
        };
        NeutronError { status: StatusCode::BAD_REQUEST, kind, message }
    }

    /// oslo.policy's refusal; an attribute rule (`create_network:shared`) is checked together
    /// with its action's rule.
    pub fn policy(rule: &str) -> NeutronError {
        let message = match rule.split_once(':') {
            Some((action, _)) => format!("(rule:{action} and rule:{rule}) is disallowed by policy"),
            None => format!("rule:{rule} is disallowed by policy"),
        };
        NeutronError { status: StatusCode::FORBIDDEN, kind: "PolicyNotAuthorized", message }
    }
}

impl From<StoreError> for NeutronError {
    fn from(e: StoreError) -> NeutronError {
        crate::logging::cause(format!("neutron store: {e}"));
        NeutronError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "HTTPInternalServerError",
            message: "Request Failed: internal server error while processing your request.".into(),
        }
    }
}

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"NeutronError": {"type": self.kind, "message": self.message, "detail": ""}}))).into_response()
    }
}
