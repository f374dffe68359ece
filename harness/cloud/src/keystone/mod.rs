//! Simulated Keystone v3: identity, tokens, application credentials, the catalog.

mod application_credentials;
mod assignments;
mod ec2;
mod groups;
mod http;
mod http_application_credentials;
mod http_credentials;
mod http_ec2;
mod http_groups;
mod http_roles;
mod http_system;
mod http_tokens;
mod model;
mod passwords;
mod roles;
mod schema;
mod tokens;

pub use application_credentials::ApplicationCredential;
pub use ec2::{Credential, Ec2Credential};
pub use groups::Group;
pub use http::{KeystoneState, request_id, router};
pub use model::{AuthError, DomainRef, Entity, Identity, ProjectRef, Seed, SeedUser, TOKEN_TTL_SECONDS, UserRef};
pub use roles::Domain;
pub use tokens::{Scope, TokenError, TokenInfo};
