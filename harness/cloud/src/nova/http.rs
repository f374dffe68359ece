//! The compute API on the wire: version discovery and server create, show, list and delete.
//! Flavors are in `flavors`, the server views in `server_view`, `PUT` in `update`, actions in
//! `actions`, shares in `shares`, the simulator's routes in `sim`. Every error is a
//! [`NovaFault`]; `/v2.1` requests pass through microversion negotiation.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use sigstack_client::{Credentials, image, volume};

use super::fault::{self, COMPUTE, NovaFault};
use super::flavors::flavor;
use super::model::{self, BlockDevice, ComputeService, Server, ServerImage};
use super::query::{self, Params};
use super::server_view::{host_down, server_links, server_view};
use super::{actions, build, flavors, hints, images, network, policy, schema, shares, sim, update, volume_attachments, volume_ops};
use crate::deployment::Deployment;
use crate::keystone::Identity;
use crate::microversion::Microversion;
use crate::wire::{AuthContext, HasIdentity};

#[derive(Clone)]
pub struct NovaState {
    pub identity: Arc<Identity>,
    pub compute: Arc<ComputeService>,
    pub public_url: String,
    pub instance_ha: Option<Credentials>,
}

impl HasIdentity for NovaState {
    fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }
}

impl NovaState {
    pub fn base(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }
}

pub fn router(state: NovaState) -> Router {
    // Inside the routes (each a `wsgi.Resource`): microversion first, then the content type.
    let api = Router::new()
        .route("/v2.1", get(version_v21))
        .route("/v2.1/", get(version_v21))
        .route("/v2.1/servers", get(list_servers).post(create_server))
        .route("/v2.1/servers/detail", get(list_servers_detail))
        .route("/v2.1/servers/{id}", get(show_server).put(update::update_server).delete(delete_server))
        .route("/v2.1/servers/{id}/action", post(actions::action))
        .merge(flavors::routes())
        .merge(volume_attachments::routes())
        .merge(shares::routes())
        .merge(images::routes())
        .layer(axum::middleware::from_fn(content_type))
        .layer(axum::middleware::from_fn_with_state(state.compute.clone(), fault::negotiate));
    // Around them, the pipeline: oslo's sizelimit, keystonemiddleware, then the routes mapper,
    // whose miss (a path, or a method on a path, without a route) is webob's bare 404.
    let inner = Router::new()
        .route("/", get(versions))
        .merge(api)
        .merge(sim::routes())
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .layer(axum::middleware::from_fn(crate::wire::sizelimit))
        .with_state(state);
    crate::wire::finish_answers(inner, crate::wire::no_allow_on_not_found)
}

/// The routes mapper found nothing (after authentication, which runs first).
async fn no_route(_ctx: AuthContext, method: Method, headers: HeaderMap) -> Response {
    crate::wire::routes_not_found(method, headers).await
}

/// The media types Nova's `Request.get_content_type` accepts.
const CONTENT_TYPES: [&str; 2] = ["application/json", "application/vnd.openstack.compute+json"];

/// `Resource.__call__`'s content-type check: a `Content-Type` other than an empty one,
/// `text/plain` or the JSON types is a 415 (`InvalidContentType`), whatever the method.
async fn content_type(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if let Some(value) = request.headers().get(header::CONTENT_TYPE) {
        let raw = String::from_utf8_lossy(value.as_bytes());
        let media = raw.split(';').next().unwrap_or_default();
        if !(media.is_empty() || media == "text/plain" || CONTENT_TYPES.contains(&media)) {
            return NovaFault::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Type").into_response();
        }
    }
    next.run(request).await
}

// ---- version discovery ----

/// The v2.1 version document, its `version` the deployment's newest microversion.
fn version_doc(s: &NovaState, detail: bool) -> Value {
    let base = s.base();
    let mut v = json!({
        "id": "v2.1", "status": "CURRENT", "version": s.compute.deployment().nova.max_microversion().to_string(),
        "min_version": COMPUTE.min.to_string(), "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{base}/v2.1/")}],
    });
    if detail {
        if let Some(links) = v["links"].as_array_mut() {
            links.push(json!({"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}));
        }
        v["media-types"] = json!([{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}]);
    }
    v
}

async fn versions(State(s): State<NovaState>) -> Response {
    let v20 = json!({"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
                     "links": [{"rel": "self", "href": format!("{}/v2/", s.base())}]});
    (StatusCode::MULTIPLE_CHOICES, Json(json!({"versions": [v20, version_doc(&s, false)]}))).into_response()
}

async fn version_v21(State(s): State<NovaState>) -> Json<Value> {
    Json(json!({"version": version_doc(&s, true)}))
}

// ---- servers ----

/// A POST or PUT body (`JSONDeserializer`): no body is `None` (Python's, which the schema then
/// refuses), anything not JSON is "Malformed request body".
pub fn body_json(bytes: &Bytes) -> Result<Value, NovaFault> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|_| NovaFault::bad_request("Malformed request body"))
}

/// An action's body and name (`action_peek`, before the action is looked up): JSON with
/// exactly one key. A one-element list or string has no keys to read (`AttributeError`), and a
/// number no length (`TypeError`): the resource then answers a bare 404.
pub fn action_body(bytes: &Bytes) -> Result<(String, Value), NovaFault> {
    let malformed = || NovaFault::bad_request("Malformed request body");
    let body: Value = serde_json::from_slice(bytes).map_err(|_| malformed())?;
    let length = match &body {
        Value::Object(o) => o.len(),
        Value::Array(a) => a.len(),
        Value::String(s) => s.chars().count(),
        _ => return Err(NovaFault::not_found("The resource could not be found.")),
    };
    if length != 1 {
        return Err(malformed());
    }
    match body.as_object().and_then(|o| o.keys().next().cloned()) {
        Some(name) => Ok((name, body)),
        None => Err(NovaFault::not_found("The resource could not be found.")),
    }
}

/// A server the caller may act on: its own project's, or any for admins (and for callers a
/// rule such as evacuation lets act across projects).
pub fn find_server(compute: &ComputeService, ctx: &AuthContext, id: &str, any_project: bool) -> Result<Server, NovaFault> {
    let server = compute.get(id)?;
    server
        .filter(|s| any_project || ctx.is_admin() || s.project_id == ctx.project_id)
        .ok_or_else(|| NovaFault::not_found(format!("Instance {id} could not be found.")))
}

async fn show_server(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, NovaFault> {
    query::validate(&params, &query::show(v))?;
    let server = find_server(&s.compute, &ctx, &id, false)?;
    let admin = policy::allows(&s.compute.deployment(), &ctx, policy::EXTENDED_ATTRIBUTES);
    Ok(Json(json!({"server": shown(&s, &server, v, admin)?})))
}

/// [`server_view`] with the state of the server's host (`host_status`).
fn shown(s: &NovaState, server: &Server, v: Microversion, admin: bool) -> Result<Value, NovaFault> {
    let mut view = server_view(s.base(), server, v, admin);
    if let Some(host) = &server.host
        && s.compute.node(host)?.is_some_and(|n| !n.up)
    {
        host_down(&mut view);
    }
    Ok(view)
}

fn listed(s: &NovaState, ctx: &AuthContext, query: &BTreeMap<String, String>) -> Result<Vec<Server>, NovaFault> {
    let all = ctx.is_admin() && query.get("all_tenants").is_some_and(|v| !matches!(v.as_str(), "0" | "false" | "False"));
    let mut servers: Vec<Server> = s.compute.all_servers()?.into_iter().filter(|x| all || x.project_id == ctx.project_id).collect();
    if let Some(status) = query.get("status") {
        servers.retain(|x| x.status().eq_ignore_ascii_case(status));
    }
    if let (Some(host), true) = (query.get("host"), ctx.is_admin()) {
        servers.retain(|x| x.host.as_deref() == Some(host.as_str()));
    }
    // Newest first, as Nova sorts by created_at desc.
    servers.reverse();
    Ok(servers)
}

async fn list_servers(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, NovaFault> {
    let servers = listed(&s, &ctx, &q)?;
    let items: Vec<Value> = servers.iter().map(|x| json!({"id": x.id, "name": x.name, "links": server_links(s.base(), &x.id)})).collect();
    Ok(Json(json!({"servers": items})))
}

async fn list_servers_detail(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, NovaFault> {
    let admin = policy::allows(&s.compute.deployment(), &ctx, policy::EXTENDED_ATTRIBUTES);
    let servers = listed(&s, &ctx, &q)?;
    let mut views = Vec::new();
    for server in &servers {
        let mut view = shown(&s, server, v, admin)?;
        // The detailed list leaves the server groups out (`show_server_groups` is off).
        if let Some(map) = view.as_object_mut() {
            map.remove("server_groups");
        }
        views.push(view);
    }
    Ok(Json(json!({"servers": views})))
}

async fn delete_server(State(s): State<NovaState>, ctx: AuthContext, Path(id): Path<String>) -> Result<StatusCode, NovaFault> {
    let server = find_server(&s.compute, &ctx, &id, false)?;
    policy::enforce(&s.compute.deployment(), &ctx, policy::DELETE)?;
    volume_ops::release_volumes(&s.compute, &ctx, &server.id).await;
    network::deallocate(&ctx.session(s.compute.http.clone()), &server.id, &server.nics).await;
    s.compute.delete(&server.id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The image as the API reads it from Glance with the caller's token (`_get_image`): missing
/// or invisible is a 400, as is an image that is not active.
pub async fn api_image(compute: &ComputeService, ctx: &AuthContext, id: &str) -> Result<ServerImage, NovaFault> {
    let session = ctx.session(compute.http.clone());
    let img = image::get_image(&session, id).await.map_err(|e| match e.status() {
        Some(404 | 403) => NovaFault::bad_request(format!("Image {id} could not be found.")),
        _ => NovaFault::internal_because(format!("Glance, getting image {id}: {e}")),
    })?;
    if img.status != "active" {
        return Err(NovaFault::bad_request(format!("Image {id} is not active.")));
    }
    check_image_meta(&img)?;
    let properties = img
        .properties
        .iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.clone(), s.clone())),
            Value::Null => None,
            other => Some((k.clone(), other.to_string())),
        })
        .collect();
    Ok(ServerImage { id: img.id, disk_format: img.disk_format, container_format: img.container_format, properties })
}

/// `ImageMetaProps` types the hash method and key type as enums; a value outside them makes
/// `objects.ImageMeta.from_dict` raise `ValueError` and the API answer 400
/// (docs/reference/openstack-behaviour.md B5, derived from `_get_image_meta_obj`).
fn check_image_meta(img: &image::Image) -> Result<(), NovaFault> {
    const HASH_METHODS: [&str; 4] = ["SHA-224", "SHA-256", "SHA-384", "SHA-512"];
    const KEY_TYPES: [&str; 8] =
        ["DSA", "ECC_SECP384R1", "ECC_SECP521R1", "ECC_SECT409K1", "ECC_SECT409R1", "ECC_SECT571K1", "ECC_SECT571R1", "RSA-PSS"];
    for (name, allowed) in [("img_signature_hash_method", &HASH_METHODS[..]), ("img_signature_key_type", &KEY_TYPES[..])] {
        if let Some(value) = img.property(name).filter(|v| !allowed.contains(v)) {
            return Err(NovaFault::bad_request(format!("Invalid image metadata. Error: Field value {value} is invalid")));
        }
    }
    Ok(())
}

/// `instance.trusted_certs` as the API stores it: the user's list, else the configured
/// defaults when both `[glance]` options are on (only then are they persisted).
pub fn stored_trusted_certs(requested: Option<Vec<String>>, d: &Deployment) -> Option<Vec<String>> {
    requested.filter(|c| !c.is_empty()).or_else(|| {
        let both = d.nova_verify_glance_signatures() && d.nova.glance.enable_certificate_validation;
        let defaults = &d.nova.glance.default_trusted_certificate_ids;
        (both && !defaults.is_empty()).then(|| defaults.clone())
    })
}

/// `block_device_mapping_v2` entries as Nova keeps them, checked against Cinder and Glance;
/// an existing volume is reserved for the server in Cinder (`_check_attach_and_reserve_volume`).
/// If a later entry is refused, the reservations already made are deleted.
async fn block_devices(
    compute: &ComputeService,
    ctx: &AuthContext,
    items: &[Map<String, Value>],
    server_id: &str,
) -> Result<Vec<BlockDevice>, NovaFault> {
    let session = ctx.session(compute.http.clone());
    let mut out = Vec::new();
    let checked = check_block_devices(compute, ctx, &session, items, server_id, &mut out).await;
    if checked.is_err() {
        for id in out.iter().filter_map(|b| b.attachment_id.as_deref()) {
            let _ = volume::delete_attachment(&session, id).await;
        }
    }
    checked.map(|()| out)
}

async fn check_block_devices(
    compute: &ComputeService,
    ctx: &AuthContext,
    session: &sigstack_client::Session,
    items: &[Map<String, Value>],
    server_id: &str,
    out: &mut Vec<BlockDevice>,
) -> Result<(), NovaFault> {
    for item in items {
        let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
        let bdm = BlockDevice {
            source_type: text("source_type").unwrap_or_else(|| "volume".into()),
            destination_type: text("destination_type").unwrap_or_else(|| "volume".into()),
            uuid: text("uuid"),
            boot_index: item.get("boot_index").and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))),
            volume_size: item.get("volume_size").and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))),
            delete_on_termination: match item.get("delete_on_termination") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "1" | "t" | "true" | "on" | "y" | "yes"),
                _ => false,
            },
            bdm_uuid: Some(uuid::Uuid::new_v4().to_string()),
            ..BlockDevice::default()
        };
        let uuid = bdm.uuid.clone().unwrap_or_default();
        match (bdm.source_type.as_str(), bdm.destination_type.as_str()) {
            ("volume", "volume") => {
                let vol = volume::get_volume(session, &uuid)
                    .await
                    .map_err(|_| NovaFault::bad_request(format!("Block Device Mapping is Invalid: failed to get volume {uuid}.")))?;
                if vol.status != "available" {
                    return Err(NovaFault::bad_request(format!(
                        "Invalid volume: volume '{uuid}' status must be 'available'. Currently in '{}'",
                        vol.status
                    )));
                }
                let attachment = volume_ops::attachment_create(session, &uuid, server_id).await.map_err(|f| match f.status {
                    StatusCode::BAD_REQUEST => NovaFault::bad_request(format!("Invalid volume: {}", f.message)),
                    _ => f,
                })?;
                out.push(BlockDevice { volume_id: Some(uuid), attachment_id: Some(attachment.id), ..bdm });
            }
            ("image", "volume") => {
                api_image(compute, ctx, &uuid).await?;
                if bdm.volume_size.is_none() {
                    return Err(NovaFault::bad_request(
                        "Block Device Mapping is Invalid: Images with destination_type 'volume' need to have a non-zero size specified",
                    ));
                }
                out.push(bdm);
            }
            _ => return Err(NovaFault::bad_request("Block Device Mapping is Invalid: Unrecognized legacy format.")),
        }
    }
    Ok(())
}

/// Nova's default `[quota]` limits for a project: instances, cores, RAM (MiB).
const QUOTA: [(&str, u64); 3] = [("cores", 20), ("instances", 10), ("ram", 51200)];
/// `[quota] metadata_items`.
const METADATA_ITEMS: usize = 128;

/// `check_num_instances_quota` with Nova's default quotas: how many of `min..=max` instances
/// of `flavor` the project still has room for, or `TooManyInstances` (403). Applied to
/// multi-instance requests (`max_count` > 1) only: a single create is not quota-checked here.
fn instances_within_quota(used: &[Server], flavor: (u64, u64), min: u64, max: u64) -> Result<u64, NovaFault> {
    let (vcpus, ram) = flavor;
    let in_use = |resource: &str| -> u64 {
        used.iter()
            .map(|x| {
                let (_, _, r, v, _) = self::flavor(&x.flavor_id).unwrap_or(("", "", 0, 0, 0));
                match resource {
                    "cores" => v,
                    "ram" => r,
                    _ => 1,
                }
            })
            .sum()
    };
    let delta = |resource: &str, count: u64| match resource {
        "cores" => count.saturating_mul(vcpus),
        "ram" => count.saturating_mul(ram),
        _ => count,
    };
    let overs: Vec<&str> = QUOTA.iter().filter(|(r, q)| in_use(r).saturating_add(delta(r, max)) > *q).map(|(r, _)| *r).collect();
    if overs.is_empty() {
        return Ok(max);
    }
    let headroom = |resource: &str| QUOTA.iter().find(|(r, _)| *r == resource).map_or(0, |(_, q)| q.saturating_sub(in_use(resource)));
    let allowed = headroom("instances").min(headroom("cores") / vcpus.max(1)).min(headroom("ram") / ram.max(1));
    if allowed >= 1 && (min..=max).contains(&allowed) {
        return Ok(allowed);
    }
    let instances = if min == max { min.to_string() } else { format!("{min}-{max}") };
    let requested = |resource: &str| if resource == "instances" { instances.clone() } else { delta(resource, max).to_string() };
    let quota = |resource: &str| QUOTA.iter().find(|(r, _)| *r == resource).map_or(0, |(_, q)| *q);
    let join = |f: &dyn Fn(&str) -> String| overs.iter().map(|r| f(r)).collect::<Vec<_>>().join(", ");
    let names = overs.join(", ");
    Err(NovaFault::forbidden(format!(
        "Quota exceeded for {names}: Requested {}, but already used {} of {} {names}",
        join(&requested),
        join(&|r| (quota(r) - headroom(r)).to_string()),
        join(&|r| quota(r).to_string()),
    )))
}

/// `common.get_id_from_href`: the last path segment of a flavor reference.
fn id_from_href(href: &str) -> &str {
    let path = href.split(['?', '#']).next().unwrap_or(href);
    let path = path.split_once("://").map_or(path, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
    path.rsplit('/').next().unwrap_or(path)
}

async fn create_server(
    State(s): State<NovaState>,
    ctx: AuthContext,
    Extension(v): Extension<Microversion>,
    body: Bytes,
) -> Result<Response, NovaFault> {
    let d = s.compute.deployment();
    let body = body_json(&body)?;
    let request = schema::create(&body, v)?;
    let scheduler_hints = hints::from_create(&body)?;
    policy::enforce(&d, &ctx, policy::CREATE)?;
    let requested_certs = request.trusted_certs.clone().flatten();
    if requested_certs.is_some() {
        policy::enforce(&d, &ctx, policy::CREATE_TRUSTED_CERTS)?;
    }
    // `parse_availability_zone`: `ZONE[:HOST[:NODE]]`, an empty zone being none (no
    // `default_schedule_zone`). The zone is the instance's and its request spec's.
    let (availability_zone, requested_host) = match request.availability_zone.as_deref() {
        None => (None, None),
        Some(az) => {
            let (zone, host) = az.split_once(':').map(|(z, h)| (z, Some(h))).unwrap_or((az, None));
            if !zone.is_empty() && zone != "nova" {
                return Err(NovaFault::bad_request("The requested availability zone is not available"));
            }
            let host = host.map(|h| h.split(':').next().unwrap_or(h)).filter(|h| !h.is_empty());
            if host.is_some() {
                policy::enforce(&d, &ctx, policy::FORCED_HOST)?;
            }
            ((!zone.is_empty()).then(|| zone.to_owned()), host.map(str::to_owned))
        }
    };
    // The controller's own checks: the networks' format, then the flavor.
    let networks = schema::requested_networks(request.networks.as_ref())?;
    let flavor_id = id_from_href(&request.flavor_ref).to_owned();
    let (_, _, flavor_ram, flavor_vcpus, _) =
        flavor(&flavor_id).ok_or_else(|| NovaFault::bad_request(format!("Flavor {flavor_id} could not be found.")))?;
    let trusted_certs = stored_trusted_certs(requested_certs, &d);
    let image = match &request.image_ref {
        // `ImageNotFound` is worded by the create controller.
        Some(image_id) => Some(api_image(&s.compute, &ctx, image_id).await.map_err(|f| match f.status {
            StatusCode::BAD_REQUEST if f.message == format!("Image {image_id} could not be found.") => {
                NovaFault::bad_request("Can not find requested image")
            }
            _ => f,
        })?),
        None => {
            if request.block_devices.is_empty() {
                return Err(NovaFault::bad_request(
                    "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.",
                ));
            }
            if trusted_certs.is_some() {
                return Err(NovaFault::bad_request("Image certificate validation is not supported when booting from volume"));
            }
            None
        }
    };
    // `compute.API.create`: Neutron must know the networks and ports, no key pair exists,
    // and the metadata quota.
    let nics = network::validate(&ctx.session(s.compute.http.clone()), &networks).await?;
    if request.key_name.is_some() {
        return Err(NovaFault::bad_request("Invalid key_name provided."));
    }
    if request.metadata.len() > METADATA_ITEMS {
        return Err(NovaFault::forbidden(format!("Maximum number of metadata items exceeds {METADATA_ITEMS}")));
    }
    let multiple = request.max_count > 1;
    if multiple && request.block_devices.iter().any(|b| b.get("source_type").and_then(Value::as_str).unwrap_or("volume") == "volume") {
        return Err(NovaFault::bad_request("Cannot attach one or more volumes to multiple instances"));
    }
    hints::check_group(&scheduler_hints)?;
    let count = match multiple {
        true => {
            let used: Vec<Server> = s.compute.all_servers()?.into_iter().filter(|x| x.project_id == ctx.project_id).collect();
            instances_within_quota(&used, (flavor_vcpus, flavor_ram), request.min_count, request.max_count)?
        }
        false => 1,
    };
    let mut created = Vec::new();
    for index in 1..=count {
        let server_id = uuid::Uuid::new_v4().to_string();
        let devices = match &image {
            Some(_) => Vec::new(),
            None => block_devices(&s.compute, &ctx, &request.block_devices, &server_id).await?,
        };
        // `_populate_instance_names`: `<name>-<n>` when the request makes more than one.
        let name = if count > 1 { format!("{}-{index}", request.name) } else { request.name.clone() };
        let mut server = new_server(
            &ctx,
            server_id,
            name,
            image.clone(),
            &flavor_id,
            requested_host.clone(),
            trusted_certs.clone(),
            devices,
            nics.clone(),
            &request,
        );
        server.availability_zone = availability_zone.clone();
        server.pinned_availability_zone = availability_zone.clone();
        server.scheduler_hints = scheduler_hints.clone();
        s.compute.insert(&server)?;
        tokio::spawn(build::build(s.compute.clone(), ctx.clone(), server.id.clone()));
        created.push(server);
    }
    let Some(server) = created.into_iter().next() else { return Err(NovaFault::internal()) };
    if request.return_reservation_id {
        let reservation: String = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        return Ok((StatusCode::ACCEPTED, Json(json!({"reservation_id": format!("r-{reservation}")}))).into_response());
    }
    let admin_pass = request.admin_pass.clone().unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
    let body = json!({"server": {
        "id": server.id, "links": server_links(s.base(), &server.id), "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}], "adminPass": admin_pass,
    }});
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("{}/v2.1/servers/{}", s.base(), server.id)) {
        response.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(response)
}

/// A new server record, `BUILDING` and scheduling.
#[allow(clippy::too_many_arguments)]
fn new_server(
    ctx: &AuthContext,
    id: String,
    name: String,
    image: Option<ServerImage>,
    flavor_id: &str,
    requested_host: Option<String>,
    trusted_certs: Option<Vec<String>>,
    block_devices: Vec<BlockDevice>,
    nics: Vec<network::RequestedNic>,
    request: &schema::CreateRequest,
) -> Server {
    let now = model::now();
    Server {
        id,
        name,
        project_id: ctx.project_id.clone(),
        user_id: ctx.user_id.clone(),
        image,
        flavor_id: flavor_id.to_owned(),
        vm_state: model::BUILDING.into(),
        task_state: Some("scheduling".into()),
        power_state: 0,
        host: None,
        requested_host,
        availability_zone: None,
        pinned_availability_zone: None,
        scheduler_hints: BTreeMap::new(),
        trusted_certs,
        block_devices,
        fault: None,
        metadata: request
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
            .collect(),
        created: now.clone(),
        updated: now,
        launched_at: None,
        nics,
        addresses: serde_json::Map::new(),
        user_data: request.user_data.clone(),
        // `_populate_instance_for_create` names the owner; the compute host keeps the roles
        // of the token it builds with (`boot_roles`).
        system_metadata: BTreeMap::from([
            ("owner_project_name".to_owned(), ctx.project_name.clone()),
            ("owner_user_name".to_owned(), ctx.user_name.clone()),
            ("boot_roles".to_owned(), ctx.roles.join(",")),
        ]),
    }
}
