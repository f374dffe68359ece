//! Role assignments on the system (`/v3/system/users/{user_id}/roles/{role_id}`), the
//! projects a user has roles on (`/v3/users/{id}/projects`, `/v3/auth/projects`), and the
//! catalog of a system-scoped token. Project grants are in `model.rs`.

use rusqlite::{OptionalExtension, params};
use sigstack_client::CatalogEntry;

use super::model::{Entity, Identity, Seed};
use crate::store::StoreError;

/// Keystone's `system_assignment` table (user actors only: groups are not modelled), its
/// domains (the `Default` domain among them, as `keystone-manage bootstrap` leaves it) and
/// the descriptions of roles.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keystone_system_assignments (user_id TEXT NOT NULL, role_id TEXT NOT NULL, PRIMARY KEY (user_id, role_id));
CREATE TABLE IF NOT EXISTS keystone_domains (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '', enabled INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS keystone_role_descriptions (id TEXT PRIMARY KEY, description TEXT);
CREATE TABLE IF NOT EXISTS keystone_implied_roles (prior_role_id TEXT NOT NULL, implied_role_id TEXT NOT NULL, PRIMARY KEY (prior_role_id, implied_role_id));
INSERT OR IGNORE INTO keystone_domains (id, name, description, enabled) VALUES ('default', 'Default', 'The default domain', 1);
";

impl Identity {
    /// `keystone-manage bootstrap`'s `_bootstrap_system_role_assignment`: the admin user (the
    /// first seeded user holding the admin role) has the admin role on the system. Done once
    /// per state database, like the rest of the seed.
    pub(super) fn seed_system(&self, seed: &Seed) -> Result<(), StoreError> {
        let Some(admin) = seed.users.iter().find(|u| u.roles.iter().any(|r| r == "admin")) else {
            return Ok(());
        };
        self.store.transaction(|tx| {
            let done: Option<Vec<u8>> =
                tx.query_row("SELECT value FROM keystone_meta WHERE key = 'system_seeded'", [], |r| r.get(0)).optional()?;
            if done.is_some() {
                return Ok::<(), StoreError>(());
            }
            tx.execute(
                "INSERT OR IGNORE INTO keystone_system_assignments (user_id, role_id)
                 SELECT u.id, r.id FROM keystone_users u, keystone_roles r WHERE u.name = ?1 AND u.domain_id = 'default' AND r.name = 'admin'",
                params![admin.name],
            )?;
            tx.execute("INSERT INTO keystone_meta (key, value) VALUES ('system_seeded', x'01')", [])?;
            Ok(())
        })?;
        self.seed_implied_roles()
    }

    /// `keystone-manage bootstrap`'s roles and their implications (2023.2 and later): a
    /// `manager` role, and admin implies manager, manager implies member, member implies
    /// reader. A token carries the implied roles too (`add_implied_roles`).
    fn seed_implied_roles(&self) -> Result<(), StoreError> {
        self.store.transaction(|tx| {
            let done: Option<Vec<u8>> =
                tx.query_row("SELECT value FROM keystone_meta WHERE key = 'implied_seeded'", [], |r| r.get(0)).optional()?;
            if done.is_some() {
                return Ok::<(), StoreError>(());
            }
            tx.execute("INSERT OR IGNORE INTO keystone_roles (id, name) VALUES (?1, 'manager')", params![super::model::new_id()])?;
            for (prior, implied) in [("member", "reader"), ("manager", "member"), ("admin", "manager")] {
                tx.execute(
                    "INSERT OR IGNORE INTO keystone_implied_roles (prior_role_id, implied_role_id)
                     SELECT p.id, i.id FROM keystone_roles p, keystone_roles i WHERE p.name = ?1 AND i.name = ?2",
                    params![prior, implied],
                )?;
            }
            tx.execute("INSERT INTO keystone_meta (key, value) VALUES ('implied_seeded', x'01')", [])?;
            Ok(())
        })
    }

    /// `create_system_grant_for_user` (silent when it exists).
    pub fn grant_system(&self, user_id: &str, role_id: &str) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute("INSERT OR IGNORE INTO keystone_system_assignments (user_id, role_id) VALUES (?1, ?2)", params![user_id, role_id])
                .map(|_| ())
        })
    }

    /// `delete_system_grant_for_user`: false when there was none.
    pub fn revoke_system(&self, user_id: &str, role_id: &str) -> Result<bool, StoreError> {
        self.store.with(|c| {
            c.execute("DELETE FROM keystone_system_assignments WHERE user_id = ?1 AND role_id = ?2", params![user_id, role_id])
                .map(|n| n > 0)
        })
    }

    /// System role assignments `(user, role)`, optionally for one user and one role.
    pub fn system_assignments(&self, user: Option<&str>, role: Option<&str>) -> Result<Vec<(Entity, Entity)>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare(
                "SELECT u.id, u.name, u.domain_id, r.id, r.name
                 FROM keystone_system_assignments a
                 JOIN keystone_users u ON u.id = a.user_id
                 JOIN keystone_roles r ON r.id = a.role_id
                 WHERE (?1 IS NULL OR a.user_id = ?1) AND (?2 IS NULL OR a.role_id = ?2)
                 ORDER BY r.name, u.name",
            )?;
            let rows = stmt.query_map(params![user, role], |r| {
                Ok((
                    Entity { id: r.get(0)?, name: r.get(1)?, domain_id: r.get(2)? },
                    Entity { id: r.get(3)?, name: r.get(4)?, domain_id: None },
                ))
            })?;
            rows.collect()
        })
    }

    /// `list_projects_for_user`: the projects the user has a role on, each once.
    pub fn projects_for_user(&self, user_id: &str) -> Result<Vec<Entity>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare(
                "SELECT DISTINCT p.id, p.name, p.domain_id FROM keystone_assignments a JOIN keystone_projects p ON p.id = a.project_id
                 WHERE a.user_id = ?1 ORDER BY p.name",
            )?;
            let rows = stmt.query_map(params![user_id], |r| Ok(Entity { id: r.get(0)?, name: r.get(1)?, domain_id: r.get(2)? }))?;
            rows.collect()
        })
    }

    /// The catalog without a project (`get_v3_catalog(user_id, None)`): endpoints whose URL
    /// needs the project id are left out (Keystone's `format_url` fails silently on
    /// `project_id` and the endpoint is skipped); the services stay.
    pub fn system_catalog(&self) -> Vec<CatalogEntry> {
        let mut catalog = self.catalog();
        for entry in &mut catalog {
            entry.endpoints.retain(|e| !e.url.contains("$(project_id)s") && !e.url.contains("%(project_id)s"));
        }
        catalog
    }
}
