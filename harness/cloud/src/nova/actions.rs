//! `POST /v2.1/servers/{id}/action`: rebuild, reboot, createImage and evacuate, with Nova's
//! state checks, policies and microversion differences. The work itself runs in `build`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sigstack_client::image::{self, NewImage};

use super::build;
use super::fault::NovaFault;
use super::flavors::flavor;
use super::http::{NovaState, action_body, api_image, find_server, stored_trusted_certs};
use super::model::{self, Server};
use super::server_view::changed_server_view;
use super::{policy, schema};
use crate::microversion::Microversion;
use crate::wire::AuthContext;

/// `nova.compute.utils.NON_INHERITABLE_IMAGE_PROPERTIES`: never copied into a snapshot.
pub const NON_INHERITABLE_IMAGE_PROPERTIES: [&str; 6] = [
    "img_signature",
    "img_signature_hash_method",
    "img_signature_key_type",
    "img_signature_certificate_uuid",
    "cinder_encryption_key_id",
    "cinder_encryption_key_deletion_policy",
];

/// `InstanceInvalidState` as the API reports it (409).
fn invalid_state(server: &Server, method: &str) -> NovaFault {
    let (attr, state) = match &server.task_state {
        Some(t) => ("task_state", t.clone()),
        None => ("vm_state", server.vm_state.clone()),
    };
    NovaFault::conflict(format!("Cannot '{method}' instance {} while it is in {attr} {state}", server.id))
}

fn require_state(server: &Server, method: &str, vm_states: &[&str]) -> Result<(), NovaFault> {
    if server.task_state.is_none() && vm_states.contains(&server.vm_state.as_str()) { Ok(()) } else { Err(invalid_state(server, method)) }
}

pub async fn action(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, NovaFault> {
    let (name, body) = action_body(&body)?;
    match name.as_str() {
        "rebuild" => rebuild(&s, ctx, v, &id, &body).await,
        "reboot" => reboot(&s, ctx, &id, &body).await,
        "createImage" => create_image(&s, ctx, v, &id, &body).await,
        "evacuate" => evacuate(&s, ctx, v, &id, &body).await,
        other => Err(NovaFault::bad_request(format!("There is no such action: {other}"))),
    }
}

async fn rebuild(s: &NovaState, ctx: AuthContext, v: Microversion, id: &str, body: &Value) -> Result<Response, NovaFault> {
    let d = s.compute.deployment();
    let server = find_server(&s.compute, &ctx, id, false)?;
    let request = schema::rebuild(body, v)?;
    policy::enforce(&d, &ctx, policy::REBUILD)?;
    if request.trusted_certs.is_some() {
        policy::enforce(&d, &ctx, policy::REBUILD_TRUSTED_CERTS)?;
    }
    require_state(&server, "rebuild", &[model::ACTIVE, "stopped", model::ERROR])?;
    // A list replaces the instance's certificates; null resets them to the defaults (when both
    // options are on) or clears them; no key keeps them.
    let trusted_certs = match request.trusted_certs {
        Some(requested) => stored_trusted_certs(requested, &d),
        None => server.trusted_certs.clone(),
    };
    if server.volume_backed() && trusted_certs.is_some() {
        return Err(NovaFault::bad_request("Image certificate validation is not supported for volume-backed servers."));
    }
    let image = if server.volume_backed() { None } else { Some(api_image(&s.compute, &ctx, &request.image_ref).await?) };
    let updated = s
        .compute
        .update(id, |x| {
            if image.is_some() {
                x.image = image.clone();
                // `_reset_image_metadata`: the old image's system metadata goes (the driver
                // registers its defaults again once the new guest runs); the libvirt driver's
                // `cleanup` of the old disk counts a clean attempt.
                x.system_metadata.retain(|k, _| !k.starts_with("image_"));
                let attempts = x.system_metadata.get("clean_attempts").and_then(|a| a.parse::<u32>().ok()).unwrap_or(0);
                x.system_metadata.insert("clean_attempts".into(), (attempts + 1).to_string());
            }
            if let Some(n) = &request.name {
                x.name = n.clone();
            }
            x.trusted_certs = trusted_certs.clone();
            if let Some(user_data) = &request.user_data {
                x.user_data = user_data.clone();
            }
            x.task_state = Some("rebuilding".into());
        })?
        .ok_or_else(|| NovaFault::not_found(format!("Instance {id} could not be found.")))?;
    tokio::spawn(build::rebuild(s.compute.clone(), ctx.clone(), id.to_owned(), None));
    let admin = policy::allows(&d, &ctx, policy::EXTENDED_ATTRIBUTES);
    let mut view = changed_server_view(s.base(), &updated, v, admin);
    view["adminPass"] = uuid::Uuid::new_v4().simple().to_string()[..12].into();
    // `show_user_data` is off for the rebuild (2.75 and later answer the whole server).
    if let Some(map) = view.as_object_mut() {
        map.remove("OS-EXT-SRV-ATTR:user_data");
    }
    // `include_user_data` (2.57): the instance's user data, in the rebuild answer only.
    if v >= Microversion(2, 57) {
        view["user_data"] = json!(updated.user_data);
    }
    // `_add_location`: the rebuild answers with the server's URL, as the create does.
    let mut response = (StatusCode::ACCEPTED, Json(json!({"server": view}))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("{}/v2.1/servers/{id}", s.base())) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn reboot(s: &NovaState, ctx: AuthContext, id: &str, body: &Value) -> Result<Response, NovaFault> {
    let d = s.compute.deployment();
    let server = find_server(&s.compute, &ctx, id, false)?;
    let hard = schema::reboot(body)?;
    policy::enforce(&d, &ctx, policy::REBOOT)?;
    if hard {
        require_state(&server, "reboot", &[model::ACTIVE, "stopped", model::ERROR, "paused", "suspended"])?;
        s.compute.update(id, |x| x.task_state = Some("rebooting_hard".into()))?;
        tokio::spawn(build::hard_reboot(s.compute.clone(), ctx, id.to_owned()));
    } else {
        require_state(&server, "reboot", &[model::ACTIVE])?;
        // A soft reboot restarts the guest; the disk and the image cache are not involved.
        s.compute.update(id, Server::set_active)?;
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn create_image(s: &NovaState, ctx: AuthContext, v: Microversion, id: &str, body: &Value) -> Result<Response, NovaFault> {
    let d = s.compute.deployment();
    let server = find_server(&s.compute, &ctx, id, false)?;
    let (name, metadata) = schema::create_image(body)?;
    policy::enforce(&d, &ctx, policy::CREATE_IMAGE)?;
    require_state(&server, "createImage", &[model::ACTIVE, "stopped", "paused", "suspended"])?;
    let Some(base) = &server.image else {
        // Nova snapshots a volume-backed server through Cinder volume snapshots, which the
        // simulated Cinder does not offer.
        return Err(NovaFault::new(StatusCode::NOT_IMPLEMENTED, "Snapshots of volume-backed servers are not simulated."));
    };
    // `compute.api.API._create_image`: the instance's system metadata (the base image's
    // properties, `image_` prefixes dropped, and the rest), minus the properties that must
    // not be inherited, plus the snapshot's own. `min_disk` is the flavor's root disk (Nova
    // keeps the larger of the image's and the flavor's; the image's is not kept here).
    let mut new = NewImage {
        name: Some(name),
        disk_format: base.disk_format.clone(),
        container_format: base.container_format.clone(),
        visibility: Some("private".into()),
        min_disk: flavor(&server.flavor_id).map(|f| f.4),
        ..NewImage::default()
    };
    let system_metadata = server.system_metadata.iter().map(|(k, val)| (k.strip_prefix("image_").unwrap_or(k), val));
    for (k, val) in base.properties.iter().map(|(k, val)| (k.as_str(), val)).chain(system_metadata) {
        if !NON_INHERITABLE_IMAGE_PROPERTIES.contains(&k) && !is_glance_reserved(k) {
            new.properties.insert(k.to_owned(), val.clone());
        }
    }
    for (k, val) in [
        ("instance_uuid", server.id.clone()),
        ("user_id", ctx.user_id.clone()),
        ("owner_id", ctx.project_id.clone()),
        ("image_type", "snapshot".into()),
        ("image_location", "snapshot".into()),
        ("image_state", "available".into()),
        ("base_image_ref", base.id.clone()),
    ] {
        new.properties.insert(k.into(), val);
    }
    for (k, val) in metadata {
        new.properties.insert(k, val.as_str().map(str::to_owned).unwrap_or_else(|| val.to_string()));
    }
    let session = ctx.session(s.compute.http.clone());
    let created = image::create_image(&session, &new).await.map_err(|e| match e.status() {
        Some(status @ 400..=499) => NovaFault::new(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), e.to_string()),
        _ => NovaFault::internal_because(format!("creating the snapshot image in Glance: {e}")),
    })?;
    s.compute.update(id, |x| x.task_state = Some("image_snapshot".into()))?;
    tokio::spawn(build::upload_snapshot(s.compute.clone(), ctx, id.to_owned(), created.id.clone()));
    let location = format!("{}/images/{}", session.endpoint("image").unwrap_or_default().trim_end_matches("/v2"), created.id);
    let mut response = if v >= Microversion(2, 45) {
        (StatusCode::ACCEPTED, Json(json!({"image_id": created.id}))).into_response()
    } else {
        StatusCode::ACCEPTED.into_response()
    };
    if let (false, Ok(value)) = (v >= Microversion(2, 45), HeaderValue::from_str(&location)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Glance's base attributes and read-only fields: never custom properties of a new image.
fn is_glance_reserved(key: &str) -> bool {
    matches!(
        key,
        "id" | "name"
            | "status"
            | "visibility"
            | "protected"
            | "os_hidden"
            | "checksum"
            | "os_hash_algo"
            | "os_hash_value"
            | "size"
            | "virtual_size"
            | "container_format"
            | "disk_format"
            | "min_disk"
            | "min_ram"
            | "owner"
            | "tags"
            | "created_at"
            | "updated_at"
            | "self"
            | "file"
            | "schema"
            | "locations"
            | "direct_url"
            | "stores"
    )
}

async fn evacuate(s: &NovaState, ctx: AuthContext, v: Microversion, id: &str, body: &Value) -> Result<Response, NovaFault> {
    let d = s.compute.deployment();
    policy::enforce(&d, &ctx, policy::EVACUATE)?;
    // Whoever may evacuate acts on servers of every project (Masakari's service user).
    let server = find_server(&s.compute, &ctx, id, true)?;
    let target = schema::evacuate(body, v)?;
    // The API checks the target first (evacuate.py), then `compute_api.evacuate` the state,
    // the source's service and the target's.
    let target_node = match &target {
        Some(host) => {
            let node = s.compute.node(host)?.ok_or_else(|| NovaFault::not_found(format!("Compute host {host} not found.")))?;
            if server.host.as_deref() == Some(host.as_str()) {
                return Err(NovaFault::bad_request("The target host can't be the same one."));
            }
            Some(node)
        }
        None => None,
    };
    require_state(&server, "evacuate", &[model::ACTIVE, "stopped", model::ERROR])?;
    let source = server.host.clone().unwrap_or_default();
    if s.compute.node(&source)?.is_some_and(|n| n.up) {
        return Err(NovaFault::bad_request(format!("Compute service of {source} is still in use.")));
    }
    let destination = match target_node {
        Some(node) if !node.up => {
            return Err(NovaFault::bad_request(format!("Compute service of {} is unavailable at this time.", node.spec.host)));
        }
        Some(node) => Some(node.spec.host),
        None => build::schedule(&s.compute, None, std::slice::from_ref(&source))?.map(|n| n.spec.host),
    };
    match destination {
        Some(host) => {
            s.compute.update(id, |x| x.task_state = Some("rebuilding".into()))?;
            tokio::spawn(build::rebuild(s.compute.clone(), ctx, id.to_owned(), Some(host)));
        }
        // The conductor's NoValidHost: the instance keeps its state, the fault says why.
        None => {
            s.compute.update(id, |x| {
                x.fault = Some(model::InstanceFault::new("No valid host was found. There are not enough hosts available."));
            })?;
        }
    }
    if v >= Microversion(2, 14) {
        Ok(StatusCode::OK.into_response())
    } else {
        Ok(Json(json!({"adminPass": uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()})).into_response())
    }
}
