//! Response parity with the real services. A fixed list of requests (token issue, Keystone's
//! project and user admin API, Barbican secrets, payloads, ACLs, key orders and their
//! 403/404/415 errors, Glance image create/show/patch, signed
//! and tampered uploads, download) is sent to a cloud; each answer is reduced to what clients
//! depend on (status, the headers they read, the body's keys, JSON types and exact messages,
//! with ids, times, hosts and request ids redacted) and compared with the references in
//! `tests/parity/`, which were recorded from real Keystone 30, Barbican 23 and Glance 33
//! (`ci/realstack`). The simulated cloud is compared on every `cargo test`.
//!
//! Recording (real services only; the references never come from the simulator):
//!
//! ```text
//! ci/realstack start
//! SIGSTACK_PARITY_RECORD=1 SIGSTACK_PARITY_CLOUDS_YAML=target/realstack/clouds.yaml \
//!     cargo test -p sigstack-cloud --test parity
//! ci/realstack stop
//! ```
//!
//! With `SIGSTACK_PARITY_CLOUDS_YAML` and no `SIGSTACK_PARITY_RECORD`, that cloud is compared
//! with the references too (a re-run against the real stack shows the normalisation is stable).
//! See docs/fidelity.md.

#[path = "glance_support/mod.rs"]
mod glance_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use glance_support::{data, fixture, repo_path, sign};
use regex::Regex;
use reqwest::{Method, RequestBuilder};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_client::{Credentials, Session};
use sigstack_cloud::{CloudConfig, CloudHandle, start};
use sigstack_verify::{HashMethod, KeyType};

const RECORD_ENV: &str = "SIGSTACK_PARITY_RECORD";
const CLOUDS_ENV: &str = "SIGSTACK_PARITY_CLOUDS_YAML";
const REFERENCE_DIR: &str = "harness/cloud/tests/parity";
/// Clouds a parity target's clouds.yaml must have (as `ci/realstack` writes them).
const CLOUD_NAMES: [(&str, &str); 3] =
    [("admin", "realstack-admin"), ("demo", "realstack-demo"), ("alt_demo", "realstack-alt-demo")];
/// Service types the real stack has; the simulator's catalog also lists compute and volume.
const COMPARED_SERVICES: [&str; 3] = ["identity", "key-manager", "image"];
/// Values compared exactly although they look like ids (they are digests of the same data).
const EXACT_KEYS: [&str; 3] = ["checksum", "os_hash_value", "content-md5"];
/// Response headers clients read: compared by value.
const VALUE_HEADERS: [&str; 5] = ["content-type", "location", "content-md5", "openstack-api-version", "www-authenticate"];
/// Response headers clients read: compared by presence.
const PRESENT_HEADERS: [&str; 2] = ["x-subject-token", "x-openstack-request-id"];

// ---------------------------------------------------------------------------------------------
// Normalisation

static HOST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"https?://(127\.0\.0\.1|localhost|\[::1\]):\d+").unwrap());
static UUID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").unwrap());
static HEX_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[0-9a-f]{32}\b").unwrap());
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?").unwrap()
});
static DIGIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d").unwrap());
static BASE64: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9+/_-]{100,}={0,2}$").unwrap());
static HEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9a-f]+$").unwrap());

/// Redacts what differs between any two runs: loopback hosts and ports, UUIDs, Keystone's
/// 32-hex ids, long base64 values (signatures: RSA-PSS salts are random), and the digits of timestamps (their format is
/// kept: `2026-01-02T03:04:05.123456Z` becomes `0000-00-00T00:00:00.000000Z`).
fn redact(text: &str) -> String {
    if BASE64.is_match(text) && !HEX.is_match(text) && !UUID.is_match(text) {
        return "[base64]".into();
    }
    let text = HOST.replace_all(text, "http://[host]");
    let text = UUID.replace_all(&text, "[uuid]");
    let text = HEX_ID.replace_all(&text, "[id]");
    TIME.replace_all(&text, |c: &regex::Captures| DIGIT.replace_all(&c[0], "0").into_owned()).into_owned()
}

/// A JSON body's shape: same keys, same types, exact strings once redacted. Arrays are sorted
/// (role, endpoint and member order is not part of any API contract).
fn normalise_json(value: &Value, key: Option<&str>) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalise_json(v, Some(k)))).collect()),
        Value::Array(items) => {
            let mut items: Vec<Value> = items
                .iter()
                .map(|v| if key == Some("audit_ids") { json!("[audit-id]") } else { normalise_json(v, None) })
                .collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        Value::String(s) if key.is_some_and(|k| EXACT_KEYS.contains(&k)) => Value::String(s.clone()),
        Value::String(s) => Value::String(redact(s)),
        other => other.clone(),
    }
}

/// One answer as the references hold it.
fn normalise(request: &str, status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Value {
    let mut kept = Map::new();
    for name in VALUE_HEADERS {
        // No client reads the media type of an empty body (Glance's 204 says text/html).
        if name == "content-type" && body.is_empty() {
            continue;
        }
        if let Some(v) = headers.get(name) {
            let v = String::from_utf8_lossy(v.as_bytes());
            let v = if EXACT_KEYS.contains(&name) { v.into_owned() } else { redact(&v) };
            kept.insert(name.into(), Value::String(v));
        }
    }
    for name in PRESENT_HEADERS {
        if headers.contains_key(name) {
            kept.insert(name.into(), json!("[present]"));
        }
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let body = if body.is_empty() {
        Value::Null
    } else if let Ok(value) = serde_json::from_slice::<Value>(body) {
        normalise_json(&value, None)
    } else if content_type.starts_with("application/octet-stream") {
        json!({"bytes": body.len()})
    } else {
        json!({"text": redact(&String::from_utf8_lossy(body))})
    };
    json!({"request": request, "status": status, "headers": Value::Object(kept), "body": body})
}

/// Keeps the catalog entries both clouds have (the real stack runs no compute or volume).
fn compared_catalog(body: &mut Value) {
    if let Some(catalog) = body.pointer_mut("/token/catalog").and_then(Value::as_array_mut) {
        catalog.retain(|e| e["type"].as_str().is_some_and(|t| COMPARED_SERVICES.contains(&t)));
    }
}

// ---------------------------------------------------------------------------------------------
// The requests

struct Target {
    label: String,
    admin: Session,
    demo: Session,
    alt_demo: Session,
    credentials: BTreeMap<String, Credentials>,
    _cloud: Option<CloudHandle>,
}

/// The answers, in request order: (reference name, normalised answer).
type Answers = Vec<(&'static str, Value)>;

struct Recorder {
    answers: Answers,
}

impl Recorder {
    async fn send(&mut self, name: &'static str, request: &str, builder: RequestBuilder) -> (u16, Value, Vec<u8>) {
        self.send_viewed(name, request, builder, |_| {}).await
    }

    /// Sends, normalises (after `view` edits the parsed JSON body), records; returns the
    /// status, the raw JSON body (or null) and the raw bytes.
    async fn send_viewed(
        &mut self,
        name: &'static str,
        request: &str,
        builder: RequestBuilder,
        view: impl Fn(&mut Value),
    ) -> (u16, Value, Vec<u8>) {
        let response = builder.send().await.unwrap_or_else(|e| panic!("{name}: {request}: no answer: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_else(|e| panic!("{name}: body: {e}")).to_vec();
        let raw: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let mut viewed = raw.clone();
        view(&mut viewed);
        let body = if viewed.is_null() { bytes.clone() } else { serde_json::to_vec(&viewed).unwrap() };
        self.answers.push((name, normalise(request, status, &headers, &body)));
        (status, raw, bytes)
    }
}

/// A new user with `role` in the project `template` is scoped to, made through Keystone's
/// admin API (deleted by the caller).
struct ProjectUser {
    id: String,
    credentials: Credentials,
}

async fn project_user(admin: &Session, template: &Credentials, role: &str) -> ProjectUser {
    use sigstack_client::identity;
    let name = format!("parity-{role}-{}", uuid::Uuid::new_v4());
    let project = admin.token().project.clone().expect("project-scoped admin");
    let domain = identity::domain_id(admin, &template.user_domain_name).await.expect("domain");
    let user = identity::create_user(admin, &name, "parity-password", &domain, &project.id).await.expect("user created");
    let role_id = identity::role_id(admin, role).await.expect("role");
    identity::grant(admin, &project.id, &user.id, &role_id).await.expect("role granted");
    let credentials = Credentials { username: name, password: "parity-password".into(), ..template.clone() };
    ProjectUser { id: user.id, credentials }
}

fn expect(name: &str, status: u16, want: u16, body: &[u8]) {
    assert_eq!(status, want, "{name}: setup request answered {status}: {}", String::from_utf8_lossy(body));
}

async fn run(target: &Target) -> Answers {
    let mut r = Recorder { answers: Vec::new() };
    let (admin, demo, alt_demo) = (&target.admin, &target.demo, &target.alt_demo);
    let http = admin.http();

    // --- Keystone
    let c = &target.credentials["demo"];
    let auth_url = format!("{}/auth/tokens", sigstack_client::session::v3_url(&c.auth_url));
    let password_auth = |password: &str| {
        json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": c.username, "domain": {"name": c.user_domain_name}, "password": password}}},
            "scope": {"project": {"name": c.project_name, "domain": {"name": c.project_domain_name}}}}})
    };
    r.send_viewed(
        "keystone_token_issue",
        "POST /v3/auth/tokens (demo, password, project scope)",
        http.post(&auth_url).json(&password_auth(&c.password)),
        compared_catalog,
    )
    .await;
    r.send(
        "keystone_token_wrong_password",
        "POST /v3/auth/tokens (demo, wrong password)",
        http.post(&auth_url).json(&password_auth("not-the-password")),
    )
    .await;

    // --- Keystone admin API (the suite's per-scenario projects and users)
    let identity = sigstack_client::session::v3_url(&admin.endpoint("identity").expect("identity endpoint"));
    let project_name = format!("parity-project-{}", uuid::Uuid::new_v4());
    let new_project = json!({"project": {"name": project_name, "domain_id": "default", "description": "parity"}});
    let (status, project, bytes) = r
        .send("keystone_project_create", "POST /v3/projects (admin)", admin.request(Method::POST, &format!("{identity}/projects")).json(&new_project))
        .await;
    expect("keystone_project_create", status, 201, &bytes);
    let project_id = project["project"]["id"].as_str().expect("project id").to_owned();
    r.send(
        "keystone_project_create_409",
        "POST /v3/projects (admin, same name again)",
        admin.request(Method::POST, &format!("{identity}/projects")).json(&new_project),
    )
    .await;
    r.send(
        "keystone_project_create_400_no_name",
        "POST /v3/projects (admin, no name)",
        admin.request(Method::POST, &format!("{identity}/projects")).json(&json!({"project": {"domain_id": "default"}})),
    )
    .await;
    r.send(
        "keystone_project_create_403_member",
        "POST /v3/projects (demo: member)",
        demo.request(Method::POST, &format!("{identity}/projects")).json(&json!({"project": {"name": "parity-refused"}})),
    )
    .await;
    let new_user = json!({"user": {"name": format!("parity-user-{}", uuid::Uuid::new_v4()), "password": "parity-password",
        "domain_id": "default", "default_project_id": project_id}});
    let (status, user, bytes) =
        r.send("keystone_user_create", "POST /v3/users (admin)", admin.request(Method::POST, &format!("{identity}/users")).json(&new_user)).await;
    expect("keystone_user_create", status, 201, &bytes);
    let user_id = user["user"]["id"].as_str().expect("user id").to_owned();
    r.send(
        "keystone_user_create_409",
        "POST /v3/users (admin, same name again)",
        admin.request(Method::POST, &format!("{identity}/users")).json(&new_user),
    )
    .await;
    r.send("keystone_user_delete", "DELETE /v3/users/{id} (admin)", admin.request(Method::DELETE, &format!("{identity}/users/{user_id}")))
        .await;
    r.send(
        "keystone_project_delete",
        "DELETE /v3/projects/{id} (admin)",
        admin.request(Method::DELETE, &format!("{identity}/projects/{project_id}")),
    )
    .await;
    r.send(
        "keystone_project_delete_404",
        "DELETE /v3/projects/{id} (admin, already deleted)",
        admin.request(Method::DELETE, &format!("{identity}/projects/{project_id}")),
    )
    .await;

    // --- Barbican
    let v1 = key_manager::v1(admin).expect("key-manager endpoint");
    let cert_pem = fixture("fixtures/pki/signing/rsa-3072.crt.pem");
    let cert_secret = NewSecret::certificate("parity-signing-cert", cert_pem.as_bytes());
    let secrets = format!("{v1}/secrets");
    let (status, created, bytes) = r
        .send(
            "barbican_secret_create",
            "POST /v1/secrets (admin, certificate, base64 payload)",
            admin.request(Method::POST, &secrets).json(&cert_secret),
        )
        .await;
    expect("barbican_secret_create", status, 201, &bytes);
    let cert_uuid = key_manager::secret_uuid(created["secret_ref"].as_str().expect("secret_ref")).to_owned();
    let secret = format!("{secrets}/{cert_uuid}");
    r.send(
        "barbican_secret_get",
        "GET /v1/secrets/{uuid} (admin, Accept: application/json)",
        admin.request(Method::GET, &secret).header("Accept", "application/json"),
    )
    .await;
    let (_, _, payload) = r
        .send(
            "barbican_secret_payload",
            "GET /v1/secrets/{uuid}/payload (admin, Accept: application/octet-stream)",
            admin.request(Method::GET, &format!("{secret}/payload")).header("Accept", "application/octet-stream"),
        )
        .await;
    assert_eq!(payload, cert_pem.as_bytes(), "{}: the payload is not the stored PEM", target.label);
    let demo_user = demo.token().user.id.clone();
    r.send(
        "barbican_acl_set",
        "PUT /v1/secrets/{uuid}/acl (admin, read: users [demo], project-access false)",
        admin
            .request(Method::PUT, &format!("{secret}/acl"))
            .json(&json!({"read": {"users": [demo_user], "project-access": false}})),
    )
    .await;
    r.send("barbican_acl_get", "GET /v1/secrets/{uuid}/acl (admin)", admin.request(Method::GET, &format!("{secret}/acl")))
        .await;
    r.send(
        "barbican_acl_user_reads_payload",
        "GET /v1/secrets/{uuid}/payload (demo, listed in the ACL)",
        demo.request(Method::GET, &format!("{secret}/payload")).header("Accept", "application/octet-stream"),
    )
    .await;
    // A user of the secret's project with the creator role who did not create it may not
    // change the ACL of a private secret (legacy policy: the ACL controller sees the flag).
    let creator = project_user(admin, &target.credentials["admin"], "creator").await;
    let creator_session = Session::authenticate(&creator.credentials).await.expect("the creator-role user authenticates");
    r.send(
        "barbican_403_acl_change_private_by_creator_role",
        "PUT /v1/secrets/{uuid}/acl (creator role in the project, not the secret's creator; secret private)",
        creator_session.request(Method::PUT, &format!("{secret}/acl")).json(&json!({"read": {"users": [], "project-access": false}})),
    )
    .await;
    r.send(
        "barbican_403_acl_delete_private_by_creator_role",
        "DELETE /v1/secrets/{uuid}/acl (creator role in the project, not the secret's creator; secret private)",
        creator_session.request(Method::DELETE, &format!("{secret}/acl")),
    )
    .await;
    sigstack_client::identity::delete_user(admin, &creator.id).await.expect("the creator-role user is deleted");
    r.send(
        "barbican_403_other_project",
        "GET /v1/secrets/{uuid} (alt_demo, other project, not in the ACL)",
        alt_demo.request(Method::GET, &secret).header("Accept", "application/json"),
    )
    .await;
    r.send(
        "barbican_403_member_without_creator",
        "POST /v1/secrets (demo: member, not creator)",
        demo.request(Method::POST, &secrets).json(&NewSecret::certificate("parity-refused", cert_pem.as_bytes())),
    )
    .await;
    r.send(
        "barbican_404_secret",
        "GET /v1/secrets/{unknown uuid} (admin)",
        admin
            .request(Method::GET, &format!("{secrets}/{}", uuid::Uuid::new_v4()))
            .header("Accept", "application/json"),
    )
    .await;
    r.send("barbican_401_no_token", "GET /v1/secrets (no X-Auth-Token)", http.get(&secrets).header("Accept", "application/json"))
        .await;
    r.send(
        "barbican_415_create",
        "POST /v1/secrets (admin, Content-Type: text/plain)",
        admin.request(Method::POST, &secrets).header("Content-Type", "text/plain").body("not json"),
    )
    .await;
    // Key orders, as castellan's `create_key` (Cinder's encrypted volumes) sends them.
    let orders = format!("{v1}/orders");
    let key_order = json!({"type": "key", "meta": {"name": "parity-key", "algorithm": "aes", "bit_length": 256, "mode": "cbc",
                                                   "payload_content_type": "application/octet-stream"}});
    let (status, created, bytes) = r
        .send("barbican_order_create", "POST /v1/orders (admin, key, aes 256 cbc)", admin.request(Method::POST, &orders).json(&key_order))
        .await;
    expect("barbican_order_create", status, 202, &bytes);
    let order_ref = created["order_ref"].as_str().expect("order_ref").to_owned();
    r.send(
        "barbican_order_get",
        "GET /v1/orders/{uuid} (admin, the key order)",
        admin.request(Method::GET, &order_ref).header("Accept", "application/json"),
    )
    .await;
    r.send(
        "barbican_order_403_member",
        "POST /v1/orders (demo: member, not creator)",
        demo.request(Method::POST, &orders).json(&key_order),
    )
    .await;

    // --- Glance
    let glance = admin.endpoint("image").expect("image endpoint");
    let images = format!("{glance}/v2/images");
    let image_bytes = data(64 * 1024, 7);
    let mut tampered = image_bytes.clone();
    tampered[40_000] ^= 1;
    let signature = sign("fixtures/pki/signing/rsa-3072.key.pem", KeyType::RsaPss, HashMethod::Sha256, &image_bytes);
    let new_image = |name: &str| {
        json!({"name": name, "container_format": "bare", "disk_format": "raw",
               "img_signature": signature, "img_signature_hash_method": "SHA-256",
               "img_signature_key_type": "RSA-PSS", "img_signature_certificate_uuid": cert_uuid})
    };
    let json_accept = |b: RequestBuilder| b.header("Accept", "application/json");
    let (status, image, bytes) = r
        .send(
            "glance_image_create",
            "POST /v2/images (admin, raw/bare, the four img_signature properties)",
            json_accept(admin.request(Method::POST, &images)).json(&new_image("parity-signed")),
        )
        .await;
    expect("glance_image_create", status, 201, &bytes);
    let image_url = format!("{images}/{}", image["id"].as_str().expect("image id"));
    r.send("glance_image_show_queued", "GET /v2/images/{id} (admin, queued)", json_accept(admin.request(Method::GET, &image_url)))
        .await;
    r.send(
        "glance_image_patch",
        "PATCH /v2/images/{id} (admin, add a property, replace the name)",
        json_accept(admin.request(Method::PATCH, &image_url))
            .header("Content-Type", "application/openstack-images-v2.1-json-patch")
            .body(
                json!([{"op": "add", "path": "/parity_note", "value": "recorded"},
                       {"op": "replace", "path": "/name", "value": "parity-signed-renamed"}])
                .to_string(),
            ),
    )
    .await;
    // gunicorn closes a connection whose upload Glance refused unread: never reuse one.
    let upload = |url: &str, body: Vec<u8>| {
        json_accept(admin.request(Method::PUT, &format!("{url}/file")))
            .header("Connection", "close")
            .header("Content-Type", "application/octet-stream")
            .body(body)
    };
    r.send("glance_upload_signed", "PUT /v2/images/{id}/file (admin, correctly signed data)", upload(&image_url, image_bytes.clone()))
        .await;
    r.send("glance_image_show_active", "GET /v2/images/{id} (admin, after the signed upload)", json_accept(admin.request(Method::GET, &image_url)))
        .await;
    let (_, _, downloaded) = r
        .send("glance_download", "GET /v2/images/{id}/file (admin)", admin.request(Method::GET, &format!("{image_url}/file")))
        .await;
    assert_eq!(downloaded, image_bytes, "{}: the downloaded image differs from the upload", target.label);
    let (status, bad, bytes) = r
        .send(
            "glance_image_create_for_tampered",
            "POST /v2/images (admin, same properties, for tampered data)",
            json_accept(admin.request(Method::POST, &images)).json(&new_image("parity-tampered")),
        )
        .await;
    expect("glance_image_create_for_tampered", status, 201, &bytes);
    let bad_url = format!("{images}/{}", bad["id"].as_str().expect("image id"));
    r.send("glance_upload_tampered", "PUT /v2/images/{id}/file (admin, tampered data, Accept: application/json)", upload(&bad_url, tampered))
        .await;
    r.send(
        "glance_image_show_after_tampered",
        "GET /v2/images/{id} (admin, after the rejected upload)",
        json_accept(admin.request(Method::GET, &bad_url)),
    )
    .await;
    r.send(
        "glance_409_upload_to_active",
        "PUT /v2/images/{id}/file (admin, the image is already active)",
        upload(&image_url, image_bytes.clone()),
    )
    .await;
    // cursive's messages through Glance: a fresh image per case, one property changed.
    let unknown_cert = uuid::Uuid::new_v4().to_string();
    let cases = [
        ("glance_upload_unknown_certificate", "img_signature_certificate_uuid", unknown_cert.as_str(), "an unknown certificate uuid"),
        ("glance_upload_md5_hash_method", "img_signature_hash_method", "MD5", "img_signature_hash_method MD5"),
        ("glance_upload_unknown_key_type", "img_signature_key_type", "FOO", "img_signature_key_type FOO"),
        ("glance_upload_signature_not_base64", "img_signature", "not base64!", "img_signature not base64"),
    ];
    for (name, property, value, what) in cases {
        let mut body = new_image(name);
        body[property] = json!(value);
        let response = json_accept(admin.request(Method::POST, &images)).json(&body).send().await.expect("glance answers");
        assert_eq!(response.status().as_u16(), 201, "{name}: image create");
        let created: Value = response.json().await.expect("image json");
        let url = format!("{images}/{}", created["id"].as_str().expect("image id"));
        r.send(name, &format!("PUT /v2/images/{{id}}/file (admin, {what})"), upload(&url, image_bytes.clone())).await;
    }
    r.send("glance_401_no_token", "GET /v2/images (no X-Auth-Token)", http.get(&images).header("Accept", "application/json")).await;
    r.send(
        "glance_404_image",
        "GET /v2/images/{unknown uuid} (admin)",
        json_accept(admin.request(Method::GET, &format!("{images}/{}", uuid::Uuid::new_v4()))),
    )
    .await;
    r.answers
}

// ---------------------------------------------------------------------------------------------
// Targets

#[derive(Deserialize)]
struct CloudsYaml {
    clouds: BTreeMap<String, CloudEntry>,
}

#[derive(Deserialize)]
struct CloudEntry {
    auth: AuthEntry,
    region_name: Option<String>,
    interface: Option<String>,
}

#[derive(Deserialize)]
struct AuthEntry {
    auth_url: String,
    username: String,
    password: String,
    project_name: String,
    user_domain_name: Option<String>,
    project_domain_name: Option<String>,
}

fn credentials_from_clouds_yaml(path: &Path) -> BTreeMap<String, Credentials> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{CLOUDS_ENV}={}: {e}", path.display()));
    let parsed: CloudsYaml = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    CLOUD_NAMES
        .iter()
        .map(|(user, cloud)| {
            let e = parsed.clouds.get(*cloud).unwrap_or_else(|| panic!("{} has no cloud '{cloud}'", path.display()));
            let credentials = Credentials {
                auth_url: e.auth.auth_url.clone(),
                username: e.auth.username.clone(),
                password: e.auth.password.clone(),
                user_domain_name: e.auth.user_domain_name.clone().unwrap_or_else(|| "Default".into()),
                project_name: Some(e.auth.project_name.clone()),
                project_id: None,
                project_domain_name: e.auth.project_domain_name.clone().unwrap_or_else(|| "Default".into()),
                region_name: e.region_name.clone(),
                interface: e.interface.clone().unwrap_or_else(|| "public".into()),
            };
            ((*user).to_owned(), credentials)
        })
        .collect()
}

async fn target(label: String, credentials: BTreeMap<String, Credentials>, cloud: Option<CloudHandle>) -> Target {
    let session = |user: &str| {
        let c = credentials[user].clone();
        let label = label.clone();
        let user = user.to_owned();
        async move { Session::authenticate(&c).await.unwrap_or_else(|e| panic!("{label}: {user} cannot authenticate: {e}")) }
    };
    Target {
        admin: session("admin").await,
        demo: session("demo").await,
        alt_demo: session("alt_demo").await,
        label,
        credentials,
        _cloud: cloud,
    }
}

async fn simulated() -> Target {
    let cloud = start(CloudConfig::default()).await.expect("the simulated cloud starts");
    let credentials = CLOUD_NAMES
        .iter()
        .map(|(user, _)| ((*user).to_owned(), cloud.credentials(user).expect("seeded user")))
        .collect();
    target("simulated cloud".into(), credentials, Some(cloud)).await
}

/// `SIGSTACK_PARITY_CLOUDS_YAML`; a relative path is taken from the repository root (cargo runs
/// tests in the package's directory).
fn clouds_yaml_path(value: &std::ffi::OsStr) -> PathBuf {
    let path = PathBuf::from(value);
    if path.is_absolute() { path } else { repo_path(&path.to_string_lossy()) }
}

async fn from_clouds_yaml(path: &Path) -> Target {
    target(format!("cloud of {}", path.display()), credentials_from_clouds_yaml(path), None).await
}

// ---------------------------------------------------------------------------------------------
// References

fn reference_dir() -> PathBuf {
    let dir = repo_path(REFERENCE_DIR);
    dir.canonicalize().unwrap_or(dir)
}

fn write_references(answers: &Answers, dir: &Path) {
    std::fs::create_dir_all(dir).expect("reference dir");
    for entry in std::fs::read_dir(dir).expect("reference dir").flatten() {
        if entry.path().extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(entry.path()).expect("remove an old reference");
        }
    }
    for (name, answer) in answers {
        let text = serde_json::to_string_pretty(answer).unwrap() + "\n";
        std::fs::write(dir.join(format!("{name}.json")), text).expect("write a reference");
    }
}

/// Every difference between `answers` and the references in `dir`, as readable diffs.
fn differences(answers: &Answers, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut expected_files: Vec<String> = Vec::new();
    for (name, answer) in answers {
        let file = format!("{name}.json");
        expected_files.push(file.clone());
        let actual = serde_json::to_string_pretty(answer).unwrap() + "\n";
        match std::fs::read_to_string(dir.join(&file)) {
            Err(e) => out.push(format!("{name}: no reference {file} ({e}); record it from the real services (docs/fidelity.md)")),
            Ok(reference) if reference == actual => {}
            Ok(reference) => {
                let diff = similar::TextDiff::from_lines(&reference, &actual);
                out.push(format!(
                    "{name}: differs from the real service (- real reference, + this cloud):\n{}",
                    diff.unified_diff().context_radius(3).header("real", "this cloud")
                ));
            }
        }
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.ends_with(".json") && !expected_files.contains(&file) {
            out.push(format!("{file}: a reference no request produces (stale; re-record)"));
        }
    }
    out
}

fn assert_no_differences(label: &str, answers: &Answers, dir: &Path) {
    let diffs = differences(answers, dir);
    assert!(
        diffs.is_empty(),
        "{label}: {} of {} answers differ from the real services' references in {}:\n\n{}",
        diffs.len(),
        answers.len(),
        dir.display(),
        diffs.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_services_answer_like_the_real_ones() {
    let dir = reference_dir();
    let recording = std::env::var(RECORD_ENV).is_ok_and(|v| v == "1");
    match std::env::var_os(CLOUDS_ENV) {
        Some(path) => {
            let path = clouds_yaml_path(&path);
            let real = from_clouds_yaml(&path.canonicalize().unwrap_or(path.clone())).await;
            let answers = run(&real).await;
            if recording {
                write_references(&answers, &dir);
                eprintln!("parity: recorded {} references from {} into {}", answers.len(), real.label, dir.display());
            } else {
                assert_no_differences(&real.label, &answers, &dir);
            }
        }
        None => assert!(!recording, "{RECORD_ENV}=1 needs {CLOUDS_ENV}=<clouds.yaml of the real services>"),
    }
    let simulated = simulated().await;
    let answers = run(&simulated).await;
    assert_no_differences(&simulated.label, &answers, &dir);
}

// ---------------------------------------------------------------------------------------------
// The comparison itself can fail

fn header_map(pairs: &[(&'static str, &str)]) -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in pairs {
        map.insert(*k, v.parse().unwrap());
    }
    map
}

#[test]
fn normalisation_redacts_what_varies_and_keeps_what_clients_read() {
    let headers = header_map(&[
        ("content-type", "application/json"),
        ("location", "http://127.0.0.1:9311/v1/secrets/0b7c5a8e-9f1d-4c2e-8a3b-5d6e7f809a1b"),
        ("x-openstack-request-id", "req-0b7c5a8e-9f1d-4c2e-8a3b-5d6e7f809a1b"),
        ("date", "Mon, 23 Nov 2026 14:14:07 GMT"),
    ]);
    let body = json!({
        "owner": "2f0c5e1b8a9d4c7e9f1a2b3c4d5e6f70",
        "created_at": "2026-11-23T14:14:07Z",
        "expires_at": "2026-11-23T15:14:07.000000Z",
        "checksum": "0123456789abcdef0123456789abcdef",
        "img_signature": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg/QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg==",
        "file": "/v2/images/0b7c5a8e-9f1d-4c2e-8a3b-5d6e7f809a1b/file",
        "roles": [{"name": "reader"}, {"name": "member"}],
        "message": "Signature verification failed for image 0b7c5a8e-9f1d-4c2e-8a3b-5d6e7f809a1b",
        "size": 65536,
    });
    let got = normalise("req", 201, &headers, body.to_string().as_bytes());
    assert_eq!(
        got,
        json!({"request": "req", "status": 201,
            "headers": {"content-type": "application/json", "location": "http://[host]/v1/secrets/[uuid]",
                        "x-openstack-request-id": "[present]"},
            "body": {"owner": "[id]", "created_at": "0000-00-00T00:00:00Z",
                     "expires_at": "0000-00-00T00:00:00.000000Z",
                     "checksum": "0123456789abcdef0123456789abcdef", "img_signature": "[base64]",
                     "file": "/v2/images/[uuid]/file",
                     "roles": [{"name": "member"}, {"name": "reader"}],
                     "message": "Signature verification failed for image [uuid]", "size": 65536}})
    );
    let bytes = normalise("req", 200, &header_map(&[("content-type", "application/octet-stream")]), b"\x00\x01binary");
    assert_eq!(bytes["body"], json!({"bytes": 8}));
    let html = normalise("req", 400, &header_map(&[("content-type", "text/html")]), b"<h1>400 Bad Request</h1>");
    assert_eq!(html["body"], json!({"text": "<h1>400 Bad Request</h1>"}));
}

#[test]
fn a_changed_message_type_or_status_is_a_difference() {
    let dir = tempfile::tempdir().unwrap();
    let headers = header_map(&[("content-type", "application/json")]);
    let reference: Answers = vec![(
        "case",
        normalise("req", 404, &headers, br#"{"code": 404, "title": "Not Found", "description": "Secret not found."}"#),
    )];
    write_references(&reference, dir.path());
    assert!(differences(&reference, dir.path()).is_empty());
    for (status, body) in [
        (404, &br#"{"code": 404, "title": "Not Found", "description": "Not found."}"#[..]),
        (404, br#"{"code": "404", "title": "Not Found", "description": "Secret not found."}"#),
        (404, br#"{"code": 404, "title": "Not Found"}"#),
        (400, br#"{"code": 404, "title": "Not Found", "description": "Secret not found."}"#),
    ] {
        let answers: Answers = vec![("case", normalise("req", status, &headers, body))];
        let diffs = differences(&answers, dir.path());
        assert_eq!(diffs.len(), 1, "{}", String::from_utf8_lossy(body));
        assert!(diffs[0].contains("- real reference, + this cloud"), "{}", diffs[0]);
    }
    let missing: Answers = vec![("other", reference[0].1.clone())];
    let diffs = differences(&missing, dir.path());
    assert!(diffs.iter().any(|d| d.starts_with("other: no reference")), "{diffs:?}");
    assert!(diffs.iter().any(|d| d.contains("case.json: a reference no request produces")), "{diffs:?}");
}
