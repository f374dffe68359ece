//! `/_sim/`: the simulator's control API (reset, resources, fault injection). Real deployments
//! do not have it; conformance scenarios that need it are tagged `@simulated`.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::store::Store;

/// Shared control state: injected faults and what `reset` clears.
pub struct Control {
    _store: Arc<Store>,
}

impl Control {
    pub fn new(store: Arc<Store>) -> Control {
        Control { _store: store }
    }
}

/// A service router with `/_sim/` merged in and faults applied to its operations.
pub fn wrap(service: &'static str, router: Router, control: Arc<Control>) -> Router {
    let _ = control;
    router.merge(Router::new().route("/_sim/service", get(move || async move { service })))
}
