//! `sigstack serve` as a child process, and `sigstack` commands run against the clouds.yaml it
//! writes, for the tests that use it (serve.rs, cloud_access.rs, conformance.rs, discover.rs).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `sigstack serve`; killed if a test fails while it runs.
pub struct Server {
    pub child: Child,
    /// The `key: value` lines printed before `ready` (openrc appears twice).
    pub info: BTreeMap<String, Vec<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn get(&self, key: &str) -> &str {
        self.info.get(key).and_then(|v| v.first()).unwrap_or_else(|| panic!("serve printed no '{key}:' line: {:?}", self.info))
    }

    /// The control token `serve` wrote (the `control-token:` file), as `/_sim/` takes it.
    pub fn control_token(&self) -> String {
        let path = self.get("control-token");
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}")).trim().to_owned()
    }

    /// A client for `/_sim/` on this server: sends the control token.
    pub fn control_http(&self) -> reqwest::Client {
        sigstack_client::tls::build_http_client_with_token(&Default::default(), &self.control_token()).expect("an HTTP client")
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < limit, "serve still running {limit:?} after the signal");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub fn serve(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
    command.arg("serve").args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// Starts `sigstack serve` and waits for `ready`.
pub fn start(args: &[&str]) -> Server {
    start_command(serve(args))
}

/// Starts `command` (a `sigstack serve`, with its own environment) and waits for `ready`.
pub fn start_command(mut command: Command) -> Server {
    let mut child = command.spawn().expect("sigstack runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let mut info: BTreeMap<String, Vec<String>> = BTreeMap::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line == "ready" => break,
            Ok(line) => {
                let (k, v) = line.split_once(": ").unwrap_or_else(|| panic!("unexpected output line {line:?}"));
                info.entry(k.to_owned()).or_default().push(v.to_owned());
            }
            Err(e) => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!("no 'ready' ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
    Server { child, info }
}

/// `sigstack ARGS` with this clouds.yaml and none of the caller's OpenStack environment.
pub fn sigstack(args: &[&str], clouds_yaml: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
    command.args(args).stdin(Stdio::null()).env("OS_CLIENT_CONFIG_FILE", clouds_yaml);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("OS_") && k != "OS_CLIENT_CONFIG_FILE") {
        command.env_remove(key);
    }
    command.output().expect("sigstack runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exit code and both streams, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!("exit {:?}\nstdout: {}\nstderr: {}", out.status.code(), text(&out.stdout), text(&out.stderr))
}
