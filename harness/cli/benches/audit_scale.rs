//! `cargo bench -p sigstack-cli --bench audit_scale`: `sigstack audit --verify-data` at scale,
//! the built binary against `sigstack serve` (the built binary too), each in its own process
//! as an operator would run them.
//!
//! 1. 1,000 small signed images (64 KiB each): images/s with `--jobs 1` and `--jobs 4`.
//! 2. 8 signed images of 1 GiB: MiB/s with `--jobs 1` and `--jobs 4`, and the audit's peak RSS
//!    (`ru_maxrss` from `wait4`), which must not grow with the image size.
//!
//! Each set gets a fresh `sigstack serve` (so an audit sees that set only), filled through the
//! APIs: the images are uploaded, then their four signature properties (RSA-2048, RSA-PSS,
//! SHA-256, computed here over the same generated data) set by PATCH. Every audit must report
//! every image `verified` and exit 0.
//!
//! Environment: `SIGSTACK_BENCH_RUNS` (best of N, default 2), `SIGSTACK_BENCH_SMALL_IMAGES`
//! (default 1000), `SIGSTACK_BENCH_SMALL_KIB` (default 64), `SIGSTACK_BENCH_BIG_IMAGES`
//! (default 8), `SIGSTACK_BENCH_BIG_MIB` (default 1024), `SIGSTACK_BENCH_JOBS` (the parallel
//! run's --jobs, default 4). The clouds' data directories (in `target/bench/`) are deleted
//! afterwards.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::clouds::CloudsYaml;
use sigstack_client::image::{self, NewImage, PatchOp};
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_verify::{HashMethod, KeyType, SigningKey};
use tokio::io::{AsyncRead, ReadBuf};

const MIB: u64 = 1 << 20;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(default)
}

/// A running `sigstack serve`; stopped, and its data directory deleted, when dropped.
struct Serve {
    child: Child,
    data_dir: PathBuf,
    clouds_yaml: PathBuf,
}

impl Serve {
    fn start(data_dir: PathBuf) -> Serve {
        let _ = std::fs::remove_dir_all(&data_dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_sigstack"))
            .args(["serve", "--log-level", "error", "--data-dir"])
            .arg(&data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sigstack serve starts");
        let mut clouds_yaml = None;
        for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
            let line = line.expect("serve's stdout");
            if line == "ready" {
                break;
            }
            if let Some(path) = line.strip_prefix("clouds-yaml: ") {
                clouds_yaml = Some(PathBuf::from(path));
            }
        }
        let clouds_yaml = clouds_yaml.expect("serve printed its clouds.yaml before ready");
        Serve { child, data_dir, clouds_yaml }
    }

    async fn admin(&self) -> Session {
        let credentials = CloudsYaml::load(&self.clouds_yaml).and_then(|y| y.credentials("sigstack-admin")).expect("admin cloud");
        Session::authenticate(&credentials).await.expect("admin authenticates")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Deterministic, incompressible image data: `len` bytes for `seed`, generated block by block.
struct Generated {
    state: u64,
    left: u64,
    block: Vec<u8>,
    at: usize,
}

impl Generated {
    fn new(seed: u64, len: u64) -> Generated {
        Generated { state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, left: len, block: Vec::new(), at: 0 }
    }

    /// The next chunk (at most 1 MiB), empty at the end.
    fn next_chunk(&mut self) -> &[u8] {
        if self.at == self.block.len() {
            let n = self.left.min(MIB) as usize;
            self.left -= n as u64;
            self.block.resize(n, 0);
            for word in self.block.chunks_mut(8) {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                word.copy_from_slice(&self.state.to_le_bytes()[..word.len()]);
            }
            self.at = 0;
        }
        let chunk = &self.block[self.at..];
        self.at = self.block.len();
        chunk
    }

    fn digest(seed: u64, len: u64) -> Vec<u8> {
        let mut data = Generated::new(seed, len);
        let mut hasher = HashMethod::Sha256.hasher();
        loop {
            let chunk = data.next_chunk();
            if chunk.is_empty() {
                return hasher.finalize();
            }
            hasher.update(chunk);
        }
    }
}

impl AsyncRead for Generated {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.at == this.block.len() {
            this.next_chunk();
            this.at = 0;
        }
        let n = buf.remaining().min(this.block.len() - this.at);
        buf.put_slice(&this.block[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

/// Uploads `count` images of `len` bytes, `parallel` at a time, each signed (properties set
/// by PATCH after the upload).
async fn fill(serve: &Serve, count: u64, len: u64, parallel: u64) {
    let admin = serve.admin().await;
    let cert_pem = std::fs::read(repo().join("fixtures/pki/signing/rsa-2048.crt.pem")).expect("certificate");
    let key_pem = std::fs::read_to_string(repo().join("fixtures/pki/signing/rsa-2048.key.pem")).expect("key");
    let key = std::sync::Arc::new(SigningKey::from_pem(&key_pem).expect("key parses"));
    let secret = key_manager::create_secret(&admin, &NewSecret::certificate("bench", &cert_pem)).await.expect("certificate stored");
    let cert = key_manager::secret_uuid(&secret).to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for seed in 0..count {
        if tasks.len() as u64 >= parallel {
            tasks.join_next().await.expect("a task").expect("upload task");
        }
        let (admin, key, cert) = (admin.clone(), key.clone(), cert.clone());
        tasks.spawn(async move {
            let digest = tokio::task::spawn_blocking(move || Generated::digest(seed, len)).await.expect("hashed");
            let signature =
                key.sign_digest(KeyType::RsaPss, HashMethod::Sha256, &digest, &mut rand::rngs::SysRng).expect("signs the digest");
            let created = image::create_image(&admin, &NewImage::raw(&format!("bench-{seed}"))).await.expect("image created");
            image::upload(&admin, &created.id, Generated::new(seed, len), Some(len)).await.expect("uploaded");
            let properties = [
                ("img_signature", base64::engine::general_purpose::STANDARD.encode(signature)),
                ("img_signature_hash_method", "SHA-256".to_owned()),
                ("img_signature_key_type", "RSA-PSS".to_owned()),
                ("img_signature_certificate_uuid", cert),
            ];
            let ops: Vec<PatchOp> = properties.into_iter().map(|(k, v)| PatchOp::Add { path: format!("/{k}"), value: json!(v) }).collect();
            image::update_image(&admin, &created.id, &ops).await.expect("signature properties set");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("upload task");
    }
}

/// One `sigstack audit --verify-data --jobs N` run: wall time and peak RSS (KiB). Panics
/// unless it exits 0 with `images` images, all verified.
// The child is reaped by `wait4` (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn audit(serve: &Serve, jobs: u64, images: u64, out: &Path) -> (Duration, i64) {
    let stdout = std::fs::File::create(out).expect("report file");
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_sigstack"))
        .args(["audit", "--cloud", "sigstack-admin", "--verify-data", "--output", "json", "--jobs", &jobs.to_string()])
        .env("OS_CLIENT_CONFIG_FILE", &serve.clouds_yaml)
        .env_remove("OS_CLOUD")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("sigstack audit runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data, `wait4` fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    let status = std::process::ExitStatus::from_raw(status);
    assert!(status.success(), "audit --jobs {jobs} failed: {status}");
    let report: Value = serde_json::from_slice(&std::fs::read(out).expect("report")).expect("JSON report");
    assert_eq!(report["summary"]["images"], images, "{}", report["summary"]);
    assert_eq!(report["summary"]["by_state"]["verified"], images, "{}", report["summary"]);
    (elapsed, usage.ru_maxrss)
}

/// Best of `runs` alternating runs of `--jobs 1` and `--jobs parallel`.
fn compare(serve: &Serve, images: u64, parallel: u64, runs: u64, dir: &Path) -> [(u64, Duration, i64); 2] {
    let mut best = [(1, Duration::MAX, 0), (parallel, Duration::MAX, 0)];
    for _ in 0..runs {
        for entry in &mut best {
            let (time, rss) = audit(serve, entry.0, images, &dir.join("audit.json"));
            entry.1 = entry.1.min(time);
            entry.2 = entry.2.max(rss);
        }
    }
    best
}

fn report(title: &str, results: &[(u64, Duration, i64); 2], images: u64, bytes: u64) {
    println!("{title}");
    for (jobs, time, rss) in results {
        let secs = time.as_secs_f64();
        println!(
            "  --jobs {jobs}  {secs:>8.2} s  {:>8.1} images/s  {:>8.1} MiB/s  peak RSS {:>6.1} MiB",
            images as f64 / secs,
            bytes as f64 / MIB as f64 / secs,
            *rss as f64 / 1024.0
        );
    }
    let ratio = results[0].1.as_secs_f64() / results[1].1.as_secs_f64();
    println!("  throughput --jobs {} / --jobs 1: {ratio:.2}", results[1].0);
}

fn main() {
    let runs = setting("SIGSTACK_BENCH_RUNS", 2);
    let parallel = setting("SIGSTACK_BENCH_JOBS", 4);
    let (small_count, small_kib) = (setting("SIGSTACK_BENCH_SMALL_IMAGES", 1000), setting("SIGSTACK_BENCH_SMALL_KIB", 64));
    let (big_count, big_mib) = (setting("SIGSTACK_BENCH_BIG_IMAGES", 8), setting("SIGSTACK_BENCH_BIG_MIB", 1024));
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    let serve = Serve::start(dir.join("audit-scale-small"));
    let started = Instant::now();
    runtime.block_on(fill(&serve, small_count, small_kib * 1024, 8));
    eprintln!("{small_count} images of {small_kib} KiB uploaded and signed in {:.1} s", started.elapsed().as_secs_f64());
    let small = compare(&serve, small_count, parallel, runs, &dir);
    drop(serve);

    let serve = Serve::start(dir.join("audit-scale-big"));
    let started = Instant::now();
    runtime.block_on(fill(&serve, big_count, big_mib * MIB, 2));
    eprintln!("{big_count} images of {big_mib} MiB uploaded and signed in {:.1} s", started.elapsed().as_secs_f64());
    let big = compare(&serve, big_count, parallel, runs, &dir);
    drop(serve);

    println!("sigstack audit --verify-data against sigstack serve (best of {runs}; peak RSS: the largest)");
    report(&format!("{small_count} images of {small_kib} KiB"), &small, small_count, small_count * small_kib * 1024);
    report(&format!("{big_count} images of {big_mib} MiB"), &big, big_count, big_count * big_mib * MIB);
    println!("machine: {} cores, {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), cpu_model());
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|m| m.trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".into())
}
