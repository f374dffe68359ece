//! Steps shared by every feature: response checks, role grants, and the `/_sim/` control API
//! (`@simulated` scenarios only).

use cucumber::{given, then};
use serde_json::{Value, json};
use sigstack_client::identity;

use crate::disk_image::DiskFormat;
use crate::ledger::Resource;
use crate::world::Conformance;

#[then(expr = "the request is answered {int}")]
async fn answered(w: &mut Conformance, status: u16) {
    let a = w.answer();
    assert_eq!(a.status, status, "body: {}", a.body);
}

#[then(expr = "the request is answered {int} with the message {string}")]
async fn answered_with(w: &mut Conformance, status: u16, message: String) {
    let expected = w.expand(&message);
    let a = w.answer();
    assert_eq!((a.status, sigstack_client::error::error_message(&a.body)), (status, expected), "body: {}", a.body);
}

#[given(expr = "{string} holds the {string} role in its project")]
async fn holds_role(w: &mut Conformance, user: String, role: String) {
    let admin = w.session("admin").await;
    let s = w.session(&user).await;
    let role_id = identity::role_id(&admin, &role).await.unwrap_or_else(|e| panic!("role {role}: {e}"));
    let project = s.token().project.expect("project-scoped token").id;
    let url = identity::grant(&admin, &project, &s.token().user.id, &role_id).await.expect("role granted");
    w.created("admin", Resource::Grant { url });
}

#[given(expr = "the simulated Barbican answers {int} to {string}")]
async fn barbican_fault(w: &mut Conformance, status: u16, operation: String) {
    let base = w.sim_base().await;
    let fault = json!({"service": "barbican", "operation": operation,
        "action": {"fail": {"status": status, "body": {"code": status, "title": "Service Unavailable", "description": "injected"}}}});
    let http = crate::target::current().control_http();
    let r = http.post(format!("{base}/_sim/faults")).json(&fault).send().await.expect("control API answers");
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.expect("fault JSON");
    w.faults.push(format!("{base}/_sim/faults/{}", body["id"].as_str().expect("fault id")));
}

/// The scheme, host and port of a service endpoint (where its `/_sim/` routes are): from the
/// target's catalog, or from a session's where the target did not list it.
pub async fn origin(w: &mut Conformance, service: &str) -> String {
    let listed = crate::target::current().endpoints.get(service).cloned();
    let url = match listed {
        Some(url) => url,
        None => {
            let s = w.session("demo").await;
            s.endpoint(service).unwrap_or_else(|e| panic!("{service} endpoint: {e}"))
        }
    };
    reqwest::Url::parse(&url).unwrap_or_else(|e| panic!("{service} endpoint {url:?}: {e}")).origin().ascii_serialization()
}

/// The merge patch that puts back, at every leaf `patch` changes, the value `current` has there
/// (`null`, i.e. removed, where it has none).
fn inverse(patch: &Value, current: &Value) -> Value {
    match patch {
        Value::Object(fields) => {
            Value::Object(fields.iter().map(|(k, v)| (k.clone(), inverse(v, current.get(k).unwrap_or(&Value::Null)))).collect())
        }
        _ => current.clone(),
    }
}

/// Whether a merge patch puts Ceph RBD storage in the deployment (a compute node's
/// `images_type` or a Cinder back end's `driver`).
fn adds_rbd(patch: &Value) -> bool {
    match patch {
        Value::Object(fields) => fields.iter().any(|(k, v)| (matches!(k.as_str(), "images_type" | "driver") && v == "rbd") || adds_rbd(v)),
        Value::Array(items) => items.iter().any(adds_rbd),
        _ => false,
    }
}

/// `PATCH /_sim/deployment` with a JSON merge patch (`{secret:<name>}` and the other
/// placeholders of `Conformance::expand` replaced); the `after` hook patches it back.
/// A scenario that adds Ceph RBD storage is about what Ceph does with RAW images (it clones
/// them, never downloading, so never verifying, them): its images are RAW from then on,
/// whatever the run's `image_format`.
#[given(expr = "the simulated deployment is changed by the merge patch")]
async fn deployment_patched(w: &mut Conformance, step: &cucumber::gherkin::Step) {
    let patch = step.docstring.as_deref().expect("the merge patch as a doc string");
    let patch = w.expand(patch);
    let patch: Value = serde_json::from_str(&patch).unwrap_or_else(|e| panic!("merge patch {patch:?}: {e}"));
    if adds_rbd(&patch) {
        w.image_format = DiskFormat::Raw;
    }
    let url = format!("{}/_sim/deployment", w.sim_base().await);
    let http = crate::target::current().control_http();
    let current: Value = http.get(&url).send().await.expect("control API answers").json().await.expect("deployment JSON");
    let undo = inverse(&patch, &current["deployment"]);
    let r = http.patch(&url).json(&patch).send().await.expect("control API answers");
    let status = r.status().as_u16();
    assert_eq!(status, 200, "{}", r.text().await.unwrap_or_default());
    w.deployment_undo.push((url, undo));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn inverse_restores_leaves_and_removes_new_keys() {
        let patch = json!({"nova": {"glance": {"verify_glance_signatures": true}, "policy": {"r": "@"}}});
        let current = json!({"nova": {"glance": {"verify_glance_signatures": null, "x": 1}, "policy": {}}});
        assert_eq!(
            super::inverse(&patch, &current),
            json!({"nova": {"glance": {"verify_glance_signatures": null}, "policy": {"r": null}}})
        );
    }

    #[test]
    fn rbd_in_a_patch_is_found() {
        assert!(super::adds_rbd(
            &json!({"compute_nodes": [{"host": "c", "images_type": "local"}, {"host": "ceph-0", "images_type": "rbd"}]})
        ));
        assert!(super::adds_rbd(&json!({"cinder": {"backends": [{"name": "ceph", "driver": "rbd"}]}})));
        assert!(!super::adds_rbd(&json!({"compute_nodes": [{"host": "c", "images_type": "local"}], "nova": {"x": "rbd"}})));
    }
}
