//! Groups, their members, and role assignments on domains (for users and groups): what
//! `/v3/auth/domains` lists (`list_domains_for_user` and `list_domains_for_groups`). Tokens
//! scoped to a domain are not modelled.

use rusqlite::{OptionalExtension, params};

use super::model::{CreateError, Entity, Identity};
use crate::store::StoreError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keystone_groups (id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', UNIQUE (name, domain_id));
CREATE TABLE IF NOT EXISTS keystone_group_members (group_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (group_id, user_id));
CREATE TABLE IF NOT EXISTS keystone_domain_assignments (actor_id TEXT NOT NULL, domain_id TEXT NOT NULL, role_id TEXT NOT NULL, PRIMARY KEY (actor_id, domain_id, role_id));
";

/// A role assignment on a domain: `(actor id, whether the actor is a group, domain id, role id)`.
pub type DomainAssignment = (String, bool, String, String);

/// One group as `/v3/groups` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
}

impl Identity {
    /// `POST /v3/groups`.
    pub fn create_group(&self, name: &str, domain_id: &str, description: &str) -> Result<Group, CreateError> {
        self.check_domain(domain_id)?;
        let id = super::model::new_id();
        let inserted = self.store.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO keystone_groups (id, name, domain_id, description) VALUES (?1, ?2, ?3, ?4)",
                params![id, name, domain_id, description],
            )
        })?;
        if inserted == 0 {
            return Err(CreateError::Conflict(format!(
                "Conflict occurred attempting to store group - Duplicate entry found with name {name} at domain ID {domain_id}."
            )));
        }
        Ok(Group { id, name: name.to_owned(), domain_id: domain_id.to_owned(), description: description.to_owned() })
    }

    pub fn group(&self, id: &str) -> Result<Option<Group>, StoreError> {
        self.store.with(|c| {
            c.query_row("SELECT id, name, domain_id, description FROM keystone_groups WHERE id = ?1", params![id], |r| {
                Ok(Group { id: r.get(0)?, name: r.get(1)?, domain_id: r.get(2)?, description: r.get(3)? })
            })
            .optional()
        })
    }

    pub fn groups(&self, name: Option<&str>) -> Result<Vec<Group>, StoreError> {
        self.store.with(|c| {
            let mut stmt =
                c.prepare("SELECT id, name, domain_id, description FROM keystone_groups WHERE (?1 IS NULL OR name = ?1) ORDER BY name")?;
            let rows = stmt
                .query_map(params![name], |r| Ok(Group { id: r.get(0)?, name: r.get(1)?, domain_id: r.get(2)?, description: r.get(3)? }))?;
            rows.collect()
        })
    }

    /// `DELETE /v3/groups/{id}`: the group, its memberships and its assignments.
    pub fn delete_group(&self, id: &str) -> Result<bool, StoreError> {
        self.store.transaction(|tx| {
            tx.execute("DELETE FROM keystone_group_members WHERE group_id = ?1", params![id])?;
            tx.execute("DELETE FROM keystone_domain_assignments WHERE actor_id = ?1", params![id])?;
            Ok(tx.execute("DELETE FROM keystone_groups WHERE id = ?1", params![id])? > 0)
        })
    }

    pub fn add_member(&self, group_id: &str, user_id: &str) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute("INSERT OR IGNORE INTO keystone_group_members (group_id, user_id) VALUES (?1, ?2)", params![group_id, user_id])
                .map(|_| ())
        })
    }

    pub fn is_member(&self, group_id: &str, user_id: &str) -> Result<bool, StoreError> {
        self.store.with(|c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM keystone_group_members WHERE group_id = ?1 AND user_id = ?2)",
                params![group_id, user_id],
                |r| r.get(0),
            )
        })
    }

    pub fn remove_member(&self, group_id: &str, user_id: &str) -> Result<bool, StoreError> {
        self.store.with(|c| {
            c.execute("DELETE FROM keystone_group_members WHERE group_id = ?1 AND user_id = ?2", params![group_id, user_id]).map(|n| n > 0)
        })
    }

    /// A role on a domain for a user or a group (`actor_id`), silent when it exists.
    pub fn grant_domain(&self, actor_id: &str, domain_id: &str, role_id: &str) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO keystone_domain_assignments (actor_id, domain_id, role_id) VALUES (?1, ?2, ?3)",
                params![actor_id, domain_id, role_id],
            )
            .map(|_| ())
        })
    }

    pub fn has_domain_grant(&self, actor_id: &str, domain_id: &str, role_id: &str) -> Result<bool, StoreError> {
        self.store.with(|c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM keystone_domain_assignments WHERE actor_id = ?1 AND domain_id = ?2 AND role_id = ?3)",
                params![actor_id, domain_id, role_id],
                |r| r.get(0),
            )
        })
    }

    pub fn revoke_domain(&self, actor_id: &str, domain_id: &str, role_id: &str) -> Result<bool, StoreError> {
        self.store.with(|c| {
            c.execute(
                "DELETE FROM keystone_domain_assignments WHERE actor_id = ?1 AND domain_id = ?2 AND role_id = ?3",
                params![actor_id, domain_id, role_id],
            )
            .map(|n| n > 0)
        })
    }

    /// Domain role assignments, optionally by actor (user or group), domain and role.
    pub fn domain_assignments(
        &self,
        actor: Option<&str>,
        domain: Option<&str>,
        role: Option<&str>,
    ) -> Result<Vec<DomainAssignment>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare(
                "SELECT a.actor_id, EXISTS (SELECT 1 FROM keystone_groups g WHERE g.id = a.actor_id), a.domain_id, a.role_id
                 FROM keystone_domain_assignments a
                 WHERE (?1 IS NULL OR a.actor_id = ?1) AND (?2 IS NULL OR a.domain_id = ?2) AND (?3 IS NULL OR a.role_id = ?3)
                 ORDER BY a.domain_id, a.actor_id, a.role_id",
            )?;
            let rows = stmt.query_map(params![actor, domain, role], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect()
        })
    }

    /// The domains the user has a role on, directly or through a group, each once.
    pub fn domains_for_user(&self, user_id: &str) -> Result<Vec<super::roles::Domain>, StoreError> {
        let ids: Vec<String> = self.store.with(|c| {
            let mut stmt = c.prepare(
                "SELECT DISTINCT a.domain_id FROM keystone_domain_assignments a
                 WHERE a.actor_id = ?1 OR a.actor_id IN (SELECT group_id FROM keystone_group_members WHERE user_id = ?1)",
            )?;
            let rows = stmt.query_map(params![user_id], |r| r.get(0))?;
            rows.collect()
        })?;
        let mut domains = Vec::new();
        for id in ids {
            domains.extend(self.domain(&super::model::DomainRef::Id(id))?);
        }
        domains.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(domains)
    }

    /// The roles a user or group has on a domain.
    pub fn domain_roles(&self, actor_id: &str, domain_id: &str) -> Result<Vec<Entity>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare(
                "SELECT r.id, r.name FROM keystone_domain_assignments a JOIN keystone_roles r ON r.id = a.role_id
                 WHERE a.actor_id = ?1 AND a.domain_id = ?2 ORDER BY r.name",
            )?;
            let rows = stmt.query_map(params![actor_id, domain_id], |r| Ok(Entity { id: r.get(0)?, name: r.get(1)?, domain_id: None }))?;
            rows.collect()
        })
    }
}

/// What goes with a user, role or domain when it is deleted.
pub(super) fn forget(tx: &rusqlite::Transaction<'_>, column: &str, id: &str) -> rusqlite::Result<()> {
    match column {
        "user" => {
            tx.execute("DELETE FROM keystone_group_members WHERE user_id = ?1", params![id])?;
            tx.execute("DELETE FROM keystone_domain_assignments WHERE actor_id = ?1", params![id])?;
        }
        "role" => {
            tx.execute("DELETE FROM keystone_domain_assignments WHERE role_id = ?1", params![id])?;
        }
        _ => {
            tx.execute(
                "DELETE FROM keystone_group_members WHERE group_id IN (SELECT id FROM keystone_groups WHERE domain_id = ?1)",
                params![id],
            )?;
            tx.execute("DELETE FROM keystone_domain_assignments WHERE domain_id = ?1", params![id])?;
            tx.execute("DELETE FROM keystone_groups WHERE domain_id = ?1", params![id])?;
        }
    }
    Ok(())
}
