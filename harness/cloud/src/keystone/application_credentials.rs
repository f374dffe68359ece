//! Application credentials (`keystone/application_credential/`): a user's delegation of some of
//! its roles on one project to a secret, with an optional expiry. The secret is kept hashed
//! (as Keystone keeps a passlib hash; see `passwords`), so neither the database nor
//! `/_sim/resources` ever holds it in clear; it is shown once, in the answer to the create.

use base64::Engine as _;
use rand::RngExt as _;
use rusqlite::{OptionalExtension, params};

use super::model::{CreateError, Entity, Identity, new_id};
use crate::store::StoreError;

/// `keystone_application_credentials` mirrors Keystone's `application_credential` table
/// (`expires_at` in microseconds since the epoch, as its `DateTimeInt` column), roles apart.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keystone_application_credentials (internal_id INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, secret_hash TEXT NOT NULL, description TEXT, user_id TEXT NOT NULL, project_id TEXT, system TEXT, expires_at INTEGER, unrestricted INTEGER, UNIQUE (name, user_id));
CREATE TABLE IF NOT EXISTS keystone_application_credential_roles (application_credential_id TEXT NOT NULL, role_id TEXT NOT NULL, PRIMARY KEY (application_credential_id, role_id));
";

/// One application credential, roles resolved (id, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationCredential {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub user_id: String,
    pub project_id: Option<String>,
    pub system: Option<String>,
    /// Microseconds since the epoch.
    pub expires_at: Option<i64>,
    /// `None` when the create left it out (Keystone stores NULL, and treats it as restricted).
    pub unrestricted: Option<bool>,
    pub roles: Vec<Entity>,
}

impl ApplicationCredential {
    pub fn is_unrestricted(&self) -> bool {
        self.unrestricted == Some(true)
    }

    pub fn expired(&self) -> bool {
        self.expires_at.is_some_and(|e| e <= now_micros())
    }
}

/// What `POST /v3/users/{user_id}/application_credentials` stores.
#[derive(Debug, Clone)]
pub struct NewApplicationCredential {
    pub name: String,
    pub description: Option<String>,
    pub secret: String,
    pub user_id: String,
    pub project_id: String,
    pub system: Option<String>,
    pub expires_at: Option<i64>,
    pub unrestricted: Option<bool>,
    pub role_ids: Vec<String>,
}

pub fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

/// Keystone's generated secret: 64 random bytes, URL-safe base64 without padding.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 64];
    rand::rng().fill(&mut bytes[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

const COLUMNS: &str = "id, name, description, user_id, project_id, system, expires_at, unrestricted";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApplicationCredential> {
    Ok(ApplicationCredential {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        user_id: r.get(3)?,
        project_id: r.get(4)?,
        system: r.get(5)?,
        expires_at: r.get(6)?,
        unrestricted: r.get(7)?,
        roles: Vec::new(),
    })
}

/// Roles of a credential in the order Keystone's relationship loads them (by role id); a role
/// deleted since is left out.
fn with_roles(c: &rusqlite::Connection, mut cred: ApplicationCredential) -> rusqlite::Result<ApplicationCredential> {
    let mut stmt = c.prepare(
        "SELECT r.id, r.name FROM keystone_application_credential_roles a JOIN keystone_roles r ON r.id = a.role_id WHERE a.application_credential_id = ?1 ORDER BY r.id",
    )?;
    cred.roles =
        stmt.query_map(params![cred.id], |r| Ok(Entity { id: r.get(0)?, name: r.get(1)?, domain_id: None }))?.collect::<Result<_, _>>()?;
    Ok(cred)
}

/// Deletes a user's credentials (inside the user's deletion).
pub(super) fn delete_for_user(tx: &rusqlite::Connection, user_id: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM keystone_application_credential_roles WHERE application_credential_id IN (SELECT id FROM keystone_application_credentials WHERE user_id = ?1)",
        params![user_id],
    )?;
    tx.execute("DELETE FROM keystone_application_credentials WHERE user_id = ?1", params![user_id])?;
    Ok(())
}

impl Identity {
    /// Stores a credential; a second one with the same name for the same user is Keystone's 409.
    pub fn create_application_credential(&self, new: &NewApplicationCredential) -> Result<ApplicationCredential, CreateError> {
        let id = new_id();
        let hash = super::passwords::hash(&new.secret);
        let inserted = self.store.transaction(|tx| {
            let n = tx.execute(
                "INSERT OR IGNORE INTO keystone_application_credentials (id, name, secret_hash, description, user_id, project_id, system, expires_at, unrestricted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![id, new.name, hash, new.description, new.user_id, new.project_id, new.system, new.expires_at, new.unrestricted],
            )?;
            if n == 1 {
                for role in &new.role_ids {
                    tx.execute(
                        "INSERT OR IGNORE INTO keystone_application_credential_roles (application_credential_id, role_id) VALUES (?1, ?2)",
                        params![id, role],
                    )?;
                }
            }
            Ok::<_, StoreError>(n == 1)
        })?;
        if !inserted {
            // `sql.handle_conflicts(conflict_type='application_credential')`: the dict argument
            // has a `name` and no `domain_id`.
            return Err(CreateError::Conflict(format!(
                "Conflict occurred attempting to store application_credential - Duplicate entry found with name {}.",
                new.name
            )));
        }
        Ok(self.application_credential(&id)?.ok_or_else(|| StoreError::from(rusqlite::Error::QueryReturnedNoRows))?)
    }

    pub fn application_credential(&self, id: &str) -> Result<Option<ApplicationCredential>, StoreError> {
        self.store.with(|c| {
            let sql = format!("SELECT {COLUMNS} FROM keystone_application_credentials WHERE id = ?1");
            let cred = c.query_row(&sql, params![id], row).optional()?;
            cred.map(|cred| with_roles(c, cred)).transpose()
        })
    }

    /// A user's credentials in creation order, optionally only the one named `name`.
    pub fn application_credentials(&self, user_id: &str, name: Option<&str>) -> Result<Vec<ApplicationCredential>, StoreError> {
        self.store.with(|c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM keystone_application_credentials WHERE user_id = ?1 AND (?2 IS NULL OR name = ?2) ORDER BY internal_id"
            );
            let mut stmt = c.prepare(&sql)?;
            let creds = stmt.query_map(params![user_id, name], row)?.collect::<Result<Vec<_>, _>>()?;
            creds.into_iter().map(|cred| with_roles(c, cred)).collect()
        })
    }

    /// False when there was no such credential. Tokens issued from it stop validating: their
    /// credential is looked up at every validation, as Keystone's token model does.
    pub fn delete_application_credential(&self, id: &str) -> Result<bool, StoreError> {
        self.store.transaction(|tx| {
            tx.execute("DELETE FROM keystone_application_credential_roles WHERE application_credential_id = ?1", params![id])?;
            Ok(tx.execute("DELETE FROM keystone_application_credentials WHERE id = ?1", params![id])? > 0)
        })
    }

    /// The driver's `authenticate`: the credential when the secret matches and it has not
    /// expired (Keystone: `Invalid application credential ID or secret`, a 401).
    pub fn check_application_credential(&self, id: &str, secret: Option<&str>) -> Result<Option<ApplicationCredential>, StoreError> {
        let hash: Option<String> = self.store.with(|c| {
            c.query_row("SELECT secret_hash FROM keystone_application_credentials WHERE id = ?1", params![id], |r| r.get(0)).optional()
        })?;
        let (Some(hash), Some(secret)) = (hash, secret) else {
            return Ok(None);
        };
        if !super::passwords::verify(secret, &hash) {
            return Ok(None);
        }
        Ok(self.application_credential(id)?.filter(|c| !c.expired()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_keystones_length() {
        // Keystone: 64 random bytes, URL-safe base64 without padding.
        assert_eq!(generate_secret().len(), 86);
        assert_ne!(generate_secret(), generate_secret());
    }
}
