//! A container's consumers (`ContainerConsumersController`) and read ACL
//! (`ContainerACLsController`, served by the generic ACL handlers of `http_entities.rs`) on the wire.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::super::super::containers::{self, Container, ContainerConsumer};
use super::super::super::model::now_us;
use super::super::super::policy::Rule;
use super::super::entities::{
    ListQuery, WriteRequest, acl_routes, consumer_page, may_remove_consumer, read_authorized_json, refuse_consumer_method, refuse_method,
    valid_consumer_id, with_consumer_location,
};
use super::super::{BarbicanState, Handled, error, failure, time};
use super::{authorize, container_json, enforce_quota, lookup};
use crate::wire::AuthContext;

pub(super) fn routes(router: Router<BarbicanState>) -> Router<BarbicanState> {
    let router = router
        .route(
            "/v1/containers/{id}/consumers",
            get(list_consumers).post(add_consumer).delete(remove_consumer).fallback(refuse_method::<Container>),
        )
        .route("/v1/containers/{id}/consumers/{consumer_id}", get(consumer_get).fallback(refuse_consumer_method::<Container>));
    acl_routes::<Container>(router, "/v1/containers/{id}/acl")
}

fn consumer_json(c: &ContainerConsumer) -> Value {
    json!({"created": time(c.created), "updated": time(c.updated), "status": "ACTIVE", "name": c.name, "URL": c.url})
}

/// The container as the consumer operations answer it (re-read after the change).
fn container_answer(s: &BarbicanState, id: &str, operation: &str) -> Handled {
    let container =
        s.model.get_container(id).map_err(|e| failure(operation, e))?.ok_or_else(|| error(404, "Secrets container not found."))?;
    Ok(Json(container_json(s, &container)).into_response())
}

async fn list_consumers(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>, query: ListQuery) -> Handled {
    const OP: &str = "ContainerConsumers(s) retrieval";
    let found = lookup(&s, &id, OP)?;
    authorize(&s, Rule::Read, &caller, &found, OP)?;
    consumer_page(&s, query, "containers", &id, &found.0.consumers, consumer_json)
}

/// `POST`: idempotent; answers the container (200) with a `Location` of
/// `convert_consumer_to_href(container_id)`.
async fn add_consumer(State(s): State<BarbicanState>, WriteRequest { caller, id, headers, body }: WriteRequest) -> Handled {
    const OP: &str = "ContainerConsumer creation";
    let (body, _) = read_authorized_json::<Container>(&s, &caller, &id, &headers, body, Rule::Read, OP).await?;
    let (name, url) = containers::container_consumer(&body).map_err(|e| error(e.status, &e.message))?;
    enforce_quota(&s, &caller, "consumers", OP, || s.model.count_consumers(&caller.project_id))?;
    let now = now_us();
    let consumer = ContainerConsumer { project_id: caller.project_id.clone(), name, url, created: now, updated: now };
    s.model.add_container_consumer(&id, &consumer).map_err(|e| failure(OP, e))?;
    Ok(with_consumer_location(&s, &id, container_answer(&s, &id, OP)?))
}

async fn remove_consumer(State(s): State<BarbicanState>, WriteRequest { caller, id, headers, body }: WriteRequest) -> Handled {
    const OP: &str = "ContainerConsumer deletion";
    let (body, found) = read_authorized_json::<Container>(&s, &caller, &id, &headers, body, Rule::Read, OP).await?;
    let (name, url) = containers::container_consumer(&body).map_err(|e| error(e.status, &e.message))?;
    let Some(consumer) = found.0.consumers.iter().find(|c| c.name == name && c.url == url) else {
        return Err(error(404, "Consumer not found."));
    };
    may_remove_consumer(&consumer.project_id, &found.0.project_id, &caller)?;
    if !s.model.remove_container_consumer(&id, &name, &url).map_err(|e| failure(OP, e))? {
        return Err(error(404, "Consumer not found."));
    }
    container_answer(&s, &id, OP)
}

/// `GET .../consumers/{consumer_id}` (`consumer:get`): consumer ids are never shown, so a
/// well-formed one is not found.
async fn consumer_get(State(s): State<BarbicanState>, caller: AuthContext, Path((id, consumer_id)): Path<(String, String)>) -> Handled {
    const OP: &str = "ContainerConsumer retrieval";
    let found = lookup(&s, &id, OP)?;
    valid_consumer_id(&consumer_id)?;
    authorize(&s, Rule::ConsumerGet, &caller, &found, OP)?;
    Err(error(404, "Consumer not found."))
}
