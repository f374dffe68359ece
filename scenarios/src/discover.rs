//! `sigstack conformance discover`: a capability file written by probing a cloud from outside,
//! as its users see it, with the evidence of every capability (the requests made and what
//! came back) as YAML comments, for a vendor to review before a certified run.
//!
//! One user does everything (the `--cloud` one): an admin, or a user who may store secrets in
//! Barbican (the `creator` role) for the signature probes. The probes, in order:
//!
//! - the token: the catalog's services, the roles (`admin_credentials`: the token has `admin`);
//! - version documents: Nova (`compute`, its microversions), Cinder (`volume`), Barbican,
//!   Glance; `GET <origin>/_sim/deployment` answering 200 (`simulated_control`);
//! - Keystone: the `creator` role and, for an admin, who holds it (comments only);
//! - Barbican + Glance: the signing certificate stored; an image signed with it (RSA-PSS,
//!   SHA-256) uploaded; tampered data uploaded under the same signature (400 with cursive's
//!   `Signature verification failed`: Glance verifies; comment only, every cloud must);
//!   data signed with a sect409k1 key as `ECC_SECT409K1` (`key_type_profile`: verified means
//!   `legacy`, `Invalid signature key type` means `current`); an unsigned image; a tampered
//!   image (other data, given the signature afterwards with a PATCH, which Glance never
//!   verifies);
//! - Nova (when in the catalog), three boots without trusted certificates: the unsigned image
//!   and the tampered one (both refused: `verify_glance_signatures`), the signed one (refused
//!   for having no trusted certificate IDs: `certificate_validation`; refused by certificate
//!   validation, or showing `trusted_image_certificates` it was not given:
//!   `default_trusted_certificates`);
//! - Cinder (when in the catalog): volumes from the signed image (`available` with
//!   `signature_verified: 'True'`) and from the tampered one (`error` and the user message):
//!   `cinder_verification`;
//! - Glance: MOS's pre-built images (`Cirros-6.0`, ...) present, active and signed
//!   (`baseline_images`, declared only then).
//!
//! Everything a probe creates is named `<run id>-discover-...` (so `sigstack conformance
//! cleanup --run <run id>` finds it if discover is killed), recorded in a [`Ledger`] and
//! deleted last-first by [`Prober::cleanup`], also when a probe failed. A capability no probe
//! could establish is written commented out (so not declared) with the reason.
//!
//! Not probed: `cached_images_verified` (the image-cache limitation; finding it out is the
//! limitation scenario itself, two boots of one image on one host). Declare it by hand, or give
//! it with `--capabilities`, which carries it over.

mod cinder;
mod http;
mod material;
mod nova;

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use sigstack_client::{Session, identity};

use crate::config::{Capabilities, CapabilityFile, RunSettings, SETTINGS_PREFIX, Settings};
use crate::ledger::{Ledger, Resource};

pub use http::Answer;

/// The capabilities discover probes, in the order it writes them.
pub const PROBED: [&str; 11] = [
    "admin_credentials",
    "simulated_control",
    "compute",
    "volume",
    "verify_glance_signatures",
    "certificate_validation",
    "default_trusted_certificates",
    "cinder_verification",
    "key_type_profile",
    "image_format",
    "baseline_images",
];

/// The ledger owner of everything the probes make (one session makes and deletes it all).
const OWNER: &str = "discover";

/// What was found about one capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub name: &'static str,
    /// `None`: not determined (written commented out, with `note` saying why).
    pub value: Option<String>,
    /// Written as a declaration; `false` writes the line commented out (`baseline_images` is
    /// declared only when true, as `sigstack serve` does).
    pub declared: bool,
    /// `<METHOD> <path> -> <status> <what it showed>`, or a sentence for what needs no request.
    pub evidence: Vec<String>,
    /// A remark written after the evidence (why it is not determined, an inconsistency).
    pub note: Option<String>,
}

impl Finding {
    fn new(name: &'static str, value: impl ToString, evidence: Vec<String>) -> Finding {
        Finding { name, value: Some(value.to_string()), declared: true, evidence, note: None }
    }

    fn undetermined(name: &'static str, evidence: Vec<String>, why: impl Into<String>) -> Finding {
        Finding { name, value: None, declared: false, evidence, note: Some(why.into()) }
    }

    fn noted(mut self, note: impl Into<String>) -> Finding {
        self.note = Some(note.into());
        self
    }
}

/// Everything discover learnt, ready to be written as a capability file.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub cloud: String,
    /// Where the cloud came from (a clouds.yaml path, or the environment).
    pub source: String,
    pub run: String,
    /// RFC 3339, UTC.
    pub started: String,
    /// Header comment lines: catalog, versions, roles, the creator role, Glance's verification.
    pub notes: Vec<String>,
    pub users: BTreeMap<String, String>,
    pub findings: Vec<Finding>,
    /// Capabilities of `--capabilities` that discover does not probe, carried over.
    pub carried: BTreeMap<String, String>,
    /// `--capabilities`' settings, written back.
    pub settings: Settings,
    /// Probes that failed unexpectedly (the request got no answer, or an answer no cloud gives).
    pub problems: Vec<String>,
    /// What [`Prober::cleanup`] could not delete.
    pub leftovers: Vec<String>,
}

impl Discovery {
    /// The declared capabilities, as the suite reads them.
    pub fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        for f in self.findings.iter().filter(|f| f.declared) {
            if let Some(v) = &f.value {
                caps.set(f.name, v);
            }
        }
        caps
    }

    /// The capabilities no probe could establish.
    pub fn undetermined(&self) -> Vec<&'static str> {
        self.findings.iter().filter(|f| f.value.is_none()).map(|f| f.name).collect()
    }

    /// Every capability determined, no probe failed, everything deleted.
    pub fn succeeded(&self) -> bool {
        self.problems.is_empty() && self.leftovers.is_empty() && self.undetermined().is_empty()
    }

    fn finding(&mut self, finding: Finding) {
        self.findings.retain(|f| f.name != finding.name);
        self.findings.push(finding);
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.findings.iter().find(|f| f.name == name).and_then(|f| f.value.as_deref())
    }

    /// The capability file, evidence as comments.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        let mut comment = |line: &str| {
            out.push_str(if line.is_empty() { "#" } else { "# " });
            out.push_str(line);
            out.push('\n');
        };
        comment(&format!("Written by `sigstack conformance discover` for cloud '{}' ({}) at {}.", self.cloud, self.source, self.started));
        if self.leftovers.is_empty() {
            comment(&format!("Probe run id: {} (everything the probes created was named after it and deleted).", self.run));
        } else {
            comment(&format!("Probe run id: {} (everything the probes created was named after it; see NOT DELETED below).", self.run));
        }
        comment("Each capability comes with the requests that showed it. Review them: a declared capability");
        comment("is one a certified run holds the cloud to. Then:");
        comment("  sigstack conformance --cloud <cloud> --capabilities <this file> --certified");
        comment("");
        for note in &self.notes {
            comment(note);
        }
        if !self.problems.is_empty() {
            comment("");
            comment("PROBLEMS (probes that failed unexpectedly):");
            for p in &self.problems {
                comment(&format!("  {}", http::one_line(p)));
            }
        }
        if !self.leftovers.is_empty() {
            comment("");
            comment(&format!("NOT DELETED (`sigstack conformance cleanup --cloud {} --run {}` deletes them):", self.cloud, self.run));
            for l in &self.leftovers {
                comment(&format!("  {}", http::one_line(l)));
            }
        }
        out.push_str("users:\n");
        out.push_str("  # The suite's users (clouds.yaml names). \"demo\" must be a project member without the\n");
        out.push_str("  # admin role: with admin credentials the suite makes each scenario's demo in the domain\n");
        out.push_str("  # of this one, with its roles. Point it at a member's cloud if the probed user is an admin.\n");
        for (user, cloud) in &self.users {
            out.push_str(&format!("  {}: {}\n", scalar(user), scalar(cloud)));
        }
        out.push_str("capabilities:\n");
        for f in &self.findings {
            for e in &f.evidence {
                out.push_str(&format!("  # evidence: {}\n", http::one_line(e)));
            }
            if let Some(note) = &f.note {
                out.push_str(&format!("  # note: {}\n", http::one_line(note)));
            }
            match (&f.value, f.declared) {
                (Some(v), true) => out.push_str(&format!("  {}: {}\n", f.name, scalar(v))),
                (Some(v), false) => out.push_str(&format!("  # {}: {}   (not declared)\n", f.name, scalar(v))),
                (None, _) => out.push_str(&format!("  # {}: ?   (NOT DETERMINED, not declared)\n", f.name)),
            }
        }
        for (name, value) in &self.carried {
            out.push_str("  # from --capabilities (not probed)\n");
            out.push_str(&format!("  {}: {}\n", scalar(name), scalar(value)));
        }
        let settings = self.settings.to_capabilities();
        if !settings.is_empty() {
            out.push_str("settings:\n");
            out.push_str("  # from --capabilities (the probes used them), and the simulator's control token found beside clouds.yaml\n");
            for (key, value) in settings {
                out.push_str(&format!("  {}: {}\n", key.trim_start_matches(SETTINGS_PREFIX), scalar(&value)));
            }
        }
        out
    }
}

/// A YAML scalar: plain when it reads back as the same string, else single-quoted.
fn scalar(value: &str) -> String {
    let plain =
        !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c)) && !value.starts_with(['-', '.']);
    if plain { value.to_owned() } else { format!("'{}'", value.replace('\'', "''")) }
}

/// What discover works with: the session of the probing user and what the caller knows.
pub struct Options {
    /// The clouds.yaml name of the cloud (written as the suite users' cloud).
    pub cloud: String,
    /// Where it came from, for the header.
    pub source: String,
    /// `--capabilities`: its settings drive the probes (timeouts, polling, flavor, network),
    /// its `image_format` the disk format of the probe images, and its users and
    /// capabilities discover does not probe are carried over.
    pub file: CapabilityFile,
}

/// Probes one cloud; [`Prober::cleanup`] deletes what [`Prober::probe`] made, whether it
/// finished or was dropped half-way.
pub struct Prober {
    session: Session,
    options: Options,
    run: String,
    ledger: tokio::sync::Mutex<Ledger>,
    settings: std::sync::Mutex<RunSettings>,
}

impl Prober {
    pub fn new(session: Session, options: Options) -> Prober {
        let settings = RunSettings::resolve(&options.file.capabilities, false);
        Prober {
            session,
            options,
            run: crate::naming::new_run_id(),
            ledger: tokio::sync::Mutex::new(Ledger::default()),
            settings: std::sync::Mutex::new(settings),
        }
    }

    /// The session the probes call the cloud with.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The run id every name the probes give starts with.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    fn name(&self, what: &str) -> String {
        format!("{}-discover-{what}", self.run)
    }

    async fn record(&self, resource: Resource) {
        self.ledger.lock().await.record(OWNER, resource);
    }

    fn settings(&self) -> RunSettings {
        self.settings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Deletes what the probes made, last first (volumes and servers waited for until gone,
    /// bounded by `attach_timeout`); what could not be deleted.
    pub async fn cleanup(&self) -> Vec<String> {
        let sessions = HashMap::from([(OWNER.to_owned(), self.session.clone())]);
        let settings = self.settings();
        self.ledger.lock().await.undo(&sessions, &settings).await
    }

    /// Runs every probe; never fails (what could not be found out is said in the result).
    pub async fn probe(&self) -> Discovery {
        let now = time::OffsetDateTime::now_utc();
        let started = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let mut d = Discovery {
            cloud: self.options.cloud.clone(),
            source: self.options.source.clone(),
            run: self.run.clone(),
            started,
            settings: self.options.file.settings.clone(),
            ..Discovery::default()
        };
        for (name, value) in &self.options.file.capabilities.0 {
            if !PROBED.contains(&name.as_str()) && !name.starts_with(SETTINGS_PREFIX) {
                d.carried.insert(name.clone(), value.clone());
            }
        }

        let token = self.session.token();
        let admin = token.roles.iter().any(|r| r.name == "admin");
        d.users = self.options.file.users.clone();
        d.users.entry("demo".into()).or_insert_with(|| self.options.cloud.clone());
        if admin {
            d.users.entry("admin".into()).or_insert_with(|| self.options.cloud.clone());
        }
        self.catalog(&mut d);
        let roles: Vec<&str> = token.roles.iter().map(|r| r.name.as_str()).collect();
        let project = token.project.as_ref().map(|p| p.name.as_str()).unwrap_or("(unscoped)");
        let who =
            format!("the token of cloud '{}': user {}, project {project}, roles {}", self.options.cloud, token.user.name, roles.join(", "));
        d.finding(if admin {
            Finding::new("admin_credentials", true, vec![format!("{who} (admin: the suite may create each scenario's projects and users)")])
        } else {
            Finding::new("admin_credentials", false, vec![format!("{who} (no admin role)")])
        });

        let simulated = self.simulated_control(&mut d).await;
        let mut caps = self.options.file.capabilities.clone();
        caps.set("simulated_control", simulated);
        let settings = RunSettings::resolve(&caps, false);
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = settings.clone();

        let compute = self.compute_version(&mut d).await;
        let volume = self.volume_version(&mut d).await;
        self.other_versions(&mut d).await;
        self.creator_role(&mut d, admin).await;

        let material = material::prepare(self, &settings, &mut d).await;
        if let Err(why) = &material {
            d.notes.push(format!("The signature probes could not run: {why}"));
        }
        let compute_absent = d.value("compute") == Some("false");
        let volume_absent = d.value("volume") == Some("false");
        let (nova, cinder) = futures_util::join!(
            nova::probe(self, &settings, compute_absent, compute.as_deref(), material.as_ref()),
            cinder::probe(self, &settings, volume_absent, volume, material.as_ref()),
        );
        for outcome in [nova, cinder] {
            d.problems.extend(outcome.problems);
            d.notes.extend(outcome.notes);
            for f in outcome.findings {
                d.finding(f);
            }
        }
        match &material {
            Ok(m) => self.key_type(&mut d, m),
            Err(why) => d.finding(Finding::undetermined("key_type_profile", vec![why.clone()], "the probe images could not be made")),
        }
        self.image_format(&mut d, &settings, material.as_ref().ok());
        self.baseline_images(&mut d).await;
        // In the documented order.
        d.findings.sort_by_key(|f| PROBED.iter().position(|p| *p == f.name).unwrap_or(PROBED.len()));
        d
    }

    fn catalog(&self, d: &mut Discovery) {
        let token = self.session.token();
        d.notes.push(format!("Services in the catalog (as cloud '{}' reaches them):", self.options.cloud));
        let mut types: Vec<&str> = token.catalog.iter().map(|e| e.service_type.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        for t in types {
            let url = self.session.endpoint(t).unwrap_or_else(|_| "(no endpoint on this interface)".into());
            d.notes.push(format!("  {t:<14} {url}"));
        }
    }

    /// The suite reaches `/_sim/` with the control token: `sigstack serve` writes it as
    /// `control-token` beside the clouds.yaml the cloud came from, so the written file names it
    /// (unless `--capabilities` already did); otherwise a note says how to give it.
    fn control_token_file(&self, d: &mut Discovery) {
        if d.settings.control_token_file.is_some() {
            return;
        }
        let beside = std::path::Path::new(&self.options.source).with_file_name("control-token");
        if beside.is_file() {
            d.settings.control_token_file = Some(std::path::absolute(&beside).unwrap_or(beside));
        } else {
            d.notes.push(
                "The suite reaches /_sim/ with the simulator's control token: give it as settings: control_token_file (sigstack serve writes control-token beside clouds.yaml) or SIGSTACK_CONTROL_TOKEN.".into(),
            );
        }
    }

    /// `GET <origin>/_sim/deployment`: the simulator's control API answers 200; a real cloud
    /// does not have it.
    async fn simulated_control(&self, d: &mut Discovery) -> bool {
        let Some(origin) = self.session.endpoint("identity").ok().and_then(|u| http::origin(&u)) else {
            d.finding(Finding::new("simulated_control", false, vec!["no identity endpoint to ask".into()]));
            return false;
        };
        let url = format!("{origin}/_sim/deployment");
        match http::call(&self.session, self.session.request(Method::GET, &url).header("Accept", "application/json")).await {
            Ok(a) if a.status == 200 && a.json().is_object() => {
                d.finding(Finding::new("simulated_control", true, vec![a.evidence("the simulator's /_sim/ control API answers")]));
                self.control_token_file(d);
                true
            }
            // The simulator refuses a user without the admin role; a real cloud has no such route.
            Ok(a)
                if matches!(a.status, 401 | 403) && a.json()["error"].as_str().is_some_and(|e| e.starts_with("The /_sim/ control API")) =>
            {
                d.finding(Finding::new(
                    "simulated_control",
                    true,
                    vec![a.evidence("the simulator's /_sim/ control API answers, to admins and its control token only")],
                ));
                self.control_token_file(d);
                true
            }
            Ok(a) => {
                d.finding(Finding::new("simulated_control", false, vec![a.evidence("no /_sim/ control API (a real cloud)")]));
                false
            }
            Err(e) => {
                d.finding(Finding::new(
                    "simulated_control",
                    false,
                    vec![format!("GET /_sim/deployment got no answer ({e}): not the simulator")],
                ));
                false
            }
        }
    }

    /// Nova's version document: `compute`, and the microversion the boot probes use.
    async fn compute_version(&self, d: &mut Discovery) -> Option<String> {
        let Ok(url) = sigstack_client::compute::endpoint(&self.session) else {
            d.finding(Finding::new("compute", false, vec!["the catalog has no compute service".into()]));
            return None;
        };
        let request = sigstack_client::compute::request_at(&self.session, Method::GET, &url, "2.1");
        match http::call(&self.session, request).await {
            Ok(a) if a.ok() => {
                let body = a.json();
                let versions = http::versions(&body);
                let max = body["version"]["version"].as_str().filter(|v| !v.is_empty()).unwrap_or("2.1").to_owned();
                d.notes.push(format!("Nova: {}", a.evidence(&versions)));
                d.finding(Finding::new("compute", true, vec![format!("the catalog has compute; {}", a.evidence(&versions))]));
                Some(max)
            }
            Ok(a) => {
                unanswered(d, "compute", "Nova", a.evidence(""), "its version document did not answer");
                None
            }
            Err(e) => {
                unanswered(d, "compute", "Nova", format!("GET {url}: {e}"), "it did not answer");
                None
            }
        }
    }

    /// Cinder's version documents: `volume`.
    async fn volume_version(&self, d: &mut Discovery) -> bool {
        let Ok(root) = sigstack_client::volume::root_url(&self.session) else {
            d.finding(Finding::new("volume", false, vec!["the catalog has no block-storage (volumev3) service".into()]));
            return false;
        };
        let request = self.session.request(Method::GET, &format!("{root}/")).header("Accept", "application/json");
        match http::call(&self.session, request).await {
            Ok(a) if a.json().get("versions").is_some() => {
                let versions = http::versions(&a.json());
                d.notes.push(format!("Cinder: {}", a.evidence(&versions)));
                d.finding(Finding::new("volume", true, vec![format!("the catalog has block-storage; {}", a.evidence(&versions))]));
                true
            }
            Ok(a) => {
                unanswered(d, "volume", "Cinder", a.evidence(""), "its version document did not answer");
                false
            }
            Err(e) => {
                unanswered(d, "volume", "Cinder", format!("GET {root}/: {e}"), "it did not answer");
                false
            }
        }
    }

    /// Barbican's and Glance's version documents (comments only).
    async fn other_versions(&self, d: &mut Discovery) {
        for (service, label, suffix) in [("key-manager", "Barbican", "/v1"), ("image", "Glance", "/v2")] {
            let Ok(endpoint) = self.session.endpoint(service) else {
                d.notes.push(format!("{label}: not in the catalog"));
                continue;
            };
            let root = endpoint.strip_suffix(suffix).unwrap_or(&endpoint).to_owned();
            let mut request = self.session.request(Method::GET, &format!("{root}/")).header("Accept", "application/json");
            if service == "key-manager" {
                request = request.header("OpenStack-API-Version", "key-manager 1.1");
            }
            match http::call(&self.session, request).await {
                Ok(a) => d.notes.push(format!("{label}: {}", a.evidence(&http::versions(&a.json())))),
                Err(e) => d.notes.push(format!("{label}: GET {root}/ got no answer: {e}")),
            }
        }
    }

    /// Whether Keystone has the `creator` role (Barbican's legacy policy: who may store
    /// secrets) and, for an admin, who holds it. Comments only.
    async fn creator_role(&self, d: &mut Discovery, admin: bool) {
        let Ok(v3) = identity::v3(&self.session) else { return };
        let request =
            self.session.request(Method::GET, &format!("{v3}/roles")).query(&[("name", "creator")]).header("Accept", "application/json");
        let answer = match http::call(&self.session, request).await {
            Ok(a) => a,
            Err(e) => {
                d.notes.push(format!("creator role: GET /v3/roles?name=creator got no answer: {e}"));
                return;
            }
        };
        let role = answer.json()["roles"].as_array().and_then(|r| r.first().cloned());
        let Some(role) = role.filter(|_| answer.ok()) else {
            let what = if answer.ok() { "no role named creator" } else { "not listed" };
            d.notes.push(format!("creator role: {}", answer.evidence(what)));
            return;
        };
        let id = role["id"].as_str().unwrap_or_default().to_owned();
        d.notes.push(format!("creator role: {}", answer.evidence(&format!("exists (id {id})"))));
        let holds = self.session.token().roles.iter().any(|r| r.name == "creator");
        d.notes.push(format!("  the probing user {} it in its project", if holds { "holds" } else { "does not hold" }));
        if !admin {
            d.notes.push("  who else holds it: only an admin may list role assignments".into());
            return;
        }
        let request = self
            .session
            .request(Method::GET, &format!("{v3}/role_assignments"))
            .query(&[("role.id", id.as_str()), ("include_names", "true")])
            .header("Accept", "application/json");
        match http::call(&self.session, request).await {
            Ok(a) if a.ok() => {
                let holders: Vec<String> = a.json()["role_assignments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| {
                        let user = x["user"]["name"].as_str().or(x["user"]["id"].as_str()).unwrap_or("?");
                        let scope = x["scope"]["project"]["name"].as_str().or(x["scope"]["project"]["id"].as_str());
                        match scope {
                            Some(p) => format!("{user} in project {p}"),
                            None => user.to_owned(),
                        }
                    })
                    .collect();
                let who = if holders.is_empty() { "nobody".to_owned() } else { holders.join(", ") };
                d.notes.push(format!("  held by: {}", a.evidence(&who)));
            }
            Ok(a) => d.notes.push(format!("  held by: {}", a.evidence(""))),
            Err(e) => d.notes.push(format!("  held by: GET /v3/role_assignments got no answer: {e}")),
        }
    }

    /// `key_type_profile` from Glance's answer to data signed with a binary-curve key.
    fn key_type(&self, d: &mut Discovery, m: &material::Material) {
        let glance_verifies = m.glance_verifies == Some(true);
        let finding = match &m.binary_curve {
            Some(a) if a.ok() && glance_verifies => Finding::new(
                "key_type_profile",
                "legacy",
                vec![a.evidence("verified and stored: cursive registers ECC_SECT409K1 (cryptography < 47)")],
            ),
            Some(a) if a.ok() => Finding::undetermined(
                "key_type_profile",
                vec![a.evidence("stored")],
                "Glance stored the binary-curve image but did not refuse tampered data either, so it verified nothing",
            ),
            Some(a) if a.status == 400 && a.message().contains("Invalid signature key type") => Finding::new(
                "key_type_profile",
                "current",
                vec![a.evidence(&format!("{} (cursive on cryptography >= 47 registers no binary curve)", a.message()))],
            ),
            Some(a) => {
                d.problems.push(format!("the binary-curve upload: {}", a.evidence("")));
                Finding::undetermined("key_type_profile", vec![a.evidence("")], "neither verified nor refused for its key type")
            }
            None => Finding::undetermined("key_type_profile", m.binary_curve_evidence.clone(), "the binary-curve probe did not run"),
        };
        let finding = if finding.value.is_some() {
            finding.noted("Glance's cursive answered; Nova and Cinder normally run the same cryptography (an image whose key type Glance refuses never reaches them)")
        } else {
            finding
        };
        d.finding(finding);
    }

    /// `image_format`: the disk format of the images the suite uploads.
    fn image_format(&self, d: &mut Discovery, settings: &RunSettings, m: Option<&material::Material>) {
        let format = settings.image_format.name();
        let mut evidence = Vec::new();
        if self.options.file.capabilities.get(crate::config::IMAGE_FORMAT).is_some() {
            evidence.push(format!("{format}: from --capabilities"));
        } else {
            evidence.push(format!("{format}: the suite's default; Nova and Cinder download (so verify) qcow2 images on every storage back end, while Ceph clones RAW ones unverified"));
        }
        if let Some(upload) = m.and_then(|m| m.signed_upload.as_ref()) {
            evidence.push(upload.evidence(&format!("Glance took the probes' {format} image")));
        }
        d.finding(Finding::new("image_format", format, evidence));
    }

    /// `baseline_images`: MOS's pre-built images, found by name, active and signed (all four
    /// properties); declared only then.
    async fn baseline_images(&self, d: &mut Discovery) {
        let Ok(v2) = sigstack_client::image::v2(&self.session) else {
            d.finding(Finding {
                declared: false,
                ..Finding::new("baseline_images", false, vec!["the catalog has no image service".into()])
            });
            return;
        };
        let mut evidence = Vec::new();
        let mut found = Vec::new();
        for baseline in sigstack_cloud::provision::BASELINE_IMAGES.iter() {
            let request = self
                .session
                .request(Method::GET, &format!("{v2}/images"))
                .query(&[("name", baseline.name)])
                .header("Accept", "application/json");
            match http::call(&self.session, request).await {
                Ok(a) if a.ok() => {
                    let images = a.json()["images"].as_array().cloned().unwrap_or_default();
                    let described: Vec<String> = images
                        .iter()
                        .map(|i| {
                            let signed = sigstack_verify::PROPERTY_NAMES.iter().all(|p| i[*p].as_str().is_some_and(|v| !v.is_empty()));
                            let status = i["status"].as_str().unwrap_or("?");
                            found.push((baseline.name, status == "active" && signed));
                            format!("{status}, {}", if signed { "signed" } else { "unsigned" })
                        })
                        .collect();
                    if !described.is_empty() {
                        evidence.push(a.evidence(&described.join("; ")));
                    }
                }
                Ok(a) => {
                    evidence.push(a.evidence(""));
                    d.problems.push(format!("listing the image {}: {}", baseline.name, a.evidence("")));
                }
                Err(e) => d.problems.push(format!("listing the image {}: {e}", baseline.name)),
            }
        }
        let cirros_signed = found.iter().any(|(n, ok)| *n == "Cirros-6.0" && *ok);
        let all_signed = found.iter().all(|(_, ok)| *ok);
        if found.is_empty() {
            evidence.push("GET /v2/images?name=<each of MOS's pre-built images: Cirros-6.0, Ubuntu-22.04, ...> -> 200 none".into());
        }
        let finding = if cirros_signed && all_signed {
            Finding::new("baseline_images", true, evidence)
        } else {
            let why = if found.is_empty() { "no pre-built images" } else { "the pre-built images are not all active and signed" };
            Finding { declared: false, ..Finding::new("baseline_images", false, evidence).noted(why) }
        };
        d.finding(finding);
    }
}

/// The result of the Nova or the Cinder probes.
#[derive(Debug, Default)]
struct Outcome {
    findings: Vec<Finding>,
    notes: Vec<String>,
    problems: Vec<String>,
}

/// A service in the catalog whose version document did not answer as it should: its
/// capability stays undetermined, and the problem is reported.
fn unanswered(d: &mut Discovery, capability: &'static str, service: &str, evidence: String, what: &str) {
    d.problems.push(format!("{service}'s version document: {evidence}"));
    let catalog = if capability == "compute" { "compute" } else { "block-storage" };
    d.finding(Finding::undetermined(capability, vec![evidence], format!("the catalog has {catalog} but {what}")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_reads_back_with_evidence_before_every_capability() {
        let d = Discovery {
            cloud: "prod".into(),
            source: "/etc/openstack/clouds.yaml".into(),
            run: "sigstack-20250131-142501-9f3a".into(),
            started: "2025-01-31T14:25:01Z".into(),
            notes: vec!["Services in the catalog:".into(), "  compute  https://nova:8774/v2.1".into()],
            users: BTreeMap::from([("demo".into(), "prod".into())]),
            findings: vec![
                Finding::new("compute", true, vec!["GET /v2.1 -> 200 v2.1 CURRENT".into()]),
                Finding::new(
                    "key_type_profile",
                    "current",
                    vec!["PUT /v2/images/x/file -> 400 Invalid signature key type: ECC_SECT409K1".into()],
                ),
                Finding { declared: false, ..Finding::new("baseline_images", false, vec!["none".into()]) },
                Finding::undetermined("cinder_verification", vec!["POST /v3/p/volumes -> 500 boom".into()], "no answer"),
            ],
            carried: BTreeMap::from([("max_concurrent_scenarios".into(), "1".into())]),
            settings: Settings { flavor: Some("m1.small".into()), ..Settings::default() },
            ..Discovery::default()
        };
        let text = d.to_yaml();
        let file = CapabilityFile::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(file.capabilities.get("compute"), Some("true"));
        assert_eq!(file.capabilities.get("key_type_profile"), Some("current"));
        assert_eq!(file.capabilities.get("max_concurrent_scenarios"), Some("1"));
        assert_eq!(file.capabilities.get("baseline_images"), None);
        assert_eq!(file.capabilities.get("cinder_verification"), None);
        assert_eq!(file.settings.flavor.as_deref(), Some("m1.small"));
        assert_eq!(file.users.get("demo").map(String::as_str), Some("prod"));
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with("  ")
                && !line.starts_with("  #")
                && lines.iter().position(|l| *l == "capabilities:") < Some(i)
                && lines.iter().position(|l| *l == "settings:").is_none_or(|s| i < s)
            {
                assert!(lines[i - 1].starts_with("  # "), "{line} has no comment before it:\n{text}");
            }
        }
        assert!(text.contains("# cinder_verification: ?   (NOT DETERMINED, not declared)"), "{text}");
        assert!(!d.succeeded());
        assert_eq!(d.undetermined(), vec!["cinder_verification"]);
        assert_eq!(scalar("sigstack-admin"), "sigstack-admin");
        assert_eq!(scalar("my cloud: x"), "'my cloud: x'");
        assert_eq!(scalar(""), "''");
    }
}
