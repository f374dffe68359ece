//! Barbican's orders without HTTP: `TypeOrderValidator` (the `Order` schema, then the
//! order's `meta` through `NewSecretValidator` as `Secret' within 'Order`), the orders in
//! SQLite, and the `orders:*` / `order:*` policy rules.
//!
//! Barbican processes an order in a worker; with the default synchronous in-process queue
//! (`[queue] enable = False`) the worker has run before `POST /v1/orders` answers, so a key
//! order is `ACTIVE` with its `secret_ref` by the first `GET`. The simulator does the same: the
//! key is generated and stored as a `symmetric` secret in the caller's project while the order
//! is created.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::model::{KeyManager, Policy, Secret, any_role};
use super::validate::{self, Invalid, Properties, first_error, load_json, object, schema_error};
use crate::jsonschema::{self, Keyword as Kw};
use crate::store::StoreError;
use crate::wire::AuthContext;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS barbican_orders (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, creator_id TEXT NOT NULL,
    order_type TEXT NOT NULL, meta TEXT NOT NULL, status TEXT NOT NULL, secret_id TEXT,
    created INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS barbican_orders_project ON barbican_orders (project_id, created);
";

const COLUMNS: &str = "id, project_id, creator_id, order_type, meta, status, secret_id, created, updated";

/// One order. Times are Unix microseconds, UTC; `meta` is the validated request `meta`.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: String,
    pub project_id: String,
    pub creator_id: String,
    pub order_type: String,
    pub meta: Value,
    pub status: String,
    pub secret_id: Option<String>,
    pub created: i64,
    pub updated: i64,
}

impl Order {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Order> {
        let meta: String = r.get(4)?;
        Ok(Order {
            id: r.get(0)?,
            project_id: r.get(1)?,
            creator_id: r.get(2)?,
            order_type: r.get(3)?,
            meta: serde_json::from_str(&meta).unwrap_or(Value::Null),
            status: r.get(5)?,
            secret_id: r.get(6)?,
            created: r.get(7)?,
            updated: r.get(8)?,
        })
    }
}

impl KeyManager {
    /// Stores a generated secret and the `ACTIVE` order that made it, together.
    pub fn insert_order(&self, order: &Order, secret: &Secret) -> Result<(), StoreError> {
        self.insert(secret)?;
        let inserted = self.store().with(|c| {
            c.execute(
                &format!("INSERT INTO barbican_orders ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![
                    order.id,
                    order.project_id,
                    order.creator_id,
                    order.order_type,
                    order.meta.to_string(),
                    order.status,
                    order.secret_id,
                    order.created,
                    order.updated
                ],
            )
            .map(|_| ())
        });
        if inserted.is_err() {
            // No orphan key without its order.
            let _ = self.delete(&secret.id);
        }
        inserted
    }

    /// `OrderRepo.get(entity_id, external_project_id)`: orders are looked up in the
    /// caller's project only, so another project's order is "not found".
    pub fn get_order(&self, id: &str, project_id: &str) -> Result<Option<Order>, StoreError> {
        self.store().with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM barbican_orders WHERE id = ?1 AND project_id = ?2"),
                params![id, project_id],
                Order::from_row,
            )
            .optional()
        })
    }

    /// `get_by_create_date`: one page of the project's orders, oldest first, and the total.
    pub fn list_orders(&self, project_id: &str, offset: i64, limit: i64) -> Result<(Vec<Order>, i64), StoreError> {
        self.store().with(|c| {
            let total: i64 =
                c.query_row("SELECT COUNT(*) FROM barbican_orders WHERE project_id = ?1", params![project_id], |r| r.get(0))?;
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM barbican_orders WHERE project_id = ?1 ORDER BY created ASC, rowid ASC LIMIT ?2 OFFSET ?3"
            ))?;
            let rows = stmt.query_map(params![project_id, limit, offset], Order::from_row)?;
            Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total))
        })
    }

    /// Deletes the order; the secret it generated stays, as in Barbican.
    pub fn delete_order(&self, id: &str) -> Result<bool, StoreError> {
        self.store().with(|c| c.execute("DELETE FROM barbican_orders WHERE id = ?1", params![id]).map(|n| n == 1))
    }
}

// ---- policy: barbican/common/policies/orders.py ----

// `orders:post` and `orders:put` have the check strings of `secrets:post`
// (`model::may_create`), `orders:get` those of `secrets:get` (`model::may_list`).

/// A policy-checked operation on one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    /// `order:get`.
    Get,
    /// `order:delete`.
    Delete,
}

/// `order:get` legacy `rule:all_users and project_id:%(target.order.project_id)s`,
/// `order:delete` legacy `rule:admin and project_id:...`; both new `rule:order_project_member`
/// (`role:member and project_id:...`).
pub fn order_allowed(policy: Policy, action: OrderAction, caller: &AuthContext, order: &Order) -> bool {
    let project_match = caller.project_id == order.project_id;
    let role = match (policy, action) {
        (Policy::Legacy, OrderAction::Get) => any_role(caller, &["admin", "observer", "creator", "audit", "key-manager:service-admin"]),
        (Policy::Legacy, OrderAction::Delete) => caller.has_role("admin"),
        (Policy::NewDefaults, _) => caller.has_role("member"),
    };
    role && project_match
}

// ---- TypeOrderValidator ----

/// Barbican 23.0.0's `TypeOrderValidator` schema enum (certificate orders are gone).
const ORDER_TYPES: [&str; 2] = ["key", "asymmetric"];

/// A validated `POST /v1/orders` body.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub order_type: String,
    /// The `meta` as Barbican keeps it: `name` stripped (or null) and `expiration` normalised
    /// (or null) by `NewSecretValidator`.
    pub meta: Value,
    /// The secret a key order generates.
    pub secret: validate::NewSecret,
}

/// What `TypeOrderValidator.validate` refuses, or an order type the simulator does not
/// generate (`asymmetric`, which needs an RSA key plugin).
pub fn new_order(body: &[u8], now: i64) -> Result<NewOrder, Invalid> {
    let value = load_json(body)?;
    let obj = object(&value, "Order")?;
    // The draft-03 schema: `meta` (object, required) and `type` (string, required, enum). Its
    // `required` errors sit on the property as the others do, and the property sorting last
    // wins (`first_error`): everything about `type` before anything about `meta`.
    const TYPE: Properties = &[("type", &[Kw::Type(&["string"]), Kw::Enum(&ORDER_TYPES)])];
    const META: Properties = &[("meta", &[Kw::Type(&["object"])])];
    for (name, schema) in [("type", TYPE), ("meta", META)] {
        if !obj.contains_key(name) {
            return Err(schema_error("Order", &jsonschema::required(name), Some(name)));
        }
        if let Some((reason, property)) = first_error(obj, schema) {
            return Err(schema_error("Order", &reason, Some(property)));
        }
    }
    let order_type = obj.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    let meta = obj.get("meta").and_then(Value::as_object).cloned().unwrap_or_default();
    let label = match order_type.as_str() {
        "key" => "key",
        "asymmetric" => "asymmetric key",
        _ => return Err(not_implemented(&order_type)),
    };
    let secret = validate::secret_fields(&meta, Some("Order"), now)?;
    let order_error = |reason: String| schema_error("Order", &reason, Some("meta"));
    if meta.get("payload").is_some_and(|p| !p.is_null()) {
        return Err(order_error(format!("'payload' not allowed for {order_type} type order")));
    }
    // `_validate_meta_parameters`: Python truthiness, so "" and 0 are missing too.
    if !meta.get("algorithm").is_some_and(truthy) {
        return Err(order_error(format!("'algorithm' is required field for {label} type order")));
    }
    if !meta.get("bit_length").is_some_and(truthy) {
        return Err(order_error(format!("'bit_length' is required field for {label} type order")));
    }
    // `_validate_bit_length` raises `UnsupportedField`, whose client message is generic.
    if secret.bit_length.is_none_or(|b| b % 8 != 0) {
        return Err(Invalid { status: 400, message: "Provided field value is not supported".into() });
    }
    if order_type != "key" {
        return Err(not_implemented(&order_type));
    }
    Ok(NewOrder { order_type, meta: Value::Object(stored_meta(meta, &secret)), secret })
}

/// The simulator generates symmetric keys only. Real Barbican accepts `asymmetric` orders (an
/// RSA container); here they are refused with the wording of Barbican's
/// own `FeatureNotImplemented` for an order type it cannot process.
fn not_implemented(order_type: &str) -> Invalid {
    Invalid {
        status: 400,
        message: format!(
            "Feature not implemented for value set on field 'type' on schema 'Order': Feature not implemented for '{order_type}' order type"
        ),
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn stored_meta(mut meta: Map<String, Value>, secret: &validate::NewSecret) -> Map<String, Value> {
    meta.insert("name".into(), secret.name.clone().map_or(Value::Null, Value::String));
    meta.insert("expiration".into(), secret.expiration.map_or(Value::Null, |e| Value::String(validate::isoformat(e))));
    meta
}

#[cfg(test)]
mod tests {
    use super::new_order;

    fn message(body: &str) -> String {
        new_order(body.as_bytes(), 0).unwrap_err().message
    }

    #[test]
    fn order_schema_messages() {
        // Checked against Barbican 23.0.0's TypeOrderValidator: `type` sorts after `meta`.
        let required = |name: &str| {
            format!("Provided object does not match schema 'Order': '{name}' is a required property. Invalid property: '{name}'")
        };
        assert_eq!(message("{}"), required("type"));
        assert_eq!(message(r#"{"meta": 5}"#), required("type"));
        assert_eq!(message(r#"{"type": "key"}"#), required("meta"));
        assert_eq!(
            message(r#"{"meta": 5, "type": "x"}"#),
            "Provided object does not match schema 'Order': 'x' is not one of ['key', 'asymmetric']. Invalid property: 'type'"
        );
        assert_eq!(
            message(r#"{"meta": {}}"#),
            "Provided object does not match schema 'Order': 'type' is a required property. Invalid property: 'type'"
        );
        assert_eq!(
            message(r#"{"type": "blob", "meta": {}}"#),
            "Provided object does not match schema 'Order': 'blob' is not one of ['key', 'asymmetric']. Invalid property: 'type'"
        );
        assert_eq!(
            message(r#"{"type": "key", "meta": {"algorithm": "aes", "bit_length": 0}}"#),
            "Provided object does not match schema 'Secret' within 'Order': 0 is less than the minimum of 1. Invalid property: 'bit_length'"
        );
        assert_eq!(message(r#"{"type": "key", "meta": {"algorithm": "aes", "bit_length": 100}}"#), "Provided field value is not supported");
        assert_eq!(
            message(r#"{"type": "key", "meta": {"bit_length": 256}}"#),
            "Provided object does not match schema 'Order': 'algorithm' is required field for key type order. Invalid property: 'meta'"
        );
        let ok = new_order(br#"{"type": "key", "meta": {"algorithm": "aes", "bit_length": 256, "name": " k "}}"#, 0).unwrap();
        assert_eq!(ok.meta["name"], "k");
        assert!(ok.meta["expiration"].is_null());
    }
}
