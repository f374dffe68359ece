//! Neutron v2.0 on the wire: version discovery, the resource collections with their filters and
//! `fields`, router interface actions, and NeutronError bodies for every refusal.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::fault::NeutronError;
use super::model::{Kind, NetworkService};
use crate::wire::{AuthContext, Authenticates, TokenValidator};

#[derive(Clone)]
pub(super) struct NeutronState {
    pub tokens: TokenValidator,
    pub network: Arc<NetworkService>,
    pub public_url: Arc<str>,
}

impl Authenticates for NeutronState {
    async fn authenticate(&self, token: Option<&str>) -> Result<AuthContext, axum::response::Response> {
        self.tokens.validate(token).await
    }
}

/// The collections on the wire (security groups are hyphenated in URLs, underscored in bodies).
const COLLECTIONS: [(&str, Kind); 6] = [
    ("networks", Kind::Network),
    ("subnets", Kind::Subnet),
    ("ports", Kind::Port),
    ("routers", Kind::Router),
    ("security-groups", Kind::SecurityGroup),
    ("security-group-rules", Kind::SecurityGroupRule),
];

/// The extensions this Neutron has (aliases as ML2/OVN reports them), for clients that look.
const EXTENSIONS: [(&str, &str); 8] = [
    ("security-group", "security-group"),
    ("router", "Neutron L3 Router"),
    ("external-net", "Neutron external network"),
    ("port-security", "Port Security"),
    ("standard-attr-description", "standard-attr-description"),
    ("standard-attr-revisions", "Resource revision numbers"),
    ("standard-attr-timestamp", "Resource timestamps"),
    ("standard-attr-tag", "Tag support for resources with standard attribute: port, subnet, network, router, ..."),
];

pub(super) fn router(state: NeutronState) -> Router {
    Router::new()
        .route("/", get(versions))
        .route("/v2.0", get(resources))
        .route("/v2.0/", get(resources))
        .route("/v2.0/extensions", get(extensions))
        .route("/v2.0/floatingips", get(floating_ips))
        .route("/v2.0/routers/{id}/add_router_interface", put(add_router_interface))
        .route("/v2.0/routers/{id}/remove_router_interface", put(remove_router_interface))
        .route("/v2.0/{collection}", get(list).post(create))
        .route("/v2.0/{collection}/{id}", get(show).put(update).delete(delete))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(crate::wire::sizelimit))
        .with_state(state)
}

fn kind_of(collection: &str) -> Result<Kind, Response> {
    let collection = collection.strip_suffix(".json").unwrap_or(collection);
    COLLECTIONS.iter().find(|(name, _)| *name == collection).map(|(_, k)| *k).ok_or_else(resource_not_found)
}

/// The router's miss: webob's 404 rendered the Neutron way.
fn resource_not_found() -> Response {
    NeutronError::not_found("HTTPNotFound", "The resource could not be found.".into()).into_response()
}

async fn not_found(_ctx: AuthContext) -> Response {
    resource_not_found()
}

async fn versions(State(s): State<NeutronState>) -> Response {
    let href = format!("{}/v2.0/", s.public_url);
    Json(json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"href": href, "rel": "self"}]}]})).into_response()
}

async fn resources(State(s): State<NeutronState>, _ctx: AuthContext) -> Response {
    let items: Vec<Value> = COLLECTIONS
        .iter()
        .map(|(url, kind)| {
            json!({"name": kind.member(), "collection": kind.collection(),
                   "links": [{"href": format!("{}/v2.0/{url}", s.public_url), "rel": "self"}]})
        })
        .collect();
    Json(json!({"resources": items})).into_response()
}

async fn extensions(_ctx: AuthContext) -> Response {
    let items: Vec<Value> = EXTENSIONS
        .iter()
        .map(
            |(alias, name)| json!({"name": name, "alias": alias, "description": name, "updated": "2013-01-01T10:00:00-00:00", "links": []}),
        )
        .collect();
    Json(json!({"extensions": items})).into_response()
}

/// No external network, so never a floating IP.
async fn floating_ips(_ctx: AuthContext) -> Response {
    Json(json!({"floatingips": []})).into_response()
}

/// The query's `fields` and filters; paging and sorting keys are not filters.
fn select(items: Vec<Map<String, Value>>, query: &[(String, String)]) -> Vec<Value> {
    const NOT_FILTERS: [&str; 6] = ["fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"];
    let mut filters: Vec<(&str, Vec<&str>)> = Vec::new();
    for (key, value) in query.iter().filter(|(k, _)| !NOT_FILTERS.contains(&k.as_str())) {
        match filters.iter_mut().find(|(k, _)| k == key) {
            Some((_, values)) => values.push(value),
            None => filters.push((key, vec![value])),
        }
    }
    let matches = |item: &Map<String, Value>| {
        filters.iter().all(|(key, values)| match item.get(*key) {
            // Neutron ignores filters on attributes a resource does not have.
            None => true,
            Some(actual) => values.iter().any(|wanted| match actual {
                Value::String(s) => s == wanted,
                Value::Bool(b) => wanted.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
                Value::Null => wanted.is_empty(),
                Value::Array(list) => list.iter().any(|v| v.as_str() == Some(wanted)),
                other => &other.to_string() == wanted,
            }),
        })
    };
    let fields: Vec<&str> = query.iter().filter(|(k, _)| k == "fields").map(|(_, v)| v.as_str()).collect();
    items
        .into_iter()
        .filter(|i| matches(i))
        .map(|mut item| {
            if !fields.is_empty() {
                item.retain(|k, _| fields.contains(&k.as_str()));
            }
            Value::Object(item)
        })
        .collect()
}

async fn list(
    State(s): State<NeutronState>,
    ctx: AuthContext,
    Path(collection): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let kind = match kind_of(&collection) {
        Ok(k) => k,
        Err(r) => return r,
    };
    match s.network.list(&ctx, kind) {
        Ok(items) => Json(json!({kind.collection(): select(items, &query)})).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn show(
    State(s): State<NeutronState>,
    ctx: AuthContext,
    Path((collection, id)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let kind = match kind_of(&collection) {
        Ok(k) => k,
        Err(r) => return r,
    };
    match s.network.get(&ctx, kind, &id) {
        Ok(item) => Json(json!({kind.member(): select(vec![item], &query).remove(0)})).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The resource's object from `{"<member>": {...}}`.
fn member_body(kind: Kind, bytes: &Bytes) -> Result<Map<String, Value>, NeutronError> {
    let body: Value = serde_json::from_slice(bytes).map_err(|_| NeutronError::bad_request("Malformed request body".into()))?;
    match body.get(kind.member()) {
        Some(Value::Object(map)) => Ok(map.clone()),
        _ => Err(NeutronError::bad_request(format!("Unable to find '{}' in request body", kind.member()))),
    }
}

async fn create(State(s): State<NeutronState>, ctx: AuthContext, Path(collection): Path<String>, bytes: Bytes) -> Response {
    let kind = match kind_of(&collection) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let created = member_body(kind, &bytes).and_then(|request| match kind {
        Kind::Network => s.network.create_network(&ctx, &request),
        Kind::Subnet => s.network.create_subnet(&ctx, &request),
        Kind::Port => s.network.create_port(&ctx, &request),
        Kind::Router => s.network.create_router(&ctx, &request),
        Kind::SecurityGroup => s.network.create_security_group(&ctx, &request),
        Kind::SecurityGroupRule => s.network.create_security_group_rule(&ctx, &request),
    });
    match created {
        Ok(item) => (StatusCode::CREATED, Json(json!({kind.member(): item}))).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn update(State(s): State<NeutronState>, ctx: AuthContext, Path((collection, id)): Path<(String, String)>, bytes: Bytes) -> Response {
    let kind = match kind_of(&collection) {
        Ok(k) => k,
        Err(r) => return r,
    };
    match member_body(kind, &bytes).and_then(|request| s.network.update(&ctx, kind, &id, &request)) {
        Ok(item) => Json(json!({kind.member(): item})).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn delete(State(s): State<NeutronState>, ctx: AuthContext, Path((collection, id)): Path<(String, String)>) -> Response {
    let kind = match kind_of(&collection) {
        Ok(k) => k,
        Err(r) => return r,
    };
    match s.network.delete(&ctx, kind, &id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

fn interface_body(bytes: &Bytes) -> Result<Map<String, Value>, NeutronError> {
    let body: Value = serde_json::from_slice(bytes).map_err(|_| NeutronError::bad_request("Malformed request body".into()))?;
    body.as_object().cloned().ok_or_else(|| NeutronError::bad_request("Malformed request body".into()))
}

async fn add_router_interface(State(s): State<NeutronState>, ctx: AuthContext, Path(id): Path<String>, bytes: Bytes) -> Response {
    match interface_body(&bytes).and_then(|request| s.network.add_router_interface(&ctx, &id, &request)) {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn remove_router_interface(State(s): State<NeutronState>, ctx: AuthContext, Path(id): Path<String>, bytes: Bytes) -> Response {
    match interface_body(&bytes).and_then(|request| s.network.remove_router_interface(&ctx, &id, &request)) {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}
