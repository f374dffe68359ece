//! What nearly every Cinder handler takes from a request, as one extractor.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::http::{CinderState, Version};
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// The service state, the caller, the requested microversion and the URL parameters (the
/// project id first).
pub(super) struct Call<P> {
    pub(super) s: CinderState,
    pub(super) ctx: AuthContext,
    pub(super) version: Microversion,
    pub(super) path: P,
}

impl<P: DeserializeOwned + Send> FromRequestParts<CinderState> for Call<P> {
    type Rejection = Response;

    /// Token, then microversion, then path: the order the handlers listed these extractors
    /// in, so a request failing several is answered by the same (first) rejection as before.
    async fn from_request_parts(parts: &mut Parts, state: &CinderState) -> Result<Self, Response> {
        let ctx = AuthContext::from_request_parts(parts, state).await?;
        let Version(version) = Version::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let Path(path) = Path::<P>::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        Ok(Call { s: state.clone(), ctx, version, path })
    }
}
