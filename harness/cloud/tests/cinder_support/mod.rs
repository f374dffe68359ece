//! Shared helpers for the Cinder tests: a cloud with a chosen Cinder configuration, signed and
//! tampered images in Glance, certificates in Barbican, and what a user (or an operator, from
//! cinder-volume's log) can see of a volume.
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
use sigstack_client::image::{self, NewImage, PatchOp};
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_client::volume::{self, NewVolume, Volume};
use sigstack_cloud::deployment::{CinderOptions, Deployment, VolumeBackendSpec, VolumeDriver};
use sigstack_cloud::{CloudConfig, CloudHandle, start};
use sigstack_verify::{HashMethod, KeyType, SigningKey};

pub const CERT_PEM: &str = "fixtures/pki/signing/rsa-3072.crt.pem";
pub const KEY_PEM: &str = "fixtures/pki/signing/rsa-3072.key.pem";
pub const WAIT: Duration = Duration::from_secs(20);

/// A cloud whose Cinder has these back ends (the first is the default type) and cache switch.
pub async fn cloud_with(backends: &[(&str, VolumeDriver)], cache: bool) -> CloudHandle {
    let cinder = CinderOptions {
        verify_glance_signatures: None,
        image_volume_cache_enabled: cache,
        backends: backends.iter().map(|(name, driver)| VolumeBackendSpec { name: (*name).into(), driver: *driver }).collect(),
    };
    let deployment = Deployment { cinder, ..Deployment::default() };
    start(CloudConfig { deployment, ..CloudConfig::default() }).await.expect("cloud starts")
}

/// The upstream-defaults cloud (one LVM back end `lvmdriver-1`, no cache).
pub async fn cloud() -> CloudHandle {
    start(CloudConfig::default()).await.expect("cloud starts")
}

/// Stores the rsa-3072 signing certificate; returns its UUID.
pub async fn store_cert(s: &Session) -> String {
    let secret_ref =
        key_manager::create_secret(s, &NewSecret::certificate("signing", fixture(CERT_PEM).as_bytes())).await.expect("secret stored");
    key_manager::secret_uuid(&secret_ref).to_owned()
}

/// Deterministic image data.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 4] ^ seed).collect()
}

/// Data Glance's format inspector takes for qcow2 (magic, version 3, this virtual size).
pub fn qcow2_data(len: usize, virtual_size: u64) -> Vec<u8> {
    let mut bytes = data(len.max(32), 12);
    bytes[..8].copy_from_slice(b"QFI\xfb\0\0\0\x03");
    bytes[24..32].copy_from_slice(&virtual_size.to_be_bytes());
    bytes
}

/// The four signature properties: RSA-PSS/SHA-256 over `signed` by the rsa-3072 key.
pub fn signature_props(signed: &[u8], cert_uuid: &str) -> Vec<(&'static str, String)> {
    let key = SigningKey::from_pem(&fixture(KEY_PEM)).expect("fixture key");
    let hash = HashMethod::Sha256;
    let sig = key.sign_digest(KeyType::RsaPss, hash, &hash.digest(signed), &mut rand::rngs::SysRng).expect("signs");
    vec![
        ("img_signature", base64::engine::general_purpose::STANDARD.encode(sig)),
        ("img_signature_hash_method", "SHA-256".into()),
        ("img_signature_key_type", "RSA-PSS".into()),
        ("img_signature_certificate_uuid", cert_uuid.into()),
    ]
}

/// Creates an image (bare/`disk_format`) with `props` and uploads `bytes`; Glance verifies
/// when all four signature properties are there.
pub async fn image_with(s: &Session, disk_format: &str, props: &[(&str, String)], bytes: &[u8]) -> String {
    let mut new = NewImage::raw("cinder-source");
    new.disk_format = Some(disk_format.into());
    for (k, v) in props {
        new.properties.insert((*k).to_owned(), v.clone());
    }
    let img = image::create_image(s, &new).await.expect("image created");
    image::upload(s, &img.id, std::io::Cursor::new(bytes.to_vec()), Some(bytes.len() as u64)).await.expect("uploaded");
    img.id
}

/// A signed raw image: its data verifies against its signature.
pub async fn signed_image(s: &Session, cert_uuid: &str, bytes: &[u8]) -> String {
    image_with(s, "raw", &signature_props(bytes, cert_uuid), bytes).await
}

/// A tampered image: uploaded unsigned, then given the signature of other data by PATCH
/// (Glance does not re-verify on PATCH).
pub async fn tampered_image(s: &Session, disk_format: &str, cert_uuid: &str, bytes: &[u8]) -> String {
    let id = image_with(s, disk_format, &[], bytes).await;
    let ops: Vec<PatchOp> = signature_props(b"some other data", cert_uuid)
        .into_iter()
        .map(|(k, v)| PatchOp::Add { path: format!("/{k}"), value: Value::String(v) })
        .collect();
    image::update_image(s, &id, &ops).await.expect("patched");
    id
}

/// Creates a volume from `image_id` and waits until it settles (`available` or `error`).
pub async fn volume_from(s: &Session, image_id: &str, volume_type: Option<&str>) -> Volume {
    let mut new = NewVolume::from_image(1, image_id);
    new.volume_type = volume_type.map(str::to_owned);
    let created = volume::create_volume(s, &new).await.expect("create accepted");
    assert_eq!(created.status, "creating");
    volume::wait_for_volume_status(s, &created.id, &["available", "error"], WAIT).await.expect("settles")
}

/// cinder-volume's log (what the operator sees; users never see these exceptions).
pub fn volume_log(cloud: &CloudHandle) -> String {
    std::fs::read_to_string(cloud.data_dir.join("cinder").join("cinder-volume.log")).unwrap_or_default()
}

/// Files under Cinder's temporary download directory.
pub fn temp_files(cloud: &CloudHandle) -> Vec<String> {
    std::fs::read_dir(cloud.data_dir.join("cinder").join("tmp"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// `PATCH /_sim/deployment` with a JSON merge patch.
pub async fn patch_deployment(cloud: &CloudHandle, patch: Value) {
    let r = cloud
        .control_http()
        .patch(format!("{}/_sim/deployment", cloud.endpoints.volume))
        .json(&patch)
        .send()
        .await
        .expect("control answers");
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
}

/// A raw Cinder request (for status codes and bodies the typed client hides).
pub async fn raw(
    s: &Session,
    method: Method,
    path: &str,
    version: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let root = volume::root_url(s).expect("endpoint");
    let mut r = s.request(method, &format!("{root}{path}"));
    if let Some(v) = version {
        r = r.header("OpenStack-API-Version", format!("volume {v}"));
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.expect("cinder answers");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    (status, headers, serde_json::from_str(&text).unwrap_or(json!(text)))
}

pub fn project(s: &Session) -> String {
    s.token().project.as_ref().expect("scoped").id.clone()
}
