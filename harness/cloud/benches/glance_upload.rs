//! `cargo bench -p sigstack-cloud --bench glance_upload`: the simulated Glance's signed upload
//! over HTTP, against the hashing floor and against real Glance 33, in one run.
//!
//! 1. Throughput: a 1 GiB image signed with RSA-3072 / RSA-PSS, with SHA-256 and with SHA-512,
//!    uploaded with `PUT /v2/images/{id}/file` to an in-process cloud (certificate in the
//!    simulated Barbican), timed from the request to the 204. Beside it, in alternating runs
//!    (best of `SIGSTACK_BENCH_RUNS`, default 3):
//!    * the three-digest floor: what Glance must compute over every byte, MD5 (`checksum`),
//!      SHA-512 (`os_hash_value`) and the signature's hash (none more with a SHA-512 signature,
//!      which Glance checks against the `os_hash_value` digest), over the same file read once,
//!      on all cores, with no HTTP and no disk writes. Target: Glance >= 0.9x the floor.
//!    * the engine's `Verifier::verify_reader` over the file (the signature hash alone).
//!    * real Glance 33 (`ci/realstack`, from PyPI, on loopback) uploading the same file with
//!      the same signature, when its clouds.yaml answers (`target/realstack/clouds.yaml`, cloud
//!      `realstack-admin`), or after starting it when `SIGSTACK_BENCH_REALSTACK=start` (then it
//!      is stopped at the end). Target: the simulated Glance >= 5x real Glance.
//! 2. Memory: a 4 GiB signed upload generated on the fly. The cloud runs in this process, so
//!    the figure is the process's peak RSS (`VmHWM` in /proc/self/status) during the upload
//!    minus its RSS just before, with the peak reset first (`echo 5 > /proc/self/clear_refs`).
//!    It includes the in-process client's buffers, so it over-states the server alone.
//!    Target: < 64 MiB.
//!
//! `SIGSTACK_BENCH_SKIP_MEMORY=1` skips part 2, `SIGSTACK_BENCH_ONLY=upload` runs only the
//! simulated Glance's uploads (for profiling them with `perf record`). Files live in
//! `target/bench/` (the 1 GiB image is shared with the CLI's bench).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt;
use md5::Digest as _;
use sigstack_client::Session;
use sigstack_client::image::{self, NewImage};
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_cloud::{CloudConfig, CloudHandle};
use sigstack_verify::{Certificate, HashMethod, KeyType, KeyTypeProfile, SignatureProperties, SigningKey, Verifier};

const GIB: u64 = 1 << 30;
const BLOCK: usize = 1 << 20;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).expect(rel)
}

/// The CLI bench's data: a 1 MiB xorshift block, its first 8 bytes the block index.
fn block() -> Vec<u8> {
    let mut block = vec![0u8; BLOCK];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for chunk in block.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    block
}

fn data_file(path: &Path, size: u64) -> std::io::Result<()> {
    if path.metadata().map(|m| m.len() == size).unwrap_or(false) {
        return Ok(());
    }
    let mut out = BufWriter::with_capacity(BLOCK, File::create(path)?);
    let mut block = block();
    for i in 0..size / BLOCK as u64 {
        block[0..8].copy_from_slice(&i.to_le_bytes());
        out.write_all(&block)?;
    }
    out.flush()
}

fn sign(hash: HashMethod, digest: &[u8]) -> String {
    let key = SigningKey::from_pem(&read("fixtures/pki/signing/rsa-3072.key.pem")).expect("key");
    let sig = key.sign_digest(KeyType::RsaPss, hash, digest, &mut rand::rngs::SysRng).expect("sign");
    base64::engine::general_purpose::STANDARD.encode(sig)
}

fn digest_file(hash: HashMethod, path: &Path) -> Vec<u8> {
    let mut hasher = hash.hasher();
    let mut file = File::open(path).expect("image");
    let mut buf = vec![0u8; sigstack_verify::READ_BUFFER];
    loop {
        let n = file.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hasher.finalize().to_vec()
}

fn props(hash: HashMethod, signature: &str, uuid: &str) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("img_signature", Some(signature.to_owned())),
        ("img_signature_hash_method", Some(hash.name().into())),
        ("img_signature_key_type", Some("RSA-PSS".into())),
        ("img_signature_certificate_uuid", Some(uuid.to_owned())),
    ]
}

/// The engine alone: `Verifier::verify_reader` over the file.
fn engine_verify(hash: HashMethod, path: &Path, signature: &str) -> Duration {
    let cert = Certificate::from_pem(read("fixtures/pki/signing/rsa-3072.crt.pem").as_bytes()).expect("cert");
    let prepared = SignatureProperties::from_pairs(props(hash, signature, "x")).prepare(KeyTypeProfile::Current).expect("props");
    let verifier: Verifier = prepared.verifier(&cert).expect("verifier");
    let start = Instant::now();
    let verdict = verifier.verify_reader(File::open(path).expect("image")).expect("read");
    let elapsed = start.elapsed();
    verdict.expect("the engine verifies the image");
    elapsed
}

/// The three-digest floor: the file read once (on its own thread, in 256 KiB chunks), and
/// MD5, SHA-512 and, unless it is SHA-512, the signature's hash, spread over the cores: on two
/// cores SHA-512 on one and MD5 + the signature hash on the other (the split with the shortest
/// longest thread). No HTTP, no writes.
fn digest_floor(hash: HashMethod, path: &Path) -> Duration {
    #[derive(Clone, Copy)]
    enum Job {
        Md5,
        Sha512,
        /// The signature's hash (`hash`), when it is not SHA-512.
        Signature,
    }
    let mut jobs = vec![Job::Sha512, Job::Md5];
    if hash != HashMethod::Sha512 {
        jobs.push(Job::Signature);
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let groups: Vec<Vec<Job>> =
        if cores >= jobs.len() { jobs.iter().map(|j| vec![*j]).collect() } else { vec![vec![Job::Sha512], jobs[1..].to_vec()] };
    let start = Instant::now();
    std::thread::scope(|scope| {
        let mut senders = Vec::new();
        for group in groups {
            let (tx, rx) = std::sync::mpsc::sync_channel::<std::sync::Arc<Vec<u8>>>(8);
            senders.push(tx);
            scope.spawn(move || {
                let (mut md5, mut sha512, mut other) = (md5::Md5::new(), sha2::Sha512::new(), hash.hasher());
                for chunk in rx {
                    for job in &group {
                        match job {
                            Job::Md5 => md5.update(&chunk[..]),
                            Job::Sha512 => sha512.update(&chunk[..]),
                            Job::Signature => other.update(&chunk),
                        }
                    }
                }
                std::hint::black_box((md5.finalize(), sha512.finalize(), other.finalize()));
            });
        }
        let mut file = File::open(path).expect("image");
        loop {
            let mut buf = vec![0u8; 256 * 1024];
            let mut len = 0;
            while len < buf.len() {
                match file.read(&mut buf[len..]).expect("read") {
                    0 => break,
                    n => len += n,
                }
            }
            if len == 0 {
                break;
            }
            buf.truncate(len);
            let chunk = std::sync::Arc::new(buf);
            for tx in &senders {
                tx.send(chunk.clone()).expect("hash thread");
            }
        }
    });
    start.elapsed()
}

async fn setup() -> (CloudHandle, Session, String) {
    let cloud = sigstack_cloud::start(CloudConfig::default()).await.expect("cloud");
    let demo = Session::authenticate(&cloud.demo()).await.expect("demo");
    let creator = cloud.identity.roles(Some("creator")).expect("roles").remove(0);
    let project = demo.token().project.clone().expect("scoped");
    cloud.identity.grant(&demo.token().user.id, &project.id, &creator.id).expect("grant");
    let secret = NewSecret::certificate("bench", read("fixtures/pki/signing/rsa-3072.crt.pem").as_bytes());
    let secret_ref = key_manager::create_secret(&demo, &secret).await.expect("certificate stored");
    let uuid = key_manager::secret_uuid(&secret_ref).to_owned();
    (cloud, demo, uuid)
}

async fn signed_image(demo: &Session, hash: HashMethod, signature: &str, uuid: &str) -> String {
    let mut new = NewImage::raw("bench");
    for (k, v) in props(hash, signature, uuid) {
        new.properties.insert(k.into(), v.unwrap_or_default());
    }
    image::create_image(demo, &new).await.expect("image").id
}

/// Uploads `body` and checks the image went active; returns the time to the 204.
async fn upload(demo: &Session, id: &str, body: reqwest::Body, size: u64) -> Duration {
    let start = Instant::now();
    image::upload_body(demo, id, body, Some(size)).await.expect("upload accepted");
    let elapsed = start.elapsed();
    let img = image::get_image(demo, id).await.expect("image");
    assert_eq!(img.status, "active");
    assert_eq!(img.size, Some(size));
    elapsed
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

/// The 4 GiB stream: the same blocks as the file generator, 64 KiB at a time.
fn generated(size: u64) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let block = block();
    let chunk = sigstack_verify::READ_BUFFER;
    let per_block = BLOCK / chunk;
    futures_util::stream::iter(0..size / chunk as u64).map(move |i| {
        let (b, part) = (i / per_block as u64, (i % per_block as u64) as usize);
        let mut out = block[part * chunk..(part + 1) * chunk].to_vec();
        if part == 0 {
            out[0..8].copy_from_slice(&b.to_le_bytes());
        }
        Ok(Bytes::from(out))
    })
}

/// The 1 GiB image as a request body, without reading the file: the same bytes as
/// [`data_file`] wrote (each 1 MiB block is the shared pattern with its index in the first 8
/// bytes), sent as the 8-byte index and a shared slice of the pattern, so the client copies
/// nothing. On two cores every cycle the in-process client spends is taken from the server being
/// measured (reading the file through `tokio::fs` cost about 15% of the upload's throughput);
/// the real Glance gets the same body. The signature, made over the file, checks the bytes.
fn image_body(size: u64) -> reqwest::Body {
    let block = Bytes::from(block());
    let chunks = (0..size / BLOCK as u64)
        .flat_map(move |i| [Ok::<_, std::io::Error>(Bytes::copy_from_slice(&i.to_le_bytes())), Ok(block.slice(8..))]);
    image::stream_body(futures_util::stream::iter(chunks))
}

/// CPU time (user + system) of this whole process so far, every thread counted, from
/// /proc/self/stat (clock ticks of 10 ms).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<u64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    Duration::from_millis(fields.iter().sum::<u64>() * 10)
}

/// Runs `f`, returning its result with the process CPU time it took.
async fn with_cpu<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let before = process_cpu();
    let out = f.await;
    (out, process_cpu().saturating_sub(before))
}

/// One core's hashing speed in MB/s over 64 KiB blocks in memory: the crates Glance uses (best
/// of 3 passes over 256 MiB) and `openssl speed -evp <hash> -bytes 65536 -seconds 2`.
/// A hash fed block by block.
type BlockHasher = Box<dyn FnMut(&[u8])>;

fn kernel_speeds() -> Vec<(&'static str, f64, Option<f64>)> {
    let block = vec![0x5au8; 64 * 1024];
    let total = 256usize << 20;
    let crate_speed = |mut hash: BlockHasher| {
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            for _ in 0..total / block.len() {
                hash(std::hint::black_box(&block));
            }
            best = best.min(start.elapsed());
        }
        total as f64 / 1e6 / best.as_secs_f64()
    };
    let openssl = |name: &str| -> Option<f64> {
        let out = std::process::Command::new("openssl")
            .args(["speed", "-evp", name, "-bytes", "65536", "-seconds", "2"])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text.lines().rev().find(|l| l.trim_end().ends_with('k'))?;
        last.split_whitespace().last()?.trim_end_matches('k').parse::<f64>().ok().map(|k| k / 1000.0)
    };
    let mut md5 = md5::Md5::new();
    let mut sha512 = sha2::Sha512::new();
    let mut sha256 = sha2::Sha256::new();
    vec![
        ("MD5", crate_speed(Box::new(move |b| md5.update(b))), openssl("md5")),
        ("SHA-512", crate_speed(Box::new(move |b| sha512.update(b))), openssl("sha512")),
        ("SHA-256", crate_speed(Box::new(move |b| sha256.update(b))), openssl("sha256")),
    ]
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

/// Real Glance 33 of `ci/realstack`: a session as its admin (Barbican's legacy policy lets
/// admin store secrets) and the certificate stored in its Barbican.
struct RealGlance {
    session: Session,
    uuid: String,
}

/// Connects to `ci/realstack` (starting it first when `SIGSTACK_BENCH_REALSTACK=start`);
/// `None`, with the reason printed, when it does not answer.
async fn real_glance(started: &mut bool) -> Option<RealGlance> {
    let script = repo().join("ci/realstack");
    if std::env::var("SIGSTACK_BENCH_REALSTACK").as_deref() == Ok("start") {
        println!("starting real Keystone, Barbican and Glance (ci/realstack start; minutes on a first run)");
        let status = tokio::process::Command::new("bash").arg(&script).arg("start").stdout(std::process::Stdio::null()).status().await;
        match status {
            Ok(s) if s.success() => *started = true,
            other => {
                println!("real Glance: not measured: ci/realstack start failed ({other:?})");
                return None;
            }
        }
    }
    let clouds = repo().join("target/realstack/clouds.yaml");
    let credentials = match sigstack_client::clouds::CloudsYaml::load(&clouds).and_then(|c| c.credentials("realstack-admin")) {
        Ok(c) => c,
        Err(e) => {
            println!("real Glance: not measured: {e} (start it with ci/realstack start, or set SIGSTACK_BENCH_REALSTACK=start)");
            return None;
        }
    };
    let session = match Session::authenticate(&credentials).await {
        Ok(s) => s,
        Err(e) => {
            println!("real Glance: not measured: real Keystone does not answer ({e}); start it with ci/realstack start");
            return None;
        }
    };
    let secret = NewSecret::certificate("sigstack-bench", read("fixtures/pki/signing/rsa-3072.crt.pem").as_bytes());
    match key_manager::create_secret(&session, &secret).await {
        Ok(secret_ref) => {
            let uuid = key_manager::secret_uuid(&secret_ref).to_owned();
            Some(RealGlance { session, uuid })
        }
        Err(e) => {
            println!("real Glance: not measured: storing the certificate in real Barbican failed: {e}");
            None
        }
    }
}

/// One upload of the file to real Glance; `None` (with the reason printed) if it failed.
async fn real_upload(real: &RealGlance, hash: HashMethod, signature: &str) -> Option<Duration> {
    let id = match image::create_image(&real.session, &{
        let mut new = NewImage::raw("sigstack-bench");
        for (k, v) in props(hash, signature, &real.uuid) {
            new.properties.insert(k.into(), v.unwrap_or_default());
        }
        new
    })
    .await
    {
        Ok(img) => img.id,
        Err(e) => {
            println!("real Glance: creating the image failed: {e}");
            return None;
        }
    };
    let start = Instant::now();
    let put = image::upload_body(&real.session, &id, image_body(GIB), Some(GIB)).await;
    let elapsed = start.elapsed();
    let status = image::get_image(&real.session, &id).await.map(|i| i.status);
    let _ = image::delete_image(&real.session, &id).await;
    match (put, status) {
        (Ok(()), Ok(status)) if status == "active" => Some(elapsed),
        (put, status) => {
            println!("real Glance: the upload did not end active: {put:?}, status {status:?}");
            None
        }
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

/// Part 1 for one signature hash: best of `runs` alternating runs of each measurement.
async fn throughput(demo: &Session, uuid: &str, path: &Path, hash: HashMethod, runs: usize, real: Option<&RealGlance>) {
    let signature = sign(hash, &digest_file(hash, path));
    let only_upload = std::env::var("SIGSTACK_BENCH_ONLY").as_deref() == Ok("upload");
    let (mut best_engine, mut best_glance, mut best_floor, mut best_real) = (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    // CPU time of the process during the fastest upload and the fastest floor run.
    let (mut glance_cpu, mut floor_cpu) = (Duration::ZERO, Duration::ZERO);
    for run in 0..runs {
        let id = signed_image(demo, hash, &signature, uuid).await;
        let (glance, cpu) = with_cpu(upload(demo, &id, image_body(GIB), GIB)).await;
        if glance < best_glance {
            glance_cpu = cpu;
        }
        image::delete_image(demo, &id).await.expect("deleted");
        best_glance = best_glance.min(glance);
        if only_upload {
            println!("{hash} run {}: glance upload {:.0} MiB/s", run + 1, mib_s(GIB, glance));
            continue;
        }
        let (p, s) = (path.to_path_buf(), signature.clone());
        let engine = tokio::task::spawn_blocking(move || engine_verify(hash, &p, &s)).await.expect("engine");
        let p = path.to_path_buf();
        let (floor, cpu) = with_cpu(async { tokio::task::spawn_blocking(move || digest_floor(hash, &p)).await.expect("floor") }).await;
        if floor < best_floor {
            floor_cpu = cpu;
        }
        let real_time = match real {
            Some(real) => real_upload(real, hash, &signature).await,
            None => None,
        };
        println!(
            "{hash} run {}: floor {:.0} MiB/s, glance upload {:.0} MiB/s, engine {:.0} MiB/s, real Glance {}",
            run + 1,
            mib_s(GIB, floor),
            mib_s(GIB, glance),
            mib_s(GIB, engine),
            real_time.map(|t| format!("{:.0} MiB/s", mib_s(GIB, t))).unwrap_or_else(|| "-".into())
        );
        best_engine = best_engine.min(engine);
        best_floor = best_floor.min(floor);
        best_real = best_real.min(real_time.unwrap_or(Duration::MAX));
    }
    let hashes = if hash == HashMethod::Sha512 { "MD5 + SHA-512".to_owned() } else { format!("MD5 + SHA-512 + {hash}") };
    println!("1 GiB, RSA-3072 RSA-PSS {hash}, best of {runs}:");
    println!("  simulated Glance PUT .../file (HTTP)   {:>6.3} s  {:>6.0} MiB/s", best_glance.as_secs_f64(), mib_s(GIB, best_glance));
    if only_upload {
        return;
    }
    let of_floor = best_floor.as_secs_f64() / best_glance.as_secs_f64();
    println!(
        "  three-digest floor ({hashes}, file read once, {} threads, no HTTP) {:>6.3} s  {:>6.0} MiB/s",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(3),
        best_floor.as_secs_f64(),
        mib_s(GIB, best_floor)
    );
    println!("  simulated Glance / floor               {of_floor:.2}  (target >= 0.9) {}", verdict(of_floor >= 0.9));
    println!(
        "  CPU time (whole process, both cores): floor {:.2} s, upload {:.2} s (client and server); floor/upload {:.2}",
        floor_cpu.as_secs_f64(),
        glance_cpu.as_secs_f64(),
        floor_cpu.as_secs_f64() / glance_cpu.as_secs_f64().max(1e-9)
    );
    println!("  engine verify_reader (signature hash only) {:>6.3} s  {:>6.0} MiB/s", best_engine.as_secs_f64(), mib_s(GIB, best_engine));
    if best_real == Duration::MAX {
        println!("  real Glance 33                         not measured");
    } else {
        let times = best_real.as_secs_f64() / best_glance.as_secs_f64();
        println!("  real Glance 33 PUT .../file (ci/realstack) {:>6.3} s  {:>6.0} MiB/s", best_real.as_secs_f64(), mib_s(GIB, best_real));
        println!("  simulated Glance / real Glance         {times:.2}x  (target >= 5) {}", verdict(times >= 5.0));
    }
}

async fn run() {
    let runs: usize = std::env::var("SIGSTACK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    let path = dir.join("image-1g.img");
    data_file(&path, GIB).expect("writing the 1 GiB image");
    let (cloud, demo, uuid) = setup().await;
    let only_upload = std::env::var("SIGSTACK_BENCH_ONLY").as_deref() == Ok("upload");
    let mut started = false;
    let real = if only_upload { None } else { real_glance(&mut started).await };
    for hash in [HashMethod::Sha256, HashMethod::Sha512] {
        throughput(&demo, &uuid, &path, hash, runs, real.as_ref()).await;
    }
    if !only_upload {
        println!("hash kernels on one core, 64 KiB blocks in memory (crates Glance uses / openssl speed -evp):");
        for (name, ours, theirs) in tokio::task::spawn_blocking(kernel_speeds).await.expect("kernel speeds") {
            match theirs {
                Some(t) => println!("  {name:<8} {ours:>6.0} MB/s / {t:>6.0} MB/s = {:.2}", ours / t),
                None => println!("  {name:<8} {ours:>6.0} MB/s / openssl speed unavailable"),
            }
        }
    }
    if let Some(real) = &real {
        let _ = key_manager::delete_secret(&real.session, &real.uuid).await;
    }
    if started {
        let _ = tokio::process::Command::new("bash").arg(repo().join("ci/realstack")).arg("stop").status().await;
    }

    if only_upload || std::env::var("SIGSTACK_BENCH_SKIP_MEMORY").is_ok() {
        cloud.shutdown().await;
        return;
    }
    // Memory: 4 GiB, signed, generated on the fly.
    let size = 4 * GIB;
    let mut hasher = sha2::Sha256::new();
    let mut stream = Box::pin(generated(size));
    while let Some(Ok(chunk)) = stream.next().await {
        hasher.update(&chunk);
    }
    let big_signature = sign(HashMethod::Sha256, &hasher.finalize());
    let id = signed_image(&demo, HashMethod::Sha256, &big_signature, &uuid).await;
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let idle = status_kib("VmRSS:");
    let took = upload(&demo, &id, image::stream_body(generated(size)), size).await;
    let peak = status_kib("VmHWM:");
    image::delete_image(&demo, &id).await.expect("deleted");
    println!("4 GiB signed upload: {:.0} MiB/s", mib_s(size, took));
    println!(
        "  process RSS before {:.1} MiB, peak during {:.1} MiB: growth {:.1} MiB (target < 64 MiB)",
        idle as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak.saturating_sub(idle) as f64 / 1024.0
    );
    cloud.shutdown().await;
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}
