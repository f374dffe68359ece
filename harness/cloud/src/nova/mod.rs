//! Simulated Nova (compute API v2.1). Placeholder: filled in by the Nova work of issue 5.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use sigstack_client::Credentials;

use crate::deployment::DeploymentState;
use crate::keystone::Identity;
use crate::store::{Store, StoreError};

pub struct ComputeService {
    _store: Arc<Store>,
    _data_dir: PathBuf,
    _deployment: Arc<DeploymentState>,
}

impl ComputeService {
    pub fn open(store: Arc<Store>, data_dir: PathBuf, deployment: Arc<DeploymentState>) -> Result<ComputeService, StoreError> {
        Ok(ComputeService { _store: store, _data_dir: data_dir, _deployment: deployment })
    }
}

pub fn router(_identity: Arc<Identity>, _compute: Arc<ComputeService>, _public_url: String, _instance_ha: Option<Credentials>) -> Router {
    Router::new()
}
