//! Volume types, encryption specs, encrypted volumes and `os-extend` over HTTP against the
//! simulated Cinder, Glance and Barbican: the admin-only type and encryption APIs with Cinder's
//! policy, conflict and in-use errors; an encrypted volume from a signed image (its key a real
//! Barbican secret of the caller's, the image still verified, never cloned); extend with
//! Cinder's exact refusals. This is what barbican-tempest-plugin's
//! test_extend_encrypted_signed_volume_attach_to_instance relies on.

mod cinder_support;

use cinder_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::key_manager::{self, ListQuery};
use sigstack_client::volume::{self, EncryptionType, NewVolume, NewVolumeType};
use sigstack_cloud::deployment::VolumeDriver;

/// A request to `<project url><path>` at `version`; the status and the JSON body (`null` when
/// there is none).
async fn call(s: &Session, method: Method, path: &str, version: &str, body: Option<Value>) -> (StatusCode, Value) {
    let url = format!("{}{path}", volume::project_url(s).unwrap());
    let mut request = volume::request_at(s, method, &url, version);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

fn fault(name: &str, code: u16, message: &str) -> Value {
    json!({name: {"code": code, "message": message}})
}

/// The admin creates a type named `name` with barbican-tempest-plugin's LUKS spec.
async fn luks_type(admin: &Session, name: &str) -> volume::VolumeType {
    let t = volume::create_volume_type(admin, &NewVolumeType { name: name.into(), ..NewVolumeType::default() }).await.unwrap();
    volume::create_encryption_type(admin, &t.id, &EncryptionType::luks()).await.unwrap();
    t
}

async fn encrypted_volume(s: &Session, image_id: &str, type_name: &str) -> volume::Volume {
    let mut new = NewVolume::from_image(1, image_id);
    new.volume_type = Some(type_name.into());
    let created = volume::create_volume(s, &new).await.expect("create accepted");
    volume::wait_for_volume_status(s, &created.id, &["available", "error"], WAIT).await.unwrap()
}

#[tokio::test]
async fn admins_manage_types_and_encryption_specs() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let demo = session(&cloud, "demo").await;

    let body = json!({"volume_type": {"name": "luks", "description": "LUKS", "extra_specs": {"volume_backend_name": "lvmdriver-1"}}});
    let (status, created) = call(&admin, Method::POST, "/types", "3.0", Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let t = &created["volume_type"];
    let id = t["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!((t["name"].as_str(), t["description"].as_str(), t["is_public"].as_bool()), (Some("luks"), Some("LUKS"), Some(true)));
    assert_eq!(t["extra_specs"], json!({"volume_backend_name": "lvmdriver-1"}));

    // Members: the policy refuses; a taken name conflicts; a bad body is refused first.
    let (status, answer) = call(&demo, Method::POST, "/types", "3.0", Some(json!({"volume_type": {"name": "mine"}}))).await;
    assert_eq!(
        (status, answer),
        (StatusCode::FORBIDDEN, fault("forbidden", 403, "Policy doesn't allow volume_extension:types_manage to be performed."))
    );
    let (status, answer) = call(&admin, Method::POST, "/types", "3.0", Some(body)).await;
    assert_eq!((status, answer), (StatusCode::CONFLICT, fault("conflictingRequest", 409, "Volume Type luks already exists.")));
    let (status, answer) = call(&admin, Method::POST, "/types", "3.0", Some(json!({"volume_type": {"name": "lvmdriver-1"}}))).await;
    assert_eq!((status, answer), (StatusCode::CONFLICT, fault("conflictingRequest", 409, "Volume Type lvmdriver-1 already exists.")));
    let (status, answer) = call(&demo, Method::POST, "/types", "3.0", Some(json!({"volume_type": {"name": ""}}))).await;
    assert_eq!(
        (status, answer),
        (StatusCode::BAD_REQUEST, fault("badRequest", 400, "Invalid input for field/attribute name. Value: . '' is too short"))
    );

    // Everyone lists and shows it, by id or name, next to the back end's own type.
    let (_, listed) = call(&demo, Method::GET, "/types", "3.0", None).await;
    let names: Vec<&str> = listed["volume_types"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["lvmdriver-1", "luks"]);
    for reference in [id.as_str(), "luks"] {
        let (status, shown) = call(&demo, Method::GET, &format!("/types/{reference}"), "3.0", None).await;
        assert_eq!((status, shown["volume_type"]["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    }

    // The encryption spec: admin only, echoed as sent, shown with its ids, one per type.
    let spec = json!({"encryption": {"provider": "luks", "cipher": "aes-xts-plain64", "key_size": 256, "control_location": "front-end"}});
    let path = format!("/types/{id}/encryption");
    let (status, answer) = call(&demo, Method::POST, &path, "3.0", Some(spec.clone())).await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::FORBIDDEN,
            fault("forbidden", 403, "Policy doesn't allow volume_extension:volume_type_encryption:create to be performed.")
        )
    );
    let (status, answer) = call(&admin, Method::POST, &path, "3.0", Some(spec.clone())).await;
    // `volume_type_encryption_create` adds the type and encryption ids to the very dict the
    // controller answers with.
    let mut echoed = spec.clone();
    echoed["encryption"]["volume_type_id"] = json!(id);
    echoed["encryption"]["encryption_id"] = answer["encryption"]["encryption_id"].clone();
    assert!(uuid::Uuid::parse_str(answer["encryption"]["encryption_id"].as_str().unwrap_or_default()).is_ok());
    assert_eq!((status, answer), (StatusCode::OK, echoed));
    let (status, answer) = call(&admin, Method::POST, &path, "3.0", Some(spec.clone())).await;
    assert_eq!(
        (status, answer),
        (StatusCode::BAD_REQUEST, fault("badRequest", 400, &format!("Volume type encryption for type {id} already exists.")))
    );
    let shown = volume::get_encryption_type(&admin, &id).await.unwrap().expect("a spec");
    assert_eq!((shown.provider.as_str(), shown.cipher.as_deref(), shown.key_size), ("luks", Some("aes-xts-plain64"), Some(256)));
    assert_eq!((shown.control_location.as_str(), shown.volume_type_id.as_deref()), ("front-end", Some(id.as_str())));
    let (status, answer) = call(&demo, Method::GET, &path, "3.0", None).await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::FORBIDDEN,
            fault("forbidden", 403, "Policy doesn't allow volume_extension:volume_type_encryption:get to be performed.")
        )
    );
    let bad = json!({"encryption": {"provider": "luks", "control_location": "middle"}});
    let (status, answer) = call(&admin, Method::POST, &path, "3.0", Some(bad)).await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::BAD_REQUEST,
            fault(
                "badRequest",
                400,
                "Invalid input for field/attribute control_location. Value: middle. 'middle' is not one of ['front-end', 'back-end']"
            )
        )
    );

    // Removing the spec, then the type.
    let encryption_id = shown.encryption_id.unwrap();
    let (status, _) = call(&admin, Method::DELETE, &format!("{path}/{encryption_id}"), "3.0", None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(volume::get_encryption_type(&admin, &id).await.unwrap(), None);
    let (status, answer) = call(&admin, Method::DELETE, &format!("{path}/{encryption_id}"), "3.0", None).await;
    assert_eq!(
        (status, answer),
        (StatusCode::NOT_FOUND, fault("itemNotFound", 404, &format!("Volume type encryption for type {id} does not exist.")))
    );
    let (status, answer) = call(&demo, Method::DELETE, &format!("/types/{id}"), "3.0", None).await;
    assert_eq!(
        (status, answer),
        (StatusCode::FORBIDDEN, fault("forbidden", 403, "Policy doesn't allow volume_extension:types_manage to be performed."))
    );
    volume::delete_volume_type(&admin, &id).await.unwrap();
    let (status, answer) = call(&demo, Method::GET, &format!("/types/{id}"), "3.0", None).await;
    assert_eq!((status, answer), (StatusCode::NOT_FOUND, fault("itemNotFound", 404, &format!("Volume type {id} could not be found."))));
    // The default type is the deployment's.
    let default_id = listed["volume_types"][0]["id"].as_str().unwrap().to_owned();
    let (status, answer) = call(&admin, Method::DELETE, &format!("/types/{default_id}"), "3.0", None).await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::BAD_REQUEST,
            fault("badRequest", 400, &format!("The volume type {default_id} is a default volume type and cannot be deleted."))
        )
    );
}

#[tokio::test]
async fn an_encrypted_volume_from_a_signed_image_is_verified_and_keyed_in_barbican() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let image_id = signed_image(&demo, &cert, &data(70_000, 3)).await;
    let t = luks_type(&admin, "luks").await;

    let vol = encrypted_volume(&demo, &image_id, "luks").await;
    assert_eq!(vol.status, "available");
    assert!(vol.encrypted);
    assert_eq!(vol.volume_type.as_deref(), Some("luks"));
    assert_eq!(vol.image_metadata("signature_verified"), Some("True"));
    assert_eq!(vol.image_metadata("img_signature_certificate_uuid"), Some(cert.as_str()));
    let (_, shown) = call(&demo, Method::GET, &format!("/volumes/{}", vol.id), "3.63", None).await;
    assert_eq!(shown["volume"]["volume_type_id"].as_str(), Some(t.id.as_str()));

    // The key: a 256-bit AES secret in demo's project, made with demo's token.
    let query = ListQuery { secret_type: Some("symmetric".into()), ..ListQuery::default() };
    let keys = key_manager::list_secrets(&demo, &query).await.unwrap().secrets;
    assert_eq!(keys.len(), 1);
    assert_eq!((keys[0].algorithm.as_deref(), keys[0].bit_length), (Some("aes"), Some(256)));
    assert_eq!(keys[0].creator_id.as_deref(), Some(demo.token().user.id.as_str()));

    // In use: the type and its spec stay.
    let (status, answer) = call(&admin, Method::DELETE, &format!("/types/{}", t.id), "3.0", None).await;
    assert_eq!((status, answer), (StatusCode::BAD_REQUEST, fault("badRequest", 400, "Target volume type is still in use.")));
    let (status, answer) = call(&admin, Method::DELETE, &format!("/types/{}/encryption/x", t.id), "3.0", None).await;
    assert_eq!(
        (status, answer),
        (StatusCode::BAD_REQUEST, fault("badRequest", 400, "Cannot delete encryption specs. Volume type in use."))
    );

    // Deleting the volume deletes its key; then the type can go.
    volume::delete_volume(&demo, &vol.id).await.unwrap();
    let key_id = key_manager::secret_uuid(&keys[0].secret_ref).to_owned();
    assert_eq!(key_manager::get_secret(&demo, &key_id).await.unwrap_err().status(), Some(404));
    volume::delete_volume_type(&admin, &t.id).await.unwrap();
}

#[tokio::test]
async fn without_barbican_rights_an_encrypted_volume_is_a_key_manager_error() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    // demo without the creator role may not store secrets in Barbican.
    let demo = session(&cloud, "demo").await;
    luks_type(&admin, "luks").await;
    let body = json!({"volume": {"size": 1, "volume_type": "luks"}});
    let (status, answer) = call(&demo, Method::POST, "/volumes", "3.0", Some(body)).await;
    assert_eq!((status, answer), (StatusCode::BAD_REQUEST, fault("badRequest", 400, "Key manager error")));
    assert!(volume::list_volumes(&demo).await.unwrap().is_empty());
}

#[tokio::test]
async fn encrypted_volumes_are_never_cloned_so_always_verified() {
    // On RBD a raw image is cloned inside Ceph and never verified; an encrypted volume cannot
    // be cloned from it, so cinder-volume downloads and verifies it.
    let cloud = cloud_with(&[("ceph", VolumeDriver::Rbd)], true).await;
    let admin = session(&cloud, "admin").await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let image_id = signed_image(&demo, &cert, &data(9000, 4)).await;
    luks_type(&admin, "luks").await;

    let plain = volume_from(&demo, &image_id, None).await;
    assert_eq!((plain.status.as_str(), plain.encrypted, plain.image_metadata("signature_verified")), ("available", false, None));
    let encrypted = encrypted_volume(&demo, &image_id, "luks").await;
    assert_eq!((encrypted.status.as_str(), encrypted.encrypted), ("available", true));
    assert_eq!(encrypted.image_metadata("signature_verified"), Some("True"));
    // No image-volume cache entry was made for it either.
    assert!(!cloud.data_dir.join("cinder/cache").join(format!("ceph--{image_id}")).exists());
}

#[tokio::test]
async fn extend_grows_an_available_volume_and_refuses_as_cinder_does() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let image_id = image_with(&demo, "raw", &[], &data(5000, 5)).await;
    let vol = volume_from(&demo, &image_id, None).await;
    let path = format!("/volumes/{}/action", vol.id);

    let refusals = [
        (
            json!({"os-extend": {"new_size": 1}}),
            "Invalid input received: New size for extend must be greater than current size. (current: 1, extended: 1).",
        ),
        (json!({"os-extend": {"new_size": "x"}}), "Invalid input for field/attribute new_size. Value: x. 'x' does not match '^[0-9]+$'"),
        (json!({"os-extend": {"new_size": 0}}), "Invalid input for field/attribute new_size. Value: 0. 0 is less than the minimum of 1"),
        (json!({"os-extend": {}}), "Invalid input for field/attribute os-extend. Value: {}. 'new_size' is a required property"),
    ];
    for (body, message) in refusals {
        let (status, answer) = call(&demo, Method::POST, &path, "3.0", Some(body)).await;
        assert_eq!((status, answer), (StatusCode::BAD_REQUEST, fault("badRequest", 400, message)));
    }

    volume::extend_volume(&demo, &vol.id, 2).await.unwrap();
    let grown = volume::wait_for_volume_status(&demo, &vol.id, &["available"], WAIT).await.unwrap();
    // `available` again only once grown.
    assert_eq!(grown.size, 2);
    assert_eq!(std::fs::metadata(cloud.data_dir.join("cinder/volumes").join(&vol.id)).unwrap().len(), 2 << 30);
    let (status, answer) = call(&demo, Method::POST, &path, "3.0", Some(json!({"os-extend": {"new_size": 1}}))).await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::BAD_REQUEST,
            fault(
                "badRequest",
                400,
                "Invalid input received: New size for extend must be greater than current size. (current: 2, extended: 1)."
            )
        )
    );
    let missing = uuid::Uuid::new_v4();
    let (status, answer) =
        call(&demo, Method::POST, &format!("/volumes/{missing}/action"), "3.0", Some(json!({"os-extend": {"new_size": 3}}))).await;
    assert_eq!((status, answer), (StatusCode::NOT_FOUND, fault("itemNotFound", 404, &format!("Volume {missing} could not be found."))));
}

#[tokio::test]
async fn an_attached_volume_extends_only_from_3_42() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let vol = volume::create_volume(&demo, &NewVolume { size: 1, ..NewVolume::default() }).await.unwrap();
    volume::wait_for_volume_status(&demo, &vol.id, &["available"], WAIT).await.unwrap();
    let server = uuid::Uuid::new_v4().to_string();
    let connector = json!({"host": "compute-1", "mountpoint": "/dev/vdb", "mode": "rw"});
    let attachment = volume::create_attachment(&demo, &vol.id, &server, Some(&connector)).await.unwrap();
    volume::complete_attachment(&demo, &attachment.id).await.unwrap();
    assert_eq!(volume::get_volume(&demo, &vol.id).await.unwrap().status, "in-use");

    let path = format!("/volumes/{}/action", vol.id);
    let body = json!({"os-extend": {"new_size": 2}});
    let (status, answer) = call(&demo, Method::POST, &path, "3.41", Some(body.clone())).await;
    let message = format!("Invalid volume: Volume {} status must be '{{'status': 'available'}}' to extend, currently in-use.", vol.id);
    assert_eq!((status, answer), (StatusCode::BAD_REQUEST, fault("badRequest", 400, &message)));
    let (status, _) = call(&demo, Method::POST, &path, "3.42", Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let v = volume::get_volume(&demo, &vol.id).await.unwrap();
        if v.size == 2 {
            assert_eq!(v.status, "in-use");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {} GiB, {}", v.size, v.status);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
