//! `sigstack sign-images` (and the MOS flow with `audit`) through the built binary against an
//! in-process simulated cloud: an existing MOS cloud whose images were never signed, Nova
//! refusing them once verification is on, the tool signing them, Nova booting them.

mod operator_support;

use operator_support::*;
use serde_json::json;
use sigstack_client::compute::{self, NewServer};
use sigstack_client::image;
use sigstack_client::key_manager::{self, ListQuery};

const V263: &str = "2.63";

fn sign_args<'a>(cloud: &'a str, key: &'a str, cert: &'a str) -> Vec<&'a str> {
    vec!["sign-images", "--cloud", cloud, "--key", key, "--certificate", cert]
}

struct Pki {
    key: String,
    cert: String,
}

fn pki() -> Pki {
    Pki { key: path_str(&repo_path(RSA_KEY)), cert: path_str(&repo_path(RSA_CERT)) }
}

/// Boots `image` as admin and waits for ACTIVE or ERROR.
async fn boot(env: &Env, image_name: &str) -> compute::Server {
    let admin = env.session("admin").await;
    let images = image::list_all_images(&admin, &[("name", image_name)]).await.expect("listed");
    let id = &images.first().expect("image exists").id;
    let created = compute::create_server(&admin, V263, &NewServer::from_image("vm", id)).await.expect("create accepted");
    compute::wait_for_server_status(&admin, V263, &created.id, &["ACTIVE", "ERROR"], WAIT).await.expect("server settles")
}

/// Secrets this tool stored (its naming scheme), as admin sees them.
async fn tool_secrets(env: &Env) -> usize {
    let admin = env.session("admin").await;
    let list = key_manager::list_secrets(&admin, &ListQuery { limit: Some(100), ..ListQuery::default() }).await.expect("listed");
    list.secrets.iter().filter(|s| s.name.as_deref().is_some_and(|n| n.starts_with("sigstack-image-signing-"))).count()
}

fn unsigned_everywhere(props: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, serde_json::Value>>) -> bool {
    props.values().all(|p| p.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mos_flow_unsigned_cloud_is_audited_signed_and_boots() {
    let env = mos_unsigned().await;
    let pki = pki();

    // 1. audit: six unsigned baseline images, all would fail once Nova verifies.
    let audit = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--format", "json"]).await;
    assert_eq!(audit.code, 1, "{audit:?}");
    let report = audit.json();
    assert_eq!(report["summary"]["images"], 6, "{report}");
    assert_eq!(report["summary"]["fail_signature_verification"], 6, "{report}");
    assert_eq!(report["summary"]["by_state"]["unsigned"], 6, "{report}");
    for image in report["images"].as_array().unwrap() {
        assert_eq!(image["state"], "unsigned");
        assert_eq!(image["fails_signature_verification"], true);
        assert!(image["detail"].as_str().unwrap().ends_with("Missing property: img_signature_uuid."), "{image}");
    }
    let table = env.sigstack(&["audit", "--cloud", "sigstack-admin"]).await;
    assert_eq!(table.code, 1, "{table:?}");
    assert!(table.stdout.contains("Cirros-6.0") && table.stdout.contains("would fail to boot"), "{}", table.stdout);

    // 2. The switch goes on: Nova now refuses the unsigned image.
    env.enable_verification().await;
    let server = boot(&env, "Cirros-6.0").await;
    assert_eq!(server.status, "ERROR");
    let fault = server.fault.expect("fault").message;
    assert!(fault.contains("Missing property: img_signature_uuid."), "{fault}");

    // 3. sign-images signs all six and stores the certificate once.
    let signed = env.sigstack(&sign_args("sigstack-admin", &pki.key, &pki.cert)).await;
    assert_eq!(signed.code, 0, "{signed:?}");
    let results = signed.results();
    assert_eq!(results.len(), 6, "{}", signed.stdout);
    assert!(results.values().all(|r| r == "signed"), "{}", signed.stdout);
    assert_eq!(tool_secrets(&env).await, 1);
    // The baseline images are public: the operator is told who can read the certificate.
    assert!(signed.stderr.contains("note: 6 image(s) signed here are visible to other projects"), "{}", signed.stderr);

    // 4. audit is clean, data included.
    let audit = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--verify-data", "--format", "json"]).await;
    assert_eq!(audit.code, 0, "{audit:?}");
    let report = audit.json();
    assert_eq!(report["summary"]["fail_signature_verification"], 0, "{report}");
    assert_eq!(report["summary"]["by_state"]["verified"], 6, "{report}");

    // 5. Boots succeed.
    for name in ["Cirros-6.0", "Ubuntu-22.04"] {
        let server = boot(&env, name).await;
        assert_eq!(server.status, "ACTIVE", "{name}: {:?}", server.fault);
    }

    // 6. Idempotent: a second run skips everything and stores nothing new.
    let again = env.sigstack(&sign_args("sigstack-admin", &pki.key, &pki.cert)).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.results().values().all(|r| r == "skipped (already signed with this certificate)"), "{}", again.stdout);
    assert_eq!(tool_secrets(&env).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dry_run_changes_nothing() {
    let env = mos_unsigned().await;
    let pki = pki();
    let mut args = sign_args("sigstack-admin", &pki.key, &pki.cert);
    args.push("--dry-run");
    let run = env.sigstack(&args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.results().values().all(|r| r == "would sign (dry run)"), "{}", run.stdout);
    assert_eq!(run.results().len(), 6);
    assert!(run.stderr.contains("would store the certificate"), "{}", run.stderr);
    assert!(run.stdout.contains("6 would be signed (dry run: nothing was changed)"), "{}", run.stdout);
    assert!(unsigned_everywhere(&env.signature_properties().await));
    assert_eq!(tool_secrets(&env).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_that_does_not_match_the_certificate_is_refused_before_any_change() {
    let env = mos_unsigned().await;
    let key = path_str(&repo_path(RSA_KEY));
    let other = path_str(&repo_path(OTHER_CERT));
    let run = env.sigstack(&sign_args("sigstack-admin", &key, &other)).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("does not match the certificate"), "{}", run.stderr);
    assert!(unsigned_everywhere(&env.signature_properties().await));
    assert_eq!(tool_secrets(&env).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn usage_errors_exit_2() {
    let env = mos_unsigned().await;
    let pki = pki();
    // No cloud at all.
    let run = env.sigstack(&["sign-images", "--key", &pki.key, "--certificate", &pki.cert]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("OS_CLOUD"), "{}", run.stderr);
    // OS_CLOUD names the cloud; a bad hash method is refused before the cloud is contacted.
    let run = env
        .sigstack_env(
            &["sign-images", "--key", &pki.key, "--certificate", &pki.cert, "--hash-method", "sha256"],
            &[("OS_CLOUD", "sigstack-admin")],
        )
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("Invalid signature hash method: sha256"), "{}", run.stderr);
    // An unknown cloud, an --only that selects nothing, an unreadable key.
    let run = env.sigstack(&sign_args("nope", &pki.key, &pki.cert)).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no cloud 'nope'"), "{}", run.stderr);
    let mut args = sign_args("sigstack-admin", &pki.key, &pki.cert);
    args.extend(["--only", "no-such-image"]);
    let run = env.sigstack(&args).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = env.sigstack(&sign_args("sigstack-admin", "/nonexistent/key.pem", &pki.cert)).await;
    assert_eq!(run.code, 2, "{run:?}");
    // A P-256 key matches its certificate but no cursive registers it.
    let (p256_key, p256_cert) =
        (path_str(&repo_path("fixtures/pki/signing/ec-p256.key.pem")), path_str(&repo_path("fixtures/pki/signing/ec-p256.crt.pem")));
    let run = env.sigstack(&sign_args("sigstack-admin", &p256_key, &p256_cert)).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("EC P-256 key cannot sign images"), "{}", run.stderr);
    assert!(unsigned_everywhere(&env.signature_properties().await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn barbican_refusing_the_certificate_stops_before_any_image_changes() {
    let env = mos_unsigned().await;
    let pki = pki();
    let demo = env.session("demo").await;
    image_with(&demo, "demo-image", &data(50_000, 1), &[]).await;
    // demo is a member without the creator role: Barbican's secrets:post refuses it.
    let run = env.sigstack(&sign_args("sigstack-demo", &pki.key, &pki.cert)).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("Secret creation attempt not allowed - please review your user/project privileges"), "{}", run.stderr);
    assert!(run.stderr.contains("no image was changed"), "{}", run.stderr);
    assert!(unsigned_everywhere(&env.signature_properties().await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn images_not_owned_or_not_downloadable_are_reported_and_the_rest_signed() {
    let env = mos_unsigned().await;
    let pki = pki();
    env.grant_creator("demo").await;
    let demo = env.session("demo").await;
    let good = image_with(&demo, "demo-good", &data(50_000, 1), &[]).await;
    let blocked = image_with(&demo, "demo-blocked", &data(50_000, 2), &[]).await;
    env.fault(json!({"service": "glance", "operation": format!("GET /v2/images/{blocked}/file"), "action": {"fail": {"status": 403, "body": {"message": "Forbidden"}}}}))
        .await;
    let run = env.sigstack(&sign_args("sigstack-demo", &pki.key, &pki.cert)).await;
    assert_eq!(run.code, 1, "{run:?}");
    let results = run.results();
    assert_eq!(results[&good], "signed", "{}", run.stdout);
    assert!(results[&blocked].starts_with("failed: cannot download: download: 403"), "{}", run.stdout);
    // The six public baseline images belong to the admin project: Glance refuses the PATCH.
    let not_owned = results.values().filter(|r| r.starts_with("failed: not owned: Glance refused to change it (403")).count();
    assert_eq!(not_owned, 6, "{}", run.stdout);
    let props = env.signature_properties().await;
    assert_eq!(props[&good].len(), 4);
    assert!(props.iter().filter(|(id, _)| **id != good).all(|(_, p)| p.is_empty()), "{props:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_glance_error_mid_run_stops_with_nothing_half_applied_and_a_rerun_resumes() {
    let env = mos_unsigned().await;
    let pki = pki();
    let mut first = sign_args("sigstack-admin", &pki.key, &pki.cert);
    first.extend(["--only", "Cirros-6.0"]);
    let run = env.sigstack(&first).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.results().len(), 1);

    env.fault(json!({"service": "glance", "operation": "PATCH /v2/images/{id}", "action": {"fail": {"status": 500}}, "times": 1})).await;
    // One image at a time: nothing is in flight beside the one that fails.
    let mut args = sign_args("sigstack-admin", &pki.key, &pki.cert);
    args.extend(["--jobs", "1"]);
    let run = env.sigstack(&args).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("stopped at image") && run.stderr.contains("this image was not changed"), "{}", run.stderr);
    assert!(run.stderr.contains("re-run to resume"), "{}", run.stderr);
    let results = run.results();
    let failed: Vec<&String> = results.iter().filter(|(_, r)| r.starts_with("failed: PATCH: 500")).map(|(id, _)| id).collect();
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    assert_eq!(results.values().filter(|r| r.starts_with("skipped (already signed")).count(), 1, "{}", run.stdout);
    assert_eq!(results.values().filter(|r| r.starts_with("not attempted")).count(), 4, "{}", run.stdout);
    let props = env.signature_properties().await;
    assert!(props[failed[0]].is_empty(), "half-applied: {:?}", props[failed[0]]);
    assert_eq!(props.values().filter(|p| p.len() == 4).count(), 1);

    let run = env.sigstack(&sign_args("sigstack-admin", &pki.key, &pki.cert)).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.results().values().filter(|r| *r == "signed").count(), 5, "{}", run.stdout);
    assert!(env.signature_properties().await.values().all(|p| p.len() == 4));
    assert_eq!(tool_secrets(&env).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_check_after_the_patch_puts_the_properties_back() {
    let env = mos_unsigned().await;
    let pki = pki();
    // The check after the PATCH reads the certificate's metadata; the first such read fails.
    env.fault(json!({"service": "barbican", "operation": "GET /v1/secrets/{id}", "action": {"fail": {"status": 500}}, "times": 1})).await;
    let mut args = sign_args("sigstack-admin", &pki.key, &pki.cert);
    args.extend(["--only", "Cirros-6.0", "--only", "Fedora-39"]);
    let run = env.sigstack(&args).await;
    assert_eq!(run.code, 1, "{run:?}");
    let results = run.results();
    let failed: Vec<(&String, &String)> = results.iter().filter(|(_, r)| r.starts_with("failed:")).collect();
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    assert!(failed[0].1.contains("Unable to retrieve certificate") && failed[0].1.contains("put back"), "{}", run.stdout);
    assert_eq!(results.values().filter(|r| *r == "signed").count(), 1, "{}", run.stdout);
    let props = env.signature_properties().await;
    assert!(props[failed[0].0].is_empty(), "{:?}", props[failed[0].0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn certificate_id_is_checked_and_used_and_partial_properties_are_replaced() {
    let env = mos_unsigned().await;
    let pki = pki();
    let admin = env.session("admin").await;
    let stored = store_cert(&admin, RSA_CERT).await;
    let other = store_cert(&admin, OTHER_CERT).await;
    let partial = image_with(&admin, "partial", &data(40_000, 3), &[("img_signature_hash_method", "SHA-512".into())]).await;

    let mut args = sign_args("sigstack-admin", &pki.key, &pki.cert);
    args.extend(["--certificate-id", &other, "--only", "partial"]);
    let run = env.sigstack(&args).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("holds a different certificate"), "{}", run.stderr);

    let mut args = sign_args("sigstack-admin", &pki.key, &pki.cert);
    args.extend(["--certificate-id", &stored, "--only", "partial", "--hash-method", "SHA-384"]);
    let run = env.sigstack(&args).await;
    assert_eq!(run.code, 0, "{run:?}");
    let props = &env.signature_properties().await[&partial];
    assert_eq!(props["img_signature_certificate_uuid"], stored.as_str());
    assert_eq!(props["img_signature_hash_method"], "SHA-384");
    assert_eq!(props["img_signature_key_type"], "RSA-PSS");
    assert_eq!(tool_secrets(&env).await, 0, "nothing stored with --certificate-id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shards_sign_each_image_once_several_at_a_time() {
    let env = mos_unsigned().await;
    let pki = pki();
    let admin = env.session("admin").await;
    for i in 0..6 {
        image_with(&admin, &format!("extra-{i}"), &data(30_000 + i * 1_000, i as u8), &[]).await;
    }
    let all: Vec<String> = env.signature_properties().await.into_keys().collect();
    assert_eq!(all.len(), 12);
    let mut done = std::collections::BTreeSet::new();
    for index in 0..2u32 {
        let shard = format!("{index}/2");
        let mut args = sign_args("sigstack-admin", &pki.key, &pki.cert);
        args.extend(["--shard", &shard, "--jobs", "3"]);
        let run = env.sigstack(&args).await;
        assert_eq!(run.code, 0, "{run:?}");
        let results = run.results();
        let mine: Vec<&String> = all.iter().filter(|id| sigstack_ops::Shard::of(id, 2) == index).collect();
        assert_eq!(results.keys().collect::<Vec<_>>(), mine, "{}", run.stdout);
        assert!(results.values().all(|r| r == "signed"), "{}", run.stdout);
        assert!(
            run.stdout.contains(&format!("shard {shard} ({} image(s)): {} signed, 0 failed", mine.len(), mine.len())),
            "{}",
            run.stdout
        );
        done.extend(mine.into_iter().cloned());
        // Exactly the images of the shards done so far carry a signature.
        let props = env.signature_properties().await;
        assert!(props.iter().all(|(id, p)| p.len() == if done.contains(id) { 4 } else { 0 }), "{props:?}");
    }
    assert_eq!(tool_secrets(&env).await, 1, "the second shard reuses the stored certificate");
    let audit = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--verify-data", "--output", "json", "--jobs", "4"]).await;
    assert_eq!(audit.code, 0, "{audit:?}");
    assert_eq!(audit.json()["summary"]["by_state"]["verified"], 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_glance_error_with_several_jobs_starts_nothing_new_and_half_applies_nothing() {
    let env = mos_unsigned().await;
    let pki = pki();
    env.fault(json!({"service": "glance", "operation": "PATCH /v2/images/{id}", "action": {"fail": {"status": 500}}, "times": 1})).await;
    let mut args = sign_args("sigstack-admin", &pki.key, &pki.cert);
    args.extend(["--jobs", "3"]);
    let run = env.sigstack(&args).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("stopped at image") && run.stderr.contains("re-run to resume"), "{}", run.stderr);
    let results = run.results();
    let count = |prefix: &str| results.values().filter(|r| r.starts_with(prefix)).count();
    assert_eq!(count("failed: PATCH: 500"), 1, "{}", run.stdout);
    // The images in flight when it failed finish; none starts after it.
    assert_eq!(count("signed") + count("not attempted"), 5, "{}", run.stdout);
    assert!(count("not attempted") >= 1, "{}", run.stdout);
    let props = env.signature_properties().await;
    for (id, result) in &results {
        let expected = if result == "signed" { 4 } else { 0 };
        assert_eq!(props[id].len(), expected, "{id} {result}: {:?}", props[id]);
    }
    let run = env.sigstack(&args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(env.signature_properties().await.values().all(|p| p.len() == 4));
}
