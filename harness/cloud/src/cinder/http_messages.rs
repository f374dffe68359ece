//! User messages (`api/v3/messages.py`, from 3.3): list, show, delete. The listing is every
//! project's (Cinder 10 to 29: `_messages_get_query(project_only=False)`), filtered (3.5,
//! `resource_filters.json` from 3.31), sorted and paged (3.5) as `message_get_all` does.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::call::Call;
use super::fault::Fault;
use super::http::{CinderState, check_project};
use super::model::UserMessage;
use super::pagination;
use super::views::{self, MESSAGES_VERSION};
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// Filters and paging from 3.5 (`MESSAGES_PAGINATION`).
const PAGINATION_VERSION: Microversion = Microversion(3, 5);

pub fn routes() -> Router<CinderState> {
    Router::new()
        .route("/v3/{project_id}/messages", get(list_messages))
        .route("/v3/{project_id}/messages/{id}", get(show_message).delete(delete_message))
}

/// User messages exist from 3.3; before, the route is unknown.
fn messages_allowed(version: Microversion) -> Result<(), Fault> {
    if version >= MESSAGES_VERSION { Ok(()) } else { Err(Fault::no_resource()) }
}

/// `resource_filters.json`'s filters for messages.
const MESSAGE_FILTERS: [&str; 5] = ["resource_uuid", "resource_type", "event_id", "request_id", "message_level"];
/// What `get_pagination_params` and `get_sort_params` take out of the query before filtering.
const PAGINATION: [&str; 6] = ["limit", "marker", "offset", "sort", "sort_key", "sort_dir"];

/// The `messages` table's columns: what can be sorted on, and what an admin can filter on.
const COLUMNS: [&str; 14] = [
    "id",
    "project_id",
    "request_id",
    "resource_type",
    "resource_uuid",
    "event_id",
    "detail_id",
    "action_id",
    "message_level",
    "created_at",
    "expires_at",
    "updated_at",
    "deleted_at",
    "deleted",
];

/// A column's value as the database orders it. The action and detail ids are the event
/// id's last two parts (`VOLUME_<resource type>_<action id>_<detail id>`); nothing is updated
/// or deleted.
fn column(m: &UserMessage, key: &str) -> String {
    let part = |from_end: usize| m.event_id.rsplit('_').nth(from_end).unwrap_or_default().to_owned();
    match key {
        "id" => m.id.clone(),
        "project_id" => m.project_id.clone(),
        "request_id" => m.request_id.clone(),
        "resource_type" => m.resource_type.clone(),
        "resource_uuid" => m.resource_uuid.clone(),
        "event_id" => m.event_id.clone(),
        "detail_id" => part(0),
        "action_id" => part(1),
        "message_level" => m.message_level.clone(),
        "created_at" => m.created_at.clone(),
        "expires_at" => m.expires_at.clone(),
        "deleted" => "0".into(),
        _ => String::new(),
    }
}

/// The messages' filters (3.5): every other query key, matched exactly. From 3.31 a
/// non-admin's key that is not a configured filter is refused (`reject_invalid_filters`;
/// `all_tenants` is ignored); an admin may filter on any column, and a key that is no column
/// matches nothing (`is_valid_model_filters`).
/// `None`: nothing matches.
fn filters(ctx: &AuthContext, version: Microversion, query: &[(String, String)]) -> Result<Option<Vec<(String, String)>>, Fault> {
    if version < PAGINATION_VERSION {
        return Ok(Some(Vec::new()));
    }
    let mut filters: BTreeMap<String, String> =
        query.iter().filter(|(k, _)| !PAGINATION.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    if version >= Microversion(3, 31) && !ctx.is_admin() {
        filters.remove("all_tenants");
        let invalid: Vec<&str> = filters.keys().map(String::as_str).filter(|k| !MESSAGE_FILTERS.contains(k)).collect();
        if !invalid.is_empty() {
            return Err(Fault::bad_request(format!("Invalid filters {} are found in query options.", invalid.join(","))));
        }
    }
    if filters.keys().any(|k| !COLUMNS.contains(&k.as_str())) {
        return Ok(None);
    }
    Ok(Some(filters.into_iter().collect()))
}

/// `message_get_all` after the filters: sorted (`created_at`, `id` descending unless asked
/// otherwise), then from 3.5 the page after `marker` (one of the caller's own messages, by
/// its sort values), past `offset`, at most `limit` long.
fn page(
    s: &CinderState,
    ctx: &AuthContext,
    version: Microversion,
    query: &[(String, String)],
    mut messages: Vec<UserMessage>,
) -> Result<Vec<UserMessage>, Fault> {
    let get = |k: &str| query.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let paged = version >= PAGINATION_VERSION;
    let keys = if paged {
        pagination::sort_keys(get("sort"), get("sort_key"), get("sort_dir"))?
    } else {
        pagination::sort_keys(None, None, None)?
    };
    let (marker, offset, limit) =
        if paged { (get("marker"), pagination::offset(get("offset"))?, pagination::limit(get("limit"))?) } else { (None, 0, usize::MAX) };
    if keys.iter().any(|(k, _)| !COLUMNS.contains(&k.as_str())) {
        return Err(Fault::invalid_input("Invalid sort key"));
    }
    let order = |a: &UserMessage, b: &UserMessage| {
        keys.iter()
            .map(|(k, desc)| {
                let o = column(a, k).cmp(&column(b, k));
                if *desc { o.reverse() } else { o }
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    };
    messages.sort_by(order);
    if let Some(marker) = marker {
        let marker = s.volumes.message(ctx, marker)?;
        messages.retain(|m| order(m, &marker) == Ordering::Greater);
    }
    Ok(messages.into_iter().skip(offset).take(limit).collect())
}

async fn list_messages(
    Call { s, ctx, version, path: project_id }: Call<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, Fault> {
    messages_allowed(version)?;
    check_project(&ctx, &project_id)?;
    let get = |k: &str| query.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let matched = match filters(&ctx, version, &query)? {
        Some(filters) => {
            let all = s.volumes.messages()?;
            all.into_iter().filter(|m| filters.iter().all(|(k, v)| column(m, k) == *v)).collect()
        }
        None => Vec::new(),
    };
    let messages = page(&s, &ctx, version, &query, matched)?;
    let views: Vec<Value> = messages.iter().map(|m| views::message_view(&s.public_url, &ctx.project_id, m)).collect();
    let mut body = json!({"messages": views});
    // `_get_collection_links`, whatever the version: a page as long as the `limit` asked
    // for (or `osapi_max_limit`) links to the next.
    let limit = pagination::limit(get("limit"))?;
    if let Some(last) = messages.last().filter(|_| limit <= messages.len()) {
        body["messages_links"] = pagination::next_link(&s.public_url, &ctx.project_id, "messages", &query, &last.id);
    }
    Ok(Json(body).into_response())
}

async fn show_message(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    messages_allowed(version)?;
    check_project(&ctx, &project_id)?;
    let message = s.volumes.message(&ctx, &id)?;
    Ok(Json(json!({"message": views::message_view(&s.public_url, &ctx.project_id, &message)})).into_response())
}

async fn delete_message(Call { s, ctx, version, path: (project_id, id) }: Call<(String, String)>) -> Result<Response, Fault> {
    messages_allowed(version)?;
    check_project(&ctx, &project_id)?;
    s.volumes.delete_message(&ctx, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
