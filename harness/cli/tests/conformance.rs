//! `sigstack conformance` as a process: the four reports and what they say, the exit codes
//! (0 passed, 1 failed or a certified run skipping `@required`, 2 usage errors), and a real
//! cloud from clouds.yaml (`sigstack serve`) with and without a capability file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
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

    let mut expected: Vec<(String, String)> =
        [MEMBER_REFUSED, SIMULATED, BINARY_CURVE].iter().map(|id| ((*id).to_owned(), "passed".to_owned())).collect();
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
    assert!(md_row(&md, BINARY_CURVE).contains("| required (declared: optional:key_type_profile=current) | passed |"));

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
    std::fs::write(&capabilities, "capabilities:\n  simulated_control: false\n  key_type_profile: legacy\n  admin_credentials: false\n")
        .unwrap();
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
    assert!(
        md_row(&md, SIMULATED).contains("| skipped | needs the simulated cloud's /_sim/ control API (capability simulated_control)"),
        "{}",
        md_row(&md, SIMULATED)
    );
    assert!(
        md_row(&md, NEEDS_ADMIN).contains("| skipped | needs admin credentials (capability admin_credentials) |"),
        "{}",
        md_row(&md, NEEDS_ADMIN)
    );
    assert!(
        md_row(&md, BINARY_CURVE).contains("| skipped | needs capability key_type_profile = current (the target has legacy)"),
        "{}",
        md_row(&md, BINARY_CURVE)
    );
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
    assert!(
        stdout.contains("FAIL: 4 scenarios (1 passed, 0 failed, 3 skipped); 1 @required skipped (not allowed in a certified run)"),
        "{stdout}"
    );
    assert!(stdout.contains(NEEDS_ADMIN), "{stdout}");
    assert!(read(&reports, "report.md").contains("Certified run | yes"));
    // What the verdict does not vouch for is named: in its line, the reports and junit.xml.
    assert!(stdout.contains("; not covered: "), "{stdout}");
    assert!(read(&reports, "report.md").contains("| Not covered | "), "{}", read(&reports, "report.md"));
    let junit = read(&reports, "junit.xml");
    assert!(junit.contains("<property name=\"not-covered\" value=\""), "{junit}");
    assert!(junit.contains("<property name=\"declared-capabilities\""), "{junit}");
}

#[test]
fn an_unknown_cloud_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        "clouds:\n  one:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n      username: u\n      password: p\n      project_name: p\n",
    )
    .unwrap();
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
    assert!(text(&out.stderr).contains(&format!("cannot read {}", clouds.display())), "{}", text(&out.stderr));
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
    for (content, says) in [
        ("capabilites:\n  compute: true\n", "capabilites"),
        ("capabilities:\n  compute: [true]\n", "compute"),
        ("users: [admin]\n", "users"),
    ] {
        std::fs::write(&bad, content).unwrap();
        let out = conformance(&["--capabilities", bad.to_str().unwrap(), "--report-dir", reports.to_str().unwrap()], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 2, "{content:?}: {stderr}");
        assert!(stderr.contains(&format!("invalid capability file {}", bad.display())) && stderr.contains(says), "{content:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

mod serve_support;

/// A running `sigstack serve` (killed when the test ends), its printed paths as paths.
struct Server(serve_support::Server);

impl Server {
    fn start(data_dir: &Path) -> Server {
        Server(serve_support::start(&["--data-dir", data_dir.to_str().unwrap()]))
    }

    fn get(&self, key: &str) -> PathBuf {
        PathBuf::from(self.0.get(key))
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
    assert!(
        simulated.contains("| skipped |") && simulated.contains("simulated_control") && simulated.contains("admin credentials"),
        "{simulated}"
    );

    // serve's capability file: every user and the /_sim/ API, so everything runs.
    let reports = dir.path().join("full");
    let capabilities = server.get("capabilities");
    let args = [
        "--cloud",
        "sigstack-demo",
        "--capabilities",
        capabilities.to_str().unwrap(),
        "--tags",
        &tags,
        "--report-dir",
        reports.to_str().unwrap(),
        "--certified",
    ];
    let out = conformance(&args, &env);
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(json_results(&reports).iter().all(|(_, s)| s == "passed"), "{:?}", json_results(&reports));

    // A capability file that maps "demo" to the admin: the member-refusal scenario fails
    // (admin may store), and the run exits 1 with the failure in the report.
    let wrong = dir.path().join("wrong.yaml");
    std::fs::write(&wrong, "users:\n  demo: sigstack-admin\n").unwrap();
    let reports = dir.path().join("wrong");
    let tags = ids(&[MEMBER_REFUSED]);
    let out = conformance(
        &[
            "--cloud",
            "sigstack-demo",
            "--capabilities",
            wrong.to_str().unwrap(),
            "--tags",
            &tags,
            "--report-dir",
            reports.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(code(&out), 1, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("FAIL: 1 scenarios (0 passed, 1 failed, 0 skipped)"), "{}", text(&out.stdout));
    let row = md_row(&read(&reports, "report.md"), MEMBER_REFUSED).to_owned();
    assert!(row.contains("| failed | the request is answered 403") && row.contains("201"), "{row}");
    assert!(read(&reports, "junit.xml").contains("<failure"));
}

// ---- nothing left behind (issue 13, part 4) ----

/// The run id `sigstack conformance` printed on stdout.
fn printed_run_id(out: &Output) -> String {
    let stdout = text(&out.stdout);
    let id = stdout.lines().find_map(|l| l.strip_prefix("run id: ")).unwrap_or_else(|| panic!("no run id in {stdout}"));
    assert!(id.starts_with("sigstack-") && id.len() == 29, "{id}");
    id.to_owned()
}

/// Blocks on a future (the tests drive `sigstack` as a process and the cloud through the
/// client crate).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// What `/_sim/resources` still holds whose data names `needle` (a run id): every SQLite row
/// of every service, except Glance's soft-deleted images (rows with status `deleted`, as real
/// Glance keeps them) and Barbican secrets past their expiration (Barbican answers 404 for
/// those, to a DELETE too; `barbican-manage db clean` purges them).
fn live_rows(server: &Server, needle: &str) -> Vec<String> {
    let origin = server.get("key-manager").display().to_string();
    let http = server.0.control_http();
    let body: Value = block_on(async { http.get(format!("{origin}/_sim/resources")).send().await.unwrap().json().await.unwrap() });
    let now_us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64;
    let mut live = Vec::new();
    for (service, tables) in body["services"].as_object().expect("services") {
        for (table, rows) in tables["tables"].as_object().into_iter().flatten() {
            for row in rows.as_array().into_iter().flatten() {
                let text = row.to_string();
                if !text.contains(needle) {
                    continue;
                }
                let inner: Value = row["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
                if table == "glance_images" && inner["status"] == "deleted" {
                    continue;
                }
                if table == "barbican_secrets" && row["expiration"].as_i64().is_some_and(|e| e < now_us) {
                    continue;
                }
                live.push(format!("{service}/{table}: {}", &text[..text.len().min(300)]));
            }
        }
    }
    live
}

/// serve's capability file with more capabilities appended (the `capabilities:` block is its
/// last).
fn capabilities_with(server: &Server, dir: &Path, name: &str, extra: &str) -> PathBuf {
    let original = std::fs::read_to_string(server.get("capabilities")).unwrap();
    assert!(original.trim_end().lines().last().unwrap().starts_with("  "), "capabilities: is the last block of {original}");
    let path = dir.join(name);
    std::fs::write(&path, format!("{original}{extra}")).unwrap();
    path
}

#[test]
fn a_whole_run_over_http_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let clouds = server.get("clouds-yaml");
    let env = [("OS_CLIENT_CONFIG_FILE", clouds.as_path())];
    let key_manager = server.get("key-manager").display().to_string();

    // Shared projects (no per-scenario ones, as on a cloud without admin credentials for
    // the suite): every server, volume, image and secret lands in the target's projects.
    let shared = capabilities_with(&server, dir.path(), "shared.yaml", "  isolated_projects: false\n");
    let reports = dir.path().join("shared");
    let out = conformance(
        &["--cloud", "sigstack-demo", "--capabilities", shared.to_str().unwrap(), "--report-dir", reports.to_str().unwrap()],
        &env,
    );
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("PASS: "), "{}", text(&out.stdout));
    let run = printed_run_id(&out);
    assert!(!text(&out.stderr).contains("could not be deleted"), "{}", text(&out.stderr));
    // The suite did create things with the run's names (the simulator keeps deleted images).
    let all = block_on(async {
        server.0.control_http().get(format!("{key_manager}/_sim/resources")).send().await.unwrap().text().await.unwrap()
    });
    assert!(all.matches(&run).count() > 20, "the run's resources carry its id");
    assert_eq!(live_rows(&server, &run), Vec::<String>::new());

    // And `cleanup` finds nothing of it, as the demo user and as admin.
    for cloud in ["sigstack-demo", "sigstack-admin"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
        command.args(["conformance", "cleanup", "--cloud", cloud, "--run", &run, "--dry-run", "--capabilities", shared.to_str().unwrap()]);
        let out = command.env("OS_CLIENT_CONFIG_FILE", &clouds).env_remove("OS_CLOUD").output().unwrap();
        assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stdout).contains(&format!("no leftovers of {run} on cloud {cloud}")), "{}", text(&out.stdout));
    }
}

/// `sigstack conformance ARGS` started in the background (stdout and stderr captured).
fn spawn_conformance(args: &[&str], clouds: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sigstack"))
        .arg("conformance")
        .args(args)
        .env_remove("OS_CLOUD")
        .env("OS_CLIENT_CONFIG_FILE", clouds)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sigstack runs")
}

fn interrupt(child: &Child) {
    // SAFETY: kill(2) on the pid of a child this test spawned and has not waited for.
    let r = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
}

/// A whole run against `sigstack serve` (each scenario in its own projects: serve's capability
/// file has admin credentials), sent SIGINT `signals` times after a second.
struct InterruptedRun {
    _dir: tempfile::TempDir,
    server: Server,
    clouds: PathBuf,
    capabilities: PathBuf,
    reports: PathBuf,
    out: Output,
    /// How long the run went on after the first signal.
    ended_after: Duration,
}

fn interrupted_run(signals: usize) -> InterruptedRun {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let clouds = server.get("clouds-yaml");
    let capabilities = server.get("capabilities");
    let reports = dir.path().join("reports");
    let child = spawn_conformance(
        &["--cloud", "sigstack-demo", "--capabilities", capabilities.to_str().unwrap(), "--report-dir", reports.to_str().unwrap()],
        &clouds,
    );
    std::thread::sleep(Duration::from_secs(1));
    let started = std::time::Instant::now();
    for i in 0..signals {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
        interrupt(&child);
    }
    let out = child.wait_with_output().unwrap();
    InterruptedRun { _dir: dir, server, clouds, capabilities, reports, out, ended_after: started.elapsed() }
}

#[test]
fn the_first_ctrl_c_lets_every_scenario_clean_up_and_exits_130() {
    // Bound whole: the temporary directory and the server live until the test ends.
    let interrupted = interrupted_run(1);
    let (server, reports, out, ended_after) = (&interrupted.server, &interrupted.reports, &interrupted.out, interrupted.ended_after);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(code(out), 130, "stdout: {stdout}\nstderr: {stderr}");
    assert!(ended_after < Duration::from_secs(60), "the interrupted run ended in {ended_after:?}");
    assert!(stderr.contains("interrupted: no scenario starts any more"), "{stderr}");
    assert!(stdout.contains("interrupted: ") && stdout.contains("scenarios did not run or were stopped"), "{stdout}");
    let run = printed_run_id(out);
    // The reports were written, and say which scenarios the interruption stopped.
    let features: Value = serde_json::from_str(&read(reports, "cucumber.json")).expect("cucumber.json is JSON");
    let scenarios =
        features.as_array().unwrap().iter().flat_map(|f| f["elements"].as_array().unwrap()).filter(|e| e["type"] == "scenario").count();
    assert!(scenarios > 50, "every scenario is in the report, run or not: {scenarios}");
    assert!(read(reports, "cucumber.json").contains("the run was interrupted (SIGINT)"));
    assert!(read(reports, "report.md").contains("the run was interrupted (SIGINT)"));
    // Nothing of the run is left: servers, volumes, images, secrets, projects, users.
    assert_eq!(live_rows(server, &run), Vec::<String>::new(), "stderr: {stderr}");
}

#[test]
fn a_second_ctrl_c_exits_at_once_and_cleanup_deletes_what_was_left() {
    let interrupted = interrupted_run(2);
    let (server, clouds, capabilities, out) = (&interrupted.server, &interrupted.clouds, &interrupted.capabilities, &interrupted.out);
    let stderr = text(&out.stderr);
    assert_eq!(code(out), 130, "stderr: {stderr}");
    assert!(stderr.contains("aborted: what the run created may be left behind"), "{stderr}");
    let run = stderr
        .lines()
        .find_map(|l| l.strip_prefix("run id: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("run id on stderr")
        .to_owned();
    assert!(stderr.contains(&format!("sigstack conformance cleanup --cloud sigstack-demo --run {run}")), "{stderr}");

    // Whatever the abort left, `cleanup` as admin deletes (it enters the leftover projects).
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
    command.args(["conformance", "cleanup", "--cloud", "sigstack-admin", "--run", &run, "--capabilities", capabilities.to_str().unwrap()]);
    let out = command.env("OS_CLIENT_CONFIG_FILE", clouds).env_remove("OS_CLOUD").output().unwrap();
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains(" 0 failed"), "{}", text(&out.stdout));
    assert_eq!(live_rows(server, &run), Vec::<String>::new(), "cleanup said: {}", text(&out.stdout));
}

/// `sigstack conformance cleanup ARGS` against serve's clouds.yaml.
fn cleanup_cmd(args: &[&str], clouds: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
    command.args(["conformance", "cleanup"]).args(args).env("OS_CLIENT_CONFIG_FILE", clouds).env_remove("OS_CLOUD").stdin(Stdio::null());
    command.output().expect("sigstack runs")
}

/// What a killed run would leave: a per-scenario project and user (admin's), and in that
/// project, as that user, a secret, an image, a volume and a server; a volume type (admin's);
/// an image of another run and an image that is not the suite's. Returns the project's id.
async fn plant(clouds: &Path, run: &str, other_run: &str) -> String {
    use sigstack_client::clouds::CloudsYaml;
    use sigstack_client::{Session, compute, identity, image, key_manager, volume};
    let yaml = CloudsYaml::load(clouds).unwrap();
    let admin_credentials = yaml.credentials("sigstack-admin").unwrap();
    let admin = Session::authenticate(&admin_credentials).await.unwrap();
    let scenario = format!("{run}-scn-0123456789ab");
    let domain = identity::domain_id(&admin, "Default").await.unwrap();
    let project = identity::create_project(&admin, &format!("{scenario}-demo"), &domain, "planted").await.unwrap();
    let user = identity::create_user(&admin, &format!("{scenario}-demo"), "planted-password", &domain, &project.id).await.unwrap();
    for role in ["member", "creator"] {
        let role_id = identity::role_id(&admin, role).await.unwrap();
        identity::grant(&admin, &project.id, &user.id, &role_id).await.unwrap();
    }
    let demo = yaml.credentials("sigstack-demo").unwrap();
    let planted = demo.password_user(&format!("{scenario}-demo"), "planted-password", &format!("{scenario}-demo"));
    let s = Session::authenticate(&planted).await.unwrap();

    key_manager::create_secret(&s, &key_manager::NewSecret::certificate(&format!("{scenario}-signing"), b"-----BEGIN CERTIFICATE-----\n"))
        .await
        .unwrap();
    let img = image::create_image(&s, &image::NewImage::raw(&format!("{scenario}-image"))).await.unwrap();
    image::upload(&s, &img.id, &b"raw disk bytes"[..], None).await.unwrap();
    let new_volume = volume::NewVolume { size: 1, name: Some(format!("{scenario}-volume")), ..volume::NewVolume::default() };
    volume::create_volume(&s, &new_volume).await.unwrap();
    let server = compute::NewServer::from_image(&format!("{scenario}-vm"), &img.id);
    compute::create_server(&s, compute::TRUSTED_CERTS_MICROVERSION, &server).await.unwrap();
    volume::create_volume_type(&admin, &volume::NewVolumeType { name: format!("{scenario}-luks"), ..Default::default() }).await.unwrap();
    image::create_image(&admin, &image::NewImage::raw(&format!("{other_run}-scn-0123456789ab-image"))).await.unwrap();
    image::create_image(&admin, &image::NewImage::raw("cirros-not-the-suites")).await.unwrap();
    project.id
}

#[test]
fn cleanup_finds_and_deletes_what_a_killed_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let clouds = server.get("clouds-yaml");
    let capabilities = server.get("capabilities");
    let caps = capabilities.to_str().unwrap();
    let key_manager = server.get("key-manager").display().to_string();
    let (run, other) = ("sigstack-20250131-142501-9f3a", "sigstack-20250130-101010-0bad");
    block_on(plant(&clouds, run, other));
    let planted = live_rows(&server, run);
    assert!(planted.len() >= 7, "{planted:#?}");

    // A dry run lists and deletes nothing.
    let out = cleanup_cmd(&["--cloud", "sigstack-admin", "--run", run, "--dry-run", "--capabilities", caps], &clouds);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "stdout: {stdout}\nstderr: {}", text(&out.stderr));
    assert!(stdout.starts_with("KIND"), "{stdout}");
    for kind in ["server ", "volume type ", "image ", "user ", "project "] {
        assert!(stdout.lines().any(|l| l.starts_with(kind) && l.contains(run) && l.ends_with("found (dry run)")), "no {kind}in {stdout}");
    }
    assert!(!stdout.contains(other) && !stdout.contains("cirros-not-the-suites"), "{stdout}");
    assert!(stdout.contains("dry run, nothing deleted"), "{stdout}");
    assert!(text(&out.stderr).contains("note: 1 leftover projects"), "{}", text(&out.stderr));
    assert_eq!(live_rows(&server, run).len(), planted.len());

    // For real: everything of the run goes, in order, the secret and the volume found from
    // inside the leftover project.
    let out = cleanup_cmd(&["--cloud", "sigstack-admin", "--run", run, "--capabilities", caps], &clouds);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "stdout: {stdout}\nstderr: {}", text(&out.stderr));
    let kinds: Vec<&str> = stdout.lines().skip(1).filter(|l| l.contains(run)).map(|l| l.split("  ").next().unwrap()).collect();
    assert_eq!(kinds, ["server", "volume", "volume type", "image", "secret", "user", "project"], "{stdout}");
    assert!(stdout.lines().skip(1).filter(|l| l.contains(run)).all(|l| l.ends_with("deleted")), "{stdout}");
    assert!(stdout.contains("cleanup: 7 found, 7 deleted, 0 failed"), "{stdout}");
    assert_eq!(live_rows(&server, run), Vec::<String>::new());
    assert_eq!(live_rows(&server, other).len(), 1, "another run's image stays");
    assert_eq!(live_rows(&server, "cirros-not-the-suites").len(), 1, "what is not the suite's stays");

    // Every run's leftovers (the other run's image), with Glance refusing to delete: exit 1,
    // the failure in the table.
    let fault = serde_json::json!({"service": "glance", "operation": "DELETE /v2/images/{id}", "action": {"fail": {"status": 500, "body": "injected"}}});
    let r =
        block_on(async { server.0.control_http().post(format!("{key_manager}/_sim/faults")).json(&fault).send().await.unwrap().status() });
    assert_eq!(r.as_u16(), 201);
    let out = cleanup_cmd(&["--cloud", "sigstack-admin", "--capabilities", caps], &clouds);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 1, "stdout: {stdout}\nstderr: {}", text(&out.stderr));
    assert!(stdout.lines().any(|l| l.starts_with("image ") && l.contains(other) && l.contains("FAILED: ")), "{stdout}");
    assert!(stdout.contains("cleanup: 1 found, 0 deleted, 1 failed"), "{stdout}");
    block_on(async { server.0.control_http().delete(format!("{key_manager}/_sim/faults")).send().await.unwrap() });
    let out = cleanup_cmd(&["--cloud", "sigstack-admin", "--capabilities", caps], &clouds);
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("cleanup: 1 found, 1 deleted, 0 failed"), "{}", text(&out.stdout));

    // Usage errors: a malformed run id, an unknown cloud.
    let out = cleanup_cmd(&["--cloud", "sigstack-admin", "--run", "yesterday"], &clouds);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--run yesterday: a run id looks like sigstack-"), "{}", text(&out.stderr));
    let out = cleanup_cmd(&["--cloud", "nope"], &clouds);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
}

#[test]
fn a_bad_setting_is_a_usage_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let bad = dir.path().join("bad.yaml");
    for (content, says) in [
        ("settings:\n  build_timeout: soon\n", "setting 'build_timeout' must be a positive number of seconds"),
        ("settings:\n  network: [a]\n", "setting 'network' must be a number or a string"),
        ("settings:\n  flavour: m1.tiny\n", "unknown setting 'flavour'"),
        ("capabilities:\n  image_format: vhd\n", "capability 'image_format' must be raw or qcow2"),
    ] {
        std::fs::write(&bad, content).unwrap();
        let out = conformance(&["--capabilities", bad.to_str().unwrap(), "--report-dir", reports.to_str().unwrap()], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 2, "{content:?}: {stderr}");
        assert!(stderr.contains(&format!("invalid capability file {}", bad.display())) && stderr.contains(says), "{content:?}: {stderr}");
        assert!(!reports.exists(), "no report for a run that never started");
    }
}

/// Nova: "Before microversion 2.63 the field is refused", whose expected message quotes the
/// request's `flavorRef` and `networks`.
const QUOTES_REQUEST: &str = "c26ab89f-2f78-4c7d-882f-f74134e3d44d";

#[test]
fn the_flavor_and_network_settings_go_into_the_requests() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let tags = ids(&[QUOTES_REQUEST]);
    // The simulator's defaults: the scenario passes.
    let out = conformance(&["--tags", &tags, "--report-dir", reports.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));

    // A flavor by name and no network: Nova's answer quotes what was sent ({flavor} and
    // {networks} in the expected message), and the report shows the settings.
    let caps = dir.path().join("caps.yaml");
    std::fs::write(&caps, "settings:\n  flavor: m1.nano\n  network: none\n").unwrap();
    let out = conformance(&["--capabilities", caps.to_str().unwrap(), "--tags", &tags, "--report-dir", reports.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 0, "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(read(&reports, "report.md").contains("settings.flavor=m1.nano"), "the report shows the settings");
    assert!(read(&reports, "report.md").contains("settings.network=none"), "the report shows the settings");

    // A flavor the cloud does not have: the step says which it has.
    std::fs::write(&caps, "settings:\n  flavor: m9.huge\n").unwrap();
    let out = conformance(&["--capabilities", caps.to_str().unwrap(), "--tags", &tags, "--report-dir", reports.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 1);
    let row = md_row(&read(&reports, "report.md"), QUOTES_REQUEST).to_owned();
    assert!(row.contains("setting 'flavor': the cloud has no flavor named or with id 'm9.huge' (it has: m1.tiny (1), "), "{row}");
}
