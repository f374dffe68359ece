//! Cinder v3's API over HTTP: version discovery and microversions, volume create/show/list/
//! delete with their statuses, synchronous errors in Cinder's fault shape, project isolation,
//! user messages gated on 3.3, persistence across a restart and `/_sim/reset`.

mod cinder_support;

use std::os::unix::fs::MetadataExt as _;

use cinder_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::image::{self, NewImage};
use sigstack_client::volume::{self, NewVolume};
use sigstack_cloud::{CloudConfig, start};

#[tokio::test]
async fn version_discovery_and_microversions() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let versions = volume::version_discovery(&demo).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        (versions[0].id.as_str(), versions[0].status.as_str(), versions[0].min_version.as_str(), versions[0].version.as_str()),
        ("v3.0", "CURRENT", "3.0", "3.71")
    );
    let (status, _, body) = raw(&demo, Method::GET, "/", None, None).await;
    assert_eq!(status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(body["versions"][0]["links"][1]["href"], format!("{}/v3/", cloud.endpoints.volume));
    let (status, _, body) = raw(&demo, Method::GET, "/v3/", None, None).await;
    assert_eq!((status, body["versions"][0]["id"].clone()), (StatusCode::OK, json!("v3.0")));

    let p = project(&demo);
    let (status, headers, _) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes"), Some("3.60"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["OpenStack-API-Version"], "volume 3.60");
    assert_eq!(headers["Vary"], "OpenStack-API-Version");
    let (_, headers, _) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes"), None, None).await;
    assert_eq!(headers["OpenStack-API-Version"], "volume 3.0");
    let (_, headers, _) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes"), Some("latest"), None).await;
    assert_eq!(headers["OpenStack-API-Version"], "volume 3.71");

    let (status, _, body) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes"), Some("3.72"), None).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        body,
        json!({"computeFault": {"code": 406, "message": "Version 3.72 is not supported by the API. Minimum is 3.0 and maximum is 3.71."}})
    );
    let (status, _, body) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes"), Some("3.a"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["badRequest"]["message"], "API Version String 3.a is of invalid format. Must be of format MajorNum.MinorNum.");
}

#[tokio::test]
async fn blank_volume_lifecycle() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let new = NewVolume { size: 2, name: Some("blank".into()), description: Some("scratch".into()), ..NewVolume::default() };
    let created = volume::create_volume(&demo, &new).await.unwrap();
    assert_eq!((created.status.as_str(), created.size), ("creating", 2));
    let vol = volume::wait_for_volume_status(&demo, &created.id, &["available"], WAIT).await.unwrap();
    assert!(!vol.bootable);
    assert_eq!(vol.volume_image_metadata, None);
    assert_eq!(vol.name.as_deref(), Some("blank"));
    assert_eq!(vol.description.as_deref(), Some("scratch"));
    assert_eq!(vol.volume_type.as_deref(), Some("lvmdriver-1"));
    assert_eq!(vol.project_id.as_deref(), Some(project(&demo).as_str()));

    // An empty, sparse file of the volume's size.
    let path = cloud.data_dir.join("cinder/volumes").join(&vol.id);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), 2 << 30);
    assert!(meta.blocks() * 512 < 1 << 20, "sparse: {} blocks", meta.blocks());

    // The raw view: bootable is a string, links name the volume.
    let p = project(&demo);
    let (_, _, body) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes/{}", vol.id), None, None).await;
    assert_eq!(body["volume"]["bootable"], "false");
    assert_eq!(body["volume"]["links"][0]["href"], format!("{}/v3/{p}/volumes/{}", cloud.endpoints.volume, vol.id));
    assert!(body["volume"].get("group_id").is_none(), "group_id appears from 3.13");
    let (_, _, body) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes/{}", vol.id), Some("3.65"), None).await;
    assert_eq!((body["volume"]["group_id"].clone(), body["volume"]["consumes_quota"].clone()), (Value::Null, json!(true)));

    let (_, _, summary) = raw(&demo, Method::GET, &format!("/v3/{p}/volumes"), None, None).await;
    assert_eq!(summary["volumes"][0]["id"], json!(vol.id));
    assert_eq!(summary["volumes"][0]["name"], "blank");
    assert!(summary["volumes"][0].get("status").is_none(), "the summary list has no details");
    let listed = volume::list_volumes(&demo).await.unwrap();
    assert_eq!(listed.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), vec![vol.id.as_str()]);

    volume::delete_volume(&demo, &vol.id).await.unwrap();
    let e = volume::get_volume(&demo, &vol.id).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(!path.exists());
}

/// POSTs a create body and returns (status, body).
async fn create_raw(s: &sigstack_client::Session, body: Value) -> (StatusCode, Value) {
    let (status, _, body) = raw(s, Method::POST, &format!("/v3/{}/volumes", project(s)), None, Some(body)).await;
    (status, body)
}

fn bad_request(message: &str) -> Value {
    json!({"badRequest": {"code": 400, "message": message}})
}

#[tokio::test]
async fn synchronous_errors_use_cinder_faults() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let cases = [
        (json!({"volume": {"size": 0}}), bad_request("Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1")),
        (
            json!({"volume": {"size": "abc"}}),
            bad_request("Invalid input for field/attribute size. Value: abc. 'abc' does not match '^[0-9]+$'"),
        ),
        (
            json!({"volume": {"name": "no size"}}),
            bad_request("Invalid input received: Volume size 'None' must be an integer and greater than 0"),
        ),
        (json!({"size": 1}), bad_request("'volume' is a required property")),
        (
            json!({"volume": {"size": 1, "imageRef": "0b6ad6d3-5c5d-4b37-9b1a-6a5b2a1a0c11"}}),
            bad_request("Invalid input received: Invalid image identifier or unable to access requested image."),
        ),
        (
            json!({"volume": {"size": 1, "imageRef": "no-such-image-name"}}),
            bad_request("Invalid input received: Invalid image identifier or unable to access requested image."),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(create_raw(&demo, body.clone()).await, (StatusCode::BAD_REQUEST, expected), "{body}");
    }
    assert_eq!(
        create_raw(&demo, json!({"volume": {"size": 1, "volume_type": "nope"}})).await,
        (StatusCode::NOT_FOUND, json!({"itemNotFound": {"code": 404, "message": "Volume type with name nope could not be found."}}))
    );
    // An image without data is not active.
    let queued = image::create_image(&demo, &NewImage::raw("queued")).await.unwrap();
    assert_eq!(
        create_raw(&demo, json!({"volume": {"size": 1, "imageRef": queued.id}})).await,
        (StatusCode::BAD_REQUEST, bad_request(&format!("Invalid input received: Image {} is not active.", queued.id)))
    );
    // Malformed JSON, another project's URL, no token, an unknown action.
    let url = format!("{}/volumes", volume::project_url(&demo).unwrap());
    let r = volume::request(&demo, Method::POST, &url).header("Content-Type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!((r.status(), r.json::<Value>().await.unwrap()), (StatusCode::BAD_REQUEST, bad_request("Malformed request body")));
    let (status, _, body) = raw(&demo, Method::GET, "/v3/some-other-project/volumes", None, None).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, bad_request("Malformed request url")));
    let r = sigstack_client::session::http_client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let vol = volume::create_volume(&demo, &NewVolume { size: 1, ..NewVolume::default() }).await.unwrap();
    let vol = volume::wait_for_volume_status(&demo, &vol.id, &["available"], WAIT).await.unwrap();
    let action = format!("/v3/{}/volumes/{}/action", project(&demo), vol.id);
    let (status, _, body) = raw(&demo, Method::POST, &action, None, Some(json!({"os-foo": {}}))).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            bad_request("There is no such action: os-foo. Verify the request body and Content-Type header and try again.")
        )
    );
    let (status, _, body) = raw(&demo, Method::POST, &action, None, Some(json!({"os-volume_upload_image": {}}))).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            bad_request("Invalid input for field/attribute os-volume_upload_image. Value: {}. 'image_name' is a required property")
        )
    );
}

#[tokio::test]
async fn upload_needs_an_available_volume() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let props = [("img_signature_key_type", "RSA-PSS".to_owned())];
    let image_id = image_with(&demo, "raw", &props, &data(100, 1)).await;
    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.status, "error");
    // An error status is final: waiting for `available` ends at once.
    let started = std::time::Instant::now();
    let e = volume::wait_for_volume_status(&demo, &vol.id, &["available"], WAIT).await.unwrap_err();
    assert!(e.to_string().contains("volume is error (waited for available)"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let e = volume::upload_to_image(&demo, &vol.id, "x", &Default::default()).await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert_eq!(
        sigstack_client::error::error_message(match &e {
            sigstack_client::Error::Http { body, .. } => body,
            _ => "",
        }),
        format!("Invalid volume: Volume {} status must be available or in-use, but current status is: error.", vol.id)
    );
}

#[tokio::test]
async fn an_image_larger_than_the_volume_is_unacceptable() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let image_id = image_with(&demo, "qcow2", &[], &qcow2_data(1000, 3 << 29)).await;
    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.status, "error");
    let log = volume_log(&cloud);
    let expected =
        format!("ImageUnacceptable: Image {image_id} is unacceptable: Image virtual size is 2GB and doesn't fit in a volume of size 1GB.");
    assert!(log.contains(&expected), "{log}");
    assert!(volume::list_messages(&demo).await.unwrap().is_empty());
}

#[tokio::test]
async fn volumes_and_messages_are_project_scoped() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let alt = session(&cloud, "alt_demo").await;
    let cert = store_cert(&demo).await;
    let image_id = tampered_image(&demo, "raw", &cert, &data(1000, 2)).await;
    let failed = volume_from(&demo, &image_id, None).await;
    assert_eq!(failed.status, "error");
    // Rescheduled: 3 signature messages and the scheduler's.
    assert_eq!(volume::list_messages(&demo).await.unwrap().len(), 4);

    let e = volume::get_volume(&alt, &failed.id).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    let (status, _, body) = raw(&alt, Method::GET, &format!("/v3/{}/volumes/{}", project(&alt), failed.id), None, None).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"itemNotFound": {"code": 404, "message": format!("Volume {} could not be found.", failed.id)}}))
    );
    assert_eq!(volume::delete_volume(&alt, &failed.id).await.unwrap_err().status(), Some(404));
    assert!(volume::list_volumes(&alt).await.unwrap().is_empty());
    // Cinder 29 lists every project's user messages to anyone (`_messages_get_query` is not
    // project-scoped), but shows and deletes only the caller's own.
    let listed = volume::list_messages(&alt).await.unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|m| m.resource_uuid.as_deref() == Some(failed.id.as_str())));
    // Newest first: the scheduler's, after the three attempts.
    assert_eq!(listed[0].user_message, "schedule allocate volume:Could not find any available weighted backend.");
    let p = project(&alt);
    for method in [Method::GET, Method::DELETE] {
        let (status, _, body) = raw(&alt, method, &format!("/v3/{p}/messages/{}", listed[0].id), Some("3.3"), None).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::NOT_FOUND,
                json!({"itemNotFound": {"code": 404, "message": format!("Message {} could not be found.", listed[0].id)}})
            )
        );
    }
    assert_eq!(volume::list_messages(&demo).await.unwrap().len(), 4, "not deleted by another project");
    assert!(volume::get_volume(&demo, &failed.id).await.is_ok(), "the owner still sees it");
}

#[tokio::test]
async fn messages_exist_from_microversion_3_3() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let p = project(&demo);
    let (status, _, body) = raw(&demo, Method::GET, &format!("/v3/{p}/messages"), Some("3.0"), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}}))
    );
    let (status, _, body) = raw(&demo, Method::GET, &format!("/v3/{p}/messages"), Some("3.3"), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"messages": []})));
}

#[tokio::test]
async fn volumes_can_be_made_from_an_image_name() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let image_id = image_with(&demo, "raw", &[], &data(100, 3)).await;
    let mut new = NewVolume::from_image(1, "cinder-source");
    new.name = Some("by-name".into());
    let created = volume::create_volume(&demo, &new).await.unwrap();
    let vol = volume::wait_for_volume_status(&demo, &created.id, &["available"], WAIT).await.unwrap();
    assert_eq!(vol.image_metadata("image_id"), Some(image_id.as_str()));
}

#[tokio::test]
async fn volumes_survive_a_restart_and_go_with_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let config = CloudConfig { data_dir: Some(dir.path().to_path_buf()), ..CloudConfig::default() };
    let cloud = start(config.clone()).await.unwrap();
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let good = volume_from(&demo, &image_with(&demo, "raw", &[], &data(500, 4)).await, None).await;
    let bad = volume_from(&demo, &tampered_image(&demo, "raw", &cert, &data(500, 5)).await, None).await;
    assert_eq!((good.status.as_str(), bad.status.as_str()), ("available", "error"));
    cloud.shutdown().await;

    let cloud = start(config).await.unwrap();
    let demo = session(&cloud, "demo").await;
    let again = volume::get_volume(&demo, &good.id).await.unwrap();
    assert_eq!(again, good);
    assert_eq!(volume::get_volume(&demo, &bad.id).await.unwrap().status, "error");
    let messages = volume::list_messages(&demo).await.unwrap();
    assert_eq!(messages.len(), 4, "3 attempts and the scheduler's");
    assert!(messages.iter().all(|m| m.resource_uuid.as_deref() == Some(bad.id.as_str())));
    assert!(cloud.data_dir.join("cinder/volumes").join(&good.id).exists());

    let r = cloud.control_http().post(format!("{}/_sim/reset", cloud.endpoints.volume)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let demo = session(&cloud, "demo").await;
    assert!(volume::list_volumes(&demo).await.unwrap().is_empty());
    assert!(volume::list_messages(&demo).await.unwrap().is_empty());
    assert!(!cloud.data_dir.join("cinder/volumes").join(&good.id).exists());
}

#[test]
fn interrupted_work_is_settled_when_cinder_volume_starts() {
    use sigstack_cloud::cinder::{Volume, VolumeService};
    use sigstack_cloud::deployment::{Deployment, DeploymentState};
    use sigstack_cloud::store::Store;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("state.db")).unwrap());
    let deployment = DeploymentState::new(Deployment::default());
    let data_dir = dir.path().join("cinder");
    let service = VolumeService::open(store.clone(), data_dir.clone(), deployment.clone()).unwrap();
    let volume = |id: &str, status: &str| Volume {
        id: id.into(),
        project_id: "p".into(),
        user_id: "u".into(),
        name: None,
        description: None,
        size: 1,
        status: status.into(),
        volume_type: "lvmdriver-1".into(),
        bootable: false,
        availability_zone: "nova".into(),
        created_at: "2026-01-01T00:00:00.000000".into(),
        updated_at: "2026-01-01T00:00:00.000000".into(),
        metadata: Default::default(),
        image_id: None,
        source_volid: None,
    };
    for (id, status) in [("a", "creating"), ("b", "downloading"), ("c", "uploading"), ("d", "available"), ("e", "error")] {
        service.insert(&volume(id, status)).unwrap();
    }
    // A download cut short by the crash.
    std::fs::write(service.temp_path(), b"partial").unwrap();
    drop(service);

    let service = VolumeService::open(store, data_dir.clone(), deployment).unwrap();
    let status = |id: &str| service.get_any(id).unwrap().unwrap().status;
    assert_eq!(["a", "b", "c", "d", "e"].map(status), ["error", "error", "available", "available", "error"].map(String::from));
    assert_eq!(std::fs::read_dir(data_dir.join("tmp")).unwrap().count(), 0);
}
