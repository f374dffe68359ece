//! `PUT /servers/{id}` (`ServersController.update`): the name, and from 2.104 the availability
//! zone the server is pinned to (its request spec's), which may be cleared (`null`) or set to
//! the zone the server is in. The answer is the server as `changed_server_view` shows it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use serde_json::{Value, json};

use super::fault::NovaFault;
use super::http::{NovaState, body_json, find_server};
use super::model::Server;
use super::policy;
use super::schema::{check_name, no_additional, root};
use super::server_view::changed_server_view;
use crate::jsonschema::{self, SchemaError};
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// `[DEFAULT] default_availability_zone`: the zone of every host (no host aggregate has one).
const DEFAULT_AVAILABILITY_ZONE: &str = "nova";

/// A validated `PUT /servers/{id}` body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateRequest {
    pub name: Option<String>,
    /// Present key (2.104): the zone to pin to, `None` for null (unpin).
    pub pinned_availability_zone: Option<Option<String>>,
}

/// The `update` schemas (`update`, `_v219`, `_v290`, `_v294`, `_v2104`), property by property
/// in their order; the description and hostname are accepted as they come.
pub fn schema(body: &Value, version: Microversion) -> Result<UpdateRequest, NovaFault> {
    let server = root(body, "server")?;
    let mut request = UpdateRequest::default();
    if let Some(v) = server.get("name") {
        check_name("name", v)?;
        request.name = v.as_str().map(str::to_owned);
    }
    let mut allowed = vec!["name", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6"];
    for (min, name) in [(19, "description"), (90, "hostname"), (104, "pinned_availability_zone")] {
        if version >= Microversion(2, min) {
            allowed.push(name);
        }
    }
    if let (true, Some(v)) = (version >= Microversion(2, 104), server.get("pinned_availability_zone")) {
        // `parameter_types.name_or_none`: oneOf a 1-255 character string or null.
        let length = v.as_str().map(|t| t.chars().count());
        if !(v.is_null() || length.is_some_and(|n| (1..=255).contains(&n))) {
            return Err(SchemaError::at("pinned_availability_zone", v, jsonschema::no_valid_schema(v)).into());
        }
        request.pinned_availability_zone = Some(v.as_str().map(str::to_owned));
    }
    no_additional("server", server, &allowed)?;
    Ok(request)
}

/// `availability_zones.get_instance_availability_zone`: the host's zone once the server has
/// one, else the zone the create asked for (Python's `None` when it asked for none).
fn instance_availability_zone(server: &Server) -> Option<String> {
    match server.host {
        Some(_) => Some(DEFAULT_AVAILABILITY_ZONE.to_owned()),
        None => server.availability_zone.clone(),
    }
}

/// The request spec's zone after `requested` (2.104), or the 409 Nova answers: a pinned server
/// must be unpinned before it is pinned elsewhere, and may only be pinned to its own zone.
pub fn repin(server: &Server, requested: Option<&str>) -> Result<Option<String>, NovaFault> {
    let current = server.pinned_availability_zone.as_deref();
    let Some(requested) = requested else { return Ok(None) };
    match current {
        Some(pinned) if pinned != requested => Err(NovaFault::conflict(
            "Cannot change pinned availability zone directly. Unpin first by setting pinned_availability_zone to null.",
        )),
        Some(_) => Ok(Some(requested.to_owned())),
        None => {
            let zone = instance_availability_zone(server);
            if zone.as_deref() == Some(requested) {
                Ok(Some(requested.to_owned()))
            } else {
                Err(NovaFault::conflict(format!(
                    "Server can only be pinned to its current availability zone '{}', but '{requested}' was requested.",
                    zone.as_deref().unwrap_or("None")
                )))
            }
        }
    }
}

/// Validates (before the server is looked up), checks the policy, re-pins, renames.
pub async fn update_server(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, NovaFault> {
    let d = s.compute.deployment();
    let request = schema(&body_json(&body)?, v)?;
    let server = find_server(&s.compute, &ctx, &id, false)?;
    policy::enforce(&d, &ctx, policy::UPDATE)?;
    let pinned = match &request.pinned_availability_zone {
        Some(requested) => Some(repin(&server, requested.as_deref())?),
        None => None,
    };
    let updated = s
        .compute
        .update(&server.id, |x| {
            if let Some(n) = &request.name {
                x.name = n.clone();
            }
            if let Some(zone) = &pinned {
                x.pinned_availability_zone = zone.clone();
            }
        })?
        .ok_or_else(|| NovaFault::not_found("Instance could not be found"))?;
    let admin = policy::allows(&d, &ctx, policy::EXTENDED_ATTRIBUTES);
    Ok(Json(json!({"server": changed_server_view(s.base(), &updated, v, admin)})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(host: Option<&str>, requested: Option<&str>, pinned: Option<&str>) -> Server {
        let body = json!({"id": "s1", "name": "vm", "project_id": "p", "user_id": "u", "image": null, "flavor_id": "1",
            "vm_state": "active", "task_state": null, "power_state": 1, "host": host, "requested_host": null,
            "availability_zone": requested, "pinned_availability_zone": pinned, "trusted_certs": null,
            "block_devices": [], "fault": null, "metadata": {}, "created": "", "updated": "", "launched_at": null});
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn the_body_by_microversion() {
        let body = json!({"server": {"name": "n", "pinned_availability_zone": null}});
        let e = schema(&body, Microversion(2, 103)).unwrap_err();
        assert!(e.message.ends_with("Additional properties are not allowed ('pinned_availability_zone' was unexpected)"), "{}", e.message);
        assert_eq!(
            schema(&body, Microversion(2, 104)).unwrap(),
            UpdateRequest { name: Some("n".into()), pinned_availability_zone: Some(None) }
        );
        for (bad, shown) in [(json!(""), "Value: . '' is"), (json!(5), "Value: 5. 5 is"), (json!("z".repeat(256)), "is")] {
            let e = schema(&json!({"server": {"pinned_availability_zone": bad}}), Microversion(2, 104)).unwrap_err();
            assert!(e.message.starts_with("Invalid input for field/attribute pinned_availability_zone. "), "{}", e.message);
            assert!(e.message.contains(shown) && e.message.ends_with("is not valid under any of the given schemas"), "{}", e.message);
        }
    }

    #[test]
    fn pinning_rules() {
        let unpinned = server(Some("compute-0"), None, None);
        assert_eq!(repin(&unpinned, Some("nova")).unwrap(), Some("nova".into()));
        assert_eq!(repin(&unpinned, None).unwrap(), None);
        let e = repin(&unpinned, Some("az2")).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.message.as_str()),
            (409, "Server can only be pinned to its current availability zone 'nova', but 'az2' was requested.")
        );
        let pinned = server(Some("compute-0"), Some("nova"), Some("nova"));
        assert_eq!(repin(&pinned, Some("nova")).unwrap(), Some("nova".into()));
        assert_eq!(repin(&pinned, None).unwrap(), None);
        let e = repin(&pinned, Some("az2")).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.message.as_str()),
            (409, "Cannot change pinned availability zone directly. Unpin first by setting pinned_availability_zone to null.")
        );
        // Never scheduled: the zone it asked for, or none.
        let e = repin(&server(None, None, None), Some("nova")).unwrap_err();
        assert_eq!(e.message, "Server can only be pinned to its current availability zone 'None', but 'nova' was requested.");
        assert_eq!(repin(&server(None, Some("nova"), None), Some("nova")).unwrap(), Some("nova".into()));
    }
}
