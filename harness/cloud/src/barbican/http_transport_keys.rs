//! `/v1/transport_keys` (`barbican/api/controllers/transportkeys.py`): the list (hrefs only)
//! and registering a key (`NewTransportKeyValidator`). Transport keys are global, not per
//! project (their table is in `extras.rs`). `GET`/`DELETE /v1/transport_keys/{id}` are not
//! simulated.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::params;
use serde_json::{Value, json};

use super::super::model::{KeyManager, Policy, any_role, now_us};
use super::super::validate::{Invalid, Properties, first_error, load_json, object, schema_error};
use super::entities::{ListQuery, query_pairs};
use super::{BarbicanState, Handled, error, failure, forbidden, page, paging, read_body, require_content_type, validate};
use crate::jsonschema::Keyword as Kw;
use crate::store::StoreError;
use crate::wire::AuthContext;

pub(super) fn routes(router: Router<BarbicanState>) -> Router<BarbicanState> {
    router
        .route("/v1/transport_keys", get(list).post(create).fallback(super::method_not_allowed))
        .route("/v1/transport_keys/", get(list).post(create).fallback(super::method_not_allowed))
}

impl KeyManager {
    fn transport_keys(&self, plugin_name: Option<&str>, offset: i64, limit: i64) -> Result<(Vec<String>, i64), StoreError> {
        self.store().with(|c| {
            let filter = "FROM barbican_transport_keys WHERE (?1 IS NULL OR plugin_name = ?1)";
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) {filter}"), params![plugin_name], |r| r.get(0))?;
            let mut stmt = c.prepare(&format!("SELECT id {filter} ORDER BY created, rowid LIMIT ?2 OFFSET ?3"))?;
            let ids = stmt.query_map(params![plugin_name, limit, offset], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok((ids, total))
        })
    }

    fn insert_transport_key(&self, id: &str, plugin_name: &str, key: &str, now: i64) -> Result<(), StoreError> {
        self.store().with(|c| {
            c.execute(
                "INSERT INTO barbican_transport_keys (id, plugin_name, transport_key, created) VALUES (?1, ?2, ?3, ?4)",
                params![id, plugin_name, key, now],
            )
            .map(|_| ())
        })
    }
}

/// `transport_keys:get`: legacy `rule:all_users`; new `role:reader`. `transport_keys:post`:
/// legacy `rule:service_admin`; new `role:admin`.
fn allowed(policy: Policy, post: bool, caller: &AuthContext) -> bool {
    match (policy, post) {
        (Policy::Legacy, false) => any_role(caller, &["admin", "observer", "creator", "audit", "key-manager:service-admin"]),
        (Policy::Legacy, true) => caller.has_role("key-manager:service-admin"),
        (Policy::NewDefaults, false) => caller.has_role("reader"),
        (Policy::NewDefaults, true) => caller.has_role("admin"),
    }
}

fn key_ref(s: &BarbicanState, id: &str) -> String {
    format!("{}/v1/transport_keys/{id}", s.public_url)
}

async fn list(State(s): State<BarbicanState>, caller: AuthContext, query: ListQuery) -> Handled {
    const OP: &str = "Transport Key(s) retrieval";
    if !(s.model.scope_ok(&caller) && allowed(s.model.policy(), false, &caller)) {
        return Err(forbidden(OP));
    }
    let params = query_pairs(query);
    let plugin = params.iter().find(|(k, _)| k == "plugin_name").map(|(_, v)| validate::unquote_plus(v));
    let (offset, limit) = paging(&params);
    let (ids, total) = s.model.transport_keys(plugin.as_deref(), offset, limit).map_err(|e| failure(OP, e))?;
    let items = ids.iter().map(|id| Value::String(key_ref(&s, id))).collect();
    Ok(Json(page(&s, "transport_keys", items, total, offset, limit)).into_response())
}

/// `NewTransportKeyValidator`: both strings, stripped, non-empty.
fn new_key(body: &[u8]) -> Result<(String, String), Invalid> {
    const SCHEMA_NAME: &str = "Transport Key";
    let value = load_json(body)?;
    let obj = object(&value, SCHEMA_NAME)?;
    const PROPS: Properties = &[("plugin_name", &[Kw::Type(&["string"])]), ("transport_key", &[Kw::Type(&["string"])])];
    if let Some((reason, property)) = first_error(obj, PROPS) {
        return Err(schema_error(SCHEMA_NAME, &reason, Some(property)));
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default().trim().to_owned();
    let (plugin, key) = (text("plugin_name"), text("transport_key"));
    if plugin.is_empty() {
        return Err(schema_error(SCHEMA_NAME, "plugin_name must be provided", Some("plugin_name")));
    }
    if key.is_empty() {
        return Err(schema_error(SCHEMA_NAME, "transport_key must be provided", Some("transport_key")));
    }
    Ok((plugin, key))
}

async fn create(State(s): State<BarbicanState>, caller: AuthContext, headers: HeaderMap, body: Body) -> Handled {
    const OP: &str = "Transport Key Creation";
    let body = read_body(body).await?;
    if !(s.model.scope_ok(&caller) && allowed(s.model.policy(), true, &caller)) {
        return Err(forbidden(OP));
    }
    require_content_type(&headers, &["application/json"])?;
    let (plugin, key) = new_key(&body).map_err(|e| error(e.status, &e.message))?;
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    s.model.insert_transport_key(&id, &plugin, &key, now_us()).map_err(|e| failure(OP, e))?;
    let href = key_ref(&s, &id);
    let location = HeaderValue::from_str(&href).map_err(|e| failure(OP, e))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(json!({"transport_key_ref": href}))).into_response())
}

#[cfg(test)]
mod tests {
    use super::new_key;

    #[test]
    fn transport_key_messages() {
        assert_eq!(
            new_key(br#"{"plugin_name": " ", "transport_key": "k"}"#).unwrap_err().message,
            "Provided object does not match schema 'Transport Key': plugin_name must be provided. Invalid property: 'plugin_name'"
        );
        assert_eq!(new_key(br#"{"plugin_name": "p", "transport_key": " k "}"#).unwrap(), ("p".to_owned(), "k".to_owned()));
    }
}
