//! `sigstack conformance discover` against `sigstack serve`: for each shipped deployment
//! profile (and one made up to take the other branches: legacy key types, default trusted
//! certificates, Cinder not verifying), the capability file discover writes from outside
//! declares exactly the capabilities serve declares for itself, each with its evidence, and
//! nothing the probes created is left.

mod serve_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use serve_support::{Server, describe, sigstack, start, text};
use sigstack_scenarios::config::CapabilityFile;

/// `sigstack conformance discover ARGS` with this clouds.yaml and none of the caller's
/// OpenStack environment.
fn discover(args: &[&str], clouds_yaml: &Path) -> Output {
    let args: Vec<&str> = ["conformance", "discover"].into_iter().chain(args.iter().copied()).collect();
    sigstack(&args, clouds_yaml)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// Every `8-4-4-4-12` hex id in `text` (the servers, volumes and images the evidence names).
fn uuids(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let shape = [8, 4, 4, 4, 12];
    let mut found = Vec::new();
    let mut i = 0;
    while i + 36 <= b.len() {
        let mut at = i;
        let ok = shape.iter().enumerate().all(|(n, len)| {
            let group = b[at..at + len].iter().all(u8::is_ascii_hexdigit);
            at += len;
            let dash = n == 4 || b.get(at) == Some(&b'-');
            at += usize::from(n < 4);
            group && dash
        });
        if ok && (i == 0 || !b[i - 1].is_ascii_hexdigit()) {
            found.push(text[i..i + 36].to_owned());
            i += 36;
        } else {
            i += 1;
        }
    }
    found.sort();
    found.dedup();
    found
}

/// What `/_sim/resources` still holds that names one of `needles`: every SQLite row of every
/// service except Glance's soft-deleted images (real Glance keeps those rows) and Cinder's
/// image-volume cache (Cinder's own copy of an image it downloaded, kept by real Cinder for
/// its internal tenant; no user makes or deletes it).
fn live_rows(server: &Server, needles: &[String]) -> Vec<String> {
    let origin = server.get("key-manager");
    let http = server.control_http();
    let body: Value = block_on(async { http.get(format!("{origin}/_sim/resources")).send().await.unwrap().json().await.unwrap() });
    let mut live = Vec::new();
    for (service, tables) in body["services"].as_object().expect("services") {
        for (table, rows) in tables["tables"].as_object().into_iter().flatten() {
            for row in rows.as_array().into_iter().flatten() {
                let row_text = row.to_string();
                if !needles.iter().any(|n| row_text.contains(n.as_str())) || table == "cinder_image_cache" {
                    continue;
                }
                let inner: Value = row["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
                if table == "glance_images" && inner["status"] == "deleted" {
                    continue;
                }
                live.push(format!("{service}/{table}: {}", &row_text[..row_text.len().min(300)]));
            }
        }
    }
    live
}

/// Each line of the `capabilities:` block that declares (or leaves undeclared) a capability
/// has at least one `# evidence:` comment in the comments just before it.
fn assert_evidence_for_every_capability(yaml: &str) {
    let mut in_capabilities = false;
    let mut comments: Vec<&str> = Vec::new();
    let mut seen = 0;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') {
            in_capabilities = line == "capabilities:";
            comments.clear();
            continue;
        }
        if !in_capabilities {
            continue;
        }
        let trimmed = line.trim_start();
        let is_capability = !trimmed.starts_with('#') || trimmed.contains("(not declared)") || trimmed.contains("NOT DETERMINED");
        if is_capability {
            if !comments.iter().any(|c| c.contains("# from --capabilities")) {
                assert!(comments.iter().any(|c| c.starts_with("# evidence: ")), "no evidence for {line:?}:\n{yaml}");
            }
            seen += 1;
            comments.clear();
        } else {
            comments.push(trimmed);
        }
    }
    assert!(seen >= 10, "{seen} capabilities in\n{yaml}");
}

fn capabilities(text: &str) -> BTreeMap<String, String> {
    CapabilityFile::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}")).capabilities.0
}

/// Capabilities serve declares that discover does not probe (a vendor declares them, or passes
/// them with `--capabilities`): `cached_images_verified` would take two boots of one image on
/// one host with the signature changed in between, the limitation scenario itself.
const NOT_PROBED: [&str; 1] = ["cached_images_verified"];

/// Serve's capability file, without what discover does not probe.
fn served_capabilities(server: &Server) -> BTreeMap<String, String> {
    let mut served = capabilities(&std::fs::read_to_string(server.get("capabilities")).unwrap());
    for name in NOT_PROBED {
        assert!(served.remove(name).is_some(), "serve declares {name}: {served:?}");
    }
    served
}

/// `serve --deployment <deployment>`, then discover as the admin: the file equals serve's
/// capabilities key by key and cleans up after itself. Returns the file discover wrote.
fn discover_matches_serve(deployment: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let server: Server = start(&["--data-dir", dir.path().join("data").to_str().unwrap(), "--deployment", deployment]);
    let clouds = PathBuf::from(server.get("clouds-yaml"));
    let output = dir.path().join("discovered.yaml");

    let started = std::time::Instant::now();
    let out = discover(&["--cloud", "sigstack-admin", "--output", output.to_str().unwrap()], &clouds);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{deployment}: {}", describe(&out));
    assert!(text(&out.stdout).is_empty(), "with --output nothing goes to stdout: {}", describe(&out));
    let written = std::fs::read_to_string(&output).unwrap();
    eprintln!("{deployment}: discover took {took:?}");

    // Exactly serve's capabilities (the embedded target's), key by key, but what it does not probe.
    let expected = served_capabilities(&server);
    assert_eq!(capabilities(&written), expected, "{deployment}:\n{written}");
    let file = CapabilityFile::parse(&written).unwrap();
    assert_eq!(file.users.get("demo").map(String::as_str), Some("sigstack-admin"), "{written}");
    assert_eq!(file.users.get("admin").map(String::as_str), Some("sigstack-admin"), "{written}");
    assert_evidence_for_every_capability(&written);
    assert!(written.contains("# Glance verifies signatures on upload: yes"), "{written}");

    // Nothing the probes made is left: not by name (the run id), not by id (the servers,
    // volumes and images the evidence names).
    let run =
        written.split("Probe run id: ").nth(1).and_then(|r| r.split_whitespace().next()).expect("the run id in the header").to_owned();
    let origin = server.get("key-manager").to_owned();
    let all = block_on(async { server.control_http().get(format!("{origin}/_sim/resources")).send().await.unwrap().text().await.unwrap() });
    assert!(all.matches(&run).count() >= 5, "the probes' images carry the run id {run}");
    let mut needles = uuids(written.split("\ncapabilities:\n").nth(1).unwrap());
    assert!(needles.len() >= 6, "the evidence names the servers, volumes and images: {needles:?}");
    needles.push(run);
    assert_eq!(live_rows(&server, &needles), Vec::<String>::new(), "{deployment}");
    written
}

#[test]
fn discover_finds_the_mos_profile() {
    let written = discover_matches_serve("mos");
    // The pre-built images are found and signed; Nova verifies (the unsigned and the tampered
    // image refused) without certificate validation (the signed one boots).
    assert!(written.contains("GET /v2/images?name=Cirros-6.0 -> 200 active, signed"), "{written}");
    assert!(written.contains("Signature verification for the image failed"), "{written}");
    assert!(written.contains("Exceeded maximum number of retries"), "{written}");
    assert!(written.contains("copy image to volume:Image signature verification failed."), "{written}");
}

#[test]
fn discover_finds_the_upstream_certificate_validation_profile() {
    let written = discover_matches_serve("upstream-certificate-validation");
    assert!(written.contains("Image signature certificate validation enabled, but no trusted certificate IDs were provided"), "{written}");
    assert!(written.contains("# baseline_images: false   (not declared)"), "{written}");
}

#[test]
fn discover_finds_the_upstream_defaults_profile() {
    let written = discover_matches_serve("upstream-defaults");
    assert!(written.contains("Invalid signature key type: ECC_SECT409K1"), "{written}");
    assert!(written.contains("-> 200 ACTIVE"), "{written}");
}

/// A profile none of the shipped ones is: legacy cursive, Nova validating against nova.conf's
/// default trusted certificates, Cinder not verifying. Written to stdout this time.
#[test]
fn discover_finds_legacy_key_types_default_trusted_certificates_and_cinder_not_verifying() {
    let dir = tempfile::tempdir().unwrap();
    let deployment = dir.path().join("variant.yaml");
    std::fs::write(
        &deployment,
        "name: discover-variant\nkey_type_profile: legacy\nnova:\n  glance:\n    verify_glance_signatures: true\n    enable_certificate_validation: true\n    default_trusted_certificate_ids: [6c9e1c8a-58b0-4a8b-9d3c-2f6f0b1a7e55]\ncinder:\n  verify_glance_signatures: disabled\n",
    )
    .unwrap();
    let server = start(&["--data-dir", dir.path().join("data").to_str().unwrap(), "--deployment", deployment.to_str().unwrap()]);
    let clouds = PathBuf::from(server.get("clouds-yaml"));
    let out = discover(&["--cloud", "sigstack-admin"], &clouds);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let written = text(&out.stdout);
    let expected = served_capabilities(&server);
    for (name, value) in [
        ("key_type_profile", "legacy"),
        ("default_trusted_certificates", "true"),
        ("cinder_verification", "false"),
        ("certificate_validation", "true"),
    ] {
        assert_eq!(expected.get(name).map(String::as_str), Some(value), "serve's file: {expected:?}");
    }
    assert_eq!(capabilities(&written), expected, "{written}");
    assert_evidence_for_every_capability(&written);
    assert!(written.contains("Image signature certificate validation failed for certificate"), "{written}");
    assert!(written.contains("no signature_verified in its volume_image_metadata"), "{written}");
}

/// The settings and the capabilities discover does not probe come from `--capabilities` and
/// go back into the file; a demo user without the creator role cannot store the signing
/// certificate, so the signature capabilities stay undeclared and discover exits 1.
#[test]
fn a_member_without_creator_gets_a_file_with_what_could_be_found_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&["--data-dir", dir.path().join("data").to_str().unwrap()]);
    let clouds = PathBuf::from(server.get("clouds-yaml"));
    let given = dir.path().join("given.yaml");
    std::fs::write(&given, "users:\n  alt_demo: sigstack-alt-demo\ncapabilities:\n  max_concurrent_scenarios: 4\nsettings:\n  build_timeout: 30\n  flavor: m1.tiny\n").unwrap();
    let output = dir.path().join("out.yaml");
    let out =
        discover(&["--cloud", "sigstack-demo", "--capabilities", given.to_str().unwrap(), "--output", output.to_str().unwrap()], &clouds);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("not determined (left undeclared in the file): verify_glance_signatures, certificate_validation, default_trusted_certificates, cinder_verification, key_type_profile"), "{}", describe(&out));
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(written.contains("storing the signing certificate in Barbican: POST /v1/secrets -> 403"), "{written}");
    let file = CapabilityFile::parse(&written).unwrap();
    let caps = &file.capabilities;
    assert_eq!((caps.get("admin_credentials"), caps.get("compute"), caps.get("volume")), (Some("false"), Some("true"), Some("true")));
    assert_eq!(caps.get("verify_glance_signatures"), None, "undetermined is not declared");
    assert_eq!(caps.get("max_concurrent_scenarios"), Some("4"), "carried over");
    assert_eq!(file.settings.flavor.as_deref(), Some("m1.tiny"));
    assert_eq!(file.settings.build_timeout, Some(std::time::Duration::from_secs(30)));
    assert_eq!(file.users.get("alt_demo").map(String::as_str), Some("sigstack-alt-demo"));
    assert_eq!(file.users.get("demo").map(String::as_str), Some("sigstack-demo"));
    assert!(!file.users.contains_key("admin"), "{written}");
    assert_evidence_for_every_capability(&written);
    // What it did make (nothing, the certificate refused) is gone all the same.
    let run = written.split("Probe run id: ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().to_owned();
    assert_eq!(live_rows(&server, &[run]), Vec::<String>::new());
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        "clouds:\n  c:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n      username: u\n      password: p\n      project_name: p\n",
    )
    .unwrap();
    let out = discover(&["--cloud", "nope"], &clouds);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("nope"), "{}", describe(&out));
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "settings:\n  flavour: x\n").unwrap();
    let out = discover(&["--cloud", "c", "--capabilities", bad.to_str().unwrap()], &clouds);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("unknown setting 'flavour'"), "{}", describe(&out));
    let out = discover(&["--cloud", "c", "--output", dir.path().join("no/such/dir/caps.yaml").to_str().unwrap()], &clouds);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("--output"), "{}", describe(&out));
    let out = discover(&["--cloud", "c", "--bogus"], &clouds);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

/// Ctrl-C while the servers are being watched (Nova's first answers about them held back by
/// an injected delay): discover deletes what the probes made, writes no file, exits 130.
#[test]
fn ctrl_c_deletes_what_the_probes_made_and_exits_130() {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let server = start(&["--data-dir", dir.path().join("data").to_str().unwrap()]);
    let clouds = PathBuf::from(server.get("clouds-yaml"));
    let origin = server.get("key-manager").to_owned();
    let fault = serde_json::json!({"service": "nova", "operation": "GET /v2.1/servers/{id}", "action": {"delay_ms": 60000}, "times": 3});
    let status =
        block_on(async { server.control_http().post(format!("{origin}/_sim/faults")).json(&fault).send().await.unwrap().status() });
    assert_eq!(status.as_u16(), 201);

    let output = dir.path().join("never.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigstack"))
        .args(["conformance", "discover", "--cloud", "sigstack-admin", "--output", output.to_str().unwrap()])
        .env("OS_CLIENT_CONFIG_FILE", &clouds)
        .env_remove("OS_CLOUD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut run = None;
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "discover ended early: {seen}");
        seen.push_str(&line);
        if let Some(rest) = line.split("(run id ").nth(1) {
            run = rest.split(':').next().map(str::to_owned);
        }
        if line.contains("booting the unsigned") {
            break;
        }
    }
    let run = run.expect("the run id on stderr");
    // The three servers are created (and recorded) before their first GET hangs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while live_rows(&server, &[format!("{run}-discover-vm-")]).len() < 3 {
        assert!(std::time::Instant::now() < deadline, "the probe servers were not created");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the pid of a child this test spawned and has not waited for.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let started = std::time::Instant::now();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "cleanup took {:?}", started.elapsed());
    assert!(rest.contains("interrupted: deleting what the probes created"), "{rest}");
    assert!(rest.contains(&format!("sigstack conformance cleanup --cloud sigstack-admin --run {run}")), "{rest}");
    assert!(!output.exists(), "no capability file from an interrupted discover");
    assert_eq!(live_rows(&server, &[run]), Vec::<String>::new(), "{rest}");
}
