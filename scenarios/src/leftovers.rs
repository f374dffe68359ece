//! `sigstack conformance cleanup`: finds what runs of the suite left behind (a run killed, a
//! cleanup that failed) by name (every name the suite gives starts with a run id, see
//! [`crate::naming`]) and deletes it in dependency order: servers (waiting until they are
//! gone), volumes, volume types, images, secrets, users, projects.
//!
//! What is listed: servers and volumes with `all_tenants` (an admin sees every project's; a
//! user, their project's), every image the user sees, the secrets of the user's project,
//! volume types, and Keystone's users and projects (admin only: a 403 is noted, not a
//! failure). Secrets, servers and volumes inside a leftover project (a per-scenario project
//! of a run that died) are only visible from that project: unless it is a dry run, admin
//! grants itself its roles on each leftover project, lists and deletes from there, then the
//! project goes (with the grants).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;
use sigstack_client::{Credentials, Error, Session, compute, identity, image, key_manager, volume};

use crate::config::RunSettings;
use crate::ledger::{self, Resource};
use crate::naming;

/// What to clean.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only this run's resources (else every run's).
    pub run: Option<String>,
    /// List only.
    pub dry_run: bool,
}

/// A leftover: what it is, its name, and the project it is in (when the API says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub resource: Resource,
    pub name: String,
    pub project: Option<String>,
}

impl Found {
    /// Deletion order: what uses something goes before it.
    fn rank(&self) -> u8 {
        match self.resource {
            Resource::Server { .. } => 0,
            Resource::VolumeAttachment { .. } => 1,
            Resource::Volume { .. } => 2,
            Resource::VolumeType { .. } => 3,
            Resource::Image { .. } => 4,
            Resource::SecretAcl { .. } => 5,
            Resource::Secret { .. } => 6,
            Resource::ApplicationCredential { .. } => 7,
            Resource::Grant { .. } => 8,
            Resource::User { .. } => 9,
            Resource::Project { .. } => 10,
        }
    }
}

/// What happened to one leftover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Deleted,
    /// `--dry-run`.
    Kept,
    Failed(String),
}

/// Everything found, what happened to each, and what could not be listed.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<(Found, Outcome)>,
    /// Lists that failed (they count as failures).
    pub problems: Vec<String>,
    /// Lists the user may not make (403), and other remarks.
    pub notes: Vec<String>,
}

impl Report {
    /// Everything found was deleted (or, in a dry run, listed) and every list worked.
    pub fn succeeded(&self) -> bool {
        self.problems.is_empty() && !self.rows.iter().any(|(_, o)| matches!(o, Outcome::Failed(_)))
    }

    /// `KIND NAME ID PROJECT RESULT`, one row per leftover.
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|(f, o)| {
                let result = match o {
                    Outcome::Deleted => "deleted".to_owned(),
                    Outcome::Kept => "found (dry run)".to_owned(),
                    Outcome::Failed(e) => format!("FAILED: {e}"),
                };
                vec![f.resource.kind().to_owned(), f.name.clone(), f.resource.id(), f.project.clone().unwrap_or_else(|| "-".into()), result]
            })
            .collect()
    }

    /// One line: how many were found, deleted, failed.
    pub fn summary(&self) -> String {
        let failed = self.rows.iter().filter(|(_, o)| matches!(o, Outcome::Failed(_))).count();
        let deleted = self.rows.iter().filter(|(_, o)| *o == Outcome::Deleted).count();
        let mut line = if self.rows.iter().any(|(_, o)| *o == Outcome::Kept) {
            format!("{} found; dry run, nothing deleted", self.rows.len())
        } else {
            format!("{} found, {deleted} deleted, {failed} failed", self.rows.len())
        };
        if !self.problems.is_empty() {
            line.push_str(&format!("; {} lists failed", self.problems.len()));
        }
        line
    }
}

fn wanted(name: Option<&str>, run: Option<&str>) -> Option<String> {
    let name = name?;
    naming::matches(name, run).then(|| name.to_owned())
}

/// Lists with a name, id and project from a JSON list.
fn found_in(list: &Value, key: &str, run: Option<&str>, project_key: &str, make: impl Fn(String) -> Resource) -> Vec<Found> {
    list[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let name = wanted(item["name"].as_str(), run)?;
            let id = item["id"].as_str()?.to_owned();
            Some(Found { resource: make(id), name, project: item[project_key].as_str().map(str::to_owned) })
        })
        .collect()
}

/// GET `url` (with `query`); `Ok(None)` on a 403.
async fn list(s: &Session, request: reqwest::RequestBuilder) -> Result<Option<Value>, Error> {
    match s.json::<Value>(request).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status() == Some(403) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Everything with the suite's names the session sees, and with which session it goes.
struct Finder<'a> {
    run: Option<&'a str>,
    found: Vec<(Found, Session)>,
    seen: BTreeSet<String>,
    report: Report,
}

impl Finder<'_> {
    fn add(&mut self, items: Vec<Found>, s: &Session) {
        for f in items {
            if self.seen.insert(format!("{} {}", f.resource.kind(), f.resource.id())) {
                self.found.push((f, s.clone()));
            }
        }
    }

    fn failed(&mut self, what: &str, e: Error) {
        self.report.problems.push(format!("listing {what}: {e}"));
    }

    /// Servers, volumes, images and secrets the session sees (servers and volumes of every
    /// project for an admin).
    async fn project_resources(&mut self, s: &Session, all_tenants: bool) {
        let run = self.run;
        let tenants: &[(&str, &str)] = if all_tenants { &[("all_tenants", "1")] } else { &[] };
        if s.endpoint("compute").is_ok() {
            match compute::endpoint(s) {
                Ok(base) => {
                    let url = format!("{base}/servers/detail");
                    let mut answer = list(s, compute::request_at(s, Method::GET, &url, compute::DEFAULT_MICROVERSION).query(tenants)).await;
                    if matches!(answer, Ok(None)) && all_tenants {
                        answer = list(s, compute::request_at(s, Method::GET, &url, compute::DEFAULT_MICROVERSION)).await;
                    }
                    match answer {
                        Ok(Some(v)) => self.add(found_in(&v, "servers", run, "tenant_id", |id| Resource::Server { id }), s),
                        Ok(None) => self.report.notes.push("servers: not listed (403)".into()),
                        Err(e) => self.failed("servers", e),
                    }
                }
                Err(e) => self.failed("servers", e),
            }
        }
        if let Ok(base) = volume::project_url(s) {
            let url = format!("{base}/volumes/detail");
            let mut answer = list(s, volume::request(s, Method::GET, &url).query(tenants)).await;
            if matches!(answer, Ok(None)) && all_tenants {
                answer = list(s, volume::request(s, Method::GET, &url)).await;
            }
            match answer {
                Ok(Some(v)) => self.add(found_in(&v, "volumes", run, "os-vol-tenant-attr:tenant_id", |id| Resource::Volume { id }), s),
                Ok(None) => self.report.notes.push("volumes: not listed (403)".into()),
                Err(e) => self.failed("volumes", e),
            }
        }
        if s.endpoint("image").is_ok() {
            match image::list_all_images(s, &[]).await {
                Ok(images) => {
                    let items = images
                        .into_iter()
                        .filter_map(|i| {
                            Some(Found {
                                name: wanted(i.name.as_deref(), run)?,
                                project: i.owner.clone(),
                                resource: Resource::Image { id: i.id },
                            })
                        })
                        .collect();
                    self.add(items, s);
                }
                Err(e) => self.failed("images", e),
            }
        }
        if s.endpoint("key-manager").is_ok() {
            let project = s.token().project.map(|p| p.id);
            let mut offset = 0;
            loop {
                let query = key_manager::ListQuery { limit: Some(100), offset: Some(offset), ..Default::default() };
                match key_manager::list_secrets(s, &query).await {
                    Ok(page) => {
                        let n = page.secrets.len() as u32;
                        let items = page
                            .secrets
                            .into_iter()
                            .filter_map(|m| {
                                Some(Found {
                                    name: wanted(m.name.as_deref(), run)?,
                                    project: project.clone(),
                                    resource: Resource::Secret { id: key_manager::secret_uuid(&m.secret_ref).to_owned() },
                                })
                            })
                            .collect();
                        self.add(items, s);
                        offset += n;
                        if n == 0 || page.next.is_none() {
                            break;
                        }
                    }
                    Err(e) if e.status() == Some(403) => {
                        self.report.notes.push("secrets: not listed (403)".into());
                        break;
                    }
                    Err(e) => {
                        self.failed("secrets", e);
                        break;
                    }
                }
            }
        }
    }

    /// Volume types, users and projects (admin's lists; a 403 is a note).
    async fn admin_resources(&mut self, s: &Session) {
        let run = self.run;
        if let Ok(base) = volume::project_url(s) {
            match list(s, volume::request(s, Method::GET, &format!("{base}/types")).query(&[("is_public", "None")])).await {
                Ok(Some(v)) => self.add(found_in(&v, "volume_types", run, "-", |id| Resource::VolumeType { id }), s),
                Ok(None) => {}
                Err(e) => self.failed("volume types", e),
            }
        }
        let v3 = match identity::v3(s) {
            Ok(v3) => v3,
            Err(e) => return self.failed("Keystone", e),
        };
        for (kind, key) in [("users", "domain_id"), ("projects", "domain_id")] {
            match list(s, s.request(Method::GET, &format!("{v3}/{kind}"))).await {
                Ok(Some(v)) => {
                    let items =
                        found_in(&v, kind, run, key, |id| if kind == "users" { Resource::User { id } } else { Resource::Project { id } });
                    // Keystone's "project" of a user or project is its domain: not shown.
                    self.add(items.into_iter().map(|f| Found { project: None, ..f }).collect(), s);
                }
                Ok(None) => self.report.notes.push(format!("{kind}: not listed (403; an admin sees them)")),
                Err(e) => self.failed(kind, e),
            }
        }
    }
}

/// Finds the suite's leftovers as `credentials`' user and, unless a dry run, deletes them
/// (waits bounded by `settings`' `attach_timeout`).
pub async fn cleanup(credentials: &Credentials, session: &Session, options: &Options, settings: &RunSettings) -> Report {
    let mut finder = Finder { run: options.run.as_deref(), found: Vec::new(), seen: BTreeSet::new(), report: Report::default() };
    finder.project_resources(session, true).await;
    finder.admin_resources(session).await;

    // Inside each leftover project (admin only, and not in a dry run).
    let projects: Vec<(String, String)> = finder
        .found
        .iter()
        .filter_map(|(f, _)| match &f.resource {
            Resource::Project { id } => Some((id.clone(), f.name.clone())),
            _ => None,
        })
        .collect();
    if !projects.is_empty() && options.dry_run {
        finder.report.notes.push(format!(
            "{} leftover projects: their secrets (and, where the API hides them, servers and volumes) are listed only when deleting",
            projects.len()
        ));
    }
    if !options.dry_run {
        for (project_id, name) in projects {
            match project_session(credentials, session, &project_id).await {
                Ok(scoped) => finder.project_resources(&scoped, false).await,
                Err(e) => finder.report.notes.push(format!("project {name}: not entered to look for secrets: {e}")),
            }
        }
    }

    let Finder { mut found, mut report, .. } = finder;
    found.sort_by_key(|(f, _)| f.rank());
    for (f, s) in found {
        let outcome = if options.dry_run {
            Outcome::Kept
        } else {
            match ledger::delete(&s, &f.resource, settings).await {
                Ok(()) => Outcome::Deleted,
                Err(e) => Outcome::Failed(e),
            }
        };
        report.rows.push((f, outcome));
    }
    report
}

/// A session of `credentials`' user scoped to `project_id`, after granting that user, on
/// it, the roles it has in its own project (the grants go with the project).
async fn project_session(credentials: &Credentials, admin: &Session, project_id: &str) -> Result<Session, String> {
    let token = admin.token();
    for role in &token.roles {
        identity::grant(admin, project_id, &token.user.id, &role.id).await.map_err(|e| format!("granting {}: {e}", role.name))?;
    }
    let scoped = Credentials { project_id: Some(project_id.to_owned()), project_name: None, ..credentials.clone() };
    Session::authenticate(&scoped).await.map_err(|e| e.to_string())
}
