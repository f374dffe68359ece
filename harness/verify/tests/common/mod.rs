//! Shared helpers for the engine's integration tests: the committed test PKI under
//! `fixtures/pki` and small sign/verify wrappers.
#![allow(dead_code)]

use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use sigstack_verify::{Certificate, Error, HashMethod, KeyType, KeyTypeProfile, SignatureProperties, SigningKey};

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki")
}

pub fn path(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

pub fn cert(rel: &str) -> Certificate {
    let bytes = std::fs::read(path(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"));
    Certificate::from_pem_or_der(&bytes).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

pub fn key(rel: &str) -> SigningKey {
    let pem = std::fs::read_to_string(path(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"));
    SigningKey::from_pem(&pem).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// Every signing fixture with the key type an image signed by it declares.
pub const SIGNING: &[(&str, KeyType)] = &[
    ("rsa-1024-e3", KeyType::RsaPss),
    ("rsa-1024", KeyType::RsaPss),
    ("rsa-2048", KeyType::RsaPss),
    ("rsa-3072", KeyType::RsaPss),
    ("rsa-4096", KeyType::RsaPss),
    ("rsa-8192", KeyType::RsaPss),
    ("dsa-1024-160", KeyType::Dsa),
    ("dsa-2048-224", KeyType::Dsa),
    ("dsa-2048-256", KeyType::Dsa),
    ("dsa-3072-256", KeyType::Dsa),
    ("ec-p384", KeyType::Ecc(sigstack_verify::EcCurve::Secp384r1)),
    ("ec-p521", KeyType::Ecc(sigstack_verify::EcCurve::Secp521r1)),
];

/// The binary-curve fixtures (`fixtures/binary-curves/<curve>.*`), made with the OpenSSL CLI.
pub const BINARY: &[(&str, KeyType)] = &[
    ("sect409k1", KeyType::Ecc(sigstack_verify::EcCurve::Sect409k1)),
    ("sect409r1", KeyType::Ecc(sigstack_verify::EcCurve::Sect409r1)),
    ("sect571k1", KeyType::Ecc(sigstack_verify::EcCurve::Sect571k1)),
    ("sect571r1", KeyType::Ecc(sigstack_verify::EcCurve::Sect571r1)),
];

pub fn binary_path(curve: &str, ext: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/binary-curves/{curve}.{ext}.pem"))
}

pub fn binary_cert(curve: &str) -> Certificate {
    Certificate::from_pem_or_der(&std::fs::read(binary_path(curve, "crt")).unwrap()).unwrap()
}

pub fn binary_key(curve: &str) -> SigningKey {
    SigningKey::from_pem(&std::fs::read_to_string(binary_path(curve, "key")).unwrap()).unwrap()
}

pub fn signing_cert(name: &str) -> Certificate {
    cert(&format!("signing/{name}.crt.pem"))
}

pub fn signing_key(name: &str) -> SigningKey {
    key(&format!("signing/{name}.key.pem"))
}

/// Raw signature bytes over `data`.
pub fn sign(key: &SigningKey, key_type: KeyType, hash: HashMethod, data: &[u8]) -> Vec<u8> {
    key.sign_digest(key_type, hash, &hash.digest(data), &mut rand::rngs::SysRng).expect("signing")
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The full cursive flow for an image: properties, certificate, streamed data in `chunk`-sized
/// pieces.
pub fn verify_image(cert: &Certificate, key_type: &str, hash: &str, signature_b64: &str, data: &[u8], chunk: usize) -> Result<(), Error> {
    verify_image_as(KeyTypeProfile::Legacy, cert, key_type, hash, signature_b64, data, chunk)
}

/// As [`verify_image`], for a cloud with the given key-type profile.
pub fn verify_image_as(
    profile: KeyTypeProfile,
    cert: &Certificate,
    key_type: &str,
    hash: &str,
    signature_b64: &str,
    data: &[u8],
    chunk: usize,
) -> Result<(), Error> {
    let props = SignatureProperties {
        signature: Some(signature_b64.to_owned()),
        hash_method: Some(hash.to_owned()),
        key_type: Some(key_type.to_owned()),
        certificate_uuid: Some("cert-uuid".to_owned()),
    };
    let prepared = props.prepare(profile)?;
    let mut verifier = prepared.verifier(cert)?;
    for piece in data.chunks(chunk.max(1)) {
        verifier.update(piece);
    }
    verifier.finish()
}

/// Starts the real cursive's oracle (`ci/cursive_oracle.py`, JSON lines on stdin/stdout) in the
/// profile's virtualenv, which `ci/cursive-venv.sh` builds on first use.
pub fn spawn_cursive_oracle(profile: &str) -> (Child, ChildStdin, BufReader<ChildStdout>) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(repo.join("ci/cursive-venv.sh"))
        .arg(profile)
        .stderr(Stdio::inherit())
        .output()
        .expect("running ci/cursive-venv.sh");
    assert!(out.status.success(), "ci/cursive-venv.sh {profile} failed: is PyPI reachable?");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let python = stdout.lines().last().expect("venv python path").trim().to_owned();
    let mut child = Command::new(python)
        .arg(repo.join("ci/cursive_oracle.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the cursive oracle");
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdin, stdout)
}

/// The certificates the chain-validation differentials draw on, `(uuid, file under
/// fixtures/pki)`: the Nova document's chain and a variant for every validation rule (see
/// fixtures/pki/README.md). The certificate cycle is left out: cursive never returns on it.
pub const CHAIN_CERTIFICATES: &[(&str, &str)] = &[
    ("root", "chain/root.crt.pem"),
    ("a", "chain/intermediate-a.crt.pem"),
    ("b", "chain/intermediate-b.crt.pem"),
    ("client", "chain/client.crt.pem"),
    ("expired-ca", "variants/expired-ca.crt.pem"),
    ("expired-ca-leaf", "variants/leaf-of-expired-ca.crt.pem"),
    ("future-ca", "variants/not-yet-valid-ca.crt.pem"),
    ("future-ca-leaf", "variants/leaf-of-not-yet-valid-ca.crt.pem"),
    ("no-ca", "variants/no-ca.crt.pem"),
    ("no-ca-leaf", "variants/leaf-of-no-ca.crt.pem"),
    ("no-bc", "variants/no-basic-constraints.crt.pem"),
    ("no-bc-leaf", "variants/leaf-of-no-basic-constraints.crt.pem"),
    ("no-ku", "variants/no-key-usage.crt.pem"),
    ("no-ku-leaf", "variants/leaf-of-no-key-usage.crt.pem"),
    ("no-kcs", "variants/no-keycertsign.crt.pem"),
    ("no-kcs-leaf", "variants/leaf-of-no-keycertsign.crt.pem"),
    ("nopl", "variants/root-no-pathlen.crt.pem"),
    ("nopl-leaf", "variants/leaf-of-root-no-pathlen.crt.pem"),
    ("sp-root", "variants/short-pathlen/root.crt.pem"),
    ("sp-inter", "variants/short-pathlen/intermediate.crt.pem"),
    ("sp-leaf", "variants/short-pathlen/leaf.crt.pem"),
    ("ei-root", "variants/expired-intermediate/root.crt.pem"),
    ("ei-inter", "variants/expired-intermediate/intermediate.crt.pem"),
    ("ei-leaf", "variants/expired-intermediate/leaf.crt.pem"),
    ("orphan", "variants/orphan/intermediate.crt.pem"),
    ("orphan-leaf", "variants/orphan/leaf.crt.pem"),
    ("pss-root", "variants/pss-issuer/root.crt.pem"),
    ("pss-inter", "variants/pss-issuer/intermediate.crt.pem"),
    ("pss-leaf", "variants/pss-issuer/leaf.crt.pem"),
    ("pss-direct", "variants/pss-issuer/pss-leaf.crt.pem"),
    ("st-root", "variants/string-types/root.crt.pem"),
    ("st-leaf", "variants/string-types/leaf.crt.pem"),
    ("case-root", "variants/case/root.crt.pem"),
    ("case-leaf", "variants/case/leaf.crt.pem"),
    ("expired-signing", "variants/expired-signing.crt.pem"),
];

fn run_openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().expect("the openssl command line must be installed (apt-get install openssl)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// An EC key and a self-signed certificate (ecdsa-with-SHA256) made by the OpenSSL CLI in `dir`:
/// `(<stem>.key.pem, <stem>.pub.pem, <stem>.crt.pem)`. `params` is `named`, `explicit` or
/// `explicit-no-seed` (how the curve is written in the key and the certificate).
pub fn openssl_ec_files(dir: &std::path::Path, curve: &str, params: &str) -> (PathBuf, PathBuf, PathBuf) {
    let stem = format!("{curve}-{params}");
    let key = dir.join(format!("{stem}.key.pem"));
    let key_s = key.to_str().unwrap();
    match params {
        "named" | "explicit" => {
            let enc = format!("ec_param_enc:{}", if params == "named" { "named_curve" } else { "explicit" });
            let curve_opt = format!("ec_paramgen_curve:{curve}");
            run_openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", &curve_opt, "-pkeyopt", &enc, "-out", key_s]);
        }
        "explicit-no-seed" => {
            run_openssl(&["ecparam", "-name", curve, "-param_enc", "explicit", "-no_seed", "-genkey", "-noout", "-out", key_s])
        }
        // A named-curve key under another file name, for tests that rewrite its certificate.
        "implicit-base" => {
            let curve_opt = format!("ec_paramgen_curve:{curve}");
            run_openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", &curve_opt, "-out", key_s]);
        }
        other => panic!("unknown parameter encoding {other}"),
    }
    let public = dir.join(format!("{stem}.pub.pem"));
    run_openssl(&["pkey", "-in", key_s, "-pubout", "-out", public.to_str().unwrap()]);
    let crt = dir.join(format!("{stem}.crt.pem"));
    let subject = format!("/CN=sigstack {stem}");
    run_openssl(&["req", "-new", "-x509", "-key", key_s, "-sha256", "-days", "3650", "-subj", &subject, "-out", crt.to_str().unwrap()]);
    (key, public, crt)
}

/// The committed keys under `tests/data` (see its README).
pub fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}
