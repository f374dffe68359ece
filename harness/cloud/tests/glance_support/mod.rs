//! Shared helpers for the Glance tests: an in-process cloud, raw HTTP with a user's token,
//! signing with the fixture PKI, and a wiremock server standing in for Barbican (the catalog
//! is redirected to it, so Glance reaches it exactly as it reaches the real one).
#![allow(dead_code)]

#[path = "../common/mod.rs"]
mod common;
#[allow(unused_imports)]
pub use common::*;

use std::sync::Arc;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::image::{self, NewImage};
use sigstack_client::{CatalogEntry, Session};
use sigstack_cloud::glance::{self, ImageService};
use sigstack_cloud::store::Store;
use sigstack_cloud::{CloudConfig, CloudHandle, start};
use sigstack_verify::{HashMethod, KeyType, KeyTypeProfile, SigningKey};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub async fn cloud() -> CloudHandle {
    start(CloudConfig::default()).await.expect("cloud starts")
}

pub async fn cloud_with(profile: KeyTypeProfile) -> CloudHandle {
    start(CloudConfig {
        deployment: sigstack_cloud::deployment::Deployment { key_type_profile: profile, ..Default::default() },
        ..CloudConfig::default()
    })
    .await
    .expect("cloud starts")
}

/// base64 `img_signature` of `data`, signed with a fixture key.
pub fn sign(key_pem: &str, key_type: KeyType, hash: HashMethod, data: &[u8]) -> String {
    let key = SigningKey::from_pem(&fixture(key_pem)).expect("fixture key");
    let sig = key.sign_digest(key_type, hash, &hash.digest(data), &mut rand::rngs::SysRng).expect("signs");
    base64::engine::general_purpose::STANDARD.encode(sig)
}

/// Deterministic test data.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 4] ^ seed).collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    hex(&md5::Md5::digest(data))
}

pub fn sha512_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha512::digest(data))
}

/// The four signature properties for an RSA-PSS/SHA-256 signature by `rsa-3072`.
pub fn signed_props(data: &[u8], cert_uuid: &str) -> Vec<(&'static str, String)> {
    vec![
        ("img_signature", sign("fixtures/pki/signing/rsa-3072.key.pem", KeyType::RsaPss, HashMethod::Sha256, data)),
        ("img_signature_hash_method", "SHA-256".into()),
        ("img_signature_key_type", "RSA-PSS".into()),
        ("img_signature_certificate_uuid", cert_uuid.into()),
    ]
}

pub fn new_image(name: &str, props: &[(&str, String)]) -> NewImage {
    let mut image = NewImage::raw(name);
    for (k, v) in props {
        image.properties.insert((*k).to_owned(), v.clone());
    }
    image
}

/// A raw request to Glance with the session's token.
pub fn req(s: &Session, m: Method, url_path: &str) -> reqwest::RequestBuilder {
    let base = s.endpoint("image").expect("image endpoint");
    s.request(m, &format!("{base}{url_path}"))
}

/// PUT raw bytes to `/v2/images/{id}/file`, returning status and body text.
pub async fn put_file(s: &Session, id: &str, bytes: Vec<u8>, accept: Option<&str>) -> (StatusCode, String) {
    let mut r = req(s, Method::PUT, &format!("/v2/images/{id}/file")).header("Content-Type", "application/octet-stream").body(bytes);
    if let Some(a) = accept {
        r = r.header("Accept", a);
    }
    let resp = r.send().await.expect("glance answers");
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

/// The JSON error message (webob adds `<br /><br />`).
pub fn message(body: &str) -> String {
    sigstack_client::error::error_message(body)
}

/// Files in the image data directory (staging and temporaries included), by name.
pub fn data_files(cloud: &CloudHandle) -> Vec<String> {
    let root = cloud.data_dir.join("images");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("staging")] {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.path().is_file() {
                out.push(e.path().strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Points the catalog's key-manager endpoints at `url` (tokens validated afterwards carry it).
pub fn redirect_key_manager(cloud: &CloudHandle, url: &str) {
    let catalog: Vec<CatalogEntry> = cloud
        .identity
        .catalog()
        .into_iter()
        .map(|mut e| {
            if e.service_type == "key-manager" {
                for ep in &mut e.endpoints {
                    ep.url = url.to_owned();
                }
            }
            e
        })
        .collect();
    cloud.identity.set_endpoints(cloud.endpoints.identity.clone(), catalog);
}

/// A wiremock Barbican in the cloud's catalog.
pub async fn fake_barbican(cloud: &CloudHandle) -> MockServer {
    let server = MockServer::start().await;
    redirect_key_manager(cloud, &server.uri());
    server
}

fn metadata(server: &MockServer, uuid: &str, secret_type: &str) -> Value {
    json!({
        "secret_ref": format!("{}/v1/secrets/{uuid}", server.uri()),
        "name": "signing cert", "secret_type": secret_type, "status": "ACTIVE",
        "content_types": {"default": "application/octet-stream"}, "algorithm": "RSA",
        "expiration": null, "creator_id": "someone",
    })
}

/// Serves a secret (metadata + payload) to requests carrying `token`; others get a 404.
pub async fn serve_secret(server: &MockServer, uuid: &str, secret_type: &str, payload: &[u8], token: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/secrets/{uuid}")))
        .and(header("X-Auth-Token", token))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata(server, uuid, secret_type)))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/secrets/{uuid}/payload")))
        .and(header("X-Auth-Token", token))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(payload.to_vec()))
        .mount(server)
        .await;
}

/// The rsa-3072 signing certificate as a Barbican `certificate` secret.
pub async fn serve_rsa_certificate(server: &MockServer, uuid: &str, token: &str) {
    let pem = fixture("fixtures/pki/signing/rsa-3072.crt.pem");
    serve_secret(server, uuid, "certificate", pem.as_bytes(), token).await;
}

/// Barbican answering every request for `uuid` with `status` (and a Barbican error body).
pub async fn serve_status(server: &MockServer, uuid: &str, status: u16) {
    let body = json!({"code": status, "title": "Error", "description": "injected"});
    Mock::given(method("GET"))
        .and(path(format!("/v1/secrets/{uuid}")))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

/// Creates an image with these properties and uploads `bytes`; returns (id, status, body).
pub async fn create_and_upload(s: &Session, props: &[(&str, String)], bytes: &[u8]) -> (String, StatusCode, String) {
    let img = image::create_image(s, &new_image("signed", props)).await.expect("created");
    let (status, body) = put_file(s, &img.id, bytes.to_vec(), Some("application/json")).await;
    (img.id, status, body)
}

/// A Glance of its own on `identity` and a fresh store, with a short Barbican timeout.
pub async fn glance_with_timeout(cloud: &CloudHandle, timeout: std::time::Duration) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("glance.db")).expect("store"));
    let service =
        ImageService::open(store, dir.path().join("images"), KeyTypeProfile::Current).expect("opens").with_key_manager_timeout(timeout);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = glance::router(cloud.identity.clone(), Arc::new(service), url.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, dir)
}
