//! Simulated Keystone v3: identity, tokens, the catalog.

mod http;
mod model;

pub use http::{KeystoneState, request_id, router};
pub use model::{AuthError, Entity, Identity, Seed, SeedUser, TOKEN_TTL_SECONDS};
