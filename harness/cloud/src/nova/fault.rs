//! Nova's error bodies (`nova.api.openstack.wsgi.Fault`: `{"<name>": {"code", "message"}}`,
//! the name chosen by status) and microversion negotiation (`X-OpenStack-Nova-API-Version`
//! or `OpenStack-API-Version: compute X`, echoed on every answer with `Vary`).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The oldest and newest microversions this Nova speaks (minor numbers of 2.x).
pub const MIN_MICROVERSION: u32 = 1;
pub const MAX_MICROVERSION: u32 = 96;

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

impl IntoResponse for NovaFault {
    fn into_response(self) -> Response {
        crate::wire::wsgi_fault(self.status, &self.message, true)
    }
}

/// The microversion a request asked for (the minor number of 2.x).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Microversion(pub u32);

impl Microversion {
    pub fn at_least(self, minor: u32) -> bool {
        self.0 >= minor
    }
}

/// Reads the requested version: `OpenStack-API-Version: compute X` wins over the legacy
/// `X-OpenStack-Nova-API-Version`; none means 2.1.
pub fn requested_version(headers: &HeaderMap) -> Result<Microversion, NovaFault> {
    let modern = headers.get_all("OpenStack-API-Version").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(',').find_map(|part| {
            let mut words = part.split_whitespace();
            match (words.next(), words.next()) {
                (Some(service), Some(version)) if service.eq_ignore_ascii_case("compute") => Some(version.to_owned()),
                _ => None,
            }
        })
    });
    let legacy = headers.get("X-OpenStack-Nova-API-Version").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned());
    let Some(text) = modern.or(legacy) else { return Ok(Microversion(MIN_MICROVERSION)) };
    if text.eq_ignore_ascii_case("latest") {
        return Ok(Microversion(MAX_MICROVERSION));
    }
    let invalid =
        || NovaFault::bad_request(format!("API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."));
    let (major, minor) = text.split_once('.').ok_or_else(invalid)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return Err(invalid());
    }
    let (major, minor): (u64, u64) = (major.parse().map_err(|_| invalid())?, minor.parse().map_err(|_| invalid())?);
    if major != 2 || minor < u64::from(MIN_MICROVERSION) || minor > u64::from(MAX_MICROVERSION) {
        return Err(NovaFault::new(
            StatusCode::NOT_ACCEPTABLE,
            format!("Version {text} is not supported by the API. Minimum is 2.{MIN_MICROVERSION} and maximum is 2.{MAX_MICROVERSION}."),
        ));
    }
    Ok(Microversion(minor as u32))
}

/// Negotiates the microversion for every `/v2.1` request: refuses bad ones, hands the version
/// to handlers as an extension, and echoes it in both headers plus `Vary`.
pub async fn negotiate(mut request: Request, next: Next) -> Response {
    let version = match requested_version(request.headers()) {
        Ok(v) => v,
        Err(fault) => return fault.into_response(),
    };
    request.extensions_mut().insert(version);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let text = format!("2.{}", version.0);
    if let Ok(v) = HeaderValue::from_str(&format!("compute {text}")) {
        headers.insert("OpenStack-API-Version", v);
    }
    if let Ok(v) = HeaderValue::from_str(&text) {
        headers.insert("X-OpenStack-Nova-API-Version", v);
    }
    headers.insert("Vary", HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, value: &str) -> Result<Microversion, NovaFault> {
        let mut h = HeaderMap::new();
        h.insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        requested_version(&h)
    }

    #[test]
    fn versions() {
        assert_eq!(requested_version(&HeaderMap::new()), Ok(Microversion(1)));
        assert_eq!(parse("OpenStack-API-Version", "compute 2.63"), Ok(Microversion(63)));
        assert_eq!(parse("X-OpenStack-Nova-API-Version", "latest"), Ok(Microversion(96)));
        assert_eq!(parse("OpenStack-API-Version", "volume 3.1"), Ok(Microversion(1)));
        let e = parse("X-OpenStack-Nova-API-Version", "2.97").unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.message.as_str()),
            (406, "Version 2.97 is not supported by the API. Minimum is 2.1 and maximum is 2.96.")
        );
        let e = parse("X-OpenStack-Nova-API-Version", "two").unwrap_err();
        assert_eq!(e.message, "API Version String two is of invalid format. Must be of format MajorNum.MinorNum.");
    }
}
