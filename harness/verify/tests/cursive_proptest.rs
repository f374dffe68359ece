//! Property-based differential test against the real cursive 0.3.1 from PyPI: proptest generates
//! signature cases and certificate-chain cases, the engine and cursive (through
//! `ci/cursive_oracle.py`) both run them, and verdicts and messages must be identical.
//!
//! Cases are generated deterministically (ChaCha with a fixed seed) and sent to one oracle
//! process per key-type profile in a single JSON-lines batch; `current` (cryptography >= 47) and
//! `legacy` (cryptography < 47) run side by side. On a mismatch the failing case is shrunk with
//! proptest's value tree against the still-running oracle, and both the original and the
//! minimal case are printed.
//!
//! cursive never returns from a certificate cycle (`variants/cycle`): chain cases that trust both
//! cycle CAs get a one-second oracle timeout, and a timeout must match the engine's `ChainCycle`.
//!
//! Knobs (environment): `SIGSTACK_CURSIVE_PROPTEST_CASES` (default 256 per test) and
//! `SIGSTACK_CURSIVE_PROPTEST_SEED` (any string, hashed into the ChaCha seed) for longer or
//! different explorations; the defaults are what CI runs.

mod common;
mod cursive_proptest_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::*;
use cursive_proptest_support::*;
use rand::SeedableRng;
use serde_json::{Value, json};
use sigstack_verify::{Error, HashMethod, KeyTypeProfile, SignatureProperties, ValidationOptions, verify_certificate};

// ---------------------------------------------------------------------------------------------
// Signature cases.
// ---------------------------------------------------------------------------------------------

fn build_signature_case(fixtures: &[Fixture], case: &SigCase, dir: &Path, id: &str) -> Built {
    let fixture = &fixtures[case.fixture];
    let signer = &fixtures[case.signer.unwrap_or(case.fixture)];
    let mut data = image_data(case.data_len, case.data_seed);
    let hash_name = match &case.hash {
        Declared::Matching => unreachable!("the hash method is always named"),
        Declared::Valid(h) => h.name(),
        Declared::Named(n) => n,
    };
    let declared_hash = hash_name.parse::<HashMethod>().unwrap_or(HashMethod::Sha256);
    let sign_hash = case.signed_with.unwrap_or(declared_hash);
    // Deterministic (RSA-PSS salts included), so a printed case reproduces.
    let mut rng = rand::rngs::StdRng::seed_from_u64(case.data_seed);
    let raw = signer
        .key
        .sign_digest(signer.sign_as, sign_hash, &sign_hash.digest(&data), &mut rng)
        .unwrap_or_else(|e| panic!("signing with {}: {e}", signer.name));
    if let Some(i) = case.tamper
        && !data.is_empty()
    {
        let n = data.len();
        data[i % n] ^= 0x20;
    }
    let key_type = match &case.key_type {
        Declared::Matching => fixture.declares,
        Declared::Valid(k) => k.name(),
        Declared::Named(n) => n,
    };
    let signature = perturb(&raw, &case.signature);
    let secret = match &case.key_manager {
        KeyManager::Found => Secret::File(fixture.cert.clone()),
        KeyManager::NotFound => Secret::NotFound,
        KeyManager::Error => Secret::KeyManagerError,
        KeyManager::Format(f) => Secret::Format(f),
        KeyManager::PublicKeyPem => Secret::File(fixture.public.clone()),
        KeyManager::OtherCertificate(i) => Secret::File(fixtures[*i].cert.clone()),
    };
    let secrets: Secrets = vec![(case.uuid.clone(), secret)];

    let mut props: Vec<(&'static str, Option<String>)> = vec![
        (sigstack_verify::SIGNATURE, Some(signature)),
        (sigstack_verify::HASH_METHOD, Some(hash_name.to_owned())),
        (sigstack_verify::KEY_TYPE, Some(key_type.to_owned())),
        (sigstack_verify::CERTIFICATE_UUID, Some(case.uuid.clone())),
    ];
    if let Some((i, null)) = case.dropped {
        if null {
            props[i].1 = None;
        } else {
            props.remove(i);
        }
    }

    let data_path = dir.join(format!("image-{id}.bin"));
    std::fs::write(&data_path, &data).unwrap();
    let properties: serde_json::Map<String, Value> = props.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let request = json!({"id": id, "kind": "signature", "properties": properties,
        "certificates": secrets_json(&secrets), "data_path": data_path, "chunk_size": case.chunks.0});

    let should = sigstack_verify::should_create_verifier(props.iter().map(|(k, _)| *k));
    let engine = |profile: KeyTypeProfile| {
        let result = SignatureProperties::from_pairs(props.iter().map(|(k, v)| (*k, v.clone()))).prepare(profile).and_then(|prepared| {
            let cert = fetch_from(&secrets, &prepared.certificate_uuid)?;
            let mut verifier = prepared.verifier(&cert)?;
            data.chunks(case.chunks.1).for_each(|c| verifier.update(c));
            verifier.finish()
        });
        let mut v = verdict(&ours(result));
        v["should_create_verifier"] = json!(should);
        v
    };
    Built { request, ours: PROFILES.map(|(profile, _)| engine(profile)) }
}

fn signature_theirs(answer: &Value) -> Value {
    let mut v = verdict(answer);
    v["should_create_verifier"] = answer["should_create_verifier"].clone();
    v
}

#[test]
fn random_signatures_match_cursive() {
    let fixtures = signing_fixtures();
    assert_eq!(fixtures.len(), SIGNING_FIXTURES);
    differential("signatures", sig_case_strategy(), |c, d, id| build_signature_case(&fixtures, c, d, id), signature_theirs);
}

// ---------------------------------------------------------------------------------------------
// Certificate-chain cases.
// ---------------------------------------------------------------------------------------------

fn build_chain_case(pool: &[(&'static str, PathBuf)], case: &ChainCase, id: &str) -> Built {
    let uuid_secret = |m: &Member| -> (String, Secret) {
        match m {
            Member::Cert(name) => {
                let file = &pool.iter().find(|(p, _)| p == name).expect("pool member").1;
                ((*name).to_owned(), Secret::File(file.clone()))
            }
            Member::Unavailable(outage) => {
                let secret = match *outage {
                    "not-found" => Secret::NotFound,
                    "key-manager-error" => Secret::KeyManagerError,
                    "opaque" => Secret::Format("Opaque"),
                    _ => Secret::File(path("chain/root.pub.pem")),
                };
                (format!("{outage}-uuid"), secret)
            }
        }
    };
    let (leaf, leaf_secret) = uuid_secret(&case.leaf);
    let mut secrets: Secrets = vec![(leaf.clone(), leaf_secret)];
    let mut trusted = Vec::new();
    for m in &case.trusted {
        let (uuid, secret) = uuid_secret(m);
        if !secrets.iter().any(|(u, _)| *u == uuid) {
            secrets.push((uuid.clone(), secret));
        }
        trusted.push(uuid);
    }
    let mut request = json!({"id": id, "kind": "certificate", "certificate_uuid": leaf,
        "trusted_uuids": trusted, "certificates": secrets_json(&secrets), "now": rfc3339(case.now)});
    // cursive never returns from a certificate cycle; the oracle stops it after a timeout,
    // which the engine reports as ChainCycle. Only cases that trust both cycle CAs can loop.
    if ["cycle-a", "cycle-b"].iter().all(|c| trusted.iter().any(|t| t == c)) {
        request["timeout"] = json!(1.0);
    }
    let now = SystemTime::UNIX_EPOCH + Duration::new(case.now.0, case.now.1 * 1000);
    let engine = |profile: KeyTypeProfile| {
        let options = ValidationOptions { key_type_profile: profile, ..Default::default() };
        match verify_certificate(|u| fetch_from(&secrets, u), &leaf, &trusted, now, options) {
            Err(Error::ChainCycle(_)) => json!({"outcome": "timeout"}),
            result => verdict(&ours(result.map(|_| ()))),
        }
    };
    Built { request, ours: PROFILES.map(|(profile, _)| engine(profile)) }
}

fn chain_theirs(answer: &Value) -> Value {
    if answer["outcome"] == "timeout" { json!({"outcome": "timeout"}) } else { verdict(answer) }
}

#[test]
fn random_certificate_chains_match_cursive() {
    let pool = pool();
    for (family, leaves) in FAMILIES {
        for name in family.iter().chain(*leaves) {
            assert!(pool.iter().any(|(p, _)| p == name), "{name} is not in the pool");
        }
    }
    let names = pool.iter().map(|(p, _)| *p).collect();
    differential("chains", chain_case_strategy(names), |c, _, id| build_chain_case(&pool, c, id), chain_theirs);
}
