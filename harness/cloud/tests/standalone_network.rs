//! `sigstack serve-network`'s service: the simulated Neutron alone, its callers' tokens checked
//! by another Keystone over HTTP (here the simulated cloud's, standing in for a real one), as
//! keystonemiddleware does: 401 without a token Keystone knows, the caller's project and roles
//! from Keystone's answer, 503 (logged) when Keystone cannot be asked, cached answers meanwhile.

mod common;

use common::session;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_cloud::standalone_network::{NetworkConfig, NetworkHandle, start_network};
use sigstack_cloud::{CloudConfig, start};

async fn call(
    network: &NetworkHandle,
    token: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", network.url));
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    let status = r.status();
    let pointer = r.headers().get("WWW-Authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), pointer)
}

#[tokio::test]
async fn callers_are_checked_by_the_other_keystone() {
    let cloud = start(CloudConfig::default()).await.unwrap();
    let admin = session(&cloud, "admin").await;
    let demo: Session = session(&cloud, "demo").await;
    let dir = tempfile::tempdir().unwrap();
    let network = start_network(NetworkConfig {
        host: "127.0.0.1".parse().unwrap(),
        port: None,
        data_dir: dir.path().to_path_buf(),
        tls: None,
        public_url: None,
        keystone: admin.clone(),
        keystone_url: cloud.endpoints.identity.clone(),
    })
    .await
    .unwrap();
    let get = reqwest::Method::GET;

    // The version document needs no token; the API does.
    let (status, body, _) = call(&network, None, get.clone(), "/", None).await;
    assert_eq!((status, body["versions"][0]["id"].as_str()), (StatusCode::OK, Some("v2.0")));
    let pointer = Some(format!("Keystone uri=\"{}\"", cloud.endpoints.identity));
    for token in [None, Some("not-a-token")] {
        let (status, body, www) = call(&network, token, get.clone(), "/v2.0/ports", None).await;
        assert_eq!((status, &www), (StatusCode::UNAUTHORIZED, &pointer), "{token:?}: {body}");
        assert_eq!(body["error"]["message"], "The request you have made requires authentication.");
    }

    // demo's token: its project's (empty) ports, and its default security group made on demand.
    let token = demo.token().value;
    let project = demo.token().project.unwrap().id;
    let (status, body, _) = call(&network, Some(&token), get.clone(), "/v2.0/ports.json?device_id=x", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"ports": []})));
    let (status, body, _) = call(&network, Some(&token), get.clone(), "/v2.0/security-groups", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["security_groups"][0]["project_id"].as_str(), Some(project.as_str()));
    let (status, body, _) =
        call(&network, Some(&token), reqwest::Method::POST, "/v2.0/networks", Some(json!({"network": {"name": "n1"}}))).await;
    assert_eq!((status, body["network"]["project_id"].as_str()), (StatusCode::CREATED, Some(project.as_str())), "{body}");
    // Admin-only attributes stay the admin's: the role came from Keystone's answer.
    let (status, _, _) = call(
        &network,
        Some(&token),
        reqwest::Method::POST,
        "/v2.0/networks",
        Some(json!({"network": {"name": "n2", "project_id": "someone-else"}})),
    )
    .await;
    assert_ne!(status, StatusCode::CREATED);

    // Keystone gone: a token checked before still works (cached), a new one gets a 503.
    let alt = session(&cloud, "alt_demo").await.token().value;
    cloud.shutdown().await;
    let (status, _, _) = call(&network, Some(&token), get.clone(), "/v2.0/networks", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body, _) = call(&network, Some(&alt), get.clone(), "/v2.0/networks", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    network.shutdown().await;
}
