//! Simulated Glance v2 (image service), verifying signatures on upload and import through
//! Barbican, as docs/reference/openstack-behaviour.md section A describes.
//!
//! - `model`: images in SQLite, statuses and transitions, visibility and ownership, create;
//! - `schema`: the image schema, its value checks and documents; `patch`: JSON-patch updates;
//! - `data`: image files and the one-pass ingest (file + MD5 + SHA-512 + verifier);
//!   `format`: the disk-format inspector; `signature`: cursive's `get_verifier` over Barbican;
//! - `members`: image members and their policies; `actions`: deactivate/reactivate;
//!   `locations`: the v2.17 locations API, refused as a single-`file`-store Glance does;
//!   `listing`: which images `GET /v2/images` shows, its filters and sort keys; `tasks`: the
//!   tasks API's checks and views;
//! - `http`, `http_data`, `http_listing`, `http_members`, `http_tasks`: axum handlers; `webob`:
//!   every error body, negotiated on `Accept`.

mod actions;
mod data;
mod format;
mod http;
mod http_data;
mod http_listing;
mod http_members;
mod http_tasks;
mod listing;
mod locations;
mod members;
mod model;
/// Public for the `glance_patch` fuzz target (`harness/fuzz`): the JSON-patch parser takes
/// request bodies from any image owner.
pub mod patch;
pub mod schema;
mod signature;
mod tasks;
mod webob;

pub use http::{GlanceState, router};
pub use model::{HASH_ALGO, IMPORT_METHODS, Image, ImageService, KEY_MANAGER_TIMEOUT, Status};
pub use webob::{Fault, WebobRequest};
