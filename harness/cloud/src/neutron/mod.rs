//! Simulated Neutron (networking API v2.0): the part of it the other services and tempest's
//! scenario tests use. Networks, subnets with IP allocation, ports, routers and their
//! interfaces, security groups and rules; no agents, no floating IPs (there is no external
//! network). Nova looks requested networks up here and plugs ports into them, as it does with
//! a real Neutron.
//!
//! - `model`: the resources and the plugin's rules, in SQLite (`neutron_resources`);
//!   `security_groups`: the per-project default group and rules; `ip`: subnet arithmetic;
//! - `fault`: NeutronError bodies; `http`: the API handlers.

mod fault;
mod http;
mod ip;
mod model;
mod security_groups;

use std::sync::Arc;

use axum::Router;

use crate::keystone::Identity;
use crate::remote_keystone::RemoteKeystone;
use crate::wire::TokenValidator;

pub use fault::NeutronError;
pub use model::{Kind, NetworkService};

/// The network API's router: version discovery and `/v2.0/...`, its callers checked by the
/// simulated Keystone.
pub fn router(identity: Arc<Identity>, network: Arc<NetworkService>, public_url: String) -> Router {
    let tokens = TokenValidator::Local(identity);
    http::router(http::NeutronState { tokens, network, public_url: public_url.trim_end_matches('/').into() })
}

/// [`router`] with its callers checked by a real Keystone (`sigstack serve-network`).
pub fn router_with_keystone(keystone: Arc<RemoteKeystone>, network: Arc<NetworkService>, public_url: String) -> Router {
    let tokens = TokenValidator::Remote(keystone);
    http::router(http::NeutronState { tokens, network, public_url: public_url.trim_end_matches('/').into() })
}
