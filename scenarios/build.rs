//! Embeds `../features/*.feature` and every fixture file they name (a quoted
//! `"fixtures/..."` string) into the library, so an installed `sigstack conformance` needs no
//! checkout. Writes `$OUT_DIR/embedded.rs` with `FEATURES` and `FIXTURES`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Fixtures a step reads that no feature names (none yet). A step that needs a file the
/// Gherkin does not mention must list it here, or `fixture()` fails the scenario.
const EXTRA_FIXTURES: &[&str] = &[];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("the crate lives in the workspace").to_path_buf();
    let features_dir = root.join("features");
    // A directory makes cargo rescan it, so a new feature file rebuilds the crate.
    println!("cargo:rerun-if-changed={}", features_dir.display());

    let mut features: Vec<PathBuf> = std::fs::read_dir(&features_dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", features_dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "feature"))
        .collect();
    features.sort();

    let mut fixtures: BTreeSet<String> = EXTRA_FIXTURES.iter().map(|s| (*s).to_owned()).collect();
    let mut out =
        String::from("/// `(file name, Gherkin text)` of every feature, sorted by name.\npub static FEATURES: &[(&str, &str)] = &[\n");
    for path in &features {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        fixtures.extend(named_fixtures(&text));
        let name = path.file_name().and_then(|n| n.to_str()).expect("UTF-8 feature file name");
        writeln!(out, "    ({name:?}, include_str!({:?})),", path.display().to_string()).unwrap();
    }
    out.push_str("];\n\n/// `(repository path, bytes)` of every fixture the features name.\npub static FIXTURES: &[(&str, &[u8])] = &[\n");
    for fixture in &fixtures {
        let path = root.join(fixture);
        assert!(path.is_file(), "a feature names the fixture {fixture}, which does not exist ({})", path.display());
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(out, "    ({fixture:?}, include_bytes!({:?})),", path.display().to_string()).unwrap();
    }
    out.push_str("];\n");

    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
}

/// Every `"fixtures/..."` string in a feature (steps and example tables), and every table cell
/// that is a `fixtures/...` path (an Outline's `Examples` fill a quoted `"<placeholder>"`).
/// Quotes pair up within a line, so an odd quote in a description cannot swallow the rest of
/// the file.
fn named_fixtures(text: &str) -> Vec<String> {
    let quoted = text.lines().flat_map(|line| line.split('"').skip(1).step_by(2));
    let cells = text.lines().filter(|line| line.trim_start().starts_with('|')).flat_map(|line| line.split('|').map(str::trim));
    quoted.chain(cells).filter(|s| s.starts_with("fixtures/")).map(str::to_owned).collect()
}
