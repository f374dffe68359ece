//! `/_sim/`: the simulator's control API, on every service listener. Real deployments do not
//! have it; conformance scenarios that need it are tagged `@simulated`.
//!
//! - `POST /_sim/reset`: back to the freshly seeded cloud (every [`Resettable`] registered).
//! - `GET /_sim/resources[?service=S]`: every SQLite row and data file, by service.
//! - `POST|GET|DELETE /_sim/faults`, `DELETE /_sim/faults/{id}`: fault injection, applied by a
//!   middleware in front of the service's handlers (never to `/_sim/` itself).
//! - `GET|PATCH /_sim/deployment`: the deployment profile in effect; PATCH takes a JSON merge
//!   patch (turn the MOS signature switch on, change a nova or cinder option, a node's back end).
//!
//! Every `/_sim/` route needs `X-Auth-Token`: an admin token or the control token
//! ([`ControlAccess`]), and takes JSON bodies only.

mod access;
mod dump;
mod faults;
mod reset;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

pub use access::ControlAccess;
pub use faults::{Action, Call, FailSpec, Fault, FaultSpec, Matcher};
pub use reset::{DataDir, KeystoneSeed, Resettable, SqlitePrefix};

use crate::deployment::DeploymentState;
use crate::store::Store;

/// Work that runs after a reset has restored every [`Resettable`] (re-provisioning the
/// deployment's baseline images, which goes through the services' APIs).
pub trait AfterReset: Send + Sync {
    fn after_reset(&self) -> futures_util::future::BoxFuture<'_, Result<Value, String>>;
}

/// Shared control state: injected faults and what `reset` restores.
pub struct Control {
    store: Arc<Store>,
    resettables: RwLock<Vec<Arc<dyn Resettable>>>,
    faults: Mutex<faults::Faults>,
    services: RwLock<BTreeSet<&'static str>>,
    /// One reset at a time: two interleaved resets could re-seed twice.
    resetting: tokio::sync::Mutex<()>,
    deployment: RwLock<Option<Arc<DeploymentState>>>,
    after_reset: RwLock<Option<Arc<dyn AfterReset>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Control {
    pub fn new(store: Arc<Store>) -> Control {
        Control {
            store,
            resettables: RwLock::new(Vec::new()),
            faults: Mutex::new(faults::Faults::default()),
            services: RwLock::new(BTreeSet::new()),
            resetting: tokio::sync::Mutex::new(()),
            deployment: RwLock::new(None),
            after_reset: RwLock::new(None),
        }
    }

    /// The deployment `/_sim/deployment` shows and changes.
    pub fn set_deployment(&self, deployment: Arc<DeploymentState>) {
        *self.deployment.write().unwrap_or_else(|p| p.into_inner()) = Some(deployment);
    }

    pub fn deployment(&self) -> Option<Arc<DeploymentState>> {
        self.deployment.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What runs after every reset.
    pub fn after_reset(&self, hook: Arc<dyn AfterReset>) {
        *self.after_reset.write().unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    /// Adds state for `reset` to restore; resets run in registration order.
    pub fn register(&self, resettable: Arc<dyn Resettable>) {
        self.resettables.write().unwrap_or_else(|p| p.into_inner()).push(resettable);
    }

    /// The services `wrap` has been called for.
    pub fn services(&self) -> Vec<&'static str> {
        self.services.read().unwrap_or_else(|p| p.into_inner()).iter().copied().collect()
    }

    /// Clears every fault, then restores every registered piece of state.
    pub async fn reset(self: &Arc<Self>) -> Result<Value, String> {
        let _one = self.resetting.lock().await;
        let faults_cleared = lock(&self.faults).clear();
        let this = self.clone();
        let mut report = tokio::task::spawn_blocking(move || {
            let resettables = this.resettables.read().unwrap_or_else(|p| p.into_inner()).clone();
            let mut report = serde_json::Map::new();
            for r in resettables {
                let summary = r.reset().map_err(|e| format!("reset {}: {e}", r.name()))?;
                report.insert(r.name(), summary);
            }
            Ok::<_, String>(json!({"reset": report, "faults_cleared": faults_cleared}))
        })
        .await
        .map_err(|e| format!("reset task: {e}"))??;
        let hook = self.after_reset.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(hook) = hook {
            report["provisioned"] = hook.after_reset().await?;
        }
        Ok(report)
    }

    /// Installs a fault; the error is the 400 message.
    pub fn add_fault(&self, spec: FaultSpec) -> Result<Value, String> {
        let services = self.services();
        let fault = Fault::new(spec, &services)?;
        Ok(lock(&self.faults).add(fault))
    }

    pub fn faults(&self) -> Vec<Value> {
        lock(&self.faults).views()
    }

    pub fn remove_fault(&self, id: &str) -> bool {
        lock(&self.faults).remove(id)
    }

    pub fn clear_faults(&self) -> usize {
        lock(&self.faults).clear()
    }

    /// The action for a call, counting the hit (what the middleware asks).
    pub fn take_fault(&self, call: &Call<'_>) -> Option<Action> {
        lock(&self.faults).take(call)
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    if status.is_server_error() {
        crate::logging::cause(&message);
    }
    (status, axum::Json(json!({"error": message}))).into_response()
}

async fn reset_handler(State(control): State<Arc<Control>>) -> Response {
    match control.reset().await {
        Ok(report) => axum::Json(report).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn resources_handler(State(control): State<Arc<Control>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let service = query.get("service").cloned();
    match dump::resources_body(control, service).await {
        Ok(body) => ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) if e.starts_with("unknown service") => error(StatusCode::NOT_FOUND, e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn create_fault(State(control): State<Arc<Control>>, body: Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(spec) => spec,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid fault: {e}")),
    };
    match control.add_fault(spec) {
        Ok(view) => (StatusCode::CREATED, axum::Json(view)).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, format!("invalid fault: {e}")),
    }
}

async fn list_faults(State(control): State<Arc<Control>>) -> Response {
    axum::Json(json!({"faults": control.faults()})).into_response()
}

async fn delete_fault(State(control): State<Arc<Control>>, Path(id): Path<String>) -> Response {
    if control.remove_fault(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, format!("no fault '{id}'"))
    }
}

async fn delete_faults(State(control): State<Arc<Control>>) -> Response {
    control.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

async fn get_deployment(State(control): State<Arc<Control>>) -> Response {
    match control.deployment() {
        Some(d) => axum::Json(deployment_view(&d)).into_response(),
        None => error(StatusCode::NOT_FOUND, "this cloud has no deployment profile"),
    }
}

fn deployment_view(d: &DeploymentState) -> Value {
    let current = d.get();
    json!({
        "deployment": current,
        "effective": {
            "nova": {"glance": {
                "verify_glance_signatures": current.nova_verify_glance_signatures(),
                "enable_certificate_validation": current.nova.glance.enable_certificate_validation,
                "default_trusted_certificate_ids": current.nova.glance.default_trusted_certificate_ids,
            }},
            "cinder": {"verify_glance_signatures": current.cinder_verification()},
        }
    })
}

async fn patch_deployment(State(control): State<Arc<Control>>, body: Bytes) -> Response {
    let Some(d) = control.deployment() else {
        return error(StatusCode::NOT_FOUND, "this cloud has no deployment profile");
    };
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return error(StatusCode::BAD_REQUEST, "invalid deployment patch: a JSON object (merge patch) is required"),
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid deployment patch: {e}")),
    };
    match d.merge_patch(&patch) {
        Ok(_) => axum::Json(deployment_view(&d)).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, format!("invalid deployment patch: {e}")),
    }
}

/// A service router with faults applied to its operations and `/_sim/` merged in (after the
/// fault layer, so the control endpoints are never faulted), every `/_sim/` route behind
/// [`ControlAccess`].
pub fn wrap(service: &'static str, router: Router, control: Arc<Control>, access: Arc<ControlAccess>) -> Router {
    control.services.write().unwrap_or_else(|p| p.into_inner()).insert(service);
    let sim = Router::new()
        .route("/_sim/service", get(move || async move { service }))
        .route("/_sim/reset", post(reset_handler))
        .route("/_sim/resources", get(resources_handler))
        .route("/_sim/faults", get(list_faults).post(create_fault).delete(delete_faults))
        .route("/_sim/faults/{id}", delete(delete_fault))
        .route("/_sim/deployment", get(get_deployment).patch(patch_deployment))
        .with_state(control.clone());
    router
        .layer(from_fn_with_state((control, service), faults::middleware))
        .merge(sim)
        .layer(from_fn_with_state(access, access::middleware))
}
