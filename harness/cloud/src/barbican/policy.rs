//! Barbican 23's rules for containers, consumers, secret metadata, container ACLs and quotas
//! (`barbican/common/policies/{base,containers,consumers,secretmeta,acls,quotas}.py`), legacy
//! and secure-RBAC, as `model.rs` has them for secrets. Every Barbican rule has
//! `scope_types=['project']`: with `[oslo_policy] enforce_scope` a system-scoped token is
//! refused by every one ([`KeyManager::scope_ok`](super::model::KeyManager::scope_ok)).

use super::model::{Acl, Policy, any_role};
use crate::wire::AuthContext;

/// The policy target of one secret or container (`ACLMixin.get_acl_tuple`): its project,
/// creator and read ACL.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub project_id: &'a str,
    pub creator_id: &'a str,
    pub acl: Option<&'a Acl>,
}

/// A per-entity rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `container:get`, `secret_meta:get`, `{container,secret}_consumers:{get,post,delete}`:
    /// the project rule or the read ACL.
    Read,
    /// `container:delete`: legacy admin or the creator only.
    Delete,
    /// `container_secret:{post,delete}`, `secret_meta:{post,put,delete}`,
    /// `container_acls:{put_patch,delete}`.
    Change,
    /// `container_acls:get`.
    AclGet,
    /// `consumer:get` (one container consumer): any admin, or the container's rules.
    ConsumerGet,
}

/// Evaluates `rule` on `target` for `caller` under `policy`.
pub fn entity_allowed(policy: Policy, rule: Rule, caller: &AuthContext, target: Target<'_>) -> bool {
    let project_match = !caller.project_id.is_empty() && caller.project_id == target.project_id;
    // Without an ACL row Barbican fills in `read_project_access: True`.
    let not_private = target.acl.is_none_or(|a| a.project_access);
    let acl_read = target.acl.is_some_and(|a| a.users.contains(&caller.user_id));
    let owner = caller.user_id == target.creator_id;
    let project_admin = caller.has_role("admin") && project_match;
    match policy {
        Policy::NewDefaults => {
            let project_member = caller.has_role("member") && project_match;
            let project_rule = project_admin || (project_member && (owner || not_private));
            match rule {
                Rule::Read => project_rule || acl_read,
                Rule::Delete | Rule::Change | Rule::AclGet => project_rule,
                Rule::ConsumerGet => caller.has_role("admin") || (project_member && (owner || not_private)) || acl_read,
            }
        }
        Policy::Legacy => {
            let all_users = any_role(caller, &["admin", "observer", "creator", "audit", "key-manager:service-admin"]);
            let non_private_read = all_users && project_match && not_private;
            let creator_role = caller.has_role("creator") && project_match;
            let project_creator = creator_role && owner;
            match rule {
                Rule::Read => non_private_read || project_creator || project_admin || acl_read,
                Rule::Delete => project_admin || project_creator,
                Rule::Change => project_admin || project_creator || (creator_role && non_private_read),
                Rule::AclGet => any_role(caller, &["admin", "observer", "creator"]) && project_match,
                Rule::ConsumerGet => {
                    any_role(caller, &["admin", "observer", "creator", "audit"])
                        || non_private_read
                        || project_creator
                        || project_admin
                        || acl_read
                }
            }
        }
    }
}

/// `quotas:get`: legacy `rule:all_users`; new `role:reader`.
pub fn may_get_quotas(policy: Policy, caller: &AuthContext) -> bool {
    match policy {
        Policy::Legacy => any_role(caller, &["admin", "observer", "creator", "audit", "key-manager:service-admin"]),
        Policy::NewDefaults => caller.has_role("reader"),
    }
}

/// `project_quotas:{get,put,delete}`: legacy `rule:service_admin`
/// (`role:key-manager:service-admin`); new `role:admin`.
pub fn may_manage_quotas(policy: Policy, caller: &AuthContext) -> bool {
    match policy {
        Policy::Legacy => caller.has_role("key-manager:service-admin"),
        Policy::NewDefaults => caller.has_role("admin"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(project: &str, user: &str, roles: &[&str]) -> AuthContext {
        AuthContext {
            token: String::new(),
            user_id: user.into(),
            user_name: user.into(),
            project_id: project.into(),
            project_name: project.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            expires_at: String::new(),
            catalog: Vec::new(),
            system_scope: false,
        }
    }

    #[test]
    fn new_defaults_entity_rules() {
        let private = Acl { project_access: false, users: vec!["friend".into()], created: 0, updated: 0 };
        let open = Target { project_id: "p", creator_id: "owner", acl: None };
        let closed = Target { acl: Some(&private), ..open };
        let p = Policy::NewDefaults;
        assert!(entity_allowed(p, Rule::Read, &caller("p", "other", &["member"]), open));
        assert!(!entity_allowed(p, Rule::Read, &caller("p", "other", &["reader"]), open));
        assert!(!entity_allowed(p, Rule::Read, &caller("p", "other", &["member"]), closed));
        assert!(entity_allowed(p, Rule::Read, &caller("p", "owner", &["member"]), closed));
        assert!(entity_allowed(p, Rule::Read, &caller("q", "friend", &[]), closed));
        assert!(!entity_allowed(p, Rule::Change, &caller("q", "friend", &[]), closed));
        assert!(entity_allowed(p, Rule::Change, &caller("p", "x", &["admin"]), closed));
        assert!(!entity_allowed(p, Rule::Delete, &caller("q", "x", &["admin"]), open));
        assert!(entity_allowed(p, Rule::ConsumerGet, &caller("q", "x", &["admin"]), open));
    }

    #[test]
    fn legacy_entity_rules() {
        let open = Target { project_id: "p", creator_id: "owner", acl: None };
        let p = Policy::Legacy;
        assert!(entity_allowed(p, Rule::Read, &caller("p", "x", &["audit"]), open));
        assert!(!entity_allowed(p, Rule::Delete, &caller("p", "x", &["creator"]), open));
        assert!(entity_allowed(p, Rule::Delete, &caller("p", "owner", &["creator"]), open));
        assert!(entity_allowed(p, Rule::Change, &caller("p", "x", &["creator"]), open));
        assert!(!entity_allowed(p, Rule::AclGet, &caller("p", "x", &["audit"]), open));
        assert!(!may_manage_quotas(p, &caller("p", "x", &["admin"])));
        assert!(may_manage_quotas(Policy::NewDefaults, &caller("p", "x", &["admin"])));
    }
}
