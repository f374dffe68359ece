//! Simulated Keystone v3: identity, tokens, application credentials, the catalog.

mod application_credentials;
mod http;
mod http_application_credentials;
mod http_tokens;
mod model;
mod passwords;
mod schema;
mod tokens;

pub use application_credentials::ApplicationCredential;
pub use http::{KeystoneState, request_id, router};
pub use model::{AuthError, Entity, Identity, Seed, SeedUser, TOKEN_TTL_SECONDS};
pub use tokens::{TokenError, TokenInfo};
