//! `/v3/users/{user_id}/credentials/OS-EC2[/{access}]` (`keystone/api/users.py`). The secret
//! is in every answer that shows a credential, as Keystone's `_convert_v3_to_ec2_credential`
//! puts it there; it is never logged.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ec2::{Ec2Credential, hash_access_key};
use super::http::KeystoneState;
use super::http_system::{collection, internal, user_exists};
use super::http_tokens::forbidden_action;
use super::model::ProjectRef;
use crate::wire::{AuthContext, keystone_error};

fn credential_json(s: &KeystoneState, c: &Ec2Credential) -> Value {
    json!({
        "user_id": c.user_id,
        "tenant_id": c.tenant_id,
        "access": c.access,
        "secret": c.secret,
        "trust_id": null,
        "links": {"self": format!("{}/users/{}/credentials/OS-EC2/{}", s.identity.public_url(), c.user_id, c.access)},
    })
}

/// The policies (`common/policies/ec2_credential.py`): list and get are
/// `ADMIN_OR_SYSTEM_READER_OR_OWNER`; create and delete `ADMIN_OR_MEMBER_AND_CRED_OWNER`.
fn allowed(caller: &AuthContext, owner: &str, action: &str) -> Result<(), Response> {
    let reading = matches!(action, "ec2_list_credentials" | "ec2_get_credential");
    let owner_ok = caller.user_id == owner && (reading || caller.has_role("member"));
    if caller.is_admin() || owner_ok || (reading && caller.system_scope && caller.has_role("reader")) {
        Ok(())
    } else {
        Err(forbidden_action(&format!("identity:{action}")))
    }
}

/// Tokens from an application credential are delegated: they only see the credentials of
/// their own project (`_check_delegation_for_ec2`).
fn delegated_mismatch(s: &KeystoneState, caller: &AuthContext, project: Option<&str>) -> bool {
    let delegated = s.identity.inspect(&caller.token).is_ok_and(|(_, info)| info.application_credential.is_some());
    delegated && project != Some(caller.project_id.as_str())
}

const DELEGATION: &str = "EC2 credential project does not match the project scope of the delegated token";

pub(super) async fn list_ec2(State(s): State<KeystoneState>, caller: AuthContext, Path(user_id): Path<String>) -> Response {
    if let Err(r) = allowed(&caller, &user_id, "ec2_list_credentials").and_then(|()| user_exists(&s, &user_id)) {
        return r;
    }
    match s.identity.ec2_credentials(&user_id) {
        Ok(list) => {
            let items =
                list.iter().filter(|c| !delegated_mismatch(&s, &caller, c.tenant_id.as_deref())).map(|c| credential_json(&s, c)).collect();
            collection("credentials", items, format!("{}/users/{user_id}/credentials/OS-EC2", s.identity.public_url()))
        }
        Err(e) => internal(e),
    }
}

pub(super) async fn create_ec2(State(s): State<KeystoneState>, caller: AuthContext, Path(user_id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = allowed(&caller, &user_id, "ec2_create_credential") {
        return r;
    }
    if let Ok((_, info)) = s.identity.inspect(&caller.token)
        && info.application_credential.as_ref().is_some_and(|c| !c.is_unrestricted())
    {
        return forbidden_action("Using method 'application_credential' is not allowed for managing additional application credentials.");
    }
    if let Err(r) = user_exists(&s, &user_id) {
        return r;
    }
    let body = super::schema::body_object(&body);
    let tenant = body.get("tenant_id").and_then(Value::as_str).unwrap_or_default();
    // `get_project(None)` finds nothing either.
    let project = match s.identity.project_id(&ProjectRef::Id(tenant.to_owned())) {
        Ok(Some(p)) => p,
        Ok(None) => {
            let shown = body.get("tenant_id").and_then(Value::as_str).unwrap_or("None");
            return keystone_error(StatusCode::NOT_FOUND, &format!("Could not find project: {shown}."));
        }
        Err(e) => return internal(e),
    };
    if delegated_mismatch(&s, &caller, Some(&project)) {
        return forbidden_action(DELEGATION);
    }
    match s.identity.create_ec2(&user_id, &project) {
        Ok(c) => (StatusCode::CREATED, Json(json!({"credential": credential_json(&s, &c)}))).into_response(),
        Err(e) => internal(e),
    }
}

/// The credential behind `{access}`: Keystone's `get_credential` 404 names the hashed id.
fn find(s: &KeystoneState, access: &str) -> Result<Ec2Credential, Response> {
    match s.identity.ec2_credential(access) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(keystone_error(StatusCode::NOT_FOUND, &format!("Could not find credential: {}.", hash_access_key(access)))),
        Err(e) => Err(internal(e)),
    }
}

/// The credential is looked up to build the policy target (a 404 before any 403), then the
/// user in the path must exist (`get_user`).
fn target(s: &KeystoneState, caller: &AuthContext, user_id: &str, access: &str, action: &str) -> Result<Ec2Credential, Response> {
    let credential = find(s, access)?;
    allowed(caller, &credential.user_id, action)?;
    user_exists(s, user_id)?;
    if delegated_mismatch(s, caller, credential.tenant_id.as_deref()) {
        return Err(forbidden_action(DELEGATION));
    }
    Ok(credential)
}

pub(super) async fn show_ec2(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((user_id, access)): Path<(String, String)>,
) -> Response {
    match target(&s, &caller, &user_id, &access, "ec2_get_credential") {
        Ok(c) => Json(json!({"credential": credential_json(&s, &c)})).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn delete_ec2(
    State(s): State<KeystoneState>,
    caller: AuthContext,
    Path((user_id, access)): Path<(String, String)>,
) -> Response {
    if let Err(r) = target(&s, &caller, &user_id, &access, "ec2_delete_credential") {
        return r;
    }
    match s.identity.delete_ec2(&access) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => internal(e),
    }
}
