//! Barbican's state and rules: secrets and their read ACLs in SQLite, expiry, listing, and the
//! policy defaults: the legacy ones (`[oslo_policy] enforce_new_defaults = False`) or Barbican
//! 23's secure-RBAC ones (`True`), chosen by the deployment profile at every request.

use std::sync::Arc;

use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use crate::deployment::DeploymentState;
use crate::store::{Store, StoreError};
use crate::wire::AuthContext;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS barbican_secrets (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, creator_id TEXT NOT NULL,
    name TEXT, secret_type TEXT NOT NULL, algorithm TEXT, bit_length INTEGER, mode TEXT,
    expiration INTEGER, created INTEGER NOT NULL, updated INTEGER NOT NULL,
    content_type TEXT, payload BLOB);
CREATE INDEX IF NOT EXISTS barbican_secrets_project ON barbican_secrets (project_id, created);
CREATE TABLE IF NOT EXISTS barbican_acls (
    secret_id TEXT PRIMARY KEY REFERENCES barbican_secrets (id) ON DELETE CASCADE,
    project_access INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS barbican_acl_users (
    secret_id TEXT NOT NULL REFERENCES barbican_secrets (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (secret_id, user_id));
";

const COLUMNS: &str =
    "id, project_id, creator_id, name, secret_type, algorithm, bit_length, mode, expiration, created, updated, content_type, payload";

/// Current time, Unix microseconds.
pub fn now_us() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

/// One secret. Times are Unix microseconds, UTC; the payload is stored decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub id: String,
    pub project_id: String,
    pub creator_id: String,
    pub name: Option<String>,
    pub secret_type: String,
    pub algorithm: Option<String>,
    pub bit_length: Option<i64>,
    pub mode: Option<String>,
    pub expiration: Option<i64>,
    pub created: i64,
    pub updated: i64,
    /// Internal content type (`text/plain`, `application/octet-stream`, `application/pkcs8`).
    pub content_type: Option<String>,
    pub payload: Option<Vec<u8>>,
}

impl Secret {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Secret> {
        Ok(Secret {
            id: r.get(0)?,
            project_id: r.get(1)?,
            creator_id: r.get(2)?,
            name: r.get(3)?,
            secret_type: r.get(4)?,
            algorithm: r.get(5)?,
            bit_length: r.get(6)?,
            mode: r.get(7)?,
            expiration: r.get(8)?,
            created: r.get(9)?,
            updated: r.get(10)?,
            content_type: r.get(11)?,
            payload: r.get(12)?,
        })
    }
}

/// A secret's explicit `read` ACL. No row means the implicit `{"project-access": true}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub project_access: bool,
    pub users: Vec<String>,
    pub created: i64,
    pub updated: i64,
}

/// `GET /v1/secrets` filters, already cleaned (`clean_paging_values`).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub project_id: String,
    /// `acl_only=true`: the secrets whose read ACL lists this user, in any project.
    pub acl_user: Option<String>,
    pub name: Option<String>,
    pub alg: Option<String>,
    pub mode: Option<String>,
    pub bits: Option<i64>,
    pub secret_type: Option<String>,
    /// `(column, operator, Unix µs)` from `created`/`updated`/`expiration` filters.
    pub dates: Vec<(&'static str, &'static str, i64)>,
    /// `(column, descending)`; empty means creation order.
    pub sort: Vec<(&'static str, bool)>,
    pub offset: i64,
    pub limit: i64,
}

/// Barbican's state.
pub struct KeyManager {
    store: Arc<Store>,
    deployment: Arc<DeploymentState>,
}

impl KeyManager {
    pub fn open(store: Arc<Store>, deployment: Arc<DeploymentState>) -> Result<KeyManager, StoreError> {
        store.migrate(SCHEMA)?;
        store.migrate(super::orders::SCHEMA)?;
        store.migrate(super::containers::SCHEMA)?;
        store.migrate(super::extras::SCHEMA)?;
        Ok(KeyManager { store, deployment })
    }

    /// The database, for the orders (`orders.rs`).
    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    /// The policy defaults in effect now (`barbican.enforce_new_defaults` of the deployment,
    /// which `/_sim/deployment` can change).
    pub fn policy(&self) -> Policy {
        if self.deployment.get().barbican.enforce_new_defaults { Policy::NewDefaults } else { Policy::Legacy }
    }

    /// `[oslo_policy] enforce_scope`: every Barbican rule is `scope_types=['project']`, so with
    /// it on a system-scoped token is refused whatever its roles (`InvalidScope`, a 403).
    pub fn scope_ok(&self, caller: &AuthContext) -> bool {
        !(caller.system_scope && self.deployment.get().barbican.enforce_scope)
    }

    /// Whether `caller` may do `action` on `secret`: the rules of the policy in effect
    /// ([`allowed`]). A Barbican with the `barbican_ignores_acls` deployment defect
    /// (conformance-suite testing) lets every user read every secret's metadata and payload,
    /// whatever its project and read ACL.
    pub fn permits(&self, action: Action, caller: &AuthContext, secret: &Secret, acl: Option<&Acl>) -> bool {
        if !self.scope_ok(caller) {
            return false;
        }
        let deployment = self.deployment.get();
        if deployment.defects.barbican_ignores_acls && matches!(action, Action::Get | Action::Decrypt) {
            return true;
        }
        let policy = if deployment.barbican.enforce_new_defaults { Policy::NewDefaults } else { Policy::Legacy };
        allowed(policy, action, caller, secret, acl)
    }

    pub fn insert(&self, s: &Secret) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute(
                &format!("INSERT INTO barbican_secrets ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
                params![
                    s.id,
                    s.project_id,
                    s.creator_id,
                    s.name,
                    s.secret_type,
                    s.algorithm,
                    s.bit_length,
                    s.mode,
                    s.expiration,
                    s.created,
                    s.updated,
                    s.content_type,
                    s.payload
                ],
            )
            .map(|_| ())
        })
    }

    /// A live secret by id (any project). Expired secrets are gone, as in Barbican's
    /// repository (`expiration IS NULL OR expiration > now`).
    pub fn get(&self, id: &str, now: i64) -> Result<Option<Secret>, StoreError> {
        self.store.with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM barbican_secrets WHERE id = ?1 AND (expiration IS NULL OR expiration > ?2)"),
                params![id, now],
                Secret::from_row,
            )
            .optional()
        })
    }

    /// One page of live secrets and the total that match.
    pub fn list(&self, f: &ListFilter, now: i64) -> Result<(Vec<Secret>, i64), StoreError> {
        let mut sql = String::from(" FROM barbican_secrets s WHERE (s.expiration IS NULL OR s.expiration > ?)");
        let mut args: Vec<rusqlite::types::Value> = vec![now.into()];
        match &f.acl_user {
            Some(user) => {
                sql.push_str(" AND s.id IN (SELECT secret_id FROM barbican_acl_users WHERE user_id = ?)");
                args.push(user.clone().into());
            }
            None => {
                sql.push_str(" AND s.project_id = ?");
                args.push(f.project_id.clone().into());
            }
        }
        // SQLAlchemy `like` for the text filters, equality for the others.
        for (column, value) in [("name", &f.name), ("algorithm", &f.alg), ("mode", &f.mode)] {
            if let Some(v) = value {
                sql.push_str(&format!(" AND s.{column} LIKE ?"));
                args.push(v.clone().into());
            }
        }
        if let Some(bits) = f.bits {
            sql.push_str(" AND s.bit_length = ?");
            args.push(bits.into());
        }
        if let Some(t) = &f.secret_type {
            sql.push_str(" AND s.secret_type = ?");
            args.push(t.clone().into());
        }
        for (column, op, at) in &f.dates {
            sql.push_str(&format!(" AND s.{column} {op} ?"));
            args.push((*at).into());
        }
        let order: Vec<String> = f.sort.iter().map(|(c, desc)| format!("s.{c} {}", if *desc { "DESC" } else { "ASC" })).collect();
        let order = if order.is_empty() { "s.created ASC, s.rowid ASC".to_owned() } else { format!("{}, s.rowid ASC", order.join(", ")) };
        self.store.with(|c| {
            let total: i64 = c.query_row(&format!("SELECT COUNT(*){sql}"), params_from_iter(args.iter()), |r| r.get(0))?;
            let mut page_args = args.clone();
            page_args.push(f.limit.into());
            page_args.push(f.offset.into());
            let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("s.{c}")).collect();
            let mut stmt = c.prepare(&format!("SELECT {}{sql} ORDER BY {order} LIMIT ? OFFSET ?", columns.join(", ")))?;
            let rows = stmt.query_map(params_from_iter(page_args.iter()), Secret::from_row)?;
            Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total))
        })
    }

    /// Adds the payload of a metadata-only secret. `false` if it already has one.
    pub fn set_payload(&self, id: &str, content_type: &str, payload: &[u8], now: i64) -> Result<bool, StoreError> {
        self.store.with(|c| {
            c.execute(
                "UPDATE barbican_secrets SET content_type = ?2, payload = ?3, updated = ?4 WHERE id = ?1 AND payload IS NULL",
                params![id, content_type, payload, now],
            )
            .map(|n| n == 1)
        })
    }

    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.store.transaction(|tx| {
            tx.execute("DELETE FROM barbican_acl_users WHERE secret_id = ?1", params![id])?;
            tx.execute("DELETE FROM barbican_acls WHERE secret_id = ?1", params![id])?;
            // Its metadata, consumers and container references go with it.
            for table in ["barbican_secret_metadata", "barbican_secret_consumers", "barbican_container_secrets"] {
                tx.execute(&format!("DELETE FROM {table} WHERE secret_id = ?1"), params![id])?;
            }
            Ok::<bool, StoreError>(tx.execute("DELETE FROM barbican_secrets WHERE id = ?1", params![id])? == 1)
        })
    }

    pub fn acl(&self, secret_id: &str) -> Result<Option<Acl>, StoreError> {
        self.store.with(|c| {
            let head: Option<(bool, i64, i64)> = c
                .query_row("SELECT project_access, created, updated FROM barbican_acls WHERE secret_id = ?1", params![secret_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            let Some((project_access, created, updated)) = head else { return Ok(None) };
            let mut stmt = c.prepare("SELECT user_id FROM barbican_acl_users WHERE secret_id = ?1 ORDER BY position")?;
            let users = stmt.query_map(params![secret_id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(Some(Acl { project_access, users, created, updated }))
        })
    }

    /// Creates or updates the read ACL. `users: None` keeps the current users (PATCH);
    /// `project_access: None` keeps the current flag, or true for a new ACL.
    pub fn write_acl(&self, secret_id: &str, project_access: Option<bool>, users: Option<&[String]>, now: i64) -> Result<(), StoreError> {
        self.store.transaction(|tx| {
            let current: Option<bool> = tx
                .query_row("SELECT project_access FROM barbican_acls WHERE secret_id = ?1", params![secret_id], |r| r.get(0))
                .optional()?;
            let access = project_access.or(current).unwrap_or(true);
            if current.is_some() {
                tx.execute(
                    "UPDATE barbican_acls SET project_access = ?2, updated = ?3 WHERE secret_id = ?1",
                    params![secret_id, access, now],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO barbican_acls (secret_id, project_access, created, updated) VALUES (?1, ?2, ?3, ?3)",
                    params![secret_id, access, now],
                )?;
            }
            if let Some(users) = users {
                tx.execute("DELETE FROM barbican_acl_users WHERE secret_id = ?1", params![secret_id])?;
                for (position, user) in users.iter().enumerate() {
                    tx.execute(
                        "INSERT OR IGNORE INTO barbican_acl_users (secret_id, user_id, position) VALUES (?1, ?2, ?3)",
                        params![secret_id, user, position as i64],
                    )?;
                }
            }
            Ok::<(), StoreError>(())
        })
    }

    /// Back to the implicit default ACL.
    pub fn delete_acl(&self, secret_id: &str) -> Result<(), StoreError> {
        self.store.transaction(|tx| {
            tx.execute("DELETE FROM barbican_acl_users WHERE secret_id = ?1", params![secret_id])?;
            tx.execute("DELETE FROM barbican_acls WHERE secret_id = ?1", params![secret_id])?;
            Ok::<(), StoreError>(())
        })
    }

    /// Forgets every secret, order, container and quota (simulator reset).
    pub fn reset(&self) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute_batch(
                "DELETE FROM barbican_orders; DELETE FROM barbican_acl_users; DELETE FROM barbican_acls; DELETE FROM barbican_secrets;
                 DELETE FROM barbican_containers; DELETE FROM barbican_container_secrets; DELETE FROM barbican_container_consumers;
                 DELETE FROM barbican_container_acls; DELETE FROM barbican_container_acl_users; DELETE FROM barbican_secret_metadata;
                 DELETE FROM barbican_secret_consumers; DELETE FROM barbican_project_quotas; DELETE FROM barbican_transport_keys;",
            )
        })
    }
}

/// `validate_id_is_uuid`: the canonical lowercase form of a version-4 UUID, nothing else.
pub fn valid_secret_id(id: &str) -> bool {
    uuid::Uuid::parse_str(id)
        .is_ok_and(|u| u.get_version_num() == 4 && u.get_variant() == uuid::Variant::RFC4122 && u.hyphenated().to_string() == id)
}

// ---- policy: barbican/common/policies ----
//
// Each rule there is a new check string `True:%(enforce_new_defaults)s and (...)` with a
// deprecated (legacy) rule. With `enforce_new_defaults = False` oslo.policy ORs the two, and
// the new string is false because of its first term: the legacy rule alone decides. With
// `True` the deprecated rule is not evaluated: the new string alone decides.

/// Which of Barbican's policy defaults the cloud runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The deprecated rules (`enforce_new_defaults = False`): `admin`, `creator`, `observer`,
    /// `audit`.
    Legacy,
    /// The secure-RBAC rules (`enforce_new_defaults = True`): `admin`, `member`.
    NewDefaults,
}

/// A policy-checked operation on one secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `secret:get`, metadata.
    Get,
    /// `secret:decrypt`, the payload.
    Decrypt,
    /// `secret:put`.
    Put,
    /// `secret:delete`.
    Delete,
    /// `secret_acls:get`.
    AclGet,
    /// `secret_acls:put_patch` and `secret_acls:delete`.
    AclChange,
}

pub(super) fn any_role(caller: &AuthContext, roles: &[&str]) -> bool {
    roles.iter().any(|r| caller.has_role(r))
}

/// `secrets:post` (and `orders:post`, `orders:put`): legacy `rule:admin_or_creator`; new
/// `role:member`.
pub fn may_create(policy: Policy, caller: &AuthContext) -> bool {
    match policy {
        Policy::Legacy => any_role(caller, &["admin", "creator"]),
        Policy::NewDefaults => caller.has_role("member"),
    }
}

/// `secrets:get` (and `orders:get`): legacy `rule:all_but_audit`; new `role:member`.
pub fn may_list(policy: Policy, caller: &AuthContext) -> bool {
    match policy {
        Policy::Legacy => any_role(caller, &["admin", "observer", "creator"]),
        Policy::NewDefaults => caller.has_role("member"),
    }
}

/// Evaluates the rule in effect for `action` on `secret` with its ACL.
pub fn allowed(policy: Policy, action: Action, caller: &AuthContext, secret: &Secret, acl: Option<&Acl>) -> bool {
    match policy {
        Policy::Legacy => allowed_legacy(action, caller, secret, acl),
        Policy::NewDefaults => allowed_new(action, caller, secret, acl),
    }
}

/// The secure-RBAC rules (`barbican/common/policies/{base,secrets,acls}.py`, Barbican 23).
/// The policy target is the same for the secret and the ACL controllers
/// (`ACLMixin.get_acl_tuple`): `read_project_access` from the ACL, `True` without one.
fn allowed_new(action: Action, caller: &AuthContext, secret: &Secret, acl: Option<&Acl>) -> bool {
    let project_match = caller.project_id == secret.project_id;
    // secret_project_admin, secret_project_member, secret_owner, secret_is_not_private,
    // secret_acl_read.
    let project_admin = caller.has_role("admin") && project_match;
    let project_member = caller.has_role("member") && project_match;
    let owner = caller.user_id == secret.creator_id;
    let not_private = acl.is_none_or(|a| a.project_access);
    let acl_read = acl.is_some_and(|a| a.users.contains(&caller.user_id));
    // `rule:secret_project_admin or (member and owner) or (member and not private)`: the core
    // of every per-secret rule.
    let project_rule = project_admin || (project_member && (owner || not_private));
    match action {
        // `role:admin or ... or rule:secret_acl_read`: an admin of any project reads metadata.
        Action::Get => caller.has_role("admin") || project_rule || acl_read,
        Action::Decrypt => project_rule || acl_read,
        Action::Put => project_rule,
        // `role:admin or ...`: an admin of any project deletes.
        Action::Delete => caller.has_role("admin") || project_rule,
        // secret_acls:get, secret_acls:put_patch and secret_acls:delete are the same string.
        Action::AclGet | Action::AclChange => project_rule,
    }
}

/// The legacy (deprecated) rules.
fn allowed_legacy(action: Action, caller: &AuthContext, secret: &Secret, acl: Option<&Acl>) -> bool {
    let project_match = caller.project_id == secret.project_id;
    let creator_user = caller.user_id == secret.creator_id;
    let creator = caller.has_role("creator");
    let project_admin = caller.has_role("admin") && project_match;
    let project_creator = creator && project_match && creator_user;
    let project_creator_role = creator && project_match;
    // Without an ACL row Barbican fills in `read_project_access: True`.
    let private = acl.is_some_and(|a| !a.project_access);
    let acl_read = acl.is_some_and(|a| a.users.contains(&caller.user_id));
    let all_users = any_role(caller, &["admin", "observer", "creator", "audit", "key-manager:service-admin"]);
    let all_but_audit = any_role(caller, &["admin", "observer", "creator"]);
    match action {
        Action::Get => (all_users && project_match && !private) || project_creator || project_admin || acl_read,
        Action::Decrypt => (all_but_audit && project_match && !private) || project_creator || project_admin || acl_read,
        Action::Put => any_role(caller, &["admin", "creator"]) && project_match,
        Action::Delete => project_admin || project_creator || (project_creator_role && !private),
        Action::AclGet => all_but_audit && project_match,
        // `secret_acls:put_patch` / `:delete` are `rule:secret_project_admin or
        // rule:secret_project_creator or (rule:secret_project_creator_role and
        // rule:secret_non_private_read)`: a creator-role user who did not create a private
        // secret is refused (checked against Barbican 23, parity references
        // barbican_403_acl_*_private_by_creator_role).
        Action::AclChange => project_admin || project_creator || (project_creator_role && !private),
    }
}

#[cfg(test)]
mod tests {
    use super::valid_secret_id;

    #[test]
    fn secret_ids_must_be_canonical_uuid4() {
        assert!(valid_secret_id("1b4e28ba-2fa1-41d2-883f-0016d3cca427"));
        assert!(!valid_secret_id("1B4E28BA-2FA1-41D2-883F-0016D3CCA427"));
        assert!(!valid_secret_id("1b4e28ba2fa141d2883f0016d3cca427"));
        assert!(!valid_secret_id("9999999f-ffff-ffff-9fff-f99f999ff9ff"));
        assert!(!valid_secret_id("abcde"));
    }
}
