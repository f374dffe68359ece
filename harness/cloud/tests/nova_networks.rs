//! Nova with Neutron: requested networks and ports are checked with the user's token, a built
//! server gets a port on each requested network and shows its address, deleting the server
//! removes the port; a failed build leaves no port behind.

mod nova_support;

use nova_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn neutron(s: &sigstack_client::Session, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let url = format!("{}/v2.0{path}", s.endpoint("network").unwrap());
    let mut r = s.http().request(method, url).header("X-Auth-Token", &s.token().value);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_server_on_a_network_gets_a_port_and_loses_it_on_delete() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let (_, net) = neutron(&demo, Method::POST, "/networks", Some(json!({"network": {"name": "private"}}))).await;
    let net_id = net["network"]["id"].as_str().unwrap().to_owned();
    let (status, _) = neutron(
        &demo,
        Method::POST,
        "/subnets",
        Some(json!({"subnet": {"network_id": net_id, "cidr": "192.168.7.0/24", "ip_version": 4}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let image = image_with(&demo, "qcow2", "private", &image_bytes("qcow2", 3), &[]).await;

    let unknown = "3f1c0c36-4a53-4c39-9e4e-7e3e2c1d0b11";
    let body = |network: &str| json!({"server": {"name": "vm", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": network}]}});
    let (status, answer, _) = raw(&demo, Method::POST, "/servers", "2.1", Some(body(unknown))).await;
    assert_eq!(
        (status, answer),
        (StatusCode::BAD_REQUEST, json!({"badRequest": {"code": 400, "message": format!("Network {unknown} could not be found.")}}))
    );

    let (status, answer, _) = raw(&demo, Method::POST, "/servers", "2.1", Some(body(&net_id))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let id = answer["server"]["id"].as_str().unwrap().to_owned();
    let server = settle(&demo, &id).await;
    assert_active(&server);
    let (_, shown, _) = raw(&demo, Method::GET, &format!("/servers/{id}"), "2.1", None).await;
    assert_eq!(shown["server"]["addresses"]["private"][0]["addr"], "192.168.7.2");
    assert_eq!(shown["server"]["addresses"]["private"][0]["OS-EXT-IPS:type"], "fixed");
    let (_, ports) = neutron(&demo, Method::GET, &format!("/ports?device_id={id}"), None).await;
    assert_eq!(ports["ports"].as_array().unwrap().len(), 1);
    assert_eq!(ports["ports"][0]["device_owner"], "compute:nova");

    // The network is in use while the server has its port.
    let (status, _) = neutron(&demo, Method::DELETE, &format!("/networks/{net_id}"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, _) = raw(&demo, Method::DELETE, &format!("/servers/{id}"), "2.1", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, ports) = neutron(&demo, Method::GET, &format!("/ports?device_id={id}"), None).await;
    assert_eq!(ports, json!({"ports": []}));
    let (status, _) = neutron(&demo, Method::DELETE, &format!("/networks/{net_id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}
