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

/// The image ids of a JSON report, in its order.
fn ids(report: &Value) -> Vec<String> {
    report["images"].as_array().expect("images array").iter().map(|i| i["id"].as_str().expect("id").to_owned()).collect()
}

/// A report with its images ordered by id (how `audit merge` orders them).
fn by_id(report: &Value) -> Value {
    let mut report = report.clone();
    report["images"].as_array_mut().expect("images array").sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    report
}

/// Runs `audit --shard I/N` for every I with `extra` flags, writing each JSON report to
/// `<prefix>-I.json` in the test's directory; the reports and their paths.
async fn audit_shards(env: &Env, count: u32, prefix: &str, extra: &[&str]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for index in 0..count {
        let shard = format!("{index}/{count}");
        let mut args = vec!["audit", "--cloud", "sigstack-admin", "--output", "json", "--shard", &shard];
        args.extend(extra);
        let run = env.sigstack(&args).await;
        assert!(run.code == 0 || run.code == 1, "{args:?}: {run:?}");
        let report = run.json();
        assert_eq!(report["shard"], shard.as_str());
        let path = path_str(&env.dir.path().join(format!("{prefix}-{index}.json")));
        std::fs::write(&path, &run.stdout).expect("report written");
        out.push((path, report));
    }
    out
}

/// Images in several states (signed, tampered, unsigned, partially signed), `n` of each kind
/// cycling; their ids.
async fn mixed_images(env: &Env, cert: &str, prefix: &str, n: usize) -> Vec<String> {
    let admin = env.session("admin").await;
    let mut made = Vec::new();
    for i in 0..n {
        let bytes = data(10_000 + i * 997, i as u8);
        let name = format!("{prefix}-{i}");
        let props = match i % 4 {
            0 => signed_props(RSA_KEY, "RSA-PSS", &bytes, cert),
            1 => signed_props(RSA_KEY, "RSA-PSS", &data(5_000, 1), cert),
            2 => Vec::new(),
            _ => props(&[("img_signature", "QUFB")]),
        };
        made.push(image_with(&admin, &name, &bytes, &props).await);
    }
    made
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shards_are_disjoint_complete_stable_and_merge_into_the_whole_report() {
    let env = env(Deployment::default()).await;
    let admin = env.session("admin").await;
    let cert = store_cert(&admin, RSA_CERT).await;
    mixed_images(&env, &cert, "first", 16).await;
    let whole = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--verify-data", "--output", "json", "--jobs", "1"]).await;
    assert_eq!(whole.code, 1, "{whole:?}");
    let whole = whole.json();
    assert_eq!(whole["shard"], Value::Null);
    assert_eq!(whole["summary"]["images"], 16, "{whole}");
    // Several images at once: the same report, in the same (Glance's) order.
    let parallel = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--verify-data", "--output", "json", "--jobs", "4"]).await;
    assert_eq!(parallel.code, 1, "{parallel:?}");
    assert_eq!(parallel.json(), whole);

    // Three shards: each image in exactly one, the one its id hashes to.
    let shards = audit_shards(&env, 3, "before", &["--verify-data", "--jobs", "3"]).await;
    let mut assigned = std::collections::BTreeMap::new();
    for (index, (_, report)) in shards.iter().enumerate() {
        for id in ids(report) {
            assert_eq!(sigstack_ops::Shard::of(&id, 3), index as u32, "{id}");
            assert!(assigned.insert(id.clone(), index).is_none(), "{id} in two shards");
        }
    }
    let mut all = ids(&whole);
    all.sort();
    assert_eq!(assigned.keys().cloned().collect::<Vec<_>>(), all, "the shards together are every image");
    assert!(shards.iter().all(|(_, r)| r["summary"]["images"].as_u64() < Some(16)), "16 images in one shard of 3?");

    // The documented merge gives the whole report (images by id), exit code included.
    let paths: Vec<&str> = shards.iter().map(|(p, _)| p.as_str()).collect();
    let mut merge = vec!["audit", "merge"];
    merge.extend(paths.iter().rev());
    let merged = env.sigstack(&merge).await;
    assert_eq!(merged.code, 1, "{merged:?}");
    assert!(merged.stderr.contains("image(s) would fail to boot"), "{}", merged.stderr);
    assert_eq!(merged.json(), by_id(&whole));
    let mut table = merge.clone();
    table.extend(["--output", "table"]);
    let table = env.sigstack(&table).await;
    assert_eq!(table.code, 1, "{table:?}");
    assert!(table.stdout.starts_with("ID ") && table.stdout.contains("16 image(s); with Nova"), "{}", table.stdout);
    // A shard's own table says which shard it is.
    let run = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--shard", "1/3"]).await;
    assert!(run.stdout.contains(" image(s) in shard 1/3; "), "{}", run.stdout);

    // New images: the earlier ones stay in their shard, the new ones land in one each.
    let added = mixed_images(&env, &cert, "later", 9).await;
    let after = audit_shards(&env, 3, "after", &["--verify-data"]).await;
    let mut seen = std::collections::BTreeSet::new();
    for (index, (_, report)) in after.iter().enumerate() {
        for id in ids(report) {
            if let Some(before) = assigned.get(&id) {
                assert_eq!(*before, index, "{id} moved from shard {before} to {index}");
            }
            assert!(seen.insert(id.clone()), "{id} in two shards");
        }
    }
    assert_eq!(seen.len(), 25);
    assert!(added.iter().all(|id| seen.contains(id)));
    let mut merge = vec!["audit", "merge"];
    merge.extend(after.iter().map(|(p, _)| p.as_str()));
    let merged = env.sigstack(&merge).await;
    let whole = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--verify-data", "--output", "json"]).await;
    assert_eq!(merged.json(), by_id(&whole.json()));
    assert_eq!(merged.json()["summary"]["images"], 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merge_refuses_anything_but_every_shard_of_one_run() {
    let env = env(Deployment::default()).await;
    let admin = env.session("admin").await;
    let cert = store_cert(&admin, RSA_CERT).await;
    mixed_images(&env, &cert, "img", 12).await;
    let three = audit_shards(&env, 3, "three", &[]).await;
    let p = |i: usize| three[i].0.as_str();
    // Complete and clean of surprises: it merges (exit 1: some images would fail).
    let ok = env.sigstack(&["audit", "merge", p(0), p(1), p(2)]).await;
    assert_eq!(ok.code, 1, "{ok:?}");

    let refused = |args: Vec<String>, expect: &'static str| {
        let env = &env;
        async move {
            let mut full = vec!["audit".to_owned(), "merge".to_owned()];
            full.extend(args);
            let full: Vec<&str> = full.iter().map(String::as_str).collect();
            let run = env.sigstack(&full).await;
            assert_eq!(run.code, 2, "{full:?}: {run:?}");
            assert!(run.stdout.is_empty(), "{full:?}: {run:?}");
            assert!(run.stderr.contains(expect), "{full:?}: expected {expect:?} in {}", run.stderr);
        }
    };
    let s = |v: &[&str]| v.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    refused(s(&[p(0), p(2)]), "shard(s) 1 missing").await;
    refused(s(&[p(0), p(1), p(2), p(1)]), "shard 1/3 is given twice").await;
    // Another N.
    let two = audit_shards(&env, 2, "two", &[]).await;
    refused(s(&[p(0), p(1), p(2), &two[1].0]), "all must be made with the same N").await;
    // Other options: --verify-data, --trusted-cert, --profile, the cloud.
    let mismatched = |flag: &'static [&'static str], expect: &'static str| {
        let env = &env;
        let three = &three;
        async move {
            let mut args = vec!["audit", "--output", "json", "--shard", "1/3"];
            args.extend(flag);
            if !flag.contains(&"--cloud") {
                args.extend(["--cloud", "sigstack-admin"]);
            }
            let run = env.sigstack(&args).await;
            assert!(run.code < 2, "{run:?}");
            let path = path_str(&env.dir.path().join("odd.json"));
            std::fs::write(&path, &run.stdout).expect("written");
            let full = ["audit", "merge", three[0].0.as_str(), path.as_str(), three[2].0.as_str()];
            let merged = env.sigstack(&full).await;
            assert_eq!(merged.code, 2, "{merged:?}");
            assert!(merged.stderr.contains(expect), "expected {expect:?} in {}", merged.stderr);
        }
    };
    mismatched(&["--verify-data"], "differ in --verify-data").await;
    mismatched(&["--trusted-cert", "00000000-0000-4000-8000-000000000000"], "differ in --trusted-cert").await;
    mismatched(&["--profile", "legacy"], "differ in --profile").await;
    mismatched(&["--cloud", "sigstack-demo"], "differ in the cloud").await;

    // A report of the whole cloud, a file that is not JSON, one that is not there, an edited
    // one whose image belongs to another shard.
    let whole = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--output", "json"]).await;
    let whole_path = path_str(&env.dir.path().join("whole.json"));
    std::fs::write(&whole_path, &whole.stdout).expect("written");
    refused(s(&[p(0), &whole_path]), "was made without --shard").await;
    let junk = path_str(&env.dir.path().join("junk.json"));
    std::fs::write(&junk, "ID  NAME\n").expect("written");
    refused(s(&[p(0), &junk]), "is not JSON").await;
    refused(s(&[p(0), "/nonexistent/shard.json"]), "cannot read shard report /nonexistent/shard.json").await;
    let mut edited = three[0].1.clone();
    let stray = three[1].1["images"][0].clone();
    edited["images"].as_array_mut().expect("images").push(stray);
    let edited_path = path_str(&env.dir.path().join("edited.json"));
    std::fs::write(&edited_path, edited.to_string()).expect("written");
    refused(s(&[&edited_path, p(1), p(2)]), "which belongs to shard 1/3, not 0/3").await;
    let mut broken = three[0].1.clone();
    broken["images"][0]["fails_signature_verification"] = Value::from("yes");
    std::fs::write(&edited_path, broken.to_string()).expect("written");
    refused(s(&[&edited_path, p(1), p(2)]), "is not a report of `sigstack audit --output json`: no valid `images`").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_shard_and_jobs_values_are_usage_errors_naming_the_flag() {
    let env = env(Deployment::default()).await;
    let key = path_str(&repo_path(RSA_KEY));
    let cert = path_str(&repo_path(RSA_CERT));
    for (flag, value, expect) in [
        ("--shard", "3/3", "the shard index must be below the count"),
        ("--shard", "0/0", "the shard count N must be at least 1"),
        ("--shard", "a/b", "expected I/N"),
        ("--shard", "1", "expected I/N"),
        ("--shard", "-1/3", "expected I/N"),
        ("--jobs", "0", "at least 1"),
        ("--jobs", "many", "at least 1"),
    ] {
        for base in [
            vec!["audit", "--cloud", "sigstack-admin"],
            vec!["sign-images", "--cloud", "sigstack-admin", "--key", &key, "--certificate", &cert],
        ] {
            let mut args = base.clone();
            args.extend([flag, value]);
            let run = env.sigstack(&args).await;
            assert_eq!(run.code, 2, "{args:?}: {run:?}");
            assert!(run.stderr.contains(&format!("'{flag} ")) && run.stderr.contains(expect), "{args:?}: {}", run.stderr);
            assert!(run.stdout.is_empty());
        }
    }
    // --format stays an alias of --output; merge wants files and no cloud flags.
    let run = env.sigstack(&["audit", "--cloud", "sigstack-admin", "--format", "json"]).await;
    assert_eq!((run.code, run.json()["shard"].is_null()), (0, true), "{run:?}");
    for args in [vec!["audit", "merge"], vec!["audit", "--cloud", "sigstack-admin", "merge", "x.json"]] {
        let run = env.sigstack(&args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
}
