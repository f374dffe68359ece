//! Simulated Nova (compute API v2.1, microversions 2.1–2.104 as Nova 34.0.0 speaks them, or
//! up to the deployment's `nova.max_microversion`), with the image-signature and
//! certificate-validation behaviour of docs/reference/openstack-behaviour.md section B and docs/reference/cursive.md §6.
//!
//! - `model`: servers (with their faults), compute-node up/down state and the per-node image
//!   caches, in SQLite tables `nova_*` and files under the data directory;
//! - `fault`: Nova's error bodies and microversion negotiation; `policy`: policy check strings;
//! - `schema`: request validation with jsonschema's messages (`trusted_image_certificates`);
//!   `query`: query-string validation; `hints`: scheduler hints;
//! - `build`: the scheduler and the asynchronous build, rebuild, reboot, evacuate and snapshot
//!   flows of nova-conductor and nova-compute;
//! - `image_fetch`: `GlanceImageServiceV2.download` with `_get_verifier`, streaming the image
//!   from Glance through the verifier into a node's `_base` cache;
//! - `bdm`: the block device mappings of attached volumes (device names, reservation);
//! - `volume_ops`: Nova's Cinder client calls and the compute host's attach and detach;
//! - `http`, `flavors`, `update`, `actions`, `volume_attachments`, `shares`, `images`: the API
//!   handlers; `server_view`: the server as the API shows it; `sim`: the simulator-only
//!   `/_sim/compute` routes.
//!
//! Of Nova 34's changes after 2.96, 2.99 (the `spice-direct` console) and 2.103 (the removal
//! of `/os-volumes_boot`) touch APIs the simulator does not have.

mod actions;
mod bdm;
mod build;
mod fault;
mod flavors;
mod hints;
mod http;
mod image_fetch;
mod images;
mod model;
mod network;
mod policy;
mod query;
mod schema;
mod schema_actions;
mod server_view;
mod shares;
mod sim;
mod update;
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
        warn_deprecated_options(&deployment.get());
        let service = ComputeService::new(store, data_dir, deployment)?;
        service.recover_interrupted()?;
        Ok(service)
    }
}

/// What oslo.config logs (logger `oslo_config.cfg`, through oslo.log's
/// `report_deprecated_feature`) the first time Nova reads `[glance]
/// enable_certificate_validation` from its configuration: the option is
/// `deprecated_for_removal` since 16.0.0, and its reason is a triple-quoted string, newlines
/// and all.
const ENABLE_CERTIFICATE_VALIDATION_DEPRECATED: &str = "Deprecated: Option \"enable_certificate_validation\" from group \"glance\" \
is deprecated for removal (\nThis option is intended to ease the transition for deployments leveraging\nimage signature \
verification. The intended state long-term is for signature\nverification and certificate validation to always happen \
together.\n).  Its value may be silently ignored in the future.";

/// Nova's start-up warnings for the deprecated options a deployment turns on (once per start,
/// as oslo.config logs a deprecation once per process).
fn warn_deprecated_options(deployment: &crate::deployment::Deployment) {
    if deployment.nova.glance.enable_certificate_validation {
        tracing::warn!(service = "nova", logger = "oslo_config.cfg", "{ENABLE_CERTIFICATE_VALIDATION_DEPRECATED}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_deprecation_reads_as_oslo_config_prints_it() {
        let expected = concat!(
            "Deprecated: Option \"enable_certificate_validation\" from group \"glance\" is deprecated for removal (\n",
            "This option is intended to ease the transition for deployments leveraging\n",
            "image signature verification. The intended state long-term is for signature\n",
            "verification and certificate validation to always happen together.\n",
            ").  Its value may be silently ignored in the future."
        );
        assert_eq!(super::ENABLE_CERTIFICATE_VALIDATION_DEPRECATED, expected);
    }
}
