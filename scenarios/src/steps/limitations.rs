//! Steps of `features/limitations.feature`: the simulator's compute nodes, their image cache
//! and a host failure evacuated by instance HA (`/_sim/compute/...`, `@simulated` scenarios
//! only).

use cucumber::{given, when};
use serde_json::{Value, json};
use sigstack_client::compute;

use crate::steps::common::origin;
use crate::world::Conformance;

/// `POST /_sim/compute/nodes/{host}/image-cache`: the node downloads the image with the user's
/// token into its `_base` cache, unverified, as if it had booted it before verification was
/// turned on.
#[given(expr = "the compute node {string} has the image in its cache, fetched with the token of {string}")]
async fn cached(w: &mut Conformance, host: String, user: String) {
    let token = w.session(&user).await.token().value.clone();
    let url = format!("{}/_sim/compute/nodes/{host}/image-cache", origin(w, "compute").await);
    let http = crate::target::current().control_http();
    let r =
        http.post(&url).header("X-Subject-Token", token).json(&json!({"image_id": w.image()})).send().await.expect("control API answers");
    let status = r.status().as_u16();
    let node: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{node}");
    assert!(node["node"]["cached_images"].as_array().is_some_and(|c| c.iter().any(|i| i == w.image())), "{node}");
}

/// `POST /_sim/compute/nodes/{host}/fail` on the host "admin" sees the server on: the node goes
/// down and the simulated instance-HA service (Masakari) evacuates every server on it with the
/// token of its own user, "instance-ha". The node comes back after the scenario.
#[when(expr = "the server's compute host fails and {string} evacuates its servers")]
async fn host_fails(w: &mut Conformance, ha_user: String) {
    assert_eq!(ha_user, "instance-ha", "the simulated instance HA evacuates as the deployment's instance-ha user");
    let id = w.server_id.clone().expect("a server was booted");
    let admin = w.session("admin").await;
    let server = compute::get_server(&admin, compute::TRUSTED_CERTS_MICROVERSION, &id).await.expect("server readable by admin");
    let host = server.host.unwrap_or_else(|| panic!("server {id} has no host"));
    let base = format!("{}/_sim/compute/nodes/{host}", origin(w, "compute").await);
    w.sim_posts.push(format!("{base}/recover"));
    let http = crate::target::current().control_http();
    let r = http.post(format!("{base}/fail")).send().await.expect("control API answers");
    let status = r.status().as_u16();
    let report: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{report}");
    let evacuations = report["evacuations"].as_array().cloned().unwrap_or_default();
    assert!(evacuations.iter().any(|e| e["server_id"] == id.as_str()), "{report}");
}
