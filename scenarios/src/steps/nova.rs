//! Steps of `features/nova.feature` (also used by `nova-verification.feature` and
//! `limitations.feature`): booting servers at microversion 2.63 with or without
//! `trusted_image_certificates`, and what the server becomes.

use std::time::{Duration, Instant};

use cucumber::{then, when};
use reqwest::Method;
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::compute::{self, Server, TRUSTED_CERTS_MICROVERSION};

use crate::ledger::Resource;
use crate::wait::Backoff;
use crate::world::Conformance;

/// The secret ids of a comma-separated list of secret names.
fn secret_ids(w: &Conformance, names: &str) -> Vec<String> {
    names.split(',').map(|n| w.secret(n.trim()).to_owned()).collect()
}

/// `POST /servers` at `version` with `server` (name, the run's flavor and `networks` added:
/// settings `flavor` and `network`); records the answer and, on 202, the server id, and the
/// server for deletion after the scenario.
async fn create(w: &mut Conformance, user: &str, version: &str, mut server: Value) {
    let s = w.session(user).await;
    server["name"] = json!(w.server_name());
    server["flavorRef"] = json!(w.flavor(&s).await);
    server["networks"] = w.networks();
    let url = format!("{}/servers", compute::endpoint(&s).expect("compute endpoint"));
    // Keys sorted: Nova shows the request's dicts in the order they came, and the features'
    // expected messages list them sorted.
    let mut body = json!({"server": server});
    body.sort_all_objects();
    let answer = w.record(compute::request_at(&s, Method::POST, &url, version).json(&body)).await;
    if answer.status == 202 {
        let body: Value = serde_json::from_str(&answer.body).expect("JSON body");
        let id = body["server"]["id"].as_str().expect("server id").to_owned();
        w.created(user, Resource::Server { id: id.clone() });
        w.server_id = Some(id);
    }
}

async fn boot(w: &mut Conformance, user: &str, version: &str, server: Value) {
    create(w, user, version, server).await;
    assert_eq!(w.answer().status, 202, "{}", w.answer().body);
}

#[when(expr = "{string} boots the image")]
async fn boots(w: &mut Conformance, user: String) {
    let image = w.image().to_owned();
    boot(w, &user, TRUSTED_CERTS_MICROVERSION, json!({"imageRef": image})).await;
}

#[when(expr = "{string} boots the image on the host {string}")]
async fn boots_on(w: &mut Conformance, user: String, host: String) {
    let image = w.image().to_owned();
    boot(w, &user, TRUSTED_CERTS_MICROVERSION, json!({"imageRef": image, "availability_zone": format!("nova:{host}")})).await;
}

#[when(expr = "{string} boots the image trusting the certificates {string}")]
async fn boots_trusting(w: &mut Conformance, user: String, names: String) {
    let server = json!({"imageRef": w.image(), "trusted_image_certificates": secret_ids(w, &names)});
    boot(w, &user, TRUSTED_CERTS_MICROVERSION, server).await;
}

/// Boots pinned to the host of the scenario's server (which "admin" reads: only admins see
/// `OS-EXT-SRV-ATTR:host`) with the availability zone "<zone>:<host>", a forced host, which
/// Nova's default policy allows admins only. The zone is the server's own, "nova" if not shown.
#[when(expr = "{string} boots the image on the server's host trusting the certificates {string}")]
async fn boots_on_servers_host_trusting(w: &mut Conformance, user: String, names: String) {
    let id = w.server_id.clone().expect("a server was booted");
    let admin = w.session("admin").await;
    let server = compute::get_server(&admin, TRUSTED_CERTS_MICROVERSION, &id).await.unwrap_or_else(|e| panic!("server {id}: {e}"));
    let host = server.host.unwrap_or_else(|| panic!("server {id} shows admin no host"));
    let zone = server.extra.get("OS-EXT-AZ:availability_zone").and_then(Value::as_str).unwrap_or("nova");
    let request = json!({
        "imageRef": w.image(),
        "availability_zone": format!("{zone}:{host}"),
        "trusted_image_certificates": secret_ids(w, &names),
    });
    boot(w, &user, TRUSTED_CERTS_MICROVERSION, request).await;
}

/// `value` is the JSON of the field.
#[when(expr = "{string} boots the image at microversion {string} with the trusted_image_certificates {string}")]
async fn boots_at_with_field(w: &mut Conformance, user: String, version: String, value: String) {
    let server = json!({"imageRef": w.image(), "trusted_image_certificates": json_value(&value)});
    create(w, &user, &version, server).await;
}

/// `value` is the JSON of the field; `["c0", …, "cN"]` stands for the N+1 ids c0 to cN.
#[when(expr = "{string} boots the image with the trusted_image_certificates {string}")]
async fn boots_with_field(w: &mut Conformance, user: String, value: String) {
    let value = json_value(&w.expand(&value));
    let server = json!({"imageRef": w.image(), "trusted_image_certificates": value});
    create(w, &user, TRUSTED_CERTS_MICROVERSION, server).await;
}

fn json_value(text: &str) -> Value {
    if let Some(last) = text.strip_prefix("[\"c0\", …, \"c").and_then(|r| r.strip_suffix("\"]")) {
        let last: usize = last.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
        return json!((0..=last).map(|i| format!("c{i}")).collect::<Vec<_>>());
    }
    serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON {text:?}: {e}"))
}

#[when(expr = "{string} boots from the volume {string} with the trusted_image_certificates {string}")]
async fn boots_from_volume(w: &mut Conformance, user: String, volume: String, value: String) {
    let bdm = json!([{"boot_index": 0, "uuid": volume, "source_type": "volume", "destination_type": "volume"}]);
    let server = json!({"block_device_mapping_v2": bdm, "trusted_image_certificates": json_value(&value)});
    create(w, &user, TRUSTED_CERTS_MICROVERSION, server).await;
}

/// Boots from the volume this scenario created last (`source_type: volume`), without
/// `trusted_image_certificates`.
#[when(expr = "{string} boots from the volume")]
async fn boots_from_own_volume(w: &mut Conformance, user: String) {
    let volume = w.volume_id.clone().expect("a volume was created");
    let bdm = json!([{"boot_index": 0, "uuid": volume, "source_type": "volume", "destination_type": "volume"}]);
    boot(w, &user, TRUSTED_CERTS_MICROVERSION, json!({"block_device_mapping_v2": bdm})).await;
}

/// `rebuild` of the scenario's server to its (latest) image with a list of trusted certificates.
#[when(expr = "{string} rebuilds the server with the image trusting the certificates {string}")]
async fn rebuilds_trusting(w: &mut Conformance, user: String, names: String) {
    let s = w.session(&user).await;
    let id = w.server_id.clone().expect("a server was booted");
    let ids = secret_ids(w, &names);
    let server = compute::rebuild(&s, TRUSTED_CERTS_MICROVERSION, &id, w.image(), Some(Some(ids.clone())))
        .await
        .unwrap_or_else(|e| panic!("rebuild of {id}: {e}"));
    assert_eq!(server.trusted_image_certificates, Some(Some(ids)), "the rebuild answer shows the new list");
}

#[when(expr = "{string} hard reboots the server")]
async fn hard_reboots(w: &mut Conformance, user: String) {
    let s = w.session(&user).await;
    let id = w.server_id.clone().expect("a server was booted");
    compute::reboot(&s, &id, true).await.unwrap_or_else(|e| panic!("hard reboot of {id}: {e}"));
}

/// `createImage`; the snapshot becomes the scenario's image once it is active (setting
/// `build_timeout`).
#[when(expr = "{string} snapshots the server")]
async fn snapshots(w: &mut Conformance, user: String) {
    let s = w.session(&user).await;
    let id = w.server_id.clone().expect("a server was booted");
    let snapshot =
        compute::create_image(&s, &id, &format!("{}-snapshot", w.run)).await.unwrap_or_else(|e| panic!("createImage of {id}: {e}"));
    w.created(&user, Resource::Image { id: snapshot.clone() });
    crate::steps::glance::wait_for_image(w, &s, &snapshot, &["active"], w.settings.build_timeout).await;
    w.image_id = Some(snapshot);
    w.image_user = user;
}

/// `names` is a comma-separated list of secret names, in order.
#[then(expr = "{string} sees the server's trusted_image_certificates are {string}")]
async fn shows_trusted(w: &mut Conformance, user: String, names: String) {
    let server = settled_as(w, &user).await;
    assert_eq!(server.trusted_image_certificates, Some(Some(secret_ids(w, &names))), "{server:?}");
}

#[then(expr = "{string} sees the server become {string}")]
async fn becomes(w: &mut Conformance, user: String, status: String) {
    let server = settled_as(w, &user).await;
    assert_eq!(server.status, status, "fault: {:?}", server.fault);
}

#[then(expr = "{string} sees the server fail with the fault {string}")]
async fn fails_with(w: &mut Conformance, user: String, message: String) {
    let server = settled_as(w, &user).await;
    assert_eq!((server.status.as_str(), server.vm_state.as_deref()), ("ERROR", Some("error")), "{server:?}");
    let fault = server.fault.unwrap_or_else(|| panic!("server {} in ERROR without a fault", server.id));
    assert_eq!(fault.message, w.expand(&message));
}

/// Waits for the server to finish building (ACTIVE or ERROR, no task): setting
/// `build_timeout`.
async fn settled_as(w: &mut Conformance, user: &str) -> Server {
    let id = w.server_id.clone().expect("a server was booted");
    let s = w.session(user).await;
    wait_for_server(w, &s, &id, &["ACTIVE", "ERROR"], w.settings.build_timeout).await
}

/// Polls the server (with backoff) until it is in one of `statuses` with no task in progress.
async fn wait_for_server(w: &Conformance, s: &Session, id: &str, statuses: &[&str], timeout: Duration) -> Server {
    let deadline = Instant::now() + timeout;
    let mut backoff = Backoff::new(&w.settings);
    loop {
        let server = compute::get_server(s, TRUSTED_CERTS_MICROVERSION, id).await.unwrap_or_else(|e| panic!("server {id}: {e}"));
        if statuses.contains(&server.status.as_str()) && server.task_state.is_none() {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "server {id} is still {} (task {:?}) after {timeout:?} (setting build_timeout)",
            server.status,
            server.task_state
        );
        backoff.sleep_until(deadline).await;
    }
}

/// `DELETE /servers/{id}`: Nova releases the server's volumes (their attachments go).
#[when(expr = "{string} deletes the server")]
async fn deletes_server(w: &mut Conformance, user: String) {
    let id = w.server_id.clone().expect("a server was booted");
    let s = w.session(&user).await;
    compute::delete_server(&s, &id).await.unwrap_or_else(|e| panic!("delete of server {id}: {e}"));
}

/// Polls until Nova answers 404 for the server.
#[then(expr = "{string} no longer finds the server")]
async fn server_gone(w: &mut Conformance, user: String) {
    let id = w.server_id.clone().expect("a server was booted");
    let s = w.session(&user).await;
    // Nova's delete is asynchronous: the server may still be listed, in any status, meanwhile.
    crate::steps::cinder::until_not_found(
        &w.settings,
        &format!("server {id}"),
        || compute::get_server(&s, compute::DEFAULT_MICROVERSION, &id),
        |_| true,
    )
    .await;
}
