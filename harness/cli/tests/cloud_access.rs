//! The cloud-facing commands (`conformance`, `audit`, `sign-images`) reaching a cloud as a
//! vendor's is reached: HTTPS under a private CA (`sigstack serve --tls`), through the
//! clouds.yaml it writes, an application credential, tokens that expire during the run.

mod serve_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use serve_support::{describe, sigstack, start, text};
use sigstack_client::Session;
use sigstack_client::clouds::CloudsYaml;

/// Barbican: "A member without the creator role may not store a certificate" (demo only).
const MEMBER_REFUSED: &str = "9f2640e7-3e05-40b6-9e4c-1ac42e7327ae";
const SIGNING_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pki/signing/rsa-2048.key.pem");
const SIGNING_CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pki/signing/rsa-2048.crt.pem");
const INSECURE_WARNING: &str = "warning: TLS certificate verification is off";

/// The three commands against `cloud`, each as a vendor would first try it.
fn commands<'a>(cloud: &'a str, tags: &'a str, reports: &'a str) -> Vec<Vec<&'a str>> {
    vec![
        vec!["audit", "--cloud", cloud, "--format", "json"],
        vec!["sign-images", "--cloud", cloud, "--key", SIGNING_KEY, "--certificate", SIGNING_CERT, "--dry-run"],
        vec!["conformance", "--cloud", cloud, "--tags", tags, "--report-dir", reports],
    ]
}

/// clouds.yaml as serve wrote it, with every cloud's `cacert:` line replaced by `extra`.
fn rewritten(clouds_yaml: &Path, extra: &str, into: &Path) {
    let original = std::fs::read_to_string(clouds_yaml).unwrap();
    assert!(original.contains("    cacert: "), "serve --tls writes cacert: {original}");
    let text: String = original
        .lines()
        .map(|l| if l.starts_with("    cacert: ") { extra.to_owned() } else { l.to_owned() })
        .filter(|l| !l.is_empty())
        .map(|l| l + "\n")
        .collect();
    std::fs::write(into, text).unwrap();
}

#[test]
fn the_commands_trust_the_clouds_ca_refuse_an_unknown_issuer_and_accept_verify_false() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let server = start(&["--data-dir", data.to_str().unwrap(), "--tls"]);
    let clouds_yaml = Path::new(server.get("clouds-yaml")).to_owned();
    let reports = temp.path().join("reports");
    let reports = reports.to_str().unwrap();
    let tags = format!("@id:{MEMBER_REFUSED}");
    let keystone = server.get("identity").trim_start_matches("https://").split('/').next().unwrap().to_owned();

    // With the CA serve made, as its clouds.yaml says: every command works over HTTPS.
    for args in commands("sigstack-demo", &tags, reports) {
        let out = sigstack(&args, &clouds_yaml);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", describe(&out));
        assert!(!text(&out.stderr).contains(INSECURE_WARNING), "{args:?}: {}", describe(&out));
    }

    // Without it: the system's roots do not know serve's CA. A usage error (exit 2) naming
    // Keystone's host and the reason.
    let no_ca = temp.path().join("no-ca.yaml");
    rewritten(&clouds_yaml, "", &no_ca);
    for args in commands("sigstack-demo", &tags, reports) {
        let out = sigstack(&args, &no_ca);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&format!("TLS connection to {keystone} failed: unknown issuer")), "{args:?}: {}", describe(&out));
    }

    // `verify: false`, or `--insecure` on the command line: it works, with a warning.
    let unverified = temp.path().join("verify-false.yaml");
    rewritten(&clouds_yaml, "    verify: false", &unverified);
    for args in commands("sigstack-demo", &tags, reports) {
        let out = sigstack(&args, &unverified);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", describe(&out));
        assert_eq!(text(&out.stderr).matches(INSECURE_WARNING).count(), 1, "once per run: {}", describe(&out));
        let mut insecure = args.clone();
        insecure.push("--insecure");
        let out = sigstack(&insecure, &no_ca);
        assert_eq!(out.status.code(), Some(0), "{insecure:?}: {}", describe(&out));
        assert!(text(&out.stderr).contains(INSECURE_WARNING), "{insecure:?}: {}", describe(&out));
    }
    drop(server);
}

/// Makes an application credential for demo through Keystone's API; returns (id, secret).
async fn application_credential(clouds_yaml: &Path) -> (String, String) {
    let demo = Session::authenticate(&CloudsYaml::load(clouds_yaml).unwrap().credentials("sigstack-demo").unwrap()).await.unwrap();
    let url = format!("{}/users/{}/application_credentials", demo.endpoint("identity").unwrap(), demo.token().user.id);
    let body = json!({"application_credential": {"name": "sigstack-ci", "description": "cloud_access.rs"}});
    let created: serde_json::Value = demo.json(demo.request(reqwest::Method::POST, &url).json(&body)).await.unwrap();
    let credential = &created["application_credential"];
    (credential["id"].as_str().unwrap().to_owned(), credential["secret"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_application_credential_and_short_lived_tokens_carry_a_whole_run() {
    const LIFETIME: u64 = 4;
    let temp = tempfile::tempdir().unwrap();
    let deployment = temp.path().join("short-tokens.yaml");
    let upstream = include_str!("../../cloud/deployments/upstream-defaults.yaml").replace("name: upstream-defaults", "name: short-tokens");
    std::fs::write(&deployment, format!("{upstream}\nkeystone:\n  token_expiration: {LIFETIME}\n")).unwrap();
    let data = temp.path().join("data");
    let server = start(&["--data-dir", data.to_str().unwrap(), "--tls", "--deployment", deployment.to_str().unwrap()]);
    let clouds_yaml = Path::new(server.get("clouds-yaml")).to_owned();
    let cacert = server.get("cacert").to_owned();

    let (id, secret) = application_credential(&clouds_yaml).await;
    let with_app = temp.path().join("clouds.yaml");
    let appcred = format!(
        "  sigstack-appcred:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: \"{}\"\n      application_credential_id: \"{id}\"\n      application_credential_secret: \"{secret}\"\n    region_name: RegionOne\n    identity_api_version: 3\n    cacert: \"{cacert}\"\n",
        server.get("identity")
    );
    std::fs::write(&with_app, std::fs::read_to_string(&clouds_yaml).unwrap() + &appcred).unwrap();
    // The suite's "demo" is the application credential.
    let capabilities = temp.path().join("capabilities.yaml");
    let serve_capabilities = std::fs::read_to_string(server.get("capabilities")).unwrap();
    std::fs::write(&capabilities, serve_capabilities.replace("  \"demo\": \"sigstack-demo\"", "  \"demo\": \"sigstack-appcred\"")).unwrap();
    assert!(std::fs::read_to_string(&capabilities).unwrap().contains("\"demo\": \"sigstack-appcred\""));

    let out = sigstack(&["audit", "--cloud", "sigstack-appcred", "--format", "json"], &with_app);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    // The whole suite, over HTTPS, as the application credential, with tokens that live
    // LIFETIME seconds: a session that outlives its token renews it, or its scenarios fail
    // with 401s. (Not shorter: the simulated services call each other with the user's token
    // after answering, as real ones do; without a service token a token that expires in
    // between fails the upload, so a loaded machine needs the half-lifetime margin.)
    let reports = temp.path().join("reports");
    let started = Instant::now();
    let out = sigstack(
        &[
            "conformance",
            "--cloud",
            "sigstack-appcred",
            "--capabilities",
            capabilities.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
        &with_app,
    );
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stdout).contains("PASS: "), "{}", describe(&out));
    assert!(took > Duration::from_secs(LIFETIME), "the run took {took:?}: too short to outlive its tokens, the test proves nothing");
    let report = std::fs::read_to_string(reports.join("report.md")).unwrap();
    assert!(report.contains("cloud sigstack-appcred"), "{report}");
    drop(server);
}

#[test]
fn unknown_auth_types_and_missing_options_are_usage_errors_naming_the_key() {
    let temp = tempfile::tempdir().unwrap();
    let clouds_yaml = temp.path().join("clouds.yaml");
    std::fs::write(
        &clouds_yaml,
        "clouds:\n  oidc:\n    auth_type: v3oidcpassword\n    auth: {auth_url: 'https://127.0.0.1:9/v3', username: u}\n  half:\n    auth_type: v3applicationcredential\n    auth: {auth_url: 'https://127.0.0.1:9/v3', application_credential_id: abc}\n  old:\n    identity_api_version: 2\n    auth: {auth_url: 'https://127.0.0.1:9/v2.0', username: u, password: p, project_name: p}\n",
    )
    .unwrap();
    let path = clouds_yaml.display().to_string();
    for (cloud, message) in [
        ("oidc", format!("cloud 'oidc' in {path}: auth_type: 'v3oidcpassword' is not supported (sigstack supports password,")),
        ("half", format!("cloud 'half' in {path} has no auth.application_credential_secret")),
        ("old", format!("cloud 'old' in {path}: identity_api_version: version 2 is not supported (sigstack speaks 3)")),
    ] {
        for args in [vec!["audit", "--cloud", cloud], vec!["conformance", "--cloud", cloud]] {
            let out = sigstack(&args, &clouds_yaml);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
            assert!(text(&out.stderr).contains(&message), "{args:?}: {}", describe(&out));
        }
    }
}

#[test]
fn an_openrc_is_the_cloud_when_none_is_named() {
    // A sourced openrc and no clouds.yaml: the commands authenticate with the OS_* variables
    // (here against a port nobody listens on: a failure of the cloud, exit 1, naming it).
    let temp = tempfile::tempdir().unwrap();
    let missing = temp.path().join("none.yaml");
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
    command.arg("audit").stdin(Stdio::null()).current_dir(temp.path()).env("HOME", temp.path()).env("OS_CLIENT_CONFIG_FILE", &missing);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("OS_") && k != "OS_CLIENT_CONFIG_FILE") {
        command.env_remove(key);
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let auth_url = format!("http://127.0.0.1:{closed}/v3");
    for (k, v) in [("OS_AUTH_URL", auth_url.as_str()), ("OS_USERNAME", "u"), ("OS_PASSWORD", "p"), ("OS_PROJECT_NAME", "p")] {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains(&format!("cannot authenticate as cloud 'envvars' at {auth_url}")), "{}", describe(&out));
    // Without the openrc either: a usage error saying what to do.
    command.env_remove("OS_AUTH_URL").env_remove("OS_USERNAME").env_remove("OS_PASSWORD").env_remove("OS_PROJECT_NAME");
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("no cloud given: pass --cloud NAME, set OS_CLOUD, or source an openrc file"), "{}", describe(&out));
}
