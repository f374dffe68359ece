//! The `/_sim/` control API over HTTP: reset, resources, and every fault action as a client
//! observes it. Keystone's routes carry the fault tests (they exist from the start); reset is
//! also checked against Barbican- and Glance-shaped state written straight into the store, so
//! the generic wipe is tested whatever those services' schemas turn out to be.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_cloud::{CloudConfig, CloudHandle, start};

async fn cloud() -> CloudHandle {
    start(CloudConfig::default()).await.expect("cloud starts")
}

fn http() -> reqwest::Client {
    sigstack_client::session::http_client()
}

/// Keystone's listener root (`http://127.0.0.1:PORT`).
fn root(cloud: &CloudHandle) -> String {
    cloud.endpoints.identity.trim_end_matches("/v3").to_owned()
}

async fn sim(cloud: &CloudHandle, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = cloud.control_http().request(method, format!("{}/_sim/{path}", root(cloud)));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("control API answers");
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

async fn add_fault(cloud: &CloudHandle, fault: Value) -> String {
    let (status, body) = sim(cloud, reqwest::Method::POST, "faults", Some(fault)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("fault id").to_owned()
}

async fn token(cloud: &CloudHandle, user: &str) -> String {
    Session::authenticate(&cloud.credentials(user).unwrap()).await.unwrap().token().value.clone()
}

async fn get_users(cloud: &CloudHandle, token: &str, query: &str) -> Result<reqwest::Response, reqwest::Error> {
    http().get(format!("{}/users{query}", cloud.endpoints.identity)).header("X-Auth-Token", token).send().await
}

fn auth_body(user: &str, password: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": user, "domain": {"name": "Default"}}}}})
}

async fn issue(cloud: &CloudHandle, user: &str) -> reqwest::Response {
    http()
        .post(format!("{}/auth/tokens", cloud.endpoints.identity))
        .json(&auth_body(user, &format!("{user}-password")))
        .send()
        .await
        .expect("an answer")
}

fn db(cloud: &CloudHandle) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(cloud.data_dir.join("sigstack.db")).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c
}

fn id_of(list: &Value, kind: &str, name: &str) -> String {
    list[kind].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap()["id"].as_str().unwrap().to_owned()
}

async fn list(cloud: &CloudHandle, token: &str, kind: &str) -> Value {
    http().get(format!("{}/{kind}", cloud.endpoints.identity)).header("X-Auth-Token", token).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn reset_restores_the_seeded_cloud() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let (users, projects, roles) =
        (list(&cloud, &admin, "users").await, list(&cloud, &admin, "projects").await, list(&cloud, &admin, "roles").await);
    let (demo, demo_project, creator) =
        (id_of(&users, "users", "demo"), id_of(&projects, "projects", "demo"), id_of(&roles, "roles", "creator"));
    let grant = format!("{}/projects/{demo_project}/users/{demo}/roles/{creator}", cloud.endpoints.identity);
    let r = http().put(&grant).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let demo_roles: Vec<String> =
        Session::authenticate(&cloud.demo()).await.unwrap().token().roles.iter().map(|r| r.name.clone()).collect();
    assert!(demo_roles.contains(&"creator".to_owned()));

    // A revoked token, a seeded user gone, and Barbican/Glance-shaped state: rows in their
    // tables (one referencing another) and an image file.
    let revoked = token(&cloud, "demo").await;
    let r = http()
        .delete(format!("{}/auth/tokens", cloud.endpoints.identity))
        .header("X-Auth-Token", &admin)
        .header("X-Subject-Token", &revoked)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    {
        let c = db(&cloud);
        c.execute("DELETE FROM keystone_users WHERE name = 'alt_demo'", []).unwrap();
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS barbican_test_secrets (id TEXT PRIMARY KEY, payload BLOB);
             INSERT INTO barbican_test_secrets VALUES ('s1', x'00ff');
             CREATE TABLE IF NOT EXISTS glance_test_images (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
             CREATE TABLE IF NOT EXISTS glance_test_members (image_id INTEGER NOT NULL REFERENCES glance_test_images(id), member TEXT);
             INSERT INTO glance_test_images (name) VALUES ('cirros');
             INSERT INTO glance_test_members VALUES (1, 'demo');",
        )
        .unwrap();
    }
    std::fs::create_dir_all(cloud.data_dir.join("images/staging")).unwrap();
    std::fs::write(cloud.data_dir.join("images/img-1"), b"image bytes").unwrap();
    std::fs::write(cloud.data_dir.join("images/staging/img-2"), b"half").unwrap();
    assert_eq!(issue(&cloud, "alt_demo").await.status(), StatusCode::UNAUTHORIZED);

    // Everything shows in the resources listing.
    let (status, res) = sim(&cloud, reqwest::Method::GET, "resources", None).await;
    assert_eq!(status, StatusCode::OK);
    let s = &res["services"];
    assert_eq!(s["barbican"]["tables"]["barbican_test_secrets"], json!([{"id": "s1", "payload": {"base64": "AP8="}}]));
    assert_eq!(s["glance"]["tables"]["glance_test_images"], json!([{"id": 1, "name": "cirros"}]));
    assert_eq!(s["glance"]["files"], json!([{"path": "images/img-1", "size": 11}, {"path": "images/staging/img-2", "size": 4}]));
    let names: Vec<&str> =
        s["keystone"]["tables"]["keystone_users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 3);
    assert!(!s["keystone"]["tables"]["keystone_revoked"].as_array().unwrap().is_empty());
    let (status, only) = sim(&cloud, reqwest::Method::GET, "resources?service=glance", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(only["services"].as_object().unwrap().keys().collect::<Vec<_>>(), ["glance"]);
    let (status, body) = sim(&cloud, reqwest::Method::GET, "resources?service=swift", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"error": "unknown service 'swift'"})));

    // Reset, through another service's listener: any listener serves the whole cloud.
    let fault = add_fault(&cloud, json!({"service": "keystone", "operation": "GET /v3/roles", "action": {"fail": {"status": 500}}})).await;
    let r = cloud.control_http().post(format!("{}/_sim/reset", cloud.endpoints.image)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["faults_cleared"], 1, "{report}");
    let deleted = &report["reset"]["sqlite glance_*"]["rows_deleted"];
    assert_eq!((deleted["glance_test_images"].clone(), deleted["glance_test_members"].clone()), (json!(1), json!(1)), "{report}");
    assert_eq!(report["reset"]["files glance"]["files_removed"], 2);
    assert!(!sim(&cloud, reqwest::Method::GET, "faults", None).await.1["faults"].as_array().unwrap().iter().any(|f| f["id"] == fault));

    // The grant, the revocation and the other services' state are gone; the seed is back.
    let (_, res) = sim(&cloud, reqwest::Method::GET, "resources", None).await;
    let s = &res["services"];
    assert_eq!(s["barbican"]["tables"]["barbican_test_secrets"], json!([]));
    assert_eq!(s["glance"]["tables"]["glance_test_members"], json!([]));
    assert_eq!(s["glance"]["files"], json!([]));
    assert!(cloud.data_dir.join("images/staging").is_dir(), "directories stay");
    assert_eq!(s["keystone"]["tables"]["keystone_revoked"], json!([]));
    let mut names: Vec<&str> =
        s["keystone"]["tables"]["keystone_users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["admin", "alt_demo", "demo", "instance-ha"]);
    assert_eq!(
        get_users(&cloud, &admin, "").await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "old tokens name users that no longer exist"
    );
    assert_eq!(issue(&cloud, "alt_demo").await.status(), StatusCode::CREATED);
    let demo_roles: Vec<String> =
        Session::authenticate(&cloud.demo()).await.unwrap().token().roles.iter().map(|r| r.name.clone()).collect();
    assert_eq!(demo_roles, ["member", "reader"]);
    let admin = token(&cloud, "admin").await;
    let r = http()
        .get(format!("{}/role_assignments?include_names=true", cloud.endpoints.identity))
        .header("X-Auth-Token", &admin)
        .send()
        .await
        .unwrap();
    let assignments: Value = r.json().await.unwrap();
    assert!(!assignments["role_assignments"].as_array().unwrap().iter().any(|a| a["role"]["name"] == "creator"));
    // AUTOINCREMENT counters restart too.
    db(&cloud).execute("INSERT INTO glance_test_images (name) VALUES ('again')", []).unwrap();
    let id: i64 = db(&cloud).query_row("SELECT id FROM glance_test_images", [], |r| r.get(0)).unwrap();
    assert_eq!(id, 1);
}

#[tokio::test]
async fn fail_answers_the_exact_status_body_and_headers() {
    let cloud = cloud().await;
    let id = add_fault(&cloud, json!({
        "service": "keystone", "operation": "POST /v3/auth/tokens",
        "action": {"fail": {"status": 503, "body": {"error": {"code": 503, "message": "down for maintenance"}}, "headers": {"Retry-After": "7"}}},
    }))
    .await;
    assert!(id.starts_with("fault-"));
    let r = issue(&cloud, "demo").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.text().await.unwrap(), r#"{"error":{"code":503,"message":"down for maintenance"}}"#);
    // The typed client reports it as an HTTP failure with the body's message.
    let e = Session::authenticate(&cloud.demo()).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(e.to_string().ends_with("returned 503: down for maintenance"), "{e}");

    // A text body, on another operation; the token route keeps failing (no `times`).
    add_fault(
        &cloud,
        json!({"service": "keystone", "operation": "GET /v3/users", "action": {"fail": {"status": 418, "body": "short and stout"}}}),
    )
    .await;
    let r = get_users(&cloud, "any", "").await.unwrap();
    assert_eq!(r.status().as_u16(), 418);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.text().await.unwrap(), "short and stout");
    assert_eq!(issue(&cloud, "demo").await.status(), StatusCode::SERVICE_UNAVAILABLE);

    let (_, listed) = sim(&cloud, reqwest::Method::GET, "faults", None).await;
    let f = listed["faults"].as_array().unwrap().iter().find(|f| f["id"] == id).unwrap().clone();
    assert_eq!(
        f,
        json!({
            "id": id, "service": "keystone", "operation": "POST /v3/auth/tokens",
            "action": {"fail": {"status": 503, "body": {"error": {"code": 503, "message": "down for maintenance"}}, "headers": {"Retry-After": "7"}}},
            "times": null, "remaining": null, "hits": 3, "armed": true, "match": null,
        })
    );
}

#[tokio::test]
async fn delay_holds_the_call_then_runs_it() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    add_fault(&cloud, json!({"service": "keystone", "operation": "GET /v3/users", "action": {"delay_ms": 400}, "times": 1})).await;
    let started = Instant::now();
    let r = get_users(&cloud, &admin, "").await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(r.status(), StatusCode::OK, "a delayed call proceeds normally");
    let users: Value = r.json().await.unwrap();
    assert_eq!(users["users"].as_array().unwrap().len(), 4);
    assert!(elapsed >= Duration::from_millis(400), "answered after {elapsed:?}");
    let started = Instant::now();
    assert_eq!(get_users(&cloud, &admin, "").await.unwrap().status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(400), "disarmed after one call");
}

#[tokio::test]
async fn drop_connection_is_a_transport_error() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    // Three: one for the raw call, two for sigstack_client (a GET is retried once).
    add_fault(&cloud, json!({"service": "keystone", "operation": "GET /v3/users", "action": {"drop_connection": true}, "times": 3})).await;
    let e = get_users(&cloud, &admin, "").await.expect_err("no HTTP answer at all");
    assert!(e.status().is_none() && e.is_request(), "{e:?}");
    // hyper: "connection closed before message completed", with no byte of an answer.
    assert!(format!("{e:?}").contains("IncompleteMessage"), "{e:?}");
    // sigstack_client sees the same after its one retry: a transport failure, not a status.
    let session = Session::authenticate(&cloud.admin()).await.unwrap();
    let url = format!("{}/users", cloud.endpoints.identity);
    let e = session.send(session.request(reqwest::Method::GET, &url)).await.unwrap_err();
    assert!(matches!(e, sigstack_client::Error::Transport { .. }), "{e:?}");
    // The connection pool recovers: the next call (fault disarmed) gets an answer.
    assert_eq!(get_users(&cloud, &admin, "").await.unwrap().status(), StatusCode::OK);

    // On the wire: the server closes the socket without writing a single byte.
    add_fault(&cloud, json!({"service": "keystone", "operation": "GET /v3", "action": {"drop_connection": true}})).await;
    let addr = root(&cloud).trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    socket.write_all(b"GET /v3 HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut received)).await.expect("closed, not hanging");
    assert!(read.is_err() || received.is_empty(), "got {:?}", String::from_utf8_lossy(&received));
}

#[tokio::test]
async fn times_disarms_after_n_calls() {
    let cloud = cloud().await;
    let id = add_fault(
        &cloud,
        json!({"service": "keystone", "operation": "POST /v3/auth/tokens", "action": {"fail": {"status": 500}}, "times": 2}),
    )
    .await;
    assert_eq!(issue(&cloud, "demo").await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let (_, listed) = sim(&cloud, reqwest::Method::GET, "faults", None).await;
    assert_eq!((listed["faults"][0]["remaining"].clone(), listed["faults"][0]["hits"].clone()), (json!(1), json!(1)));
    assert_eq!(issue(&cloud, "demo").await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(issue(&cloud, "demo").await.status(), StatusCode::CREATED);
    assert_eq!(issue(&cloud, "demo").await.status(), StatusCode::CREATED);
    let (_, listed) = sim(&cloud, reqwest::Method::GET, "faults", None).await;
    let f = &listed["faults"][0];
    assert_eq!(
        (f["id"].as_str().unwrap(), f["times"].clone(), f["remaining"].clone(), f["hits"].clone(), f["armed"].clone()),
        (id.as_str(), json!(2), json!(0), json!(2), json!(false))
    );
}

#[tokio::test]
async fn wildcards_services_and_matchers() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    // Another service's fault leaves Keystone alone.
    add_fault(&cloud, json!({"service": "barbican", "operation": "* *", "action": {"fail": {"status": 502}}})).await;
    assert_eq!(get_users(&cloud, &admin, "").await.unwrap().status(), StatusCode::OK);
    // Placeholder names do not matter; a concrete path matches its template too.
    add_fault(&cloud, json!({"service": "keystone", "operation": "GET /v3/users/{user_id}", "action": {"fail": {"status": 409}}})).await;
    assert_eq!(get_users(&cloud, &admin, "/abc").await.unwrap().status(), StatusCode::CONFLICT);
    assert_eq!(get_users(&cloud, &admin, "").await.unwrap().status(), StatusCode::OK);
    // Header and query conditions.
    add_fault(
        &cloud,
        json!({"service": "keystone", "operation": "GET /v3/users", "action": {"fail": {"status": 429}},
        "match": {"query": {"name": "demo"}, "header": {"x-test": true}}}),
    )
    .await;
    let with_header = |q: &'static str| {
        http().get(format!("{}/users{q}", cloud.endpoints.identity)).header("X-Auth-Token", &admin).header("X-Test", "1").send()
    };
    assert_eq!(with_header("?name=demo").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(with_header("?name=admin").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get_users(&cloud, &admin, "?name=demo").await.unwrap().status(), StatusCode::OK, "header absent");
    // Method wildcard with a path glob, on every service.
    add_fault(&cloud, json!({"service": "*", "operation": "* /v3/role*", "action": {"fail": {"status": 507}}})).await;
    let r = http().get(format!("{}/roles", cloud.endpoints.identity)).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    let r = http().get(format!("{}/role_assignments", cloud.endpoints.identity)).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    // Everything, everywhere: the control API itself still answers.
    add_fault(&cloud, json!({"service": "*", "operation": "*", "action": {"drop_connection": true}})).await;
    assert!(get_users(&cloud, &admin, "").await.is_err());
    let (status, listed) = sim(&cloud, reqwest::Method::GET, "faults", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["faults"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn delete_one_and_all() {
    let cloud = cloud().await;
    let a =
        add_fault(&cloud, json!({"service": "keystone", "operation": "POST /v3/auth/tokens", "action": {"fail": {"status": 500}}})).await;
    let b = add_fault(&cloud, json!({"service": "keystone", "operation": "GET /v3", "action": {"fail": {"status": 500}}})).await;
    assert_eq!(sim(&cloud, reqwest::Method::DELETE, &format!("faults/{a}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(issue(&cloud, "demo").await.status(), StatusCode::CREATED);
    let (status, body) = sim(&cloud, reqwest::Method::DELETE, &format!("faults/{a}"), None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"error": format!("no fault '{a}'")})));
    let (_, listed) = sim(&cloud, reqwest::Method::GET, "faults", None).await;
    assert_eq!(listed["faults"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect::<Vec<_>>(), [b.as_str()]);
    assert_eq!(http().get(&cloud.endpoints.identity).send().await.unwrap().status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(sim(&cloud, reqwest::Method::DELETE, "faults", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(sim(&cloud, reqwest::Method::GET, "faults", None).await.1, json!({"faults": []}));
    assert_eq!(http().get(&cloud.endpoints.identity).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_fault_requests_are_400s() {
    let cloud = cloud().await;
    let bad = [
        (
            json!({"service": "keystone", "operation": "GET /v3", "action": {"fail": {"status": 99}}}),
            "fail.status must be an HTTP status (100-599), not 99",
        ),
        (
            json!({"service": "swift", "operation": "GET /v3", "action": {"delay_ms": 1}}),
            "unknown service 'swift'; one of barbican, cinder, glance, keystone, neutron, nova or '*'",
        ),
        (
            json!({"service": "keystone", "operation": "/v3", "action": {"delay_ms": 1}}),
            "operation must be 'METHOD /path/template' (either may be '*'), not '/v3'",
        ),
        (json!({"service": "keystone", "operation": "GET /v3", "action": {"drop_connection": false}}), "drop_connection must be true"),
        (
            json!({"service": "keystone", "operation": "GET /v3", "action": {"delay_ms": 1}, "times": 0}),
            "times must be at least 1 (leave it out for a fault that stays armed)",
        ),
        (
            json!({"service": "keystone", "operation": "GET /v3", "action": {"fail": {"status": 500, "headers": {"bad header": "x"}}}}),
            "fail.headers: invalid header 'bad header: x'",
        ),
    ];
    for (fault, message) in bad {
        let (status, body) = sim(&cloud, reqwest::Method::POST, "faults", Some(fault)).await;
        assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"error": format!("invalid fault: {message}")})));
    }
    for fault in [
        json!({"service": "keystone", "operation": "GET /v3", "action": {"explode": true}}),
        json!({"operation": "GET /v3", "action": {"delay_ms": 1}}),
        json!([1]),
    ] {
        let (status, body) = sim(&cloud, reqwest::Method::POST, "faults", Some(fault)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"].as_str().unwrap().starts_with("invalid fault: "), "{body}");
    }
    let r = cloud
        .control_http()
        .post(format!("{}/_sim/faults", root(&cloud)))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim(&cloud, reqwest::Method::GET, "faults", None).await.1, json!({"faults": []}));
}

const CERT: &str = include_str!("../../../fixtures/pki/chain/client.crt.pem");

/// Stores the chain's client certificate as `session`'s user; returns its uuid.
async fn store_certificate(cloud: &CloudHandle, session: &Session) -> String {
    use base64::Engine as _;
    let body = json!({"name": "Client", "secret_type": "certificate", "payload_content_type": "application/octet-stream",
        "payload_content_encoding": "base64", "payload": base64::engine::general_purpose::STANDARD.encode(CERT)});
    let url = format!("{}/v1/secrets", cloud.endpoints.key_manager);
    let r: Value = session.json(session.request(reqwest::Method::POST, &url).json(&body)).await.expect("secret stored");
    sigstack_client::key_manager::secret_uuid(r["secret_ref"].as_str().unwrap()).to_owned()
}

async fn create_image(cloud: &CloudHandle, session: &Session) -> String {
    let url = format!("{}/v2/images", cloud.endpoints.image);
    let body = json!({"name": "img", "disk_format": "raw", "container_format": "bare"});
    let r: Value = session.json(session.request(reqwest::Method::POST, &url).json(&body)).await.expect("image created");
    r["id"].as_str().unwrap().to_owned()
}

async fn upload(cloud: &CloudHandle, session: &Session, id: &str, data: &[u8]) -> Result<reqwest::Response, sigstack_client::Error> {
    let url = format!("{}/v2/images/{id}/file", cloud.endpoints.image);
    session.send(session.request(reqwest::Method::PUT, &url).header("Content-Type", "application/octet-stream").body(data.to_vec())).await
}

async fn image_status(cloud: &CloudHandle, session: &Session, id: &str) -> Result<String, sigstack_client::Error> {
    let url = format!("{}/v2/images/{id}", cloud.endpoints.image);
    let image: Value = session.json(session.request(reqwest::Method::GET, &url)).await?;
    Ok(image["status"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn reset_removes_secrets_and_images_created_over_http() {
    let cloud = cloud().await;
    let admin = Session::authenticate(&cloud.admin()).await.unwrap();
    let uuid = store_certificate(&cloud, &admin).await;
    let image = create_image(&cloud, &admin).await;
    upload(&cloud, &admin, &image, b"sixteen bytes..!").await.expect("upload");
    assert_eq!(image_status(&cloud, &admin, &image).await.unwrap(), "active");

    let (_, res) = sim(&cloud, reqwest::Method::GET, "resources", None).await;
    let s = &res["services"];
    let secrets = s["barbican"]["tables"]["barbican_secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 1);
    assert!(secrets[0].as_object().unwrap().values().any(|v| v == &json!(uuid)), "{}", secrets[0]);
    assert_eq!(s["glance"]["tables"]["glance_images"].as_array().unwrap().len(), 1);
    let files = s["glance"]["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f["size"] == 16 && f["path"].as_str().unwrap().contains(&image)), "{files:?}");

    let (status, _) = sim(&cloud, reqwest::Method::POST, "reset", None).await;
    assert_eq!(status, StatusCode::OK);
    let admin = Session::authenticate(&cloud.admin()).await.unwrap();
    let e = sigstack_client::key_manager::get_secret(&admin, &uuid).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(image_status(&cloud, &admin, &image).await.unwrap_err().status(), Some(404));
    let (_, res) = sim(&cloud, reqwest::Method::GET, "resources", None).await;
    let s = &res["services"];
    assert_eq!(s["barbican"]["tables"]["barbican_secrets"], json!([]));
    assert_eq!(s["glance"]["tables"]["glance_images"], json!([]));
    assert_eq!(s["glance"]["files"], json!([]));
    // The services work on after the wipe.
    let image = create_image(&cloud, &admin).await;
    upload(&cloud, &admin, &image, b"again").await.expect("upload after reset");
    assert_eq!(image_status(&cloud, &admin, &image).await.unwrap(), "active");
}

#[tokio::test]
async fn barbican_faults_reach_castellan_style_retrieval() {
    use sigstack_client::key_manager::get_certificate;
    let cloud = cloud().await;
    let admin = Session::authenticate(&cloud.admin()).await.unwrap();
    let uuid = store_certificate(&cloud, &admin).await;
    get_certificate(&admin, &uuid).await.expect("retrievable");
    // A 5xx on the payload is "Unable to retrieve", a 404 "Certificate not found", as cursive says.
    add_fault(&cloud, json!({"service": "barbican", "operation": "GET /v1/secrets/{id}/payload",
        "action": {"fail": {"status": 503, "body": {"code": 503, "title": "Service Unavailable", "description": "maintenance"}}}, "times": 1})).await;
    let e = get_certificate(&admin, &uuid).await.unwrap_err();
    assert_eq!(e.to_string(), format!("Signature verification for the image failed: Unable to retrieve certificate with ID: {uuid}."));
    add_fault(&cloud, json!({"service": "barbican", "operation": "GET /v1/secrets/{id}", "action": {"fail": {"status": 404}}, "times": 1}))
        .await;
    let e = get_certificate(&admin, &uuid).await.unwrap_err();
    assert_eq!(e.to_string(), format!("Signature verification for the image failed: Certificate not found with ID: {uuid}."));
    get_certificate(&admin, &uuid).await.expect("both faults disarmed");
}

#[tokio::test]
async fn a_dropped_glance_upload_leaves_the_image_not_active() {
    let cloud = cloud().await;
    let admin = Session::authenticate(&cloud.admin()).await.unwrap();
    let image = create_image(&cloud, &admin).await;
    add_fault(
        &cloud,
        json!({"service": "glance", "operation": "PUT /v2/images/{image_id}/file", "action": {"drop_connection": true}, "times": 1}),
    )
    .await;
    let e = upload(&cloud, &admin, &image, &[7u8; 100_000]).await.unwrap_err();
    assert!(matches!(e, sigstack_client::Error::Transport { .. }), "{e:?}");
    assert_eq!(image_status(&cloud, &admin, &image).await.unwrap(), "queued");
    upload(&cloud, &admin, &image, &[7u8; 100_000]).await.expect("the retry goes through");
    assert_eq!(image_status(&cloud, &admin, &image).await.unwrap(), "active");
}

/// `/_sim/resources` never shows a secret: Barbican payloads, the token-signing key and the
/// password hashes are there as `{"redacted": true, "bytes": N}`.
#[tokio::test]
async fn the_resources_dump_never_shows_secrets() {
    let cloud = start(CloudConfig::default()).await.unwrap();
    let admin = Session::authenticate(&cloud.admin()).await.unwrap();
    let payload = b"-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n";
    let stored =
        sigstack_client::key_manager::create_secret(&admin, &sigstack_client::key_manager::NewSecret::certificate("dump", payload))
            .await
            .unwrap();
    let dump = cloud.control_http().get(format!("{}/_sim/resources", cloud.endpoints.image)).send().await.unwrap().text().await.unwrap();
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, payload);
    assert!(!dump.contains("not really") && !dump.contains(&encoded[..40]), "payload in the dump");
    let dump: Value = serde_json::from_str(&dump).unwrap();
    let secrets = dump["services"]["barbican"]["tables"]["barbican_secrets"].as_array().unwrap();
    let row = secrets.iter().find(|s| stored.ends_with(s["id"].as_str().unwrap())).expect("the secret's row");
    assert_eq!(row["payload"], json!({"redacted": true, "bytes": payload.len()}));
    assert_eq!(row["name"], "dump", "the other columns are shown");
}

/// `/_sim/` answers only an admin's Keystone token or the control token: no token, a bad one
/// and a member's are refused on every listener and route (Nova's node routes included), and a
/// refused change changes nothing.
#[tokio::test]
async fn only_admins_and_the_control_token_reach_the_control_api() {
    let cloud = cloud().await;
    let (admin, demo) = (token(&cloud, "admin").await, token(&cloud, "demo").await);
    let deployment = || format!("{}/_sim/deployment", cloud.endpoints.volume);
    let routes = [
        (reqwest::Method::GET, format!("{}/_sim/resources", cloud.endpoints.key_manager)),
        (reqwest::Method::POST, format!("{}/_sim/reset", root(&cloud))),
        (reqwest::Method::GET, format!("{}/_sim/faults", cloud.endpoints.image)),
        (reqwest::Method::DELETE, format!("{}/_sim/faults", cloud.endpoints.image)),
        (reqwest::Method::GET, deployment()),
        (reqwest::Method::POST, format!("{}/_sim/compute/nodes/compute-a/fail", cloud.endpoints.compute)),
        (reqwest::Method::GET, format!("{}/_sim/compute/nodes", cloud.endpoints.compute)),
        (reqwest::Method::GET, format!("{}/_sim/service", cloud.endpoints.volume)),
    ];
    for (method, url) in &routes {
        for (token, status) in
            [(None, StatusCode::UNAUTHORIZED), (Some("not-a-token"), StatusCode::UNAUTHORIZED), (Some(&demo[..]), StatusCode::FORBIDDEN)]
        {
            let mut request = http().request(method.clone(), url);
            if let Some(t) = token {
                request = request.header("X-Auth-Token", t);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), status, "{method} {url} with {token:?}");
            let body: Value = r.json().await.unwrap();
            assert!(body["error"].as_str().unwrap().starts_with("The /_sim/ control API"), "{body}");
        }
    }
    let nodes = cloud.control_http().get(format!("{}/_sim/compute/nodes", cloud.endpoints.compute)).send().await.unwrap();
    let nodes: Value = nodes.json().await.unwrap();
    assert!(nodes.to_string().contains("\"up\"") && !nodes.to_string().contains("\"down\""), "no refused call failed a node: {nodes}");

    // An admin's token works, as does the control token; neither is ever echoed back.
    let r = http().get(deployment()).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let dump = cloud.control_http().get(format!("{}/_sim/resources", root(&cloud))).send().await.unwrap();
    assert_eq!(dump.status(), StatusCode::OK);
    let dump = dump.text().await.unwrap();
    assert!(!dump.contains(cloud.control_token()), "the control token is not in the dump");
}

/// A web page can POST `text/plain` or a form cross-site without a preflight: the control API
/// takes JSON only, so such a request changes nothing even when it carries a valid token.
#[tokio::test]
async fn the_control_api_refuses_bodies_that_are_not_json() {
    let cloud = cloud().await;
    let url = format!("{}/_sim/deployment", cloud.endpoints.image);
    let patch = r#"{"nova": {"glance": {"verify_glance_signatures": true}}}"#;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), None] {
        let mut request = cloud.control_http().patch(&url).body(patch);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "The /_sim/ control API takes JSON bodies only (Content-Type: application/json).");
    }
    assert!(!cloud.deployment.get().nova_verify_glance_signatures(), "nothing was changed");
    let r = cloud.control_http().patch(&url).header("Content-Type", "application/json; charset=utf-8").body(patch).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(cloud.deployment.get().nova_verify_glance_signatures());
    // A reset needs no body at all.
    let r = cloud.control_http().post(format!("{}/_sim/reset", cloud.endpoints.image)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!cloud.deployment.get().nova_verify_glance_signatures());
}

/// The control token is chosen per cloud unless configured.
#[tokio::test]
async fn each_cloud_has_its_own_control_token_unless_given_one() {
    let (a, b) = (cloud().await, cloud().await);
    assert_ne!(a.control_token(), b.control_token());
    assert_eq!(a.control_token().len(), 64);
    let given = start(CloudConfig { control_token: Some("operator-chosen".into()), ..CloudConfig::default() }).await.unwrap();
    assert_eq!(given.control_token(), "operator-chosen");
    let r = http().get(format!("{}/_sim/faults", given.endpoints.image)).header("X-Auth-Token", "operator-chosen").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http().get(format!("{}/_sim/faults", given.endpoints.image)).header("X-Auth-Token", a.control_token()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "another cloud's token");
}

/// The dump streams a page of rows at a time: a table of many pages comes out whole and in
/// order, each service alone with `?service=`, and an unknown service is a 404 before any row.
#[tokio::test(flavor = "multi_thread")]
async fn the_resources_dump_streams_every_row_of_big_tables() {
    let cloud = cloud().await;
    {
        let c = db(&cloud);
        c.execute_batch("CREATE TABLE barbican_dumptest (id INTEGER PRIMARY KEY, note TEXT)").unwrap();
        let tx = c.unchecked_transaction().unwrap();
        for i in 0..2000 {
            tx.execute("INSERT INTO barbican_dumptest (id, note) VALUES (?1, ?2)", rusqlite::params![i, format!("row {i} \"quoted\"")])
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let http = cloud.control_http();
    let dump: Value = http.get(format!("{}/_sim/resources", root(&cloud))).send().await.unwrap().json().await.unwrap();
    let rows = dump["services"]["barbican"]["tables"]["barbican_dumptest"].as_array().unwrap();
    assert_eq!(rows.len(), 2000);
    assert!(rows.iter().enumerate().all(|(i, r)| r["id"] == i && r["note"] == format!("row {i} \"quoted\"")));
    assert!(dump["services"]["keystone"]["tables"]["keystone_users"].as_array().is_some_and(|u| !u.is_empty()));
    assert!(dump["services"]["glance"]["files"].is_array(), "files listed beside the tables: {}", dump["services"]["glance"]);

    let only: Value = http.get(format!("{}/_sim/resources?service=barbican", root(&cloud))).send().await.unwrap().json().await.unwrap();
    assert_eq!(only["services"].as_object().unwrap().keys().collect::<Vec<_>>(), ["barbican"]);
    assert_eq!(only["services"]["barbican"]["tables"]["barbican_dumptest"].as_array().unwrap().len(), 2000);
    let r = http.get(format!("{}/_sim/resources?service=nope", root(&cloud))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unknown service 'nope'");
}
