//! Shared helpers of the Barbican tests: a running cloud, tokens, Keystone role grants, a raw
//! HTTP client (reqwest always sends `Accept`), exact error checks and snapshot redactions.
#![allow(dead_code)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_cloud::{CloudConfig, CloudHandle, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const JSON: &str = "application/json";

pub async fn cloud() -> CloudHandle {
    start(CloudConfig::default()).await.expect("cloud starts")
}

pub fn http() -> reqwest::Client {
    sigstack_client::session::http_client()
}

pub async fn session(cloud: &CloudHandle, user: &str) -> Session {
    Session::authenticate(&cloud.credentials(user).expect("seeded user")).await.expect("authenticates")
}

/// A session for `user` scoped to another project (after a role grant there).
pub async fn session_in(cloud: &CloudHandle, user: &str, project: &str) -> Session {
    let mut credentials = cloud.credentials(user).expect("seeded user");
    credentials.project_name = Some(project.into());
    Session::authenticate(&credentials).await.expect("authenticates")
}

pub async fn token(cloud: &CloudHandle, user: &str) -> String {
    session(cloud, user).await.token().value.clone()
}

pub fn secrets_url(cloud: &CloudHandle) -> String {
    format!("{}/v1/secrets", cloud.endpoints.key_manager)
}

/// The id of a Keystone user, project or role by name, through the admin API.
pub async fn keystone_id(cloud: &CloudHandle, admin: &str, kind: &str, name: &str) -> String {
    let url = format!("{}/{kind}?name={name}", cloud.endpoints.identity);
    let body: Value = http().get(url).header("X-Auth-Token", admin).send().await.unwrap().json().await.unwrap();
    body[kind][0]["id"].as_str().unwrap_or_else(|| panic!("no {kind} named {name}: {body}")).to_owned()
}

/// `openstack role add --user <user> --project <project> <role>`, over Keystone's API.
pub async fn grant(cloud: &CloudHandle, user: &str, project: &str, role: &str) {
    let admin = token(cloud, "admin").await;
    let user_id = keystone_id(cloud, &admin, "users", user).await;
    let project_id = keystone_id(cloud, &admin, "projects", project).await;
    let role_id = keystone_id(cloud, &admin, "roles", role).await;
    let url = format!("{}/projects/{project_id}/users/{user_id}/roles/{role_id}", cloud.endpoints.identity);
    let r = http().put(url).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "grant {role} to {user} on {project}");
}

/// `POST /v1/secrets` that must succeed; returns the `secret_ref`.
pub async fn create(cloud: &CloudHandle, token: &str, body: Value) -> String {
    let r = http().post(secrets_url(cloud)).header("X-Auth-Token", token).json(&body).send().await.unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["secret_ref"].as_str().unwrap().to_owned()
}

pub fn text_secret(name: &str, payload: &str) -> Value {
    json!({"name": name, "payload": payload, "payload_content_type": "text/plain"})
}

pub fn uuid_of(secret_ref: &str) -> &str {
    secret_ref.rsplit('/').next().unwrap()
}

/// Checks a Barbican error: status, `application/json`, and the exact body.
pub async fn assert_error(r: reqwest::Response, status: u16, title: &str, description: &str) {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(r.headers()["content-type"], JSON);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"code": status, "title": title, "description": description}));
}

pub async fn assert_forbidden(r: reqwest::Response, operation: &str) {
    let message = format!("{operation} attempt not allowed - please review your user/project privileges");
    assert_error(r, 403, "Forbidden", &message).await;
}

/// An HTTP/1.1 exchange over a plain socket, for requests reqwest cannot make (no `Accept`).
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub async fn raw(method: &str, url: &str, headers: &[(&str, &str)]) -> Raw {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    Raw { status, headers, body: buf[split + 4..].to_vec() }
}

/// Replaces the cloud's Barbican URL and every UUID in a string.
fn redact_url(value: &str, base: &str) -> String {
    value
        .replace(base, "http://barbican")
        .split('/')
        .map(|segment| if uuid::Uuid::parse_str(segment).is_ok() { "[uuid]".to_owned() } else { segment.to_owned() })
        .collect::<Vec<_>>()
        .join("/")
}

/// Redactions for Barbican bodies: times, user ids, and refs (host, port, uuid).
pub fn redactions(cloud: &CloudHandle) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_sort_maps(true);
    for selector in [".**.created", ".**.updated"] {
        settings.add_redaction(selector, "[time]");
    }
    settings.add_redaction(".**.creator_id", "[user_id]");
    settings.add_redaction(".**.users[]", "[user_id]");
    for selector in [".**.secret_ref", ".**.acl_ref", ".**.href", ".next", ".previous"] {
        let base = cloud.endpoints.key_manager.clone();
        settings.add_redaction(
            selector,
            insta::dynamic_redaction(move |content, _| match content.as_str() {
                Some(s) => redact_url(s, &base),
                None => format!("{content:?}"),
            }),
        );
    }
    settings
}
