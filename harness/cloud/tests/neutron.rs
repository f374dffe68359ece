//! Simulated Neutron over HTTP: the catalog entry, what tempest's dynamic credentials do with
//! isolated networks (network, subnet, router interface, then the teardown in reverse and the
//! project's default security group), IP allocation, project isolation and Neutron's errors.

mod common;

use common::session;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_cloud::{CloudConfig, start};

async fn call(s: &Session, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let url = format!("{}/v2.0{path}", s.endpoint("network").unwrap().trim_end_matches('/'));
    let mut request = s.http().request(method, url).header("X-Auth-Token", &s.token().value);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

fn error(kind: &str, message: &str) -> Value {
    json!({"NeutronError": {"type": kind, "message": message, "detail": ""}})
}

#[tokio::test]
async fn isolated_network_setup_and_teardown_as_tempest_does() {
    let cloud = start(CloudConfig::default()).await.unwrap();
    let admin = session(&cloud, "admin").await;
    let demo = session(&cloud, "demo").await;
    let project = demo.token().project.unwrap().id;

    let (status, body) = call(&admin, Method::POST, "/networks", Some(json!({"network": {"name": "n1", "project_id": project}}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let net = body["network"]["id"].as_str().unwrap().to_owned();
    assert_eq!((body["network"]["project_id"].as_str(), body["network"]["status"].as_str()), (Some(project.as_str()), Some("ACTIVE")));

    let subnet = json!({"subnet": {"network_id": net, "cidr": "10.100.0.0/28", "name": "s1", "project_id": project, "ip_version": 4}});
    let (status, body) = call(&admin, Method::POST, "/subnets", Some(subnet.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["subnet"]["gateway_ip"], "10.100.0.1");
    assert_eq!(body["subnet"]["allocation_pools"], json!([{"start": "10.100.0.2", "end": "10.100.0.14"}]));
    let sub = body["subnet"]["id"].as_str().unwrap().to_owned();
    // tempest walks the CIDR range until a subnet does not overlap.
    let (status, body) = call(&admin, Method::POST, "/subnets", Some(subnet)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["NeutronError"]["message"].as_str().unwrap().contains("overlaps with another subnet"), "{body}");

    let (_, body) = call(&admin, Method::POST, "/routers", Some(json!({"router": {"name": "r1", "project_id": project}}))).await;
    let router = body["router"]["id"].as_str().unwrap().to_owned();
    let (status, body) =
        call(&admin, Method::PUT, &format!("/routers/{router}/add_router_interface"), Some(json!({"subnet_id": sub}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["subnet_id"].as_str(), body["id"].as_str()), (Some(sub.as_str()), Some(router.as_str())));

    // The project's member sees its network and the router's port; a port gets the next address.
    let (_, body) = call(&demo, Method::GET, "/networks?router:external=False&fields=id", None).await;
    assert_eq!(body, json!({"networks": [{"id": net}]}));
    let (status, body) = call(&demo, Method::POST, "/ports", Some(json!({"port": {"network_id": net, "device_id": "vm"}}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["port"]["fixed_ips"], json!([{"subnet_id": sub, "ip_address": "10.100.0.2"}]));
    assert!(body["port"]["mac_address"].as_str().unwrap().starts_with("fa:16:3e:"));
    let port = body["port"]["id"].as_str().unwrap().to_owned();
    let default_group = body["port"]["security_groups"][0].as_str().unwrap().to_owned();

    // In use: Neutron's 409s.
    let (status, body) = call(&admin, Method::DELETE, &format!("/routers/{router}"), None).await;
    assert_eq!((status, body), (StatusCode::CONFLICT, error("RouterInUse", &format!("Router {router} still has ports"))));
    let (status, body) = call(&demo, Method::DELETE, &format!("/subnets/{sub}"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["NeutronError"]["type"], "SubnetInUse");
    let (status, _) = call(&demo, Method::DELETE, &format!("/ports/{port}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Teardown in tempest's order.
    let (status, _) =
        call(&admin, Method::PUT, &format!("/routers/{router}/remove_router_interface"), Some(json!({"subnet_id": sub}))).await;
    assert_eq!(status, StatusCode::OK);
    for path in [format!("/routers/{router}"), format!("/subnets/{sub}"), format!("/networks/{net}")] {
        let (status, body) = call(&admin, Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}: {body}");
    }
    let (status, body) = call(&demo, Method::GET, &format!("/networks/{net}"), None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, error("NetworkNotFound", &format!("Network {net} could not be found."))));

    // The default group: four rules; only an admin removes it (dynamic credentials' cleanup).
    let (_, body) = call(&admin, Method::GET, &format!("/security-groups?name=default&project_id={project}"), None).await;
    assert_eq!(body["security_groups"].as_array().unwrap().len(), 1);
    assert_eq!(body["security_groups"][0]["security_group_rules"].as_array().unwrap().len(), 4);
    let (status, body) = call(&demo, Method::DELETE, &format!("/security-groups/{default_group}"), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::CONFLICT, error("SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group."))
    );
    let (status, _) = call(&admin, Method::DELETE, &format!("/security-groups/{default_group}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn projects_are_isolated_and_errors_are_neutrons() {
    let cloud = start(CloudConfig::default()).await.unwrap();
    let admin = session(&cloud, "admin").await;
    let demo = session(&cloud, "demo").await;
    let (_, body) = call(&admin, Method::POST, "/networks", Some(json!({"network": {"name": "admin-only"}}))).await;
    let net = body["network"]["id"].as_str().unwrap().to_owned();
    let (_, body) = call(&demo, Method::GET, "/networks", None).await;
    assert_eq!(body, json!({"networks": []}));
    let (status, body) = call(&demo, Method::DELETE, &format!("/networks/{net}"), None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, error("NetworkNotFound", &format!("Network {net} could not be found."))));

    let (status, body) = call(&demo, Method::POST, "/networks", Some(json!({"network": {"name": "s", "shared": true}}))).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            error("PolicyNotAuthorized", "(rule:create_network and rule:create_network:shared) is disallowed by policy")
        )
    );
    let (status, body) = call(&demo, Method::POST, "/networks", Some(json!({"net": {}}))).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, error("HTTPBadRequest", "Unable to find 'network' in request body")));
    let (status, body) = call(&demo, Method::POST, "/subnets", Some(json!({"subnet": {"network_id": net, "ip_version": 4}}))).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, error("HTTPBadRequest", "Failed to parse request. Required attribute 'cidr' not specified"))
    );
    let (status, body) = call(&demo, Method::GET, "/widgets", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, error("HTTPNotFound", "The resource could not be found.")));

    // No token: keystonemiddleware's 401, as on every service.
    let url = format!("{}/v2.0/networks", cloud.endpoints.network);
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
