//! What a scenario created, so that it is all deleted when the scenario ends, passed, failed
//! or interrupted: every create step records the resource (kind, id, name) and the suite user
//! whose session made it; [`Ledger::undo`] deletes the records in reverse order of creation,
//! each as the user who created it (admin for what admin made), tolerating 404 (the scenario
//! may have deleted it itself), waiting (bounded by `attach_timeout`) for a server to be gone
//! before what it uses goes, and for a volume to be free before it is deleted and gone before
//! its volume type is, and returns what it could not delete.
//!
//! The same deletions serve `sigstack conformance cleanup` ([`crate::leftovers`]).

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use reqwest::Method;
use sigstack_client::{Error, Session, compute, identity, image, key_manager, volume};

use crate::config::RunSettings;
use crate::wait::{self, Backoff};

/// A resource the suite created, by what deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Project {
        id: String,
    },
    User {
        id: String,
    },
    /// A role assignment (`PUT /v3/projects/{p}/users/{u}/roles/{r}`), by its URL.
    Grant {
        url: String,
    },
    ApplicationCredential {
        user_id: String,
        id: String,
    },
    Secret {
        id: String,
    },
    /// A secret's ACL (deleted before the secret, which takes it along anyway).
    SecretAcl {
        secret_id: String,
    },
    Image {
        id: String,
    },
    VolumeType {
        id: String,
    },
    Volume {
        id: String,
    },
    Server {
        id: String,
    },
    /// A volume attached to a server through Nova: detached before either goes.
    VolumeAttachment {
        server_id: String,
        volume_id: String,
    },
}

impl Resource {
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::Project { .. } => "project",
            Resource::User { .. } => "user",
            Resource::Grant { .. } => "role grant",
            Resource::ApplicationCredential { .. } => "application credential",
            Resource::Secret { .. } => "secret",
            Resource::SecretAcl { .. } => "secret ACL",
            Resource::Image { .. } => "image",
            Resource::VolumeType { .. } => "volume type",
            Resource::Volume { .. } => "volume",
            Resource::Server { .. } => "server",
            Resource::VolumeAttachment { .. } => "volume attachment",
        }
    }

    pub fn id(&self) -> String {
        match self {
            Resource::Project { id }
            | Resource::User { id }
            | Resource::ApplicationCredential { id, .. }
            | Resource::Secret { id }
            | Resource::Image { id }
            | Resource::VolumeType { id }
            | Resource::Volume { id }
            | Resource::Server { id } => id.clone(),
            Resource::Grant { url } => url.clone(),
            Resource::SecretAcl { secret_id } => secret_id.clone(),
            Resource::VolumeAttachment { server_id, volume_id } => format!("{volume_id} on {server_id}"),
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.id())
    }
}

/// One record: what, and the suite user whose session deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub resource: Resource,
    pub owner: String,
}

/// A scenario's records, in creation order.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Vec<Entry>,
}

impl Ledger {
    pub fn record(&mut self, owner: &str, resource: Resource) {
        self.entries.push(Entry { resource, owner: owner.to_owned() });
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Deletes everything recorded, last first, with the owners' sessions (`admin` for an
    /// owner without one); empties the ledger and returns what failed.
    pub async fn undo(&mut self, sessions: &HashMap<String, Session>, settings: &RunSettings) -> Vec<String> {
        let mut failures = Vec::new();
        for entry in std::mem::take(&mut self.entries).into_iter().rev() {
            let Some(session) = sessions.get(&entry.owner).or_else(|| sessions.get("admin")) else {
                failures.push(format!("{}: no session of {:?} to delete it with", entry.resource, entry.owner));
                continue;
            };
            if let Err(e) = delete(session, &entry.resource, settings).await {
                failures.push(format!("{} (created by {}): {e}", entry.resource, entry.owner));
            }
        }
        failures
    }
}

/// `Ok` for a success or a 404.
fn gone<T>(result: Result<T, Error>) -> Result<(), Error> {
    match result {
        Err(e) if !e.is_not_found() => Err(e),
        _ => Ok(()),
    }
}

/// Deletes one resource and waits, where something depends on it being gone, until it is.
pub async fn delete(session: &Session, resource: &Resource, settings: &RunSettings) -> Result<(), String> {
    let s = session;
    let text = |e: Error| e.to_string();
    match resource {
        Resource::Project { id } => gone(identity::delete_project(s, id).await).map_err(text),
        Resource::User { id } => gone(identity::delete_user(s, id).await).map_err(text),
        Resource::Grant { url } => gone(s.send(s.request(Method::DELETE, url)).await).map_err(text),
        Resource::ApplicationCredential { user_id, id } => {
            let url = format!("{}/users/{user_id}/application_credentials/{id}", identity::v3(s).map_err(text)?);
            gone(s.send(s.request(Method::DELETE, &url)).await).map_err(text)
        }
        Resource::Secret { id } => gone(key_manager::delete_secret(s, id).await).map_err(text),
        Resource::SecretAcl { secret_id } => gone(key_manager::delete_acl(s, secret_id).await).map_err(text),
        Resource::Image { id } => gone(image::delete_image(s, id).await).map_err(text),
        Resource::VolumeType { id } => gone(volume::delete_volume_type(s, id).await).map_err(text),
        Resource::Volume { id } => delete_volume(s, id, settings).await,
        Resource::Server { id } => delete_server(s, id, settings).await,
        Resource::VolumeAttachment { server_id, volume_id } => {
            match compute::detach_volume(s, server_id, volume_id).await {
                Ok(()) => Ok(()),
                // Not attached (any more), or the server is gone: nothing to detach.
                Err(e) if e.is_not_found() || matches!(e.status(), Some(400 | 409)) => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

/// DELETE, then polls until Nova answers 404 (what the server used is free then).
pub async fn delete_server(s: &Session, id: &str, settings: &RunSettings) -> Result<(), String> {
    gone(compute::delete_server(s, id).await).map_err(|e| e.to_string())?;
    let last = std::sync::Mutex::new(String::new());
    let deleted = wait::until(Backoff::for_cleanup(settings), settings.attach_timeout, || {
        let last = &last;
        async move {
            match compute::get_server(s, compute::DEFAULT_MICROVERSION, id).await {
                Err(e) if e.is_not_found() => Some(()),
                Err(e) => {
                    *last.lock().unwrap_or_else(|p| p.into_inner()) = e.to_string();
                    None
                }
                Ok(server) => {
                    *last.lock().unwrap_or_else(|p| p.into_inner()) = format!("still {}", server.status);
                    None
                }
            }
        }
    })
    .await;
    deleted.ok_or_else(|| format!("not gone after {} ({})", secs(settings.attach_timeout), last.into_inner().unwrap_or_default()))
}

/// Statuses a volume cannot be deleted in yet (it is busy, or still attached).
const BUSY: [&str; 9] =
    ["creating", "downloading", "reserved", "attaching", "detaching", "extending", "in-use", "uploading", "maintenance"];

/// Waits until the volume is free (not attached, not busy), DELETEs it, then polls until
/// Cinder answers 404 (its volume type may go then).
pub async fn delete_volume(s: &Session, id: &str, settings: &RunSettings) -> Result<(), String> {
    let status = |v: Result<volume::Volume, Error>| match v {
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.to_string()),
        Ok(v) => Ok(Some(v.status)),
    };
    let free = wait::until(Backoff::for_cleanup(settings), settings.attach_timeout, || async move {
        match status(volume::get_volume(s, id).await) {
            Ok(Some(st)) if BUSY.contains(&st.as_str()) => None,
            other => Some(other),
        }
    })
    .await;
    match free {
        Some(Ok(None)) => return Ok(()),
        Some(Err(e)) => return Err(e),
        // Still busy after the timeout: try anyway, Cinder says why not.
        None | Some(Ok(Some(_))) => {}
    }
    gone(volume::delete_volume(s, id).await).map_err(|e| e.to_string())?;
    let deleted = wait::until(Backoff::for_cleanup(settings), settings.attach_timeout, || async move {
        match status(volume::get_volume(s, id).await) {
            Ok(None) => Some(Ok(())),
            Ok(Some(st)) if st == "deleting" => None,
            Ok(Some(st)) if st == "error_deleting" => Some(Err("error_deleting".to_owned())),
            Ok(Some(_)) => None,
            Err(e) => Some(Err(e)),
        }
    })
    .await;
    match deleted {
        Some(result) => result,
        None => Err(format!("not gone after {}", secs(settings.attach_timeout))),
    }
}

fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// What the scenarios of this process could not delete (`sigstack conformance` prints them).
static FAILURES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

pub(crate) fn count_failures(failures: Vec<String>) {
    FAILURES.lock().unwrap_or_else(|e| e.into_inner()).extend(failures);
}

/// What cleanup could not delete since the last call (each line names the resource).
pub fn take_cleanup_failures() -> Vec<String> {
    std::mem::take(&mut *FAILURES.lock().unwrap_or_else(|e| e.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_in_order_and_describes_them() {
        let mut l = Ledger::default();
        l.record("admin", Resource::Project { id: "p".into() });
        l.record("demo", Resource::VolumeAttachment { server_id: "s".into(), volume_id: "v".into() });
        assert_eq!(l.entries().iter().map(|e| e.resource.to_string()).collect::<Vec<_>>(), ["project p", "volume attachment v on s"]);
        assert_eq!(l.entries()[1].owner, "demo");
    }
}
