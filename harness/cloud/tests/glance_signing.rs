//! Signature verification in Glance against the simulated Barbican, end to end over HTTP:
//! upload and `glance-direct` import verify when all four properties are present (A2–A4,
//! A8), every failure is a 400 with the exact message, leaves the image `queued` and no data;
//! PATCH never re-verifies (A5).

mod glance_support;

use glance_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::image::{self, PatchOp};
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_cloud::CloudHandle;
use sigstack_verify::{HashMethod, KeyType, KeyTypeProfile};

/// Gives `user` the `creator` role in its project over Keystone's admin API, as the documents'
/// `openstack role add --user demo --project demo creator` does.
async fn grant_creator(cloud: &CloudHandle, user: &Session) {
    let admin = session(cloud, "admin").await;
    let role = cloud.identity.roles(Some("creator")).unwrap().remove(0);
    let project = &user.token().project.unwrap().id;
    let url = format!("{}/projects/{project}/users/{}/roles/{}", cloud.endpoints.identity, user.token().user.id, role.id);
    let r = admin.http().put(&url).header("X-Auth-Token", &admin.token().value).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

/// demo, able to store secrets.
async fn creator(cloud: &CloudHandle) -> Session {
    let demo = session(cloud, "demo").await;
    grant_creator(cloud, &demo).await;
    demo
}

async fn store(s: &Session, secret: &NewSecret) -> String {
    let secret_ref = key_manager::create_secret(s, secret).await.expect("secret stored");
    key_manager::secret_uuid(&secret_ref).to_owned()
}

async fn store_cert(s: &Session, pem_path: &str) -> String {
    store(s, &NewSecret::certificate("signing", fixture(pem_path).as_bytes())).await
}

fn props(sig: String, hash: &str, key_type: &str, uuid: &str) -> Vec<(&'static str, String)> {
    vec![
        ("img_signature", sig),
        ("img_signature_hash_method", hash.into()),
        ("img_signature_key_type", key_type.into()),
        ("img_signature_certificate_uuid", uuid.into()),
    ]
}

/// Asserts the upload failed with `explanation`, the image is queued and no file remains.
async fn assert_refused(cloud: &CloudHandle, s: &Session, outcome: (String, StatusCode, String), explanation: &str) {
    let (id, status, body) = outcome;
    assert_eq!((status, message(&body)), (StatusCode::BAD_REQUEST, explanation.replace("<id>", &id)));
    let img = image::get_image(s, &id).await.unwrap();
    assert_eq!(img.status, "queued");
    assert!(img.checksum.is_none() && img.size.is_none() && img.os_hash_value.is_none());
    assert!(data_files(cloud).is_empty(), "{:?}", data_files(cloud));
}

#[tokio::test]
async fn signed_upload_is_verified_and_activated() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let uuid = store_cert(&demo, "fixtures/pki/signing/rsa-3072.crt.pem").await;
    let bytes = data(1_500_000, 9);
    let (id, status, body) = create_and_upload(&demo, &signed_props(&bytes, &uuid), &bytes).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_empty());
    let img = image::get_image(&demo, &id).await.unwrap();
    assert_eq!(img.status, "active");
    assert_eq!(img.size, Some(bytes.len() as u64));
    assert_eq!(img.checksum.as_deref(), Some(md5_hex(&bytes).as_str()));
    assert_eq!(img.os_hash_value.as_deref(), Some(sha512_hex(&bytes).as_str()));
    assert_eq!(data_files(&cloud), vec![id.clone()]);
    let view: Value = req(&demo, Method::GET, &format!("/v2/images/{id}")).send().await.unwrap().json().await.unwrap();
    // Snapshots sort an object's keys: its order is Glance's own, not part of the API.
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("signed_active_image", view, {
            ".id" => "[id]", ".self" => "[self]", ".file" => "[file]", ".owner" => "[project]",
            ".created_at" => "[time]", ".updated_at" => "[time]",
            ".img_signature" => "[signature]", ".img_signature_certificate_uuid" => "[uuid]",
        });
    });
    let download = image::download(&demo, &id).await.unwrap().unwrap();
    assert_eq!(download.content_md5.as_deref(), Some(md5_hex(&bytes).as_str()));
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn every_current_key_type_verifies() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let cases = [
        ("rsa-2048", KeyType::RsaPss, HashMethod::Sha224, "SHA-224", "RSA-PSS"),
        ("rsa-4096", KeyType::RsaPss, HashMethod::Sha512, "SHA-512", "RSA-PSS"),
        ("dsa-2048-256", KeyType::Dsa, HashMethod::Sha256, "SHA-256", "DSA"),
        ("ec-p384", KeyType::Ecc(sigstack_verify::EcCurve::Secp384r1), HashMethod::Sha384, "SHA-384", "ECC_SECP384R1"),
        ("ec-p521", KeyType::Ecc(sigstack_verify::EcCurve::Secp521r1), HashMethod::Sha512, "SHA-512", "ECC_SECP521R1"),
    ];
    for (i, (key, key_type, hash, hash_name, key_type_name)) in cases.into_iter().enumerate() {
        let uuid = store_cert(&demo, &format!("fixtures/pki/signing/{key}.crt.pem")).await;
        let bytes = data(70_000 + i, i as u8);
        let sig = sign(&format!("fixtures/pki/signing/{key}.key.pem"), key_type, hash, &bytes);
        let (id, status, body) = create_and_upload(&demo, &props(sig.clone(), hash_name, key_type_name, &uuid), &bytes).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{key}: {body}");
        assert_eq!(image::get_image(&demo, &id).await.unwrap().status, "active", "{key}");
        // Tampered data fails for every hash, including SHA-512, whose digest Glance shares
        // with os_hash_value.
        let mut tampered = bytes.clone();
        tampered[bytes.len() / 2] ^= 0x40;
        let (id, status, body) = create_and_upload(&demo, &props(sig, hash_name, key_type_name, &uuid), &tampered).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{key}: {body}");
        assert!(body.contains(&format!("Signature verification failed for image {id}: Signature verification failed")), "{key}: {body}");
        assert_eq!(image::get_image(&demo, &id).await.unwrap().status, "queued", "{key}");
    }
}

#[tokio::test]
async fn unsigned_and_partially_signed_images_are_not_verified() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let bytes = data(10_000, 1);
    let (id, status, _) = create_and_upload(&demo, &[], &bytes).await;
    assert_eq!((status, image::get_image(&demo, &id).await.unwrap().status), (StatusCode::NO_CONTENT, "active".into()));
    // Three of four, with values that could never verify: no verification at all (A2).
    let partial = vec![
        ("img_signature", "fake_signature".to_owned()),
        ("img_signature_hash_method", "MD5".to_owned()),
        ("img_signature_key_type", "nonsense".to_owned()),
    ];
    let (id, status, body) = create_and_upload(&demo, &partial, &bytes).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(image::get_image(&demo, &id).await.unwrap().status, "active");
}

#[tokio::test]
async fn bad_signature_inputs_are_refused_with_cursive_messages() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let rsa = store_cert(&demo, "fixtures/pki/signing/rsa-3072.crt.pem").await;
    let bytes = data(50_000, 5);
    let good = sign("fixtures/pki/signing/rsa-3072.key.pem", KeyType::RsaPss, HashMethod::Sha256, &bytes);
    let opaque = store(
        &demo,
        &NewSecret {
            secret_type: Some("opaque".into()),
            ..NewSecret::certificate("o", fixture("fixtures/pki/signing/rsa-3072.crt.pem").as_bytes())
        },
    )
    .await;
    let der = sigstack_verify::Certificate::from_pem(fixture("fixtures/pki/signing/rsa-3072.crt.pem").as_bytes()).unwrap().der().to_vec();
    let der_cert = store(&demo, &NewSecret::certificate("der", &der)).await;
    let alt = session(&cloud, "alt_demo").await;
    grant_creator(&cloud, &alt).await;
    let foreign = store_cert(&alt, "fixtures/pki/signing/rsa-3072.crt.pem").await;
    let missing = "0b7a1c44-3a5e-4ac4-9d6c-d1f4b3a0e6f1";
    let prefix = "Signature verification failed for image <id>: Signature verification for the image failed: ";
    let cases: Vec<(Vec<(&str, String)>, String)> = vec![
        (props("fake_signature".into(), "SHA-256", "RSA-PSS", &rsa), format!("{prefix}The signature data was not properly encoded using base64.")),
        (props(good.clone(), "SHA-1", "RSA-PSS", &rsa), format!("{prefix}Invalid signature hash method: SHA-1.")),
        (props(good.clone(), "SHA-256", "RSA-SSA", &rsa), format!("{prefix}Invalid signature key type: RSA-SSA.")),
        (props(good.clone(), "SHA-256", "ECC_SECT571K1", &rsa), format!("{prefix}Invalid signature key type: ECC_SECT571K1.")),
        (props(good.clone(), "SHA-256", "RSA-PSS", missing), format!("{prefix}Certificate not found with ID: {missing}.")),
        (props(good.clone(), "SHA-256", "RSA-PSS", &opaque), format!("{prefix}Invalid certificate format: Opaque.")),
        (props(good.clone(), "SHA-256", "DSA", &rsa), format!("{prefix}Invalid public key type for signature key type: DSA.")),
        (props(good.clone(), "SHA-256", "RSA-PSS", &foreign), format!("{prefix}Unable to retrieve certificate with ID: {foreign}.")),
        (props(String::new(), "SHA-256", "RSA-PSS", &rsa), format!("{prefix}Error occurred while creating the verifier.")),
        // A certificate secret whose payload is DER: cryptography's ValueError escapes, unwrapped.
        (props(good.clone(), "SHA-256", "RSA-PSS", &der_cert),
            "Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details. MalformedFraming".into()),
    ];
    for (p, expected) in cases {
        let outcome = create_and_upload(&demo, &p, &bytes).await;
        assert_refused(&cloud, &demo, outcome, &expected).await;
    }
    // Tampered data: verified to the end, then refused and the stored data deleted.
    let mut tampered = bytes.clone();
    tampered[25_000] ^= 1;
    let outcome = create_and_upload(&demo, &props(good.clone(), "SHA-256", "RSA-PSS", &rsa), &tampered).await;
    let id = outcome.0.clone();
    assert_refused(&cloud, &demo, outcome, "Signature verification failed for image <id>: Signature verification failed").await;
    // The image can take a good upload afterwards.
    let (status, body) = put_file(&demo, &id, bytes.clone(), Some("application/json")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(image::get_image(&demo, &id).await.unwrap().status, "active");
}

#[tokio::test]
async fn an_expired_certificate_secret_is_not_found() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let expiration = soon.format(&time::format_description::well_known::Rfc3339).unwrap();
    let secret = NewSecret {
        expiration: Some(expiration),
        ..NewSecret::certificate("brief", fixture("fixtures/pki/signing/rsa-3072.crt.pem").as_bytes())
    };
    let uuid = store(&demo, &secret).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let bytes = data(1000, 2);
    let outcome = create_and_upload(&demo, &signed_props(&bytes, &uuid), &bytes).await;
    let expected = format!(
        "Signature verification failed for image <id>: Signature verification for the image failed: Certificate not found with ID: {uuid}."
    );
    assert_refused(&cloud, &demo, outcome, &expected).await;
}

#[tokio::test]
async fn the_failure_body_follows_accept() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let uuid = store_cert(&demo, "fixtures/pki/signing/rsa-3072.crt.pem").await;
    let bytes = data(1000, 3);
    let img = image::create_image(&demo, &new_image("t", &signed_props(&bytes, &uuid))).await.unwrap();
    let (status, json_body) = put_file(&demo, &img.id, b"tampered".to_vec(), Some("application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let explanation = format!("Signature verification failed for image {}: Signature verification failed", img.id);
    assert_eq!(
        json_body,
        format!("{{\"message\": \"{explanation}<br /><br />\\n\\n\\n\", \"code\": \"400 Bad Request\", \"title\": \"Bad Request\"}}")
    );
    let (_, html) = put_file(&demo, &img.id, b"tampered".to_vec(), Some("*/*")).await;
    assert!(html.contains("<title>400 Bad Request</title>") && html.contains(&explanation), "{html}");
    let (_, text) = put_file(&demo, &img.id, b"tampered".to_vec(), Some("text/plain")).await;
    assert_eq!(text, format!("400 Bad Request\n\n{explanation}\n\n   "));
}

#[tokio::test]
async fn patch_never_reverifies() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let uuid = store_cert(&demo, "fixtures/pki/signing/rsa-3072.crt.pem").await;
    let bytes = data(20_000, 4);
    let (id, status, _) = create_and_upload(&demo, &signed_props(&bytes, &uuid), &bytes).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The tempest negative test's step: replace the signature after upload.
    let img = image::update_image(&demo, &id, &[PatchOp::Replace { path: "/img_signature".into(), value: json!("fake_signature") }])
        .await
        .unwrap();
    assert_eq!((img.status.as_str(), img.property("img_signature")), ("active", Some("fake_signature")));
    let img = image::update_image(
        &demo,
        &id,
        &[
            PatchOp::Remove { path: "/img_signature_key_type".into() },
            PatchOp::Add { path: "/img_signature_key_type".into(), value: json!("ECC_SECT571K1") },
            PatchOp::Replace { path: "/img_signature_certificate_uuid".into(), value: json!("gone") },
        ],
    )
    .await
    .unwrap();
    assert_eq!(img.status, "active");
    assert_eq!(img.checksum.as_deref(), Some(md5_hex(&bytes).as_str()));
}

#[tokio::test]
async fn glance_direct_import_verifies() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let uuid = store_cert(&demo, "fixtures/pki/signing/rsa-3072.crt.pem").await;
    let bytes = data(300_000, 6);
    let wait = |id: String| {
        let demo = demo.clone();
        async move { image::wait_for_status(&demo, &id, &["active", "queued"], std::time::Duration::from_secs(10)).await.unwrap() }
    };

    let good = image::create_image(&demo, &new_image("import-good", &signed_props(&bytes, &uuid))).await.unwrap();
    image::stage(&demo, &good.id, std::io::Cursor::new(bytes.clone()), Some(bytes.len() as u64)).await.unwrap();
    assert_eq!(image::get_image(&demo, &good.id).await.unwrap().status, "uploading", "staging does not verify");
    image::import_image(&demo, &good.id, "glance-direct").await.unwrap();
    let done = wait(good.id.clone()).await;
    assert_eq!(done.status, "active");
    assert_eq!(done.os_hash_value.as_deref(), Some(sha512_hex(&bytes).as_str()));

    let mut tampered = bytes.clone();
    tampered[0] ^= 0xff;
    let bad = image::create_image(&demo, &new_image("import-bad", &signed_props(&bytes, &uuid))).await.unwrap();
    image::stage(&demo, &bad.id, std::io::Cursor::new(tampered), None).await.unwrap();
    image::import_image(&demo, &bad.id, "glance-direct").await.unwrap();
    // As real Glance 33 with one store does (ci/realstack): the task fails with a generic
    // message, and the image stays `importing`, without data, the store recorded as failed.
    let tasks_url = format!("/v2/images/{}/tasks", bad.id);
    let mut tasks: Value = Value::Null;
    for _ in 0..100 {
        tasks = req(&demo, Method::GET, &tasks_url).send().await.unwrap().json().await.unwrap();
        if tasks["tasks"][0]["status"] != "pending" && tasks["tasks"][0]["status"] != "processing" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(tasks["tasks"][0]["status"], "failure", "{tasks}");
    assert_eq!(tasks["tasks"][0]["message"], "Task failed due to Internal Error");
    let failed = image::get_image(&demo, &bad.id).await.unwrap();
    assert_eq!(failed.status, "importing");
    assert_eq!(failed.property("os_glance_failed_import"), Some(""));
    assert_eq!(failed.property("os_glance_importing_to_stores"), Some(""));
    assert!(failed.property("os_glance_import_task").is_none());
    assert!(failed.checksum.is_none());
    assert_eq!(data_files(&cloud), vec![good.id.clone()], "no data kept for the failed import");
}

#[tokio::test]
async fn binary_curves_verify_only_under_the_legacy_profile() {
    let cloud = cloud_with(KeyTypeProfile::Legacy).await;
    let demo = creator(&cloud).await;
    let uuid = store_cert(&demo, "fixtures/binary-curves/sect571k1.crt.pem").await;
    let bytes = data(5_000, 8);
    let key_type = KeyType::Ecc(sigstack_verify::EcCurve::Sect571k1);
    let sig = sign("fixtures/binary-curves/sect571k1.key.pem", key_type, HashMethod::Sha256, &bytes);
    let p = props(sig, "SHA-256", "ECC_SECT571K1", &uuid);
    let (id, status, body) = create_and_upload(&demo, &p, &bytes).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(image::get_image(&demo, &id).await.unwrap().status, "active");
    // The same image on a current cloud is refused before any data is read.
    let current = cloud_with(KeyTypeProfile::Current).await;
    let demo = session(&current, "demo").await;
    let outcome = create_and_upload(&demo, &p, &bytes).await;
    assert_refused(&current, &demo, outcome, "Signature verification failed for image <id>: Signature verification for the image failed: Invalid signature key type: ECC_SECT571K1.").await;
}
