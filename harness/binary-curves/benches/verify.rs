//! Verification throughput beside `openssl speed` for the same curves.
//!
//! Run with `cargo bench -p sigstack-binary-curves`. Set `SIGSTACK_BENCH_SECONDS` to change the
//! measuring time per curve (default 2), `SIGSTACK_BENCH_NO_OPENSSL=1` to skip OpenSSL, and
//! `SIGSTACK_GF2M_PORTABLE=1` to measure the portable (non-PCLMULQDQ) multiplier.

use std::collections::HashMap;
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use sigstack_binary_curves::{BinaryCurve, HashAlg, PublicKey, SigningKey};

fn openssl_name(curve: BinaryCurve) -> &'static str {
    match curve {
        BinaryCurve::Sect409k1 => "nistk409",
        BinaryCurve::Sect409r1 => "nistb409",
        BinaryCurve::Sect571k1 => "nistk571",
        BinaryCurve::Sect571r1 => "nistb571",
    }
}

/// Seconds per verification from `openssl speed`, keyed by OpenSSL's curve label.
fn openssl_speed(seconds: u64) -> Result<HashMap<String, f64>, String> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "ecdsak409", "ecdsab409", "ecdsak571", "ecdsab571"])
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    // Table rows look like: " 409 bits ecdsa (nistk409)   0.0008s   0.0016s   1184.4    629.1"
    let mut map = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((_, rest)) = line.split_once("ecdsa (") else {
            continue;
        };
        let Some((label, cols)) = rest.split_once(')') else {
            continue;
        };
        let cols: Vec<&str> = cols.split_whitespace().collect();
        if let Some(verify_per_s) = cols.get(3).and_then(|v| v.parse::<f64>().ok()) {
            map.insert(label.to_string(), 1.0 / verify_per_s);
        }
    }
    Ok(map)
}

/// Mean time of `f` over at least `budget` (after one warm-up call).
fn time<F: FnMut()>(budget: Duration, mut f: F) -> (f64, u64) {
    f();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    (start.elapsed().as_secs_f64() / n as f64, n)
}

fn main() {
    let seconds: u64 = std::env::var("SIGSTACK_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let budget = Duration::from_secs(seconds);
    println!("field multiplier: {}", if sigstack_binary_curves::uses_pclmulqdq() { "PCLMULQDQ" } else { "portable" });

    let mut rows = Vec::new();
    for curve in BinaryCurve::ALL {
        let key = SigningKey::from_bytes(curve, &[0x3c; 50]).expect("key");
        let digest = HashAlg::Sha384.digest(b"benchmark image");
        let sig = key.sign_prehash(&digest, HashAlg::Sha384).expect("sign");
        let public = key.public_key().clone();
        let encoded = public.to_sec1_bytes(false);
        let (verify, n) = time(budget, || {
            black_box(public.verify_prehash(black_box(&digest), black_box(&sig))).expect("verifies");
        });
        let (decode, _) = time(budget / 2, || {
            black_box(PublicKey::from_sec1_bytes(curve, black_box(&encoded))).expect("decodes");
        });
        rows.push((curve, verify, n, decode));
    }

    let theirs = if std::env::var_os("SIGSTACK_BENCH_NO_OPENSSL").is_some() { Err("skipped".to_string()) } else { openssl_speed(seconds) };
    if let Err(e) = &theirs {
        println!("openssl speed unavailable: {e}");
    }

    println!();
    println!("{:<10} {:>12} {:>8} {:>14} {:>14} {:>14}", "curve", "ours verify", "iters", "openssl verify", "ours/openssl", "key decode*");
    for (curve, verify, n, decode) in rows {
        let o = theirs.as_ref().ok().and_then(|m| m.get(openssl_name(curve)).copied());
        let (o_txt, ratio) = match o {
            Some(o) => (format!("{:.1} us", o * 1e6), format!("{:.2}x", verify / o)),
            None => ("n/a".into(), "n/a".into()),
        };
        println!("{:<10} {:>9.1} us {:>8} {:>14} {:>14} {:>11.1} us", curve.openssl_name(), verify * 1e6, n, o_txt, ratio, decode * 1e6);
    }
    println!("\n* key decode = SEC 1 point decoding with full validation (includes the n*Q subgroup check);");
    println!("  OpenSSL's speed test does not include key validation in its verify figure.");
}
