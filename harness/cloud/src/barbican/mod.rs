//! Simulated Barbican v1 (key manager): secrets, payloads, ACLs, key orders, containers,
//! consumers, secret metadata and quotas.
//!
//! `model` keeps the state and the secrets' policy rules, `validate` Barbican's request rules
//! and messages, `orders` the orders' state, rules and validation, `containers` the
//! containers', `extras` secret metadata, secret consumers and project quotas, `policy` the
//! rules of all but secrets and orders, `http` (with `http_orders`, `http_containers`,
//! `http_extras`, and `http_entities` for what secrets and containers share) the handlers.

pub mod containers;
pub mod extras;
mod http;
pub mod model;
pub mod orders;
pub mod policy;
pub mod validate;

pub use http::router;
pub use model::{Acl, KeyManager, Secret};
