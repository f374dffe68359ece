//! The recorded references in `tests/parity/`: where they live, writing them, comparing with them.

use std::path::{Path, PathBuf};

use super::{Answers, COMPUTE_REFERENCE_DIR, REFERENCE_DIR};
use crate::glance_support::repo_path;

fn canonical(rel: &str) -> PathBuf {
    let dir = repo_path(rel);
    dir.canonicalize().unwrap_or(dir)
}

/// `tests/parity/`: Keystone, Barbican and Glance.
pub fn reference_dir() -> PathBuf {
    canonical(REFERENCE_DIR)
}

/// `tests/parity/compute/`: Nova and Cinder.
pub fn compute_reference_dir() -> PathBuf {
    canonical(COMPUTE_REFERENCE_DIR)
}

pub fn write_references(answers: &Answers, dir: &Path) {
    std::fs::create_dir_all(dir).expect("reference dir");
    for entry in std::fs::read_dir(dir).expect("reference dir").flatten() {
        if entry.path().extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(entry.path()).expect("remove an old reference");
        }
    }
    for (name, answer) in answers {
        let text = serde_json::to_string_pretty(answer).unwrap() + "\n";
        std::fs::write(dir.join(format!("{name}.json")), text).expect("write a reference");
    }
}

/// Every difference between `answers` and the references in `dir`, as readable diffs.
pub fn differences(answers: &Answers, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut expected_files: Vec<String> = Vec::new();
    for (name, answer) in answers {
        let file = format!("{name}.json");
        expected_files.push(file.clone());
        let actual = serde_json::to_string_pretty(answer).unwrap() + "\n";
        match std::fs::read_to_string(dir.join(&file)) {
            Err(e) => out.push(format!("{name}: no reference {file} ({e}); record it from the real services (docs/fidelity.md)")),
            Ok(reference) if reference == actual => {}
            Ok(reference) => {
                let diff = similar::TextDiff::from_lines(&reference, &actual);
                out.push(format!(
                    "{name}: differs from the real service (- real reference, + this cloud):\n{}",
                    diff.unified_diff().context_radius(3).header("real", "this cloud")
                ));
            }
        }
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.ends_with(".json") && !expected_files.contains(&file) {
            out.push(format!("{file}: a reference no request produces (stale; re-record)"));
        }
    }
    out
}

pub fn assert_no_differences(label: &str, answers: &Answers, dir: &Path) {
    let diffs = differences(answers, dir);
    assert!(
        diffs.is_empty(),
        "{label}: {} of {} answers differ from the real services' references in {}:\n\n{}",
        diffs.len(),
        answers.len(),
        dir.display(),
        diffs.join("\n")
    );
}
