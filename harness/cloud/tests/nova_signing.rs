//! Nova's image-signature verification and certificate validation at build time, end to end
//! over HTTP (docs/reference/openstack-behaviour.md B3–B5, docs/reference/cursive.md §6): `_get_verifier`'s rules, the fault
//! messages with the `Build of instance <uuid> aborted:` prefix cut at 255 characters, the
//! reschedule on a data mismatch, and the cases where verification is silently skipped (image
//! cache hit, RAW image on an RBD node).

mod nova_support;

use nova_support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sigstack_client::compute;
use sigstack_cloud::deployment::{ComputeNodeSpec, StorageBackend};

const MISSING_UUID: &str = "Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid.";

#[tokio::test(flavor = "multi_thread")]
async fn signed_image_boots_verified_into_the_cache() {
    let cloud = cloud(deployment(true, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let (image, _, _) = signed_image(&demo, "raw").await;
    let server = boot_and_settle(&demo, &image, Some("compute-a"), None).await;
    assert_active(&server);
    assert_eq!(cached(&cloud, "compute-a").await, vec![image.clone()]);
    assert!(cached(&cloud, "compute-b").await.is_empty());
    let file = cloud.data_dir.join("nova/compute-a/_base").join(&image);
    assert_eq!(std::fs::read(file).unwrap(), image_bytes("raw", 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_signature_metadata_aborts_with_cursive_messages() {
    let cloud = cloud(deployment(true, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo, RSA_CERT).await;
    let bytes = data(50_000, 5);
    let good = signed_props(RSA_KEY, &bytes, &cert);
    let with = |key: &str, value: &str| -> Vec<(&'static str, String)> {
        good.iter().map(|(k, v)| (*k, if *k == key { value.to_owned() } else { v.clone() })).collect()
    };
    let absent = uuid_like(7);
    let cases: Vec<(Vec<(&'static str, String)>, String)> = vec![
        (vec![], MISSING_UUID.to_owned()),
        (
            good.iter().filter(|(k, _)| *k == "img_signature_certificate_uuid").cloned().collect(),
            "Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_hash_method.".into(),
        ),
        (with("img_signature", "fake_signature"), "Signature verification for the image failed: The signature data was not properly encoded using base64.".into()),
        (with("img_signature_certificate_uuid", &absent), format!("Signature verification for the image failed: Certificate not found with ID: {absent}.")),
        // A key type Nova's enum knows but this cryptography does not register.
        (with("img_signature_key_type", "ECC_SECT571K1"), "Signature verification for the image failed: Invalid signature key type: ECC_SECT571K1.".into()),
    ];
    for (props, reason) in cases {
        let image = image_with(&demo, "raw", "private", &bytes, &props).await;
        let server = boot_and_settle(&demo, &image, None, None).await;
        assert_eq!(fault(&server), aborted(&server.id, &reason));
        // Aborted, not rescheduled: no host, nothing cached anywhere.
        let admin_view = compute::get_server(&session(&cloud, "admin").await, V263, &server.id).await.unwrap();
        assert_eq!(admin_view.host, None);
    }
    assert!(cached(&cloud, "compute-a").await.is_empty() && cached(&cloud, "compute-b").await.is_empty());
    // Values outside Nova's own enums never reach the compute: the API refuses the image.
    for (key, value) in [("img_signature_hash_method", "MD5"), ("img_signature_key_type", "RSA")] {
        let image = image_with(&demo, "raw", "private", &bytes, &with(key, value)).await;
        let err = compute::create_server(&demo, V263, &sigstack_client::compute::NewServer::from_image("vm", &image)).await.unwrap_err();
        assert_eq!(err.status(), Some(400));
        assert!(
            err.to_string().ends_with(&format!("returned 400: Invalid image metadata. Error: Field value {value} is invalid")),
            "{err}"
        );
    }
}

fn uuid_like(seed: u8) -> String {
    format!("{seed:08x}-0000-4000-8000-000000000000")
}

#[tokio::test(flavor = "multi_thread")]
async fn nova_documents_four_certificate_chain() {
    let cloud = cloud(deployment(true, true, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let root = store_cert(&demo, "fixtures/pki/chain/root.crt.pem").await;
    let a = store_cert(&demo, "fixtures/pki/chain/intermediate-a.crt.pem").await;
    let b = store_cert(&demo, "fixtures/pki/chain/intermediate-b.crt.pem").await;
    let client = store_cert(&demo, "fixtures/pki/chain/client.crt.pem").await;
    let bytes = data(100_000, 11);
    let image = image_with(&demo, "raw", "private", &bytes, &signed_props("fixtures/pki/chain/client.key.pem", &bytes, &client)).await;

    // Validation on, no trusted certificate ids anywhere.
    let server = boot_and_settle(&demo, &image, Some("compute-a"), None).await;
    assert_eq!(
        fault(&server),
        aborted(
            &server.id,
            "Image signature certificate validation enabled, but no trusted certificate IDs were provided. Unable to validate the certificate used to verify the image signature."
        )
    );

    // The root alone does not reach the signing certificate's issuer: cut at 255 characters.
    let server = boot_and_settle(&demo, &image, Some("compute-a"), Some(&[&root])).await;
    let full = format!(
        "Build of instance {} aborted: Image signature certificate validation failed for certificate: {client}. Certificate chain building failed. Could not locate the signing certificate for the base certificate in the set of trusted certificates.",
        server.id
    );
    assert_eq!(full.len(), 301);
    assert_eq!(fault(&server), full[..255]);
    assert!(fault(&server).ends_with("for the base c"));

    // An unavailable trusted certificate is skipped; root + intermediates validate the chain.
    let server = boot_and_settle(&demo, &image, Some("compute-a"), Some(&[&uuid_like(1), &root, &a, &b])).await;
    assert_active(&server);
    assert_eq!(server.trusted_image_certificates, Some(Some(vec![uuid_like(1), root.clone(), a.clone(), b.clone()])));

    // The configured defaults apply (and are persisted) when the user gives none.
    patch_deployment(&cloud, json!({"nova": {"glance": {"default_trusted_certificate_ids": [root, a, b]}}})).await;
    let server = boot_and_settle(&demo, &image, Some("compute-b"), None).await;
    assert_active(&server);
    assert_eq!(server.trusted_image_certificates, Some(Some(vec![root, a, b])));
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_data_reschedules_until_every_host_was_tried_unless_forced_onto_one() {
    let cloud = cloud(deployment(true, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo, RSA_CERT).await;
    let signed = data(80_000, 1);
    let mut tampered = signed.clone();
    tampered[40_000] ^= 0x01;
    let image = image_with(&demo, "raw", "private", &tampered, &signed_props(RSA_KEY, &signed, &cert)).await;
    let server = boot_and_settle(&demo, &image, None, None).await;
    let message = fault(&server);
    assert_eq!(
        message,
        format!(
            "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance {}.",
            server.id
        )
    );
    assert!(!message.contains("Signature verification"));
    assert!(cached(&cloud, "compute-a").await.is_empty() && cached(&cloud, "compute-b").await.is_empty(), "a failed verify caches nothing");
    let leftovers: Vec<_> = std::fs::read_dir(cloud.data_dir.join("nova/compute-a/_base")).unwrap().flatten().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Forced onto one host, the build gets no retry information (`populate_retry`): the
    // failure is not rescheduled, and InvalidSignature's empty text leaves
    // RescheduledException's own message as the fault.
    let server = boot_and_settle(&demo, &image, Some("compute-b"), None).await;
    assert_eq!(fault(&server), format!("Build of instance {} was re-scheduled: ", server.id));
    // The same with one attempt allowed ([scheduler] max_attempts = 1), wherever it lands.
    patch_deployment(&cloud, json!({"nova": {"max_attempts": 1}})).await;
    let server = boot_and_settle(&demo, &image, None, None).await;
    assert_eq!(fault(&server), format!("Build of instance {} was re-scheduled: ", server.id));
}

#[tokio::test(flavor = "multi_thread")]
async fn user_certificates_force_verification_and_validation_with_both_options_off() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = creator(&cloud).await;
    let (image, cert, _) = signed_image(&demo, "raw").await;
    let unsigned = image_with(&demo, "raw", "private", &data(5000, 9), &[]).await;
    // Options off and no certificates: nothing is verified.
    assert_active(&boot_and_settle(&demo, &unsigned, Some("compute-a"), None).await);
    // The self-signed signing certificate (CA, keyCertSign) as the trusted one: validated.
    assert_active(&boot_and_settle(&demo, &image, Some("compute-b"), Some(&[&cert])).await);
    // Trusted certificates on the unsigned image, on a host without it cached: verification
    // runs and fails.
    let server = boot_and_settle(&demo, &unsigned, Some("compute-b"), Some(&[&cert])).await;
    assert_eq!(fault(&server), aborted(&server.id, MISSING_UUID));
}

#[tokio::test(flavor = "multi_thread")]
async fn host_without_trusted_certificate_support_aborts() {
    let nodes = vec![ComputeNodeSpec { host: "ironic-0".into(), images_type: StorageBackend::Local, supports_trusted_certs: false }];
    let cloud = cloud(deployment(false, false, nodes)).await;
    let demo = creator(&cloud).await;
    let (image, cert, _) = signed_image(&demo, "raw").await;
    let server = boot_and_settle(&demo, &image, None, Some(&[&cert])).await;
    assert_eq!(
        fault(&server),
        aborted(&server.id, "Trusted image certificates provided on host that does not support certificate validation.")
    );
    assert_active(&boot_and_settle(&demo, &image, None, None).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn cached_images_are_not_verified_again() {
    let cloud = cloud(deployment(false, false, two_local_nodes())).await;
    let demo = session(&cloud, "demo").await;
    let unsigned = image_with(&demo, "raw", "private", &data(5000, 4), &[]).await;
    assert_active(&boot_and_settle(&demo, &unsigned, Some("compute-a"), None).await);
    assert_eq!(cached(&cloud, "compute-a").await, vec![unsigned.clone()]);
    patch_deployment(&cloud, json!({"nova": {"glance": {"verify_glance_signatures": true}}})).await;
    // Cache hit on compute-a: no verification at all.
    assert_active(&boot_and_settle(&demo, &unsigned, Some("compute-a"), None).await);
    // compute-b downloads, verifies and fails.
    let server = boot_and_settle(&demo, &unsigned, Some("compute-b"), None).await;
    assert_eq!(fault(&server), aborted(&server.id, MISSING_UUID));
    // Warming compute-b's cache (no verification) makes it boot there too.
    let (status, body) = sim(
        &cloud,
        Method::POST,
        "/_sim/compute/nodes/compute-b/image-cache",
        Some(json!({"image_id": unsigned})),
        Some(&demo.token().value),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_active(&boot_and_settle(&demo, &unsigned, Some("compute-b"), None).await);
    // Evicted again: verification is back.
    let (status, _) = sim(&cloud, Method::DELETE, &format!("/_sim/compute/nodes/compute-b/image-cache/{unsigned}"), None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let server = boot_and_settle(&demo, &unsigned, Some("compute-b"), None).await;
    assert_eq!(fault(&server), aborted(&server.id, MISSING_UUID));
    let (status, _) =
        sim(&cloud, Method::POST, "/_sim/compute/nodes/compute-b/image-cache", Some(json!({"image_id": unsigned})), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "warming needs a token to read Glance with");
    // `/_sim/reset` empties the caches and brings every node back.
    assert_eq!(sim(&cloud, Method::POST, "/_sim/compute/nodes/compute-b/fail", None, None).await.0, StatusCode::OK);
    assert_eq!(sim(&cloud, Method::POST, "/_sim/reset", None, None).await.0, StatusCode::OK);
    let (_, nodes) = sim(&cloud, Method::GET, "/_sim/compute/nodes", None, None).await;
    for n in nodes["nodes"].as_array().unwrap() {
        assert_eq!((n["state"].as_str(), n["cached_images"].as_array().map(Vec::len)), (Some("up"), Some(0)), "{n}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rbd_clones_raw_images_unverified_but_verifies_qcow2() {
    let cloud = cloud(deployment(true, false, vec![node("ceph-0", StorageBackend::CephRbd)])).await;
    let demo = creator(&cloud).await;
    let raw_unsigned = image_with(&demo, "raw", "private", &image_bytes("raw", 2), &[]).await;
    let qcow2_unsigned = image_with(&demo, "qcow2", "private", &image_bytes("qcow2", 2), &[]).await;
    let (qcow2_signed, _, _) = signed_image(&demo, "qcow2").await;
    assert_active(&boot_and_settle(&demo, &raw_unsigned, None, None).await);
    assert!(cached(&cloud, "ceph-0").await.is_empty(), "a RAW image on RBD is cloned, not downloaded");
    let server = boot_and_settle(&demo, &qcow2_unsigned, None, None).await;
    assert_eq!(fault(&server), aborted(&server.id, MISSING_UUID));
    assert_active(&boot_and_settle(&demo, &qcow2_signed, None, None).await);
    assert_eq!(cached(&cloud, "ceph-0").await, vec![qcow2_signed]);
}

#[tokio::test(flavor = "multi_thread")]
async fn mos_profile_verifies_baseline_images_but_not_raw_on_ceph() {
    let mut d = sigstack_cloud::deployment::Deployment::shipped("mos").unwrap();
    d.nova.policy.insert("os_compute_api:servers:create:forced_host".into(), "rule:project_member_or_admin".into());
    let cloud = cloud(d).await;
    let demo = session(&cloud, "demo").await;
    let cirros = sigstack_client::image::list_all_images(&demo, &[("name", "Cirros-6.0")]).await.unwrap().remove(0).id;
    // Signed by MOS's pre-generated certificate: boots everywhere (verified; qcow2 on Ceph too).
    for host in ["cmp-lvm-0", "cmp-local-0", "cmp-ceph-0"] {
        assert_active(&boot_and_settle(&demo, &cirros, Some(host), None).await);
        assert_eq!(cached(&cloud, host).await, vec![cirros.clone()], "{host}");
    }
    // The documented limitation: an unsigned RAW image boots unverified on Ceph only.
    let unsigned = image_with(&demo, "raw", "private", &data(4000, 1), &[]).await;
    assert_active(&boot_and_settle(&demo, &unsigned, Some("cmp-ceph-0"), None).await);
    let server = boot_and_settle(&demo, &unsigned, Some("cmp-lvm-1"), None).await;
    assert_eq!(fault(&server), aborted(&server.id, MISSING_UUID));
    // Every seeded user may read the baseline certificate: instance HA evacuates these fine.
    let on_lvm = boot_and_settle(&demo, &cirros, Some("cmp-lvm-1"), None).await;
    let (_, report) = sim(&cloud, Method::POST, "/_sim/compute/nodes/cmp-lvm-1/fail", None, None).await;
    let evacuation =
        report["evacuations"].as_array().unwrap().iter().find(|e| e["server_id"] == on_lvm.id.as_str()).expect("evacuated").clone();
    assert_eq!(evacuation["status"], "ACTIVE", "{report}");
}
