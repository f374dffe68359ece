//! The fixed list of requests, by service, and the recorder that normalises their answers.

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_client::{Credentials, Session};
use sigstack_verify::{HashMethod, KeyType};

use super::normalise::compared_catalog;
use super::recorder::{Recorder, expect};
use super::{Answers, Target};
use crate::glance_support::{data, fixture, sign};

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

/// Sends every request to `target`, in a fixed order: the services in turn (the order and the
/// names are the references', so the split into one function per service keeps them).
pub async fn run(target: &Target) -> Answers {
    let mut r = Recorder::default();
    keystone_tokens(&mut r, target).await;
    keystone_admin(&mut r, target).await;
    keystone_application_credentials(&mut r, target).await;
    let cert_uuid = barbican(&mut r, target).await;
    glance(&mut r, target, &cert_uuid).await;
    r.answers
}

/// Token issue, right and wrong password.
async fn keystone_tokens(r: &mut Recorder, target: &Target) {
    let http = target.admin.http();
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
}

/// Keystone's admin API (the suite's per-scenario projects and users).
async fn keystone_admin(r: &mut Recorder, target: &Target) {
    let (admin, demo) = (&target.admin, &target.demo);
    let identity = sigstack_client::session::v3_url(&admin.endpoint("identity").expect("identity endpoint"));
    let project_name = format!("parity-project-{}", uuid::Uuid::new_v4());
    let new_project = json!({"project": {"name": project_name, "domain_id": "default", "description": "parity"}});
    let (status, project, bytes) = r
        .send(
            "keystone_project_create",
            "POST /v3/projects (admin)",
            admin.request(Method::POST, &format!("{identity}/projects")).json(&new_project),
        )
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
    let (status, user, bytes) = r
        .send("keystone_user_create", "POST /v3/users (admin)", admin.request(Method::POST, &format!("{identity}/users")).json(&new_user))
        .await;
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
}

/// Application credentials as a CI system makes and uses one: demo creates one for itself,
/// authenticates with it (and with a wrong secret), shows and deletes it.
async fn keystone_application_credentials(r: &mut Recorder, target: &Target) {
    let demo = &target.demo;
    let identity = sigstack_client::session::v3_url(&demo.endpoint("identity").expect("identity endpoint"));
    let base = format!("{identity}/users/{}/application_credentials", demo.token().user.id);
    let hide_secret = |body: &mut Value| {
        if let Some(secret) = body.pointer_mut("/application_credential/secret") {
            *secret = json!("[secret]");
        }
    };
    let new = json!({"application_credential": {"name": "parity-appcred", "description": "parity"}});
    let (status, created, bytes) = r
        .send_viewed(
            "keystone_appcred_create",
            "POST /v3/users/{id}/application_credentials (demo, for itself)",
            demo.request(Method::POST, &base).json(&new),
            hide_secret,
        )
        .await;
    expect("keystone_appcred_create", status, 201, &bytes);
    let id = created["application_credential"]["id"].as_str().expect("credential id").to_owned();
    let secret = created["application_credential"]["secret"].as_str().expect("credential secret").to_owned();
    r.send(
        "keystone_appcred_create_409",
        "POST /v3/users/{id}/application_credentials (same name again)",
        demo.request(Method::POST, &base).json(&new),
    )
    .await;
    r.send("keystone_appcred_show", "GET /v3/users/{id}/application_credentials/{id}", demo.request(Method::GET, &format!("{base}/{id}")))
        .await;
    let http = demo.http();
    let auth = |secret: &str| json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": id, "secret": secret}}}});
    r.send_viewed(
        "keystone_appcred_token",
        "POST /v3/auth/tokens (application credential by id)",
        http.post(format!("{identity}/auth/tokens")).json(&auth(&secret)),
        compared_catalog,
    )
    .await;
    r.send(
        "keystone_appcred_token_wrong_secret",
        "POST /v3/auth/tokens (application credential, wrong secret)",
        http.post(format!("{identity}/auth/tokens")).json(&auth("not-the-secret")),
    )
    .await;
    r.send(
        "keystone_appcred_delete",
        "DELETE /v3/users/{id}/application_credentials/{id}",
        demo.request(Method::DELETE, &format!("{base}/{id}")),
    )
    .await;
    r.send(
        "keystone_appcred_show_404",
        "GET /v3/users/{id}/application_credentials/{id} (deleted)",
        demo.request(Method::GET, &format!("{base}/{id}")),
    )
    .await;
}

/// Secrets, payloads, ACLs, key orders and their errors; returns the uuid of the signing
/// certificate stored for Glance's requests.
async fn barbican(r: &mut Recorder, target: &Target) -> String {
    let (admin, demo, alt_demo) = (&target.admin, &target.demo, &target.alt_demo);
    let http = admin.http();
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
        admin.request(Method::PUT, &format!("{secret}/acl")).json(&json!({"read": {"users": [demo_user], "project-access": false}})),
    )
    .await;
    r.send("barbican_acl_get", "GET /v1/secrets/{uuid}/acl (admin)", admin.request(Method::GET, &format!("{secret}/acl"))).await;
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
        admin.request(Method::GET, &format!("{secrets}/{}", uuid::Uuid::new_v4())).header("Accept", "application/json"),
    )
    .await;
    r.send("barbican_401_no_token", "GET /v1/secrets (no X-Auth-Token)", http.get(&secrets).header("Accept", "application/json")).await;
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
    cert_uuid
}

/// Image create/show/patch, signed and tampered uploads, download, cursive's messages.
async fn glance(r: &mut Recorder, target: &Target, cert_uuid: &str) {
    let admin = &target.admin;
    let http = admin.http();
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
    r.send("glance_image_show_queued", "GET /v2/images/{id} (admin, queued)", json_accept(admin.request(Method::GET, &image_url))).await;
    r.send(
        "glance_image_patch",
        "PATCH /v2/images/{id} (admin, add a property, replace the name)",
        json_accept(admin.request(Method::PATCH, &image_url)).header("Content-Type", "application/openstack-images-v2.1-json-patch").body(
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
    r.send(
        "glance_image_show_active",
        "GET /v2/images/{id} (admin, after the signed upload)",
        json_accept(admin.request(Method::GET, &image_url)),
    )
    .await;
    let (_, _, downloaded) =
        r.send("glance_download", "GET /v2/images/{id}/file (admin)", admin.request(Method::GET, &format!("{image_url}/file"))).await;
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
    r.send(
        "glance_upload_tampered",
        "PUT /v2/images/{id}/file (admin, tampered data, Accept: application/json)",
        upload(&bad_url, tampered),
    )
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
}
