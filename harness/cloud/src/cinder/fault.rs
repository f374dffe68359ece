//! Cinder's error bodies (`cinder.api.openstack.wsgi.Fault`): `{"<name>": {"code", "message"}}`
//! with the name chosen by status (`badRequest`, `itemNotFound`, ...; anything else is
//! `computeFault`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::jsonschema::SchemaError;
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

    /// A 500 whose explanation the controller chose (`HTTPInternalServerError(explanation=...)`).
    pub fn internal_explained(message: impl Into<String>) -> Fault {
        Fault::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn internal() -> Fault {
        Fault::new(StatusCode::INTERNAL_SERVER_ERROR, "The server has either erred or is incapable of performing the requested operation.")
    }

    /// [`Fault::internal`], with its cause for the request's log line (never the client).
    pub fn internal_because(cause: impl std::fmt::Display) -> Fault {
        crate::logging::cause(cause);
        Fault::internal()
    }
}

/// The client gets Cinder's generic 500; the cause goes to the request's log line.
impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Fault {
        Fault::internal_because(e)
    }
}

/// A jsonschema failure: Cinder's validator's 400 (`ValidationError`).
impl From<SchemaError> for Fault {
    fn from(e: SchemaError) -> Fault {
        Fault::bad_request(e.detail())
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        crate::wire::wsgi_fault(self.status, &self.message, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(fault: Fault) -> serde_json::Value {
        let bytes = axum::body::to_bytes(fault.into_response().into_body(), 4096).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn names_follow_the_status() {
        assert_eq!(body(Fault::bad_request("x")).await, serde_json::json!({"badRequest": {"code": 400, "message": "x"}}));
        assert!(body(Fault::no_resource()).await.get("itemNotFound").is_some());
        assert!(body(Fault::new(StatusCode::NOT_ACCEPTABLE, "x")).await.get("computeFault").is_some());
        // Cinder, unlike Nova, has no name for 429.
        assert!(body(Fault::new(StatusCode::TOO_MANY_REQUESTS, "x")).await.get("computeFault").is_some());
        assert_eq!(Fault::invalid_input("r").message, "Invalid input received: r");
    }
}
