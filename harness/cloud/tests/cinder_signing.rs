//! Cinder's image signature verification (docs/reference/openstack-behaviour.md C, docs/reference/cursive.md §6), end to end
//! over HTTP against the simulated Glance and Barbican: what `verify_glance_image_signature`
//! decides, how each failure reaches the user (status `error`, a user message only for
//! `ImageSignatureVerificationException`) and the operator (cinder-volume's log), and the
//! paths that never verify (RBD raw clones, image-volume cache hits, `disabled`).

mod cinder_support;

use cinder_support::*;
use serde_json::json;
use sigstack_client::image;
use sigstack_client::key_manager;
use sigstack_client::volume::{self, UploadOptions};
use sigstack_cloud::deployment::VolumeDriver;

const SIGNATURE_KEYS: [&str; 4] =
    ["img_signature", "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid"];

#[tokio::test]
async fn signed_image_is_verified_and_recorded() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let bytes = data(70_000, 1);
    let image_id = signed_image(&demo, &cert, &bytes).await;
    let source = image::get_image(&demo, &image_id).await.unwrap();

    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.status, "available");
    assert!(vol.bootable);
    assert_eq!(vol.volume_type.as_deref(), Some("lvmdriver-1"));
    let meta = vol.volume_image_metadata.clone().expect("image metadata");
    assert_eq!(meta["signature_verified"], "True");
    assert_eq!(meta["image_id"], image_id);
    assert_eq!(meta["image_name"], "cinder-source");
    assert_eq!(meta["checksum"], source.checksum.clone().unwrap());
    assert_eq!(meta["container_format"], "bare");
    assert_eq!(meta["disk_format"], "raw");
    assert_eq!(meta["min_disk"], "0");
    assert_eq!(meta["min_ram"], "0");
    assert_eq!(meta["size"], "70000");
    for key in SIGNATURE_KEYS {
        assert_eq!(Some(meta[key].as_str()), source.property(key), "{key}");
    }
    assert!(volume::list_messages(&demo).await.unwrap().is_empty());
    assert!(temp_files(&cloud).is_empty());

    // The volume holds the image's bytes, then sparse space up to its size.
    let path = cloud.data_dir.join("cinder/volumes").join(&vol.id);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 30);
    let mut head = vec![0u8; bytes.len()];
    std::io::Read::read_exact(&mut std::fs::File::open(&path).unwrap(), &mut head).unwrap();
    assert_eq!(head, bytes);
}

#[tokio::test]
async fn unsigned_image_is_accepted_and_marked_false() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let image_id = image_with(&demo, "raw", &[("hw_disk_bus", "scsi".to_owned())], &data(5000, 2)).await;
    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.status, "available");
    assert_eq!(vol.image_metadata("signature_verified"), Some("False"));
    assert_eq!(vol.image_metadata("hw_disk_bus"), Some("scsi"));
    assert!(SIGNATURE_KEYS.iter().all(|k| vol.image_metadata(k).is_none()));
}

#[tokio::test]
async fn partial_signature_metadata_fails_without_a_user_message() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    // Glance does not verify an image with only some of the four properties (A2).
    let props = [("img_signature", "c2ln".to_owned()), ("img_signature_hash_method", "SHA-256".to_owned())];
    let image_id = image_with(&demo, "raw", &props, &data(3000, 3)).await;
    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.status, "error");
    assert_eq!(vol.volume_image_metadata, None, "the flow failed before any metadata was written");
    // InvalidSignatureImage has no user message; only the operator's log says why. Cinder 29
    // reschedules it (any failure of the download does), so the scheduler's message is there.
    let messages = volume::list_messages(&demo).await.unwrap();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_scheduler_gave_up(&messages, &vol.id);
    let log = volume_log(&cloud);
    assert!(
        log.contains(&format!("[volume {}] InvalidSignatureImage: Signature metadata is incomplete for image: {image_id}.", vol.id)),
        "{log}"
    );
    assert!(temp_files(&cloud).is_empty(), "the temporary download is removed on error");
}

/// Asserts the user messages of a signature failure on `volume_id`: Cinder 29 reschedules the
/// volume, so one per attempt (`scheduler_max_attempts`, 3), then the scheduler's.
async fn assert_signature_message(demo: &sigstack_client::Session, volume_id: &str) {
    let messages = volume::list_messages(demo).await.unwrap();
    assert_eq!(messages.len(), 4, "{messages:?}");
    let signature: Vec<_> = messages.iter().filter(|m| m.event_id == "VOLUME_VOLUME_005_011").collect();
    assert_eq!(signature.len(), 3, "{messages:?}");
    for m in signature {
        assert_eq!(m.user_message, "copy image to volume:Image signature verification failed.");
        assert_eq!(m.message_level, "ERROR");
        assert_eq!(m.resource_type.as_deref(), Some("VOLUME"));
        assert_eq!(m.resource_uuid.as_deref(), Some(volume_id));
        assert!(m.request_id.as_deref().is_some_and(|r| r.starts_with("req-")));
    }
    assert_scheduler_gave_up(&messages, volume_id);
}

/// The scheduler's one message when the reschedules are exhausted.
fn assert_scheduler_gave_up(messages: &[volume::Message], volume_id: &str) {
    let gave_up: Vec<_> = messages.iter().filter(|m| m.event_id == "VOLUME_VOLUME_001_003").collect();
    assert_eq!(gave_up.len(), 1, "{messages:?}");
    assert_eq!(gave_up[0].user_message, "schedule allocate volume:Could not find any available weighted backend.");
    assert_eq!(gave_up[0].resource_uuid.as_deref(), Some(volume_id));
}

#[tokio::test]
async fn tampered_image_fails_with_a_user_message() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let image_id = tampered_image(&demo, "raw", &cert, &data(9000, 4)).await;
    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.status, "error");
    assert_eq!(vol.volume_image_metadata, None);
    assert_signature_message(&demo, &vol.id).await;
    let log = volume_log(&cloud);
    assert!(
        log.contains(&format!(
            "ImageSignatureVerificationException: Failed to verify image signature, reason: Image signature verification failed for image: {image_id}."
        )),
        "{log}"
    );
    assert!(temp_files(&cloud).is_empty());
    assert!(!cloud.data_dir.join("cinder/volumes").join(&vol.id).exists());
    // The errored volume can be deleted.
    volume::delete_volume(&demo, &vol.id).await.unwrap();
    assert!(volume::get_volume(&demo, &vol.id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn missing_certificate_fails_to_get_a_verifier() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let image_id = signed_image(&demo, &cert, &data(4000, 5)).await;
    key_manager::delete_secret(&demo, &cert).await.unwrap();
    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.status, "error");
    assert_signature_message(&demo, &vol.id).await;
    let log = volume_log(&cloud);
    assert!(
        log.contains(&format!(
            "ImageSignatureVerificationException: Failed to verify image signature, reason: Failed to get verifier for image: {image_id}."
        )),
        "{log}"
    );
}

#[tokio::test]
async fn a_certificate_payload_that_is_not_pem_escapes_without_a_user_message() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    // A certificate secret whose payload is not PEM: castellan's ValueError escapes cursive,
    // so it is not an ImageSignatureVerificationException.
    let secret_ref =
        key_manager::create_secret(&demo, &key_manager::NewSecret::certificate("der", b"not a pem certificate")).await.expect("stored");
    let uuid = key_manager::secret_uuid(&secret_ref).to_owned();
    let image_id = tampered_image(&demo, "raw", &uuid, &data(2000, 6)).await;
    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.status, "error");
    // No message of its own; rescheduled, so the scheduler's.
    let messages = volume::list_messages(&demo).await.unwrap();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_scheduler_gave_up(&messages, &vol.id);
    let log = volume_log(&cloud);
    assert!(log.contains(&format!("[volume {}] ValueError: Unable to load PEM file.", vol.id)), "{log}");
}

#[tokio::test]
async fn disabled_option_skips_verification_and_the_key() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let image_id = tampered_image(&demo, "raw", &cert, &data(6000, 7)).await;
    patch_deployment(&cloud, json!({"cinder": {"verify_glance_signatures": "disabled"}})).await;
    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.status, "available");
    assert_eq!(vol.image_metadata("signature_verified"), None);
    assert!(vol.image_metadata("img_signature").is_some(), "the image's properties are still copied");

    // Back to enabled at run time: the same image now fails.
    patch_deployment(&cloud, json!({"cinder": {"verify_glance_signatures": "enabled"}})).await;
    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.status, "error");
}

#[tokio::test]
async fn rbd_clones_raw_images_without_verifying() {
    let cloud = cloud_with(&[("lvmdriver-1", VolumeDriver::Lvm), ("ceph", VolumeDriver::Rbd)], false).await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let bytes = data(8000, 8);
    let raw_image = tampered_image(&demo, "raw", &cert, &bytes).await;

    // RBD + bare/raw: cloned, never downloaded by cinder-volume, never verified.
    let vol = volume_from(&demo, &raw_image, Some("ceph")).await;
    assert_eq!(vol.status, "available");
    assert_eq!(vol.volume_type.as_deref(), Some("ceph"));
    assert_eq!(vol.image_metadata("signature_verified"), None);
    assert!(vol.image_metadata("img_signature").is_some());
    assert!(volume::list_messages(&demo).await.unwrap().is_empty());

    // The same image on LVM is downloaded and verified, and fails.
    let vol = volume_from(&demo, &raw_image, Some("lvmdriver-1")).await;
    assert_eq!(vol.status, "error");

    // A qcow2 image cannot be cloned by RBD: it is downloaded and verified.
    let qcow2 = tampered_image(&demo, "qcow2", &cert, &qcow2_data(8000, 1 << 30)).await;
    let vol = volume_from(&demo, &qcow2, Some("ceph")).await;
    assert_eq!(vol.status, "error");
    // Two failed volumes, each 3 signature messages and the scheduler's.
    assert_eq!(volume::list_messages(&demo).await.unwrap().len(), 8);
}

#[tokio::test]
async fn image_volume_cache_hits_are_not_verified() {
    let cloud = cloud_with(&[("lvmdriver-1", VolumeDriver::Lvm)], true).await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let image_id = signed_image(&demo, &cert, &data(12_000, 9)).await;

    // First create: downloaded, verified, cached.
    let first = volume_from(&demo, &image_id, None).await;
    assert_eq!((first.status.as_str(), first.image_metadata("signature_verified")), ("available", Some("True")));

    // The certificate goes away: a verification would now fail to get a verifier...
    key_manager::delete_secret(&demo, &cert).await.unwrap();
    // ...but a cache hit is a clone of the cached volume, never verified.
    let second = volume_from(&demo, &image_id, None).await;
    assert_eq!(second.status, "available");
    assert_eq!(second.image_metadata("signature_verified"), None);
    assert_eq!(second.image_metadata("image_id"), Some(image_id.as_str()));
    assert!(volume::list_messages(&demo).await.unwrap().is_empty());

    // Without the cache the same create downloads, verifies, and fails.
    patch_deployment(&cloud, json!({"cinder": {"image_volume_cache_enabled": false}})).await;
    let third = volume_from(&demo, &image_id, None).await;
    assert_eq!(third.status, "error");
    assert_signature_message(&demo, &third.id).await;
}

#[tokio::test]
async fn an_updated_image_is_evicted_from_the_cache_and_verified_again() {
    let cloud = cloud_with(&[("lvmdriver-1", VolumeDriver::Lvm)], true).await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let image_id = signed_image(&demo, &cert, &data(3000, 10)).await;
    let first = volume_from(&demo, &image_id, None).await;
    assert_eq!(first.image_metadata("signature_verified"), Some("True"));
    // Glance timestamps have one-second resolution: make the update visibly later.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let ops = [image::PatchOp::Add { path: "/img_signature".into(), value: json!(signature_props(b"x", &cert)[0].1) }];
    image::update_image(&demo, &image_id, &ops).await.unwrap();
    let second = volume_from(&demo, &image_id, None).await;
    assert_eq!(second.status, "error", "the stale entry is evicted and the new signature checked");
}

#[tokio::test]
async fn upload_to_image_strips_signature_properties() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let bytes = data(10_000, 11);
    let mut props = signature_props(&bytes, &cert);
    props.push(("hw_disk_bus", "scsi".into()));
    let image_id = image_with(&demo, "raw", &props, &bytes).await;
    let vol = volume_from(&demo, &image_id, None).await;
    assert_eq!(vol.image_metadata("signature_verified"), Some("True"));

    let upload = volume::upload_to_image(&demo, &vol.id, "from-volume", &UploadOptions::default()).await.unwrap();
    assert_eq!((upload.id.as_str(), upload.status.as_str(), upload.image_name.as_str()), (vol.id.as_str(), "uploading", "from-volume"));
    let uploaded = image::wait_for_status(&demo, &upload.image_id, &["active"], WAIT).await.unwrap();
    volume::wait_for_volume_status(&demo, &vol.id, &["available"], WAIT).await.unwrap();
    assert_eq!(uploaded.size, Some(1 << 30), "the whole volume is uploaded");
    assert_eq!(uploaded.property("hw_disk_bus"), Some("scsi"));
    for key in SIGNATURE_KEYS.iter().chain(&["signature_verified", "image_id", "checksum"]) {
        assert_eq!(uploaded.property(key), None, "{key} must not be copied");
    }

    // The uploaded image is unsigned: a volume from it verifies nothing.
    let again = volume_from(&demo, &uploaded.id, None).await;
    assert_eq!((again.status.as_str(), again.image_metadata("signature_verified")), ("available", Some("False")));
}
