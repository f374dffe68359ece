//! Cinder's error bodies (`cinder.api.openstack.wsgi.Fault`): `{"<name>": {"code", "message"}}`
//! with the name chosen by status (`badRequest`, `itemNotFound`, ...; anything else is
//! `computeFault`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// A synchronous API failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct Fault {
    pub status: StatusCode,
    pub message: String,
}

impl Fault {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Fault {
        Fault { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Fault {
        Fault::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Fault {
        Fault::new(StatusCode::NOT_FOUND, message)
    }

    /// `exception.InvalidInput`.
    pub fn invalid_input(reason: impl std::fmt::Display) -> Fault {
        Fault::bad_request(format!("Invalid input received: {reason}"))
    }

    /// `exception.InvalidVolume`.
    pub fn invalid_volume(reason: impl std::fmt::Display) -> Fault {
        Fault::bad_request(format!("Invalid volume: {reason}"))
    }

    /// webob's default explanation for a 404 (no such route, or not at this microversion).
    pub fn no_resource() -> Fault {
        Fault::not_found("The resource could not be found.")
    }

    pub fn internal() -> Fault {
        Fault::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server has either erred or is incapable of performing the requested operation.",
        )
    }

    fn name(&self) -> &'static str {
        match self.status.as_u16() {
            400 => "badRequest",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "itemNotFound",
            405 => "badMethod",
            409 => "conflictingRequest",
            413 => "overLimit",
            415 => "badMediaType",
            501 => "notImplemented",
            503 => "serviceUnavailable",
            _ => "computeFault",
        }
    }
}

impl From<StoreError> for Fault {
    fn from(_: StoreError) -> Fault {
        Fault::internal()
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        let body = json!({ self.name(): {"code": self.status.as_u16(), "message": self.message} });
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_status() {
        assert_eq!(Fault::bad_request("x").name(), "badRequest");
        assert_eq!(Fault::no_resource().name(), "itemNotFound");
        assert_eq!(Fault::new(StatusCode::NOT_ACCEPTABLE, "x").name(), "computeFault");
        assert_eq!(Fault::invalid_input("r").message, "Invalid input received: r");
    }
}
