//! The deployment's `defects:` switches (the simulated cloud misbehaving on purpose, for testing
//! the conformance suite), each over HTTP: it breaks what it says, where the real behaviour
//! lives, and nothing else, and `PATCH /_sim/deployment` turns it on and off in a running cloud.
//! `scenarios/tests/broken_clouds.rs` runs the whole suite against each.

mod nova_support;

use nova_support::*;
use serde_json::{Value, json};
use sigstack_client::image::{self, NewImage};
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_client::volume;
use sigstack_cloud::deployment::{Defects, Deployment};

const MISSING_UUID: &str = "Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid.";
const NOT_BASE64: &str = "Signature verification for the image failed: The signature data was not properly encoded using base64.";

async fn set_defects(cloud: &sigstack_cloud::CloudHandle, defects: Value) {
    // Every switch off first: a merge patch changes only the keys it names.
    let off = serde_json::to_value(Defects::default()).unwrap();
    patch_deployment(cloud, json!({"defects": off})).await;
    patch_deployment(cloud, json!({"defects": defects})).await;
}

/// A fresh unsigned image, and one with the four properties but `img_signature` not base64.
async fn unsigned_and_badly_signed(demo: &sigstack_client::Session, cert: &str, seed: u8) -> (String, String) {
    let bytes = image_bytes("raw", seed);
    let unsigned = image_with(demo, "raw", "private", &bytes, &[]).await;
    let mut props = signed_props(RSA_KEY, &bytes, cert);
    props[0].1 = "fake_signature".into();
    (unsigned, image_with(demo, "raw", "private", &bytes, &props).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn nova_defects_break_only_what_they_say() {
    let cloud = cloud(deployment(true, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo, RSA_CERT).await;

    // nova_boots_unsigned: an unsigned image boots; one with all four properties is still
    // verified.
    set_defects(&cloud, json!({"nova_boots_unsigned": true})).await;
    let (unsigned, bad) = unsigned_and_badly_signed(&demo, &cert, 11).await;
    assert_active(&boot_and_settle(&demo, &unsigned, None, None).await);
    let server = boot_and_settle(&demo, &bad, None, None).await;
    assert_eq!(fault(&server), aborted(&server.id, NOT_BASE64));

    // nova_skips_verification: nothing verified, unless the user gives trusted certificates.
    set_defects(&cloud, json!({"nova_skips_verification": true})).await;
    let (unsigned, bad) = unsigned_and_badly_signed(&demo, &cert, 12).await;
    assert_active(&boot_and_settle(&demo, &bad, None, None).await);
    let server = boot_and_settle(&demo, &unsigned, None, Some(&[cert.as_str()])).await;
    assert_eq!(fault(&server), aborted(&server.id, MISSING_UUID));

    // nova_skips_certificate_validation: with validation on, a signed image boots without
    // trusted certificates, or with ones it does not chain to; signatures are still checked.
    patch_deployment(&cloud, json!({"nova": {"glance": {"enable_certificate_validation": true}}})).await;
    set_defects(&cloud, json!({"nova_skips_certificate_validation": true})).await;
    let (signed, _, _) = signed_image(&demo, "raw").await;
    assert_active(&boot_and_settle(&demo, &signed, Some("compute-a"), None).await);
    let other = store_cert(&demo, "fixtures/pki/chain/root.crt.pem").await;
    assert_active(&boot_and_settle(&demo, &signed, Some("compute-b"), Some(&[other.as_str()])).await);
    let (_, bad) = unsigned_and_badly_signed(&demo, &cert, 13).await;
    let server = boot_and_settle(&demo, &bad, None, None).await;
    assert_eq!(fault(&server), aborted(&server.id, NOT_BASE64));

    // All off again: the healthy rules are back.
    set_defects(&cloud, json!({})).await;
    let (signed, _, _) = signed_image(&demo, "raw").await;
    let server = boot_and_settle(&demo, &signed, None, None).await;
    assert!(fault(&server).contains("no trusted certificate IDs were provided"), "{server:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn nova_verifying_cached_images_refuses_an_unsigned_cached_image() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let unsigned = image_with(&demo, "raw", "private", &image_bytes("raw", 21), &[]).await;
    let before = boot_and_settle(&demo, &unsigned, Some("compute-a"), None).await;
    assert_active(&before);
    let (signed, _, _) = signed_image(&demo, "raw").await;
    assert_active(&boot_and_settle(&demo, &signed, Some("compute-a"), None).await);
    assert_eq!(cached(&cloud, "compute-a").await.len(), 2);
    patch_deployment(&cloud, json!({"nova": {"glance": {"verify_glance_signatures": true}}})).await;
    assert_active(&boot_and_settle(&demo, &unsigned, Some("compute-a"), None).await);

    set_defects(&cloud, json!({"nova_verifies_cached_images": true})).await;
    let server = boot_and_settle(&demo, &unsigned, Some("compute-a"), None).await;
    assert_eq!(fault(&server), aborted(&server.id, MISSING_UUID));
    // A hard reboot re-creates the disk from the cache, and now verifies it too.
    sigstack_client::compute::reboot(&demo, &before.id, true).await.unwrap();
    let rebooted = settle(&demo, &before.id).await;
    assert_eq!(fault(&rebooted), MISSING_UUID, "a rebuild's fault is the raw message");
    // A signed cached image verifies from the cache.
    assert_active(&boot_and_settle(&demo, &signed, Some("compute-a"), None).await);
    assert_eq!(cached(&cloud, "compute-a").await.len(), 2, "nothing downloaded again");
}

/// An image with the four properties created before the upload (Glance verifies the upload).
async fn upload_signed(
    s: &sigstack_client::Session,
    bytes: &[u8],
    props: &[(&str, String)],
) -> (String, Result<(), sigstack_client::Error>) {
    let mut new = NewImage::raw("defects");
    new.properties = props.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let img = image::create_image(s, &new).await.expect("image created");
    let result = image::upload(s, &img.id, std::io::Cursor::new(bytes.to_vec()), Some(bytes.len() as u64)).await;
    (img.id, result)
}

#[tokio::test(flavor = "multi_thread")]
async fn glance_defects_accept_or_misreport_a_bad_upload() {
    let cloud = cloud(Deployment::default()).await;
    let admin = session(&cloud, "admin").await;
    let cert = store_cert(&admin, RSA_CERT).await;
    let bytes = image_bytes("raw", 31);
    let mut tampered = bytes.clone();
    tampered[100] ^= 1;
    let props = signed_props(RSA_KEY, &bytes, &cert);
    let refused = |r: Result<(), sigstack_client::Error>| match r {
        Err(sigstack_client::Error::Http { status, message, .. }) => (status, message),
        other => panic!("expected a refusal, got {other:?}"),
    };

    let (id, r) = upload_signed(&admin, &tampered, &props).await;
    assert_eq!(refused(r), (400, format!("Signature verification failed for image {id}: Signature verification failed")));

    set_defects(&cloud, json!({"glance_wrong_error_message": true})).await;
    let (id, r) = upload_signed(&admin, &tampered, &props).await;
    assert_eq!(refused(r), (400, format!("Signature verification failed for image {id}")));

    set_defects(&cloud, json!({"glance_wrong_error_status": true})).await;
    let (id, r) = upload_signed(&admin, &tampered, &props).await;
    assert_eq!(refused(r), (500, format!("Signature verification failed for image {id}: Signature verification failed")));
    assert_eq!(image::get_image(&admin, &id).await.unwrap().status, "queued");

    // glance_skips_verification: stored and active, whatever the data and the certificate.
    set_defects(&cloud, json!({"glance_skips_verification": true})).await;
    let mut no_cert = props.clone();
    no_cert[3].1 = "3e0c2a4b-5d6f-4a1b-9c8d-7e6f5a4b3c2d".into();
    for props in [&props, &no_cert] {
        let (id, r) = upload_signed(&admin, &tampered, props).await;
        r.expect("accepted unverified");
        assert_eq!(image::get_image(&admin, &id).await.unwrap().status, "active");
        let data = image::download(&admin, &id).await.unwrap().expect("data").bytes().await.unwrap();
        assert_eq!(data.as_ref(), tampered.as_slice());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn barbican_ignoring_acls_lets_another_project_read_a_secret() {
    let cloud = cloud(Deployment::default()).await;
    let admin = session(&cloud, "admin").await;
    let alt = session(&cloud, "alt_demo").await;
    let secret_ref = key_manager::create_secret(&admin, &NewSecret::certificate("private", fixture(RSA_CERT).as_bytes())).await.unwrap();
    let uuid = key_manager::secret_uuid(&secret_ref).to_owned();
    assert_eq!(key_manager::get_secret(&alt, &uuid).await.unwrap_err().status(), Some(403));
    assert_eq!(key_manager::get_payload(&alt, &uuid, "application/octet-stream").await.unwrap_err().status(), Some(403));

    set_defects(&cloud, json!({"barbican_ignores_acls": true})).await;
    assert_eq!(key_manager::get_secret(&alt, &uuid).await.unwrap().secret_type, "certificate");
    assert_eq!(key_manager::get_payload(&alt, &uuid, "application/octet-stream").await.unwrap(), fixture(RSA_CERT).into_bytes());
    // Reading only: changing or deleting it is still refused.
    assert_eq!(key_manager::delete_secret(&alt, &uuid).await.unwrap_err().status(), Some(403));
}

/// A volume from `image`, settled (`available` or `error`).
async fn volume_from(s: &sigstack_client::Session, image: &str) -> volume::Volume {
    let created = volume::create_volume(s, &volume::NewVolume::from_image(1, image)).await.expect("create accepted");
    volume::wait_for_volume_status(s, &created.id, &["available", "error"], WAIT).await.expect("settles")
}

#[tokio::test(flavor = "multi_thread")]
async fn cinder_marking_unverified_as_verified_makes_a_tampered_image_a_volume() {
    let cloud = cloud(Deployment::default()).await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo, RSA_CERT).await;
    let bytes = image_bytes("raw", 41);
    // Uploaded unsigned, then given the signature of other data (Glance verifies uploads only).
    let tampered = image_with(&demo, "raw", "private", &bytes, &signed_props(RSA_KEY, b"other data", &cert)).await;
    assert_eq!(volume_from(&demo, &tampered).await.status, "error");

    set_defects(&cloud, json!({"cinder_marks_unverified_as_verified": true})).await;
    let tampered = image_with(&demo, "raw", "private", &bytes, &signed_props(RSA_KEY, b"other data", &cert)).await;
    let vol = volume_from(&demo, &tampered).await;
    assert_eq!(vol.status, "available");
    assert_eq!(vol.image_metadata("signature_verified"), Some("True"));
    // Unsigned is still 'False', and incomplete properties still refused.
    let unsigned = image_with(&demo, "raw", "private", &bytes, &[]).await;
    assert_eq!(volume_from(&demo, &unsigned).await.image_metadata("signature_verified"), Some("False"));
    let partial = image_with(&demo, "raw", "private", &bytes, &signed_props(RSA_KEY, &bytes, &cert)[..3]).await;
    assert_eq!(volume_from(&demo, &partial).await.status, "error");
}
