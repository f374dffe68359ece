//! Differential tests against the real cursive 0.3.1 from PyPI (cryptography 50, the `current`
//! profile): the same inputs must give the same verdict and the same message.
//!
//! The oracle runs in a virtualenv that `ci/cursive-venv.sh` creates on first use (PyPI must be
//! reachable then); `.ci/run` prepares it ahead of the tests.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout};
use std::time::SystemTime;

use common::*;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use sigstack_verify::{
    Certificate, Error, HashMethod, KeyType, KeyTypeProfile, SignatureProperties, ValidationOptions, unix_time, verify_certificate,
};

struct Oracle {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Oracle {
    fn start(profile: &str) -> Oracle {
        let (child, stdin, stdout) = spawn_cursive_oracle(profile);
        Oracle { _child: child, stdin, stdout }
    }

    fn ask(&mut self, case: &Value) -> Value {
        writeln!(self.stdin, "{case}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("oracle said {line:?}: {e}"));
        assert_ne!(answer["outcome"], "oracle_error", "bad case {case}: {answer}");
        answer
    }
}

/// What our engine says, in the oracle's terms.
fn ours(result: Result<(), Error>) -> Value {
    match result {
        Ok(()) => json!({"outcome": "verified"}),
        Err(Error::InvalidSignature) => json!({"outcome": "invalid_signature"}),
        Err(e) => json!({"outcome": "error", "exception": e.cursive_exception(), "message": e.to_string()}),
    }
}

/// The parts of an answer we compare. Escaped `ValueError`s carry cryptography's Rust parser
/// text, which is not ours to match; their class is.
fn verdict(answer: &Value) -> Value {
    let mut v = json!({"outcome": answer["outcome"]});
    if answer["outcome"] == "error" {
        v["exception"] = answer["exception"].clone();
        if answer["exception"] != "ValueError" {
            v["message"] = answer["message"].clone();
        }
    }
    v
}

/// A key-manager entry: a certificate file, a castellan error, or another secret format.
#[derive(Clone)]
enum Secret {
    File(PathBuf),
    Format(PathBuf, &'static str),
    NotFound,
    KeyManagerError,
}

impl Secret {
    fn json(&self) -> Value {
        match self {
            Secret::File(p) => json!({"path": p}),
            Secret::Format(p, f) => json!({"path": p, "format": f}),
            Secret::NotFound => json!({"error": "not_found"}),
            Secret::KeyManagerError => json!({"error": "key_manager_error"}),
        }
    }

    /// cursive's `get_certificate` as castellan's Barbican backend feeds it.
    fn fetch(&self, uuid: &str) -> Result<Certificate, Error> {
        match self {
            Secret::NotFound => Err(Error::CertificateNotFound(uuid.to_owned())),
            Secret::KeyManagerError => Err(Error::CertificateRetrieval(uuid.to_owned())),
            Secret::Format(_, f) => Err(Error::InvalidCertificateFormat((*f).to_owned())),
            Secret::File(p) => Certificate::from_pem_or_der(&std::fs::read(p).unwrap()),
        }
    }
}

struct SignatureCase {
    props: Vec<(&'static str, Option<String>)>,
    secrets: Vec<(String, Secret)>,
    data: Vec<u8>,
}

fn run_signature_case(oracle: &mut Oracle, dir: &Path, id: usize, case: &SignatureCase) {
    run_signature_case_as(KeyTypeProfile::Current, oracle, dir, id, case)
}

fn run_signature_case_as(profile: KeyTypeProfile, oracle: &mut Oracle, dir: &Path, id: usize, case: &SignatureCase) {
    let data_path = dir.join(format!("image-{id}.bin"));
    std::fs::write(&data_path, &case.data).unwrap();
    let props: serde_json::Map<String, Value> = case.props.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let certs: serde_json::Map<String, Value> = case.secrets.iter().map(|(u, s)| (u.clone(), s.json())).collect();
    let request = json!({"id": id.to_string(), "kind": "signature", "properties": props,
        "certificates": certs, "data_path": data_path, "chunk_size": 1000});
    let theirs = oracle.ask(&request);

    let engine = SignatureProperties::from_pairs(case.props.iter().map(|(k, v)| (*k, v.clone())));
    let result = engine.prepare(profile).and_then(|prepared| {
        let uuid = &prepared.certificate_uuid;
        let secret = case.secrets.iter().find(|(u, _)| u == uuid).map(|(_, s)| s.clone());
        let cert = secret.unwrap_or(Secret::NotFound).fetch(uuid)?;
        let mut verifier = prepared.verifier(&cert)?;
        case.data.chunks(1000).for_each(|c| verifier.update(c));
        verifier.finish()
    });
    assert_eq!(verdict(&ours(result)), verdict(&theirs), "case {request}");
    let keys: Vec<&str> = case.props.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        json!(sigstack_verify::should_create_verifier(keys)),
        theirs["should_create_verifier"],
        "should_create_verifier for {request}"
    );
}

fn full_props(sig: &str, hash: &str, key_type: &str, uuid: &str) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("img_signature", Some(sig.to_owned())),
        ("img_signature_hash_method", Some(hash.to_owned())),
        ("img_signature_key_type", Some(key_type.to_owned())),
        ("img_signature_certificate_uuid", Some(uuid.to_owned())),
    ]
}

#[test]
fn signature_verdicts_and_messages_match_cursive() {
    let mut oracle = Oracle::start("current");
    let registry = oracle.ask(&json!({"id": "r", "kind": "registry"}));
    assert_eq!(registry["key_types"], json!(KeyTypeProfile::Current.registered_names()));
    assert_eq!(registry["cursive"], "0.3.1");

    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let mut tampered = data.clone();
    tampered[100] ^= 4;
    let mut cases = Vec::new();
    let file = |rel: &str| Secret::File(path(rel));

    for (name, key_type) in SIGNING {
        let key = signing_key(name);
        let cert = file(&format!("signing/{name}.crt.pem"));
        for hash in HashMethod::ALL {
            let sig = b64(&sign(&key, *key_type, hash, &data));
            let secrets = vec![("u".to_owned(), cert.clone())];
            cases.push(SignatureCase {
                props: full_props(&sig, hash.name(), key_type.name(), "u"),
                secrets: secrets.clone(),
                data: data.clone(),
            });
            cases.push(SignatureCase { props: full_props(&sig, hash.name(), key_type.name(), "u"), secrets, data: tampered.clone() });
        }
    }
    // One good RSA signature to perturb.
    let sig = b64(&sign(&signing_key("rsa-2048"), KeyType::RsaPss, HashMethod::Sha256, &data));
    let rsa = vec![("u".to_owned(), file("signing/rsa-2048.crt.pem"))];
    // (signature, hash method, key type, key manager contents)
    type Perturbed = (String, String, String, Vec<(String, Secret)>);
    let perturbed: Vec<Perturbed> = vec![
        ("fake_signature".into(), "SHA-256".into(), "RSA-PSS".into(), rsa.clone()),
        ("".into(), "SHA-256".into(), "RSA-PSS".into(), rsa.clone()),
        ("".into(), "SHA-256".into(), "DSA".into(), rsa.clone()),
        (sig.clone(), "sha256".into(), "RSA-PSS".into(), rsa.clone()),
        (sig.clone(), "SHA-1".into(), "RSA-PSS".into(), rsa.clone()),
        (sig.clone(), "SHA-256".into(), "rsa-pss".into(), rsa.clone()),
        (sig.clone(), "SHA-256".into(), "ECC_SECT571K1".into(), rsa.clone()),
        (sig.clone(), "SHA-256".into(), "ECC_SECP256R1".into(), rsa.clone()),
        (sig.clone(), "SHA-256".into(), "DSA".into(), rsa.clone()),
        (sig.clone(), "SHA-256".into(), "ECC_SECP384R1".into(), rsa.clone()),
        (sig.clone(), "SHA-384".into(), "RSA-PSS".into(), rsa.clone()),
        (sig.clone(), "SHA-256".into(), "RSA-PSS".into(), vec![("u".into(), Secret::NotFound)]),
        (sig.clone(), "SHA-256".into(), "RSA-PSS".into(), vec![("u".into(), Secret::KeyManagerError)]),
        (sig.clone(), "SHA-256".into(), "RSA-PSS".into(), vec![("u".into(), Secret::Format(path("signing/rsa-2048.crt.pem"), "Opaque"))]),
        (sig.clone(), "SHA-256".into(), "RSA-PSS".into(), vec![("u".into(), Secret::File(path("signing/rsa-2048.pub.pem")))]),
        (sig.clone(), "SHA-256".into(), "RSA-PSS".into(), vec![("u".into(), file("signing/rsa-3072.crt.pem"))]),
        (sig.clone(), "SHA-256".into(), "RSA-PSS".into(), vec![("u".into(), file("variants/expired-signing.crt.pem"))]),
        (format!("{sig}===="), "SHA-256".into(), "RSA-PSS".into(), rsa.clone()),
        (format!("!{}", &sig[..sig.len() - 1]), "SHA-256".into(), "RSA-PSS".into(), rsa.clone()),
    ];
    for (s, h, k, secrets) in perturbed {
        cases.push(SignatureCase { props: full_props(&s, &h, &k, "u"), secrets, data: data.clone() });
    }
    // P-256 under an ECC type (curve not bound) and ECC under the other curve's name.
    let p256 = b64(&sign(&signing_key("ec-p256"), KeyType::Ecc(sigstack_verify::EcCurve::Secp384r1), HashMethod::Sha512, &data));
    cases.push(SignatureCase {
        props: full_props(&p256, "SHA-512", "ECC_SECP521R1", "u"),
        secrets: vec![("u".into(), file("signing/ec-p256.crt.pem"))],
        data: data.clone(),
    });
    // Missing and null properties, in every combination.
    for mask in 0u8..16 {
        for null_instead in [false, true] {
            let mut props = full_props(&sig, "SHA-256", "RSA-PSS", "u");
            let mut i = 0;
            props.retain_mut(|p| {
                let drop = mask & (1 << i) != 0;
                i += 1;
                if drop && null_instead {
                    p.1 = None;
                }
                !drop || null_instead
            });
            cases.push(SignatureCase { props, secrets: rsa.clone(), data: data.clone() });
        }
    }
    // Random base64-ish signatures: decoding leniency must agree character for character.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5157_4ac4);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n _-.!";
    for _ in 0..150 {
        let len = rng.random_range(0..24);
        let s: String = (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect();
        cases.push(SignatureCase { props: full_props(&s, "SHA-256", "RSA-PSS", "u"), secrets: rsa.clone(), data: data.clone() });
    }

    for (id, case) in cases.iter().enumerate() {
        run_signature_case(&mut oracle, dir.path(), id, case);
    }
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let dt = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
    dt.format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[test]
fn certificate_validation_matches_cursive() {
    let mut oracle = Oracle::start("current");
    // The shared chain certificates, a few signing ones, and an id no secret has.
    let mut all: Vec<(&str, &str)> = CHAIN_CERTIFICATES.to_vec();
    all.extend([
        ("rsa", "signing/rsa-2048.crt.pem"),
        ("p384", "signing/ec-p384.crt.pem"),
        ("dsa", "signing/dsa-2048-256.crt.pem"),
        ("missing", "does-not-exist"),
    ]);
    let secret = |uuid: &str| -> Secret {
        match all.iter().find(|(u, _)| *u == uuid) {
            Some(("missing", _)) | None => Secret::NotFound,
            Some((_, rel)) => Secret::File(path(rel)),
        }
    };
    let names: Vec<&str> = all.iter().map(|(u, _)| *u).collect();
    let leaves = [
        "client",
        "b",
        "rsa",
        "p384",
        "dsa",
        "nopl-leaf",
        "sp-leaf",
        "ei-leaf",
        "orphan-leaf",
        "pss-leaf",
        "pss-direct",
        "no-bc-leaf",
        "no-ca-leaf",
        "st-leaf",
        "case-leaf",
        "expired-signing",
        "missing",
        "expired-ca",
    ];
    let times = [unix_time(1_795_435_200), unix_time(978_307_200 + 3600), unix_time(4_102_444_800)];

    let mut rng = rand::rngs::StdRng::seed_from_u64(0xce27);
    let mut cases: Vec<(String, Vec<String>, SystemTime)> = Vec::new();
    // The documented trust sets, then random subsets in random order.
    cases.push(("client".into(), vec!["root".into(), "a".into(), "b".into()], times[0]));
    cases.push(("client".into(), vec![], times[0]));
    cases.push(("client".into(), vec!["a".into(), "b".into()], times[0]));
    for _ in 0..250 {
        let leaf = leaves[rng.random_range(0..leaves.len())].to_owned();
        let n = rng.random_range(0..6);
        let trusted: Vec<String> = (0..n).map(|_| names[rng.random_range(0..names.len())].to_owned()).collect();
        let at = times[rng.random_range(0..times.len())];
        cases.push((leaf, trusted, at));
    }
    // Related certificates together, so chains actually form.
    for (leaf, set) in [
        ("sp-leaf", vec!["sp-root", "sp-inter"]),
        ("ei-leaf", vec!["ei-root", "ei-inter"]),
        ("nopl-leaf", vec!["nopl"]),
        ("st-leaf", vec!["st-root"]),
        ("case-leaf", vec!["case-root"]),
        ("pss-leaf", vec!["pss-root", "pss-inter"]),
        ("pss-direct", vec!["pss-root"]),
        ("no-bc-leaf", vec!["no-bc"]),
        ("no-ca-leaf", vec!["no-ca"]),
        ("orphan-leaf", vec!["orphan"]),
        ("client", vec!["b", "missing", "a", "root"]),
        ("client", vec!["expired-ca", "no-bc", "root", "a", "b"]),
    ] {
        for at in times {
            cases.push((leaf.into(), set.iter().map(|s| s.to_string()).collect(), at));
        }
    }

    for (id, (leaf, trusted, at)) in cases.iter().enumerate() {
        let certs: serde_json::Map<String, Value> =
            trusted.iter().chain(std::iter::once(leaf)).map(|u| (u.clone(), secret(u).json())).collect();
        let request = json!({"id": id.to_string(), "kind": "certificate", "certificate_uuid": leaf,
            "trusted_uuids": trusted, "certificates": certs, "now": rfc3339(*at)});
        let theirs = oracle.ask(&request);
        let result = verify_certificate(|u| secret(u).fetch(u), leaf, trusted, *at, ValidationOptions::default()).map(|_| ());
        assert_eq!(verdict(&ours(result)), verdict(&theirs), "case {request}");
    }
}

#[test]
fn certificate_cycles_hang_cursive_and_stop_us() {
    let mut oracle = Oracle::start("current");
    let certs = json!({
        "a": {"path": path("variants/cycle/a.crt.pem")},
        "b": {"path": path("variants/cycle/b.crt.pem")},
        "leaf": {"path": path("variants/cycle/leaf.crt.pem")},
    });
    let theirs = oracle.ask(&json!({"id": "cycle", "kind": "certificate", "certificate_uuid": "leaf",
        "trusted_uuids": ["a", "b"], "certificates": certs, "now": "2026-11-23T12:00:00Z", "timeout": 2}));
    assert_eq!(theirs["outcome"], "timeout");
    let fetch = |u: &str| Certificate::from_pem_or_der(&std::fs::read(path(&format!("variants/cycle/{u}.crt.pem"))).unwrap());
    let ours = verify_certificate(fetch, "leaf", &["a".into(), "b".into()], unix_time(1_795_435_200), ValidationOptions::default());
    assert!(matches!(ours, Err(Error::ChainCycle(_))));
}

#[test]
fn binary_curves_match_cursive_on_both_cryptography_generations() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 31 % 256) as u8).collect();
    let mut tampered = data.clone();
    tampered[7] ^= 1;
    let mut cases = Vec::new();
    for (curve, key_type) in BINARY {
        let key = binary_key(curve);
        let secrets = vec![("u".to_owned(), Secret::File(binary_path(curve, "crt")))];
        for hash in HashMethod::ALL {
            let sig = b64(&sign(&key, *key_type, hash, &data));
            for (kt, bytes) in [(key_type.name(), &data), (key_type.name(), &tampered), ("ECC_SECP384R1", &data), ("RSA-PSS", &data)] {
                cases.push(SignatureCase { props: full_props(&sig, hash.name(), kt, "u"), secrets: secrets.clone(), data: bytes.clone() });
            }
        }
    }
    for (profile, name) in [(KeyTypeProfile::Legacy, "legacy"), (KeyTypeProfile::Current, "current")] {
        let mut oracle = Oracle::start(name);
        let registry = oracle.ask(&json!({"id": "r", "kind": "registry"}));
        assert_eq!(registry["key_types"], json!(profile.registered_names()), "{name}");
        for (id, case) in cases.iter().enumerate() {
            run_signature_case_as(profile, &mut oracle, dir.path(), id, case);
        }
        // A self-signed binary-curve CA trusted for itself.
        for (curve, _) in BINARY {
            let certs = json!({"u": {"path": binary_path(curve, "crt")}});
            let request = json!({"id": curve, "kind": "certificate", "certificate_uuid": "u", "trusted_uuids": ["u"], "certificates": certs, "now": "2026-11-23T12:00:00Z"});
            let theirs = oracle.ask(&request);
            let options = ValidationOptions { key_type_profile: profile, ..Default::default() };
            let result =
                verify_certificate(|_| Ok(binary_cert(curve)), "u", &["u".to_owned()], unix_time(1_795_435_200), options).map(|_| ());
            assert_eq!(verdict(&ours(result)), verdict(&theirs), "{name} {request}");
        }
    }
}

/// `der` with the TLV `old` replaced by `new` wherever it occurs, every enclosing constructed
/// TLV re-encoded with its new length (primitive values, like the OCTET STRINGs around
/// extensions, are not entered). For certificates the real cursive must see, not sign.
fn replace_tlv(der: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    fn header(bytes: &[u8]) -> (usize, usize) {
        let first = bytes[1];
        if first < 0x80 {
            return (2, first as usize);
        }
        let n = (first & 0x7f) as usize;
        let len = bytes[2..2 + n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (2 + n, len)
    }
    fn encode_len(len: usize, out: &mut Vec<u8>) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
    }
    fn walk(tlv: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
        if tlv == old {
            return new.to_vec();
        }
        if tlv[0] & 0x20 == 0 {
            return tlv.to_vec();
        }
        let (head, len) = header(tlv);
        let mut content = Vec::new();
        let mut rest = &tlv[head..head + len];
        while !rest.is_empty() {
            let (h, l) = header(rest);
            content.extend(walk(&rest[..h + l], old, new));
            rest = &rest[h + l..];
        }
        let mut out = vec![tlv[0]];
        encode_len(content.len(), &mut out);
        out.extend(content);
        out
    }
    walk(der, old, new)
}

/// Every curve Python's cryptography loads, curves it does not, explicit and implicit
/// parameters, and RSA at and over OpenSSL's 16384-bit limit: the real cursive on both
/// cryptography generations gives the same verdicts and messages as the engine under the
/// matching profile. The image declares `ECC_SECP384R1` (or `RSA-PSS`) whatever the key's
/// curve; `DSA` shows what fails first, loading the key or the key-type check.
#[test]
fn every_curve_and_rsa_size_matches_cursive_on_both_cryptography_generations() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let data_path = dir.path().join("data.bin");
    std::fs::write(&data_path, &data).unwrap();
    let mut tampered = data.clone();
    tampered[99] ^= 4;
    let sign_with = |key: &Path, pss: bool| -> String {
        let sig_path = dir.path().join("sig.bin");
        let mut args = vec!["dgst", "-sha256", "-sign", key.to_str().unwrap()];
        if pss {
            args.extend(["-sigopt", "rsa_padding_mode:pss"]);
        }
        args.extend(["-out", sig_path.to_str().unwrap(), data_path.to_str().unwrap()]);
        let out = std::process::Command::new("openssl").args(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        b64(&std::fs::read(&sig_path).unwrap())
    };

    // (certificate, key it signs with, is RSA)
    let mut certs: Vec<(PathBuf, PathBuf, bool)> = Vec::new();
    let named = [
        "prime192v1",
        "secp224r1",
        "prime256v1",
        "secp384r1",
        "secp521r1",
        "secp256k1",
        "brainpoolP256r1",
        "brainpoolP384r1",
        "brainpoolP512r1",
        "sect163k1",
        "sect163r2",
        "sect233k1",
        "sect233r1",
        "sect283k1",
        "sect283r1",
        // Curves OpenSSL has and cryptography does not load.
        "secp192k1",
        "brainpoolP256t1",
    ];
    for curve in named {
        let (key, _, crt) = openssl_ec_files(dir.path(), curve, "named");
        certs.push((crt, key, false));
    }
    for (curve, params) in [
        ("prime256v1", "explicit"),
        ("secp384r1", "explicit-no-seed"),
        ("secp521r1", "explicit"),
        ("secp256k1", "explicit"),
        ("sect233k1", "explicit"),
    ] {
        let (key, _, crt) = openssl_ec_files(dir.path(), curve, params);
        certs.push((crt, key, false));
    }
    // implicitCurve: the P-384 certificate with NULL in place of the curve OID.
    let (key, _, crt) = openssl_ec_files(dir.path(), "secp384r1", "implicit-base");
    let der = Certificate::from_pem_or_der(&std::fs::read(&crt).unwrap()).unwrap().der().to_vec();
    let secp384r1_oid = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
    let implicit = replace_tlv(&der, &secp384r1_oid, &[0x05, 0x00]);
    assert_ne!(implicit, der);
    let implicit_path = dir.path().join("implicit.der");
    std::fs::write(&implicit_path, &implicit).unwrap();
    certs.push((implicit_path, key, false));
    for bits in ["16384", "16392"] {
        certs.push((data_file(&format!("rsa-{bits}.crt.pem")), data_file(&format!("rsa-{bits}.key.pem")), true));
    }

    let mut cases = Vec::new();
    for (crt, key, rsa) in &certs {
        let sig = sign_with(key, *rsa);
        let secrets = vec![("u".to_owned(), Secret::File(crt.clone()))];
        let declared = if *rsa { "RSA-PSS" } else { "ECC_SECP384R1" };
        for (key_type, bytes) in [(declared, &data), (declared, &tampered), ("DSA", &data), ("ECC_SECT571K1", &data)] {
            cases.push(SignatureCase { props: full_props(&sig, "SHA-256", key_type, "u"), secrets: secrets.clone(), data: bytes.clone() });
        }
    }
    for (profile, name) in [(KeyTypeProfile::Legacy, "legacy"), (KeyTypeProfile::Current, "current")] {
        let mut oracle = Oracle::start(name);
        for (id, case) in cases.iter().enumerate() {
            run_signature_case_as(profile, &mut oracle, dir.path(), id, case);
        }
    }
}
