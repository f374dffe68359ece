//! Roles and domains as Keystone's `role_api` and `resource_api` keep them: creating, renaming
//! and deleting roles (`keystone/assignment/core.py`), and domains (`keystone/resource/core.py`:
//! an enabled domain cannot be deleted; deleting one deletes its projects and users).

use rusqlite::{OptionalExtension, params};

use super::model::{CreateError, DEFAULT_DOMAIN_ID, DomainRef, Entity, Identity};
use crate::store::StoreError;

/// One domain as `/v3/domains` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

/// Why a role or domain change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("Could not find {0}: {1}.")]
    NotFound(&'static str, String),
    /// `ForbiddenNotSecurity` and `ResourceDeleteForbidden` (403).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// `keystone-manage bootstrap`'s roles are immutable (`ResourceDeleteForbidden`, whose message
/// has an unbalanced backquote in Keystone).
pub(super) fn immutable_role(name: &str) -> bool {
    ["admin", "manager", "member", "reader"].contains(&name)
}

fn role_conflict(name: &str) -> CreateError {
    CreateError::Conflict(format!("Conflict occurred attempting to store role - Duplicate entry found with name {name}."))
}

impl Identity {
    pub(super) fn check_domain(&self, domain_id: &str) -> Result<(), CreateError> {
        match self.domain(&DomainRef::Id(domain_id.to_owned()))? {
            Some(_) => Ok(()),
            None => Err(CreateError::UnknownDomain(domain_id.to_owned())),
        }
    }

    /// A role's description (`None`: none was given).
    pub fn role_description(&self, id: &str) -> Result<Option<String>, StoreError> {
        let found: Option<Option<String>> = self.store.with(|c| {
            c.query_row("SELECT description FROM keystone_role_descriptions WHERE id = ?1", params![id], |r| r.get(0)).optional()
        })?;
        Ok(found.flatten())
    }

    /// `POST /v3/roles`: names are unique (global roles only).
    pub fn create_role(&self, name: &str, description: Option<&str>) -> Result<Entity, CreateError> {
        let id = super::model::new_id();
        let inserted = self.store.transaction(|tx| {
            let n = tx.execute("INSERT OR IGNORE INTO keystone_roles (id, name) VALUES (?1, ?2)", params![id, name])?;
            if n > 0 {
                tx.execute("INSERT INTO keystone_role_descriptions (id, description) VALUES (?1, ?2)", params![id, description])?;
            }
            Ok::<_, StoreError>(n > 0)
        })?;
        if !inserted {
            return Err(role_conflict(name));
        }
        Ok(Entity { id, name: name.to_owned(), domain_id: None })
    }

    /// `PATCH /v3/roles/{id}`: a new name and/or description.
    pub fn update_role(&self, id: &str, name: Option<&str>, description: Option<Option<&str>>) -> Result<Entity, ChangeError> {
        let current = self.roles(None)?.into_iter().find(|r| r.id == id).ok_or_else(|| ChangeError::NotFound("role", id.to_owned()))?;
        if immutable_role(&current.name) {
            return Err(ChangeError::Forbidden(format!(
                "Unable to update immutable role resource: `{id}. Set resource option \"immutable\" to false first."
            )));
        }
        let new_name = name.unwrap_or(&current.name).to_owned();
        self.store.transaction(|tx| {
            if new_name != current.name {
                let taken: bool = tx
                    .query_row("SELECT EXISTS (SELECT 1 FROM keystone_roles WHERE name = ?1)", params![new_name], |r| r.get(0))
                    .map_err(StoreError::from)?;
                if taken {
                    return Err(ChangeError::Conflict(role_conflict(&new_name).to_string()));
                }
                tx.execute("UPDATE keystone_roles SET name = ?2 WHERE id = ?1", params![id, new_name]).map_err(StoreError::from)?;
            }
            if let Some(description) = description {
                tx.execute(
                    "INSERT INTO keystone_role_descriptions (id, description) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET description = ?2",
                    params![id, description],
                )
                .map_err(StoreError::from)?;
            }
            Ok(())
        })?;
        Ok(Entity { id: id.to_owned(), name: new_name, domain_id: None })
    }

    /// `DELETE /v3/roles/{id}`: the role and every assignment of it.
    pub fn delete_role(&self, id: &str) -> Result<(), ChangeError> {
        let current = self.roles(None)?.into_iter().find(|r| r.id == id).ok_or_else(|| ChangeError::NotFound("role", id.to_owned()))?;
        if immutable_role(&current.name) {
            return Err(ChangeError::Forbidden(format!(
                "Unable to delete immutable role resource: `{id}. Set resource option \"immutable\" to false first."
            )));
        }
        self.store.transaction(|tx| {
            tx.execute("DELETE FROM keystone_assignments WHERE role_id = ?1", params![id])?;
            tx.execute("DELETE FROM keystone_system_assignments WHERE role_id = ?1", params![id])?;
            tx.execute("DELETE FROM keystone_role_descriptions WHERE id = ?1", params![id])?;
            super::groups::forget(tx, "role", id)?;
            tx.execute("DELETE FROM keystone_implied_roles WHERE prior_role_id = ?1 OR implied_role_id = ?1", params![id])?;
            tx.execute("DELETE FROM keystone_roles WHERE id = ?1", params![id])?;
            Ok::<(), StoreError>(())
        })?;
        Ok(())
    }

    /// A domain by id or name.
    pub fn domain(&self, domain: &DomainRef) -> Result<Option<Domain>, StoreError> {
        let (id, name) = domain.parts();
        self.store.with(|c| {
            c.query_row("SELECT id, name, description, enabled FROM keystone_domains WHERE id = ?1 OR name = ?2", params![id, name], |r| {
                Ok(Domain { id: r.get(0)?, name: r.get(1)?, description: r.get(2)?, enabled: r.get(3)? })
            })
            .optional()
        })
    }

    /// Domains, optionally by name and by `enabled`.
    pub fn domains(&self, name: Option<&str>, enabled: Option<bool>) -> Result<Vec<Domain>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, description, enabled FROM keystone_domains WHERE (?1 IS NULL OR name = ?1) AND (?2 IS NULL OR enabled = ?2) ORDER BY name",
            )?;
            let rows = stmt.query_map(params![name, enabled], |r| {
                Ok(Domain { id: r.get(0)?, name: r.get(1)?, description: r.get(2)?, enabled: r.get(3)? })
            })?;
            rows.collect()
        })
    }

    /// `POST /v3/domains` (Keystone stores a domain as a project acting as a domain, hence the
    /// conflict's wording).
    pub fn create_domain(&self, name: &str, description: &str, enabled: bool) -> Result<Domain, CreateError> {
        let id = super::model::new_id();
        let inserted = self.store.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO keystone_domains (id, name, description, enabled) VALUES (?1, ?2, ?3, ?4)",
                params![id, name, description, enabled],
            )
        })?;
        if inserted == 0 {
            return Err(CreateError::Conflict(format!(
                "Conflict occurred attempting to store project - it is not permitted to have two projects acting as domains with the same name: {name}."
            )));
        }
        Ok(Domain { id, name: name.to_owned(), description: description.to_owned(), enabled })
    }

    /// `PATCH /v3/domains/{id}`.
    pub fn update_domain(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<Domain, ChangeError> {
        let mut domain = self.domain(&DomainRef::Id(id.to_owned()))?.ok_or_else(|| ChangeError::NotFound("domain", id.to_owned()))?;
        if let Some(name) = name.filter(|n| *n != domain.name) {
            if self.domain(&DomainRef::Name(name.to_owned()))?.is_some() {
                return Err(ChangeError::Conflict(format!(
                    "Conflict occurred attempting to store project - it is not permitted to have two projects acting as domains with the same name: {name}."
                )));
            }
            domain.name = name.to_owned();
        }
        if let Some(d) = description {
            domain.description = d.to_owned();
        }
        if let Some(e) = enabled {
            domain.enabled = e;
        }
        self.store.with(|c| {
            c.execute(
                "UPDATE keystone_domains SET name = ?2, description = ?3, enabled = ?4 WHERE id = ?1",
                params![id, domain.name, domain.description, domain.enabled],
            )
        })?;
        Ok(domain)
    }

    /// `DELETE /v3/domains/{id}`: refused while enabled; takes the domain's projects and users
    /// (and their assignments) with it.
    pub fn delete_domain(&self, id: &str) -> Result<(), ChangeError> {
        let domain = self.domain(&DomainRef::Id(id.to_owned()))?.ok_or_else(|| ChangeError::NotFound("domain", id.to_owned()))?;
        if domain.enabled {
            return Err(ChangeError::Forbidden("Cannot delete a domain that is enabled, please disable it first.".into()));
        }
        let users: Vec<String> = self.store.with(|c| {
            let mut stmt = c.prepare("SELECT id FROM keystone_users WHERE domain_id = ?1")?;
            let rows = stmt.query_map(params![id], |r| r.get(0))?;
            rows.collect()
        })?;
        for user in users {
            self.delete_user(&user)?;
        }
        self.store.transaction(|tx| {
            tx.execute(
                "DELETE FROM keystone_assignments WHERE project_id IN (SELECT id FROM keystone_projects WHERE domain_id = ?1)",
                params![id],
            )?;
            tx.execute("DELETE FROM keystone_projects WHERE domain_id = ?1", params![id])?;
            super::groups::forget(tx, "domain", id)?;
            tx.execute("DELETE FROM keystone_domains WHERE id = ?1 AND id != ?2", params![id, DEFAULT_DOMAIN_ID])?;
            Ok::<(), StoreError>(())
        })?;
        Ok(())
    }
}
