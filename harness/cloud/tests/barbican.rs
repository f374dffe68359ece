//! Simulated Barbican over HTTP: discovery, microversions, secrets, payloads and their
//! `Accept` rules, validation messages, listing, and the error shapes.

mod barbican_common;

use barbican_common::*;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PEM: &[u8] = include_bytes!("../../../fixtures/pki/chain/client.crt.pem");

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn version_discovery() {
    let cloud = cloud().await;
    let root = format!("{}/", cloud.endpoints.key_manager);

    // What python-barbicanclient sends: microversion 1.1 → the microversion document.
    let r = http().get(&root).header("OpenStack-API-Version", "key-manager 1.1").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::MULTIPLE_CHOICES);
    assert_eq!(r.headers()["openstack-api-version"], "key-manager 1.1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["versions"][0]["links"][0]["href"], format!("{}/v1/", cloud.endpoints.key_manager));
    redactions(&cloud).bind(|| insta::assert_json_snapshot!("versions_1_1", body));

    // No header is microversion 1.0: the older "stable" document.
    let r = http().get(&root).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::MULTIPLE_CHOICES);
    assert_eq!(r.headers()["openstack-api-version"], "key-manager 1.0");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["versions"]["values"][0]["status"], "stable");
    redactions(&cloud).bind(|| insta::assert_json_snapshot!("versions_1_0", body));

    // `latest` is 1.2; an unknown version is refused.
    let r = http().get(&root).header("OpenStack-API-Version", "key-manager latest").send().await.unwrap();
    assert_eq!(r.headers()["openstack-api-version"], "key-manager 1.2");
    let r = http().get(&root).header("OpenStack-API-Version", "key-manager 1.3").send().await.unwrap();
    assert_error(r, 406, "Not Acceptable", "Invalid microversion: Unacceptable version header: 1.3").await;

    // /v1 sits behind keystonemiddleware.
    let v1 = format!("{}/v1", cloud.endpoints.key_manager);
    let r = http().get(&v1).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["message"], "The request you have made requires authentication.");
    let admin = token(&cloud, "admin").await;
    let r = http().get(&v1).header("X-Auth-Token", &admin).header("OpenStack-API-Version", "key-manager 1.1").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["version"]["status"], "CURRENT");
    assert_eq!(body["version"]["max_version"], "1.2");
    let r = http().post(&root).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn create_and_read_metadata() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let body = json!({
        "name": "  cert  ", "secret_type": "certificate", "algorithm": "RSA", "bit_length": 2048, "mode": "cbc",
        "expiration": "2099-12-31T23:59:59.5+01:00",
        "payload": b64(PEM), "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64",
    });
    let r = http().post(secrets_url(&cloud)).header("X-Auth-Token", &admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = r.json().await.unwrap();
    let secret_ref = created["secret_ref"].as_str().unwrap();
    assert_eq!(location, secret_ref);
    let uuid = secret_ref.strip_prefix(&format!("{}/v1/secrets/", cloud.endpoints.key_manager)).unwrap();
    assert_eq!(uuid::Uuid::parse_str(uuid).unwrap().get_version_num(), 4);

    for accept in ["application/json", "*/*"] {
        let r = http().get(secret_ref).header("X-Auth-Token", &admin).header("Accept", accept).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{accept}");
        assert_eq!(r.headers()["openstack-api-version"], "key-manager 1.0");
        let meta: Value = r.json().await.unwrap();
        assert_eq!(meta["name"], "cert");
        assert_eq!(meta["expiration"], "2099-12-31T22:59:59.500000");
        assert_eq!(meta["content_types"], json!({"default": "application/octet-stream"}));
        assert!(meta.get("consumers").is_none());
        assert_eq!(meta["creator_id"], session(&cloud, "admin").await.token().user.id);
        redactions(&cloud).bind(|| insta::assert_json_snapshot!("metadata", meta));
    }
    // No Accept header at all is metadata too.
    let r = raw("GET", secret_ref, &[("X-Auth-Token", &admin)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap()["secret_type"], "certificate");

    // Microversion 1.1 adds consumers and is answered back.
    let r = http().get(secret_ref).header("X-Auth-Token", &admin).header("OpenStack-API-Version", "key-manager 1.1").send().await.unwrap();
    assert_eq!(r.headers()["openstack-api-version"], "key-manager 1.1");
    let meta: Value = r.json().await.unwrap();
    assert_eq!(meta["consumers"], json!([]));

    // Payload: the PEM bytes back, exactly.
    let r = http()
        .get(format!("{secret_ref}/payload"))
        .header("X-Auth-Token", &admin)
        .header("Accept", "application/octet-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap(), PEM);

    // Defaults: opaque, no name, no expiration, no content_types without payload.
    let bare = create(&cloud, &admin, json!({})).await;
    let meta: Value = http().get(&bare).header("X-Auth-Token", &admin).send().await.unwrap().json().await.unwrap();
    assert_eq!((meta["secret_type"].as_str(), meta["status"].as_str()), (Some("opaque"), Some("ACTIVE")));
    assert!(meta["name"].is_null() && meta["expiration"].is_null() && meta["bit_length"].is_null());
    assert!(meta.get("content_types").is_none());
}

#[tokio::test]
async fn payload_accept_rules() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let octet = |payload: &[u8]| json!({"payload": b64(payload), "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64"});
    let pem = create(&cloud, &admin, octet(PEM)).await;
    let binary = create(&cloud, &admin, octet(&[0xff, 0x00, 0xfe])).await;
    let text = create(&cloud, &admin, text_secret("t", "  hello\n")).await;
    let get = |url: String, accept: &'static str| {
        let admin = admin.clone();
        async move { http().get(url).header("X-Auth-Token", admin).header("Accept", accept).send().await.unwrap() }
    };

    // No Accept: application/octet-stream.
    let r = raw("GET", &format!("{pem}/payload"), &[("X-Auth-Token", &admin)]).await;
    assert_eq!((r.status, r.header("content-type")), (200, Some("application/octet-stream")));
    assert_eq!(r.body, PEM);
    // */* answers the stored type.
    let r = get(format!("{text}/payload"), "*/*").await;
    assert_eq!(r.headers()["content-type"], "text/plain; charset=UTF-8");
    assert_eq!(r.text().await.unwrap(), "hello", "Barbican strips JSON strings");
    let r = get(format!("{pem}/payload"), "*/*").await;
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    // A UTF-8 octet-stream payload reads as text; a binary one does not.
    let r = get(format!("{pem}/payload"), "text/plain").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap(), PEM);
    let wrong = "Secret payload retrieval issue seen - Wrong payload content-type.";
    assert_error(get(format!("{binary}/payload"), "text/plain").await, 406, "Not Acceptable", wrong).await;
    assert_error(get(format!("{pem}/payload"), "application/json").await, 406, "Not Acceptable", wrong).await;
    let body: Value = get(format!("{pem}/payload"), "application/json").await.json().await.unwrap();
    redactions(&cloud).bind(|| insta::assert_json_snapshot!("error_406", body));
    // Binary types read any secret's bytes.
    let r = get(format!("{binary}/payload"), "application/pkcs8").await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), [0xff, 0x00, 0xfe]);
    let r = get(format!("{text}/payload"), "application/octet-stream").await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"hello");

    // The deprecated payload-through-metadata GET with a non-JSON Accept.
    let r = get(pem.clone(), "application/octet-stream").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap(), PEM);
    let r = get(pem.clone(), "text/html").await;
    assert_error(r, 406, "Not Acceptable", "Secret retrieval issue seen - Wrong payload content-type.").await;

    // A secret without payload.
    let empty = create(&cloud, &admin, json!({"name": "later"})).await;
    let none = "Not Found. Sorry but your secret has no payload.";
    assert_error(get(format!("{empty}/payload"), "application/octet-stream").await, 404, "Not Found", none).await;
    assert_error(get(empty.clone(), "text/plain").await, 404, "Not Found", none).await;
    let r = http().post(format!("{pem}/payload")).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn two_step_create_with_put() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let put = |url: &str, content_type: &'static str, encoding: Option<&'static str>, body: Vec<u8>| {
        let mut rb = http().put(url).header("X-Auth-Token", &admin).header("Content-Type", content_type).body(body);
        if let Some(e) = encoding {
            rb = rb.header("Content-Encoding", e);
        }
        rb.send()
    };
    let secret = create(&cloud, &admin, json!({"name": "two-step", "secret_type": "certificate"})).await;

    let r = put(&secret, "application/json", None, b"{}".to_vec()).await.unwrap();
    assert_error(
        r,
        415,
        "Unsupported Media Type",
        "Unexpected content type. Expected content types are: ['application/octet-stream', 'text/plain']",
    )
    .await;
    let r = put(&secret, "application/octet-stream", None, vec![]).await.unwrap();
    assert_error(r, 400, "Bad Request", "Secret update issue seen - No data supplied to process.").await;
    let r = put(&secret, "application/octet-stream", Some("gzip"), b"x".to_vec()).await.unwrap();
    assert_error(r, 400, "Bad Request", "Secret update issue seen - content-encoding of 'gzip' not supported.").await;
    let r = put(&secret, "application/octet-stream", None, vec![b'a'; 20001]).await.unwrap();
    assert_error(r, 413, "Request Entity Too Large", "Secret update issue seen - Provided information too large to process.").await;

    let r = put(&secret, "application/octet-stream", Some("base64"), b64(PEM).into_bytes()).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let meta: Value = http().get(&secret).header("X-Auth-Token", &admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(meta["content_types"], json!({"default": "application/octet-stream"}));
    let payload = http().get(format!("{secret}/payload")).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(payload.bytes().await.unwrap(), PEM, "stored decoded");

    let r = put(&secret, "text/plain", None, b"again".to_vec()).await.unwrap();
    assert_error(r, 409, "Conflict", "Secret already has data, cannot modify it.").await;

    // text/plain keeps the bytes as sent (Content-Encoding does not apply to text).
    let text = create(&cloud, &admin, json!({})).await;
    let r = put(&text, "text/plain; charset=utf-8", Some("base64"), b"aGk=".to_vec()).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = http().get(format!("{text}/payload")).header("X-Auth-Token", &admin).header("Accept", "text/plain").send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "aGk=");
}

#[tokio::test]
async fn create_validation_messages() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let schema =
        |reason: &str, property: &str| format!("Provided object does not match schema 'Secret': {reason}. Invalid property: '{property}'");
    let octet = |payload: &str| json!({"payload": payload, "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64"});
    let cases: Vec<(Value, u16, String)> = vec![
        (
            json!({"secret_type": "x509"}),
            400,
            schema("'x509' is not one of ['symmetric', 'passphrase', 'private', 'public', 'certificate', 'opaque']", "secret_type"),
        ),
        (
            json!({"payload": "abc"}),
            400,
            schema("If 'payload' is supplied, 'payload_content_type' must also be supplied.", "payload_content_type"),
        ),
        (
            json!({"payload": "abc", "payload_content_type": "application/json"}),
            400,
            schema(
                "payload_content_type is not one of ['text/plain', 'text/plain;charset=utf-8', 'text/plain; charset=utf-8', 'application/octet-stream', 'application/pkcs8']",
                "payload_content_type",
            ),
        ),
        (
            json!({"payload": "YWJj", "payload_content_type": "application/octet-stream"}),
            400,
            schema("payload_content_encoding is not one of ['base64', 'binary']", "payload_content_encoding"),
        ),
        (
            json!({"payload": "abc", "payload_content_type": "text/plain", "payload_content_encoding": "base64"}),
            400,
            schema("payload_content_encoding is not one of None", "payload_content_encoding"),
        ),
        (
            json!({"payload": "abc", "payload_content_type": "application/octet-stream", "payload_content_encoding": "binary"}),
            400,
            schema("'binary' is not one of ['base64']", "payload_content_encoding"),
        ),
        (
            json!({"payload": "   ", "payload_content_type": "text/plain"}),
            400,
            schema("If 'payload' specified, must be non empty", "payload"),
        ),
        (octet("not base64!"), 400, schema("Invalid payload for payload_content_encoding", "payload")),
        (
            json!({"payload_content_type": "text/plain"}),
            400,
            schema("payload must be provided when payload_content_type is specified", "payload"),
        ),
        (json!({"expiration": "2001-01-01T00:00:00Z"}), 400, schema("'expiration' is before current time", "expiration")),
        (json!({"expiration": "next tuesday"}), 400, schema("Invalid date for 'expiration'", "expiration")),
        (json!({"bit_length": 0}), 400, schema("0 is less than the minimum of 1", "bit_length")),
        (json!({"bit_length": "256"}), 400, schema("'256' is not of type 'integer'", "bit_length")),
        (json!({"name": 42}), 400, schema("42 is not of type 'string', 'null'", "name")),
        (json!({"algorithm": "a".repeat(256)}), 400, schema(&format!("'{}' is too long", "a".repeat(256)), "algorithm")),
        (json!([]), 400, "Provided object does not match schema 'Secret': [] is not of type 'object'. Invalid property: 'None'".into()),
        (octet(&"A".repeat(20004)), 413, "Provided information too large to process".into()),
        (json!({"name": "n", "algorithm": "a".repeat(25000)}), 413, "Provided information too large to process".into()),
    ];
    for (body, status, description) in cases {
        let r = http().post(secrets_url(&cloud)).header("X-Auth-Token", &admin).json(&body).send().await.unwrap();
        let title = if status == 413 { "Request Entity Too Large" } else { "Bad Request" };
        assert_eq!(r.status().as_u16(), status, "{body}");
        let got: Value = r.json().await.unwrap();
        assert_eq!(got, json!({"code": status, "title": title, "description": description}), "{body}");
    }
    let post = |content_type: Option<&'static str>, body: &'static str| {
        let mut rb = http().post(secrets_url(&cloud)).header("X-Auth-Token", &admin).body(body);
        if let Some(ct) = content_type {
            rb = rb.header("Content-Type", ct);
        }
        rb.send()
    };
    assert_error(post(Some("application/json"), "{\"name\": ").await.unwrap(), 400, "Bad Request", "Malformed JSON").await;
    let unexpected = "Unexpected content type. Expected content types are: ['application/json']";
    assert_error(post(Some("text/plain"), "{}").await.unwrap(), 415, "Unsupported Media Type", unexpected).await;
    assert_error(post(None, "{}").await.unwrap(), 415, "Unsupported Media Type", unexpected).await;
    let r = post(Some("application/json; charset=utf-8"), "{}").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = post(Some("application/json"), r#"{"secret_type": "x509"}"#).await.unwrap().json().await.unwrap();
    redactions(&cloud).bind(|| insta::assert_json_snapshot!("error_400_schema", body));
    // Base64 is decoded as Python does: characters outside the alphabet are dropped.
    let lenient = create(&cloud, &admin, octet("aGVs\nbG8=")).await;
    let r = http().get(format!("{lenient}/payload")).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"hello");
}

#[tokio::test]
async fn listing_paging_and_filters() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    for i in 0..5 {
        let kind = if i % 2 == 0 { "opaque" } else { "passphrase" };
        create(&cloud, &admin, json!({"name": format!("s{i}"), "secret_type": kind, "algorithm": "aes", "bit_length": 128 * (i + 1)}))
            .await;
    }
    let list = |query: &str| {
        let url = format!("{}?{query}", secrets_url(&cloud));
        let admin = admin.clone();
        async move { http().get(url).header("X-Auth-Token", admin).send().await.unwrap() }
    };
    let names =
        |body: &Value| body["secrets"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>();

    let page: Value = list("limit=2&offset=2").await.json().await.unwrap();
    assert_eq!(names(&page), ["s2", "s3"]);
    assert_eq!(page["total"], 5);
    let base = secrets_url(&cloud);
    assert_eq!(page["previous"], format!("{base}?limit=2&offset=0"));
    assert_eq!(page["next"], format!("{base}?limit=2&offset=4"));
    redactions(&cloud).bind(|| insta::assert_json_snapshot!("list_page", page));

    let last: Value = list("limit=2&offset=4").await.json().await.unwrap();
    assert_eq!((names(&last), last.get("next")), (vec!["s4".to_owned()], None));
    let beyond: Value = list("offset=50").await.json().await.unwrap();
    assert_eq!(beyond, json!({"secrets": [], "total": 5}));
    // Defaults and clamps: limit 10, at least 1; junk falls back to the defaults.
    assert_eq!(names(&list("").await.json().await.unwrap()).len(), 5);
    let one: Value = list("limit=0").await.json().await.unwrap();
    assert_eq!((names(&one).len(), one["next"].as_str().map(|n| n.ends_with("limit=1&offset=1"))), (1, Some(true)));
    assert_eq!(names(&list("limit=abc&offset=-3").await.json().await.unwrap()).len(), 5);
    assert_eq!(list(&format!("offset={}", i64::MAX - 1)).await.json::<Value>().await.unwrap(), json!({"secrets": [], "total": 5}));

    assert_eq!(names(&list("name=s3").await.json().await.unwrap()), ["s3"]);
    let typed: Value = list("secret_type=passphrase").await.json().await.unwrap();
    assert_eq!((names(&typed), &typed["total"]), (vec!["s1".to_owned(), "s3".to_owned()], &json!(2)));
    assert_eq!(names(&list("bits=384").await.json().await.unwrap()), ["s2"]);
    assert_eq!(names(&list("alg=des").await.json().await.unwrap()).len(), 0);
    assert_eq!(names(&list("sort=name:desc&limit=2").await.json().await.unwrap()), ["s4", "s3"]);
    assert_eq!(names(&list("created=gt:2000-01-01T00:00:00Z&limit=1").await.json().await.unwrap()), ["s0"]);
    assert_eq!(list("created=lt:2000-01-01").await.json::<Value>().await.unwrap()["total"], 0);
    for bad in ["sort=colour", "sort=name:sideways", "created=soon", "expiration=gt:2020-01-01,gte:2020-01-01"] {
        assert_error(list(bad).await, 400, "Bad Request", "URI provided invalid query string parameters.").await;
    }
    // Other projects' secrets are not listed.
    grant(&cloud, "alt_demo", "alt_demo", "creator").await;
    let alt = token(&cloud, "alt_demo").await;
    let body: Value = http().get(secrets_url(&cloud)).header("X-Auth-Token", &alt).send().await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"secrets": [], "total": 0}));
}

#[tokio::test]
async fn lookups_methods_and_auth() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let secret = create(&cloud, &admin, text_secret("x", "y")).await;
    let base = secrets_url(&cloud);
    let get = |url: String| http().get(url).header("X-Auth-Token", &admin).send();

    for bad in ["abcde", "9999999f-ffff-ffff-9fff-f99f999ff9ff", "1B4E28BA-2FA1-41D2-883F-0016D3CCA427"] {
        for url in [format!("{base}/{bad}"), format!("{base}/{bad}/payload"), format!("{base}/{bad}/acl")] {
            assert_error(get(url).await.unwrap(), 404, "Not Found", "Not Found. Provided secret id is invalid.").await;
        }
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_error(get(format!("{base}/{unknown}")).await.unwrap(), 404, "Not Found", "Secret not found.").await;
    let body: Value = get(format!("{base}/{unknown}")).await.unwrap().json().await.unwrap();
    redactions(&cloud).bind(|| insta::assert_json_snapshot!("error_404", body));

    // 405 with an empty description (a bare `pecan.abort(405)`, detail `''`); 404 for other
    // sub-resources.
    let r = http().post(&secret).header("X-Auth-Token", &admin).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"code": 405, "title": "Method Not Allowed", "description": ""}));
    let r = http().delete(&base).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = http().post(format!("{secret}/acl")).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get(format!("{secret}/bogus")).await.unwrap().status(), StatusCode::NOT_FOUND);
    let r = http().patch(format!("{base}/{unknown}")).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "lookup before method");

    // keystonemiddleware's 401s.
    for t in [None, Some("not-a-token")] {
        let mut rb = http().get(&secret);
        if let Some(t) = t {
            rb = rb.header("X-Auth-Token", t);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}})
        );
    }

    // DELETE, then it is gone everywhere.
    let r = http().delete(&secret).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for url in [secret.clone(), format!("{secret}/payload"), format!("{secret}/acl")] {
        assert_error(get(url).await.unwrap(), 404, "Not Found", "Secret not found.").await;
    }
    let r = http().delete(&secret).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
