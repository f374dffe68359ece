//! `cargo bench -p sigstack-cloud --bench load`: the simulated cloud as a shared service under
//! many concurrent clients, beside a bare HTTP server measured the same way in the same run.
//!
//! 32 clients (`SIGSTACK_BENCH_CLIENTS`) loop for 20 s (`SIGSTACK_BENCH_SECONDS`) over the
//! calls a suite run makes most: Keystone token validation, Glance, Barbican, Nova and Cinder
//! listings, and every tenth round an image created and deleted (a write and its fsync). The
//! reference is an axum server on loopback answering a fixed JSON body, driven by the same
//! client code: its rate is what the HTTP stack and this machine allow, so the ratio is the
//! cost of the simulated services themselves (token checks, SQLite, JSON). Printed: requests/s,
//! p50/p99 latency, errors (any non-2xx or transport failure), and the process's RSS before,
//! after and at its peak (the cloud and the clients share this process).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use serde_json::json;
use sigstack_client::Session;
use sigstack_cloud::{CloudConfig, start};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(default)
}

/// `VmRSS` and `VmHWM` of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok())
    };
    (field("VmRSS:").unwrap_or(0.0) / 1024.0, field("VmHWM:").unwrap_or(0.0) / 1024.0)
}

/// One request of the mix: method, URL, token, JSON body.
#[derive(Clone)]
struct Call {
    method: reqwest::Method,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
}

impl Call {
    fn get(url: String, token: &str) -> Call {
        Call { method: reqwest::Method::GET, url, headers: vec![("X-Auth-Token", token.to_owned())], body: None }
    }
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn record(&mut self, started: Instant, outcome: Result<reqwest::StatusCode, String>) {
        self.latencies_us.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
        match outcome {
            Ok(status) if status.is_success() => {}
            Ok(status) => self.fail(format!("status {status}")),
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, why: String) {
        self.errors += 1;
        self.first_error.get_or_insert(why);
    }
}

async fn send(http: &reqwest::Client, call: &Call) -> Result<(reqwest::StatusCode, serde_json::Value), String> {
    let mut request = http.request(call.method.clone(), &call.url);
    for (name, value) in &call.headers {
        request = request.header(*name, value);
    }
    if let Some(body) = &call.body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)))
}

/// `clients` tasks looping over `mix` until `seconds` pass; with `image_url`, every tenth round
/// also creates and deletes an image there.
async fn drive(http: reqwest::Client, mix: Vec<Call>, image_url: Option<(String, String)>, clients: u64, seconds: u64) -> (Tally, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let mix = Arc::new(mix);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, mix, stop, image_url) = (http.clone(), mix.clone(), stop.clone(), image_url.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut round = client;
            while !stop.load(Ordering::Relaxed) {
                for call in mix.iter() {
                    let t = Instant::now();
                    let outcome = send(&http, call).await.map(|(s, _)| s);
                    tally.record(t, outcome);
                }
                if let (Some((url, token)), 0) = (&image_url, round % 10) {
                    let create = Call {
                        method: reqwest::Method::POST,
                        url: url.clone(),
                        headers: vec![("X-Auth-Token", token.clone())],
                        body: Some(json!({"name": format!("load-{client}-{round}"), "disk_format": "raw", "container_format": "bare"})),
                    };
                    let t = Instant::now();
                    match send(&http, &create).await {
                        Ok((status, body)) if status.is_success() => {
                            tally.record(t, Ok(status));
                            let id = body["id"].as_str().unwrap_or_default();
                            let delete = Call { method: reqwest::Method::DELETE, url: format!("{url}/{id}"), ..create };
                            let t = Instant::now();
                            let outcome = send(&http, &delete).await.map(|(s, _)| s);
                            tally.record(t, outcome);
                        }
                        other => tally.record(t, other.map(|(s, _)| s)),
                    }
                }
                round += 1;
            }
            tally
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await.expect("client task");
        all.latencies_us.extend(t.latencies_us);
        all.errors += t.errors;
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    (all, elapsed)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn report(label: &str, mut tally: Tally, elapsed: f64) -> f64 {
    tally.latencies_us.sort_unstable();
    let n = tally.latencies_us.len();
    let rate = n as f64 / elapsed;
    println!(
        "{label:<22} {n:>8} requests in {elapsed:.1} s = {rate:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   errors {}{}",
        percentile(&tally.latencies_us, 0.5),
        percentile(&tally.latencies_us, 0.99),
        tally.errors,
        tally.first_error.map(|e| format!(" (first: {e})")).unwrap_or_default()
    );
    rate
}

fn main() {
    let clients = env_number("SIGSTACK_BENCH_CLIENTS", 32);
    let seconds = env_number("SIGSTACK_BENCH_SECONDS", 20);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async move {
        let http = sigstack_client::session::http_client();

        // The reference: a bare axum server answering a listing-sized JSON body.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        let body = json!({"images": [], "first": "/v2/images", "schema": "/v2/schemas/images"});
        let app = Router::new().route("/{*path}", get(move || async move { axum::Json(body) }));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let paths = ["/v3/auth/tokens", "/v2/images", "/v1/secrets", "/v2.1/servers", "/v3/volumes"];
        let mix = paths.iter().map(|p| Call::get(format!("{origin}{p}"), "token")).collect();
        let (reference, reference_elapsed) = drive(http.clone(), mix, None, clients, seconds).await;

        let cloud = start(CloudConfig::default()).await.expect("the cloud starts");
        let admin = Session::authenticate(&cloud.admin()).await.expect("admin");
        let demo = Session::authenticate(&cloud.demo()).await.expect("demo");
        let (admin_token, token) = (admin.token().value.clone(), demo.token().value.clone());
        let project = demo.token().project.clone().expect("project-scoped").id;
        let e = &cloud.endpoints;
        let mut validate = Call::get(format!("{}/auth/tokens", e.identity), &admin_token);
        validate.headers.push(("X-Subject-Token", token.clone()));
        let mix = vec![
            validate,
            Call::get(format!("{}/v2/images", e.image), &token),
            // demo is a member, which Barbican's default policy does not let list secrets.
            Call::get(format!("{}/v1/secrets", e.key_manager), &admin_token),
            Call::get(format!("{}/v2.1/servers", e.compute), &token),
            Call::get(format!("{}/v3/{project}/volumes", e.volume), &token),
        ];
        let (rss_before, _) = memory();
        let (simulated, simulated_elapsed) = drive(http, mix, Some((format!("{}/v2/images", e.image), token)), clients, seconds).await;
        let (rss_after, peak) = memory();

        println!("{clients} clients, {seconds} s each, one process (cloud and clients share it)");
        let reference_rate = report("bare axum (reference)", reference, reference_elapsed);
        let errors = simulated.errors;
        let simulated_rate = report("simulated cloud", simulated, simulated_elapsed);
        println!("ratio simulated / reference: {:.3}", simulated_rate / reference_rate);
        println!("RSS: {rss_before:.1} MiB before the load, {rss_after:.1} MiB after, peak {peak:.1} MiB");
        if errors > 0 {
            eprintln!("the simulated cloud answered {errors} requests with an error");
            std::process::exit(1);
        }
    });
}
