//! Deployment profiles over HTTP: the MOS profile's signed baseline images, `/_sim/deployment`
//! (GET, merge-PATCH, refused patches), and `/_sim/reset` restoring and re-provisioning.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::image;
use sigstack_client::key_manager;
use sigstack_cloud::deployment::Deployment;
use sigstack_cloud::provision::{BASELINE_CERTIFICATE, BASELINE_IMAGES, BASELINE_SECRET_NAME, baseline_data};
use sigstack_cloud::{CloudConfig, CloudHandle, start};
use sigstack_verify::{Certificate, KeyTypeProfile, SignatureProperties};

async fn cloud(profile: &str) -> CloudHandle {
    let deployment = Deployment::shipped(profile).expect("shipped profile");
    start(CloudConfig { deployment, ..CloudConfig::default() }).await.expect("cloud starts")
}

async fn session(cloud: &CloudHandle, user: &str) -> Session {
    Session::authenticate(&cloud.credentials(user).expect("seeded")).await.expect("authenticates")
}

#[tokio::test(flavor = "multi_thread")]
async fn mos_baseline_images_are_signed_with_a_self_signed_certificate_every_user_can_read() {
    let cloud = cloud("mos").await;
    let demo = session(&cloud, "demo").await;
    let images = image::list_all_images(&demo, &[]).await.unwrap();
    assert_eq!(images.len(), BASELINE_IMAGES.len(), "{images:?}");
    for baseline in &BASELINE_IMAGES {
        let img = images.iter().find(|i| i.name.as_deref() == Some(baseline.name)).unwrap_or_else(|| panic!("{}", baseline.name));
        assert_eq!(img.status, "active");
        assert_eq!(img.visibility.as_deref(), Some("public"));
        assert_eq!(img.property("img_signature_hash_method"), Some("SHA-256"));
        assert_eq!(img.property("img_signature_key_type"), Some("RSA-PSS"));
        // demo (another project than the admin who stored it) reads the certificate: the ACL.
        let uuid = img.property("img_signature_certificate_uuid").expect("certificate uuid");
        let certificate = key_manager::get_certificate(&demo, uuid).await.expect("demo reads the certificate");
        let meta = key_manager::get_secret(&demo, uuid).await.unwrap();
        assert_eq!(meta.name.as_deref(), Some(BASELINE_SECRET_NAME));
        // The data verifies against the signature with the engine, and the certificate is
        // self-signed.
        let pairs = ["img_signature", "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid"]
            .map(|k| (k, img.property(k).map(str::to_owned)));
        let mut verifier = SignatureProperties::from_pairs(pairs).prepare(KeyTypeProfile::Current).unwrap().verifier(&certificate).unwrap();
        let data = image::download(&demo, &img.id).await.unwrap().expect("data").bytes().await.unwrap();
        assert_eq!(data.as_ref(), baseline_data(baseline).as_slice());
        verifier.update(&data);
        verifier.finish().expect("baseline data verifies");
        let pem = Certificate::from_pem(BASELINE_CERTIFICATE.as_bytes()).unwrap();
        assert!(pem.is_issued_by(&pem, KeyTypeProfile::Current).unwrap(), "self-signed");
    }
    // alt_demo too.
    let alt = session(&cloud, "alt_demo").await;
    let uuid = images[0].property("img_signature_certificate_uuid").unwrap();
    key_manager::get_certificate(&alt, uuid).await.expect("alt_demo reads the certificate");
}

#[tokio::test(flavor = "multi_thread")]
async fn profiles_without_baseline_images_provision_nothing() {
    for profile in ["upstream-defaults", "upstream-certificate-validation"] {
        let cloud = cloud(profile).await;
        let admin = session(&cloud, "admin").await;
        assert!(image::list_all_images(&admin, &[]).await.unwrap().is_empty(), "{profile}");
    }
}

fn sim(cloud: &CloudHandle) -> String {
    format!("{}/_sim/deployment", cloud.endpoints.image)
}

#[tokio::test(flavor = "multi_thread")]
async fn sim_deployment_shows_patches_and_reset_restores() {
    let cloud = cloud("upstream-defaults").await;
    let http = cloud.control_http();
    let got: Value = http.get(sim(&cloud)).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["deployment"]["name"], "upstream-defaults");
    assert_eq!(got["effective"]["nova"]["glance"]["verify_glance_signatures"], false);
    assert_eq!(got["effective"]["cinder"]["verify_glance_signatures"], "enabled");

    let r = http
        .patch(sim(&cloud))
        .json(&json!({"nova": {"glance": {"verify_glance_signatures": true}}, "cinder": {"verify_glance_signatures": "disabled"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let got: Value = r.json().await.unwrap();
    assert_eq!(got["effective"]["nova"]["glance"]["verify_glance_signatures"], true);
    assert_eq!(got["effective"]["cinder"]["verify_glance_signatures"], "disabled");
    assert!(cloud.deployment.get().nova_verify_glance_signatures());

    // Refused patches name the problem and change nothing.
    for (patch, message) in [
        (json!({"compute_nodes": []}), "invalid deployment patch: compute_nodes: at least one compute node is needed"),
        (json!({"nova": {"glance": {"verify": true}}}), "invalid deployment patch: unknown field `verify`"),
        (json!([1]), "invalid deployment patch: a JSON object (merge patch) is required"),
    ] {
        let r = http.patch(sim(&cloud)).json(&patch).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().starts_with(message), "{body}");
    }
    assert!(cloud.deployment.get().nova_verify_glance_signatures());

    let r = http.post(format!("{}/_sim/reset", cloud.endpoints.compute)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!cloud.deployment.get().nova_verify_glance_signatures(), "reset restores the starting deployment");
}

#[tokio::test(flavor = "multi_thread")]
async fn enabling_the_mos_switch_later_leaves_existing_images_unsigned_and_reset_reprovisions() {
    let mut deployment = Deployment::shipped("mos").unwrap();
    deployment.features.glance.signature.enabled = Some(false);
    let cloud = start(CloudConfig { deployment, ..CloudConfig::default() }).await.unwrap();
    let admin = session(&cloud, "admin").await;
    let unsigned = |images: &[image::Image]| images.iter().all(|i| i.property("img_signature").is_none());
    let images = image::list_all_images(&admin, &[]).await.unwrap();
    assert_eq!(images.len(), BASELINE_IMAGES.len());
    assert!(unsigned(&images), "the switch was off at deploy time");
    assert!(!cloud.deployment.get().nova_verify_glance_signatures());

    let http = cloud.control_http();
    let r = http.patch(sim(&cloud)).json(&json!({"features": {"glance": {"signature": {"enabled": true}}}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(cloud.deployment.get().nova_verify_glance_signatures(), "Nova now verifies");
    assert!(unsigned(&image::list_all_images(&admin, &[]).await.unwrap()), "existing images stay unsigned");

    // Reset: the deployment as started, every image wiped, the baseline provisioned again.
    let extra = image::create_image(&admin, &image::NewImage::raw("extra")).await.unwrap();
    let report: Value = http.post(format!("{}/_sim/reset", cloud.endpoints.image)).send().await.unwrap().json().await.unwrap();
    assert_eq!(report["provisioned"].as_array().map(Vec::len), Some(BASELINE_IMAGES.len()), "{report}");
    let admin = session(&cloud, "admin").await;
    let images = image::list_all_images(&admin, &[]).await.unwrap();
    assert_eq!(images.len(), BASELINE_IMAGES.len());
    assert!(images.iter().all(|i| i.id != extra.id));
}
