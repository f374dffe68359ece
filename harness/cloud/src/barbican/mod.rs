//! Simulated Barbican v1 (key manager): secrets, payloads, ACLs.
//!
//! `model` keeps the state and the policy rules, `validate` Barbican's request rules and
//! messages, `http` the handlers.

mod http;
pub mod model;
pub mod validate;

pub use http::router;
pub use model::{Acl, KeyManager, Secret};
