//! Attaching Cinder volumes to servers over HTTP (barbican-tempest-plugin's
//! `ImageSigningVolumeTest.test_signed_volume_attach_to_instance`, docs/reference/openstack-behaviour.md F2):
//! Nova's `os-volume_attachments` (views by microversion, every error with its status and
//! message) driving Cinder's attachments API with the user's token, the volume going
//! `available` → `in-use` → `available`, and what both sides show meanwhile.

mod nova_support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::compute::{self, NewVolumeAttachment};
use sigstack_client::volume::{self, NewVolume, Volume};
use sigstack_cloud::CloudHandle;

use nova_support as nova;

const WAIT: Duration = Duration::from_secs(20);

/// Nova verifying signatures (so a tampered image ends in ERROR), Cinder as shipped.
async fn cloud() -> CloudHandle {
    nova::cloud(nova::deployment(true, false, nova::two_local_nodes())).await
}

/// demo with `creator`, its stored certificate, and a raw image signed with its key.
async fn signed_setup(cloud: &CloudHandle) -> (Session, String, String) {
    let demo = nova::creator(cloud).await;
    let (image, cert, _) = nova::signed_image(&demo, "raw").await;
    (demo, cert, image)
}

/// A 1 GiB volume from `image`, once it settled.
async fn volume_from(s: &Session, image: &str) -> Volume {
    let created = volume::create_volume(s, &NewVolume::from_image(1, image)).await.expect("create accepted");
    volume::wait_for_volume_status(s, &created.id, &["available", "error"], WAIT).await.expect("settles")
}

fn project(s: &Session) -> String {
    s.token().project.as_ref().expect("scoped").id.clone()
}

/// A raw Cinder request at `version`: status and JSON body.
async fn cinder_raw(s: &Session, method: Method, path: &str, version: &str, body: Option<Value>) -> (StatusCode, Value) {
    let url = format!("{}{path}", volume::root_url(s).expect("endpoint"));
    let mut r = volume::request_at(s, method, &url, version);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.expect("cinder answers");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn active_server(s: &Session, image: &str) -> String {
    let server = nova::boot_and_settle(s, image, None, None).await;
    nova::assert_active(&server);
    server.id
}

async fn wait_volume(s: &Session, id: &str, status: &str) -> Volume {
    volume::wait_for_volume_status(s, id, &[status], WAIT).await.unwrap_or_else(|e| panic!("volume {id}: {e}"))
}

/// A raw attach request: status and body.
async fn attach_raw(s: &Session, version: &str, server: &str, body: Value) -> (StatusCode, Value) {
    let (status, body, _) = nova::raw(s, Method::POST, &format!("/servers/{server}/os-volume_attachments"), version, Some(body)).await;
    (status, body)
}

fn message(body: &Value) -> String {
    body.as_object().and_then(|o| o.values().next()).and_then(|f| f["message"].as_str()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn signed_volume_attaches_to_a_server_and_detaches() {
    let cloud = cloud().await;
    let (demo, cert, image) = signed_setup(&cloud).await;
    let vol = volume_from(&demo, &image).await;
    assert_eq!(vol.status, "available");
    assert_eq!(vol.image_metadata("signature_verified"), Some("True"));
    assert_eq!(vol.image_metadata("img_signature_certificate_uuid"), Some(cert.as_str()));
    assert!(vol.attachments.is_empty());
    let server = active_server(&demo, &image).await;

    let answer = compute::attach_volume(&demo, "2.1", &server, &NewVolumeAttachment::volume(&vol.id)).await.expect("attach accepted");
    assert_eq!(answer.id.as_deref(), Some(vol.id.as_str()));
    assert_eq!(
        (answer.volume_id.as_str(), answer.server_id.as_str(), answer.device.as_deref()),
        (vol.id.as_str(), server.as_str(), Some("/dev/vdb"))
    );
    assert_eq!((answer.tag.clone(), answer.delete_on_termination, answer.attachment_id.clone()), (None, None, None));

    let attached = wait_volume(&demo, &vol.id, "in-use").await;
    assert_eq!(attached.attachments.len(), 1, "{attached:?}");
    let a = &attached.attachments[0];
    assert_eq!((a.id.as_str(), a.volume_id.as_str(), a.server_id.as_deref()), (vol.id.as_str(), vol.id.as_str(), Some(server.as_str())));
    assert_eq!(a.device.as_deref(), Some("/dev/vdb"));
    assert_eq!(a.host_name, None, "only admins see the host");
    assert!(a.attached_at.as_deref().is_some_and(|t| !t.is_empty()));
    assert_eq!(attached.image_metadata("signature_verified"), Some("True"), "attaching keeps the verification record");
    assert_eq!(attached.image_metadata("img_signature_certificate_uuid"), Some(cert.as_str()));

    // Admins see the compute host the volume is connected to.
    let admin = nova::session(&cloud, "admin").await;
    let host = compute::get_server(&admin, "2.63", &server).await.unwrap().host.expect("admin sees the host");
    let (_, body) = cinder_raw(&admin, Method::GET, &format!("/v3/{}/volumes/{}", project(&admin), vol.id), "3.0", None).await;
    assert_eq!(body["volume"]["attachments"][0]["host_name"], json!(host), "{body}");
    let cinder_attachment = volume::get_attachment(&demo, &a.attachment_id).await.expect("attachment shown");
    assert_eq!((cinder_attachment.status.as_str(), cinder_attachment.instance.as_deref()), ("attached", Some(server.as_str())));
    assert_eq!(cinder_attachment.attach_mode.as_deref(), Some("rw"));
    let info = cinder_attachment.connection_info.expect("connection info");
    assert_eq!(info["driver_volume_type"], "iscsi");
    assert_eq!(info["data"]["target_iqn"], format!("iqn.2010-10.org.openstack:volume-{}", vol.id));

    // Nova's side: the server and its attachment list.
    let shown = compute::get_server(&demo, "2.63", &server).await.unwrap();
    assert_eq!(shown.volumes_attached.len(), 1);
    assert_eq!((shown.volumes_attached[0].id.as_str(), shown.volumes_attached[0].delete_on_termination), (vol.id.as_str(), Some(false)));
    let old = compute::get_server(&demo, "2.1", &server).await.unwrap();
    assert_eq!(old.volumes_attached[0].delete_on_termination, None, "delete_on_termination is shown from 2.3");
    let listed = compute::list_volume_attachments(&demo, "2.1", &server).await.unwrap();
    assert_eq!(listed, vec![answer.clone()]);
    let (_, body, _) = nova::raw(&demo, Method::GET, &format!("/servers/{server}/os-volume_attachments"), "2.1", None).await;
    assert_eq!(body, json!({"volumeAttachments": [{"id": vol.id, "volumeId": vol.id, "serverId": server, "device": "/dev/vdb"}]}));
    let v279 = compute::get_volume_attachment(&demo, "2.79", &server, &vol.id).await.unwrap();
    assert_eq!((v279.tag.clone(), v279.delete_on_termination, v279.attachment_id.clone()), (None, Some(false), None));
    let (_, body, _) = nova::raw(&demo, Method::GET, &format!("/servers/{server}/os-volume_attachments/{}", vol.id), "2.89", None).await;
    let view = &body["volumeAttachment"];
    assert_eq!(view.get("id"), None, "2.89 drops id: {body}");
    assert_eq!(view["attachment_id"], json!(a.attachment_id));
    assert!(view["bdm_uuid"].as_str().is_some_and(|u| uuid::Uuid::parse_str(u).is_ok()), "{body}");
    assert_eq!((view["tag"].clone(), view["delete_on_termination"].clone()), (Value::Null, json!(false)));

    // An attached volume cannot be deleted.
    let err = volume::delete_volume(&demo, &vol.id).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().ends_with(
        "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer."
    ), "{err}");

    // Detach: 202, then the volume is available again and nothing lists the attachment.
    compute::detach_volume(&demo, &server, &vol.id).await.expect("detach accepted");
    let detached = wait_volume(&demo, &vol.id, "available").await;
    assert!(detached.attachments.is_empty());
    assert_eq!(detached.image_metadata("signature_verified"), Some("True"));
    assert!(compute::list_volume_attachments(&demo, "2.89", &server).await.unwrap().is_empty());
    assert!(compute::get_server(&demo, "2.63", &server).await.unwrap().volumes_attached.is_empty());
    assert!(volume::get_attachment(&demo, &a.attachment_id).await.unwrap_err().is_not_found());
    volume::delete_volume(&demo, &vol.id).await.expect("an available volume is deleted");
    compute::delete_server(&demo, &server).await.unwrap();
}

#[tokio::test]
async fn attach_errors_have_novas_status_and_message() {
    let cloud = cloud().await;
    let (demo, _, image) = signed_setup(&cloud).await;
    let vol = volume_from(&demo, &image).await;
    let server = active_server(&demo, &image).await;
    let body = |id: &str| json!({"volumeAttachment": {"volumeId": id}});

    let missing = uuid::Uuid::new_v4().to_string();
    let (status, b) = attach_raw(&demo, "2.1", &server, body(&missing)).await;
    assert_eq!((status, message(&b)), (StatusCode::NOT_FOUND, format!("Volume {missing} could not be found.")));
    assert_eq!(b["itemNotFound"]["code"], 404);

    let no_server = uuid::Uuid::new_v4().to_string();
    let (status, b) = attach_raw(&demo, "2.1", &no_server, body(&vol.id)).await;
    assert_eq!((status, message(&b)), (StatusCode::NOT_FOUND, format!("Instance {no_server} could not be found.")));

    let (status, b) = attach_raw(&demo, "2.1", &server, body("abc")).await;
    assert_eq!(
        (status, message(&b)),
        (StatusCode::BAD_REQUEST, "Invalid input for field/attribute volumeId. Value: abc. 'abc' is not a 'uuid'".to_owned())
    );
    let (status, b) = attach_raw(&demo, "2.1", &server, json!({"volumeAttachment": {"volumeId": vol.id, "device": "vdb"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&b),
        "Invalid input for field/attribute device. Value: vdb. 'vdb' does not match '(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$'"
    );
    let (status, b) = attach_raw(&demo, "2.48", &server, json!({"volumeAttachment": {"volumeId": vol.id, "tag": "t"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&b).ends_with("Additional properties are not allowed ('tag' was unexpected)"), "{b}");
    let (status, b) = attach_raw(&demo, "2.1", &server, json!({"volume": {}})).await;
    assert_eq!((status, message(&b)), (StatusCode::BAD_REQUEST, "'volumeAttachment' is a required property".to_owned()));

    // Not attached yet: show and detach are 404s.
    let (status, b, _) = nova::raw(&demo, Method::GET, &format!("/servers/{server}/os-volume_attachments/{}", vol.id), "2.1", None).await;
    assert_eq!((status, message(&b)), (StatusCode::NOT_FOUND, format!("Instance {server} is not attached to volume {}", vol.id)));
    let (status, b, _) =
        nova::raw(&demo, Method::DELETE, &format!("/servers/{server}/os-volume_attachments/{}", vol.id), "2.1", None).await;
    assert_eq!((status, message(&b)), (StatusCode::NOT_FOUND, format!("Instance {server} is not attached to volume {}", vol.id)));
    let (status, b, _) = nova::raw(&demo, Method::DELETE, &format!("/servers/{server}/os-volume_attachments/{missing}"), "2.1", None).await;
    assert_eq!((status, message(&b)), (StatusCode::NOT_FOUND, format!("Volume {missing} could not be found.")));

    // Attached: the same volume again is refused by the compute host, another server by Cinder.
    compute::attach_volume(&demo, "2.1", &server, &NewVolumeAttachment::volume(&vol.id)).await.unwrap();
    let (status, b) = attach_raw(&demo, "2.1", &server, body(&vol.id)).await;
    assert_eq!((status, message(&b)), (StatusCode::BAD_REQUEST, format!("Invalid volume: volume {} already attached", vol.id)));
    wait_volume(&demo, &vol.id, "in-use").await;
    let other = active_server(&demo, &image).await;
    let (status, b) = attach_raw(&demo, "2.1", &other, body(&vol.id)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let text = message(&b);
    let expected = format!(
        "Invalid input received: Invalid volume: Volume {} status must be available or downloading to reserve, but the current status is in-use. (HTTP 400) (Request-ID: req-",
        vol.id
    );
    assert!(text.starts_with(&expected), "{text}");
    let request_id = text[expected.len()..].strip_suffix(')').expect("request id closes the message");
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "{text}");
    assert!(compute::list_volume_attachments(&demo, "2.1", &other).await.unwrap().is_empty(), "the refused mapping is gone");

    // A second volume goes to the next device.
    let second = volume_from(&demo, &image).await;
    let answer = compute::attach_volume(
        &demo,
        "2.1",
        &server,
        &NewVolumeAttachment { device: Some("/dev/sdz".into()), ..NewVolumeAttachment::volume(&second.id) },
    )
    .await
    .unwrap();
    assert_eq!(answer.device.as_deref(), Some("/dev/vdc"), "libvirt ignores the suggested name");
    wait_volume(&demo, &second.id, "in-use").await;
}

#[tokio::test]
async fn a_server_in_error_cannot_attach() {
    let cloud = cloud().await;
    let (demo, cert, image) = signed_setup(&cloud).await;
    let vol = volume_from(&demo, &image).await;
    // Nova verifies: a signature over other data ends the build in ERROR.
    let bytes = nova::image_bytes("raw", 9);
    let tampered = nova::image_with(&demo, "raw", "private", &bytes, &nova::signed_props(nova::RSA_KEY, b"other data", &cert)).await;
    let broken = nova::boot_and_settle(&demo, &tampered, None, None).await;
    assert_eq!(broken.status, "ERROR");
    let (status, b) = attach_raw(&demo, "2.1", &broken.id, json!({"volumeAttachment": {"volumeId": vol.id}})).await;
    assert_eq!(
        (status, message(&b)),
        (StatusCode::CONFLICT, format!("Cannot 'attach_volume' instance {} while it is in vm_state error", broken.id))
    );
    assert_eq!(b["conflictingRequest"]["code"], 409);
    assert_eq!(volume::get_volume(&demo, &vol.id).await.unwrap().status, "available", "nothing was reserved");
}

#[tokio::test]
async fn microversions_add_tag_and_delete_on_termination() {
    let cloud = cloud().await;
    let (demo, _, image) = signed_setup(&cloud).await;
    let kept = volume_from(&demo, &image).await;
    let dropped = volume_from(&demo, &image).await;
    let server = active_server(&demo, &image).await;

    let request =
        NewVolumeAttachment { tag: Some("data".into()), delete_on_termination: Some(true), ..NewVolumeAttachment::volume(&dropped.id) };
    let answer = compute::attach_volume(&demo, "2.79", &server, &request).await.unwrap();
    assert_eq!((answer.tag.as_deref(), answer.delete_on_termination), (Some("data"), Some(true)));
    let answer = compute::attach_volume(&demo, "2.70", &server, &NewVolumeAttachment::volume(&kept.id)).await.unwrap();
    assert_eq!((answer.tag.as_deref(), answer.delete_on_termination), (None, None));
    wait_volume(&demo, &dropped.id, "in-use").await;
    wait_volume(&demo, &kept.id, "in-use").await;
    let listed = compute::list_volume_attachments(&demo, "2.89", &server).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|a| a.id.is_none() && a.attachment_id.is_some() && a.bdm_uuid.is_some()));
    let shown = compute::get_server(&demo, "2.63", &server).await.unwrap();
    let flags: Vec<(String, Option<bool>)> = shown.volumes_attached.iter().map(|v| (v.id.clone(), v.delete_on_termination)).collect();
    assert_eq!(flags, vec![(dropped.id.clone(), Some(true)), (kept.id.clone(), Some(false))]);

    // Deleting the server detaches both and deletes the one marked delete_on_termination.
    compute::delete_server(&demo, &server).await.unwrap();
    assert!(volume::get_volume(&demo, &dropped.id).await.unwrap_err().is_not_found());
    let after = volume::get_volume(&demo, &kept.id).await.unwrap();
    assert_eq!((after.status.as_str(), after.attachments.len()), ("available", 0));
}

#[tokio::test]
async fn cinder_attachments_api_reserves_connects_completes_and_deletes() {
    let cloud = cloud().await;
    let (demo, _, image) = signed_setup(&cloud).await;
    let vol = volume_from(&demo, &image).await;
    let project = project(&demo);
    let instance = uuid::Uuid::new_v4().to_string();
    let path = format!("/v3/{project}/attachments");
    let create = json!({"attachment": {"volume_uuid": vol.id, "instance_uuid": instance}});

    let (status, body) = cinder_raw(&demo, Method::POST, &path, "3.26", Some(create.clone())).await;
    assert_eq!(
        (status, body["itemNotFound"]["message"].clone()),
        (StatusCode::NOT_FOUND, json!("API version 3.26 is not supported on this method."))
    );
    let (status, body) = cinder_raw(&demo, Method::POST, &path, "3.44", Some(json!({"attachment": {"volume_uuid": "x"}}))).await;
    assert_eq!(
        (status, body["badRequest"]["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("Invalid input for field/attribute volume_uuid. Value: x. 'x' is not a 'uuid'"))
    );

    let reserved = volume::create_attachment(&demo, &vol.id, &instance, None).await.unwrap();
    assert_eq!(
        (reserved.status.as_str(), reserved.attached_at.as_deref(), reserved.attach_mode.as_deref()),
        ("reserved", Some(""), Some("null"))
    );
    assert_eq!(reserved.connection_info, Some(json!({})));
    assert_eq!(volume::get_volume(&demo, &vol.id).await.unwrap().status, "reserved");
    let err = volume::create_attachment(&demo, &vol.id, &uuid::Uuid::new_v4().to_string(), None).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string().ends_with(&format!(
            "Invalid volume: Volume {} status must be available or downloading to reserve, but the current status is reserved.",
            vol.id
        )),
        "{err}"
    );

    let connector = json!({"host": "compute-a", "mountpoint": "/dev/vdb", "initiator": "iqn.x"});
    let connected = volume::update_attachment(&demo, &reserved.id, &connector).await.unwrap();
    assert_eq!((connected.status.as_str(), connected.attach_mode.as_deref()), ("attaching", Some("rw")));
    let v = volume::get_volume(&demo, &vol.id).await.unwrap();
    assert_eq!((v.status.as_str(), v.attachments.len()), ("attaching", 0), "only attached attachments are listed");
    volume::complete_attachment(&demo, &reserved.id).await.unwrap();
    let v = volume::get_volume(&demo, &vol.id).await.unwrap();
    assert_eq!(
        (v.status.as_str(), v.attachments[0].server_id.as_deref(), v.attachments[0].device.as_deref()),
        ("in-use", Some(instance.as_str()), Some("/dev/vdb"))
    );
    assert_eq!(volume::list_attachments(&demo).await.unwrap().len(), 1);

    // Detaching: begin, roll back, begin again, delete.
    volume::volume_action(&demo, &vol.id, "os-begin_detaching").await.unwrap();
    assert_eq!(volume::get_volume(&demo, &vol.id).await.unwrap().status, "detaching");
    volume::volume_action(&demo, &vol.id, "os-roll_detaching").await.unwrap();
    assert_eq!(volume::get_volume(&demo, &vol.id).await.unwrap().status, "in-use");
    let (status, body) = cinder_raw(&demo, Method::DELETE, &format!("{path}/{}", reserved.id), "3.44", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"attachments": []})));
    assert_eq!(volume::get_volume(&demo, &vol.id).await.unwrap().status, "available");
    let err = volume::volume_action(&demo, &vol.id, "os-begin_detaching").await.unwrap_err();
    assert!(
        err.to_string().ends_with(
            "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach."
        ),
        "{err}"
    );
    let (status, body) = cinder_raw(&demo, Method::GET, &format!("{path}/{}", reserved.id), "3.44", None).await;
    assert_eq!(
        (status, body["itemNotFound"]["message"].clone()),
        (StatusCode::NOT_FOUND, json!(format!("Volume attachment could not be found with filter: attachment_id = {}.", reserved.id)))
    );
}

#[tokio::test]
async fn a_boot_volume_is_attached_as_the_root_device() {
    let cloud = cloud().await;
    let (demo, _, image) = signed_setup(&cloud).await;
    let root = volume_from(&demo, &image).await;
    let mut server =
        compute::NewServer { name: "bfv".into(), flavor_ref: "1".into(), networks: Some(json!("none")), ..compute::NewServer::default() };
    server.block_device_mapping_v2 = vec![json!({"boot_index": 0, "uuid": root.id, "source_type": "volume", "destination_type": "volume"})];
    let id = compute::create_server(&demo, nova::V263, &server).await.unwrap().id;
    // The API reserved the volume for the server: nobody else can take it meanwhile.
    let other = compute::create_server(&demo, nova::V263, &server).await.unwrap_err();
    assert_eq!(other.status(), Some(400), "{other}");
    assert!(
        other.to_string().contains(&format!("Invalid volume: volume '{}' status must be 'available'. Currently in '", root.id)),
        "{other}"
    );
    nova::assert_active(&nova::settle(&demo, &id).await);

    let attached = wait_volume(&demo, &root.id, "in-use").await;
    assert_eq!(attached.attachments[0].server_id.as_deref(), Some(id.as_str()));
    assert_eq!(attached.attachments[0].device.as_deref(), Some("/dev/vda"));
    let listed = compute::list_volume_attachments(&demo, "2.1", &id).await.unwrap();
    assert_eq!((listed.len(), listed[0].device.as_deref()), (1, Some("/dev/vda")));
    let (status, b, _) = nova::raw(&demo, Method::DELETE, &format!("/servers/{id}/os-volume_attachments/{}", root.id), "2.1", None).await;
    assert_eq!((status, message(&b)), (StatusCode::BAD_REQUEST, "Cannot detach a root device volume".to_owned()));

    // A data volume goes after the root; deleting the server frees both.
    let data = volume_from(&demo, &image).await;
    let answer = compute::attach_volume(&demo, "2.1", &id, &NewVolumeAttachment::volume(&data.id)).await.unwrap();
    assert_eq!(answer.device.as_deref(), Some("/dev/vdb"));
    wait_volume(&demo, &data.id, "in-use").await;
    compute::delete_server(&demo, &id).await.unwrap();
    for v in [&root.id, &data.id] {
        let after = volume::get_volume(&demo, v).await.unwrap();
        assert_eq!((after.status.as_str(), after.attachments.len()), ("available", 0), "{after:?}");
    }
}
