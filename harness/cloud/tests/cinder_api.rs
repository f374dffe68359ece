//! Cinder v3's wider API over HTTP, as Tempest's volume tests drive it: the create answers'
//! shapes (no `qos_specs_id` on a new type, no tenant attribute on a new volume), volume
//! update and metadata, the volume actions (bootable, read-only, reserve, legacy attach and
//! detach, the admin's reset, force delete and force detach, retype, image metadata), list
//! filters and pagination, the summary, and transfers between projects.

mod cinder_support;

use cinder_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::volume;

/// A blank 1 GiB volume, waited for.
async fn blank(s: &Session, name: &str, metadata: Value) -> String {
    let p = project(s);
    let (status, _, body) =
        raw(s, Method::POST, &format!("/v3/{p}/volumes"), None, Some(json!({"volume": {"size": 1, "name": name, "metadata": metadata}})))
            .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["volume"]["id"].as_str().unwrap().to_owned();
    volume::wait_for_volume_status(s, &id, &["available"], WAIT).await.unwrap();
    id
}

async fn action(s: &Session, id: &str, body: Value) -> (StatusCode, Value) {
    let p = project(s);
    let (status, _, body) = raw(s, Method::POST, &format!("/v3/{p}/volumes/{id}/action"), None, Some(body)).await;
    (status, body)
}

async fn show(s: &Session, id: &str) -> Value {
    let p = project(s);
    let (status, _, body) = raw(s, Method::GET, &format!("/v3/{p}/volumes/{id}"), None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["volume"].clone()
}

#[tokio::test]
async fn create_answers_have_the_real_shapes() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let demo = session(&cloud, "demo").await;
    let (pa, pd) = (project(&admin), project(&demo));

    // `types_manage` answers with the old view: all extra specs, no `qos_specs_id`.
    let (status, _, body) = raw(
        &admin,
        Method::POST,
        &format!("/v3/{pa}/types"),
        None,
        Some(json!({"volume_type": {"name": "gold", "extra_specs": {"k": "v"}}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let t = body["volume_type"].as_object().unwrap();
    let mut keys: Vec<&str> = t.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["description", "extra_specs", "id", "is_public", "name", "os-volume-type-access:is_public"]);
    // GET shows `qos_specs_id` to admins; members see neither it nor the sensitive specs.
    let id = t["id"].as_str().unwrap();
    let (_, _, shown) = raw(&admin, Method::GET, &format!("/v3/{pa}/types/{id}"), None, None).await;
    assert_eq!(shown["volume_type"]["qos_specs_id"], Value::Null);
    assert_eq!(shown["volume_type"]["extra_specs"], json!({"k": "v"}));
    let (_, _, shown) = raw(&demo, Method::GET, &format!("/v3/{pd}/types/{id}"), None, None).await;
    assert!(shown["volume_type"].get("qos_specs_id").is_none());
    assert_eq!(shown["volume_type"]["extra_specs"], json!({}));

    // `POST /volumes`: no extension attributes; GET adds the tenant attribute.
    let (status, _, created) = raw(&demo, Method::POST, &format!("/v3/{pd}/volumes"), None, Some(json!({"volume": {"size": 1}}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(created["volume"].get("os-vol-tenant-attr:tenant_id").is_none(), "{created}");
    assert!(created["volume"].get("migration_status").is_none(), "members do not see migration_status");
    let id = created["volume"]["id"].as_str().unwrap();
    volume::wait_for_volume_status(&demo, id, &["available"], WAIT).await.unwrap();
    assert_eq!(show(&demo, id).await["os-vol-tenant-attr:tenant_id"], json!(pd));
}

#[tokio::test]
async fn update_and_metadata() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let p = project(&demo);
    let id = blank(&demo, "v", json!({"a": "1"})).await;
    let (status, _, body) =
        raw(&demo, Method::PUT, &format!("/v3/{p}/volumes/{id}"), None, Some(json!({"volume": {"name": "renamed", "description": "d"}})))
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["volume"]["name"].clone(), body["volume"]["description"].clone()), (json!("renamed"), json!("d")));
    let (status, _, body) =
        raw(&demo, Method::PUT, &format!("/v3/{p}/volumes/{}", uuid::Uuid::new_v4()), None, Some(json!({"volume": {"name": "n"}}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let url = format!("/v3/{p}/volumes/{id}/metadata");
    let (status, _, body) = raw(&demo, Method::POST, &url, None, Some(json!({"metadata": {"b": "2"}}))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"metadata": {"a": "1", "b": "2"}})));
    let (status, _, body) = raw(&demo, Method::PUT, &url, None, Some(json!({"metadata": {"c": "3"}}))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"metadata": {"c": "3"}})));
    let (status, _, body) = raw(&demo, Method::PUT, &format!("{url}/c"), None, Some(json!({"meta": {"c": "4"}}))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"meta": {"c": "4"}})));
    let (status, _, body) = raw(&demo, Method::PUT, &format!("{url}/x"), None, Some(json!({"meta": {"c": "4"}}))).await;
    assert_eq!((status, body["badRequest"]["message"].clone()), (StatusCode::BAD_REQUEST, json!("Request body and URI mismatch")));
    let (status, _, body) = raw(&demo, Method::GET, &format!("{url}/c"), None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"meta": {"c": "4"}})));
    let (status, _, _) = raw(&demo, Method::DELETE, &format!("{url}/c"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = raw(&demo, Method::DELETE, &format!("{url}/c"), None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["itemNotFound"]["message"], format!("Volume {id} has no metadata with key c."));
}

#[tokio::test]
async fn volume_actions() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let admin = session(&cloud, "admin").await;
    let id = blank(&demo, "acts", json!({})).await;

    assert_eq!(action(&demo, &id, json!({"os-set_bootable": {"bootable": true}})).await.0, StatusCode::OK);
    assert_eq!(show(&demo, &id).await["bootable"], "true");
    assert_eq!(action(&demo, &id, json!({"os-update_readonly_flag": {"readonly": true}})).await.0, StatusCode::ACCEPTED);
    assert_eq!(show(&demo, &id).await["metadata"]["readonly"], "True");
    action(&demo, &id, json!({"os-update_readonly_flag": {"readonly": false}})).await;

    assert_eq!(action(&demo, &id, json!({"os-reserve": null})).await.0, StatusCode::ACCEPTED);
    assert_eq!(show(&demo, &id).await["status"], "attaching");
    let (status, body) = action(&demo, &id, json!({"os-reserve": null})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["badRequest"]["message"], "Invalid volume: Volume status must be available to reserve, but the status is attaching.");
    assert_eq!(action(&demo, &id, json!({"os-unreserve": null})).await.0, StatusCode::ACCEPTED);
    assert_eq!(show(&demo, &id).await["status"], "available");
    let (status, _) = action(&demo, &uuid::Uuid::new_v4().to_string(), json!({"os-reserve": null})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The legacy attach: in-use at once, with the attachment shown; detach makes it available.
    let server = uuid::Uuid::new_v4().to_string();
    let (status, body) = action(&demo, &id, json!({"os-attach": {"instance_uuid": server, "mountpoint": "/dev/vdb"}})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let v = show(&demo, &id).await;
    assert_eq!((v["status"].clone(), v["attachments"][0]["server_id"].clone()), (json!("in-use"), json!(server)));
    assert_eq!(v["attachments"][0]["device"], "/dev/vdb");
    assert_eq!(action(&demo, &id, json!({"os-detach": {}})).await.0, StatusCode::ACCEPTED);
    let v = show(&demo, &id).await;
    assert_eq!((v["status"].clone(), v["attachments"].clone()), (json!("available"), json!([])));

    // Admin actions: members are refused; the admin resets and force-deletes.
    let (status, body) = action(&demo, &id, json!({"os-reset_status": {"status": "error"}})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let pa = project(&admin);
    let (status, _, _) = raw(
        &admin,
        Method::POST,
        &format!("/v3/{pa}/volumes/{id}/action"),
        None,
        Some(json!({"os-reset_status": {"status": "maintenance"}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(show(&demo, &id).await["status"], "maintenance");
    let (status, _, body) =
        raw(&admin, Method::POST, &format!("/v3/{pa}/volumes/{id}/action"), None, Some(json!({"os-reset_status": {"status": "bogus"}})))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) =
        raw(&admin, Method::POST, &format!("/v3/{pa}/volumes/{id}/action"), None, Some(json!({"os-force_delete": {}}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let p = project(&demo);
    let (status, _, _) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes/{id}"), None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn retype_and_image_metadata() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let demo = session(&cloud, "demo").await;
    let pa = project(&admin);
    let (_, _, t) = raw(&admin, Method::POST, &format!("/v3/{pa}/types"), None, Some(json!({"volume_type": {"name": "silver"}}))).await;
    let id = blank(&demo, "r", json!({})).await;
    let (status, body) = action(&demo, &id, json!({"os-retype": {"new_type": "silver", "migration_policy": "never"}})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(show(&demo, &id).await["volume_type"], "silver");
    let (status, body) = action(&demo, &id, json!({"os-retype": {"new_type": t["volume_type"]["id"]}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["badRequest"]["message"],
        format!("Invalid input received: New volume_type same as original: {}.", t["volume_type"]["id"].as_str().unwrap())
    );

    let (status, body) = action(&demo, &id, json!({"os-set_image_metadata": {"metadata": {"image_name": "x", "ramdisk_id": "r"}}})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"metadata": {"image_name": "x", "ramdisk_id": "r"}})));
    assert_eq!(action(&demo, &id, json!({"os-unset_image_metadata": {"key": "ramdisk_id"}})).await.0, StatusCode::OK);
    let (status, body) = action(&demo, &id, json!({"os-show_image_metadata": null})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"metadata": {"image_name": "x"}})));
    assert_eq!(show(&demo, &id).await["volume_image_metadata"], json!({"image_name": "x"}));
    let (status, _) = action(&demo, &id, json!({"os-unset_image_metadata": {"key": "nope"}})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lists_filter_sort_and_paginate() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let p = project(&demo);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(blank(&demo, &format!("v{i}"), json!({"Type": if i == 0 { "work" } else { "play" }})).await);
    }
    let get = |q: String| {
        let demo = demo.clone();
        let p = p.clone();
        async move { raw(&demo, Method::GET, &format!("/v3/{p}/volumes/detail?{q}"), None, None).await }
    };
    let (_, _, body) = get("name=v1".into()).await;
    assert_eq!(body["volumes"].as_array().unwrap().len(), 1);
    let (_, _, body) = get("status=null".into()).await;
    assert_eq!(body["volumes"], json!([]));
    let (_, _, body) = get("metadata=%7B%27Type%27%3A+%27work%27%7D".into()).await;
    assert_eq!(body["volumes"][0]["id"], json!(ids[0]));
    let (_, _, body) = get("bootable=false&sort=id:asc".into()).await;
    let listed: Vec<&str> = body["volumes"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    // Pagination: a next link while a page is full, carrying the query and the marker.
    let (_, _, body) = get("limit=2&sort=id:asc".into()).await;
    let next = body["volumes_links"][0]["href"].as_str().unwrap().to_owned();
    assert!(next.ends_with(&format!("/v3/{p}/volumes/detail?limit=2&sort=id%3Aasc&marker={}", sorted[1])), "{next}");
    let (_, _, body) = get(next.split_once('?').unwrap().1.to_owned()).await;
    assert_eq!(body["volumes"].as_array().unwrap().len(), 1);
    assert!(body.get("volumes_links").is_none());
    let (status, _, _) = get(format!("marker={}", uuid::Uuid::new_v4())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The summary exists from 3.12.
    let (status, _, body) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes/summary"), Some("3.12"), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"volume-summary": {"total_count": 3, "total_size": 3}})));
    let (_, _, body) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes/summary"), Some("3.36"), None).await;
    assert_eq!(body["volume-summary"]["metadata"], json!({"Type": ["work", "play"]}));
}

#[tokio::test]
async fn transfers_move_a_volume_between_projects() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let alt = session(&cloud, "alt_demo").await;
    let (pd, pa) = (project(&demo), project(&alt));
    let id = blank(&demo, "t", json!({})).await;
    let (status, _, body) =
        raw(&demo, Method::POST, &format!("/v3/{pd}/os-volume-transfer"), None, Some(json!({"transfer": {"volume_id": id, "name": "x"}})))
            .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (tid, key) = (body["transfer"]["id"].as_str().unwrap().to_owned(), body["transfer"]["auth_key"].as_str().unwrap().to_owned());
    assert_eq!(show(&demo, &id).await["status"], "awaiting-transfer");
    let (_, _, listed) = raw(&demo, Method::GET, &format!("/v3/{pd}/os-volume-transfer"), None, None).await;
    assert_eq!(listed["transfers"][0]["id"], json!(tid));
    let (status, _, body) =
        raw(&alt, Method::POST, &format!("/v3/{pa}/os-volume-transfer/{tid}/accept"), None, Some(json!({"accept": {"auth_key": "wrong"}})))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["badRequest"]["message"], format!("Invalid auth key: Attempt to transfer {tid} with invalid auth key."));
    let (status, _, _) =
        raw(&alt, Method::POST, &format!("/v3/{pa}/os-volume-transfer/{tid}/accept"), None, Some(json!({"accept": {"auth_key": key}})))
            .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let v = show(&alt, &id).await;
    assert_eq!((v["status"].clone(), v["os-vol-tenant-attr:tenant_id"].clone()), (json!("available"), json!(pa)));
    let (status, _, _) = raw(&demo, Method::GET, &format!("/v3/{pd}/volumes/{id}"), None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = raw(&demo, Method::GET, &format!("/v3/{pd}/os-volume-transfer/{tid}"), None, None).await;
    assert_eq!(
        (status, body["itemNotFound"]["message"].clone()),
        (StatusCode::NOT_FOUND, json!(format!("Transfer {tid} could not be found.")))
    );
}

#[tokio::test]
async fn uploads_to_qcow2_are_converted() {
    use sigstack_client::image;
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let id = blank(&demo, "up", json!({})).await;
    let (status, body) = action(&demo, &id, json!({"os-volume_upload_image": {"image_name": "as-qcow2", "disk_format": "qcow2"}})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let image_id = body["os-volume_upload_image"]["image_id"].as_str().unwrap().to_owned();
    let shown = image::wait_for_status(&demo, &image_id, &["active"], WAIT).await.unwrap();
    assert_eq!(shown.disk_format.as_deref(), Some("qcow2"));
    let data = image::download(&demo, &image_id).await.unwrap().unwrap().bytes().await.unwrap();
    // A 1 GiB volume of zeros: the qcow2 header, its tables and no data cluster.
    assert_eq!(&data[..8], b"QFI\xfb\0\0\0\x03");
    assert_eq!(u64::from_be_bytes(data[24..32].try_into().unwrap()), sigstack_cloud::cinder::GIB);
    assert_eq!(data.len(), 4 * 65536);
    volume::wait_for_volume_status(&demo, &id, &["available"], WAIT).await.unwrap();
}

#[tokio::test]
async fn detaching_what_is_not_attached_is_no_error() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let id = blank(&demo, "d", json!({})).await;
    assert_eq!(action(&demo, &id, json!({"os-detach": {}})).await.0, StatusCode::ACCEPTED);
    assert_eq!(show(&demo, &id).await["status"], "available");
    for server in [uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string()] {
        let (status, body) = action(&demo, &id, json!({"os-attach": {"instance_uuid": server, "mountpoint": "/dev/vdb"}})).await;
        if status != StatusCode::ACCEPTED {
            // The second attach of a non-multiattach volume.
            assert_eq!(body["badRequest"]["message"], "Invalid volume: volume is already attached");
        }
    }
    let (status, _) = action(&demo, &id, json!({"os-reset_status": {"status": "maintenance"}})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_summary_is_not_there_before_3_12() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let p = project(&demo);
    let (status, _, body) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes/summary"), Some("3.11"), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}}))
    );
}
