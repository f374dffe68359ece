//! Nova's policy checks for the rules sigstack models. A rule's check string comes from the
//! deployment's `nova.policy` overrides, else from Nova's default. Check strings are oslo.policy
//! terms joined with ` or ` / ` and`: `@` (always), `!` (never), `role:X`, `rule:NAME`.
//! Project scoping is implicit: a caller only ever reaches its own project's servers (admins
//! and evacuators excepted), so `project_member_or_admin` is "member or admin" here.

use crate::deployment::Deployment;
use crate::wire::AuthContext;

use super::fault::NovaFault;

pub const CREATE: &str = "os_compute_api:servers:create";
pub const CREATE_TRUSTED_CERTS: &str = "os_compute_api:servers:create:trusted_certs";
pub const REBUILD_TRUSTED_CERTS: &str = "os_compute_api:servers:rebuild:trusted_certs";
/// `availability_zone: "nova:HOST"`. Admin by default, as in Nova; a deployment may open it
/// (`"@"` or `"rule:project_member_or_admin"`) so that non-admin tests can pin hosts.
pub const FORCED_HOST: &str = "os_compute_api:servers:create:forced_host";
/// Evacuation: admins, and the `service` role the instance-HA (Masakari) user holds.
pub const EVACUATE: &str = "os_compute_api:os-evacuate";
pub const CREATE_IMAGE: &str = "os_compute_api:servers:create_image";
pub const REBOOT: &str = "os_compute_api:servers:reboot";
pub const REBUILD: &str = "os_compute_api:servers:rebuild";
pub const DELETE: &str = "os_compute_api:servers:delete";
pub const UPDATE: &str = "os_compute_api:servers:update";
/// `os-volume_attachments` (`POLICY_ROOT = 'os_compute_api:os-volumes-attachments:%s'`).
pub const ATTACHMENTS_INDEX: &str = "os_compute_api:os-volumes-attachments:index";
pub const ATTACHMENTS_SHOW: &str = "os_compute_api:os-volumes-attachments:show";
pub const ATTACHMENTS_CREATE: &str = "os_compute_api:os-volumes-attachments:create";
pub const ATTACHMENTS_DELETE: &str = "os_compute_api:os-volumes-attachments:delete";
/// `os-server-shares` (2.97, `POLICY_ROOT = 'os_compute_api:os-server-shares:%s'`).
pub const SHARES_INDEX: &str = "os_compute_api:os-server-shares:index";
pub const SHARES_SHOW: &str = "os_compute_api:os-server-shares:show";
pub const SHARES_CREATE: &str = "os_compute_api:os-server-shares:create";
pub const SHARES_DELETE: &str = "os_compute_api:os-server-shares:delete";
/// Who sees `OS-EXT-SRV-ATTR:host` and a fault's `details`.
pub const EXTENDED_ATTRIBUTES: &str = "os_compute_api:os-extended-server-attributes";

fn default_rule(rule: &str) -> &'static str {
    match rule {
        FORCED_HOST | EXTENDED_ATTRIBUTES => "rule:admin_api",
        EVACUATE => "rule:admin_api or role:service",
        ATTACHMENTS_INDEX | ATTACHMENTS_SHOW | SHARES_INDEX | SHARES_SHOW => "rule:project_reader_or_admin",
        _ => "rule:project_member_or_admin",
    }
}

fn named_rule(name: &str) -> Option<&'static str> {
    Some(match name {
        "admin_api" | "context_is_admin" => "role:admin",
        "project_member_or_admin" => "role:member or role:admin",
        "project_reader_or_admin" => "role:reader or role:admin",
        "admin_or_owner" => "role:admin or role:member",
        _ => return None,
    })
}

/// Whether `ctx` passes `rule` under the deployment's policy.
pub fn allows(deployment: &Deployment, ctx: &AuthContext, rule: &str) -> bool {
    let check = deployment.nova.policy.get(rule).map(String::as_str).unwrap_or_else(|| default_rule(rule));
    evaluate(check, ctx, 0)
}

/// `allows`, or Nova's 403.
pub fn enforce(deployment: &Deployment, ctx: &AuthContext, rule: &str) -> Result<(), NovaFault> {
    if allows(deployment, ctx, rule) { Ok(()) } else { Err(NovaFault::forbidden(format!("Policy doesn't allow {rule} to be performed."))) }
}

fn evaluate(check: &str, ctx: &AuthContext, depth: u8) -> bool {
    // Named rules refer to each other; a loop in an override must not recurse forever.
    if depth > 8 {
        return false;
    }
    let check = check.trim();
    if check.is_empty() {
        // oslo.policy: an empty check string always passes.
        return true;
    }
    check.split(" or ").any(|alternative| alternative.split(" and ").all(|term| term_passes(term.trim(), ctx, depth)))
}

fn term_passes(term: &str, ctx: &AuthContext, depth: u8) -> bool {
    match term {
        "@" => true,
        "!" => false,
        _ => match term.split_once(':') {
            Some(("role", role)) => ctx.has_role(role),
            Some(("rule", name)) => named_rule(name).is_some_and(|c| evaluate(c, ctx, depth + 1)),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(roles: &[&str]) -> AuthContext {
        AuthContext {
            token: String::new(),
            user_id: "u".into(),
            user_name: "u".into(),
            project_id: "p".into(),
            project_name: "p".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            expires_at: String::new(),
            catalog: Vec::new(),
            system_scope: false,
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let mut d = Deployment::default();
        let member = ctx(&["member", "reader"]);
        assert!(allows(&d, &member, CREATE_TRUSTED_CERTS));
        assert!(!allows(&d, &member, FORCED_HOST));
        assert!(allows(&d, &ctx(&["admin"]), FORCED_HOST));
        assert!(allows(&d, &ctx(&["service"]), EVACUATE));
        assert!(!allows(&d, &member, EVACUATE));
        d.nova.policy.insert(CREATE_TRUSTED_CERTS.into(), "!".into());
        d.nova.policy.insert(FORCED_HOST.into(), "role:reader or role:admin".into());
        let e = enforce(&d, &member, CREATE_TRUSTED_CERTS).unwrap_err();
        assert_eq!(e.message, "Policy doesn't allow os_compute_api:servers:create:trusted_certs to be performed.");
        assert!(allows(&d, &member, FORCED_HOST));
        d.nova.policy.insert(FORCED_HOST.into(), "rule:nope".into());
        assert!(!allows(&d, &member, FORCED_HOST));
    }
}
