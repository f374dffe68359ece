//! Simulated Cinder (block-storage v3). Placeholder: filled in by the Cinder work of issue 5.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;

use crate::deployment::DeploymentState;
use crate::keystone::Identity;
use crate::store::{Store, StoreError};

pub struct VolumeService {
    _store: Arc<Store>,
    _data_dir: PathBuf,
    _deployment: Arc<DeploymentState>,
}

impl VolumeService {
    pub fn open(store: Arc<Store>, data_dir: PathBuf, deployment: Arc<DeploymentState>) -> Result<VolumeService, StoreError> {
        Ok(VolumeService { _store: store, _data_dir: data_dir, _deployment: deployment })
    }
}

pub fn router(_identity: Arc<Identity>, _volumes: Arc<VolumeService>, _public_url: String) -> Router {
    Router::new()
}
