//! The differential harness: generate, batch, compare, shrink.

use std::fmt::Debug;
use std::path::Path;
use std::time::{Duration, Instant};

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

use super::PROFILES;
use super::oracle::Oracle;

/// One materialised case: the oracle request and the engine's normalised answer per profile
/// (in `PROFILES` order).
pub struct Built {
    pub request: Value,
    pub ours: [Value; 2],
}

struct Mismatch<C> {
    index: usize,
    profile: &'static str,
    case: C,
    request: Value,
    ours: Value,
    theirs: Value,
}

impl<C: Debug> std::fmt::Display for Mismatch<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "case #{} [{}]\n  generated: {:?}\n  request:   {}\n  engine:    {}\n  cursive:   {}",
            self.index, self.profile, self.case, self.request, self.ours, self.theirs
        )
    }
}

fn seed(test: &str) -> [u8; 32] {
    use sha2::Digest as _;
    let extra = std::env::var("SIGSTACK_CURSIVE_PROPTEST_SEED").unwrap_or_default();
    sha2::Sha256::digest(format!("sigstack/cursive-proptest/{test}/{extra}")).into()
}

fn case_count() -> u32 {
    std::env::var("SIGSTACK_CURSIVE_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256)
}

/// Runs `cases` generated cases through the engine and through cursive under both profiles.
/// `build` materialises a case (files under `dir`, request with the given id, engine answers);
/// `theirs` normalises an oracle answer into the engine's terms.
pub fn differential<C, B>(test: &str, strategy: BoxedStrategy<C>, build: B, theirs: fn(&Value) -> Value)
where
    C: Clone + Debug,
    B: Fn(&C, &Path, &str) -> Built,
{
    let started = Instant::now();
    let config = Config {
        cases: case_count(),
        rng_algorithm: RngAlgorithm::ChaCha,
        failure_persistence: None,
        max_shrink_iters: 400,
        max_shrink_time: 60_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config.clone(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed(test)));

    // Python imports while we generate and sign.
    let mut oracles: Vec<Oracle> = PROFILES.iter().map(|(_, name)| Oracle::start(name)).collect();

    let dir = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    let mut built = Vec::new();
    for i in 0..config.cases as usize {
        let tree = strategy.new_tree(&mut runner).expect("generating a case");
        built.push(build(&tree.current(), dir.path(), &i.to_string()));
        trees.push(tree);
    }
    let generated = started.elapsed();

    let mut requests: Vec<Value> = vec![json!({"id": "registry", "kind": "registry"})];
    requests.extend(built.iter().map(|b| b.request.clone()));
    let answers: Vec<Vec<Value>> = std::thread::scope(|s| {
        let handles: Vec<_> = oracles.iter_mut().map(|o| s.spawn(|| o.batch(&requests))).collect();
        handles.into_iter().map(|h| h.join().expect("oracle thread")).collect()
    });

    let verbose = std::env::var_os("SIGSTACK_CURSIVE_PROPTEST_VERBOSE").is_some();
    let mut mismatches = Vec::new();
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for (p, (profile, name)) in PROFILES.iter().enumerate() {
        let registry = &answers[p][0];
        assert_eq!(registry["cursive"], "0.3.1", "{name}");
        assert_eq!(registry["key_types"], json!(profile.registered_names()), "{name} registry");
        for (i, answer) in answers[p][1..].iter().enumerate() {
            let theirs = theirs(answer);
            let label = match (theirs["outcome"].as_str(), theirs["exception"].as_str()) {
                (Some(o), Some(e)) if verbose => {
                    let m: String = theirs["message"].as_str().unwrap_or("").chars().take(90).collect();
                    format!("{name} {o} {e} {m}")
                }
                (Some(o), Some(e)) => format!("{name} {o} {e}"),
                (o, _) => format!("{name} {}", o.unwrap_or("?")),
            };
            *tally.entry(label).or_default() += 1;
            if built[i].ours[p] != theirs {
                mismatches.push(Mismatch {
                    index: i,
                    profile: name,
                    case: trees[i].current(),
                    request: built[i].request.clone(),
                    ours: built[i].ours[p].clone(),
                    theirs,
                });
            }
        }
    }
    let tally: Vec<String> = tally.into_iter().map(|(k, n)| format!("{n:5}  {k}")).collect();
    eprintln!(
        "{test}: {} cases x {} profiles in {:.1?} (generation and engine {:.1?}); cursive said:\n{}",
        config.cases,
        PROFILES.len(),
        started.elapsed(),
        generated,
        tally.join("\n")
    );
    if mismatches.is_empty() {
        return;
    }

    // Shrink the first mismatch with proptest's value tree, asking the live oracle each time.
    let first = &mismatches[0];
    let p = PROFILES.iter().position(|(_, n)| *n == first.profile).unwrap();
    let mut tree = trees.swap_remove(first.index);
    let mut minimal: Option<Mismatch<C>> = None;
    let mut iterations = 0;
    let shrink_started = Instant::now();
    let mut check = |case: C, iteration: usize| -> bool {
        let b = build(&case, dir.path(), &format!("shrink-{iteration}"));
        let theirs = theirs(&oracles[p].ask(&b.request));
        let failed = b.ours[p] != theirs;
        if failed {
            minimal =
                Some(Mismatch { index: first.index, profile: first.profile, case, request: b.request, ours: b.ours[p].clone(), theirs });
        }
        failed
    };
    if tree.simplify() {
        while iterations < config.max_shrink_iters && shrink_started.elapsed() < Duration::from_millis(config.max_shrink_time.into()) {
            iterations += 1;
            if check(tree.current(), iterations as usize) {
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
    }
    let listed: Vec<String> = mismatches.iter().take(8).map(|m| m.to_string()).collect();
    panic!(
        "{test}: engine and cursive disagree on {} of {} case runs (cases regenerate with \
         SIGSTACK_CURSIVE_PROPTEST_SEED={:?} SIGSTACK_CURSIVE_PROPTEST_CASES={}).\n\n{}\n\n\
         minimal case after {iterations} shrink steps:\n{}",
        mismatches.len(),
        config.cases as usize * PROFILES.len(),
        std::env::var("SIGSTACK_CURSIVE_PROPTEST_SEED").unwrap_or_default(),
        config.cases,
        listed.join("\n\n"),
        minimal.as_ref().map_or_else(|| first.to_string(), |m| m.to_string())
    );
}
