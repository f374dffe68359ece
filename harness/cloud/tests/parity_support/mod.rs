//! Support for `tests/parity.rs` and `tests/parity_compute.rs`, split by concern: what a cloud
//! is asked (`requests` for Keystone, Barbican and Glance; `requests_compute` and
//! `requests_volume` for Nova and Cinder, on what `compute_setup` makes), how one answer is
//! recorded (`recorder`) and reduced (`normalise`), which clouds answer (`targets`), and the
//! recorded references they are compared with (`references`). Each test runs one of the two
//! request lists; the other (and its reference directory and target) is compiled but unused
//! there.
#![allow(dead_code, unused_imports)]

mod compute_setup;
mod normalise;
mod recorder;
mod references;
mod requests;
mod requests_compute;
mod requests_volume;
mod targets;

use std::collections::BTreeMap;

use serde_json::Value;
use sigstack_client::{Credentials, Session};
use sigstack_cloud::CloudHandle;

pub use normalise::normalise;
pub use references::{assert_no_differences, compute_reference_dir, differences, reference_dir, write_references};
pub use requests::run;
pub use requests_compute::run as run_compute;
pub use targets::{clouds_yaml_path, from_clouds_yaml, simulated, simulated_realstack};

pub const RECORD_ENV: &str = "SIGSTACK_PARITY_RECORD";
pub const CLOUDS_ENV: &str = "SIGSTACK_PARITY_CLOUDS_YAML";
const REFERENCE_DIR: &str = "harness/cloud/tests/parity";
/// Where `tests/parity_compute.rs`'s references are.
const COMPUTE_REFERENCE_DIR: &str = "harness/cloud/tests/parity/compute";
/// Clouds a parity target's clouds.yaml must have (as `ci/realstack` writes them).
const CLOUD_NAMES: [(&str, &str); 3] = [("admin", "realstack-admin"), ("demo", "realstack-demo"), ("alt_demo", "realstack-alt-demo")];
/// Service types the real stack has; the simulator's catalog also lists compute and volume.
const COMPARED_SERVICES: [&str; 3] = ["identity", "key-manager", "image"];
/// Values compared exactly although they look like ids (they are digests of the same data).
const EXACT_KEYS: [&str; 3] = ["checksum", "os_hash_value", "content-md5"];
/// Response headers clients read: compared by value.
const VALUE_HEADERS: [&str; 5] = ["content-type", "location", "content-md5", "openstack-api-version", "www-authenticate"];
/// Response headers clients read: compared by presence.
const PRESENT_HEADERS: [&str; 2] = ["x-subject-token", "x-openstack-request-id"];

/// A cloud to ask, with a session per user of `CLOUD_NAMES`.
pub struct Target {
    pub label: String,
    admin: Session,
    demo: Session,
    alt_demo: Session,
    credentials: BTreeMap<String, Credentials>,
    _cloud: Option<CloudHandle>,
}

/// The answers, in request order: (reference name, normalised answer).
pub type Answers = Vec<(&'static str, Value)>;
