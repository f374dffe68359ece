//! `cargo bench -p sigstack-cli --bench verify`: stream-verify speed and memory of the real
//! `sigstack verify` binary, against OpenSSL measured in the same run.
//!
//! 1. A 1 GiB image signed with RSA-3072 RSA-PSS SHA-256: best of N wall-clock runs of
//!    `sigstack verify` and of `openssl dgst -sha256 -verify`, alternating. Target: ratio
//!    <= 0.85.
//! 2. The hashing floor: the same image signed with SHA-256 and with SHA-512, `sigstack verify`'s
//!    throughput (1 GiB / best wall time) against what `openssl speed -evp sha256|sha512 -bytes
//!    65536` reports for one core (measured before and after the runs; the higher counts).
//!    Target: >= 0.90 of it. Also printed: the `sha2` crate sigstack uses, hashing 64 KiB blocks
//!    in memory in this process (no file, no thread), which bounds what any read path can reach,
//!    and `openssl dgst -sha512 -verify` beside the SHA-512 verify.
//! 3. Peak RSS (`ru_maxrss` from `wait4`) of `sigstack verify` on a 4 GiB image; target < 64 MiB.
//!
//! `openssl speed` divides by the CPU time of its process by default, the verify figures by wall
//! time; on a quiet machine the two agree, under load the wall-time side loses. Set
//! `SIGSTACK_BENCH_RUNS` to change N (default 5). Files live in `target/bench/`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sigstack_verify::HashMethod;

const GIB: u64 = 1 << 30;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pki(rel: &str) -> String {
    repo().join("fixtures/pki").join(rel).display().to_string()
}

/// Writes `size` bytes of non-trivial data once; later runs reuse the file.
fn data_file(path: &Path, size: u64) -> std::io::Result<()> {
    if path.metadata().map(|m| m.len() == size).unwrap_or(false) {
        return Ok(());
    }
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut block = vec![0u8; 1 << 20];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for chunk in block.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    for i in 0..size / block.len() as u64 {
        block[0..8].copy_from_slice(&i.to_le_bytes());
        out.write_all(&block)?;
    }
    out.flush()
}

/// Wall time, CPU time (user + system, all threads) and peak RSS in KiB of one run.
struct Run {
    wall: Duration,
    cpu: Duration,
    rss_kib: i64,
}

/// Runs a command and waits for it with `wait4`; panics unless it succeeds.
// The child is reaped by `wait4` (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> Run {
    let start = Instant::now();
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data, `wait4` fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    let status = std::process::ExitStatus::from_raw(status);
    assert!(status.success(), "{cmd:?} failed: {status}");
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Run { wall, cpu: tv(usage.ru_utime) + tv(usage.ru_stime), rss_kib: usage.ru_maxrss }
}

/// Best (shortest) wall time of several runs, with that run's CPU time.
#[derive(Clone, Copy)]
struct Best {
    wall: Duration,
    cpu: Duration,
}

impl Best {
    const NONE: Best = Best { wall: Duration::MAX, cpu: Duration::ZERO };

    fn add(&mut self, run: Run) {
        if run.wall < self.wall {
            *self = Best { wall: run.wall, cpu: run.cpu };
        }
    }

    fn mb_s(&self) -> f64 {
        GIB as f64 / 1e6 / self.wall.as_secs_f64()
    }

    fn line(&self, what: &str) -> String {
        format!(
            "  {what:<30} {:>7.3} s wall  {:>6.0} MB/s ({:>5.0} MiB/s)  cpu {:.3} s",
            self.wall.as_secs_f64(),
            self.mb_s(),
            1024.0 / self.wall.as_secs_f64(),
            self.cpu.as_secs_f64()
        )
    }
}

/// `openssl speed -evp <hash> -bytes 65536`: bytes per second on one core.
fn openssl_speed(hash: &str) -> f64 {
    let out = Command::new("openssl")
        .args(["speed", "-evp", hash, "-bytes", "65536", "-seconds", "3"])
        .stderr(Stdio::null())
        .output()
        .expect("openssl speed");
    assert!(out.status.success(), "openssl speed -evp {hash} failed");
    // Last line: "sha256    1704440.12k" (thousands of bytes per second).
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().rev().find(|l| l.trim_end().ends_with('k')).expect("openssl speed result line");
    let value = last.split_whitespace().last().and_then(|v| v.trim_end_matches('k').parse::<f64>().ok()).expect("a k-bytes figure");
    value * 1000.0
}

/// The `sha2` crate (through the engine's `Hasher`) over 64 KiB blocks in memory: best of 3.
fn crate_speed(hash: HashMethod) -> f64 {
    let block = vec![0x5au8; 64 * 1024];
    let total = 512 << 20;
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let mut hasher = hash.hasher();
        for _ in 0..total / block.len() {
            hasher.update(std::hint::black_box(&block));
        }
        std::hint::black_box(hasher.finalize());
        best = best.min(start.elapsed());
    }
    total as f64 / best.as_secs_f64()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let runs: usize = std::env::var("SIGSTACK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let sigstack = env!("CARGO_BIN_EXE_sigstack");
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");

    let image = dir.join("image-1g.img");
    data_file(&image, GIB).expect("writing the 1 GiB image");
    let key = pki("signing/rsa-3072.key.pem");
    let cert = pki("signing/rsa-3072.crt.pem");
    let public = pki("signing/rsa-3072.pub.pem");
    let sign = |flag: &str| {
        let raw = dir.join(format!("image-1g{flag}.sig"));
        let status = Command::new("openssl")
            .args(["dgst", flag, "-sign", &key, "-sigopt", "rsa_padding_mode:pss", "-out"])
            .arg(&raw)
            .arg(&image)
            .status()
            .expect("openssl must be installed");
        assert!(status.success());
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&raw).unwrap());
        (raw, b64)
    };
    let (raw256, sig256) = sign("-sha256");
    let (raw512, sig512) = sign("-sha512");
    let ours = |img: &Path, hash: &str, sig: &str| {
        let mut c = Command::new(sigstack);
        c.args(["verify", "--hash-method", hash, "--key-type", "RSA-PSS", "--certificate", &cert, "--signature", sig, "--image"]).arg(img);
        c
    };
    let theirs = |flag: &str, raw: &Path| {
        let mut c = Command::new("openssl");
        c.args(["dgst", flag, "-verify", &public, "-sigopt", "rsa_padding_mode:pss", "-signature"]).arg(raw).arg(&image);
        c
    };

    let speed_before = [openssl_speed("sha256"), openssl_speed("sha512")];
    // Warm the page cache so every run reads from memory, then alternate to share any drift.
    measure(&mut theirs("-sha256", &raw256));
    let (mut ours256, mut theirs256, mut ours512, mut theirs512) = (Best::NONE, Best::NONE, Best::NONE, Best::NONE);
    for _ in 0..runs {
        ours256.add(measure(&mut ours(&image, "SHA-256", &sig256)));
        theirs256.add(measure(&mut theirs("-sha256", &raw256)));
        ours512.add(measure(&mut ours(&image, "SHA-512", &sig512)));
        theirs512.add(measure(&mut theirs("-sha512", &raw512)));
    }
    let speed_after = [openssl_speed("sha256"), openssl_speed("sha512")];
    let speed = [speed_before[0].max(speed_after[0]), speed_before[1].max(speed_after[1])];
    let crate_mb = [crate_speed(HashMethod::Sha256), crate_speed(HashMethod::Sha512)];

    let ratio = ours256.wall.as_secs_f64() / theirs256.wall.as_secs_f64();
    println!("stream verify, 1 GiB, RSA-3072 RSA-PSS SHA-256 (best of {runs}, page cache warm)");
    println!("{}", ours256.line("sigstack verify"));
    println!("{}", theirs256.line("openssl dgst -sha256 -verify"));
    println!("  ratio sigstack/openssl (wall)  {ratio:.3}  (target <= 0.85) {}", verdict(ratio <= 0.85));

    println!("hashing floor: verify throughput against `openssl speed -evp <hash> -bytes 65536` (one core)");
    for (i, (name, best)) in [("SHA-256", ours256), ("SHA-512", ours512)].into_iter().enumerate() {
        let floor = speed[i] / 1e6;
        let share = best.mb_s() / floor;
        println!(
            "  {name}: sigstack verify {:>6.0} MB/s, openssl speed {:>6.0} MB/s (before {:.0}, after {:.0}): {share:.2} of it (target >= 0.90) {}",
            best.mb_s(),
            floor,
            speed_before[i] / 1e6,
            speed_after[i] / 1e6,
            verdict(share >= 0.90)
        );
        println!(
            "           sha2 crate in memory {:>6.0} MB/s = {:.2} of openssl speed; the verify reaches {:.2} of the crate",
            crate_mb[i] / 1e6,
            crate_mb[i] / speed[i],
            best.mb_s() / (crate_mb[i] / 1e6)
        );
    }
    println!("{}", ours512.line("sigstack verify SHA-512"));
    println!("{}", theirs512.line("openssl dgst -sha512 -verify"));
    println!("  ratio sigstack/openssl (wall)  {:.3}", ours512.wall.as_secs_f64() / theirs512.wall.as_secs_f64());

    // 4 GiB, sparse: memory use, not disk speed, is what this measures. It is signed first, so
    // the measured run reads every byte and succeeds.
    let big = dir.join("image-4g-sparse.img");
    File::create(&big).and_then(|f| f.set_len(4 * GIB)).expect("sparse 4 GiB file");
    let sig_big = {
        let out = Command::new(sigstack)
            .args(["sign", "--key", &key, "--hash-method", "SHA-256", "--key-type", "RSA-PSS", "--image"])
            .arg(&big)
            .output()
            .expect("sigstack sign");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let run = measure(&mut ours(&big, "SHA-256", &sig_big));
    let rss_mib = run.rss_kib as f64 / 1024.0;
    println!("peak memory, 4 GiB image (sparse)");
    println!(
        "  sigstack verify peak RSS {rss_mib:>6.1} MiB in {:.2} s  (target < 64 MiB) {}",
        run.wall.as_secs_f64(),
        verdict(rss_mib < 64.0)
    );
    println!(
        "machine: {} cores, {}; load average at the end {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        cpu_model(),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".into())
}
