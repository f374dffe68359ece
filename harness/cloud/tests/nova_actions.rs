//! Server actions and their verification behaviour over HTTP: rebuild (raw fault messages,
//! trusted certificates replaced or reset), HARD reboot re-using the image cache, snapshots
//! stripping the signature properties (B6), evacuation with the caller's token (the MOS
//! instance-HA limitation and its ACL fix), boot from volume through Cinder, and servers
//! surviving a restart.

mod nova_support;

use std::time::Duration;

use nova_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::compute::{self, NewServer};
use sigstack_client::key_manager::{self, Acl, AclEntry};
use sigstack_client::{image, volume};
use sigstack_cloud::deployment::StorageBackend;
use sigstack_cloud::{CloudConfig, start};

const MISSING_UUID: &str = "Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid.";

#[tokio::test(flavor = "multi_thread")]
async fn rebuild_faults_carry_the_raw_message_and_certificates_can_be_reset() {
    let cloud = cloud(deployment(true, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let (signed, cert, _) = signed_image(&demo, "raw").await;
    let unsigned = image_with(&demo, "raw", "private", &data(3000, 8), &[]).await;
    let server = boot_and_settle(&demo, &signed, Some("compute-a"), Some(&[&cert])).await;
    assert_active(&server);

    // null resets the certificates (no defaults configured): shown as null in the 202.
    let rebuilt = compute::rebuild(&demo, V263, &server.id, &signed, Some(None)).await.unwrap();
    assert_eq!(rebuilt.status, "REBUILD");
    assert_eq!(rebuilt.trusted_image_certificates, Some(None));
    assert_active(&settle(&demo, &server.id).await);

    // Rebuilding to an unsigned image: the raw cursive message, no "Build of instance" prefix.
    compute::rebuild(&demo, V263, &server.id, &unsigned, None).await.unwrap();
    let failed = settle(&demo, &server.id).await;
    assert_eq!(fault(&failed), MISSING_UUID);

    // Rebuild from ERROR back to the signed image with a list: validated and ACTIVE.
    let rebuilt = compute::rebuild(&demo, V263, &server.id, &signed, Some(Some(vec![cert.clone()]))).await.unwrap();
    assert_eq!(rebuilt.trusted_image_certificates, Some(Some(vec![cert])));
    assert_active(&settle(&demo, &server.id).await);

    // A rebuild while another is running is a conflict: the first one is kept busy
    // downloading an image this host has not cached (Glance answers slowly).
    let (other, _, _) = signed_image(&demo, "raw").await;
    let delay = json!({"service": "glance", "operation": "GET /v2/images/{id}/file", "action": {"delay_ms": 1000}, "times": 1});
    assert_eq!(sim(&cloud, Method::POST, "/_sim/faults", Some(delay), None).await.0, StatusCode::CREATED);
    compute::rebuild(&demo, V263, &server.id, &other, None).await.unwrap();
    let (status, body, _) =
        raw(&demo, Method::POST, &format!("/servers/{}/action", server.id), V263, Some(json!({"rebuild": {"imageRef": signed}}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["conflictingRequest"]["message"],
        format!("Cannot 'rebuild' instance {} while it is in task_state rebuilding", server.id)
    );
    assert_active(&settle(&demo, &server.id).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn hard_reboot_uses_the_cache_and_verifies_only_without_it() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let unsigned = image_with(&demo, "raw", "private", &data(3000, 6), &[]).await;
    let server = boot_and_settle(&demo, &unsigned, Some("compute-a"), None).await;
    assert_active(&server);
    patch_deployment(&cloud, json!({"nova": {"glance": {"verify_glance_signatures": true}}})).await;
    compute::reboot(&demo, &server.id, true).await.unwrap();
    assert_active(&settle(&demo, &server.id).await);
    // Without the base image the hard reboot downloads it again, and verification runs.
    let (status, _) = sim(&cloud, Method::DELETE, &format!("/_sim/compute/nodes/compute-a/image-cache/{unsigned}"), None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    compute::reboot(&demo, &server.id, true).await.unwrap();
    assert_eq!(fault(&settle(&demo, &server.id).await), MISSING_UUID);
    // A soft reboot is refused in ERROR.
    let err = compute::reboot(&demo, &server.id, false).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.to_string().contains(&format!("Cannot 'reboot' instance {} while it is in vm_state error", server.id)), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_drop_the_signature_properties() {
    let cloud = cloud(deployment(true, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let (signed, _, bytes) = signed_image(&demo, "raw").await;
    let mut ops = vec![image::PatchOp::Add { path: "/os_distro".into(), value: json!("cirros") }];
    ops.push(image::PatchOp::Add { path: "/cinder_encryption_key_id".into(), value: json!("k") });
    image::update_image(&demo, &signed, &ops).await.unwrap();
    let server = boot_and_settle(&demo, &signed, Some("compute-a"), None).await;
    assert_active(&server);
    let snapshot = compute::create_image(&demo, &server.id, "snap").await.unwrap();
    let img = image::wait_for_status(&demo, &snapshot, &["active"], WAIT).await.unwrap();
    for gone in [
        "img_signature",
        "img_signature_hash_method",
        "img_signature_key_type",
        "img_signature_certificate_uuid",
        "cinder_encryption_key_id",
    ] {
        assert_eq!(img.property(gone), None, "{gone}");
    }
    assert_eq!(img.property("os_distro"), Some("cirros"));
    assert_eq!(img.property("image_type"), Some("snapshot"));
    assert_eq!(img.property("base_image_ref"), Some(signed.as_str()));
    assert_eq!(img.property("instance_uuid"), Some(server.id.as_str()));
    // The guest's disk, a qcow2 on this local disk: the base image's data in its first cluster.
    assert_eq!(img.disk_format.as_deref(), Some("qcow2"));
    let data = image::download(&demo, &snapshot).await.unwrap().unwrap().bytes().await.unwrap();
    let be64 = |at: usize| u64::from_be_bytes(data[at..at + 8].try_into().unwrap()) & !(1 << 63);
    let l2 = be64(be64(40) as usize) as usize;
    let first = be64(l2) as usize;
    assert_eq!(&data[first..first + bytes.len()], bytes.as_slice());
    // The snapshot is unsigned: with verification on it does not boot.
    let child = boot_and_settle(&demo, &snapshot, Some("compute-b"), None).await;
    assert_eq!(fault(&child), aborted(&child.id, MISSING_UUID));
    // Before 2.45 the answer is an empty 202 with the image's Location.
    let response = compute::action(&demo, "2.44", &server.id, &json!({"createImage": {"name": "old"}})).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.headers()["Location"].to_str().unwrap().starts_with(&format!("{}/images/", cloud.endpoints.image)));
}

#[tokio::test(flavor = "multi_thread")]
async fn evacuation_uses_the_ha_users_token_and_needs_the_certificate_acl() {
    let nodes =
        vec![node("compute-a", StorageBackend::Lvm), node("compute-b", StorageBackend::Lvm), node("compute-c", StorageBackend::Local)];
    let cloud = cloud(deployment(true, false, nodes)).await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo, RSA_CERT).await;
    let bytes = data(60_000, 12);
    // Community: the instance-HA user (another project) can read the image, not the secret.
    let image = image_with(&demo, "raw", "community", &bytes, &signed_props(RSA_KEY, &bytes, &cert)).await;
    let first = boot_and_settle(&demo, &image, Some("compute-a"), None).await;
    assert_active(&first);

    let err = compute::evacuate(&demo, "2.29", &first.id, None).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().ends_with("returned 403: Policy doesn't allow os_compute_api:os-evacuate to be performed."), "{err}");
    let admin = session(&cloud, "admin").await;
    let err = compute::evacuate(&admin, "2.29", &first.id, None).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("Compute service of compute-a is still in use."), "{err}");

    // Explicit targets are checked while the source is down (hosts failed without instance
    // HA, so nothing is evacuated automatically).
    for host in ["compute-a", "compute-c"] {
        let (status, body) =
            sim(&cloud, Method::POST, &format!("/_sim/compute/nodes/{host}/fail"), Some(json!({"evacuate": false})), None).await;
        assert_eq!((status, &body["evacuations"]), (StatusCode::OK, &json!([])), "{body}");
    }
    for (host, status, message) in [
        ("nowhere", 404, "Compute host nowhere not found."),
        ("compute-a", 400, "The target host can't be the same one."),
        ("compute-c", 400, "Compute service of compute-c is unavailable at this time."),
    ] {
        let err = compute::evacuate(&admin, "2.29", &first.id, Some(host)).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err}");
        assert!(err.to_string().ends_with(message), "{err}");
    }
    for host in ["compute-a", "compute-c"] {
        assert_eq!(sim(&cloud, Method::POST, &format!("/_sim/compute/nodes/{host}/recover"), None, None).await.0, StatusCode::OK);
    }

    // compute-a fails: Masakari evacuates with its own token and cannot read the certificate.
    let (status, report) = sim(&cloud, Method::POST, "/_sim/compute/nodes/compute-a/fail", None, None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let evacuation = &report["evacuations"][0];
    let message = format!("Signature verification for the image failed: Unable to retrieve certificate with ID: {cert}.");
    assert_eq!((evacuation["server_id"].as_str(), evacuation["status"].as_str()), (Some(first.id.as_str()), Some("ERROR")), "{report}");
    assert_eq!(evacuation["fault"], message.as_str());
    assert_eq!(fault(&settle(&demo, &first.id).await), message);

    // The owner grants the instance-HA user read access; the next evacuation succeeds.
    let ha = session(&cloud, "instance-ha").await;
    let acl = Acl { read: AclEntry { users: Some(vec![ha.token().user.id.clone()]), project_access: Some(true), ..AclEntry::default() } };
    key_manager::set_acl(&demo, &cert, &acl).await.unwrap();
    let (status, _) = sim(&cloud, Method::POST, "/_sim/compute/nodes/compute-a/recover", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let second = boot_and_settle(&demo, &image, Some("compute-a"), None).await;
    assert_active(&second);
    let failed_host = compute::get_server(&admin, V263, &first.id).await.unwrap().host.unwrap();
    let (_, report) = sim(&cloud, Method::POST, "/_sim/compute/nodes/compute-a/fail", None, None).await;
    let evacuation = &report["evacuations"][0];
    assert_eq!((evacuation["server_id"].as_str(), evacuation["status"].as_str()), (Some(second.id.as_str()), Some("ACTIVE")), "{report}");
    let moved = compute::get_server(&admin, V263, &second.id).await.unwrap();
    let new_host = moved.host.clone().unwrap();
    assert!(new_host != "compute-a" && new_host != failed_host, "{new_host} (first went to {failed_host})");
    assert_eq!(cached(&cloud, &new_host).await, vec![image]);
}

#[tokio::test(flavor = "multi_thread")]
async fn boot_from_volume_goes_through_cinder() {
    let cloud = cloud(deployment(true, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let (signed, cert, _) = signed_image(&demo, "raw").await;
    // An existing volume.
    let vol = volume::create_volume(&demo, &volume::NewVolume { size: 1, ..Default::default() }).await.unwrap();
    volume::wait_for_volume_status(&demo, &vol.id, &["available"], WAIT).await.unwrap();
    let mut from_volume = NewServer { name: "bfv".into(), flavor_ref: "1".into(), networks: Some(json!("none")), ..NewServer::default() };
    from_volume.block_device_mapping_v2 =
        vec![json!({"boot_index": 0, "uuid": vol.id, "source_type": "volume", "destination_type": "volume"})];
    let id = compute::create_server(&demo, V263, &from_volume).await.unwrap().id;
    let server = settle(&demo, &id).await;
    assert_active(&server);
    assert_eq!(server.extra["image"], json!(""));
    // Rebuilding a volume-backed server with certificates is refused.
    let (status, body, _) = raw(
        &demo,
        Method::POST,
        &format!("/servers/{id}/action"),
        V263,
        Some(json!({"rebuild": {"imageRef": signed, "trusted_image_certificates": [cert]}})),
    )
    .await;
    assert_eq!(
        (status, body["badRequest"]["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Image certificate validation is not supported for volume-backed servers."))
    );
    // A missing volume.
    from_volume.block_device_mapping_v2 = vec![
        json!({"boot_index": 0, "uuid": "00000000-0000-4000-8000-00000000beef", "source_type": "volume", "destination_type": "volume"}),
    ];
    let err = compute::create_server(&demo, V263, &from_volume).await.unwrap_err();
    assert!(
        err.to_string().contains("Block Device Mapping is Invalid: failed to get volume 00000000-0000-4000-8000-00000000beef."),
        "{err}"
    );

    // image -> volume: Cinder creates (and verifies) the volume; a tampered image fails there.
    let good = image_bdm(&signed);
    let id = compute::create_server(&demo, V263, &good).await.unwrap().id;
    assert_active(&settle(&demo, &id).await);
    let signed_bytes = data(40_000, 1);
    let mut tampered = signed_bytes.clone();
    tampered[0] ^= 1;
    let bad = image_with(&demo, "raw", "private", &tampered, &signed_props(RSA_KEY, &signed_bytes, &cert)).await;
    let id = compute::create_server(&demo, V263, &image_bdm(&bad)).await.unwrap().id;
    let server = settle(&demo, &id).await;
    assert_eq!(fault(&server), aborted(&id, "Failure prepping block device."));
}

fn image_bdm(image: &str) -> NewServer {
    let mut server = NewServer { name: "bfv-image".into(), flavor_ref: "1".into(), networks: Some(json!("none")), ..NewServer::default() };
    server.block_device_mapping_v2 =
        vec![json!({"boot_index": 0, "uuid": image, "source_type": "image", "destination_type": "volume", "volume_size": 1})];
    server
}

#[test]
fn servers_survive_a_restart_and_interrupted_builds_end_in_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = || CloudConfig {
        data_dir: Some(dir.path().to_path_buf()),
        deployment: deployment(false, false, two_local_nodes()),
        ..CloudConfig::default()
    };
    let first = tokio::runtime::Runtime::new().unwrap();
    let (active, building) = first.block_on(async {
        let cloud = start(config()).await.unwrap();
        let demo = session(&cloud, "demo").await;
        let unsigned = image_with(&demo, "raw", "private", &data(2000, 1), &[]).await;
        let active = boot_and_settle(&demo, &unsigned, Some("compute-a"), None).await;
        // The next build stalls in the download (Glance delays), then the process "dies".
        let fault = json!({"service": "glance", "operation": "GET /v2/images/{id}/file", "action": {"delay_ms": 60000}});
        let (status, body) = sim(&cloud, Method::POST, "/_sim/faults", Some(fault), None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let building = boot(&demo, &unsigned, Some("compute-b"), None).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let s = compute::get_server(&demo, V263, &building).await.unwrap();
            if s.task_state.as_deref() == Some("spawning") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "build never reached spawning: {s:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        std::mem::forget(cloud);
        (active, building)
    });
    // Like a SIGKILL: every task of the first process is dropped where it stands.
    first.shutdown_background();
    let second = tokio::runtime::Runtime::new().unwrap();
    second.block_on(async {
        let cloud = start(config()).await.unwrap();
        let demo = session(&cloud, "demo").await;
        let again = compute::get_server(&demo, V263, &active.id).await.unwrap();
        assert_active(&again);
        assert_eq!(again.extra["created"], active.extra["created"]);
        assert_eq!(again.extra["image"]["id"], active.extra["image"]["id"]);
        let admin = session(&cloud, "admin").await;
        assert_eq!(compute::get_server(&admin, V263, &active.id).await.unwrap().host.as_deref(), Some("compute-a"));
        let interrupted = compute::get_server(&demo, V263, &building).await.unwrap();
        assert_eq!((interrupted.status.as_str(), interrupted.task_state.as_deref()), ("ERROR", None));
        let listed: Vec<Value> = compute::list_servers(&demo, V263, &[]).await.unwrap().into_iter().map(|s| json!(s.id)).collect();
        assert_eq!(listed.len(), 2);
        assert_eq!(cached(&cloud, "compute-a").await.len(), 1, "the image cache is on disk too");
    });
}
