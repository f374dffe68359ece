//! Simulated Cinder (block-storage v3), verifying Glance image signatures when it downloads an
//! image into a volume, as docs/reference/openstack-behaviour.md section C describes.
//!
//! - `model`: volumes, their Glance metadata, user messages and the image-volume cache in
//!   SQLite (`cinder_*`), volume files under the data directory, the operator log;
//! - `flow`: cinder-volume's asynchronous work: create from image (clone, cache, or download
//!   + `verify_glance_image_signature`) and upload to image (`crate::qcow2`: the conversion);
//! - `extend`: the `os-extend` action; `encryption`: the Barbican keys of encrypted volumes;
//! - `attach`: volume attachments and the status changes of Nova's attach and detach flows;
//! - `types`: volume types (the back ends' and admin-created ones), encryption specs and the
//!   Barbican key of each encrypted volume;
//! - `quotas`: quota sets, the default quota class and usage, checked on create, extend,
//!   retype and transfer; `scheduler`: the back ends' capabilities and the capabilities filter;
//! - `volume_ops`: the volume actions' rules (reserve, legacy attach/detach, flags, reset,
//!   retype, metadata); `more_types`: type update, extra specs, access, QoS specs, group types;
//!   `transfers`: volume transfers between projects, `groups`: generic volume groups (model
//!   and API each);
//! - `http`, `http_volumes`, `http_actions`, `http_upload`, `http_attach`, `http_types`,
//!   `http_type_extras`, `http_qos`, `http_admin`, `views`, `fault`: the v3 API (volumes, their
//!   lists, metadata and actions, messages; the attachments API; volume types, extra specs,
//!   access and encryption specs; QoS specs and group types; quotas, limits, zones, services,
//!   hosts, pools, capabilities, extensions), its JSON views and microversions, its error
//!   bodies.

mod attach;
mod call;
mod encryption;
mod envelope;
mod extend;
mod fault;
mod flow;
mod groups;
mod http;
mod http_actions;
mod http_admin;
mod http_attach;
mod http_messages;
mod http_qos;
mod http_type_extras;
mod http_types;
mod http_upload;
mod http_volumes;
mod model;
mod more_types;
mod pagination;
mod quotas;
mod scheduler;
mod schema;
mod transfers;
mod types;
mod views;
mod volume_ops;

pub use attach::Attachment;
pub use fault::Fault;
pub use flow::{FlowError, RESERVED_NAMESPACES, SIGNATURE_EVENT_ID, SIGNATURE_USER_MESSAGE};
pub use http::{CinderState, router};
pub use model::{CacheEntry, GIB, UserMessage, Volume, VolumeExtras, VolumeService};
pub use types::{Encryption, VolumeType};
pub use views::VOLUME;
