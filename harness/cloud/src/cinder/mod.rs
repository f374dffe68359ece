//! Simulated Cinder (block-storage v3), verifying Glance image signatures when it downloads an
//! image into a volume, as docs/reference/openstack-behaviour.md section C describes.
//!
//! - `model`: volumes, their Glance metadata, user messages and the image-volume cache in
//!   SQLite (`cinder_*`), volume files under the data directory, the operator log;
//! - `flow`: cinder-volume's asynchronous work: create from image (clone, cache, or download
//!   + `verify_glance_image_signature`) and upload to image;
//! - `extend`: the `os-extend` action; `encryption`: the Barbican keys of encrypted volumes;
//! - `attach`: volume attachments and the status changes of Nova's attach and detach flows;
//! - `types`: volume types (the back ends' and admin-created ones), encryption specs and the
//!   Barbican key of each encrypted volume;
//! - `http`, `http_attach`, `http_types`, `views`, `fault`: the v3 API (volumes and their
//!   actions, messages; the attachments API; volume types and encryption specs), its JSON views
//!   and microversions, its error bodies.

mod attach;
mod encryption;
mod extend;
mod fault;
mod flow;
mod http;
mod http_attach;
mod http_types;
mod model;
mod schema;
mod types;
mod views;

pub use attach::Attachment;
pub use fault::Fault;
pub use flow::{FlowError, RESERVED_NAMESPACES, SIGNATURE_EVENT_ID, SIGNATURE_USER_MESSAGE};
pub use http::{CinderState, router};
pub use model::{CacheEntry, GIB, UserMessage, Volume, VolumeService};
pub use types::{Encryption, VolumeType};
pub use views::VOLUME;
