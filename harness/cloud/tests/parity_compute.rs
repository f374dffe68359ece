//! Response parity with real Nova 34 and Cinder 29, as `tests/parity.rs` for Keystone,
//! Barbican and Glance. A fixed list of requests, run as a user of a project made for the run
//! (member and creator): server creates refused by the `trusted_image_certificates` schema
//! (before 2.63, and each 2.63 error), a boot whose signer the user's certificates validate,
//! its rebuild and snapshot (`createImage`, and the snapshot in Glance without the signature
//! properties), then a boot per fault: no trusted certificates with certificate validation
//! on, a signature that does not match, a signer not trusted (the 255-character cut), a
//! signing certificate or a trusted id that Barbican does not have, no signature properties,
//! hash method MD5; each server shown (owner, some also admin) once its build is over; then
//! volumes from a signed, an unsigned and a tampered image, and the user messages. Answers are
//! normalised as in `tests/parity.rs` and compared with `tests/parity/compute/`, recorded from
//! `ci/realstack start --with compute,volume`. The simulated cloud runs that stack's
//! deployment (one compute node `realstack`, certificate validation, no default trusted
//! certificates, Cinder verifying) and is compared on every `cargo test`.
//!
//! Recording (real services only; the references never come from the simulator):
//!
//! ```text
//! REALSTACK_TLS=1 ci/realstack start --with compute,volume
//! SIGSTACK_PARITY_RECORD=1 SIGSTACK_PARITY_CLOUDS_YAML=target/realstack/clouds.yaml \
//!     cargo test -p sigstack-cloud --test parity_compute
//! ci/realstack stop
//! ```
//!
//! See docs/fidelity.md.

#[path = "glance_support/mod.rs"]
mod glance_support;
mod parity_support;

use parity_support::{
    Answers, CLOUDS_ENV, RECORD_ENV, assert_no_differences, clouds_yaml_path, compute_reference_dir, differences, from_clouds_yaml,
    normalise, run_compute, simulated_realstack, write_references,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_nova_and_cinder_answer_like_the_real_ones() {
    let dir = compute_reference_dir();
    let recording = std::env::var(RECORD_ENV).is_ok_and(|v| v == "1");
    match std::env::var_os(CLOUDS_ENV) {
        Some(path) => {
            let path = clouds_yaml_path(&path);
            let real = from_clouds_yaml(&path.canonicalize().unwrap_or(path.clone())).await;
            let answers = run_compute(&real).await;
            if recording {
                write_references(&answers, &dir);
                eprintln!("parity_compute: recorded {} references from {} into {}", answers.len(), real.label, dir.display());
            } else {
                assert_no_differences(&real.label, &answers, &dir);
            }
        }
        None => assert!(!recording, "{RECORD_ENV}=1 needs {CLOUDS_ENV}=<clouds.yaml of the real services>"),
    }
    let simulated = simulated_realstack().await;
    let answers = run_compute(&simulated).await;
    assert_no_differences(&simulated.label, &answers, &dir);
}

// ---------------------------------------------------------------------------------------------
// What the compute answers add to the normalisation, and that it can still fail

fn json_headers() -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    map.insert("content-type", "application/json".parse().unwrap());
    map
}

#[test]
fn nova_host_ids_instance_names_reservations_and_tracebacks_are_redacted() {
    let traceback = "Traceback (most recent call last):\n  File \"/venv/nova/compute/manager.py\", line 2650, in _build_resources\n    \
                     yield resources\n\nDuring handling of the above exception, another exception occurred:\n\n\
                     Traceback (most recent call last):\n  File \"/venv/nova/compute/manager.py\", line 2419, in _do_build_and_run_instance\n\
                     nova.exception.BuildAbortException: Build of instance 0b7c5a8e-9f1d-4c2e-8a3b-5d6e7f809a1b aborted: no\n";
    let body = json!({"server": {
        "hostId": "1f0e3dad99908345f7439f8ffabdffc4c2c1e5e0c2f2c8f0f8b7c1d2",
        "OS-EXT-SRV-ATTR:instance_name": "instance-0000000a",
        "OS-EXT-SRV-ATTR:reservation_id": "r-x0k3q9zd",
        "OS-EXT-SRV-ATTR:host": "realstack",
        "fault": {"code": 500, "message": "Build of instance 0b7c5a8e-9f1d-4c2e-8a3b-5d6e7f809a1b aborted: no", "details": traceback},
    }});
    let got = normalise("req", 200, &json_headers(), body.to_string().as_bytes());
    assert_eq!(
        got["body"],
        json!({"server": {
            "hostId": "[host-id]",
            "OS-EXT-SRV-ATTR:instance_name": "instance-[n]",
            "OS-EXT-SRV-ATTR:reservation_id": "r-[id]",
            "OS-EXT-SRV-ATTR:host": "realstack",
            "fault": {"code": 500, "message": "Build of instance [uuid] aborted: no",
                      "details": "Traceback (most recent call last):\n[frames]\nnova.exception.BuildAbortException: Build of instance [uuid] aborted: no"}}})
    );
}

#[test]
fn a_different_exception_host_or_hostid_length_is_a_difference() {
    let dir = tempfile::tempdir().unwrap();
    let fault = |details: &str, host: &str, host_id: &str| {
        let body = json!({"server": {"hostId": host_id, "OS-EXT-SRV-ATTR:host": host,
                                     "fault": {"code": 500, "message": "m", "details": details}}});
        normalise("req", 200, &json_headers(), body.to_string().as_bytes())
    };
    let host_id = "1f0e3dad99908345f7439f8ffabdffc4c2c1e5e0c2f2c8f0f8b7c1d2";
    let reference: Answers = vec![(
        "show",
        fault("Traceback (most recent call last):\n  File \"x\"\nnova.exception.BuildAbortException: m\n", "realstack", host_id),
    )];
    write_references(&reference, dir.path());
    // Other frames, another host's digest: the same.
    let same: Answers = vec![(
        "show",
        fault(
            "Traceback (most recent call last):\n  (simulated)\nnova.exception.BuildAbortException: m",
            "realstack",
            "00112233445566778899aabbccddeeff00112233445566778899aabb",
        ),
    )];
    assert!(differences(&same, dir.path()).is_empty(), "{:?}", differences(&same, dir.path()));
    for changed in [
        fault("Traceback (most recent call last):\n  File \"x\"\nnova.exception.MaxRetriesExceeded: m\n", "realstack", host_id),
        fault("m", "realstack", host_id),
        fault("Traceback (most recent call last):\n  File \"x\"\nnova.exception.BuildAbortException: m\n", "compute-0", host_id),
        fault("Traceback (most recent call last):\n  File \"x\"\nnova.exception.BuildAbortException: m\n", "realstack", &host_id[..40]),
    ] {
        let diffs = differences(&vec![("show", changed.clone())], dir.path());
        assert_eq!(diffs.len(), 1, "{changed}");
        assert!(diffs[0].contains("- real reference, + this cloud"), "{}", diffs[0]);
    }
}
