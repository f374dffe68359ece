//! Nova's error bodies (`nova.api.openstack.wsgi.Fault`: `{"<name>": {"code", "message"}}`,
//! the name chosen by status) and microversion negotiation (`X-OpenStack-Nova-API-Version`
//! or `OpenStack-API-Version: compute X`, echoed on every answer with `Vary`), up to the
//! deployment's `nova.max_microversion`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::model::ComputeService;
use crate::deployment::NOVA_34_MAX_MICROVERSION;
use crate::jsonschema::SchemaError;
use crate::microversion::{self, Microversion, Microversions, Refused};

/// Nova's legacy version header, still read and answered.
const LEGACY_HEADER: &str = "X-OpenStack-Nova-API-Version";

/// The microversions Nova 34.0.0 speaks, 2.1 to 2.104 (`latest` read in any case). A
/// deployment may end the range earlier ([`compute_range`]) to simulate an older Nova.
pub const COMPUTE: Microversions = Microversions {
    service_type: "compute",
    legacy_header: Some(LEGACY_HEADER),
    min: Microversion(2, 1),
    max: NOVA_34_MAX_MICROVERSION,
    latest_in_any_case: true,
};

/// The range of a Nova whose newest microversion is `max` (`nova.max_microversion`).
pub fn compute_range(max: Microversion) -> Microversions {
    Microversions { max, ..COMPUTE }
}

/// A compute API error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct NovaFault {
    pub status: StatusCode,
    pub message: String,
}

impl NovaFault {
    pub fn new(status: StatusCode, message: impl Into<String>) -> NovaFault {
        NovaFault { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> NovaFault {
        NovaFault::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn forbidden(message: impl Into<String>) -> NovaFault {
        NovaFault::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> NovaFault {
        NovaFault::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> NovaFault {
        NovaFault::new(StatusCode::CONFLICT, message)
    }

    /// What Nova says for an unexpected error (`exception.ConvertedException` of a 500).
    pub fn internal() -> NovaFault {
        NovaFault::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n<class 'sigstack.StoreError'>",
        )
    }

    /// [`NovaFault::internal`], with its cause for the request's log line (never the client).
    pub fn internal_because(cause: impl std::fmt::Display) -> NovaFault {
        crate::logging::cause(cause);
        NovaFault::internal()
    }
}

/// The client gets Nova's generic 500; the cause goes to the request's log line.
impl From<crate::store::StoreError> for NovaFault {
    fn from(e: crate::store::StoreError) -> Self {
        NovaFault::internal_because(e)
    }
}

/// A jsonschema failure: Nova's validator's 400 (`ValidationError`).
impl From<SchemaError> for NovaFault {
    fn from(e: SchemaError) -> Self {
        NovaFault::bad_request(e.detail())
    }
}

/// `wsgi.Fault` sets the charset of the JSON it writes: `application/json; charset=UTF-8`.
impl IntoResponse for NovaFault {
    fn into_response(self) -> Response {
        let mut response = crate::wire::wsgi_fault(self.status, &self.message, true);
        response.headers_mut().insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
        response
    }
}

/// Reads the requested version (`OpenStack-API-Version: compute X` wins over the legacy
/// `X-OpenStack-Nova-API-Version`; none means 2.1) with Nova's refusals:
/// `InvalidAPIVersionString` (400) and `InvalidGlobalAPIVersion` (406).
pub fn requested_version(range: &Microversions, headers: &HeaderMap) -> Result<Microversion, NovaFault> {
    range.negotiate(headers).map_err(|refused| match refused {
        Refused::Malformed(text) => {
            NovaFault::bad_request(format!("API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."))
        }
        Refused::Unsupported(version) => NovaFault::new(
            StatusCode::NOT_ACCEPTABLE,
            format!("Version {version} is not supported by the API. Minimum is {} and maximum is {}.", range.min, range.max),
        ),
    })
}

/// Negotiates the microversion for every `/v2.1` request within the deployment's range:
/// refuses bad ones, hands the version to handlers as an extension, and echoes it in both
/// headers plus `Vary`.
pub async fn negotiate(State(compute): State<Arc<ComputeService>>, mut request: Request, next: Next) -> Response {
    let range = compute_range(compute.deployment().nova.max_microversion());
    let version = match requested_version(&range, request.headers()) {
        Ok(v) => v,
        Err(fault) => return fault.into_response(),
    };
    request.extensions_mut().insert(version);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&COMPUTE.header_value(version)) {
        headers.insert(microversion::HEADER, v);
    }
    if let Ok(v) = HeaderValue::from_str(&version.to_string()) {
        headers.insert(LEGACY_HEADER, v);
    }
    headers.insert("Vary", HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in(range: &Microversions, name: &str, value: &str) -> Result<Microversion, NovaFault> {
        let mut h = HeaderMap::new();
        h.insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        requested_version(range, &h)
    }

    fn parse(name: &str, value: &str) -> Result<Microversion, NovaFault> {
        parse_in(&COMPUTE, name, value)
    }

    #[test]
    fn versions() {
        assert_eq!(requested_version(&COMPUTE, &HeaderMap::new()), Ok(Microversion(2, 1)));
        assert_eq!(parse("OpenStack-API-Version", "compute 2.63"), Ok(Microversion(2, 63)));
        assert_eq!(parse("X-OpenStack-Nova-API-Version", "latest"), Ok(Microversion(2, 104)));
        assert_eq!(parse("OpenStack-API-Version", "compute 2.104"), Ok(Microversion(2, 104)));
        assert_eq!(parse("OpenStack-API-Version", "volume 3.1"), Ok(Microversion(2, 1)));
        let e = parse("X-OpenStack-Nova-API-Version", "2.105").unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.message.as_str()),
            (406, "Version 2.105 is not supported by the API. Minimum is 2.1 and maximum is 2.104.")
        );
        let e = parse("OpenStack-API-Version", "compute 3.0").unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.message.as_str()),
            (406, "Version 3.0 is not supported by the API. Minimum is 2.1 and maximum is 2.104.")
        );
        for malformed in ["two", "2.01", "2"] {
            let e = parse("X-OpenStack-Nova-API-Version", malformed).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.message),
                (400, format!("API Version String {malformed} is of invalid format. Must be of format MajorNum.MinorNum."))
            );
        }
    }

    #[test]
    fn an_older_nova_ends_its_range_earlier() {
        let dalmatian = compute_range(Microversion(2, 96));
        assert_eq!(parse_in(&dalmatian, "OpenStack-API-Version", "compute latest"), Ok(Microversion(2, 96)));
        assert_eq!(parse_in(&dalmatian, "OpenStack-API-Version", "compute 2.96"), Ok(Microversion(2, 96)));
        let e = parse_in(&dalmatian, "OpenStack-API-Version", "compute 2.97").unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.message.as_str()),
            (406, "Version 2.97 is not supported by the API. Minimum is 2.1 and maximum is 2.96.")
        );
    }
}
