//! Shared helpers for the integration tests: fixture paths and the OpenSSL CLI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use sigstack_binary_curves::{BinaryCurve, HashAlg, PublicKey, SigningKey};

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/binary-curves")
}

/// `<curve>.key.pem` (PKCS#8), `<curve>.pub.pem` (SPKI) or `<curve>.crt.pem` (self-signed,
/// ecdsa-with-SHA384): the committed fixture for sect409/sect571, otherwise made by the OpenSSL
/// CLI once per test process (the 163/233/283-bit curves have no committed fixtures).
pub fn fixture(curve: BinaryCurve, suffix: &str) -> PathBuf {
    let name = format!("{}.{suffix}", curve.openssl_name());
    let committed = fixture_dir().join(&name);
    if committed.exists() { committed } else { generated_dir(curve).join(name) }
}

fn generated_dir(curve: BinaryCurve) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static MADE: Mutex<Vec<BinaryCurve>> = Mutex::new(Vec::new());
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("tempdir")).path().to_path_buf();
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if !made.contains(&curve) {
        let key = dir.join(format!("{}.key.pem", curve.openssl_name()));
        let curve_opt = format!("ec_paramgen_curve:{}", curve.openssl_name());
        openssl_ok(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            &curve_opt,
            "-pkeyopt",
            "ec_param_enc:named_curve",
            "-out",
            path_str(&key),
        ]);
        let public = dir.join(format!("{}.pub.pem", curve.openssl_name()));
        openssl_ok(&["pkey", "-in", path_str(&key), "-pubout", "-out", path_str(&public)]);
        let cert = dir.join(format!("{}.crt.pem", curve.openssl_name()));
        let subject = format!("/O=sigstack test fixtures/CN=sigstack {} test CA", curve.openssl_name());
        openssl_ok(&[
            "req",
            "-new",
            "-x509",
            "-key",
            path_str(&key),
            "-sha384",
            "-days",
            "36500",
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:1",
            "-addext",
            "keyUsage=critical,digitalSignature,nonRepudiation,keyCertSign",
            "-out",
            path_str(&cert),
        ]);
        made.push(curve);
    }
    dir
}

pub fn read_fixture(curve: BinaryCurve, suffix: &str) -> String {
    let p = fixture(curve, suffix);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

pub fn signing_key(curve: BinaryCurve) -> SigningKey {
    SigningKey::from_pkcs8_pem(&read_fixture(curve, "key.pem")).expect("fixture private key parses")
}

pub fn public_key(curve: BinaryCurve) -> PublicKey {
    PublicKey::from_public_key_pem(&read_fixture(curve, "pub.pem")).expect("fixture public key parses")
}

/// Run the OpenSSL CLI; returns (success, stdout, stderr). Panics if it cannot be started,
/// because the differential tests are meaningless without it.
pub fn openssl(args: &[&str]) -> (bool, Vec<u8>, String) {
    let out =
        Command::new("openssl").args(args).output().expect("the openssl CLI (with binary-curve support) must be on PATH for these tests");
    (out.status.success(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

pub fn openssl_ok(args: &[&str]) -> Vec<u8> {
    let (ok, stdout, stderr) = openssl(args);
    assert!(ok, "openssl {args:?} failed: {stderr}");
    stdout
}

pub fn dgst_flag(hash: HashAlg) -> &'static str {
    match hash {
        HashAlg::Sha224 => "-sha224",
        HashAlg::Sha256 => "-sha256",
        HashAlg::Sha384 => "-sha384",
        HashAlg::Sha512 => "-sha512",
    }
}

pub fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let s = if s.len() % 2 == 1 { format!("0{s}") } else { s };
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
