//! `sigstack conformance` as a process: the four reports and what they say, the exit codes
//! (0 passed, 1 failed or a certified run skipping `@required`, 2 usage errors), and a real
//! cloud from clouds.yaml (`sigstack serve`) with and without a capability file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// Barbican: "A member without the creator role may not store a certificate" (demo only).
const MEMBER_REFUSED: &str = "9f2640e7-3e05-40b6-9e4c-1ac42e7327ae";
/// Barbican: the creator-role scenario (a role grant, so admin).
const CREATOR: &str = "587af579-d65c-4e8b-a072-e4014a91a172";
/// Glance: "Barbican failing to answer refuses the upload" (@simulated, @required).
const SIMULATED: &str = "84bd1331-66c2-493c-ad8b-5b46eafb8f5f";
/// "A user of another project may not read the certificate": @required, needs admin.
const NEEDS_ADMIN: &str = "7f00770e-5280-401e-afc0-5dd440061278";
/// Glance: the binary-curve example (@optional:key_type_profile=current).
const BINARY_CURVE: &str = "42d11329-d418-4529-886b-37ce38e3f60e";

/// `--tags` selecting scenarios by @id.
fn ids(ids: &[&str]) -> String {
    ids.iter().map(|id| format!("@id:{id}")).collect::<Vec<_>>().join(" or ")
}

/// `sigstack conformance ARGS` with no OpenStack environment leaking in from the caller.
fn conformance(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
    command.arg("conformance").args(args).env_remove("OS_CLOUD").env_remove("OS_CLIENT_CONFIG_FILE").stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("sigstack runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or_else(|| panic!("killed by a signal; stderr: {}", text(&out.stderr)))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// @id → status from cucumber.json (the Background element shares its scenario's tags).
fn json_results(dir: &Path) -> Vec<(String, String)> {
    let features: Value = serde_json::from_str(&read(dir, "cucumber.json")).expect("cucumber.json is JSON");
    let mut out = Vec::new();
    for el in features.as_array().unwrap().iter().flat_map(|f| f["elements"].as_array().unwrap()) {
        if el["type"] != "scenario" {
            continue;
        }
        let id = el["tags"].as_array().unwrap().iter().find_map(|t| t["name"].as_str()?.trim_start_matches('@').strip_prefix("id:"));
        let status = el["steps"].as_array().unwrap().last().map(|s| s["result"]["status"].as_str().unwrap().to_owned());
        out.push((id.unwrap().to_owned(), status.unwrap()));
    }
    out.sort();
    out
}

/// The report.md row of a scenario (in the results, not the tag filter that names it).
fn md_row<'a>(md: &'a str, id: &str) -> &'a str {
    md.lines().skip_while(|l| *l != "## Results").find(|l| l.contains(id)).unwrap_or_else(|| panic!("no row for {id} in report.md:\n{md}"))
}

#[test]
fn the_four_reports_say_what_ran_and_against_what() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let tags = ids(&[MEMBER_REFUSED, SIMULATED, BINARY_CURVE]);
    let out = conformance(&["--tags", &tags, "--report-dir", reports.to_str().unwrap(), "--certified"], &[]);
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("PASS: 3 scenarios (3 passed, 0 failed, 0 skipped)"), "{}", text(&out.stdout));
    // Progress went to stderr while it ran (cucumber's writer and its summary).
    assert!(text(&out.stderr).contains("3 scenarios (3 passed)"), "{}", text(&out.stderr));

    let mut expected: Vec<(String, String)> = [MEMBER_REFUSED, SIMULATED, BINARY_CURVE].iter().map(|id| ((*id).to_owned(), "passed".to_owned())).collect();
    expected.sort();
    assert_eq!(json_results(&reports), expected);

    let junit = read(&reports, "junit.xml");
    assert!(junit.starts_with("<?xml") && junit.contains("A member without the creator role may not store a certificate"), "{junit}");
    assert_eq!(junit.matches("<testcase ").count(), 3, "{junit}");
    assert!(!junit.contains("<failure") && !junit.contains("<skipped"), "{junit}");

    let md = read(&reports, "report.md");
    let version = format!("sigstack-scenarios {}", env!("CARGO_PKG_VERSION"));
    for needle in [
        version.as_str(),
        "embedded simulated cloud (deployment upstream-defaults)",
        "key-manager: http://127.0.0.1:",
        "key_type_profile=current",
        "simulated_control=true",
        "Wall time",
        tags.as_str(),
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}:\n{md}");
    }
    assert!(md_row(&md, MEMBER_REFUSED).contains("| Barbican stores the certificates that sign images |"));
    assert!(md_row(&md, MEMBER_REFUSED).contains("| required | passed |"), "{}", md_row(&md, MEMBER_REFUSED));
    // A scenario that needs /_sim/ is never required of a real cloud.
    assert!(md_row(&md, SIMULATED).contains("| optional:simulated_control | passed |"), "{}", md_row(&md, SIMULATED));
    assert!(md_row(&md, BINARY_CURVE).contains("| optional:key_type_profile=current | passed |"));

    let html = read(&reports, "report.html");
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    assert_eq!(html.matches("<tr class=\"passed\">").count(), 3, "{html}");
    assert!(html.contains(SIMULATED) && html.contains("embedded simulated cloud"));
}

#[test]
fn a_certified_run_fails_when_a_required_scenario_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let capabilities = dir.path().join("capabilities.yaml");
    // The vendor's cloud has no /_sim/ API, the legacy key-type profile, and gave no admin.
    std::fs::write(&capabilities, "capabilities:\n  simulated_control: false\n  key_type_profile: legacy\n  admin_credentials: false\n").unwrap();
    let tags = ids(&[MEMBER_REFUSED, SIMULATED, BINARY_CURVE, NEEDS_ADMIN]);
    let run = |report: &str, certified: bool| {
        let reports = dir.path().join(report);
        let mut args = vec!["--capabilities", capabilities.to_str().unwrap(), "--tags", &tags, "--report-dir", reports.to_str().unwrap()];
        if certified {
            args.push("--certified");
        }
        (conformance(&args, &[]), reports)
    };

    // Not certified: skips are results, with reasons, and the run passes.
    let (out, reports) = run("plain", false);
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    let md = read(&reports, "report.md");
    assert!(md_row(&md, SIMULATED).contains("| skipped | needs the simulated cloud's /_sim/ control API (capability simulated_control)"), "{}", md_row(&md, SIMULATED));
    assert!(md_row(&md, NEEDS_ADMIN).contains("| skipped | needs admin credentials (capability admin_credentials) |"), "{}", md_row(&md, NEEDS_ADMIN));
    assert!(md_row(&md, BINARY_CURVE).contains("| skipped | needs capability key_type_profile = current (the target has legacy)"), "{}", md_row(&md, BINARY_CURVE));
    assert!(md_row(&md, MEMBER_REFUSED).contains("| passed |"));
    assert!(md.contains("1 passed, 0 failed, 3 skipped"), "{md}");
    let results = json_results(&reports);
    assert_eq!(results.iter().filter(|(_, s)| s == "skipped").count(), 3, "{results:?}");
    assert!(read(&reports, "junit.xml").contains("<skipped"), "skips are not passes in JUnit either");
    assert_eq!(read(&reports, "report.html").matches("<tr class=\"skipped\">").count(), 3);

    // Certified: the skipped @required scenario fails the run; the optional ones do not count.
    let (out, reports) = run("certified", true);
    assert_eq!(code(&out), 1, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAIL: 4 scenarios (1 passed, 0 failed, 3 skipped); 1 @required skipped (not allowed in a certified run)"), "{stdout}");
    assert!(stdout.contains(NEEDS_ADMIN), "{stdout}");
    assert!(read(&reports, "report.md").contains("Certified run | yes"));
}

#[test]
fn an_unknown_cloud_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(&clouds, "clouds:\n  one:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n      username: u\n      password: p\n      project_name: p\n").unwrap();
    let reports = dir.path().join("reports");
    let out = conformance(&["--cloud", "nope", "--report-dir", reports.to_str().unwrap()], &[("OS_CLIENT_CONFIG_FILE", &clouds)]);
    assert_eq!(code(&out), 2, "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("no cloud 'nope' in {} (it has: one)", clouds.display())), "{stderr}");
    assert!(!reports.exists(), "no report for a run that never started");

    // OS_CLOUD names the cloud when --cloud is absent.
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
    command.args(["conformance", "--report-dir", reports.to_str().unwrap()]).env("OS_CLOUD", "other").env("OS_CLIENT_CONFIG_FILE", &clouds);
    let out = command.output().unwrap();
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("no cloud 'other'"), "{}", text(&out.stderr));

    // An unparsable clouds.yaml and a bad tag expression are usage errors too.
    std::fs::write(&clouds, "clouds: [").unwrap();
    let out = conformance(&["--cloud", "one", "--report-dir", reports.to_str().unwrap()], &[("OS_CLIENT_CONFIG_FILE", &clouds)]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains(&format!("cannot read clouds.yaml {}", clouds.display())), "{}", text(&out.stderr));
    let out = conformance(&["--tags", "@a and and", "--report-dir", reports.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("invalid tag expression '@a and and'"), "{}", text(&out.stderr));
    let out = conformance(&["--tags", "@no-such-tag", "--report-dir", reports.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("invalid tag expression '@no-such-tag': it selects no scenario"), "{}", text(&out.stderr));
    assert!(!reports.exists(), "no report for a run that never started");
}

#[test]
fn a_bad_capability_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let missing = dir.path().join("missing.yaml");
    let out = conformance(&["--capabilities", missing.to_str().unwrap(), "--report-dir", reports.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains(&format!("cannot read capability file {}", missing.display())), "{}", text(&out.stderr));

    let bad = dir.path().join("bad.yaml");
    for (content, says) in [("capabilites:\n  compute: true\n", "capabilites"), ("capabilities:\n  compute: [true]\n", "compute"), ("users: [admin]\n", "users")] {
        std::fs::write(&bad, content).unwrap();
        let out = conformance(&["--capabilities", bad.to_str().unwrap(), "--report-dir", reports.to_str().unwrap()], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 2, "{content:?}: {stderr}");
        assert!(stderr.contains(&format!("invalid capability file {}", bad.display())) && stderr.contains(says), "{content:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A running `sigstack serve`; killed when the test ends.
struct Server {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sigstack"))
            .args(["serve", "--data-dir", data_dir.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sigstack serve runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, lines: Vec::new() };
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line == "ready" => return server,
                Ok(line) => server.lines.push(line),
                Err(e) => panic!("serve never said ready ({e}): {:?}", server.lines),
            }
        }
    }

    fn get(&self, key: &str) -> PathBuf {
        let prefix = format!("{key}: ");
        self.lines.iter().find_map(|l| l.strip_prefix(&prefix)).map(PathBuf::from).unwrap_or_else(|| panic!("no {key} in {:?}", self.lines))
    }
}

#[test]
fn a_real_cloud_from_clouds_yaml_with_and_without_a_capability_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let clouds = server.get("clouds-yaml");
    let env = [("OS_CLIENT_CONFIG_FILE", clouds.as_path())];
    let tags = ids(&[MEMBER_REFUSED, CREATOR, SIMULATED]);

    // Only the demo cloud, nothing declared: admin and /_sim/ scenarios are skipped with reasons.
    let reports = dir.path().join("bare");
    let out = conformance(&["--cloud", "sigstack-demo", "--tags", &tags, "--report-dir", reports.to_str().unwrap()], &env);
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    let md = read(&reports, "report.md");
    assert!(md.contains(&format!("cloud sigstack-demo ({})", clouds.display())), "{md}");
    assert!(md.contains("| Capabilities | none declared (all false) |") && md.contains("| Users | demo |"), "{md}");
    assert!(md_row(&md, MEMBER_REFUSED).contains("| passed |"));
    assert!(md_row(&md, CREATOR).contains("| skipped | needs admin credentials (capability admin_credentials) |"));
    let simulated = md_row(&md, SIMULATED);
    assert!(simulated.contains("| skipped |") && simulated.contains("simulated_control") && simulated.contains("admin credentials"), "{simulated}");

    // serve's capability file: every user and the /_sim/ API, so everything runs.
    let reports = dir.path().join("full");
    let capabilities = server.get("capabilities");
    let args = ["--cloud", "sigstack-demo", "--capabilities", capabilities.to_str().unwrap(), "--tags", &tags, "--report-dir", reports.to_str().unwrap(), "--certified"];
    let out = conformance(&args, &env);
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(json_results(&reports).iter().all(|(_, s)| s == "passed"), "{:?}", json_results(&reports));

    // A capability file that maps "demo" to the admin: the member-refusal scenario fails
    // (admin may store), and the run exits 1 with the failure in the report.
    let wrong = dir.path().join("wrong.yaml");
    std::fs::write(&wrong, "users:\n  demo: sigstack-admin\n").unwrap();
    let reports = dir.path().join("wrong");
    let tags = ids(&[MEMBER_REFUSED]);
    let out = conformance(&["--cloud", "sigstack-demo", "--capabilities", wrong.to_str().unwrap(), "--tags", &tags, "--report-dir", reports.to_str().unwrap()], &env);
    assert_eq!(code(&out), 1, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("FAIL: 1 scenarios (0 passed, 1 failed, 0 skipped)"), "{}", text(&out.stdout));
    let row = md_row(&read(&reports, "report.md"), MEMBER_REFUSED).to_owned();
    assert!(row.contains("| failed | the request is answered 403") && row.contains("201"), "{row}");
    assert!(read(&reports, "junit.xml").contains("<failure"));
}
