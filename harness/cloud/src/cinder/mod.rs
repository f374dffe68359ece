//! Simulated Cinder (block-storage v3), verifying Glance image signatures when it downloads an
//! image into a volume, as openstack-behaviour.md section C describes.
//!
//! - `model`: volumes, their Glance metadata, user messages and the image-volume cache in
//!   SQLite (`cinder_*`), volume files under the data directory, the operator log;
//! - `flow`: cinder-volume's asynchronous work: create from image (clone, cache, or download
//!   + `verify_glance_image_signature`) and upload to image;
//! - `attach`: volume attachments and the status changes of Nova's attach and detach flows;
//! - `http`, `http_attach`, `views`, `fault`: the v3 API (volumes, messages, types; the
//!   attachments API), its JSON views and microversions, its error bodies.

mod attach;
mod fault;
mod flow;
mod http;
mod http_attach;
mod model;
mod views;

pub use attach::Attachment;
pub use fault::Fault;
pub use flow::{FlowError, RESERVED_NAMESPACES, SIGNATURE_EVENT_ID, SIGNATURE_USER_MESSAGE};
pub use http::{CinderState, router};
pub use model::{CacheEntry, GIB, UserMessage, Volume, VolumeService};
pub use views::{MAX_VERSION, MIN_VERSION, Microversion};
