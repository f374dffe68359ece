//! Simulated Barbican v1 (key manager): secrets, payloads, ACLs.

use std::sync::Arc;

use axum::Router;

use crate::keystone::Identity;
use crate::store::{Store, StoreError};

/// Barbican's state and rules.
pub struct KeyManager {
    _store: Arc<Store>,
}

impl KeyManager {
    pub fn open(store: Arc<Store>) -> Result<KeyManager, StoreError> {
        Ok(KeyManager { _store: store })
    }
}

pub fn router(_identity: Arc<Identity>, _model: Arc<KeyManager>, _public_url: String) -> Router {
    Router::new()
}
