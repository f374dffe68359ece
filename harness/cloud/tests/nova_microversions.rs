//! Nova 34's microversions after 2.96 over HTTP, each at the version before and at the version
//! that changes it: the range (2.104, or a deployment's older maximum), the server shares of
//! 2.97 in a cloud without Manila, the image properties of 2.98, the scheduler hints of 2.100,
//! the body-less volume attach of 2.101, the closed query strings and flavor changes of 2.102,
//! the availability-zone pinning of 2.104 (and the `pinned_availability_zone` of 2.96 it
//! changes), and the deprecation warning for `[glance] enable_certificate_validation`.
//! 2.99 (`spice-direct` consoles) and 2.103 (no more `/os-volumes_boot`) concern APIs the
//! simulator does not have.

mod nova_support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nova_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::compute::{self, NewServer};
use sigstack_client::volume::{self, NewVolume};
use sigstack_cloud::CloudHandle;

/// The message of a Nova fault body, whatever its name.
fn message(body: &Value) -> String {
    body.as_object().and_then(|o| o.values().next()).and_then(|f| f["message"].as_str()).unwrap_or_default().to_owned()
}

/// A request's status and fault message.
async fn refusal(s: &Session, method: Method, path: &str, version: &str, body: Option<Value>) -> (StatusCode, String) {
    let (status, body, _) = raw(s, method, path, version, body).await;
    (status, message(&body))
}

/// A raw create at `version`; the new server's id.
async fn create(s: &Session, version: &str, body: Value) -> String {
    let (status, answer, _) = raw(s, Method::POST, "/servers", version, Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    answer["server"]["id"].as_str().expect("id").to_owned()
}

fn server_body(image: &str) -> Value {
    json!({"name": "vm", "imageRef": image, "flavorRef": "1", "networks": "auto"})
}

/// `GET /servers/{id}` at `version`: the server.
async fn show(s: &Session, id: &str, version: &str) -> Value {
    let (status, body, _) = raw(s, Method::GET, &format!("/servers/{id}"), version, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["server"].clone()
}

/// The server as `GET /servers/detail` at `version` lists it.
async fn detail(s: &Session, id: &str, version: &str) -> Value {
    let (status, body, _) = raw(s, Method::GET, "/servers/detail", version, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["servers"].as_array().unwrap().iter().find(|x| x["id"] == id).expect("listed").clone()
}

/// `PUT /servers/{id}` at `version`: status and body.
async fn put(s: &Session, id: &str, version: &str, server: Value) -> (StatusCode, Value) {
    let (status, body, _) = raw(s, Method::PUT, &format!("/servers/{id}"), version, Some(json!({"server": server}))).await;
    (status, body)
}

async fn rebuild(s: &Session, id: &str, version: &str, image: &str) -> Value {
    let (status, body, _) =
        raw(s, Method::POST, &format!("/servers/{id}/action"), version, Some(json!({"rebuild": {"imageRef": image}}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["server"].clone()
}

async fn plain_image(s: &Session, props: &[(&str, String)]) -> String {
    image_with(s, "raw", "private", &data(1000, 1), props).await
}

async fn version_of(cloud: &CloudHandle) -> (String, String) {
    let root: Value = reqwest::get(&cloud.endpoints.compute).await.unwrap().json().await.unwrap();
    let v21: Value = reqwest::get(format!("{}/v2.1", cloud.endpoints.compute)).await.unwrap().json().await.unwrap();
    (root["versions"][1]["version"].as_str().unwrap().to_owned(), v21["version"]["version"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_range_ends_at_2_104_or_at_the_deployments_maximum() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    assert_eq!(version_of(&cloud).await, ("2.104".to_owned(), "2.104".to_owned()));
    let demo = session(&cloud, "demo").await;
    let (_, _, headers) = raw(&demo, Method::GET, "/flavors", "latest", None).await;
    assert_eq!(
        (headers["OpenStack-API-Version"].to_str().unwrap(), headers["X-OpenStack-Nova-API-Version"].to_str().unwrap()),
        ("compute 2.104", "2.104")
    );
    assert_eq!(raw(&demo, Method::GET, "/flavors", "2.104", None).await.0, StatusCode::OK);
    let (status, body, _) = raw(&demo, Method::GET, "/flavors", "2.105", None).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_ACCEPTABLE,
            json!({"computeFault": {"code": 406, "message": "Version 2.105 is not supported by the API. Minimum is 2.1 and maximum is 2.104."}})
        )
    );

    // Nova 30 (2024.2 Dalmatian) ends at 2.96.
    let mut dalmatian = deployment(false, false, two_local_nodes());
    dalmatian.nova.max_microversion = "2.96".into();
    let older = nova_support::cloud(dalmatian).await;
    assert_eq!(version_of(&older).await, ("2.96".to_owned(), "2.96".to_owned()));
    let demo = session(&older, "demo").await;
    let (_, _, headers) = raw(&demo, Method::GET, "/flavors", "latest", None).await;
    assert_eq!(headers["OpenStack-API-Version"], "compute 2.96");
    assert_eq!(
        refusal(&demo, Method::GET, "/flavors", "2.97", None).await,
        (StatusCode::NOT_ACCEPTABLE, "Version 2.97 is not supported by the API. Minimum is 2.1 and maximum is 2.96.".to_owned())
    );
    // The maximum is read per request: patching the deployment upgrades the running cloud.
    patch_deployment(&older, json!({"nova": {"max_microversion": "2.104"}})).await;
    assert_eq!(version_of(&older).await, ("2.104".to_owned(), "2.104".to_owned()));
    assert_eq!(raw(&demo, Method::GET, "/flavors", "2.97", None).await.0, StatusCode::OK);
    let (status, body) = sim(&older, Method::PATCH, "/_sim/deployment", Some(json!({"nova": {"max_microversion": "2.105"}})), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("nova.max_microversion must be between 2.1 and 2.104 (Nova 34.0.0), got '2.105'"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_shares_in_a_cloud_without_manila() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let image = plain_image(&demo, &[]).await;
    let active = boot_and_settle(&demo, &image, None, None).await;
    assert_active(&active);
    // Certificates the user gives make Nova verify the unsigned image: the build fails.
    let broken = boot_and_settle(&demo, &image, None, Some(&["cert-1"])).await;
    assert_eq!(broken.status, "ERROR");
    let (a, b) = (active.id.as_str(), broken.id.as_str());
    let share = uuid::Uuid::new_v4().to_string();
    let shares = format!("/servers/{a}/shares");

    // Before 2.97 the routes have no method.
    let not_found = (StatusCode::NOT_FOUND, "The resource could not be found.".to_owned());
    assert_eq!(refusal(&demo, Method::GET, &shares, "2.96", None).await, not_found);
    assert_eq!(refusal(&demo, Method::GET, &format!("{shares}/{share}"), "2.96", None).await, not_found);
    assert_eq!(refusal(&demo, Method::DELETE, &format!("{shares}/{share}"), "2.96", None).await, not_found);
    assert_eq!(refusal(&demo, Method::POST, &shares, "2.96", Some(json!({"share": {"share_id": share}}))).await, not_found);

    // No share is ever attached.
    let (status, body, _) = raw(&demo, Method::GET, &shares, "2.97", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"shares": []})));
    assert_eq!(
        refusal(&demo, Method::GET, &format!("{shares}?all=1"), "2.97", None).await,
        (StatusCode::BAD_REQUEST, "Additional properties are not allowed ('all' was unexpected)".to_owned())
    );
    let (status, body, _) = raw(&demo, Method::GET, &format!("{shares}/{share}"), "2.97", None).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"itemNotFound": {"code": 404, "message": format!("Share {share} could not be found.")}}))
    );

    // The server is found by its cell mapping, which knows every project's servers.
    let nobody = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        refusal(&demo, Method::GET, &format!("/servers/{nobody}/shares"), "2.97", None).await,
        (StatusCode::NOT_FOUND, format!("Instance {nobody} has no mapping to a cell."))
    );
    let alt = session(&cloud, "alt_demo").await;
    assert_eq!(
        refusal(&alt, Method::GET, &shares, "2.97", None).await,
        (StatusCode::FORBIDDEN, "Policy doesn't allow os_compute_api:os-server-shares:index to be performed.".to_owned())
    );
    assert_eq!(
        refusal(&alt, Method::DELETE, &format!("{shares}/{share}"), "2.97", None).await,
        (StatusCode::FORBIDDEN, "Policy doesn't allow os_compute_api:os-server-shares:delete to be performed.".to_owned())
    );

    // Attach: the body, then the server's state (stopped only), then the compute node, which
    // is not set up for virtiofs; Manila is never asked.
    let attach = |server: &str| format!("/servers/{server}/shares");
    assert_eq!(
        refusal(&demo, Method::POST, &attach(a), "2.97", Some(json!({"share": {"share_id": "x"}}))).await,
        (StatusCode::BAD_REQUEST, "Invalid input for field/attribute share_id. Value: x. 'x' is not a 'uuid'".to_owned())
    );
    assert_eq!(
        refusal(&demo, Method::POST, &attach(a), "2.97", Some(json!({"share": {"share_id": share, "tag": "my tag"}}))).await,
        (
            StatusCode::BAD_REQUEST,
            "Invalid input for field/attribute tag. Value: my tag. 'my tag' does not match '^[a-zA-Z0-9-]*$'".to_owned()
        )
    );
    assert_eq!(
        refusal(&demo, Method::POST, &attach(&nobody), "2.97", Some(json!({"share": {"share_id": share}}))).await,
        (StatusCode::NOT_FOUND, format!("Instance {nobody} has no mapping to a cell."))
    );
    let (status, body, _) = raw(&demo, Method::POST, &attach(a), "2.97", Some(json!({"share": {"share_id": share}}))).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            json!({"conflictingRequest": {"code": 409, "message": format!("Cannot 'create share' instance {a} while it is in vm_state active")}})
        )
    );
    assert_eq!(
        refusal(&demo, Method::POST, &attach(b), "2.97", Some(json!({"share": {"share_id": share, "tag": "data"}}))).await,
        (StatusCode::CONFLICT, format!("Cannot 'create share' instance {b} while it is in vm_state error"))
    );

    // Detach: the state (stopped or error) before the share.
    assert_eq!(
        refusal(&demo, Method::DELETE, &format!("{shares}/{share}"), "2.97", None).await,
        (StatusCode::CONFLICT, format!("Cannot 'delete share' instance {a} while it is in vm_state active"))
    );
    assert_eq!(
        refusal(&demo, Method::DELETE, &format!("/servers/{b}/shares/{share}"), "2.97", None).await,
        (StatusCode::NOT_FOUND, format!("Share {share} could not be found."))
    );
    // A body that is no JSON is refused before the microversion is looked at.
    let url = format!("{}{}", compute::endpoint(&demo).unwrap(), attach(a));
    let r =
        compute::request_at(&demo, Method::POST, &url, "2.96").header("Content-Type", "application/json").body("{").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn image_properties_from_system_metadata_from_2_98() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo, RSA_CERT).await;
    let bytes = image_bytes("raw", 3);
    let mut props = signed_props(RSA_KEY, &bytes, &cert);
    let signature = props[0].1.clone();
    assert_eq!(signature.len(), 344, "a 2048-bit signature in base64");
    props.extend([("hw_disk_bus", "virtio".to_owned()), ("os_distro", "cirros".to_owned()), ("my_property", "custom".to_owned())]);
    let signed = image_with(&demo, "raw", "private", &bytes, &props).await;
    // Nova does not verify here: the server boots from the signed image.
    let server = boot_and_settle(&demo, &signed, None, None).await;
    assert_active(&server);
    let id = server.id.as_str();
    // What Nova keeps as `image_*` system metadata, cut at 255, of the properties it knows,
    // with the libvirt driver's defaults registered once the guest ran (`hw_disk_bus` being
    // the image's own).
    let expected = json!({
        "img_signature": signature[..255], "img_signature_hash_method": "SHA-256", "img_signature_key_type": "RSA-PSS",
        "img_signature_certificate_uuid": cert, "hw_disk_bus": "virtio", "os_distro": "cirros",
        "hw_cdrom_bus": "ide", "hw_input_bus": "usb", "hw_machine_type": "pc", "hw_pointer_model": "usbtablet",
        "hw_video_model": "virtio", "hw_vif_model": "virtio",
    });

    let before = show(&demo, id, "2.97").await;
    assert_eq!(before["image"]["id"], signed.as_str());
    assert!(before["image"].get("properties").is_none(), "{}", before["image"]);
    assert_eq!(show(&demo, id, "2.98").await["image"]["properties"], expected);
    assert_eq!(detail(&demo, id, "2.98").await["image"]["properties"], expected);
    assert!(detail(&demo, id, "2.97").await["image"].get("properties").is_none());
    let (status, body) = put(&demo, id, "2.98", json!({"name": "renamed"})).await;
    assert_eq!((status, &body["server"]["image"]["properties"]), (StatusCode::OK, &expected));
    let (_, body) = put(&demo, id, "2.97", json!({"name": "again"})).await;
    assert!(body["server"]["image"].get("properties").is_none());

    // A rebuild replaces them with the new image's.
    let other = plain_image(&demo, &[("os_distro", "ubuntu".to_owned()), ("hw_video_model", "virtio".to_owned())]).await;
    let rebuilt = rebuild(&demo, id, "2.98", &other).await;
    assert_eq!(
        rebuilt["image"],
        json!({"id": other, "links": [{"rel": "bookmark", "href": format!("{}/images/{other}", cloud.endpoints.compute)}],
                                          "properties": {"os_distro": "ubuntu", "hw_video_model": "virtio"}})
    );
    let settled = settle(&demo, id).await;
    assert_active(&settled);
    // Spawned again: the defaults registered anew, the image's `hw_video_model` kept.
    assert_eq!(
        show(&demo, id, "2.98").await["image"]["properties"],
        json!({"os_distro": "ubuntu", "hw_video_model": "virtio", "hw_cdrom_bus": "ide", "hw_disk_bus": "virtio",
               "hw_input_bus": "usb", "hw_machine_type": "pc", "hw_pointer_model": "usbtablet", "hw_vif_model": "virtio"})
    );
    let again = rebuild(&demo, id, "2.97", &signed).await;
    assert!(again["image"].get("properties").is_none());

    // A volume-backed server has no image to describe.
    let (status, body, _) = raw(&demo, Method::POST, "/servers", "2.98", Some(json!({"server": {"name": "bfv", "flavorRef": "1", "networks": "auto",
        "block_device_mapping_v2": [{"boot_index": 0, "uuid": other, "source_type": "image", "destination_type": "volume", "volume_size": 1}]}}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let bfv = body["server"]["id"].as_str().unwrap().to_owned();
    assert_eq!(show(&demo, &bfv, "2.98").await["image"], "");
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduler_hints_from_2_100() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let image = plain_image(&demo, &[]).await;
    let hinted = create(
        &demo,
        "2.100",
        json!({"server": server_body(&image), "os:scheduler_hints": {"custom": "x", "count": 5, "zones": ["a", 1], "_nova_check_type": "rebuild"}}),
    )
    .await;
    let legacy = create(
        &demo,
        "2.37",
        json!({"server": server_body(&image), "OS-SCH-HNT:scheduler_hints": {"build_near_host_ip": "10.0.0.1", "cidr": "/24"}}),
    )
    .await;
    let plain = create(&demo, "2.100", json!({"server": server_body(&image)})).await;
    let expected = json!({"custom": ["x"], "count": ["5"], "zones": ["a", "1"]});

    assert!(show(&demo, &hinted, "2.99").await.get("scheduler_hints").is_none());
    assert_eq!(show(&demo, &hinted, "2.100").await["scheduler_hints"], expected);
    assert_eq!(show(&demo, &legacy, "2.100").await["scheduler_hints"], json!({"build_near_host_ip": ["10.0.0.1"], "cidr": ["/24"]}));
    assert_eq!(show(&demo, &plain, "2.100").await["scheduler_hints"], json!({}));
    assert_eq!(detail(&demo, &hinted, "2.100").await["scheduler_hints"], expected);
    assert!(detail(&demo, &hinted, "2.99").await.get("scheduler_hints").is_none());
    let (status, body) = put(&demo, &hinted, "2.100", json!({"name": "renamed"})).await;
    assert_eq!((status, &body["server"]["scheduler_hints"]), (StatusCode::OK, &expected));
    let (_, body) = put(&demo, &hinted, "2.99", json!({"name": "renamed"})).await;
    assert!(body["server"].get("scheduler_hints").is_none());
    assert_active(&settle(&demo, &hinted).await);
    assert_eq!(rebuild(&demo, &hinted, "2.100", &image).await["scheduler_hints"], expected);

    // The create schema's hints, and a server group that does not exist.
    let group = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        refusal(
            &demo,
            Method::POST,
            "/servers",
            "2.100",
            Some(json!({"server": server_body(&image), "os:scheduler_hints": {"group": group}}))
        )
        .await,
        (StatusCode::BAD_REQUEST, format!("Instance group {group} could not be found."))
    );
    assert_eq!(
        refusal(
            &demo,
            Method::POST,
            "/servers",
            "2.100",
            Some(json!({"server": server_body(&image), "os:scheduler_hints": {"different_host": "h"}}))
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            "Invalid input for field/attribute different_host. Value: h. 'h' is not valid under any of the given schemas".to_owned()
        )
    );
    assert_eq!(
        refusal(&demo, Method::POST, "/servers", "2.100", Some(json!({"server": server_body(&image), "os:scheduler_hints": ["x"]}))).await,
        (
            StatusCode::BAD_REQUEST,
            "Invalid input for field/attribute os:scheduler_hints. Value: ['x']. ['x'] is not of type 'object'".to_owned()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn volume_attach_answers_202_without_a_body_from_2_101() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let image = plain_image(&demo, &[]).await;
    let first = boot_and_settle(&demo, &image, None, None).await;
    let second = boot_and_settle(&demo, &image, None, None).await;
    assert_active(&first);
    assert_active(&second);
    let blank = || NewVolume { size: 1, ..NewVolume::default() };
    let mut volumes = Vec::new();
    for _ in 0..2 {
        let created = volume::create_volume(&demo, &blank()).await.unwrap();
        volumes.push(volume::wait_for_volume_status(&demo, &created.id, &["available"], WAIT).await.unwrap().id);
    }
    let path = |server: &str| format!("/servers/{server}/os-volume_attachments");
    let body = |id: &str| json!({"volumeAttachment": {"volumeId": id}});

    let (status, answer, _) = raw(&demo, Method::POST, &path(&first.id), "2.100", Some(body(&volumes[0]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["volumeAttachment"]["device"], "/dev/vdb");
    assert_eq!(answer["volumeAttachment"]["tag"], Value::Null);

    let (status, answer, headers) = raw(&demo, Method::POST, &path(&first.id), "2.101", Some(body(&volumes[1]))).await;
    assert_eq!((status, answer), (StatusCode::ACCEPTED, Value::Null));
    assert_eq!(headers["Content-Type"], "text/html; charset=UTF-8");
    assert_eq!(headers["Content-Length"], "0");
    assert_eq!(headers["OpenStack-API-Version"], "compute 2.101");
    for id in &volumes {
        volume::wait_for_volume_status(&demo, id, &["in-use"], WAIT).await.unwrap();
    }
    let attached: Vec<String> =
        compute::list_volume_attachments(&demo, "2.101", &first.id).await.unwrap().into_iter().map(|a| a.volume_id).collect();
    assert_eq!(attached, volumes);

    // The API's own checks still answer...
    assert_eq!(
        refusal(&demo, Method::POST, &path(&first.id), "2.101", Some(body(&volumes[1]))).await,
        (StatusCode::BAD_REQUEST, format!("Invalid volume: volume {} already attached", volumes[1]))
    );
    // ...but Cinder's refusal to reserve an in-use volume comes after the answer: at 2.100 it
    // is the answer, at 2.101 the mapping is undone and the volume stays where it was.
    let (status, text) = refusal(&demo, Method::POST, &path(&second.id), "2.100", Some(body(&volumes[0]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.starts_with("Invalid input received: Invalid volume: Volume "), "{text}");
    let (status, _, _) = raw(&demo, Method::POST, &path(&second.id), "2.101", Some(body(&volumes[0]))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let deadline = std::time::Instant::now() + WAIT;
    while !compute::list_volume_attachments(&demo, "2.1", &second.id).await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the refused mapping stays");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kept = volume::get_volume(&demo, &volumes[0]).await.unwrap();
    assert_eq!((kept.status.as_str(), kept.attachments.len()), ("in-use", 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn flavors_lose_rxtx_factor_and_gain_the_name_filter_at_2_102() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let flavors = |body: &Value| -> Vec<String> {
        body["flavors"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_owned()).collect()
    };

    let (_, before, _) = raw(&demo, Method::GET, "/flavors/detail", "2.101", None).await;
    let tiny = &before["flavors"][0];
    assert_eq!((&tiny["rxtx_factor"], &tiny["OS-FLV-DISABLED:disabled"]), (&json!(1.0), &json!(false)));
    let (_, after, _) = raw(&demo, Method::GET, "/flavors/detail", "2.102", None).await;
    let mut keys: Vec<&str> = after["flavors"][0].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "OS-FLV-EXT-DATA:ephemeral",
            "description",
            "disk",
            "extra_specs",
            "id",
            "links",
            "name",
            "os-flavor-access:is_public",
            "ram",
            "swap",
            "vcpus"
        ]
    );
    let (_, shown, _) = raw(&demo, Method::GET, "/flavors/1", "2.102", None).await;
    assert!(shown["flavor"].get("rxtx_factor").is_none() && shown["flavor"].get("OS-FLV-DISABLED:disabled").is_none(), "{shown}");
    let (_, shown, _) = raw(&demo, Method::GET, "/flavors/1", "2.101", None).await;
    assert_eq!(shown["flavor"]["rxtx_factor"], 1.0);

    // `name`: dropped before 2.75, refused from 2.75, a regular expression from 2.102.
    let (status, all, _) = raw(&demo, Method::GET, "/flavors?name=nano", "2.74", None).await;
    assert_eq!((status, flavors(&all).len()), (StatusCode::OK, 6));
    assert_eq!(
        refusal(&demo, Method::GET, "/flavors?name=nano", "2.101", None).await,
        (StatusCode::BAD_REQUEST, "Additional properties are not allowed ('name' was unexpected)".to_owned())
    );
    let (status, nano, _) = raw(&demo, Method::GET, "/flavors?name=nano", "2.102", None).await;
    assert_eq!((status, flavors(&nano)), (StatusCode::OK, vec!["m1.nano".to_owned()]));
    let (_, some, _) = raw(&demo, Method::GET, "/flavors/detail?name=%5Em1%5C.(tiny%7Csmall)%24", "2.102", None).await;
    assert_eq!(flavors(&some), ["m1.tiny", "m1.small"]);
    assert!(some["flavors"][0].get("rxtx_factor").is_none());
    let (_, none, _) = raw(&demo, Method::GET, "/flavors?name=TINY", "2.102", None).await;
    assert!(flavors(&none).is_empty());

    // The `rxtx_factor` sort key goes too.
    assert_eq!(raw(&demo, Method::GET, "/flavors?sort_key=rxtx_factor", "2.101", None).await.0, StatusCode::OK);
    assert_eq!(
        refusal(&demo, Method::GET, "/flavors/detail?sort_key=rxtx_factor", "2.102", None).await,
        (
            StatusCode::BAD_REQUEST,
            "Invalid input for query parameters sort_key. Value: rxtx_factor. 'rxtx_factor' is not one of ['created_at', 'description', \
             'disabled', 'ephemeral_gb', 'flavorid', 'id', 'is_public', 'memory_mb', 'name', 'root_gb', 'swap', 'updated_at', \
             'vcpu_weight', 'vcpus']"
                .to_owned()
        )
    );
    assert_eq!(
        refusal(&demo, Method::GET, "/flavors?limit=ten", "2.1", None).await,
        (StatusCode::BAD_REQUEST, "Invalid input for query parameters limit. Value: ten. 'ten' does not match '^[0-9]*$'".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn query_strings_are_closed_at_2_102() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let image = plain_image(&demo, &[]).await;
    let server = create(&demo, "2.37", json!({"server": server_body(&image)})).await;
    let unexpected = |names: &str| (StatusCode::BAD_REQUEST, format!("Additional properties are not allowed ({names} unexpected)"));

    for path in [format!("/servers/{server}?debug=1"), "/flavors/1?debug=1".to_owned()] {
        assert_eq!(raw(&demo, Method::GET, &path, "2.101", None).await.0, StatusCode::OK, "{path}");
        assert_eq!(refusal(&demo, Method::GET, &path, "2.102", None).await, unexpected("'debug' was"), "{path}");
    }
    assert_eq!(
        refusal(&demo, Method::GET, &format!("/servers/{server}?zeta=1&alpha=2&zeta=3"), "2.104", None).await,
        unexpected("'alpha', 'zeta' were")
    );
    // The query is checked before the server is looked up.
    let nobody = uuid::Uuid::new_v4().to_string();
    assert_eq!(refusal(&demo, Method::GET, &format!("/servers/{nobody}?debug=1"), "2.102", None).await, unexpected("'debug' was"));

    // The attachments list closed at 2.75 already; an attachment's show stays open in Nova 34,
    // whose `show_query_v2102` is defined but never applied.
    let attachments = format!("/servers/{server}/os-volume_attachments");
    assert_eq!(raw(&demo, Method::GET, &format!("{attachments}?debug=1"), "2.74", None).await.0, StatusCode::OK);
    assert_eq!(refusal(&demo, Method::GET, &format!("{attachments}?debug=1"), "2.75", None).await, unexpected("'debug' was"));
    assert_eq!(
        refusal(&demo, Method::GET, &format!("{attachments}?limit=-1"), "2.1", None).await,
        (StatusCode::BAD_REQUEST, "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'".to_owned())
    );
    let volume = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        refusal(&demo, Method::GET, &format!("{attachments}/{volume}?debug=1"), "2.104", None).await,
        (StatusCode::NOT_FOUND, format!("Instance {server} is not attached to volume {volume}"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pinned_availability_zone_shown_from_2_96_and_changed_from_2_104() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let image = plain_image(&demo, &[]).await;
    let free = boot_and_settle(&demo, &image, None, None).await;
    assert_active(&free);
    let placed = compute::create_server(&demo, "2.96", &NewServer::from_image("pinned", &image).on_host("compute-a")).await.unwrap();
    assert_active(&settle(&demo, &placed.id).await);
    let (a, b) = (free.id.as_str(), placed.id.as_str());

    assert!(show(&demo, a, "2.95").await.get("pinned_availability_zone").is_none());
    assert_eq!(show(&demo, a, "2.96").await["pinned_availability_zone"], Value::Null);
    assert_eq!(show(&demo, b, "2.96").await["pinned_availability_zone"], "nova");
    assert_eq!(detail(&demo, b, "2.96").await["pinned_availability_zone"], "nova");

    let (status, body) = put(&demo, a, "2.103", json!({"pinned_availability_zone": "nova"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).ends_with("Additional properties are not allowed ('pinned_availability_zone' was unexpected)"), "{body}");
    let (status, body) = put(&demo, a, "2.104", json!({"pinned_availability_zone": ""})).await;
    assert_eq!(
        (status, message(&body)),
        (
            StatusCode::BAD_REQUEST,
            "Invalid input for field/attribute pinned_availability_zone. Value: . '' is not valid under any of the given schemas"
                .to_owned()
        )
    );
    // The schema comes before the server is looked up.
    let nobody = uuid::Uuid::new_v4().to_string();
    assert_eq!(put(&demo, &nobody, "2.104", json!({"pinned_availability_zone": 5})).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(put(&demo, &nobody, "2.104", json!({"pinned_availability_zone": null})).await.0, StatusCode::NOT_FOUND);

    // Pin an unpinned server to its own zone only.
    let (status, body) = put(&demo, a, "2.104", json!({"pinned_availability_zone": "az2"})).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            json!({"conflictingRequest": {"code": 409, "message": "Server can only be pinned to its current availability zone 'nova', but 'az2' was requested."}})
        )
    );
    let (status, body) = put(&demo, a, "2.104", json!({"pinned_availability_zone": "nova", "name": "pinned-now"})).await;
    assert_eq!(
        (status, &body["server"]["pinned_availability_zone"], &body["server"]["name"]),
        (StatusCode::OK, &json!("nova"), &json!("pinned-now"))
    );
    assert_eq!(show(&demo, a, "2.104").await["pinned_availability_zone"], "nova");
    // A pinned server is unpinned before it moves to another zone; a refused change changes nothing.
    let (status, body) = put(&demo, b, "2.104", json!({"pinned_availability_zone": "az2", "name": "moved"})).await;
    assert_eq!(
        (status, message(&body)),
        (
            StatusCode::CONFLICT,
            "Cannot change pinned availability zone directly. Unpin first by setting pinned_availability_zone to null.".to_owned()
        )
    );
    assert_eq!(show(&demo, b, "2.104").await["name"], "pinned");
    assert_eq!(put(&demo, b, "2.104", json!({"pinned_availability_zone": "nova"})).await.0, StatusCode::OK);
    let (status, body) = put(&demo, b, "2.104", json!({"pinned_availability_zone": null})).await;
    assert_eq!((status, &body["server"]["pinned_availability_zone"]), (StatusCode::OK, &Value::Null));
    assert_eq!(show(&demo, b, "2.96").await["pinned_availability_zone"], Value::Null);
}

/// A log writer into a shared buffer.
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The runtime of a plain `#[tokio::test]` is this thread's only, so a subscriber set as this
/// thread's default sees everything the clouds started here log while starting.
#[tokio::test]
async fn enable_certificate_validation_logs_its_deprecation_once_at_start() {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || Buffer(writer.clone())).finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let text = || String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    let first_line = "Deprecated: Option \"enable_certificate_validation\" from group \"glance\" is deprecated for removal (";

    let _off = cloud(deployment(true, false, two_local_nodes())).await;
    assert_eq!(text().matches(first_line).count(), 0, "{}", text());
    let on = cloud(deployment(true, true, two_local_nodes())).await;
    let logged = text();
    assert_eq!(logged.matches(first_line).count(), 1, "{logged}");
    let expected = concat!(
        "Deprecated: Option \"enable_certificate_validation\" from group \"glance\" is deprecated for removal (\n",
        "This option is intended to ease the transition for deployments leveraging\n",
        "image signature verification. The intended state long-term is for signature\n",
        "verification and certificate validation to always happen together.\n",
        ").  Its value may be silently ignored in the future."
    );
    assert!(logged.contains(expected), "{logged}");
    // The message, then the event's fields, on a WARN line.
    let line = logged.lines().find(|l| l.contains(first_line)).unwrap();
    assert!(line.contains(" WARN "), "{line}");
    let after = &logged[logged.find(expected).unwrap() + expected.len()..];
    assert!(after.starts_with(" service=\"nova\" logger=\"oslo_config.cfg\""), "{after}");
    // Requests do not log it again.
    let demo = session(&on, "demo").await;
    compute::list_flavors(&demo).await.unwrap();
    assert_eq!(text().matches(first_line).count(), 1);
}
