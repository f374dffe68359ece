//! sigstack's simulated OpenStack cloud: Keystone, Barbican, Glance, Nova, Cinder and a minimal
//! Neutron speaking
//! the real HTTP APIs on loopback, wired to the `sigstack-verify` engine, with a `/_sim/`
//! control API. A [`deployment::Deployment`] profile says which cloud is simulated.
//!
//! Each service is a folder with its state and rules (`model`) apart from its HTTP handlers
//! (`http`). Services call each other over HTTP with the `sigstack-client` crate, as real
//! OpenStack services do (Glance fetches signing certificates from Barbican with the uploading
//! user's token). State lives in SQLite in the data directory ([`store`]).

// HTTP helpers fail with the finished axum `Response` (every service does this); boxing it
// would only add noise.
#![allow(clippy::result_large_err)]

pub mod barbican;
pub mod cinder;
mod cloud;
pub mod control;
pub mod deployment;
pub mod glance;
pub mod jsonschema;
pub mod keystone;
pub mod logging;
pub mod microversion;
pub mod neutron;
pub mod nova;
pub mod provision;
mod qcow2;
pub mod remote_keystone;
pub mod standalone_network;
pub mod store;
pub mod tls;
pub mod wire;

// The Python formatter's old path, for `glance/http_data.rs` (open in another change); new code
// imports it from `jsonschema`.
pub(crate) use jsonschema as python;

pub use cloud::{BODY_IDLE_TIMEOUT, CloudConfig, CloudError, CloudHandle, Endpoints, HEADER_READ_TIMEOUT, start};
pub use tls::ServerTls;
