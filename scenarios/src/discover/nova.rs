//! The boot probes: the unsigned, the tampered and the signed image, each booted without
//! trusted certificates, decide `verify_glance_signatures`, `certificate_validation` and
//! `default_trusted_certificates`.

use std::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};
use sigstack_client::compute;

use super::http::{self, Answer};
use super::material::Material;
use super::{Finding, Outcome, Prober};
use crate::config::RunSettings;
use crate::ledger::Resource;
use crate::wait::Backoff;

/// The microversion the probes boot at (`trusted_image_certificates` shows from it).
const BOOT_MICROVERSION: (u32, u32) = (2, 63);
/// `networks` is required (and `auto` exists) from 2.37.
const NETWORKS_MICROVERSION: (u32, u32) = (2, 37);

/// How a boot ended.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Active,
    /// ERROR, with the fault's message.
    Error(String),
    /// Not created, not settled in time, or the server could not be read.
    Unknown(String),
}

/// One boot: the requests and what became of the server.
#[derive(Debug, Clone)]
struct Boot {
    evidence: Vec<String>,
    state: State,
    /// `trusted_image_certificates` as the server shows it (2.63+).
    trusted: Vec<String>,
}

impl Boot {
    fn unknown(evidence: Vec<String>, why: String) -> Boot {
        Boot { evidence, state: State::Unknown(why), trusted: Vec::new() }
    }
}

/// A fault from signature verification or certificate validation (of any kind): what a cloud
/// that verifies says about an image it refuses. A well-formed signature that does not match
/// is cryptography's InvalidSignature, which Nova reschedules until the retries run out.
fn refused_for_signature(fault: &str) -> bool {
    [
        "Signature verification for the image failed",
        "Exceeded maximum number of retries",
        "no trusted certificate IDs were provided",
        "certificate validation failed",
        "Certificate chain building failed",
    ]
    .iter()
    .any(|m| fault.contains(m))
}

const NO_TRUSTED_IDS: &str = "Image signature certificate validation enabled, but no trusted certificate IDs were provided";

fn is_validation_failure(fault: &str) -> bool {
    fault.contains("Image signature certificate validation failed")
        || fault.contains("Certificate chain building failed")
        || fault.contains("Certificate validation failed")
}

impl Prober {
    /// `POST /servers` with `image` and no trusted certificates, then polls until ACTIVE or
    /// ERROR (setting `build_timeout`).
    async fn boot(&self, settings: &RunSettings, version: &str, networks: bool, flavor: &str, what: &str, image: &str) -> Boot {
        let base = match compute::endpoint(&self.session) {
            Ok(b) => b,
            Err(e) => return Boot::unknown(Vec::new(), e.to_string()),
        };
        let mut server = json!({"name": self.name(&format!("vm-{what}")), "imageRef": image, "flavorRef": flavor});
        if networks {
            server["networks"] = settings.network.to_json();
        }
        let request =
            compute::request_at(&self.session, Method::POST, &format!("{base}/servers"), version).json(&json!({"server": server}));
        let created = match http::call(&self.session, request).await {
            Ok(a) => a,
            Err(e) => return Boot::unknown(Vec::new(), format!("booting the {what} image: {e}")),
        };
        let mut evidence =
            vec![created.evidence(&format!("boot of the {what} image without trusted certificates (microversion {version})"))];
        let Some(id) = created.json()["server"]["id"].as_str().filter(|_| created.status == 202).map(str::to_owned) else {
            let why = format!("Nova refused to boot the {what} image: {}", created.evidence(""));
            return Boot::unknown(evidence, why);
        };
        self.record(Resource::Server { id: id.clone() }).await;

        let url = format!("{base}/servers/{id}");
        let deadline = Instant::now() + settings.build_timeout;
        let mut backoff = Backoff::for_cleanup(settings);
        loop {
            let answer: Answer = match http::call(&self.session, compute::request_at(&self.session, Method::GET, &url, version)).await {
                Ok(a) => a,
                Err(e) => return Boot::unknown(evidence, format!("reading server {id}: {e}")),
            };
            if !answer.ok() {
                let why = format!("reading server {id}: {}", answer.evidence(""));
                evidence.push(answer.evidence(""));
                return Boot::unknown(evidence, why);
            }
            let server: Value = answer.json()["server"].clone();
            let status = server["status"].as_str().unwrap_or("?").to_owned();
            let settled = server["OS-EXT-STS:task_state"].is_null() && matches!(status.as_str(), "ACTIVE" | "ERROR");
            if settled || Instant::now() >= deadline {
                let trusted: Vec<String> = server["trusted_image_certificates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                let fault = server["fault"]["message"].as_str().unwrap_or("").to_owned();
                let shown = if trusted.is_empty() { String::new() } else { format!(", trusted_image_certificates {trusted:?}") };
                let state = match status.as_str() {
                    "ACTIVE" if settled => {
                        evidence.push(answer.evidence(&format!("ACTIVE{shown}")));
                        State::Active
                    }
                    "ERROR" if settled => {
                        evidence.push(answer.evidence(&format!("ERROR, fault: {fault}{shown}")));
                        State::Error(fault)
                    }
                    _ => {
                        let secs = settings.build_timeout.as_secs_f64();
                        evidence.push(answer.evidence(&format!("still {status} after {secs} s (setting build_timeout)")));
                        State::Unknown(format!("the {what} image's server is still {status} after {secs} s (setting build_timeout)"))
                    }
                };
                return Boot { evidence, state, trusted };
            }
            backoff.sleep_until(deadline).await;
        }
    }

    /// `GET /flavors/detail`: the `flavor` setting, else the smallest that fits the image.
    async fn flavor(&self, settings: &RunSettings, virtual_size: u64) -> Result<(String, String), String> {
        let base = compute::endpoint(&self.session).map_err(|e| e.to_string())?;
        let a =
            http::call(&self.session, compute::request_at(&self.session, Method::GET, &format!("{base}/flavors/detail"), "2.1")).await?;
        if !a.ok() {
            return Err(a.evidence(""));
        }
        let flavors = a.json()["flavors"].as_array().cloned().unwrap_or_default();
        let id = crate::world::choose_flavor(&flavors, settings.flavor.as_deref(), virtual_size)?;
        let how = match (&self.options.file.settings.flavor, settings.flavor.is_some()) {
            (Some(_), _) => "the flavor setting",
            (None, true) => "the simulator's default",
            (None, false) => "the smallest that holds the image",
        };
        Ok((id.clone(), a.evidence(&format!("flavor {id} ({how})"))))
    }
}

const NAMES: [&str; 3] = ["verify_glance_signatures", "certificate_validation", "default_trusted_certificates"];

fn all_undetermined(evidence: Vec<String>, why: &str) -> Vec<Finding> {
    NAMES.iter().map(|n| Finding::undetermined(n, evidence.clone(), why)).collect()
}

/// The Nova probes. `max`: Nova's maximum microversion, `None` when Nova is absent (the
/// three capabilities are false) or did not answer (undetermined).
pub(super) async fn probe(
    p: &Prober,
    settings: &RunSettings,
    compute_absent: bool,
    max: Option<&str>,
    m: Result<&Material, &String>,
) -> Outcome {
    let mut out = Outcome::default();
    if compute_absent {
        out.findings = NAMES.iter().map(|n| Finding::new(n, false, vec!["the catalog has no compute service".into()])).collect();
        return out;
    }
    let Some(max) = max else {
        out.findings = all_undetermined(vec!["Nova did not answer its version document".into()], "Nova could not be probed");
        return out;
    };
    let m = match m {
        Ok(m) => m,
        Err(why) => {
            out.findings = all_undetermined(vec![why.clone()], "the probe images could not be made");
            return out;
        }
    };
    let max_version = http::microversion(max).unwrap_or((2, 1));
    let version = if max_version >= BOOT_MICROVERSION { "2.63".to_owned() } else { max.to_owned() };
    let networks = max_version >= NETWORKS_MICROVERSION;
    let (flavor, flavor_evidence) = match p.flavor(settings, m.disk.virtual_size).await {
        Ok(f) => f,
        Err(e) => {
            out.problems.push(format!("choosing a flavor: {e}"));
            out.findings = all_undetermined(vec![format!("choosing a flavor: {e}")], "no flavor to boot with");
            return out;
        }
    };
    out.notes.push(format!("Nova boot probes: {flavor_evidence}"));
    eprintln!(
        "discover: booting the unsigned, the tampered and the signed image (setting build_timeout: {} s)",
        settings.build_timeout.as_secs_f64()
    );

    let boot = |what: &'static str, image: Result<String, String>| {
        let version = version.clone();
        let flavor = flavor.clone();
        async move {
            match image {
                Ok(id) => p.boot(settings, &version, networks, &flavor, what, &id).await,
                Err(why) => Boot::unknown(vec![why.clone()], why),
            }
        }
    };
    let (unsigned, tampered, signed) = futures_util::join!(
        boot("unsigned", m.unsigned_image.clone()),
        boot("tampered", m.tampered_image.clone()),
        boot("signed", Ok(m.signed_image.clone())),
    );

    // The signed image must boot, or fail for its certificate: anything else means the probe
    // servers cannot run here (flavor, network, quota), and no fault says anything.
    let signed_verdict = match &signed.state {
        State::Active => Some(None),
        State::Error(f) if f.contains(NO_TRUSTED_IDS) => Some(Some(false)),
        State::Error(f) if is_validation_failure(f) => Some(Some(true)),
        State::Error(f) => {
            out.problems.push(format!("the signed image did not boot for a reason unrelated to signatures: {f}"));
            None
        }
        State::Unknown(why) => {
            out.problems.push(why.clone());
            None
        }
    };
    let Some(validation) = signed_verdict else {
        let evidence: Vec<String> = [&unsigned, &tampered, &signed].iter().flat_map(|b| b.evidence.clone()).collect();
        out.findings = all_undetermined(evidence, "the signed probe image neither booted nor failed for its certificate");
        return out;
    };

    let refused = |b: &Boot| match &b.state {
        State::Active => Some(false),
        State::Error(f) if refused_for_signature(f) => Some(true),
        _ => None,
    };
    let unsigned_refused = match &unsigned.state {
        State::Error(f) => f.contains("Signature verification for the image failed").then_some(true),
        State::Active => Some(false),
        State::Unknown(_) => None,
    };
    let tampered_refused = refused(&tampered);
    let mut evidence = unsigned.evidence.clone();
    evidence.extend(tampered.evidence.clone());
    let verify = match (unsigned_refused, tampered_refused) {
        (Some(true), Some(true)) => Finding::new("verify_glance_signatures", true, evidence),
        (Some(false), Some(false)) => Finding::new("verify_glance_signatures", false, evidence),
        (Some(false), Some(true)) => Finding::new("verify_glance_signatures", false, evidence)
            .noted("Nova refused the tampered image but booted the unsigned one; with verify_glance_signatures = True it refuses both (the suite's scenarios for it would fail)"),
        (Some(true), Some(false)) => Finding::new("verify_glance_signatures", false, evidence)
            .noted("Nova refused the unsigned image but booted the tampered one: it does not verify the data"),
        _ => {
            for b in [&unsigned, &tampered] {
                match &b.state {
                    State::Unknown(why) => out.problems.push(why.clone()),
                    State::Error(f) => out.problems.push(format!("a boot failed for a reason unrelated to signatures: {f}")),
                    State::Active => {}
                }
            }
            Finding::undetermined("verify_glance_signatures", evidence, "a boot probe neither booted nor failed for its signature")
        }
    };
    // Whether Nova verified anything at all (the tampered image refused).
    let verifies = tampered_refused == Some(true);
    out.findings.push(verify);

    let shown = if signed.trusted.is_empty() { None } else { Some(signed.trusted.clone()) };
    match validation {
        None => {
            let mut cv = Finding::new("certificate_validation", false, signed.evidence.clone());
            if !verifies {
                cv = cv.noted("Nova validates certificates only while it verifies signatures (or when the user gives trusted certificates): with verification off, enable_certificate_validation shows nothing");
            }
            out.findings.push(cv);
            let dt = Finding::new(
                "default_trusted_certificates",
                false,
                vec!["the signed image booted without trusted certificates: no default trusted certificates were applied".into()],
            );
            out.findings.push(dt.noted("default_trusted_certificate_ids take effect only with certificate validation on"));
        }
        Some(defaults) => {
            out.findings.push(Finding::new("certificate_validation", true, signed.evidence.clone()));
            let mut e: Vec<String> = signed.evidence.last().cloned().into_iter().collect();
            if let Some(ids) = &shown {
                e.push(format!(
                    "the server shows trusted_image_certificates {ids:?} it was not given: nova.conf's default_trusted_certificate_ids"
                ));
            }
            let dt = if defaults {
                Finding::new("default_trusted_certificates", true, e)
                    .noted("validated against nova.conf's default trusted certificates, which do not include the probe's certificate")
            } else {
                Finding::new("default_trusted_certificates", false, e)
                    .noted("no trusted certificate IDs at all: nova.conf has no default_trusted_certificate_ids")
            };
            out.findings.push(dt);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_told_apart() {
        assert!(refused_for_signature(
            "Build of instance x aborted: Signature verification for the image failed: Required image properties ..."
        ));
        assert!(refused_for_signature(
            "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance x."
        ));
        assert!(refused_for_signature(&format!("Build of instance x aborted: {NO_TRUSTED_IDS}. Unable to validate ...")));
        assert!(!refused_for_signature("No valid host was found."));
        assert!(is_validation_failure(
            "Build of instance x aborted: Image signature certificate validation failed for certificate: u. ..."
        ));
        assert!(!is_validation_failure(NO_TRUSTED_IDS));
    }
}
