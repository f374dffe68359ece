//! sigstack's OpenStack HTTP client. One client serves the CLI, the conformance suite, the
//! operator tools, and the simulated services calling each other, as real OpenStack services
//! call each other over HTTP.
//!
//! - [`Session`]: Keystone v3 auth (password, application credential, token), the catalog,
//!   authenticated requests with token renewal; [`tls`]: HTTPS as the OpenStack clients do it.
//! - [`clouds`]: clouds.yaml, secure.yaml and `OS_*` variables, resolved as openstacksdk does.
//! - [`key_manager`]: Barbican v1 secrets, and castellan's certificate retrieval with cursive's
//!   error mapping.
//! - [`image`]: Glance v2 images, upload and download streams, staging and import.
//! - [`identity`]: Keystone's admin API (projects, users, role grants).

pub mod auth;
pub mod clouds;
pub mod compute;
pub mod error;
pub mod identity;
pub mod image;
pub mod key_manager;
pub mod session;
pub mod tls;
pub mod volume;

pub use error::Error;
pub use session::{AuthType, CatalogEntry, Credentials, Endpoint, Named, Session, Token};
pub use tls::TlsOptions;
