//! `sigstack audit` through the built binary against an in-process simulated cloud: every
//! signing state an image can be in, certificate-chain validation with `--trusted-cert`,
//! `--verify-data`, both output formats and the exit codes.

mod operator_support;

use std::collections::BTreeMap;

use operator_support::*;
use serde_json::Value;
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_cloud::deployment::Deployment;

/// The JSON report's images by name.
fn by_name(report: &Value) -> BTreeMap<String, Value> {
    report["images"]
        .as_array()
        .expect("images array")
        .iter()
        .map(|i| (i["name"].as_str().unwrap_or_default().to_owned(), i.clone()))
        .collect()
}

fn props(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_signing_state_is_reported_with_novas_message() {
    let env = env(Deployment::default()).await;
    let admin = env.session("admin").await;
    let cert = store_cert(&admin, RSA_CERT).await;
    let gone = store_cert(&admin, RSA_CERT).await;
    key_manager::delete_secret(&admin, &gone).await.expect("deleted");
    let opaque = NewSecret { secret_type: Some("opaque".into()), ..NewSecret::certificate("opaque", fixture(RSA_CERT).as_bytes()) };
    let opaque = key_manager::secret_uuid(&key_manager::create_secret(&admin, &opaque).await.expect("stored")).to_owned();

    // A secret that expires in two seconds: Barbican then answers 404, as for a deleted one.
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let expiration =
        format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute(), at.second());
    let expiring = NewSecret { expiration: Some(expiration), ..NewSecret::certificate("expiring", fixture(RSA_CERT).as_bytes()) };
    let expiring = key_manager::secret_uuid(&key_manager::create_secret(&admin, &expiring).await.expect("stored")).to_owned();

    let bytes = data(70_000, 7);
    let good = signed_props(RSA_KEY, "RSA-PSS", &bytes, &cert);
    let with = |key: &'static str, value: &str| -> Vec<(&'static str, String)> {
        good.iter().map(|(k, v)| (*k, if *k == key { value.to_owned() } else { v.clone() })).collect()
    };
    image_with(&admin, "unsigned", &bytes, &[]).await;
    image_with(&admin, "partial", &bytes, &props(&[("img_signature", "QUFB"), ("img_signature_key_type", "RSA-PSS")])).await;
    image_with(&admin, "bad-base64", &bytes, &with("img_signature", "///")).await;
    image_with(&admin, "bad-hash", &bytes, &with("img_signature_hash_method", "sha256")).await;
    image_with(&admin, "bad-key-type", &bytes, &with("img_signature_key_type", "RSA")).await;
    image_with(&admin, "sect", &bytes, &with("img_signature_key_type", "ECC_SECT571K1")).await;
    image_with(&admin, "missing-cert", &bytes, &with("img_signature_certificate_uuid", &gone)).await;
    image_with(&admin, "opaque", &bytes, &with("img_signature_certificate_uuid", &opaque)).await;
    image_with(&admin, "type-mismatch", &bytes, &with("img_signature_key_type", "DSA")).await;
    image_with(&admin, "tampered", &data(70_000, 8), &good).await;
    image_with(&admin, "good", &bytes, &good).await;
    image_with(&admin, "expired-cert", &bytes, &with("img_signature_certificate_uuid", &expiring)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;

    let run = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--verify-data", "--format", "json"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.json();
    let images = by_name(&report);
    let expect = |name: &str, state: &str, detail: &str| {
        let image = &images[name];
        assert_eq!(image["state"], state, "{name}: {image}");
        assert!(image["detail"].as_str().unwrap().contains(detail), "{name}: {image}");
    };
    let prefix = "Signature verification for the image failed: ";
    expect(
        "unsigned",
        "unsigned",
        &format!(
            "{prefix}Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."
        ),
    );
    expect("partial", "partially-signed", "Missing property: img_signature_uuid.");
    assert_eq!(images["partial"]["missing_properties"], serde_json::json!(["img_signature_certificate_uuid", "img_signature_hash_method"]));
    expect("bad-base64", "invalid-signature-encoding", "The signature data was not properly encoded using base64.");
    expect("bad-hash", "invalid-hash-method", "Invalid signature hash method: sha256.");
    expect("bad-key-type", "invalid-key-type", "Invalid signature key type: RSA.");
    expect("sect", "sect-key-type", "Invalid signature key type: ECC_SECT571K1.");
    expect("missing-cert", "certificate-not-found", &format!("Certificate not found with ID: {gone}."));
    expect("expired-cert", "certificate-not-found", &format!("Certificate not found with ID: {expiring}."));
    expect("opaque", "not-a-certificate", "Invalid certificate format: Opaque.");
    expect("type-mismatch", "key-type-mismatch", "Invalid public key type for signature key type: DSA.");
    expect("tampered", "data-mismatch", "Signature verification failed");
    expect("good", "verified", &cert);
    assert_eq!(images["good"]["fails_signature_verification"], false);
    assert_eq!(images["good"]["certificate_uuid"], cert.as_str());
    assert_eq!(images["good"]["fails_certificate_validation"], Value::Null);
    let summary = &report["summary"];
    assert_eq!((summary["images"].as_u64(), summary["fail_signature_verification"].as_u64()), (Some(12), Some(11)), "{summary}");
    assert_eq!(summary["fail_certificate_validation"], Value::Null);
    assert_eq!((report["profile"].as_str(), report["verify_data"].as_bool()), (Some("current"), Some(true)));

    // Without --verify-data the tampered image looks fine (only its data is wrong).
    let run = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--format", "json"]).await;
    let images = by_name(&run.json());
    assert_eq!((images["tampered"]["state"].as_str(), images["good"]["state"].as_str()), (Some("signed"), Some("signed")));

    // Under legacy cursive the SECT name is registered; the RSA certificate then fails the
    // key-type check instead.
    let run = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--profile", "legacy", "--format", "json"]).await;
    let images = by_name(&run.json());
    assert_eq!(images["sect"]["state"], "key-type-mismatch", "{}", images["sect"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trusted_certificates_validate_the_chain_as_nova_does() {
    let env = env(Deployment::default()).await;
    let admin = env.session("admin").await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for c in ["chain/root", "chain/intermediate-a", "chain/intermediate-b", "chain/client"] {
            ids.push(store_cert(&admin, &format!("fixtures/pki/{c}.crt.pem")).await);
        }
        ids
    };
    let self_signed = store_cert(&admin, RSA_CERT).await;
    let bytes = data(30_000, 1);
    image_with(&admin, "chain-signed", &bytes, &signed_props("fixtures/pki/chain/client.key.pem", "RSA-PSS", &bytes, &ids[3])).await;
    image_with(&admin, "self-signed", &bytes, &signed_props(RSA_KEY, "RSA-PSS", &bytes, &self_signed)).await;

    // No trusted IDs: both signatures are fine.
    let run = env.sigstack(&["audit", "--cloud", "sigstack-admin"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("certificate validation: not checked"), "{}", run.stdout);

    // The Nova document's chain, plus an id Barbican does not have (skipped, as cursive does).
    let missing = "00000000-0000-4000-8000-000000000000";
    let mut args = vec!["audit", "--cloud", "sigstack-admin", "--format", "json"];
    for id in [&ids[0], &ids[1], &ids[2]] {
        args.extend(["--trusted-cert", id.as_str()]);
    }
    args.extend(["--trusted-cert", missing]);
    let run = env.sigstack(&args).await;
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.json();
    let images = by_name(&report);
    assert_eq!(images["chain-signed"]["state"], "signed", "{}", images["chain-signed"]);
    assert_eq!(images["chain-signed"]["fails_certificate_validation"], false);
    assert_eq!(images["self-signed"]["state"], "untrusted-certificate");
    assert_eq!(images["self-signed"]["fails_signature_verification"], false);
    assert_eq!(images["self-signed"]["fails_certificate_validation"], true);
    assert_eq!(
        images["self-signed"]["detail"],
        format!(
            "Image signature certificate validation failed for certificate: {self_signed}. Certificate chain building failed. Could not locate the signing certificate for the base certificate in the set of trusted certificates."
        )
    );
    assert_eq!(report["summary"]["fail_signature_verification"], 0);
    assert_eq!(report["summary"]["fail_certificate_validation"], 1);
    assert_eq!(report["trusted_certificates"].as_array().map(Vec::len), Some(4));

    // The table says the same in aligned columns.
    let table_args: Vec<&str> = args.iter().copied().filter(|a| *a != "--format" && *a != "json").collect();
    let run = env.sigstack(&table_args).await;
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().take(3).collect();
    let column = |l: &str, word: &str| l.find(word).unwrap_or_else(|| panic!("no {word} in {l:?}"));
    let state_at = column(lines[0], "STATE");
    assert!(
        lines[1..].iter().all(|l| l[state_at..].starts_with("signed") || l[state_at..].starts_with("untrusted-certificate")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("with certificate validation against") && run.stdout.contains(": 1 would fail to boot"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_certificate_the_user_may_not_read_is_reported_and_usage_errors_exit_2() {
    let env = env(Deployment::default()).await;
    let admin = env.session("admin").await;
    let cert = store_cert(&admin, RSA_CERT).await;
    let bytes = data(20_000, 4);
    let id = image_with(&admin, "public-signed", &bytes, &signed_props(RSA_KEY, "RSA-PSS", &bytes, &cert)).await;
    sigstack_client::image::update_image(
        &admin,
        &id,
        &[sigstack_client::image::PatchOp::Replace { path: "/visibility".into(), value: "public".into() }],
    )
    .await
    .expect("made public");
    // demo sees the public image but Barbican refuses it the admin project's secret: Nova,
    // booting as demo, would fail the same way.
    let run = env.sigstack(&["audit", "--cloud", "sigstack-demo", "--format", "json"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let images = by_name(&run.json());
    assert_eq!(images["public-signed"]["state"], "certificate-unavailable", "{}", images["public-signed"]);
    assert!(images["public-signed"]["detail"].as_str().unwrap().contains(&format!("Unable to retrieve certificate with ID: {cert}.")));
    // As admin it is clean.
    let run = env.sigstack(&["audit", "--cloud", "sigstack-admin"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    // Data that cannot be downloaded is "unchecked", which is not clean.
    env.fault(serde_json::json!({"service": "glance", "operation": format!("GET /v2/images/{id}/file"), "action": {"fail": {"status": 500}}, "times": 1}))
        .await;
    let run = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--verify-data", "--format", "json"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.json();
    let images = by_name(&report);
    assert_eq!(images["public-signed"]["state"], "data-unavailable", "{}", images["public-signed"]);
    assert_eq!(images["public-signed"]["fails_signature_verification"], Value::Null);
    assert_eq!((report["summary"]["unchecked"].as_u64(), report["summary"]["fail_signature_verification"].as_u64()), (Some(1), Some(0)));

    for args in [
        vec!["audit"],
        vec!["audit", "--cloud", "nope"],
        vec!["audit", "--cloud", "sigstack-admin", "--format", "xml"],
        vec!["audit", "--cloud", "sigstack-admin", "--profile", "ancient"],
    ] {
        let run = env.sigstack(&args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
    }
    // OS_CLOUD stands in for --cloud.
    let run = env.sigstack_env(&["audit"], &[("OS_CLOUD", "sigstack-admin")]).await;
    assert_eq!(run.code, 0, "{run:?}");
}
