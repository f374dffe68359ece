//! `cargo bench -p sigstack-cloud --bench glance_upload`: the simulated Glance's signed upload
//! over HTTP, against the engine's own streaming verify of the same file, in one run.
//!
//! 1. Throughput: a 1 GiB image signed with RSA-3072 / RSA-PSS, with SHA-256 and with SHA-512, uploaded with
//!    `PUT /v2/images/{id}/file` to an in-process cloud (certificate in the simulated
//!    Barbican), timed from the request to the 204; beside `Verifier::verify_reader` over the
//!    same file. Best of N alternating runs (`SIGSTACK_BENCH_RUNS`, default 3). Target: Glance
//!    at >= 0.7x the engine. Also printed: the three digests Glance must compute (SHA-256 for
//!    the signature, MD5 for `checksum`, SHA-512 for `os_hash_value`) on two threads with no
//!    HTTP and no disk, which bounds what any upload path can reach on this machine. With a
//!    SHA-512 signature Glance checks it against the `os_hash_value` digest (one SHA-512
//!    pass), so that case shows the upload path's own overhead.
//! 2. Memory: a 4 GiB signed upload generated on the fly. The cloud runs in this process, so
//!    the figure is the process's peak RSS (`VmHWM` in /proc/self/status) during the upload
//!    minus its RSS just before, with the peak reset first (`echo 5 > /proc/self/clear_refs`).
//!    It includes the in-process client's buffers, so it over-states the server alone.
//!    Target: < 64 MiB.
//!
//! `SIGSTACK_BENCH_SKIP_MEMORY=1` skips part 2. Files live in `target/bench/` (the 1 GiB image is shared with the CLI's bench).

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

/// The digests Glance needs, on two threads (SHA-512 | SHA-256 + MD5), from memory-mapped-ish
/// reads of the file: no HTTP, no writes.
fn digest_floor(path: &Path) -> Duration {
    let start = Instant::now();
    let run = |which: u8| {
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            let mut file = File::open(path).expect("image");
            let mut buf = vec![0u8; sigstack_verify::READ_BUFFER];
            let (mut a, mut b, mut c) = (sha2::Sha512::new(), sha2::Sha256::new(), md5::Md5::new());
            loop {
                let n = file.read(&mut buf).expect("read");
                if n == 0 {
                    break;
                }
                if which == 0 {
                    a.update(&buf[..n]);
                } else {
                    b.update(&buf[..n]);
                    c.update(&buf[..n]);
                }
            }
            (a.finalize().len(), b.finalize().len(), c.finalize().len())
        })
    };
    let (x, y) = (run(0), run(1));
    let _ = (x.join(), y.join());
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

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

/// Part 1 for one signature hash: best of `runs` alternating engine and Glance runs.
async fn throughput(demo: &Session, uuid: &str, path: &Path, hash: HashMethod, runs: usize) {
    let signature = sign(hash, &digest_file(hash, path));
    let (mut best_engine, mut best_glance, mut best_floor) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for run in 0..runs {
        let p = path.to_path_buf();
        let s = signature.clone();
        let engine = tokio::task::spawn_blocking(move || engine_verify(hash, &p, &s)).await.expect("engine");
        let id = signed_image(demo, hash, &signature, uuid).await;
        let file = tokio::fs::File::open(path).await.expect("image");
        let glance = upload(demo, &id, image::reader_body(file), GIB).await;
        image::delete_image(demo, &id).await.expect("deleted");
        let p = path.to_path_buf();
        let floor = tokio::task::spawn_blocking(move || digest_floor(&p)).await.expect("floor");
        println!(
            "{hash} run {}: engine {:.0} MiB/s, glance upload {:.0} MiB/s, digests on 2 threads {:.0} MiB/s",
            run + 1,
            mib_s(GIB, engine),
            mib_s(GIB, glance),
            mib_s(GIB, floor)
        );
        best_engine = best_engine.min(engine);
        best_glance = best_glance.min(glance);
        best_floor = best_floor.min(floor);
    }
    let ratio = best_engine.as_secs_f64() / best_glance.as_secs_f64();
    println!("1 GiB, RSA-3072 RSA-PSS {hash}, best of {runs}:");
    println!("  engine verify_reader       {:>6.3} s  {:>6.0} MiB/s", best_engine.as_secs_f64(), mib_s(GIB, best_engine));
    println!("  glance PUT .../file (HTTP) {:>6.3} s  {:>6.0} MiB/s", best_glance.as_secs_f64(), mib_s(GIB, best_glance));
    println!("  ratio glance/engine        {ratio:.3}  (target >= 0.7)");
    println!(
        "  digest floor (SHA-256+MD5 | SHA-512, 2 threads, no HTTP) {:.0} MiB/s; glance reaches {:.2} of it",
        mib_s(GIB, best_floor),
        best_floor.as_secs_f64() / best_glance.as_secs_f64()
    );
}

async fn run() {
    let runs: usize = std::env::var("SIGSTACK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    let path = dir.join("image-1g.img");
    data_file(&path, GIB).expect("writing the 1 GiB image");
    let (cloud, demo, uuid) = setup().await;
    for hash in [HashMethod::Sha256, HashMethod::Sha512] {
        throughput(&demo, &uuid, &path, hash, runs).await;
    }

    if std::env::var("SIGSTACK_BENCH_SKIP_MEMORY").is_ok() {
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
