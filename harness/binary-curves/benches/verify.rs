//! Verification throughput beside `openssl speed` for the same curves, with and without decoding
//! the key first (targets: verify <= 2.0x OpenSSL's verify, key decoding + verify <= 0.5x).
//!
//! Both sides are CPU time per operation: `openssl speed` divides by its user time, and ours is
//! read from /proc/thread-self/schedstat, so waiting for a core on a loaded machine counts on
//! neither side. Each curve's OpenSSL run follows ours, so both see the same load.
//!
//! Run with `cargo bench -p sigstack-binary-curves`. Set `SIGSTACK_BENCH_SECONDS` to change the
//! measuring time per curve (default 2), `SIGSTACK_BENCH_NO_OPENSSL=1` to skip OpenSSL, and
//! `SIGSTACK_GF2M_PORTABLE=1` to measure the portable (non-PCLMULQDQ) multiplier.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use sigstack_binary_curves::{BinaryCurve, HashAlg, PublicKey, SigningKey};

fn openssl_name(curve: BinaryCurve) -> &'static str {
    match curve {
        BinaryCurve::Sect163k1 => "nistk163",
        BinaryCurve::Sect163r2 => "nistb163",
        BinaryCurve::Sect233k1 => "nistk233",
        BinaryCurve::Sect233r1 => "nistb233",
        BinaryCurve::Sect283k1 => "nistk283",
        BinaryCurve::Sect283r1 => "nistb283",
        BinaryCurve::Sect409k1 => "nistk409",
        BinaryCurve::Sect409r1 => "nistb409",
        BinaryCurve::Sect571k1 => "nistk571",
        BinaryCurve::Sect571r1 => "nistb571",
    }
}

/// Seconds per verification from `openssl speed -seconds S ecdsa<x>` for one curve. `openssl
/// speed` divides by its CPU (user) time, so [`time`] measures ours in CPU time too.
fn openssl_speed(curve: BinaryCurve, seconds: u64) -> Result<f64, String> {
    let label = openssl_name(curve);
    let algorithm = format!("ecdsa{}", &label[4..]);
    let out = Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), &algorithm])
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    // Table rows look like: " 409 bits ecdsa (nistk409)   0.0008s   0.0016s   1184.4    629.1"
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((_, rest)) = line.split_once(&format!("ecdsa ({label})")) else {
            continue;
        };
        let cols: Vec<&str> = rest.split_whitespace().collect();
        if let Some(verify_per_s) = cols.get(3).and_then(|v| v.parse::<f64>().ok()) {
            return Ok(1.0 / verify_per_s);
        }
    }
    Err(format!("no {label} row in the output of openssl speed"))
}

/// CPU time this thread has run, from /proc/thread-self/schedstat (nanoseconds on the CPU).
fn cpu_now() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("/proc/thread-self/schedstat");
    Duration::from_nanos(stat.split_whitespace().next().and_then(|v| v.parse().ok()).expect("run time"))
}

/// Mean CPU time of `f` over at least `budget` of wall time (after one warm-up call).
fn time<F: FnMut()>(budget: Duration, mut f: F) -> (f64, u64) {
    f();
    let (start, cpu) = (Instant::now(), cpu_now());
    let mut n = 0u64;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    ((cpu_now() - cpu).as_secs_f64() / n as f64, n)
}

fn main() {
    let seconds: u64 = std::env::var("SIGSTACK_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let budget = Duration::from_secs(seconds);
    let no_openssl = std::env::var_os("SIGSTACK_BENCH_NO_OPENSSL").is_some();
    println!("field multiplier: {}", if sigstack_binary_curves::uses_pclmulqdq() { "PCLMULQDQ" } else { "portable" });
    println!("per curve: ours (CPU time per operation), then `openssl speed -seconds {seconds} ecdsa<curve>`");

    println!();
    println!(
        "{:<10} {:>11} {:>7} {:>11} {:>10} {:>14} {:>11} {:>17}",
        "curve", "ours verify", "iters", "key decode", "decode+vfy", "openssl verify", "verify/ossl", "(decode+vfy)/ossl"
    );
    let (mut worst_verify, mut worst_both, mut compared) = (0.0f64, 0.0f64, 0);
    for curve in BinaryCurve::ALL {
        // 20 bytes: below the order of every curve, the 163-bit ones included.
        let key = SigningKey::from_bytes(curve, &[0x3c; 20]).expect("key");
        let digest = HashAlg::Sha384.digest(b"benchmark image");
        let sig = key.sign_prehash(&digest, HashAlg::Sha384).expect("sign");
        let public = key.public_key().clone();
        // A certificate's key: SubjectPublicKeyInfo DER with an uncompressed point.
        let spki = public.to_public_key_der().expect("SPKI");
        let (verify, n) = time(budget, || {
            black_box(public.verify_prehash(black_box(&digest), black_box(&sig))).expect("verifies");
        });
        let (decode, _) = time(budget / 2, || {
            black_box(PublicKey::from_public_key_der(black_box(&spki))).expect("decodes");
        });
        let (both, _) = time(budget, || {
            let key = PublicKey::from_public_key_der(black_box(&spki)).expect("decodes");
            black_box(key.verify_prehash(black_box(&digest), black_box(&sig))).expect("verifies");
        });
        let theirs = if no_openssl { Err("skipped".to_string()) } else { openssl_speed(curve, seconds) };
        let (o_txt, ratio, ratio_both) = match &theirs {
            Ok(o) => {
                worst_verify = worst_verify.max(verify / o);
                worst_both = worst_both.max(both / o);
                compared += 1;
                (format!("{:.1} us", o * 1e6), format!("{:.2}x", verify / o), format!("{:.2}x", both / o))
            }
            Err(e) => {
                if !no_openssl {
                    println!("openssl speed unavailable for {curve}: {e}");
                }
                ("n/a".into(), "n/a".into(), "n/a".into())
            }
        };
        println!(
            "{:<10} {:>8.1} us {:>7} {:>8.1} us {:>7.1} us {:>14} {:>11} {:>17}",
            curve.openssl_name(),
            verify * 1e6,
            n,
            decode * 1e6,
            both * 1e6,
            o_txt,
            ratio,
            ratio_both
        );
    }
    println!("\nkey decode = SubjectPublicKeyInfo DER to a validated key: point decoding, on-curve check and");
    println!("  the prime-order subgroup check (trace conditions; OpenSSL's speed test validates no key).");
    println!("decode+vfy = decoding the key and verifying one signature with it, as a one-shot verify does.");
    if compared > 0 {
        let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
        println!("worst verify/openssl          {worst_verify:.2}x (target <= 2.0) {}", verdict(worst_verify <= 2.0));
        println!("worst (decode+verify)/openssl {worst_both:.2}x (target <= 0.5) {}", verdict(worst_both <= 0.5));
    }
}
