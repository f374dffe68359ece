//! Tokens: self-contained and signed (like Fernet): a base64url payload and an HMAC-SHA256 tag
//! under a secret kept in the state database, so tokens survive a restart. The payload carries
//! what a Fernet payload does: user, project, methods, audit ids, expiry, and the application
//! credential a token came from. Roles are looked up at validation time, as Keystone does, so a
//! role granted after a token was issued shows on the next validation; a token from an
//! application credential carries the credential's roles the user still has, and stops
//! validating once the credential is deleted.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::application_credentials::ApplicationCredential;
use super::model::{AuthError, Identity, ProjectRef, UserRef, new_id};
use crate::store::StoreError;
use crate::wire::{AuthContext, format_keystone};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenPayload {
    u: String,
    p: String,
    e: i64,
    i: i64,
    a: String,
    /// Methods; absent in tokens from before methods were recorded: `["password"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    m: Vec<String>,
    /// The application credential the token was issued from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
    /// The audit id of the chain's first token (a rescoped token's second audit id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pa: Option<String>,
    /// System-scoped (`"system": {"all": true}`); `p` is then empty. Empty `p` without it:
    /// an unscoped token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    s: bool,
}

/// What a token is scoped to (Keystone's `project_scoped`, `system_scoped`, `unscoped`;
/// domain and trust scopes are not modelled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Project(String),
    System,
    Unscoped,
}

/// The roles a token carries: the direct assignments and every role they imply, transitively
/// (`add_implied_roles`).
const EFFECTIVE_PROJECT_ROLES: &str = "WITH RECURSIVE effective(id) AS (
    SELECT role_id FROM keystone_assignments WHERE user_id = ?1 AND project_id = ?2
    UNION SELECT i.implied_role_id FROM keystone_implied_roles i JOIN effective e ON i.prior_role_id = e.id)
SELECT r.id, r.name FROM effective e JOIN keystone_roles r ON r.id = e.id ORDER BY r.name";
const EFFECTIVE_SYSTEM_ROLES: &str = "WITH RECURSIVE effective(id) AS (
    SELECT role_id FROM keystone_system_assignments WHERE user_id = ?1 AND ?2 = ''
    UNION SELECT i.implied_role_id FROM keystone_implied_roles i JOIN effective e ON i.prior_role_id = e.id)
SELECT r.id, r.name FROM effective e JOIN keystone_roles r ON r.id = e.id ORDER BY r.name";

/// What a valid token says beyond the caller (`AuthContext`): what Keystone renders.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub methods: Vec<String>,
    /// `[own, chain's first]`, as Keystone's `audit_ids`.
    pub audit_ids: Vec<String>,
    /// Unix seconds (a Fernet token's timestamp has second precision).
    pub issued_at: i64,
    pub expires_at: i64,
    pub application_credential: Option<ApplicationCredential>,
    pub scope: Scope,
}

/// Why a token does not validate; Keystone's `validate_token` says which.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a token this Keystone signed (Fernet: `Could not recognize Fernet token`).
    #[error("Could not recognize Fernet token")]
    Unrecognized,
    /// Expired, revoked, or its user, project or roles are gone.
    #[error("Failed to validate token")]
    Invalid,
    /// Issued from an application credential since deleted.
    #[error("Could not find Application Credential: {0}.")]
    ApplicationCredentialNotFound(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<TokenError> for AuthError {
    fn from(e: TokenError) -> AuthError {
        match e {
            TokenError::Store(s) => AuthError::Store(s),
            _ => AuthError::Unauthorized,
        }
    }
}

/// What a new token is for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub user_id: String,
    pub scope: Scope,
    pub methods: Vec<String>,
    /// Unix seconds; `None`: now plus `[token] expiration`.
    pub expires_at: Option<i64>,
    pub application_credential: Option<ApplicationCredential>,
    pub parent_audit_id: Option<String>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Identity {
    fn tag(&self, payload: &str) -> Vec<u8> {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC accepts any key length");
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn decode(&self, token: &str) -> Result<TokenPayload, TokenError> {
        let (payload_b64, tag_b64) = token.split_once('.').ok_or(TokenError::Unrecognized)?;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let json = engine.decode(payload_b64).map_err(|_| TokenError::Unrecognized)?;
        let json = String::from_utf8(json).map_err(|_| TokenError::Unrecognized)?;
        let tag = engine.decode(tag_b64).map_err(|_| TokenError::Unrecognized)?;
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC accepts any key length");
        mac.update(json.as_bytes());
        mac.verify_slice(&tag).map_err(|_| TokenError::Unrecognized)?;
        serde_json::from_str(&json).map_err(|_| TokenError::Unrecognized)
    }

    /// Issues a token (Keystone's `issue_token`): expiry from `[token] expiration` unless kept
    /// from a rescoped token, never past the application credential's own expiry
    /// (CVE-2022-2447); refused (401) when the user has no role on the project then.
    pub fn issue(&self, grant: Grant) -> Result<(String, AuthContext, TokenInfo), AuthError> {
        let now = now();
        let mut expires = grant.expires_at.unwrap_or(now + self.token_expiration());
        if let Some(cred_expiry) = grant.application_credential.as_ref().and_then(|c| c.expires_at) {
            expires = expires.min(cred_expiry.div_euclid(1_000_000));
        }
        let (project_id, system) = match grant.scope {
            Scope::Project(p) => (p, false),
            Scope::System => (String::new(), true),
            Scope::Unscoped => (String::new(), false),
        };
        let payload = TokenPayload {
            u: grant.user_id,
            p: project_id,
            s: system,
            e: expires,
            i: now,
            a: b64(&self.tag(&new_id())[..16]),
            m: grant.methods,
            c: grant.application_credential.map(|c| c.id),
            pa: grant.parent_audit_id,
        };
        let json = serde_json::to_string(&payload).unwrap_or_default();
        let token = format!("{}.{}", b64(json.as_bytes()), b64(&self.tag(&json)));
        let (context, info) = self.inspect(&token)?;
        Ok((token, context, info))
    }

    pub fn user_id(&self, user: &UserRef) -> Result<Option<String>, StoreError> {
        self.store.with(|c| match user {
            UserRef::Id(id) => c.query_row("SELECT id FROM keystone_users WHERE id = ?1", params![id], |r| r.get(0)).optional(),
            UserRef::Name { name, domain } => {
                let (domain_id, domain_name) = domain.parts();
                c.query_row(
                    "SELECT id FROM keystone_users WHERE name = ?1 AND domain_id = (SELECT id FROM keystone_domains WHERE id = ?2 OR name = ?3)",
                    params![name, domain_id, domain_name],
                    |r| r.get(0),
                )
                .optional()
            }
        })
    }

    pub fn project_id(&self, project: &ProjectRef) -> Result<Option<String>, StoreError> {
        self.store.with(|c| match project {
            ProjectRef::Id(id) => c.query_row("SELECT id FROM keystone_projects WHERE id = ?1", params![id], |r| r.get(0)).optional(),
            ProjectRef::Name { name, domain } => {
                let (domain_id, domain_name) = domain.parts();
                c.query_row(
                    "SELECT id FROM keystone_projects WHERE name = ?1 AND domain_id = (SELECT id FROM keystone_domains WHERE id = ?2 OR name = ?3)",
                    params![name, domain_id, domain_name],
                    |r| r.get(0),
                )
                .optional()
            }
        })
    }

    /// The user's `default_project_id`, what Keystone scopes an auth request without a scope to.
    pub fn default_project_id(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        let project: Option<Option<String>> = self.store.with(|c| {
            c.query_row("SELECT default_project_id FROM keystone_users WHERE id = ?1", params![user_id], |r| r.get(0)).optional()
        })?;
        Ok(project.flatten())
    }

    /// Keystone's `_check_and_set_default_scoping`: the user's `default_project_id` when the
    /// project exists and the user has a role on it, else an unscoped token.
    pub fn default_scope(&self, user_id: &str) -> Result<Scope, StoreError> {
        let Some(project_id) = self.default_project_id(user_id)? else {
            return Ok(Scope::Unscoped);
        };
        let has_role: bool = self.store.with(|c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM keystone_assignments a JOIN keystone_projects p ON p.id = a.project_id WHERE a.user_id = ?1 AND a.project_id = ?2)",
                params![user_id, project_id],
                |r| r.get(0),
            )
        })?;
        Ok(if has_role { Scope::Project(project_id) } else { Scope::Unscoped })
    }

    /// Password authentication with the scope asked for (already resolved), or, without one,
    /// Keystone's default scoping (`_check_and_set_default_scoping`).
    pub fn authenticate(
        &self,
        user: &UserRef,
        password: &str,
        scope: Option<Scope>,
    ) -> Result<(String, AuthContext, TokenInfo), AuthError> {
        let user_id = self.user_id(user)?.ok_or(AuthError::Unauthorized)?;
        let stored: Option<String> = self
            .store
            .with(|c| c.query_row("SELECT password FROM keystone_users WHERE id = ?1", params![user_id], |r| r.get(0)).optional())?;
        let password = self.password_bytes(password).map_err(AuthError::PasswordTooLong)?;
        if !stored.is_some_and(|hash| super::passwords::verify_bytes(password, &hash)) {
            return Err(AuthError::Unauthorized);
        }
        let scope = match scope {
            Some(scope) => scope,
            None => self.default_scope(&user_id)?,
        };
        let grant = Grant {
            user_id,
            scope,
            methods: vec!["password".into()],
            expires_at: None,
            application_credential: None,
            parent_audit_id: None,
        };
        self.issue(grant)
    }

    /// Checks a token's signature, expiry and revocation, and loads the caller.
    pub fn validate(&self, token: &str) -> Result<AuthContext, AuthError> {
        Ok(self.inspect(token)?.0)
    }

    /// `validate` with what Keystone's token body needs and why a token failed.
    pub fn inspect(&self, token: &str) -> Result<(AuthContext, TokenInfo), TokenError> {
        let payload = self.decode(token)?;
        if payload.e <= now() {
            return Err(TokenError::Invalid);
        }
        let application_credential = match &payload.c {
            Some(id) => Some(self.application_credential(id)?.ok_or_else(|| TokenError::ApplicationCredentialNotFound(id.clone()))?),
            None => None,
        };
        let scope = match (payload.p.is_empty(), payload.s) {
            (false, _) => Scope::Project(payload.p.clone()),
            (true, true) => Scope::System,
            (true, false) => Scope::Unscoped,
        };
        let context = self.store.with(|c| {
            let revoked: Option<i64> =
                c.query_row("SELECT expires FROM keystone_revoked WHERE audit_id = ?1", params![payload.a], |r| r.get(0)).optional()?;
            if revoked.is_some() {
                return Ok(None);
            }
            let user: Option<String> =
                c.query_row("SELECT name FROM keystone_users WHERE id = ?1", params![payload.u], |r| r.get(0)).optional()?;
            let project: Option<String> = match &scope {
                Scope::Project(p) => {
                    c.query_row("SELECT name FROM keystone_projects WHERE id = ?1", params![p], |r| r.get(0)).optional()?
                }
                Scope::System | Scope::Unscoped => Some(String::new()),
            };
            let sql = match &scope {
                Scope::Project(_) => EFFECTIVE_PROJECT_ROLES,
                Scope::System => EFFECTIVE_SYSTEM_ROLES,
                Scope::Unscoped => return Ok(user.zip(project).map(|(u, p)| (u, p, Vec::new()))),
            };
            let mut stmt = c.prepare(sql)?;
            let roles = stmt
                .query_map(params![payload.u, payload.p], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(user.zip(project).map(|(user_name, project_name)| (user_name, project_name, roles)))
        })?;
        let (user_name, project_name, mut roles) = context.ok_or(TokenError::Invalid)?;
        // An application credential's token has the credential's roles the user still holds.
        if let Some(cred) = &application_credential {
            roles.retain(|(id, _)| cred.roles.iter().any(|r| &r.id == id));
        }
        // Keystone's `_validate_project_scope` / `_validate_system_scope`: no role on the
        // project (or the system), no valid token. An unscoped token carries no roles.
        if roles.is_empty() && scope != Scope::Unscoped {
            return Err(TokenError::Invalid);
        }
        let expires = time::OffsetDateTime::from_unix_timestamp(payload.e).map_err(|_| TokenError::Unrecognized)?;
        let catalog = match &scope {
            Scope::Project(p) => self.catalog_for(p),
            Scope::System => self.system_catalog(),
            Scope::Unscoped => Vec::new(),
        };
        let mut audit_ids = vec![payload.a.clone()];
        audit_ids.extend(payload.pa.clone());
        let methods = if payload.m.is_empty() { vec!["password".to_owned()] } else { payload.m.clone() };
        let system_scope = scope == Scope::System;
        let info = TokenInfo { methods, audit_ids, issued_at: payload.i, expires_at: payload.e, application_credential, scope };
        let context = AuthContext {
            token: token.to_owned(),
            user_id: payload.u,
            user_name,
            project_id: payload.p,
            project_name,
            roles: roles.into_iter().map(|(_, name)| name).collect(),
            expires_at: format_keystone(expires),
            catalog,
            system_scope,
        };
        Ok((context, info))
    }

    /// `DELETE /v3/auth/tokens`: the token stops validating.
    pub fn revoke(&self, token: &str) -> Result<(), TokenError> {
        self.inspect(token)?;
        let payload = self.decode(token)?;
        self.store.with(|c| {
            c.execute("INSERT OR IGNORE INTO keystone_revoked (audit_id, expires) VALUES (?1, ?2)", params![payload.a, payload.e])
        })?;
        Ok(())
    }
}
