//! `sigstack serve-network` as a process: the simulated Neutron alone, in front of another
//! cloud's Keystone (here a `sigstack serve`, standing in for the real Keystone of
//! `ci/realstack start --with compute`): `network:` and `ready` printed, callers' tokens checked
//! by that Keystone, SIGTERM a clean exit, and a cloud it cannot use a usage error.

mod serve_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use serve_support::*;
use sigstack_client::Session;
use sigstack_client::clouds::CloudsYaml;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

fn serve_network(args: &[&str], clouds_yaml: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
    command.arg("serve-network").args(args).env("OS_CLIENT_CONFIG_FILE", clouds_yaml);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("OS_") && k != "OS_CLIENT_CONFIG_FILE") {
        command.env_remove(key);
    }
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

#[test]
fn callers_are_checked_by_the_clouds_keystone() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(&["--data-dir", dir.path().join("cloud").to_str().unwrap()]);
    let clouds_yaml = cloud.get("clouds-yaml").to_owned();
    let data = dir.path().join("network");
    let mut network = start_command(serve_network(&["--cloud", "sigstack-admin", "--data-dir", data.to_str().unwrap()], &clouds_yaml));
    let url = network.get("network").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_ne!(url, cloud.get("network"), "its own listener, not the cloud's Neutron");

    let (anonymous, demo_listing) = block_on(async {
        let demo =
            Session::authenticate(&CloudsYaml::load(clouds_yaml.as_ref()).unwrap().credentials("sigstack-demo").unwrap()).await.unwrap();
        let http = reqwest::Client::new();
        let anonymous = http.get(format!("{url}/v2.0/networks")).send().await.unwrap().status();
        let listing = http.get(format!("{url}/v2.0/networks")).header("X-Auth-Token", demo.token().value).send().await.unwrap();
        (anonymous, (listing.status(), listing.text().await.unwrap()))
    });
    assert_eq!(anonymous, reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(demo_listing, (reqwest::StatusCode::OK, r#"{"networks":[]}"#.to_owned()));
    assert!(data.join("sigstack-network.db").is_file());

    network.signal(libc::SIGTERM);
    assert!(network.wait(Duration::from_secs(10)).success());
}

#[test]
fn a_cloud_it_cannot_use_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let clouds_yaml = dir.path().join("clouds.yaml");
    std::fs::write(&clouds_yaml, "clouds:\n  other:\n    auth:\n      auth_url: http://127.0.0.1:1/v3\n").unwrap();
    let out =
        serve_network(&["--cloud", "missing", "--data-dir", dir.path().to_str().unwrap()], clouds_yaml.to_str().unwrap()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("missing"), "{}", describe(&out));
    let out = serve_network(&["--data-dir", "x", "--tls-cert", "cert.pem"], clouds_yaml.to_str().unwrap()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--tls-cert without --tls-key: {}", describe(&out));
}
