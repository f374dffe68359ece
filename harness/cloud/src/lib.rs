//! sigstack's simulated OpenStack cloud: Keystone, Barbican and Glance speaking the real HTTP
//! APIs on loopback, wired to the `sigstack-verify` engine, with a `/_sim/` control API.
//!
//! Each service is a folder with its state and rules (`model`) apart from its HTTP handlers
//! (`http`). Services call each other over HTTP with the `sigstack-client` crate, as real
//! OpenStack services do (Glance fetches signing certificates from Barbican with the uploading
//! user's token). State lives in SQLite in the data directory ([`store`]).

pub mod barbican;
mod cloud;
pub mod control;
pub mod glance;
pub mod keystone;
pub mod python;
pub mod store;
pub mod wire;

pub use cloud::{CloudConfig, CloudError, CloudHandle, Endpoints, start};
