//! Response parity with the real services. A fixed list of requests (token issue, Keystone's
//! project and user admin API, Barbican secrets, payloads, ACLs, key orders and their
//! 403/404/415 errors, Glance image create/show/patch, signed
//! and tampered uploads, download) is sent to a cloud; each answer is reduced to what clients
//! depend on (status, the headers they read, the body's keys, JSON types and exact messages,
//! with ids, times, hosts and request ids redacted) and compared with the references in
//! `tests/parity/`, which were recorded from real Keystone 30, Barbican 23 and Glance 33
//! (`ci/realstack`). The simulated cloud is compared on every `cargo test`.
//!
//! Recording (real services only; the references never come from the simulator):
//!
//! ```text
//! ci/realstack start
//! SIGSTACK_PARITY_RECORD=1 SIGSTACK_PARITY_CLOUDS_YAML=target/realstack/clouds.yaml \
//!     cargo test -p sigstack-cloud --test parity
//! ci/realstack stop
//! ```
//!
//! With `SIGSTACK_PARITY_CLOUDS_YAML` and no `SIGSTACK_PARITY_RECORD`, that cloud is compared
//! with the references too (a re-run against the real stack shows the normalisation is stable).
//! See docs/fidelity.md.

#[path = "glance_support/mod.rs"]
mod glance_support;
mod parity_support;

use parity_support::{
    Answers, CLOUDS_ENV, RECORD_ENV, assert_no_differences, clouds_yaml_path, differences, from_clouds_yaml, normalise, reference_dir, run,
    simulated, write_references,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_services_answer_like_the_real_ones() {
    let dir = reference_dir();
    let recording = std::env::var(RECORD_ENV).is_ok_and(|v| v == "1");
    match std::env::var_os(CLOUDS_ENV) {
        Some(path) => {
            let path = clouds_yaml_path(&path);
            let real = from_clouds_yaml(&path.canonicalize().unwrap_or(path.clone())).await;
            let answers = run(&real).await;
            if recording {
                write_references(&answers, &dir);
                eprintln!("parity: recorded {} references from {} into {}", answers.len(), real.label, dir.display());
            } else {
                assert_no_differences(&real.label, &answers, &dir);
            }
        }
        None => assert!(!recording, "{RECORD_ENV}=1 needs {CLOUDS_ENV}=<clouds.yaml of the real services>"),
    }
    let simulated = simulated().await;
    let answers = run(&simulated).await;
    assert_no_differences(&simulated.label, &answers, &dir);
}

// ---------------------------------------------------------------------------------------------
// The comparison itself can fail

fn header_map(pairs: &[(&'static str, &str)]) -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in pairs {
        map.insert(*k, v.parse().unwrap());
    }
    map
}

#[test]
fn normalisation_redacts_what_varies_and_keeps_what_clients_read() {
    let headers = header_map(&[
        ("content-type", "application/json"),
        ("location", "http://127.0.0.1:9311/v1/secrets/0b7c5a8e-9f1d-4c2e-8a3b-5d6e7f809a1b"),
        ("x-openstack-request-id", "req-0b7c5a8e-9f1d-4c2e-8a3b-5d6e7f809a1b"),
        ("date", "Mon, 23 Nov 2026 14:14:07 GMT"),
    ]);
    let body = json!({
        "owner": "2f0c5e1b8a9d4c7e9f1a2b3c4d5e6f70",
        "created_at": "2026-11-23T14:14:07Z",
        "expires_at": "2026-11-23T15:14:07.000000Z",
        "checksum": "0123456789abcdef0123456789abcdef",
        "img_signature": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg/QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg==",
        "file": "/v2/images/0b7c5a8e-9f1d-4c2e-8a3b-5d6e7f809a1b/file",
        "roles": [{"name": "reader"}, {"name": "member"}],
        "message": "Signature verification failed for image 0b7c5a8e-9f1d-4c2e-8a3b-5d6e7f809a1b",
        "size": 65536,
    });
    let got = normalise("req", 201, &headers, body.to_string().as_bytes());
    assert_eq!(
        got,
        json!({"request": "req", "status": 201,
            "headers": {"content-type": "application/json", "location": "http://[host]/v1/secrets/[uuid]",
                        "x-openstack-request-id": "[present]"},
            "body": {"owner": "[id]", "created_at": "0000-00-00T00:00:00Z",
                     "expires_at": "0000-00-00T00:00:00.000000Z",
                     "checksum": "0123456789abcdef0123456789abcdef", "img_signature": "[base64]",
                     "file": "/v2/images/[uuid]/file",
                     "roles": [{"name": "member"}, {"name": "reader"}],
                     "message": "Signature verification failed for image [uuid]", "size": 65536}})
    );
    let bytes = normalise("req", 200, &header_map(&[("content-type", "application/octet-stream")]), b"\x00\x01binary");
    assert_eq!(bytes["body"], json!({"bytes": 8}));
    let html = normalise("req", 400, &header_map(&[("content-type", "text/html")]), b"<h1>400 Bad Request</h1>");
    assert_eq!(html["body"], json!({"text": "<h1>400 Bad Request</h1>"}));
}

#[test]
fn a_changed_message_type_or_status_is_a_difference() {
    let dir = tempfile::tempdir().unwrap();
    let headers = header_map(&[("content-type", "application/json")]);
    let reference: Answers =
        vec![("case", normalise("req", 404, &headers, br#"{"code": 404, "title": "Not Found", "description": "Secret not found."}"#))];
    write_references(&reference, dir.path());
    assert!(differences(&reference, dir.path()).is_empty());
    for (status, body) in [
        (404, &br#"{"code": 404, "title": "Not Found", "description": "Not found."}"#[..]),
        (404, br#"{"code": "404", "title": "Not Found", "description": "Secret not found."}"#),
        (404, br#"{"code": 404, "title": "Not Found"}"#),
        (400, br#"{"code": 404, "title": "Not Found", "description": "Secret not found."}"#),
    ] {
        let answers: Answers = vec![("case", normalise("req", status, &headers, body))];
        let diffs = differences(&answers, dir.path());
        assert_eq!(diffs.len(), 1, "{}", String::from_utf8_lossy(body));
        assert!(diffs[0].contains("- real reference, + this cloud"), "{}", diffs[0]);
    }
    let missing: Answers = vec![("other", reference[0].1.clone())];
    let diffs = differences(&missing, dir.path());
    assert!(diffs.iter().any(|d| d.starts_with("other: no reference")), "{diffs:?}");
    assert!(diffs.iter().any(|d| d.contains("case.json: a reference no request produces")), "{diffs:?}");
}
