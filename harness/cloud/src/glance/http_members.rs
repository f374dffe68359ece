//! Glance v2 on the wire: image members (`/v2/images/{id}/members...`), the image actions
//! (`/v2/images/{id}/actions/...`), the locations API (`/v2/images/{id}/locations`) and the
//! member schemas. The rules are in `members`, `actions` and `locations`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::http::{GlanceState, json_body};
use super::members::{self, member_from_body, status_from_body};
use super::webob::Fault;
use crate::wire::AuthContext;

/// `POST /v2/images/{id}/members` (200, as glance answers it).
pub async fn create(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>, body: Bytes) -> Result<Response, Fault> {
    let body = json_body(&body)?;
    let member_id = member_from_body(&body)?;
    let member = s.model.add_member(&ctx, &id, &member_id)?;
    Ok(Json(member.view()).into_response())
}

/// `GET /v2/images/{id}/members`.
pub async fn index(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>) -> Result<Response, Fault> {
    let members: Vec<_> = s.model.list_members(&ctx, &id)?.iter().map(members::Member::view).collect();
    Ok(Json(json!({"members": members, "schema": "/v2/schemas/members"})).into_response())
}

/// `GET /v2/images/{id}/members/{member_id}`.
pub async fn show(
    State(s): State<GlanceState>,
    ctx: AuthContext,
    Path((id, member_id)): Path<(String, String)>,
) -> Result<Response, Fault> {
    Ok(Json(s.model.show_member(&ctx, &id, &member_id)?.view()).into_response())
}

/// `PUT /v2/images/{id}/members/{member_id}`.
pub async fn update(
    State(s): State<GlanceState>,
    ctx: AuthContext,
    Path((id, member_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Fault> {
    let body = json_body(&body)?;
    let status = status_from_body(&body)?;
    Ok(Json(s.model.update_member(&ctx, &id, &member_id, &status)?.view()).into_response())
}

/// `DELETE /v2/images/{id}/members/{member_id}`.
pub async fn delete(
    State(s): State<GlanceState>,
    ctx: AuthContext,
    Path((id, member_id)): Path<(String, String)>,
) -> Result<Response, Fault> {
    s.model.delete_member(&ctx, &id, &member_id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v2/images/{id}/actions/deactivate` (204).
pub async fn deactivate(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>) -> Result<Response, Fault> {
    s.model.deactivate(&ctx, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v2/images/{id}/actions/reactivate` (204).
pub async fn reactivate(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>) -> Result<Response, Fault> {
    s.model.reactivate(&ctx, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v2/images/{id}/locations`.
pub async fn add_location(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>, body: Bytes) -> Result<Response, Fault> {
    let body = json_body(&body)?;
    super::locations::check_add_body(&body)?;
    s.model.add_location(&ctx, &id, &body)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET /v2/images/{id}/locations`.
pub async fn locations(State(s): State<GlanceState>, ctx: AuthContext, Path(id): Path<String>) -> Result<Response, Fault> {
    Ok(Json(s.model.locations(&ctx, &id)?).into_response())
}

pub async fn member_schema(_ctx: AuthContext) -> Response {
    Json(members::member_schema()).into_response()
}

pub async fn members_schema(_ctx: AuthContext) -> Response {
    Json(members::members_schema()).into_response()
}
