//! What the Nova and Cinder requests stand on: a project of their own with a user holding
//! `member` and `creator` (Barbican's legacy policy: storing a certificate needs `creator`),
//! the four certificates of Nova's document in Barbican, images in the real stack's disk
//! format, waits with timeouts, and a ledger of everything made, deleted at the end (also
//! after a failure).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use sigstack_client::image::{self, NewImage, PatchOp};
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_client::{Credentials, Session, compute, identity, volume};
use sigstack_verify::{HashMethod, KeyType};

use super::Target;
use super::recorder::send_once_more_if_get;
use crate::glance_support::{fixture, sign};

/// The conformance scenarios' disk images, as they upload them (`image_format: qcow2` on the
/// real stack): a qcow2 file real QEMU boots from and `qemu-img` accepts.
#[path = "../../../../scenarios/src/disk_image.rs"]
mod disk_image;
pub use disk_image::DiskImage;

/// The microversions of the compute requests: 2.62 (before `trusted_image_certificates`),
/// 2.63 (the field's first), 2.96 (every field of a server show Nova 34 and the simulator
/// both have), never `latest` (the simulator's maximum moves).
pub const PRE_TRUSTED_CERTS: &str = "2.62";
pub const TRUSTED_CERTS: &str = "2.63";
pub const SHOW: &str = "2.96";
/// Server shows with the image's properties (Nova 34).
pub const EMBEDDED_IMAGE_PROPERTIES: &str = "2.98";
/// Cinder 29's maximum, which the simulator also speaks; user messages need 3.3 or later.
pub const VOLUME: &str = "3.71";
/// The real stack's flavor 42 (`ci/realstack.d/provision_compute.py`), also the simulator's.
pub const FLAVOR: &str = "42";
/// Real boots take 5–30 s, a failed one is rescheduled, Cinder tries a failed download 3 times.
const SETTLE: Duration = Duration::from_secs(300);

/// Certificates of Nova's "Image signature certificate validation" document: the image
/// signer `client` chains up through the two intermediates to `root`.
pub const CHAIN: [&str; 4] = ["root", "intermediate-a", "intermediate-b", "client"];
pub const SIGNER_KEY: &str = "fixtures/pki/chain/client.key.pem";

/// Everything made for the compute requests, deleted by [`Ledger::clean_up`].
#[derive(Default)]
pub struct Ledger {
    made: Mutex<Made>,
}

#[derive(Default)]
struct Made {
    project: Option<String>,
    user: Option<String>,
    session: Option<Session>,
    servers: Vec<String>,
    volumes: Vec<String>,
    images: Vec<String>,
    secrets: Vec<String>,
}

impl Ledger {
    fn with<T>(&self, f: impl FnOnce(&mut Made) -> T) -> T {
        f(&mut self.made.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    pub fn server(&self, id: &str) {
        self.with(|m| m.servers.push(id.to_owned()));
    }

    pub fn volume(&self, id: &str) {
        self.with(|m| m.volumes.push(id.to_owned()));
    }

    pub fn image(&self, id: &str) {
        self.with(|m| m.images.push(id.to_owned()));
    }

    /// Deletes what was recorded, newest kind first (servers before the images they use),
    /// waiting for servers and volumes to go; a failure is reported, not fatal, so that the
    /// rest is still deleted.
    pub async fn clean_up(&self, target: &Target) {
        let made = self.with(std::mem::take);
        let complain = |what: String, e: sigstack_client::Error| {
            if !e.is_not_found() {
                eprintln!("parity_compute: {}: could not delete {what}: {e}", target.label);
            }
        };
        if let Some(s) = &made.session {
            for id in &made.servers {
                if let Err(e) = compute::delete_server(s, id).await {
                    complain(format!("server {id}"), e);
                }
            }
            for id in &made.servers {
                gone(target, &format!("server {id}"), || compute::get_server(s, SHOW, id)).await;
            }
            for id in &made.volumes {
                if let Err(e) = volume::delete_volume(s, id).await {
                    complain(format!("volume {id}"), e);
                }
            }
            for id in &made.volumes {
                gone(target, &format!("volume {id}"), || volume::get_volume(s, id)).await;
            }
            for id in &made.images {
                if let Err(e) = image::delete_image(s, id).await {
                    complain(format!("image {id}"), e);
                }
            }
            for id in &made.secrets {
                if let Err(e) = key_manager::delete_secret(s, id).await {
                    complain(format!("secret {id}"), e);
                }
            }
        }
        if let Some(id) = &made.user
            && let Err(e) = identity::delete_user(&target.admin, id).await
        {
            complain(format!("user {id}"), e);
        }
        if let Some(id) = &made.project
            && let Err(e) = identity::delete_project(&target.admin, id).await
        {
            complain(format!("project {id}"), e);
        }
    }
}

/// Polls `get` until it answers 404 (a delete is asynchronous), for at most [`SETTLE`].
async fn gone<T, F, Fut>(target: &Target, what: &str, get: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, sigstack_client::Error>>,
{
    let deadline = Instant::now() + SETTLE;
    while Instant::now() < deadline {
        match get().await {
            Err(e) if e.is_not_found() => return,
            Err(e) => {
                eprintln!("parity_compute: {}: {what} after its delete: {e}", target.label);
                return;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    eprintln!("parity_compute: {}: {what} still there {SETTLE:?} after its delete", target.label);
}

/// The user the compute requests run as, in a project of its own (its user messages, servers
/// and volumes are the run's only), and the Barbican uuids of [`CHAIN`] stored by it.
pub struct ComputeUser {
    pub session: Session,
    pub certificates: Vec<(&'static str, String)>,
}

impl ComputeUser {
    pub fn certificate(&self, name: &str) -> &str {
        &self.certificates.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no certificate {name}")).1
    }

    /// The uuids of the named certificates, in order.
    pub fn certificates_of(&self, names: &[&str]) -> Value {
        json!(names.iter().map(|n| self.certificate(n)).collect::<Vec<_>>())
    }
}

pub async fn compute_user(target: &Target, ledger: &Ledger) -> ComputeUser {
    let admin = &target.admin;
    let template = &target.credentials["demo"];
    let name = format!("parity-compute-{}", uuid::Uuid::new_v4());
    let domain = identity::domain_id(admin, &template.project_domain_name).await.expect("domain");
    let project = identity::create_project(admin, &name, &domain, "parity_compute").await.expect("project created");
    ledger.with(|m| m.project = Some(project.id.clone()));
    let user = identity::create_user(admin, &name, "parity-password", &domain, &project.id).await.expect("user created");
    ledger.with(|m| m.user = Some(user.id.clone()));
    for role in ["member", "creator"] {
        let role_id = identity::role_id(admin, role).await.expect("role");
        identity::grant(admin, &project.id, &user.id, &role_id).await.expect("role granted");
    }
    let credentials = Credentials {
        username: name.clone(),
        password: "parity-password".into(),
        user_id: None,
        project_name: Some(name),
        project_id: None,
        ..template.clone()
    };
    let session = Session::authenticate(&credentials).await.expect("the compute user authenticates");
    ledger.with(|m| m.session = Some(session.clone()));
    let mut certificates = Vec::new();
    for cert in CHAIN {
        let pem = fixture(&format!("fixtures/pki/chain/{cert}.crt.pem"));
        let secret_ref = key_manager::create_secret(&session, &NewSecret::certificate(cert, pem.as_bytes())).await.expect("stored");
        let uuid = key_manager::secret_uuid(&secret_ref).to_owned();
        ledger.with(|m| m.secrets.push(uuid.clone()));
        certificates.push((cert, uuid));
    }
    ComputeUser { session, certificates }
}

/// A qcow2 image of 100 000 bytes of guest data, deterministic in `seed`.
pub fn disk(seed: u8) -> DiskImage {
    disk_image::make(disk_image::DiskFormat::Qcow2, 100_000, seed)
}

/// The four signature properties of `data` signed by the chain's `client`, naming `cert`.
pub fn signature_properties(data: &[u8], cert: &str) -> Vec<(&'static str, String)> {
    vec![
        ("img_signature", sign(SIGNER_KEY, KeyType::RsaPss, HashMethod::Sha256, data)),
        ("img_signature_hash_method", "SHA-256".into()),
        ("img_signature_key_type", "RSA-PSS".into()),
        ("img_signature_certificate_uuid", cert.into()),
    ]
}

/// A RAW image of 100 000 bytes of guest data, deterministic in `seed`.
pub fn raw_disk(seed: u8) -> DiskImage {
    disk_image::make(disk_image::DiskFormat::Raw, 100_000, seed)
}

/// A private qcow2 image named `name`: created with `at_create` (Glance verifies a signed
/// upload), `bytes` uploaded, then `after_upload` added with a PATCH (Glance never verifies
/// again: how a bad signature reaches Nova and Cinder).
pub async fn image(
    u: &ComputeUser,
    ledger: &Ledger,
    name: &str,
    bytes: &[u8],
    at_create: &[(&str, String)],
    after_upload: &[(&str, String)],
) -> String {
    image_in(u, ledger, name, "qcow2", bytes, at_create, after_upload).await
}

/// [`image`] with another `disk_format`.
pub async fn image_in(
    u: &ComputeUser,
    ledger: &Ledger,
    name: &str,
    disk_format: &str,
    bytes: &[u8],
    at_create: &[(&str, String)],
    after_upload: &[(&str, String)],
) -> String {
    let mut new = NewImage {
        name: Some(name.into()),
        disk_format: Some(disk_format.into()),
        container_format: Some("bare".into()),
        visibility: Some("private".into()),
        ..NewImage::default()
    };
    for (k, v) in at_create {
        new = new.property(k, v);
    }
    let created = image::create_image(&u.session, &new).await.unwrap_or_else(|e| panic!("image {name}: {e}"));
    ledger.image(&created.id);
    image::upload(&u.session, &created.id, std::io::Cursor::new(bytes.to_vec()), Some(bytes.len() as u64))
        .await
        .unwrap_or_else(|e| panic!("upload of image {name}: {e}"));
    if !after_upload.is_empty() {
        let ops: Vec<PatchOp> = after_upload.iter().map(|(k, v)| PatchOp::Add { path: format!("/{k}"), value: json!(v) }).collect();
        image::update_image(&u.session, &created.id, &ops).await.unwrap_or_else(|e| panic!("properties of image {name}: {e}"));
    }
    created.id
}

/// Polls `GET <url>` (JSON) until `settled` says so, for at most [`SETTLE`]; the last body.
pub async fn wait_until(what: &str, request: impl Fn() -> reqwest::RequestBuilder, settled: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + SETTLE;
    let mut pause = Duration::from_millis(100);
    loop {
        let response = send_once_more_if_get(request()).await.unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
        assert!(status.is_success(), "{what}: {status}: {body}");
        if settled(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: not settled after {SETTLE:?}: {body}");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// `GET /servers/{id}` at [`SHOW`] until the build (or rebuild) is over: ACTIVE or ERROR with
/// no task, and an ERROR with its fault (the conductor writes the fault after the state).
pub async fn settled_server(s: &Session, id: &str) -> Value {
    let url = format!("{}/servers/{id}", compute::endpoint(s).expect("compute endpoint"));
    wait_until(
        &format!("server {id}"),
        || compute::request_at(s, Method::GET, &url, SHOW),
        |body| {
            let server = &body["server"];
            let done = server["OS-EXT-STS:task_state"].is_null();
            match server["status"].as_str() {
                Some("ACTIVE") => done,
                Some("ERROR") => done && server["fault"].is_object(),
                _ => false,
            }
        },
    )
    .await
}

/// `GET /volumes/{id}` until the volume is `available` or `error`.
pub async fn settled_volume(s: &Session, id: &str) -> Value {
    let url = format!("{}/volumes/{id}", volume::project_url(s).expect("volume endpoint"));
    wait_until(
        &format!("volume {id}"),
        || volume::request_at(s, Method::GET, &url, VOLUME),
        |body| matches!(body["volume"]["status"].as_str(), Some("available" | "error")),
    )
    .await
}

/// Waits until the user messages about `volume` stop changing (Cinder's scheduler adds its
/// own after it set the volume's status, sometimes before the last attempt's).
pub async fn settled_messages(s: &Session, volume: &str) {
    let url = format!("{}/messages", volume::project_url(s).expect("volume endpoint"));
    let mut last = Value::Null;
    for _ in 0..30 {
        let listing = volume::request_at(s, Method::GET, &url, VOLUME).query(&[("resource_uuid", volume)]);
        let response = send_once_more_if_get(listing).await.expect("messages listed");
        let now: Value = response.json().await.expect("messages JSON");
        if now["messages"].as_array().is_some_and(|m| !m.is_empty()) && now == last {
            return;
        }
        last = now;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
