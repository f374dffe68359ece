//! The compute API's image proxy (2.1–2.35) as tempest's snapshot scenario reads it, and the
//! rebuild/update answers: trimmed before 2.75, `user_data` in the rebuild answer from 2.57.

mod nova_support;

use nova_support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sigstack_client::compute;
use sigstack_client::image;

#[tokio::test]
async fn the_image_proxy_shows_a_snapshot_without_its_signature() {
    let cloud = cloud(deployment(true, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let (signed, _, _) = signed_image(&demo, "raw").await;
    let server = boot_and_settle(&demo, &signed, None, None).await;
    assert_active(&server);
    let snapshot = compute::create_image(&demo, &server.id, "snap").await.unwrap();
    image::wait_for_status(&demo, &snapshot, &["active"], WAIT).await.unwrap();
    // The guest's local disk is a qcow2 grown to the flavor's root disk, and so is the snapshot
    // of a RAW image (as the libvirt driver's `snapshot_extract` writes it).
    let shown = image::get_image(&demo, &snapshot).await.unwrap();
    let root = 1 << 30; // m1.tiny's root disk
    assert_eq!((shown.disk_format.as_deref(), shown.virtual_size), (Some("qcow2"), Some(root)), "{shown:?}");
    let data = image::download(&demo, &snapshot).await.unwrap().expect("snapshot data").bytes().await.unwrap();
    assert_eq!(&data[..4], b"QFI\xfb");
    assert_eq!(u64::from_be_bytes(data[24..32].try_into().unwrap()), root);

    let (status, body, _) = raw(&demo, Method::GET, &format!("/images/{snapshot}"), "2.1", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let img = &body["image"];
    assert_eq!((img["status"].as_str(), img["progress"].as_i64()), (Some("ACTIVE"), Some(100)));
    assert_eq!(img["server"]["id"], json!(server.id));
    assert_eq!(img["metadata"]["image_type"], "snapshot");
    assert!(img["metadata"].get("img_signature").is_none(), "{img}");
    assert_eq!(img["links"][2]["type"], "application/vnd.openstack.image");
    let (status, body, _) = raw(&demo, Method::GET, &format!("/images/{snapshot}/metadata"), "2.1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["metadata"]["instance_uuid"], json!(server.id));
    assert!(body["metadata"].get("img_signature_certificate_uuid").is_none());
    // The signed original still has its properties.
    let (_, body, _) = raw(&demo, Method::GET, &format!("/images/{signed}/metadata"), "2.1", None).await;
    assert!(body["metadata"].get("img_signature").is_some());

    let missing = "0f3c2b1e-6a52-4e1d-9d32-2f7c8e1b5a60";
    let (status, body, _) = raw(&demo, Method::GET, &format!("/images/{missing}"), "2.1", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"itemNotFound": {"code": 404, "message": "Image not found."}})));
    // Gone after 2.35 (the metadata routes after 2.38).
    let (status, _, _) = raw(&demo, Method::GET, &format!("/images/{snapshot}"), "2.36", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = raw(&demo, Method::GET, &format!("/images/{snapshot}/metadata"), "2.38", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = raw(&demo, Method::GET, &format!("/images/{snapshot}/metadata"), "2.39", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rebuild_answers_follow_the_microversion() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let image = image_with(&demo, "qcow2", "private", &image_bytes("qcow2", 5), &[]).await;
    let server = boot_and_settle(&demo, &image, None, None).await;
    assert_active(&server);

    let body = json!({"rebuild": {"imageRef": image, "user_data": "aGVsbG8="}});
    let (status, answer, _) = raw(&demo, Method::POST, &format!("/servers/{}/action", server.id), "2.63", Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let view = answer["server"].as_object().unwrap();
    assert_eq!(view["user_data"], "aGVsbG8=");
    for absent in ["OS-EXT-STS:vm_state", "OS-EXT-AZ:availability_zone", "security_groups", "config_drive", "OS-SRV-USG:launched_at"] {
        assert!(!view.contains_key(absent), "{absent} in a 2.63 rebuild answer");
    }
    assert!(view.contains_key("trusted_image_certificates") && view.contains_key("adminPass"));
    settle(&demo, &server.id).await;

    let body = json!({"rebuild": {"imageRef": image}});
    let (_, answer, _) = raw(&demo, Method::POST, &format!("/servers/{}/action", server.id), "2.75", Some(body)).await;
    let view = answer["server"].as_object().unwrap();
    assert!(view.contains_key("OS-EXT-STS:vm_state") && view.contains_key("OS-EXT-AZ:availability_zone"), "{answer}");
    assert_eq!(view["user_data"], "aGVsbG8=", "kept when the rebuild does not name it");
    settle(&demo, &server.id).await;

    let (_, answer, _) =
        raw(&demo, Method::PUT, &format!("/servers/{}", server.id), "2.1", Some(json!({"server": {"name": "renamed"}}))).await;
    assert_eq!(answer["server"]["name"], "renamed");
    assert!(answer["server"].get("OS-EXT-STS:vm_state").is_none(), "{answer}");
    assert!(answer["server"].get("user_data").is_none());
}
