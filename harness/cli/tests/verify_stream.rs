//! `sigstack verify` reads the image on a helper thread (a ring of buffers) while it hashes:
//! verdicts over images spanning many buffers, and read errors reported as usage errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pki(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki").join(rel).display().to_string()
}

fn sigstack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigstack")).args(args).output().expect("running sigstack")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end().to_owned()
}

fn verify(image: &Path, sig: &str, hash: &str) -> Output {
    let cert = pki("signing/rsa-3072.crt.pem");
    sigstack(&[
        "verify",
        "--image",
        image.to_str().unwrap(),
        "--signature",
        sig,
        "--hash-method",
        hash,
        "--key-type",
        "RSA-PSS",
        "--certificate",
        &cert,
    ])
}

#[test]
fn images_spanning_many_buffers_verify_and_tampering_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    // Not a multiple of any buffer size, and larger than the whole ring.
    let len = 3 * sigstack_verify::READ_AHEAD_CHUNK * sigstack_verify::READ_AHEAD_BUFFERS / 2 + 4321;
    let data: Vec<u8> = (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let img = dir.path().join("image.img");
    std::fs::write(&img, &data).unwrap();
    for hash in ["SHA-256", "SHA-512"] {
        let out = sigstack(&[
            "sign",
            "--image",
            img.to_str().unwrap(),
            "--key",
            &pki("signing/rsa-3072.key.pem"),
            "--hash-method",
            hash,
            "--key-type",
            "RSA-PSS",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let sig = text(&out.stdout);
        let out = verify(&img, &sig, hash);
        assert_eq!((out.status.code(), text(&out.stdout).as_str()), (Some(0), "verified"), "{hash}: {}", text(&out.stderr));
        for at in [0, len / 2, len - 1] {
            let mut tampered = data.clone();
            tampered[at] ^= 0x80;
            let bad = dir.path().join("tampered.img");
            std::fs::write(&bad, &tampered).unwrap();
            let out = verify(&bad, &sig, hash);
            assert_eq!((out.status.code(), text(&out.stdout).as_str()), (Some(1), "Signature verification failed"), "{hash} byte {at}");
        }
    }
}

#[test]
fn a_read_error_is_a_usage_error_not_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    // Opening a directory succeeds; reading it fails (EISDIR) on the reader thread.
    let out = verify(dir.path(), "c2lnbmF0dXJl", "SHA-256");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stdout).is_empty());
    let err = text(&out.stderr);
    assert!(err.starts_with("error: cannot read image ") && err.contains("directory"), "{err}");
}
