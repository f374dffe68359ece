//! Simulated Glance v2 (image service), verifying signatures on upload through Barbican.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;

use crate::keystone::Identity;
use crate::store::{Store, StoreError};

/// Glance's state and rules; image data lives in files under `data_dir`.
pub struct ImageService {
    _store: Arc<Store>,
    _data_dir: PathBuf,
}

impl ImageService {
    pub fn open(store: Arc<Store>, data_dir: PathBuf, _profile: sigstack_verify::KeyTypeProfile) -> Result<ImageService, StoreError> {
        Ok(ImageService { _store: store, _data_dir: data_dir })
    }
}

pub fn router(_identity: Arc<Identity>, _model: Arc<ImageService>, _public_url: String) -> Router {
    Router::new()
}
