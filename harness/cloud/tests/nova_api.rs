//! The compute API surface over HTTP: version discovery and microversions, flavors, error
//! shapes, server create/show/list/delete, the `trusted_image_certificates` schema (B2) with
//! jsonschema's exact messages, its policy, and the boot-from-volume refusal.

mod nova_support;

use nova_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::compute::{self, NewServer};
use sigstack_client::image::NewImage;

fn create_body(image: &str, trusted: Value) -> Value {
    json!({"server": {"name": "vm", "imageRef": image, "flavorRef": "1", "networks": "auto", "trusted_image_certificates": trusted}})
}

async fn image_id(cloud: &sigstack_cloud::CloudHandle) -> String {
    let demo = session(cloud, "demo").await;
    image_with(&demo, "raw", "private", &data(1000, 1), &[]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn version_discovery_and_microversion_negotiation() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let root = reqwest::get(&cloud.endpoints.compute).await.unwrap();
    assert_eq!(root.status(), StatusCode::MULTIPLE_CHOICES);
    let body: Value = root.json().await.unwrap();
    assert_eq!(body["versions"][1]["id"], "v2.1");
    assert_eq!(body["versions"][1]["version"], "2.104");
    let v21: Value = reqwest::get(format!("{}/v2.1", cloud.endpoints.compute)).await.unwrap().json().await.unwrap();
    assert_eq!((v21["version"]["version"].as_str(), v21["version"]["min_version"].as_str()), (Some("2.104"), Some("2.1")));

    let demo = session(&cloud, "demo").await;
    let (status, _, headers) = raw(&demo, Method::GET, "/flavors", "2.63", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["OpenStack-API-Version"], "compute 2.63");
    assert_eq!(headers["X-OpenStack-Nova-API-Version"], "2.63");
    assert_eq!(headers["Vary"], "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    let (_, _, headers) = raw(&demo, Method::GET, "/flavors", "latest", None).await;
    assert_eq!(headers["OpenStack-API-Version"], "compute 2.104");
    let legacy = demo
        .request(Method::GET, &format!("{}/flavors", compute::endpoint(&demo).unwrap()))
        .header("X-OpenStack-Nova-API-Version", "2.10")
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.headers()["X-OpenStack-Nova-API-Version"], "2.10");
    let (status, body, _) = raw(&demo, Method::GET, "/flavors", "2.105", None).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        body,
        json!({"computeFault": {"code": 406, "message": "Version 2.105 is not supported by the API. Minimum is 2.1 and maximum is 2.104."}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn flavors_errors_and_authentication() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let flavors = compute::list_flavors(&demo).await.unwrap();
    let tiny = flavors.iter().find(|f| f["id"] == "1").expect("m1.tiny");
    assert_eq!(
        (tiny["name"].as_str(), tiny["ram"].as_u64(), tiny["vcpus"].as_u64(), tiny["disk"].as_u64()),
        (Some("m1.tiny"), Some(512), Some(1), Some(1))
    );
    assert_eq!(compute::get_flavor(&demo, "2").await.unwrap()["name"], "m1.small");
    let (status, body, _) = raw(&demo, Method::GET, "/flavors/99", "2.1", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"itemNotFound": {"code": 404, "message": "Flavor 99 could not be found."}})));
    let (status, body, _) = raw(&demo, Method::GET, "/servers/nope", "2.1", None).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"itemNotFound": {"code": 404, "message": "Instance nope could not be found."}}))
    );
    let anonymous = reqwest::get(format!("{}/v2.1/servers", cloud.endpoints.compute)).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (status, body, _) = raw(
        &demo,
        Method::POST,
        "/servers",
        "2.63",
        Some(json!({"server": {"name": "x", "imageRef": "i", "flavorRef": "99", "networks": "auto"}})),
    )
    .await;
    assert_eq!((status, body["badRequest"]["message"].as_str()), (StatusCode::BAD_REQUEST, Some("Flavor 99 could not be found.")));
    let (status, body, _) = raw(
        &demo,
        Method::POST,
        "/servers",
        "2.63",
        Some(json!({"server": {"name": "x", "imageRef": "0000", "flavorRef": "1", "networks": "auto"}})),
    )
    .await;
    assert_eq!((status, body["badRequest"]["message"].as_str()), (StatusCode::BAD_REQUEST, Some("Can not find requested image")));
    let (status, body, _) = raw(&demo, Method::POST, "/servers", "2.63", Some(json!({"server": {"name": "x", "flavorRef": "1"}}))).await;
    assert_eq!(
        (status, body["badRequest"]["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            // The dict in the request's order, as Nova's `str(dict)` shows it.
            Some("Invalid input for field/attribute server. Value: {'name': 'x', 'flavorRef': '1'}. 'networks' is a required property")
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn trusted_image_certificates_schema_messages() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let image = image_id(&cloud).await;
    let many: Vec<String> = (0..51).map(|i| format!("c{i}")).collect();
    let many_repr = format!("[{}]", many.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", "));
    let cases = [
        (json!([]), "Invalid input for field/attribute trusted_image_certificates. Value: []. [] should be non-empty".to_owned()),
        (json!([""]), "Invalid input for field/attribute 0. Value: . '' should be non-empty".to_owned()),
        (
            json!(["a", "a"]),
            "Invalid input for field/attribute trusted_image_certificates. Value: ['a', 'a']. ['a', 'a'] has non-unique elements"
                .to_owned(),
        ),
        (json!([1, 2]), "Invalid input for field/attribute 0. Value: 1. 1 is not of type 'string'".to_owned()),
        (
            json!("x"),
            "Invalid input for field/attribute trusted_image_certificates. Value: x. 'x' is not of type 'array', 'null'".to_owned(),
        ),
        (json!(many), format!("Invalid input for field/attribute trusted_image_certificates. Value: {many_repr}. {many_repr} is too long")),
    ];
    for (value, message) in cases {
        let (status, body, _) = raw(&demo, Method::POST, "/servers", V263, Some(create_body(&image, value.clone()))).await;
        assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"badRequest": {"code": 400, "message": message}})), "{value}");
    }
    // Before 2.63 the field does not exist.
    let (status, body, _) = raw(&demo, Method::POST, "/servers", "2.62", Some(create_body(&image, json!(["a"])))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["badRequest"]["message"],
        format!(
            "Invalid input for field/attribute server. Value: {{'name': 'vm', 'imageRef': '{image}', 'flavorRef': '1', 'networks': 'auto', 'trusted_image_certificates': ['a']}}. Additional properties are not allowed ('trusted_image_certificates' was unexpected)"
        )
    );
    // The ids are not checked as UUIDs, and null is allowed on create.
    let (status, _, _) = raw(&demo, Method::POST, "/servers", V263, Some(create_body(&image, json!(["not-a-uuid"])))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, _) = raw(&demo, Method::POST, "/servers", V263, Some(create_body(&image, Value::Null))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread")]
async fn create_response_show_list_and_delete() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let image = image_id(&cloud).await;
    let (status, body, headers) = raw(&demo, Method::POST, "/servers", V263, Some(create_body(&image, json!(["cert-1", "cert-2"])))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let server = body["server"].as_object().unwrap();
    let mut keys: Vec<&str> = server.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["OS-DCF:diskConfig", "adminPass", "id", "links", "security_groups"]);
    let id = server["id"].as_str().unwrap().to_owned();
    assert_eq!(headers["Location"], format!("{}/v2.1/servers/{id}", cloud.endpoints.compute));
    // User-supplied certificates force verification even with both options off: the image is
    // unsigned, so the build fails on cursive's first missing property.
    let shown = settle(&demo, &id).await;
    assert_eq!(
        fault(&shown),
        aborted(
            &id,
            "Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."
        )
    );
    assert_eq!(shown.fault.as_ref().unwrap().details, None, "details are for admins");
    assert_eq!(shown.trusted_image_certificates, Some(Some(vec!["cert-1".to_owned(), "cert-2".to_owned()])));
    assert_eq!(shown.host, None, "the host is for admins only");
    let old = compute::get_server(&demo, "2.62", &id).await.unwrap();
    assert_eq!(old.trusted_image_certificates, None, "absent before 2.63");
    let admin = session(&cloud, "admin").await;
    let as_admin = compute::get_server(&admin, V263, &id).await.unwrap();
    assert!(as_admin.fault.unwrap().details.is_some());

    let plain = boot_and_settle(&demo, &image, None, None).await;
    assert_active(&plain);
    let as_admin = compute::get_server(&admin, V263, &plain.id).await.unwrap();
    assert!(as_admin.host.as_deref().is_some_and(|h| h.starts_with("compute-")));
    assert_eq!(plain.trusted_image_certificates, Some(None), "null when none");
    let listed = compute::list_servers(&demo, V263, &[]).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(compute::list_servers(&session(&cloud, "alt_demo").await, V263, &[]).await.unwrap().is_empty());
    // PUT shows the certificates too (2.63+).
    let (status, body, _) = raw(&demo, Method::PUT, &format!("/servers/{id}"), V263, Some(json!({"server": {"name": "renamed"}}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["server"]["name"].as_str(), &body["server"]["trusted_image_certificates"]),
        (Some("renamed"), &json!(["cert-1", "cert-2"]))
    );
    compute::delete_server(&demo, &id).await.unwrap();
    assert!(compute::get_server(&demo, V263, &id).await.unwrap_err().is_not_found());
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_on_trusted_certs_and_forced_hosts() {
    let mut d = deployment(false, false, two_local_nodes());
    d.nova.policy.insert("os_compute_api:servers:create:trusted_certs".into(), "role:admin".into());
    d.nova.policy.insert("os_compute_api:servers:rebuild:trusted_certs".into(), "!".into());
    d.nova.policy.remove("os_compute_api:servers:create:forced_host");
    let cloud = cloud(d).await;
    let demo = session(&cloud, "demo").await;
    let image = image_id(&cloud).await;
    let (status, body, _) = raw(&demo, Method::POST, "/servers", V263, Some(create_body(&image, json!(["c"])))).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"forbidden": {"code": 403, "message": "Policy doesn't allow os_compute_api:servers:create:trusted_certs to be performed."}})
        )
    );
    // Not checked when the field is null.
    let (status, _, _) = raw(&demo, Method::POST, "/servers", V263, Some(create_body(&image, Value::Null))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // nova:HOST is admin-only by default.
    let err = compute::create_server(&demo, V263, &NewServer::from_image("vm", &image).on_host("compute-b")).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().contains("Policy doesn't allow os_compute_api:servers:create:forced_host to be performed."));
    let admin = session(&cloud, "admin").await;
    let public = image_with(&admin, "raw", "public", &data(1000, 2), &[]).await;
    let pinned = boot_and_settle(&admin, &public, Some("compute-b"), None).await;
    assert_eq!(pinned.host.as_deref(), Some("compute-b"));
    // Rebuild checks its own rule whenever the key is present, even as null.
    let server = boot_and_settle(&demo, &image, None, None).await;
    for value in [json!(["c"]), Value::Null] {
        let (status, body, _) = raw(
            &demo,
            Method::POST,
            &format!("/servers/{}/action", server.id),
            V263,
            Some(json!({"rebuild": {"imageRef": image, "trusted_image_certificates": value}})),
        )
        .await;
        assert_eq!(
            (status, body["forbidden"]["message"].as_str()),
            (StatusCode::FORBIDDEN, Some("Policy doesn't allow os_compute_api:servers:rebuild:trusted_certs to be performed."))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn boot_from_volume_refuses_certificate_validation() {
    let mut d = deployment(true, true, two_local_nodes());
    d.nova.glance.default_trusted_certificate_ids = vec!["default-cert".into()];
    let cloud = cloud(d).await;
    let demo = session(&cloud, "demo").await;
    let bdm =
        json!([{"boot_index": 0, "uuid": "11111111-2222-3333-4444-555555555555", "source_type": "volume", "destination_type": "volume"}]);
    let message = "Image certificate validation is not supported when booting from volume";
    // User-supplied certificates, and the defaults (both options on) alike.
    for body in [
        json!({"server": {"name": "v", "flavorRef": "1", "networks": "none", "block_device_mapping_v2": bdm, "trusted_image_certificates": ["c"]}}),
        json!({"server": {"name": "v", "imageRef": "", "flavorRef": "1", "networks": "none", "block_device_mapping_v2": bdm}}),
    ] {
        let (status, body, _) = raw(&demo, Method::POST, "/servers", V263, Some(body)).await;
        assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"badRequest": {"code": 400, "message": message}})));
    }
    let _ = NewImage::default();
}
