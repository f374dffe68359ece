//! `/v1/orders` on the wire (`barbican/api/controllers/orders.py`): create (202 and the
//! `order_ref`), show, list, delete, in the controllers' order of checks: policy, then
//! Content-Type, then the body; for one order the project-scoped lookup comes first.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rand::RngExt as _;
use serde_json::{Value, json};

use super::super::model::{self, Secret, now_us};
use super::super::orders::{self, Order, OrderAction};
use super::entities::{ListQuery, query_pairs};
use super::{BarbicanState, Handled, aborted, error, failure, forbidden, page, paging, read_body, require_content_type, secret_ref, time};
use crate::wire::AuthContext;

pub(super) fn routes(router: Router<BarbicanState>) -> Router<BarbicanState> {
    router
        .route("/v1/orders", get(list_orders).post(create_order).put(put_orders).fallback(super::method_not_allowed))
        .route("/v1/orders/", get(list_orders).post(create_order).put(put_orders).fallback(super::method_not_allowed))
        .route("/v1/orders/{id}", get(show_order).delete(delete_order).fallback(order_other))
}

fn order_ref(s: &BarbicanState, id: &str) -> String {
    format!("{}/v1/orders/{id}", s.public_url)
}

/// `Order.to_dict_fields` through `convert_to_hrefs`. The sub-status fields keep their
/// defaults (`Unknown`): only certificate plugins set them.
fn order_json(s: &BarbicanState, order: &Order) -> Value {
    let mut v = json!({
        "created": time(order.created),
        "updated": time(order.updated),
        "status": order.status,
        "sub_status": "Unknown",
        "sub_status_message": "Unknown",
        "type": order.order_type,
        "meta": order.meta,
        "creator_id": order.creator_id,
        "order_ref": order_ref(s, &order.id),
    });
    if let Some(secret_id) = &order.secret_id {
        v["secret_ref"] = json!(secret_ref(s, secret_id));
    }
    v
}

/// `OrdersController._lookup`: in the caller's project only, before any policy check; no
/// UUID check, so any unknown id is this 404.
fn lookup(s: &BarbicanState, caller: &AuthContext, id: &str, operation: &str) -> Result<Order, Response> {
    s.model.get_order(id, &caller.project_id).map_err(|e| failure(operation, e))?.ok_or_else(|| error(404, "Order not found."))
}

fn authorize(s: &BarbicanState, action: OrderAction, caller: &AuthContext, order: &Order, operation: &str) -> Result<(), Response> {
    if s.model.scope_ok(caller) && orders::order_allowed(s.model.policy(), action, caller, order) {
        Ok(())
    } else {
        Err(forbidden(operation))
    }
}

async fn create_order(State(s): State<BarbicanState>, caller: AuthContext, headers: HeaderMap, body: Body) -> Handled {
    const OP: &str = "Order creation";
    let body = read_body(body).await?;
    if !(s.model.scope_ok(&caller) && model::may_create(s.model.policy(), &caller)) {
        return Err(forbidden(OP));
    }
    require_content_type(&headers, &["application/json"])?;
    let now = now_us();
    let new = orders::new_order(&body, now).map_err(|e| error(e.status, &e.message))?;
    super::containers::enforce_quota(&s, &caller, "orders", OP, || s.model.count_orders(&caller.project_id))?;
    // The key: `bit_length` random bits (a multiple of 8, at most 32767, checked above).
    let bits = new.secret.bit_length.unwrap_or_default().clamp(0, 32767);
    let mut key = vec![0u8; (bits / 8) as usize];
    rand::rng().fill(&mut key[..]);
    let secret = Secret {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        project_id: caller.project_id.clone(),
        creator_id: caller.user_id.clone(),
        name: new.secret.name,
        secret_type: "symmetric".into(),
        algorithm: new.secret.algorithm,
        bit_length: new.secret.bit_length,
        mode: new.secret.mode,
        expiration: new.secret.expiration,
        created: now,
        updated: now,
        content_type: Some("application/octet-stream".into()),
        payload: Some(key),
    };
    let order = Order {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        project_id: caller.project_id.clone(),
        creator_id: caller.user_id.clone(),
        order_type: new.order_type,
        meta: new.meta,
        status: "ACTIVE".into(),
        secret_id: Some(secret.id.clone()),
        created: now,
        updated: now,
    };
    s.model.insert_order(&order, &secret).map_err(|e| failure(OP, e))?;
    let href = order_ref(&s, &order.id);
    let location = HeaderValue::from_str(&href).map_err(|e| failure(OP, e))?;
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(json!({"order_ref": href}))).into_response())
}

async fn list_orders(State(s): State<BarbicanState>, caller: AuthContext, query: ListQuery) -> Handled {
    const OP: &str = "Order(s) retrieval";
    if !(s.model.scope_ok(&caller) && model::may_list(s.model.policy(), &caller)) {
        return Err(forbidden(OP));
    }
    let params = query_pairs(query);
    let (offset, limit) = paging(&params);
    let (found, total) = s.model.list_orders(&caller.project_id, offset, limit).map_err(|e| failure(OP, e))?;
    let items = found.iter().map(|o| order_json(&s, o)).collect();
    Ok(Json(page(&s, "orders", items, total, offset, limit)).into_response())
}

/// `PUT /v1/orders`: `orders:put` (legacy `rule:admin_or_creator`), then "not supported".
async fn put_orders(State(s): State<BarbicanState>, caller: AuthContext) -> Handled {
    const OP: &str = "Order update";
    if !(s.model.scope_ok(&caller) && model::may_create(s.model.policy(), &caller)) {
        return Err(forbidden(OP));
    }
    Err(error(405, "Order update is not supported."))
}

async fn show_order(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    const OP: &str = "Order retrieval";
    let order = lookup(&s, &caller, &id, OP)?;
    authorize(&s, OrderAction::Get, &caller, &order, OP)?;
    Ok(Json(order_json(&s, &order)).into_response())
}

async fn delete_order(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    const OP: &str = "Order deletion";
    let order = lookup(&s, &caller, &id, OP)?;
    authorize(&s, OrderAction::Delete, &caller, &order, OP)?;
    s.model.delete_order(&id).map_err(|e| failure(OP, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Other methods on an order: the lookup runs first (404), then pecan's bare 405.
async fn order_other(State(s): State<BarbicanState>, caller: AuthContext, Path(id): Path<String>) -> Handled {
    lookup(&s, &caller, &id, "Order retrieval")?;
    Err(aborted(405))
}
