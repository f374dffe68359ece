//! Keystone's state and rules: domains, projects, users, roles, role assignments. Tokens are in
//! `tokens.rs`, application credentials in `application_credentials.rs`.

use std::sync::{Arc, RwLock};

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sigstack_client::CatalogEntry;

use crate::deployment::DeploymentState;
use crate::store::{Store, StoreError};

pub const DEFAULT_DOMAIN_ID: &str = "default";
/// Keystone's `[token] expiration` default (the deployment's `keystone.token_expiration`).
pub const TOKEN_TTL_SECONDS: i64 = 3600;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keystone_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS keystone_projects (id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', UNIQUE (name, domain_id));
CREATE TABLE IF NOT EXISTS keystone_users (id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL, password TEXT NOT NULL, default_project_id TEXT, UNIQUE (name, domain_id));
CREATE TABLE IF NOT EXISTS keystone_roles (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS keystone_assignments (user_id TEXT NOT NULL, project_id TEXT NOT NULL, role_id TEXT NOT NULL, PRIMARY KEY (user_id, project_id, role_id));
CREATE TABLE IF NOT EXISTS keystone_revoked (audit_id TEXT PRIMARY KEY, expires INTEGER NOT NULL);
";

/// One seeded user: name, password, the project it works in and its roles there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SeedUser {
    pub name: String,
    pub password: String,
    pub project: String,
    pub roles: Vec<String>,
}

/// What a fresh cloud's Keystone holds (from the config file, or these defaults).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Seed {
    pub roles: Vec<String>,
    pub projects: Vec<String>,
    pub users: Vec<SeedUser>,
}

impl Default for Seed {
    /// An admin, `demo` (member of `demo`, not creator, so the documents' `role add ... creator`
    /// step matters), `alt_demo` in a second project, and the `instance-ha` service user.
    fn default() -> Self {
        let user = |name: &str, project: &str, roles: &[&str]| SeedUser {
            name: name.into(),
            password: format!("{name}-password"),
            project: project.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        };
        Seed {
            roles: ["admin", "member", "reader", "creator", "service"].map(String::from).to_vec(),
            projects: ["admin", "demo", "alt_demo", "service"].map(String::from).to_vec(),
            users: vec![
                user("admin", "admin", &["admin", "member", "reader"]),
                user("demo", "demo", &["member", "reader"]),
                user("alt_demo", "alt_demo", &["member", "reader"]),
                user("instance-ha", "service", &["service", "member"]),
            ],
        }
    }
}

/// Why authentication or validation failed; every case is a 401 on the wire.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("The request you have made requires authentication.")]
    Unauthorized,
    /// `PasswordVerificationError` (403) under `strict_password_check`: the limit in bytes.
    #[error("{}", password_too_long(*.0))]
    PasswordTooLong(usize),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Why a project or user could not be created (400 and 409 on the wire).
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("Could not find domain: {0}.")]
    UnknownDomain(String),
    /// `PasswordVerificationError` (403) under `strict_password_check`: the limit in bytes.
    #[error("{}", password_too_long(*.0))]
    PasswordTooLong(usize),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// `PasswordVerificationError`'s message.
pub fn password_too_long(limit: usize) -> String {
    format!(
        "The password length must be less than or equal to {limit}. The server could not comply with the request because the password is invalid."
    )
}

/// A row of `/v3/users`, `/v3/projects`, `/v3/roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entity {
    pub id: String,
    pub name: String,
    pub domain_id: Option<String>,
}

/// One role assignment, names resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub user: Entity,
    pub project: Entity,
    pub role: Entity,
}

pub struct Identity {
    pub(super) store: Arc<Store>,
    /// The token-signing key (kept across `/_sim/reset`).
    pub(super) secret: Vec<u8>,
    public_url: RwLock<String>,
    catalog: RwLock<Vec<CatalogEntry>>,
    /// Where `[token] expiration` comes from, read at every issue; `None`: Keystone's default.
    deployment: Option<Arc<DeploymentState>>,
}

pub(super) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Identity {
    /// Opens Keystone's tables, seeding them on first use.
    pub fn open(store: Arc<Store>, seed: &Seed) -> Result<Identity, StoreError> {
        store.migrate(SCHEMA)?;
        store.migrate(super::application_credentials::SCHEMA)?;
        store.migrate(super::assignments::SCHEMA)?;
        store.migrate(super::ec2::SCHEMA)?;
        store.migrate(super::groups::SCHEMA)?;
        let secret = store.with(|c| {
            let existing: Option<Vec<u8>> =
                c.query_row("SELECT value FROM keystone_meta WHERE key = 'token_secret'", [], |r| r.get(0)).optional()?;
            match existing {
                Some(s) => Ok(s),
                None => {
                    let s: Vec<u8> = (0..2).flat_map(|_| *uuid::Uuid::new_v4().as_bytes()).collect();
                    c.execute("INSERT INTO keystone_meta (key, value) VALUES ('token_secret', ?1)", params![s])?;
                    Ok(s)
                }
            }
        })?;
        let identity =
            Identity { store, secret, public_url: RwLock::new(String::new()), catalog: RwLock::new(Vec::new()), deployment: None };
        identity.seed(seed)?;
        identity.seed_system(seed)?;
        Ok(identity)
    }

    /// Reads `[token] expiration` from the running cloud's deployment (`keystone.token_expiration`)
    /// at every token issue, so `/_sim/deployment` can change it.
    pub fn with_deployment(mut self, deployment: Arc<DeploymentState>) -> Identity {
        self.deployment = Some(deployment);
        self
    }

    /// A password as Keystone hashes and checks it (`verify_length_and_trunc_password`, with
    /// the deployment's `[identity]` limit): its bytes, cut to the limit, or `Err(limit)` under
    /// `strict_password_check`.
    pub fn password_bytes<'a>(&self, password: &'a str) -> Result<&'a [u8], usize> {
        let options = self.deployment.as_ref().map(|d| d.get().keystone).unwrap_or_default();
        super::passwords::fit(password, options.password_limit(), options.strict_password_check)
    }

    /// `[token] expiration` in effect, in seconds.
    pub fn token_expiration(&self) -> i64 {
        self.deployment.as_ref().map_or(TOKEN_TTL_SECONDS, |d| i64::from(d.get().keystone.token_expiration))
    }

    fn seed(&self, seed: &Seed) -> Result<(), StoreError> {
        self.store.transaction(|tx| {
            let seeded: Option<Vec<u8>> = tx
                .query_row("SELECT value FROM keystone_meta WHERE key = 'seeded'", [], |r| r.get(0))
                .optional()?;
            if seeded.is_some() {
                return Ok::<(), StoreError>(());
            }
            for role in &seed.roles {
                tx.execute("INSERT OR IGNORE INTO keystone_roles (id, name) VALUES (?1, ?2)", params![new_id(), role])?;
            }
            for project in &seed.projects {
                tx.execute(
                    "INSERT OR IGNORE INTO keystone_projects (id, name, domain_id) VALUES (?1, ?2, ?3)",
                    params![new_id(), project, DEFAULT_DOMAIN_ID],
                )?;
            }
            for u in &seed.users {
                let project_id: String = tx.query_row(
                    "SELECT id FROM keystone_projects WHERE name = ?1",
                    params![u.project],
                    |r| r.get(0),
                )?;
                let user_id = new_id();
                tx.execute(
                    "INSERT INTO keystone_users (id, name, domain_id, password, default_project_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![user_id, u.name, DEFAULT_DOMAIN_ID, super::passwords::hash(&u.password), project_id],
                )?;
                for role in &u.roles {
                    tx.execute(
                        "INSERT OR IGNORE INTO keystone_assignments (user_id, project_id, role_id) SELECT ?1, ?2, id FROM keystone_roles WHERE name = ?3",
                        params![user_id, project_id, role],
                    )?;
                }
            }
            tx.execute("INSERT INTO keystone_meta (key, value) VALUES ('seeded', x'01')", [])?;
            Ok(())
        })
    }

    /// Where Keystone listens (`http://127.0.0.1:PORT/v3`) and the catalog tokens carry.
    pub fn set_endpoints(&self, public_url: String, catalog: Vec<CatalogEntry>) {
        *self.public_url.write().unwrap_or_else(|p| p.into_inner()) = public_url;
        *self.catalog.write().unwrap_or_else(|p| p.into_inner()) = catalog;
    }

    pub fn public_url(&self) -> String {
        self.public_url.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The catalog as a token scoped to `project_id` carries it: Keystone substitutes
    /// `$(project_id)s` in endpoint URLs (Cinder's `/v3/$(project_id)s`).
    pub fn catalog_for(&self, project_id: &str) -> Vec<CatalogEntry> {
        let mut catalog = self.catalog();
        for endpoint in catalog.iter_mut().flat_map(|e| e.endpoints.iter_mut()) {
            endpoint.url = endpoint.url.replace("$(project_id)s", project_id).replace("%(project_id)s", project_id);
        }
        catalog
    }

    pub fn catalog(&self) -> Vec<CatalogEntry> {
        self.catalog.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn list(&self, table: &str, name: Option<&str>) -> Result<Vec<Entity>, StoreError> {
        let domain = if table == "keystone_roles" { "NULL" } else { "domain_id" };
        let sql = format!("SELECT id, name, {domain} FROM {table} WHERE (?1 IS NULL OR name = ?1) ORDER BY name");
        self.store.with(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params![name], |r| Ok(Entity { id: r.get(0)?, name: r.get(1)?, domain_id: r.get(2)? }))?;
            rows.collect()
        })
    }

    pub fn users(&self, name: Option<&str>) -> Result<Vec<Entity>, StoreError> {
        self.list("keystone_users", name)
    }

    pub fn projects(&self, name: Option<&str>) -> Result<Vec<Entity>, StoreError> {
        self.list("keystone_projects", name)
    }

    pub fn roles(&self, name: Option<&str>) -> Result<Vec<Entity>, StoreError> {
        self.list("keystone_roles", name)
    }

    /// `POST /v3/projects`: a project in the (only) Default domain.
    pub fn create_project(&self, name: &str, domain_id: &str, description: &str) -> Result<Entity, CreateError> {
        self.check_domain(domain_id)?;
        let id = new_id();
        let inserted = self.store.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO keystone_projects (id, name, domain_id, description) VALUES (?1, ?2, ?3, ?4)",
                params![id, name, domain_id, description],
            )
        })?;
        if inserted == 0 {
            // Keystone names the id it was about to give the new project, not the existing one's.
            return Err(CreateError::Conflict(format!(
                "Conflict occurred attempting to store project - it is not permitted to have two projects with either the same name or same id in the same domain: name is {name}, project id {id}."
            )));
        }
        Ok(Entity { id, name: name.to_owned(), domain_id: Some(domain_id.to_owned()) })
    }

    /// `POST /v3/users`. Keystone does not check `default_project_id` exists; neither do we.
    pub fn create_user(
        &self,
        name: &str,
        domain_id: &str,
        password: &str,
        default_project_id: Option<&str>,
    ) -> Result<Entity, CreateError> {
        self.check_domain(domain_id)?;
        let password = self.password_bytes(password).map_err(CreateError::PasswordTooLong)?;
        let id = new_id();
        let inserted = self.store.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO keystone_users (id, name, domain_id, password, default_project_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, name, domain_id, super::passwords::hash_bytes(password), default_project_id],
            )
        })?;
        if inserted == 0 {
            return Err(CreateError::Conflict(format!(
                "Conflict occurred attempting to store user - Duplicate entry found with name {name} at domain ID {domain_id}."
            )));
        }
        Ok(Entity { id, name: name.to_owned(), domain_id: Some(domain_id.to_owned()) })
    }

    /// `DELETE /v3/projects/{id}`: the project and every role assignment on it (tokens scoped
    /// to it stop validating, as they do in Keystone). False when there was no such project.
    pub fn delete_project(&self, id: &str) -> Result<bool, StoreError> {
        self.store.transaction(|tx| {
            tx.execute("DELETE FROM keystone_assignments WHERE project_id = ?1", params![id])?;
            Ok(tx.execute("DELETE FROM keystone_projects WHERE id = ?1", params![id])? > 0)
        })
    }

    /// `DELETE /v3/users/{id}`: the user, its role assignments and its application credentials
    /// (Keystone deletes them on the user's `deleted` notification).
    pub fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        self.store.transaction(|tx| {
            tx.execute("DELETE FROM keystone_assignments WHERE user_id = ?1", params![id])?;
            tx.execute("DELETE FROM keystone_system_assignments WHERE user_id = ?1", params![id])?;
            tx.execute("DELETE FROM keystone_credentials WHERE user_id = ?1", params![id])?;
            super::groups::forget(tx, "user", id)?;
            super::application_credentials::delete_for_user(tx, id)?;
            Ok(tx.execute("DELETE FROM keystone_users WHERE id = ?1", params![id])? > 0)
        })
    }

    /// Grants a role on a project (idempotent, like Keystone's PUT).
    pub fn grant(&self, user_id: &str, project_id: &str, role_id: &str) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO keystone_assignments (user_id, project_id, role_id) VALUES (?1, ?2, ?3)",
                params![user_id, project_id, role_id],
            )
            .map(|_| ())
        })
    }

    /// Removes a grant; false when there was none.
    pub fn revoke_grant(&self, user_id: &str, project_id: &str, role_id: &str) -> Result<bool, StoreError> {
        self.store.with(|c| {
            c.execute(
                "DELETE FROM keystone_assignments WHERE user_id = ?1 AND project_id = ?2 AND role_id = ?3",
                params![user_id, project_id, role_id],
            )
            .map(|n| n > 0)
        })
    }

    /// Role assignments, optionally filtered by user, project and role ids.
    pub fn assignments(&self, user: Option<&str>, project: Option<&str>, role: Option<&str>) -> Result<Vec<Assignment>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare(
                "SELECT u.id, u.name, u.domain_id, p.id, p.name, p.domain_id, r.id, r.name
                 FROM keystone_assignments a
                 JOIN keystone_users u ON u.id = a.user_id
                 JOIN keystone_projects p ON p.id = a.project_id
                 JOIN keystone_roles r ON r.id = a.role_id
                 WHERE (?1 IS NULL OR a.user_id = ?1) AND (?2 IS NULL OR a.project_id = ?2) AND (?3 IS NULL OR a.role_id = ?3)
                 ORDER BY r.name, u.name, p.name",
            )?;
            let rows = stmt.query_map(params![user, project, role], |r| {
                Ok(Assignment {
                    user: Entity { id: r.get(0)?, name: r.get(1)?, domain_id: r.get(2)? },
                    project: Entity { id: r.get(3)?, name: r.get(4)?, domain_id: r.get(5)? },
                    role: Entity { id: r.get(6)?, name: r.get(7)?, domain_id: None },
                })
            })?;
            rows.collect()
        })
    }
}

/// A domain given by id or name (Keystone accepts either).
#[derive(Debug, Clone)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

impl DomainRef {
    /// `(id, name)` as SQL parameters: `domain_id = (SELECT id FROM keystone_domains WHERE
    /// id = ?a OR name = ?b)`.
    pub(super) fn parts(&self) -> (Option<&str>, Option<&str>) {
        match self {
            DomainRef::Id(id) => (Some(id), None),
            DomainRef::Name(n) => (None, Some(n)),
        }
    }
}

#[derive(Debug, Clone)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Debug, Clone)]
pub enum ProjectRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}
