//! Simulated Barbican v1 (key manager): secrets, payloads, ACLs, key orders.
//!
//! `model` keeps the state and the policy rules, `validate` Barbican's request rules and
//! messages, `orders` the orders' state, rules and validation, `http` (with `http_orders`)
//! the handlers.

mod http;
pub mod model;
pub mod orders;
pub mod validate;

pub use http::router;
pub use model::{Acl, KeyManager, Secret};
