//! Glance against a misbehaving Barbican (wiremock in the catalog): the certificate is fetched
//! with the uploading user's token; a 404 is "Certificate not found", a 403, a 5xx or no answer
//! in time is "Unable to retrieve certificate" (cursive's castellan mapping, A4).

mod glance_support;

use std::time::{Duration, Instant};

use glance_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_client::image;
use sigstack_client::{CatalogEntry, Endpoint, Named, Session, Token};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const UUID: &str = "5d1fd6e0-b1a8-4c3e-9b0a-7f0c2e1d9a11";

#[tokio::test]
async fn glance_fetches_the_certificate_with_the_users_token() {
    let cloud = cloud().await;
    let barbican = fake_barbican(&cloud).await;
    let demo = session(&cloud, "demo").await;
    serve_rsa_certificate(&barbican, UUID, &demo.token().value).await;
    let bytes = data(100_000, 1);
    let (id, status, body) = create_and_upload(&demo, &signed_props(&bytes, UUID), &bytes).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(image::get_image(&demo, &id).await.unwrap().status, "active");
    let seen = barbican.received_requests().await.unwrap();
    let paths: Vec<String> = seen.iter().map(|r| r.url.path().to_owned()).collect();
    assert_eq!(paths, [format!("/v1/secrets/{UUID}"), format!("/v1/secrets/{UUID}/payload")]);
    for r in &seen {
        assert_eq!(r.headers["x-auth-token"], demo.token().value.as_str());
    }
    // Another user's token is not demo's: the secret is "not found" for it here.
    let alt = session(&cloud, "alt_demo").await;
    let (id, status, body) = create_and_upload(&alt, &signed_props(&bytes, UUID), &bytes).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        format!(
            "Signature verification failed for image {id}: Signature verification for the image failed: Certificate not found with ID: {UUID}."
        )
    );
}

#[tokio::test]
async fn partial_properties_never_reach_barbican() {
    let cloud = cloud().await;
    let barbican = fake_barbican(&cloud).await;
    Mock::given(any()).respond_with(ResponseTemplate::new(500)).expect(0).mount(&barbican).await;
    let demo = session(&cloud, "demo").await;
    let bytes = data(1000, 2);
    let mut p = signed_props(&bytes, UUID);
    p.pop();
    let (id, status, _) = create_and_upload(&demo, &p, &bytes).await;
    assert_eq!((status, image::get_image(&demo, &id).await.unwrap().status), (StatusCode::NO_CONTENT, "active".into()));
    barbican.verify().await;
}

#[tokio::test]
async fn barbican_errors_map_to_cursive_messages() {
    let cloud = cloud().await;
    let barbican = fake_barbican(&cloud).await;
    let demo = session(&cloud, "demo").await;
    let bytes = data(1000, 3);
    let prefix = "Signature verification for the image failed: ";
    for (status, reason) in [
        (500, format!("Unable to retrieve certificate with ID: {UUID}.")),
        (503, format!("Unable to retrieve certificate with ID: {UUID}.")),
        (403, format!("Unable to retrieve certificate with ID: {UUID}.")),
        (404, format!("Certificate not found with ID: {UUID}.")),
    ] {
        barbican.reset().await;
        serve_status(&barbican, UUID, status).await;
        let (id, got, body) = create_and_upload(&demo, &signed_props(&bytes, UUID), &bytes).await;
        assert_eq!(
            (got, message(&body)),
            (StatusCode::BAD_REQUEST, format!("Signature verification failed for image {id}: {prefix}{reason}")),
            "{status}"
        );
        assert_eq!(image::get_image(&demo, &id).await.unwrap().status, "queued");
    }
    assert!(data_files(&cloud).is_empty());
}

#[tokio::test]
async fn a_hung_barbican_times_out_as_unable_to_retrieve() {
    let cloud = cloud().await;
    let barbican = fake_barbican(&cloud).await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).mount(&barbican).await;
    let (glance, _dir) = glance_with_timeout(&cloud, Duration::from_millis(300)).await;
    let demo = session(&cloud, "demo").await;
    let http = sigstack_client::session::http_client();
    let token = demo.token().value.clone();
    let bytes = data(1000, 4);
    let mut body = json!({"name": "slow", "container_format": "bare", "disk_format": "raw"});
    for (k, v) in signed_props(&bytes, UUID) {
        body[k] = json!(v);
    }
    let created: Value =
        http.post(format!("{glance}/v2/images")).header("X-Auth-Token", &token).json(&body).send().await.unwrap().json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let started = Instant::now();
    let r = http
        .put(format!("{glance}/v2/images/{id}/file"))
        .header("X-Auth-Token", &token)
        .header("Content-Type", "application/octet-stream")
        .header("Accept", "application/json")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(4), "gave up on Barbican in time");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&r.text().await.unwrap()),
        format!(
            "Signature verification failed for image {id}: Signature verification for the image failed: Unable to retrieve certificate with ID: {UUID}."
        )
    );
    let shown: Value =
        http.get(format!("{glance}/v2/images/{id}")).header("X-Auth-Token", &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown["status"], "queued");
}

/// The client function Glance uses, on its own, with a hand-made catalog and token.
#[tokio::test]
async fn get_certificate_maps_statuses_directly() {
    let server = MockServer::start().await;
    let catalog = vec![CatalogEntry {
        service_type: "key-manager".into(),
        name: "barbican".into(),
        id: "km".into(),
        endpoints: vec![Endpoint { id: "e".into(), interface: "public".into(), region_id: None, region: None, url: server.uri() }],
    }];
    let named = |n: &str| Named { id: n.into(), name: n.into() };
    let token = Token {
        value: "tok".into(),
        expires_at: String::new(),
        user: named("u"),
        project: Some(named("p")),
        roles: vec![named("member")],
        catalog,
    };
    let client = sigstack_client::tls::client_builder(&Default::default()).unwrap().timeout(Duration::from_millis(300)).build().unwrap();
    let session = Session::from_token(client, token);
    use sigstack_client::key_manager::get_certificate;
    use sigstack_verify::Error as V;
    serve_rsa_certificate(&server, UUID, "tok").await;
    assert!(get_certificate(&session, UUID).await.is_ok());
    for (status, expected) in [
        (404, V::CertificateNotFound(UUID.into())),
        (500, V::CertificateRetrieval(UUID.into())),
        (403, V::CertificateRetrieval(UUID.into())),
    ] {
        server.reset().await;
        serve_status(&server, UUID, status).await;
        assert_eq!(get_certificate(&session, UUID).await.unwrap_err(), expected, "{status}");
    }
    server.reset().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3))).mount(&server).await;
    assert_eq!(get_certificate(&session, UUID).await.unwrap_err(), V::CertificateRetrieval(UUID.into()));
}
