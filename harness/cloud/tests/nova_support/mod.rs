//! Shared helpers for the Nova tests: a cloud with a chosen deployment, users able to store
//! certificates, images signed with the fixture PKI (signature properties set after the upload
//! with PATCH, which Glance never re-verifies, so bad signatures reach Nova), servers booted
//! and awaited through `sigstack_client::compute`.
#![allow(dead_code)]

#[path = "../common/mod.rs"]
mod common;
#[allow(unused_imports)]
pub use common::*;

use std::time::Duration;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::compute::{self, NewServer, Server};
use sigstack_client::image::{self, NewImage, PatchOp};
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_cloud::deployment::{ComputeNodeSpec, Deployment, StorageBackend};
use sigstack_cloud::{CloudConfig, CloudHandle, start};
use sigstack_verify::{HashMethod, KeyType, SigningKey};

pub const V263: &str = "2.63";
pub const WAIT: Duration = Duration::from_secs(20);

/// A node spec.
pub fn node(host: &str, images_type: StorageBackend) -> ComputeNodeSpec {
    ComputeNodeSpec { host: host.into(), images_type, supports_trusted_certs: true }
}

/// Upstream defaults with `[glance]` options set, these nodes, and `nova:HOST` open to project
/// members so tests can pin servers as demo.
pub fn deployment(verify: bool, certificate_validation: bool, nodes: Vec<ComputeNodeSpec>) -> Deployment {
    let mut d = Deployment::default();
    d.nova.glance.verify_glance_signatures = Some(verify);
    d.nova.glance.enable_certificate_validation = certificate_validation;
    d.nova.policy.insert("os_compute_api:servers:create:forced_host".into(), "rule:project_member_or_admin".into());
    d.compute_nodes = nodes;
    d
}

pub fn two_local_nodes() -> Vec<ComputeNodeSpec> {
    vec![node("compute-a", StorageBackend::Local), node("compute-b", StorageBackend::Local)]
}

pub async fn cloud(deployment: Deployment) -> CloudHandle {
    start(CloudConfig { deployment, ..CloudConfig::default() }).await.expect("cloud starts")
}

/// Stores a fixture certificate; its Barbican uuid.
pub async fn store_cert(s: &Session, pem_path: &str) -> String {
    let secret_ref = key_manager::create_secret(s, &NewSecret::certificate("signing", fixture(pem_path).as_bytes())).await.expect("stored");
    key_manager::secret_uuid(&secret_ref).to_owned()
}

/// Deterministic image data.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 4] ^ seed).collect()
}

/// The four signature properties of an RSA-PSS/SHA-256 signature of `data` by `key_pem`.
pub fn signed_props(key_pem: &str, data: &[u8], cert_uuid: &str) -> Vec<(&'static str, String)> {
    let key = SigningKey::from_pem(&fixture(key_pem)).expect("fixture key");
    let hash = HashMethod::Sha256;
    let sig = key.sign_digest(KeyType::RsaPss, hash, &hash.digest(data), &mut rand::rngs::SysRng).expect("signs");
    vec![
        ("img_signature", base64::engine::general_purpose::STANDARD.encode(sig)),
        ("img_signature_hash_method", "SHA-256".into()),
        ("img_signature_key_type", "RSA-PSS".into()),
        ("img_signature_certificate_uuid", cert_uuid.into()),
    ]
}

pub const RSA_KEY: &str = "fixtures/pki/signing/rsa-2048.key.pem";
pub const RSA_CERT: &str = "fixtures/pki/signing/rsa-2048.crt.pem";

/// Creates an image (`disk_format`, `visibility`), uploads `bytes`, then sets `props` with a
/// PATCH (Glance verifies at upload only).
pub async fn image_with(s: &Session, disk_format: &str, visibility: &str, bytes: &[u8], props: &[(&str, String)]) -> String {
    let new = NewImage {
        name: Some("nova-test".into()),
        disk_format: Some(disk_format.into()),
        container_format: Some("bare".into()),
        visibility: Some(visibility.into()),
        ..NewImage::default()
    };
    let img = image::create_image(s, &new).await.expect("image created");
    image::upload(s, &img.id, std::io::Cursor::new(bytes.to_vec()), Some(bytes.len() as u64)).await.expect("uploaded");
    if !props.is_empty() {
        let ops: Vec<PatchOp> = props.iter().map(|(k, v)| PatchOp::Add { path: format!("/{k}"), value: json!(v) }).collect();
        image::update_image(s, &img.id, &ops).await.expect("properties set");
    }
    img.id
}

/// Image data that Glance's format inspector accepts as `disk_format` (qcow2 needs its magic).
pub fn image_bytes(disk_format: &str, seed: u8) -> Vec<u8> {
    let mut bytes = data(200_000, seed);
    if disk_format == "qcow2" {
        let mut header = b"QFI\xfb\x00\x00\x00\x03".to_vec();
        header.resize(512, 0);
        bytes.splice(0..512, header);
    }
    bytes
}

/// A private image signed by the rsa-2048 fixture with a certificate stored by `s`;
/// returns (image id, certificate uuid, data).
pub async fn signed_image(s: &Session, disk_format: &str) -> (String, String, Vec<u8>) {
    let cert = store_cert(s, RSA_CERT).await;
    let bytes = image_bytes(disk_format, 3);
    let id = image_with(s, disk_format, "private", &bytes, &signed_props(RSA_KEY, &bytes, &cert)).await;
    (id, cert, bytes)
}

/// Boots `image` (pinned to `host` if given) at 2.63; the new server's id.
pub async fn boot(s: &Session, image: &str, host: Option<&str>, trusted: Option<&[&str]>) -> String {
    let mut server = NewServer::from_image("vm", image);
    if let Some(h) = host {
        server = server.on_host(h);
    }
    if let Some(t) = trusted {
        server = server.trusted(t);
    }
    compute::create_server(s, V263, &server).await.expect("create accepted").id
}

/// Waits for ACTIVE or ERROR.
pub async fn settle(s: &Session, id: &str) -> Server {
    compute::wait_for_server_status(s, V263, id, &["ACTIVE", "ERROR"], WAIT).await.expect("server settles")
}

pub async fn boot_and_settle(s: &Session, image: &str, host: Option<&str>, trusted: Option<&[&str]>) -> Server {
    let id = boot(s, image, host, trusted).await;
    settle(s, &id).await
}

/// The fault message of a server in ERROR.
pub fn fault(server: &Server) -> String {
    assert_eq!(server.status, "ERROR", "{server:?}");
    assert_eq!(server.vm_state.as_deref(), Some("error"));
    assert_eq!(server.task_state, None);
    server.fault.as_ref().expect("fault").message.clone()
}

pub fn assert_active(server: &Server) {
    assert_eq!(server.status, "ACTIVE", "{:?}", server.fault);
    assert_eq!(server.vm_state.as_deref(), Some("active"));
}

/// `Build of instance <id> aborted: <reason>`, cut at 255 characters as Nova does.
pub fn aborted(id: &str, reason: &str) -> String {
    format!("Build of instance {id} aborted: {reason}").chars().take(255).collect()
}

/// A `/_sim/` call on Nova's listener.
pub async fn sim(cloud: &CloudHandle, method: Method, path: &str, body: Option<Value>, token: Option<&str>) -> (StatusCode, Value) {
    let mut r = cloud.control_http().request(method, format!("{}{path}", cloud.endpoints.compute));
    if let Some(b) = body {
        r = r.json(&b);
    }
    // The user the compute node acts as (the image-cache download); the control token stays
    // the caller.
    if let Some(t) = token {
        r = r.header("X-Subject-Token", t);
    }
    let resp = r.send().await.expect("nova answers");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn patch_deployment(cloud: &CloudHandle, patch: Value) {
    let (status, body) = sim(cloud, Method::PATCH, "/_sim/deployment", Some(patch), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The image ids cached on `host`.
pub async fn cached(cloud: &CloudHandle, host: &str) -> Vec<String> {
    let (_, body) = sim(cloud, Method::GET, "/_sim/compute/nodes", None, None).await;
    let node = body["nodes"].as_array().unwrap().iter().find(|n| n["host"] == host).expect("node").clone();
    node["cached_images"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

/// A raw compute API call: status and JSON body.
pub async fn raw(
    s: &Session,
    method: Method,
    path: &str,
    version: &str,
    body: Option<Value>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let url = format!("{}{path}", compute::endpoint(s).unwrap());
    let mut r = compute::request_at(s, method, &url, version);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.expect("nova answers");
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, resp.json().await.unwrap_or(Value::Null), headers)
}
