//! `sigstack serve`'s log on stderr: `--log-level`, `RUST_LOG` over it, one line per request
//! with its request id, 5xx with their cause, and never a token, a password or a query string.

#[path = "serve_support/mod.rs"]
mod serve_support;

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use serve_support::{Server, serve, text};

/// Starts `command` (a `sigstack serve`) and waits for `ready`.
fn start(command: Command) -> Server {
    serve_support::start_command(command)
}

/// `sigstack serve ARGS` on a new data directory, with `RUST_LOG` as given (unset if `None`).
fn serve_with(dir: &tempfile::TempDir, args: &[&str], rust_log: Option<&str>) -> Command {
    let mut all = vec!["--data-dir", dir.path().to_str().unwrap()];
    all.extend_from_slice(args);
    let mut command = serve(&all);
    match rust_log {
        Some(value) => command.env("RUST_LOG", value),
        None => command.env_remove("RUST_LOG"),
    };
    command
}

/// Stops the server with SIGTERM; everything it wrote on stderr.
fn stop(mut server: Server) -> String {
    server.signal(libc::SIGTERM);
    let status = server.wait(Duration::from_secs(15));
    let mut stderr = String::new();
    server.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{status:?}; stderr: {stderr}");
    stderr
}

fn http() -> reqwest::Client {
    sigstack_client::session::http_client()
}

/// Issues an admin token (password method); the token and the answer's request id.
async fn admin_token(server: &Server) -> (String, String) {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": "admin-password"}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}});
    let r = http().post(format!("{}/auth/tokens", server.get("identity"))).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
    let id = r.headers()["x-openstack-request-id"].to_str().unwrap().to_owned();
    (token, id)
}

/// Injects a 503 on Nova's flavor list and calls it; the answer's request id.
async fn injected_503(server: &Server, token: &str) -> String {
    let fault = json!({"service": "nova", "operation": "GET /v2.1/flavors", "action": {"fail": {"status": 503}}, "times": 1});
    let r = server.control_http().post(format!("{}/_sim/faults", server.get("compute"))).json(&fault).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = http().get(format!("{}/v2.1/flavors", server.get("compute"))).header("X-Auth-Token", token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    r.headers()["x-openstack-request-id"].to_str().unwrap().to_owned()
}

fn line_with<'a>(log: &'a str, needle: &str) -> &'a str {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(needle)).collect();
    assert_eq!(lines.len(), 1, "lines with {needle}:\n{}\n--- stderr:\n{log}", lines.join("\n"));
    lines[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_logs_every_request_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(serve_with(&dir, &[], None));
    let control_token = server.control_token();
    let (token, issued) = admin_token(&server).await;
    let r = http()
        .get(format!("{}/auth/tokens", server.get("identity")))
        .header("X-Auth-Token", &token)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let validated = r.headers()["x-openstack-request-id"].to_str().unwrap().to_owned();
    let r = http()
        .get(format!("{}/v2/images?name=query-marker-5678", server.get("image")))
        .header("X-Auth-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let failed = injected_503(&server, &token).await;
    let log = stop(server);

    let line = line_with(&log, &issued);
    for part in [" INFO ", "service=keystone", "method=POST", "path=/v3/auth/tokens", "status=201", "duration_ms="] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(line_with(&log, &validated).contains("status=200"));
    let line = line_with(&log, &failed);
    for part in [" ERROR ", "service=nova", "path=/v2.1/flavors", "status=503", "cause=injected by /_sim/faults"] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(log.contains("path=/v2/images "), "{log}");
    assert!(!log.contains(&token), "a token on stderr");
    assert!(!log.contains("admin-password"), "a password on stderr");
    assert!(!log.contains(&control_token), "the control token on stderr");
    assert!(!log.contains("query-marker-5678"), "a query string on stderr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_level_error_keeps_the_failures_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(serve_with(&dir, &["--log-level", "error"], None));
    let (token, issued) = admin_token(&server).await;
    let failed = injected_503(&server, &token).await;
    let log = stop(server);
    assert!(!log.contains(&issued), "{log}");
    assert!(!log.contains(" INFO "), "{log}");
    assert!(line_with(&log, &failed).contains("status=503"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_overrides_log_level() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(serve_with(&dir, &["--log-level", "trace"], Some("error")));
    let (token, issued) = admin_token(&server).await;
    let failed = injected_503(&server, &token).await;
    let log = stop(server);
    assert!(log.contains("sigstack serve: logging as RUST_LOG=error says (it overrides --log-level)"), "{log}");
    assert!(!log.contains(&issued), "{log}");
    assert!(!log.contains(" TRACE ") && !log.contains(" INFO "), "{log}");
    assert!(line_with(&log, &failed).contains("status=503"));
}

/// Runs `command` to its end; fails (killing it) if it is still running after 30 s.
fn output_within_30s(mut command: Command) -> std::process::Output {
    let mut child = command.spawn().expect("sigstack runs");
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("still running after 30 s; stderr: {}", text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn bad_log_levels_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = output_within_30s(serve_with(&dir, &["--log-level", "loud"], None));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("invalid value 'loud' for '--log-level <LOG_LEVEL>'"), "{stderr}");
    assert!(stderr.contains("error, warn, info, debug, trace"), "{stderr}");
    let out = output_within_30s(serve_with(&dir, &[], Some("sigstack_cloud=loud")));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("invalid RUST_LOG 'sigstack_cloud=loud'"), "{stderr}");
    // Nothing was started: no clouds.yaml.
    assert!(!dir.path().join("clouds.yaml").exists());
}

#[test]
fn help_documents_the_levels_and_the_precedence() {
    let out = serve(&["--help"]).output().unwrap();
    let help = text(&out.stdout);
    assert!(help.contains("--log-level <LOG_LEVEL>"), "{help}");
    assert!(help.contains("RUST_LOG, when set and not empty, takes precedence"), "{help}");
    assert!(help.contains("[default: info]"), "{help}");
}
