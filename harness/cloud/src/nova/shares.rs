//! `/servers/{id}/shares` (2.97, `server_shares.py`): Manila shares attached to a server
//! through virtiofs, in a cloud whose compute nodes cannot attach them. The simulated nodes
//! run libvirt without `[libvirt] file_backed_memory` and the flavors ask for no
//! `hw:mem_page_size`, so `hardware.check_shares_supported` refuses every attach (409) before
//! Manila is asked: with no `shared-file-system` endpoint in the catalog, Nova never gets as
//! far as the client that would fail on it. No server ever has a share, so the list is empty
//! and a share is never found.
//!
//! Every route looks the server up by its cell mapping first, which knows servers of every
//! project: a server that does not exist is "has no mapping to a cell" (404), and another
//! project's server fails the policy (403, Nova's default rules match the mapping's project)
//! rather than not being found.

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::fault::NovaFault;
use super::http::{NovaState, body_json, find_server};
use super::model::{self, Server};
use super::policy;
use super::query::{self, Params};
use super::schema::{no_additional, root, root_additional};
use crate::jsonschema::{self, Draft, Keyword, SchemaError, check_required, check_type};
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// The first microversion with the routes (`@wsgi.api_version("2.97")`).
const SHARES: Microversion = Microversion(2, 97);

pub fn routes() -> Router<NovaState> {
    Router::new()
        .route("/v2.1/servers/{id}/shares", get(index).post(create))
        .route("/v2.1/servers/{id}/shares/{share_id}", get(show).delete(delete))
}

/// Before 2.97 the methods do not exist: `VersionNotFoundForAPIMethod`'s bare 404.
fn available(v: Microversion) -> Result<(), NovaFault> {
    if v >= SHARES { Ok(()) } else { Err(NovaFault::not_found("The resource could not be found.")) }
}

/// `_get_instance_mapping`, the policy with the mapping's project as target, then
/// `common.get_instance`. A policy override drops the project match (an allowed member of
/// another project then finds no such instance).
fn authorized_server(s: &NovaState, ctx: &AuthContext, id: &str, rule: &str) -> Result<Server, NovaFault> {
    let server = s.compute.get(id)?.ok_or_else(|| NovaFault::not_found(format!("Instance {id} has no mapping to a cell.")))?;
    let d = s.compute.deployment();
    let own_project = ctx.is_admin() || server.project_id == ctx.project_id;
    if !policy::allows(&d, ctx, rule) || !(own_project || d.nova.policy.contains_key(rule)) {
        return Err(NovaFault::forbidden(format!("Policy doesn't allow {rule} to be performed.")));
    }
    find_server(&s.compute, ctx, id, false)
}

/// `_check_instance_in_valid_state`: the vm_state only (a share is attached to a stopped
/// server; one is detached from a stopped or broken one).
fn check_state(server: &Server, id: &str, action: &str, allowed: &[&str]) -> Result<(), NovaFault> {
    if allowed.contains(&server.vm_state.as_str()) {
        return Ok(());
    }
    Err(NovaFault::conflict(format!("Cannot '{action}' instance {id} while it is in vm_state {}", server.vm_state)))
}

/// `parameter_types.share_tag`'s pattern, `re.search`ed.
fn tag_matches(text: &str) -> bool {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The `create` schema: `{"share": {"share_id": <uuid>, "tag"?: <1-255 of [a-zA-Z0-9-]>}}`.
/// Returns the share id.
fn create_schema(body: &Value) -> Result<String, NovaFault> {
    let share = root(body, "share")?;
    if let Some(v) = share.get("share_id") {
        check_type("share_id", v, &["string"])?;
        if v.as_str().is_some_and(|t| uuid::Uuid::parse_str(t).is_err()) {
            return Err(SchemaError::at("share_id", v, jsonschema::not_a(v, "uuid")).into());
        }
    }
    if let Some(v) = share.get("tag") {
        let keywords =
            [Keyword::Type(&["string"]), Keyword::MinLength(1), Keyword::MaxLength(255), Keyword::Pattern("^[a-zA-Z0-9-]*$", tag_matches)];
        Draft::Four.check("tag", v, &keywords)?;
    }
    check_required("share", share, &["share_id"])?;
    no_additional("share", share, &["share_id", "tag"])?;
    root_additional(body, |k| k == "share")?;
    Ok(share.get("share_id").and_then(Value::as_str).unwrap_or_default().to_owned())
}

async fn index(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, NovaFault> {
    available(v)?;
    query::validate(&params, &query::CLOSED)?;
    authorized_server(&s, &ctx, &id, policy::SHARES_INDEX)?;
    Ok(Json(json!({"shares": []})))
}

async fn show(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path((id, share_id)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, NovaFault> {
    available(v)?;
    query::validate(&params, &query::CLOSED)?;
    authorized_server(&s, &ctx, &id, policy::SHARES_SHOW)?;
    Err(NovaFault::not_found(format!("Share {share_id} could not be found.")))
}

/// The attach: after the server's state, `check_shares_supported` finds neither the
/// `COMPUTE_MEM_BACKING_FILE` trait on the host nor `hw:mem_page_size` in the flavor.
async fn create(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, NovaFault> {
    let body = body_json(&body)?;
    available(v)?;
    create_schema(&body)?;
    let server = authorized_server(&s, &ctx, &id, policy::SHARES_CREATE)?;
    Err(refused_attach(&server, &id))
}

/// Why an attach to `server` fails: its state, else the compute node
/// (`ForbiddenSharesNotConfiguredCorrectly`).
fn refused_attach(server: &Server, id: &str) -> NovaFault {
    match check_state(server, id, "create share", &["stopped"]) {
        Err(state) => state,
        Ok(()) => NovaFault::conflict("Feature not supported because either compute or instance are not configured correctly."),
    }
}

/// The detach: the state first, then the share, which is never there (a detach Nova accepts
/// is a 200 without a body; none happens here).
async fn delete(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path((id, share_id)): Path<(String, String)>,
) -> Result<StatusCode, NovaFault> {
    available(v)?;
    let server = authorized_server(&s, &ctx, &id, policy::SHARES_DELETE)?;
    check_state(&server, &id, "delete share", &["stopped", model::ERROR])?;
    Err(NovaFault::not_found(format!("Share {share_id} could not be found.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "0b9d2a2e-6c1f-4a55-9a3e-5d0c9a1c4e11";

    fn refused(body: Value) -> String {
        create_schema(&body).unwrap_err().message
    }

    fn server(vm_state: &str) -> Server {
        let body = json!({"id": UUID, "name": "vm", "project_id": "p", "user_id": "u", "image": null, "flavor_id": "1",
            "vm_state": vm_state, "task_state": null, "power_state": 4, "host": "compute-0", "requested_host": null,
            "trusted_certs": null, "block_devices": [], "fault": null, "metadata": {}, "created": "", "updated": "",
            "launched_at": null});
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn attach_to_a_stopped_server_and_detach_from_a_stopped_or_broken_one() {
        let stopped = refused_attach(&server("stopped"), UUID);
        assert_eq!(
            (stopped.status.as_u16(), stopped.message.as_str()),
            (409, "Feature not supported because either compute or instance are not configured correctly.")
        );
        let active = refused_attach(&server("active"), UUID);
        assert_eq!(active.message, format!("Cannot 'create share' instance {UUID} while it is in vm_state active"));
        let detachable = ["stopped", model::ERROR];
        assert!(check_state(&server("stopped"), UUID, "delete share", &detachable).is_ok());
        assert!(check_state(&server("error"), UUID, "delete share", &detachable).is_ok());
        let paused = check_state(&server("paused"), UUID, "delete share", &detachable).unwrap_err();
        assert_eq!(paused.message, format!("Cannot 'delete share' instance {UUID} while it is in vm_state paused"));
    }

    #[test]
    fn the_create_body() {
        assert_eq!(create_schema(&json!({"share": {"share_id": UUID, "tag": "data-1"}})).unwrap(), UUID);
        assert_eq!(refused(Value::Null), "None is not of type 'object'");
        assert_eq!(refused(json!({})), "'share' is a required property");
        assert_eq!(refused(json!({"share": {}})), "Invalid input for field/attribute share. Value: {}. 'share_id' is a required property");
        assert_eq!(
            refused(json!({"share": {"share_id": "x"}})),
            "Invalid input for field/attribute share_id. Value: x. 'x' is not a 'uuid'"
        );
        assert_eq!(
            refused(json!({"share": {"share_id": UUID, "tag": "a b"}})),
            "Invalid input for field/attribute tag. Value: a b. 'a b' does not match '^[a-zA-Z0-9-]*$'"
        );
        assert_eq!(
            refused(json!({"share": {"share_id": UUID, "tag": ""}})),
            "Invalid input for field/attribute tag. Value: . '' should be non-empty"
        );
        assert!(
            refused(json!({"share": {"share_id": UUID, "mode": "rw"}}))
                .ends_with("Additional properties are not allowed ('mode' was unexpected)")
        );
        assert_eq!(refused(json!({"share": {"share_id": UUID}, "x": 1})), "Additional properties are not allowed ('x' was unexpected)");
    }
}
