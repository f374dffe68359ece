//! Simulated Nova (compute API v2.1, microversions 2.1–2.96), with the image-signature and
//! certificate-validation behaviour of docs/reference/openstack-behaviour.md section B and docs/reference/cursive.md §6.
//!
//! - `model`: servers (with their faults), compute-node up/down state and the per-node image
//!   caches, in SQLite tables `nova_*` and files under the data directory;
//! - `fault`: Nova's error bodies and microversion negotiation; `policy`: policy check strings;
//! - `schema`: request validation with jsonschema's messages (`trusted_image_certificates`);
//! - `build`: the scheduler and the asynchronous build, rebuild, reboot, evacuate and snapshot
//!   flows of nova-conductor and nova-compute;
//! - `image_fetch`: `GlanceImageServiceV2.download` with `_get_verifier`, streaming the image
//!   from Glance through the verifier into a node's `_base` cache;
//! - `bdm`: the block device mappings of attached volumes (device names, reservation);
//! - `volume_ops`: Nova's Cinder client calls and the compute host's attach and detach;
//! - `http`, `actions`, `volume_attachments`: the API handlers; `sim`: the simulator-only
//!   `/_sim/compute` routes.

mod actions;
mod bdm;
mod build;
mod fault;
mod http;
mod image_fetch;
mod images;
mod model;
mod network;
mod policy;
mod schema;
mod sim;
mod volume_attachments;
mod volume_ops;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use sigstack_client::Credentials;

use crate::deployment::DeploymentState;
use crate::keystone::Identity;
use crate::store::{Store, StoreError};

pub use fault::{COMPUTE, NovaFault};
pub use model::{ComputeService, ImageCache, InstanceFault, Server};

/// The compute API's router: version discovery, `/v2.1/...` and `/_sim/compute/...`.
pub fn router(identity: Arc<Identity>, compute: Arc<ComputeService>, public_url: String, instance_ha: Option<Credentials>) -> Router {
    http::router(http::NovaState { identity, compute, public_url, instance_ha })
}

impl ComputeService {
    /// Opens Nova's state. Builds and other operations a previous process left half done are
    /// settled the way nova-compute's `_init_instance` does at start-up.
    pub fn open(store: Arc<Store>, data_dir: PathBuf, deployment: Arc<DeploymentState>) -> Result<ComputeService, StoreError> {
        let service = ComputeService::new(store, data_dir, deployment)?;
        service.recover_interrupted()?;
        Ok(service)
    }
}
