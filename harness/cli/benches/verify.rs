//! `cargo bench -p sigstack-cli --bench verify`: stream-verify speed and memory of the real
//! `sigstack verify` binary, against `openssl dgst -verify` measured in the same run.
//!
//! 1. A 1 GiB image signed with RSA-3072/SHA-256 (RSA-PSS): best of N wall-clock runs of
//!    `sigstack verify` and of `openssl dgst -sha256 -verify`; target ratio <= 1.05.
//! 2. Peak RSS (`ru_maxrss` from `wait4`) of `sigstack verify` on a 4 GiB image; target < 64 MiB.
//!
//! Set `SIGSTACK_BENCH_RUNS` to change N (default 5). Files live in `target/bench/`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Runs a command, returning wall time and peak RSS in KiB; panics unless it succeeds.
// The child is reaped by `wait4` (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> (Duration, i64) {
    let start = Instant::now();
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data, `wait4` fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    let status = std::process::ExitStatus::from_raw(status);
    assert!(status.success(), "{cmd:?} failed: {status}");
    (elapsed, usage.ru_maxrss)
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let runs: usize = std::env::var("SIGSTACK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let sigstack = env!("CARGO_BIN_EXE_sigstack");
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");

    let image = dir.join("image-1g.img");
    data_file(&image, GIB).expect("writing the 1 GiB image");
    let sig_raw = dir.join("image-1g.sig");
    let key = pki("signing/rsa-3072.key.pem");
    let status = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign", &key, "-sigopt", "rsa_padding_mode:pss", "-out"])
        .arg(&sig_raw)
        .arg(&image)
        .status()
        .expect("openssl must be installed");
    assert!(status.success());
    let sig_b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&sig_raw).unwrap())
    };
    let cert = pki("signing/rsa-3072.crt.pem");
    let public = pki("signing/rsa-3072.pub.pem");
    let ours = |img: &Path, sig: &str| {
        let mut c = Command::new(sigstack);
        c.args(["verify", "--hash-method", "SHA-256", "--key-type", "RSA-PSS", "--certificate", &cert, "--signature", sig, "--image"])
            .arg(img);
        c
    };
    let theirs = || {
        let mut c = Command::new("openssl");
        c.args(["dgst", "-sha256", "-verify", &public, "-sigopt", "rsa_padding_mode:pss", "-signature"]).arg(&sig_raw).arg(&image);
        c
    };

    // Warm the page cache so both read from memory, then alternate to share any drift.
    measure(&mut theirs());
    let (mut best_ours, mut best_theirs) = (Duration::MAX, Duration::MAX);
    for _ in 0..runs {
        best_ours = best_ours.min(measure(&mut ours(&image, &sig_b64)).0);
        best_theirs = best_theirs.min(measure(&mut theirs()).0);
    }
    let ratio = best_ours.as_secs_f64() / best_theirs.as_secs_f64();
    println!("stream verify, 1 GiB, RSA-3072 RSA-PSS SHA-256 (best of {runs})");
    println!("  sigstack verify        {:>8.3} s  {:>7.0} MiB/s", best_ours.as_secs_f64(), 1024.0 / best_ours.as_secs_f64());
    println!("  openssl dgst -verify   {:>8.3} s  {:>7.0} MiB/s", best_theirs.as_secs_f64(), 1024.0 / best_theirs.as_secs_f64());
    println!("  ratio sigstack/openssl {ratio:>8.3}  (target <= 1.05) {}", if ratio <= 1.05 { "PASS" } else { "MISS" });

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
    let (elapsed, rss_kib) = measure(&mut ours(&big, &sig_big));
    let rss_mib = rss_kib as f64 / 1024.0;
    println!("peak memory, 4 GiB image (sparse)");
    println!(
        "  sigstack verify peak RSS {rss_mib:>6.1} MiB in {:.2} s  (target < 64 MiB) {}",
        elapsed.as_secs_f64(),
        if rss_mib < 64.0 { "PASS" } else { "MISS" }
    );
    println!("machine: {} cores, {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), cpu_model());
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".into())
}
