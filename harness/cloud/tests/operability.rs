//! What an operator of the simulated cloud relies on: the log (one line per request with its
//! request id, every 5xx with its cause, failed background work, never a token), every
//! service's `x-openstack-request-id`, a server build that hits a database failure ending in
//! ERROR, an upload cancelled by `/_sim/reset` answered 410, and stalled clients timed out.
//!
//! Failures are real: SQLite triggers added to the cloud's own database from outside make a
//! write fail the way a full disk would.

#[path = "nova_support/mod.rs"]
mod nova_support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use nova_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::image::{self, NewImage};
use sigstack_cloud::{CloudConfig, CloudHandle, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---- the log ----

/// Everything the cloud logged in this test binary (every test's clouds write here).
fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .init();
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_text() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

/// The log lines containing every one of `needles`.
fn lines_with(needles: &[&str]) -> Vec<String> {
    log_text().lines().filter(|l| needles.iter().all(|n| l.contains(n))).map(str::to_owned).collect()
}

/// Waits (the line of a request is written just after its answer) for exactly one line with
/// all of `needles`.
async fn the_line_with(needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = lines_with(needles);
        match lines.len() {
            1 => return lines[0].clone(),
            0 if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            _ => panic!("{} lines with {needles:?}:\n{}\n--- whole log:\n{}", lines.len(), lines.join("\n"), log_text()),
        }
    }
}

async fn logged_cloud(config: CloudConfig) -> CloudHandle {
    log_buffer();
    start(config).await.expect("cloud starts")
}

fn request_id(headers: &reqwest::header::HeaderMap) -> String {
    let id = headers.get("x-openstack-request-id").expect("x-openstack-request-id").to_str().unwrap().to_owned();
    assert!(id.starts_with("req-") && uuid::Uuid::parse_str(&id[4..]).is_ok(), "{id}");
    id
}

/// The cloud's database, to make its writes fail.
fn db(cloud: &CloudHandle) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(cloud.data_dir.join("sigstack.db")).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c
}

#[tokio::test]
async fn every_request_is_logged_with_its_request_id_and_no_secret() {
    let cloud = logged_cloud(CloudConfig::default()).await;
    let http = sigstack_client::session::http_client();
    let admin = Session::authenticate(&cloud.admin()).await.unwrap();
    let token = admin.token().value.clone();
    let project = admin.token().project.as_ref().unwrap().id.clone();
    // Keystone validating a token names it in X-Subject-Token, both ways.
    let r = http
        .get(format!("{}/auth/tokens", cloud.endpoints.identity))
        .header("X-Auth-Token", &token)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let keystone_id = request_id(r.headers());
    // A query string is never logged (it may carry anything).
    let r = http
        .get(format!("{}/v2/images?name=query-marker-1234", cloud.endpoints.image))
        .header("X-Auth-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let glance_id = request_id(r.headers());
    // Nova and Cinder answer with request ids too; Nova's also as x-compute-request-id.
    let r = http.get(format!("{}/v2.1/servers", cloud.endpoints.compute)).header("X-Auth-Token", &token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let nova_id = request_id(r.headers());
    assert_eq!(r.headers()["x-compute-request-id"].to_str().unwrap(), nova_id);
    let r = http.get(format!("{}/v3/{project}/volumes", cloud.endpoints.volume)).header("X-Auth-Token", &token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cinder_id = request_id(r.headers());
    assert!(r.headers().get("x-compute-request-id").is_none());
    // Errors too: Nova's 404 for an unknown route, Cinder's 401.
    let r = http.get(format!("{}/v2.1/nothing-here", cloud.endpoints.compute)).header("X-Auth-Token", &token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let nova_404 = request_id(r.headers());
    let r = http.get(format!("{}/v3/{project}/volumes", cloud.endpoints.volume)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let cinder_401 = request_id(r.headers());
    // Glance's 401 has none, as webob renders it before oslo's RequestId (parity), but it is
    // logged.
    let r = http.get(format!("{}/v2/images/no-token-marker", cloud.endpoints.image)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("x-openstack-request-id").is_none());

    let line = the_line_with(&[&keystone_id]).await;
    for part in ["INFO", "service=keystone", "method=GET", "path=/v3/auth/tokens", "status=200", "duration_ms="] {
        assert!(line.contains(part), "{part} in {line}");
    }
    let line = the_line_with(&[&glance_id]).await;
    assert!(line.contains("service=glance") && line.contains("path=/v2/images ") && line.contains("status=200"), "{line}");
    let line = the_line_with(&[&nova_id]).await;
    assert!(line.contains("service=nova") && line.contains("path=/v2.1/servers ") && line.contains("status=200"), "{line}");
    let line = the_line_with(&[&cinder_id]).await;
    assert!(line.contains("service=cinder") && line.contains(&format!("path=/v3/{project}/volumes ")), "{line}");
    assert!(the_line_with(&[&nova_404]).await.contains("status=404"));
    assert!(the_line_with(&[&cinder_401]).await.contains("status=401"));
    let line = the_line_with(&["path=/v2/images/no-token-marker"]).await;
    assert!(line.contains("status=401") && line.contains("request_id=req-"), "{line}");

    let log = log_text();
    assert!(!log.contains(&token), "a token in the log");
    assert!(!log.contains(&cloud.admin().password), "a password in the log");
    assert!(!log.contains(cloud.control_token()), "the control token in the log");
    assert!(!log.contains("query-marker-1234"), "a query string in the log");
}

#[tokio::test]
async fn a_5xx_is_logged_with_its_cause_and_the_client_gets_the_usual_body() {
    let cloud = logged_cloud(CloudConfig::default()).await;
    let admin = Session::authenticate(&cloud.admin()).await.unwrap();
    let token = admin.token().value.clone();
    db(&cloud)
        .execute_batch(
            "CREATE TRIGGER full_disk_glance BEFORE INSERT ON glance_images BEGIN SELECT RAISE(ABORT, 'simulated glance disk failure'); END;
             CREATE TRIGGER full_disk_barbican BEFORE INSERT ON barbican_secrets BEGIN SELECT RAISE(ABORT, 'simulated barbican disk failure'); END;",
        )
        .unwrap();
    let http = sigstack_client::session::http_client();

    // Glance: webob's generic 500.
    let r = http
        .post(format!("{}/v2/images", cloud.endpoints.image))
        .header("X-Auth-Token", &token)
        .header("Accept", "application/json")
        .json(&json!({"name": "doomed", "disk_format": "raw", "container_format": "bare"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = request_id(r.headers());
    let body = r.text().await.unwrap();
    assert!(body.contains("The server has either erred or is incapable of performing the requested operation."), "{body}");
    assert!(!body.contains("simulated"), "the cause reached the client: {body}");
    let line = the_line_with(&[&id]).await;
    for part in
        ["ERROR", "request failed", "service=glance", "method=POST", "path=/v2/images ", "status=500", "simulated glance disk failure"]
    {
        assert!(line.contains(part), "{part} in {line}");
    }

    // Barbican: its "failure seen" 500.
    let r = http
        .post(format!("{}/v1/secrets", cloud.endpoints.key_manager))
        .header("X-Auth-Token", &token)
        .json(&json!({"name": "doomed", "payload": "c2VjcmV0", "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = request_id(r.headers());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["description"], "Secret creation failure seen - please contact site administrator.");
    let line = the_line_with(&[&id]).await;
    assert!(line.contains("status=500") && line.contains("simulated barbican disk failure"), "{line}");

    // An injected fault names its origin.
    let r = cloud
        .control_http()
        .post(format!("{}/_sim/faults", cloud.endpoints.compute))
        .json(&json!({"service": "nova", "operation": "GET /v2.1/flavors", "action": {"fail": {"status": 503}}, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = http.get(format!("{}/v2.1/flavors", cloud.endpoints.compute)).header("X-Auth-Token", &token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let line = the_line_with(&[&request_id(r.headers())]).await;
    assert!(line.contains("status=503") && line.contains("injected by /_sim/faults"), "{line}");

    assert!(!log_text().contains(&token), "a token in the log");
}

#[tokio::test]
async fn a_store_failure_behind_a_4xx_is_logged_too() {
    let cloud = logged_cloud(CloudConfig::default()).await;
    let admin = Session::authenticate(&cloud.admin()).await.unwrap();
    // Token validation reads the revocations; without the table it fails, and
    // keystonemiddleware's answer is a 401 all the same.
    db(&cloud).execute_batch("ALTER TABLE keystone_revoked RENAME TO keystone_revoked_away").unwrap();
    let r = sigstack_client::session::http_client()
        .get(format!("{}/v2/images", cloud.endpoints.image))
        .header("X-Auth-Token", &admin.token().value)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let line = the_line_with(&["internal error behind a non-5xx answer", "service=glance", "keystone_revoked"]).await;
    assert!(line.contains("WARN") && line.contains("status=401"), "{line}");
    assert!(line.contains("validating a token: state database: no such table: keystone_revoked"), "{line}");
    db(&cloud).execute_batch("ALTER TABLE keystone_revoked_away RENAME TO keystone_revoked").unwrap();
    let r = sigstack_client::session::http_client()
        .get(format!("{}/v2/images", cloud.endpoints.image))
        .header("X-Auth-Token", &admin.token().value)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_whose_database_write_fails_ends_in_error_and_is_logged() {
    log_buffer();
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let admin = Session::authenticate(&cloud.admin()).await.unwrap();
    let image = image_with(&admin, "raw", "private", &image_bytes("raw", 1), &[]).await;
    // The build gets as far as the spawn; writing ACTIVE fails.
    db(&cloud)
        .execute_batch(
            "CREATE TRIGGER full_disk BEFORE UPDATE ON nova_servers WHEN json_extract(NEW.body, '$.vm_state') = 'active'
             BEGIN SELECT RAISE(ABORT, 'simulated nova disk failure'); END;",
        )
        .unwrap();
    let server = boot_and_settle(&admin, &image, None, None).await;
    assert_eq!(fault(&server), "StoreError");
    let details = server.fault.as_ref().unwrap().details.clone().unwrap_or_default();
    assert!(details.contains("simulated nova disk failure"), "{details}");
    let line = the_line_with(&["server operation failed on the state database", &server.id]).await;
    assert!(line.contains("ERROR") && line.contains("operation=build") && line.contains("simulated nova disk failure"), "{line}");

    // Without the failure the same boot goes through.
    db(&cloud).execute_batch("DROP TRIGGER full_disk").unwrap();
    assert_active(&boot_and_settle(&admin, &image, None, None).await);
}

// ---- an upload cancelled by /_sim/reset ----

#[tokio::test]
async fn an_upload_cancelled_by_reset_is_answered_410_and_leaves_nothing() {
    let cloud = logged_cloud(CloudConfig::default()).await;
    let admin = Session::authenticate(&cloud.admin()).await.unwrap();
    let new = NewImage {
        name: Some("in flight".into()),
        disk_format: Some("raw".into()),
        container_format: Some("bare".into()),
        ..NewImage::default()
    };
    let id = image::create_image(&admin, &new).await.unwrap().id;
    const CHUNK: usize = 64 << 10;
    const CHUNKS: usize = 8;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let upload = tokio::spawn(
        sigstack_client::session::http_client()
            .put(format!("{}/v2/images/{id}/file", cloud.endpoints.image))
            .header("X-Auth-Token", &admin.token().value)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", (CHUNK * CHUNKS).to_string())
            .body(reqwest::Body::wrap_stream(stream))
            .send(),
    );
    tx.send(Ok(Bytes::from(vec![7u8; CHUNK]))).await.unwrap();
    image::wait_for_status(&admin, &id, &["saving"], Duration::from_secs(10)).await.expect("the upload started");

    let r = cloud.control_http().post(format!("{}/_sim/reset", cloud.endpoints.image)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    for _ in 1..CHUNKS {
        tx.send(Ok(Bytes::from(vec![7u8; CHUNK]))).await.unwrap();
    }
    drop(tx);
    let answer = upload.await.unwrap().expect("an answer");
    assert_eq!(answer.status(), StatusCode::GONE);
    let request_id = request_id(answer.headers());
    let text = answer.text().await.unwrap();
    assert!(
        text.contains(&format!("Image {id} could not be found after upload. The image may have been deleted during the upload")),
        "{text}"
    );
    // Nothing half stored: no row, no image file, no temporary file.
    let resources: Value = cloud
        .control_http()
        .get(format!("{}/_sim/resources?service=glance", cloud.endpoints.image))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let glance = &resources["services"]["glance"];
    assert!(!glance["tables"]["glance_images"].to_string().contains(&id), "{glance}");
    let files = glance["files"].to_string();
    assert!(!files.contains(&id) && !files.contains(".upload-"), "{files}");
    let line = the_line_with(&[&request_id]).await;
    assert!(line.contains(&format!("path=/v2/images/{id}/file")) && line.contains("status=410"), "{line}");
}

// ---- stalled clients ----

/// The cloud with short timeouts.
async fn impatient_cloud() -> CloudHandle {
    logged_cloud(CloudConfig {
        header_read_timeout: Duration::from_millis(500),
        body_idle_timeout: Duration::from_millis(500),
        ..CloudConfig::default()
    })
    .await
}

/// Keystone's `host:port`.
fn keystone_addr(cloud: &CloudHandle) -> String {
    cloud.endpoints.identity.trim_start_matches("http://").trim_end_matches("/v3").to_owned()
}

/// Everything the server sends until it closes the connection (at most 10 s).
async fn read_to_close(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open: {}", String::from_utf8_lossy(&answer));
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

fn auth_body(cloud: &CloudHandle) -> String {
    let admin = cloud.admin();
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": admin.username, "domain": {"name": "Default"}, "password": admin.password}}},
        "scope": {"project": {"name": admin.project_name, "domain": {"name": "Default"}}}}})
    .to_string()
}

#[tokio::test]
async fn a_request_body_that_stalls_is_answered_408_and_the_connection_closed() {
    let cloud = impatient_cloud().await;
    let body = auth_body(&cloud);
    let mut stream = TcpStream::connect(keystone_addr(&cloud)).await.unwrap();
    let head = format!(
        "POST /v3/auth/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    let (answer, waited) = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(answer.contains("x-openstack-request-id: req-"), "{answer}");
    assert!(waited >= Duration::from_millis(450), "{waited:?}");
    let line = the_line_with(&["request timed out", "service=keystone", "status=408"]).await;
    assert!(line.contains("WARN") && line.contains("sent nothing for 500ms"), "{line}");

    // A body that keeps coming, slower in all than the timeout, is read to the end.
    let mut stream = TcpStream::connect(keystone_addr(&cloud)).await.unwrap();
    let head = head.replace("Host: 127.0.0.1", "Host: 127.0.0.1\r\nConnection: close");
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    for piece in body.as_bytes().chunks(body.len().div_ceil(5)) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        stream.write_all(piece).await.unwrap();
    }
    assert!(started.elapsed() > Duration::from_millis(1000));
    let (answer, _) = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
}

#[tokio::test]
async fn a_client_that_stalls_before_its_headers_end_is_disconnected() {
    let cloud = impatient_cloud().await;
    // Half a request: the request line and one header, never the blank line.
    let mut stream = TcpStream::connect(keystone_addr(&cloud)).await.unwrap();
    stream.write_all(b"GET /v3 HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    let (answer, waited) = read_to_close(&mut stream).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(waited >= Duration::from_millis(450) && waited < Duration::from_secs(5), "{waited:?}");
    // Nothing at all.
    let mut stream = TcpStream::connect(keystone_addr(&cloud)).await.unwrap();
    let (answer, waited) = read_to_close(&mut stream).await;
    assert_eq!(answer, "");
    assert!(waited >= Duration::from_millis(450) && waited < Duration::from_secs(5), "{waited:?}");
    // A prompt client is served as before.
    let r = sigstack_client::session::http_client().get(&cloud.endpoints.identity).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
