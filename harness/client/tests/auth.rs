//! Authentication as keystoneauth does it, against a Keystone stand-in: version discovery
//! for an auth URL without `/v3`, the request body of each auth type, and token renewal
//! (early, and once on a 401 with the request replayed when its body allows).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use sigstack_client::{AuthType, Credentials, Error, Session};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Keystone's token issue: `tok-1`, `tok-2`, ... each valid for `lifetime` seconds, with a
/// catalog whose image endpoint is the mock itself.
struct Tokens {
    issued: Arc<AtomicUsize>,
    base: String,
    lifetime: i64,
    bodies: Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Respond for Tokens {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        self.bodies.lock().unwrap().push(serde_json::from_slice(&request.body).unwrap_or(Value::Null));
        let expires = time::OffsetDateTime::now_utc() + time::Duration::seconds(self.lifetime);
        let expires = expires.format(&time::format_description::well_known::Rfc3339).unwrap();
        let endpoint = |interface: &str| json!({"id": interface, "interface": interface, "region_id": "RegionOne", "region": "RegionOne", "url": self.base});
        ResponseTemplate::new(201).insert_header("X-Subject-Token", format!("tok-{n}")).set_body_json(json!({"token": {
            "methods": ["password"], "expires_at": expires,
            "user": {"id": "u1", "name": "demo"}, "project": {"id": "p1", "name": "demo"},
            "roles": [{"id": "r1", "name": "member"}],
            "catalog": [{"type": "image", "name": "glance", "id": "g", "endpoints": [endpoint("public"), endpoint("internal")]}]}}))
    }
}

struct Keystone {
    server: MockServer,
    issued: Arc<AtomicUsize>,
    bodies: Arc<std::sync::Mutex<Vec<Value>>>,
}

async fn keystone(lifetime: i64) -> Keystone {
    let server = MockServer::start().await;
    let issued = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    // The unversioned root: a 300 with the v3 link, as Keystone serves it.
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(300).set_body_json(json!({"versions": {"values": [
            {"id": "v3.14", "status": "stable", "links": [{"rel": "self", "href": format!("{}/v3/", server.uri())}]}]}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/tokens"))
        .respond_with(Tokens { issued: issued.clone(), base: server.uri(), lifetime, bodies: bodies.clone() })
        .mount(&server)
        .await;
    Keystone { server, issued, bodies }
}

fn password(auth_url: String) -> Credentials {
    Credentials { auth_url, username: "demo".into(), password: "pw".into(), project_name: Some("demo".into()), ..Credentials::default() }
}

#[tokio::test]
async fn an_auth_url_without_v3_is_discovered() {
    let k = keystone(3600).await;
    let session = Session::authenticate(&password(k.server.uri())).await.unwrap();
    assert_eq!(session.token().value, "tok-1");
    assert_eq!(session.endpoint("image").unwrap(), k.server.uri());
    let requests = k.server.received_requests().await.unwrap();
    let paths: Vec<String> = requests.iter().map(|r| format!("{} {}", r.method, r.url.path())).collect();
    assert_eq!(paths, ["GET /", "POST /v3/auth/tokens"]);
    // A renewal goes straight to the discovered v3 URL.
    Mock::given(method("GET"))
        .and(path("/v2/images"))
        .and(header("X-Auth-Token", "tok-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&k.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/images"))
        .and(header("X-Auth-Token", "tok-2"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&k.server)
        .await;
    session.send(session.request(reqwest::Method::GET, &format!("{}/v2/images", k.server.uri()))).await.unwrap();
    let paths: Vec<String> = k.server.received_requests().await.unwrap().iter().map(|r| format!("{} {}", r.method, r.url.path())).collect();
    assert_eq!(paths, ["GET /", "POST /v3/auth/tokens", "GET /v2/images", "POST /v3/auth/tokens", "GET /v2/images"], "discovered once");
    // A version document without v3 is a clear error.
    let bare = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"versions": {"values": []}})))
        .mount(&bare)
        .await;
    let e = Session::authenticate(&password(bare.uri())).await.unwrap_err();
    assert!(e.to_string().contains("Could not find versioned identity endpoints"), "{e}");
}

#[tokio::test]
async fn each_auth_type_sends_keystoneauths_body() {
    let k = keystone(3600).await;
    let url = format!("{}/v3", k.server.uri());
    let app = Credentials {
        auth_type: AuthType::ApplicationCredential,
        application_credential_id: Some("ac".into()),
        application_credential_secret: Some("s3cret".into()),
        ..Credentials { auth_url: url.clone(), ..Credentials::default() }
    };
    Session::authenticate(&app).await.unwrap();
    let token = Credentials {
        auth_type: AuthType::Token,
        token: Some("given".into()),
        project_id: Some("p1".into()),
        auth_url: url,
        ..Credentials::default()
    };
    let session = Session::authenticate(&token).await.unwrap();
    let bodies = k.bodies.lock().unwrap().clone();
    assert_eq!(
        bodies[0],
        json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": "ac", "secret": "s3cret"}}}})
    );
    assert_eq!(
        bodies[1],
        json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "given"}}, "scope": {"project": {"id": "p1"}}}})
    );
    assert_eq!(session.token().value, "tok-2");
    // Missing options are configuration errors, before any request.
    let e = Session::authenticate(&Credentials { auth_type: AuthType::Token, ..password(k.server.uri()) }).await.unwrap_err();
    assert!(e.is_configuration() && e.to_string().contains("auth.token"), "{e}");
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_replays_the_request() {
    let k = keystone(3600).await;
    Mock::given(method("GET"))
        .and(path("/v2/images"))
        .and(header("X-Auth-Token", "tok-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&k.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/images"))
        .and(header("X-Auth-Token", "tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"images": []})))
        .mount(&k.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/images"))
        .and(header("X-Auth-Token", "tok-2"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&k.server)
        .await;
    let session = Session::authenticate(&password(format!("{}/v3", k.server.uri()))).await.unwrap();
    let clone = session.clone();
    let url = format!("{}/v2/images", session.endpoint("image").unwrap());
    let listed: Value = session.json(session.request(reqwest::Method::GET, &url)).await.unwrap();
    assert_eq!(listed, json!({"images": []}));
    assert_eq!(k.issued.load(Ordering::SeqCst), 2, "one renewal");
    assert_eq!(clone.token().value, "tok-2", "clones share the renewed token");
    assert!(
        clone.holds_token("tok-1") && clone.holds_token("tok-2") && !clone.holds_token("tok-9"),
        "a request built before the renewal is still known"
    );
    // Later requests, from any clone, go with the renewed token.
    let old = clone.request(reqwest::Method::POST, &url).json(&json!({"name": "x"}));
    clone.send(old).await.unwrap();
    assert_eq!(k.issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_streamed_body_is_not_replayed_and_a_second_401_is_returned() {
    let k = keystone(3600).await;
    Mock::given(method("PUT")).and(path("/v2/images/i/file")).respond_with(ResponseTemplate::new(401)).mount(&k.server).await;
    let session = Session::authenticate(&password(format!("{}/v3", k.server.uri()))).await.unwrap();
    let url = format!("{}/v2/images/i/file", k.server.uri());
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"data"))]);
    let e = session.send(session.request(reqwest::Method::PUT, &url).body(reqwest::Body::wrap_stream(stream))).await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    let puts = k.server.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "PUT").count();
    assert_eq!(puts, 1, "a stream cannot be sent twice");
    // A replayable request that still gets 401 after one renewal gives the 401.
    let e = session.send(session.request(reqwest::Method::PUT, &url).body("x")).await.unwrap_err();
    assert!(matches!(e, Error::Http { status: 401, .. }), "{e:?}");
    assert_eq!(k.issued.load(Ordering::SeqCst), 3, "renewed once per 401, never in a loop");
}

#[tokio::test]
async fn a_token_about_to_expire_is_renewed_before_the_request() {
    // keystoneauth renews within 30 s of expiry (half the lifetime of a token shorter-lived
    // than a minute): a 40 s token is stale after 20 s, one of 20.5 s is stale at once.
    let k = keystone(40).await;
    let fresh = Session::authenticate(&password(format!("{}/v3", k.server.uri()))).await.unwrap();
    fresh.send(fresh.request(reqwest::Method::GET, &format!("{}/v2/images", k.server.uri()))).await.unwrap_err();
    assert_eq!(k.issued.load(Ordering::SeqCst), 1, "a fresh 40 s token is used as it is");
    let k = keystone(2).await;
    Mock::given(method("GET"))
        .and(path("/v2/images"))
        .and(header("X-Auth-Token", "tok-2"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&k.server)
        .await;
    let session = Session::authenticate(&password(format!("{}/v3", k.server.uri()))).await.unwrap();
    assert!(session.token().seconds_left().unwrap() <= 2);
    // Past half of its 2 s life the token is stale.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let url = format!("{}/v2/images", k.server.uri());
    session.send(session.request(reqwest::Method::GET, &url)).await.unwrap();
    let gets: Vec<String> = k
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v2/images")
        .map(|r| r.headers.get("X-Auth-Token").unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(gets, ["tok-2"], "the stale token was never sent");
    // A session from someone else's token is never renewed.
    let given = Session::from_token(session.http().clone(), sigstack_client::Token { value: "theirs".into(), ..session.token() });
    let e = given.send(given.request(reqwest::Method::GET, &url)).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(k.issued.load(Ordering::SeqCst), 2);
}
