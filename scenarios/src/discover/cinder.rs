//! The volume probes: a volume from the signed image (verified: `signature_verified: 'True'`)
//! and one from the tampered image (refused: `error`, with the user message) decide
//! `cinder_verification`.

use std::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};
use sigstack_client::volume;

use super::http::{self, Answer};
use super::material::Material;
use super::{Finding, Outcome, Prober};
use crate::config::RunSettings;
use crate::ledger::Resource;
use crate::wait::Backoff;

/// Cinder's user message when a signature does not verify (Cinder's `ImageSignatureVerificationException`).
const USER_MESSAGE: &str = "Image signature verification failed";

/// What became of one volume.
#[derive(Debug, Clone, Default)]
struct Made {
    evidence: Vec<String>,
    /// `available`, `error`, ...; `None`: not created or not settled (`why`).
    status: Option<String>,
    signature_verified: Option<String>,
    user_message: Option<String>,
    why: Option<String>,
}

impl Prober {
    /// `POST /volumes` from `image` (1 GiB), then polls until it leaves `creating` and
    /// `downloading` (setting `volume_timeout`); for an `error`, the user message about it.
    async fn volume_from(&self, settings: &RunSettings, what: &str, image: &str) -> Made {
        let mut made = Made::default();
        let base = match volume::project_url(&self.session) {
            Ok(b) => b,
            Err(e) => return Made { why: Some(e.to_string()), ..made },
        };
        let body = json!({"volume": {"size": 1, "imageRef": image, "name": self.name(&format!("volume-{what}"))}});
        let created =
            match http::call(&self.session, volume::request(&self.session, Method::POST, &format!("{base}/volumes")).json(&body)).await {
                Ok(a) => a,
                Err(e) => return Made { why: Some(format!("creating a volume from the {what} image: {e}")), ..made },
            };
        made.evidence.push(created.evidence(&format!("a 1 GiB volume from the {what} image")));
        let Some(id) = created.json()["volume"]["id"].as_str().filter(|_| created.status == 202).map(str::to_owned) else {
            made.why = Some(format!("Cinder refused a volume from the {what} image: {}", created.evidence("")));
            return made;
        };
        self.record(Resource::Volume { id: id.clone() }).await;

        let url = format!("{base}/volumes/{id}");
        let deadline = Instant::now() + settings.volume_timeout;
        let mut backoff = Backoff::for_cleanup(settings);
        let (answer, v) = loop {
            let a: Answer = match http::call(&self.session, volume::request(&self.session, Method::GET, &url)).await {
                Ok(a) if a.ok() => a,
                Ok(a) => {
                    made.evidence.push(a.evidence(""));
                    made.why = Some(format!("reading volume {id}: {}", a.evidence("")));
                    return made;
                }
                Err(e) => return Made { why: Some(format!("reading volume {id}: {e}")), ..made },
            };
            let v: Value = a.json()["volume"].clone();
            let status = v["status"].as_str().unwrap_or("?");
            if !matches!(status, "creating" | "downloading") || Instant::now() >= deadline {
                break (a, v);
            }
            backoff.sleep_until(deadline).await;
        };
        let status = v["status"].as_str().unwrap_or("?").to_owned();
        if matches!(status.as_str(), "creating" | "downloading") {
            let secs = settings.volume_timeout.as_secs_f64();
            made.evidence.push(answer.evidence(&format!("still {status} after {secs} s (setting volume_timeout)")));
            made.why = Some(format!("the volume from the {what} image is still {status} after {secs} s (setting volume_timeout)"));
            return made;
        }
        made.signature_verified = v["volume_image_metadata"]["signature_verified"].as_str().map(str::to_owned);
        let recorded = match &made.signature_verified {
            Some(flag) => format!("signature_verified: '{flag}'"),
            None => "no signature_verified in its volume_image_metadata".to_owned(),
        };
        made.evidence.push(answer.evidence(&format!("{status}, {recorded}")));
        if status.starts_with("error") {
            self.user_message(&base, &id, &mut made).await;
        }
        made.status = Some(status);
        made
    }

    /// `GET /messages` (3.3): the user message about volume `id`, then every message about it
    /// deleted (Cinder keeps them for the user; the probe's are of no use to anyone). A Cinder
    /// that reschedules the volume has several: one per attempt and the scheduler's.
    async fn user_message(&self, base: &str, id: &str, made: &mut Made) {
        let a = match http::call(&self.session, volume::request(&self.session, Method::GET, &format!("{base}/messages"))).await {
            Ok(a) => a,
            Err(e) => {
                made.evidence.push(format!("GET /messages: {e}"));
                return;
            }
        };
        let about: Vec<Value> =
            a.json()["messages"].as_array().into_iter().flatten().filter(|m| m["resource_uuid"] == id).cloned().collect();
        // Cinder lists the newest first: the scheduler's "No valid backend" comes before the
        // verification failures it follows.
        let verification = |m: &&Value| m["user_message"].as_str().is_some_and(|t| t.contains(USER_MESSAGE));
        let message = about.iter().find(verification).or(about.first()).cloned();
        for mid in about.iter().filter_map(|m| m["id"].as_str()) {
            let _ = http::call(&self.session, volume::request(&self.session, Method::DELETE, &format!("{base}/messages/{mid}"))).await;
        }
        match message {
            Some(m) => {
                let text = m["user_message"].as_str().unwrap_or("").to_owned();
                made.evidence.push(a.evidence(&format!("user message about the volume: {text}")));
                made.user_message = Some(text);
            }
            None if a.ok() => made.evidence.push(a.evidence("no user message about the volume")),
            None => made.evidence.push(a.evidence("")),
        }
    }
}

/// The Cinder probes. `present`: the catalog has block-storage and it answered.
pub(super) async fn probe(
    p: &Prober,
    settings: &RunSettings,
    volume_absent: bool,
    present: bool,
    m: Result<&Material, &String>,
) -> Outcome {
    let mut out = Outcome::default();
    const NAME: &str = "cinder_verification";
    if volume_absent {
        out.findings.push(Finding::new(NAME, false, vec!["the catalog has no block-storage service".into()]));
        return out;
    }
    if !present {
        out.findings.push(Finding::undetermined(
            NAME,
            vec!["Cinder did not answer its version document".into()],
            "Cinder could not be probed",
        ));
        return out;
    }
    let m = match m {
        Ok(m) => m,
        Err(why) => {
            out.findings.push(Finding::undetermined(NAME, vec![why.clone()], "the probe images could not be made"));
            return out;
        }
    };
    eprintln!(
        "discover: creating volumes from the signed and the tampered image (setting volume_timeout: {} s)",
        settings.volume_timeout.as_secs_f64()
    );
    let tampered_volume = async {
        match &m.tampered_image {
            Ok(id) => p.volume_from(settings, "tampered", id).await,
            Err(why) => Made { evidence: vec![why.clone()], why: Some(why.clone()), ..Made::default() },
        }
    };
    let (signed, tampered) = futures_util::join!(p.volume_from(settings, "signed", &m.signed_image), tampered_volume);
    let mut evidence = signed.evidence.clone();
    evidence.extend(tampered.evidence.clone());

    let verified = signed.status.as_deref() == Some("available") && signed.signature_verified.as_deref() == Some("True");
    let unrecorded = signed.status.as_deref() == Some("available") && signed.signature_verified.is_none();
    let refused = tampered.status.as_deref().is_some_and(|s| s.starts_with("error"));
    let accepted = tampered.status.as_deref() == Some("available");
    let finding = if verified && refused {
        let f = Finding::new(NAME, true, evidence);
        match &tampered.user_message {
            Some(text) if text.contains(USER_MESSAGE) => f,
            _ => f.noted(format!("no user message saying '{USER_MESSAGE}' about the refused volume (a scenario checks for it)")),
        }
    } else if unrecorded && accepted {
        Finding::new(NAME, false, evidence).noted("Cinder neither verified nor recorded anything: verify_glance_signatures = disabled")
    } else if verified && accepted {
        Finding::new(NAME, false, evidence)
            .noted("Cinder recorded the signed volume as verified but accepted the tampered image: it does not check the data")
    } else {
        for made in [&signed, &tampered] {
            if let Some(why) = &made.why {
                out.problems.push(why.clone());
            }
        }
        if signed.why.is_none() && tampered.why.is_none() {
            out.problems.push(format!(
                "unexpected volume states: signed {:?} (signature_verified {:?}), tampered {:?}",
                signed.status, signed.signature_verified, tampered.status
            ));
        }
        Finding::undetermined(NAME, evidence, "the volumes showed neither verification nor its absence")
    };
    out.findings.push(finding);
    out
}
