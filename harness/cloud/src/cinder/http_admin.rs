//! Cinder's project and operator views: quota sets and the default quota class
//! (`api/contrib/quotas.py`, `quota_classes.py`), absolute limits (`api/v3/limits.py` with
//! `used_limits`), availability zones, services (`api/v3/services.py`), hosts
//! (`api/contrib/hosts.py`), back-end pools (`scheduler-stats/get_pools`), capabilities and
//! the extension list. The services are the simulated deployment's: one `cinder-scheduler`
//! on host `cinder` and one `cinder-volume` per back end (`cinder@<backend>`), all up.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::call::Call;
use super::envelope::sole_member;
use super::fault::Fault;
use super::http::{CinderState, Version, check_project, json_body, project_json_body};
use super::http_types::authorize;
use super::model::now;
use super::quotas::NON_QUOTA_KEYS;
use crate::jsonschema::{self, SchemaError};
use crate::wire::AuthContext;

/// `DB_MAX_INT`, the largest limit.
const DB_MAX_INT: i64 = 0x7FFF_FFFF;
/// The scheduler's host.
const HOST: &str = "cinder";

pub fn routes() -> Router<CinderState> {
    Router::new()
        .route("/v3/{project_id}/os-quota-sets/{target}", get(show_quotas).put(update_quotas).delete(delete_quotas))
        .route("/v3/{project_id}/os-quota-sets/{target}/defaults", get(default_quotas))
        .route("/v3/{project_id}/os-quota-class-sets/{class}", get(show_class).put(update_class))
        .route("/v3/{project_id}/limits", get(limits))
        .route("/v3/{project_id}/os-availability-zone", get(availability_zones))
        .route("/v3/{project_id}/os-services", get(services))
        .route("/v3/{project_id}/os-services/{action}", put(update_service))
        .route("/v3/{project_id}/os-hosts", get(hosts))
        .route("/v3/{project_id}/os-hosts/{host}", get(show_host))
        .route("/v3/{project_id}/scheduler-stats/get_pools", get(pools))
        .route("/v3/{project_id}/capabilities/{host}", get(capabilities))
        .route("/v3/{project_id}/extensions", get(extensions))
}

fn admin(ctx: &AuthContext, project_id: &str, rule: &str) -> Result<(), Fault> {
    check_project(ctx, project_id)?;
    authorize(ctx, rule)
}

/// `quota_sets` show policy: the project's own readers, or an admin.
fn may_show(ctx: &AuthContext, target: &str) -> Result<(), Fault> {
    if ctx.is_admin() || ctx.project_id == target {
        Ok(())
    } else {
        Err(Fault::new(StatusCode::FORBIDDEN, "Policy doesn't allow volume_extension:quotas:show to be performed."))
    }
}

async fn show_quotas(
    Call { s, ctx, path: (project_id, target), .. }: Call<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    may_show(&ctx, &target)?;
    let usage = query.get("usage").is_some_and(|v| ["true", "1", "t", "on", "y", "yes"].contains(&v.to_lowercase().as_str()));
    let mut set = Map::new();
    if usage {
        for (r, u) in s.volumes.project_usage(&target)? {
            set.insert(r, json!({"limit": u.limit, "in_use": u.in_use, "reserved": 0}));
        }
    } else {
        for (r, v) in s.volumes.project_quotas(&target)? {
            set.insert(r, json!(v));
        }
    }
    set.insert("id".into(), json!(target));
    Ok(Json(json!({"quota_set": set})).into_response())
}

async fn default_quotas(Call { s, ctx, path: (project_id, target), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    may_show(&ctx, &target)?;
    let mut set: Map<String, Value> = s.volumes.quota_defaults()?.into_iter().map(|(r, v)| (r, json!(v))).collect();
    set.insert("id".into(), json!(target));
    Ok(Json(json!({"quota_set": set})).into_response())
}

/// The `quota_set`/`quota_class_set` body: known resources with integer limits from -1 to
/// `DB_MAX_INT` (`validate_integer`'s messages), `Bad key(s)` for anything else.
fn quota_values(s: &CinderState, body: &Value, wrapper: &str, class: bool) -> Result<BTreeMap<String, i64>, Fault> {
    let inner = sole_member(body, wrapper)?;
    let Some(map) = inner.as_object() else {
        return Err(SchemaError::at(wrapper, inner, jsonschema::not_of_type(inner, &["object"])).into());
    };
    let resources = s.volumes.quota_resources()?;
    let bad: Vec<&str> =
        map.keys().filter(|k| !resources.contains(k) && (class || !NON_QUOTA_KEYS.contains(&k.as_str()))).map(String::as_str).collect();
    if !bad.is_empty() {
        let what = if class { "quota class set" } else { "quota set" };
        return Err(Fault::invalid_input(format!("Bad key(s) in {what}: {}", bad.join(", "))));
    }
    let mut out = BTreeMap::new();
    for (k, v) in map.iter().filter(|(k, _)| resources.contains(k)) {
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(t) => t.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| Fault::bad_request(format!("{k} must be an integer")))?;
        if n < -1 {
            return Err(Fault::bad_request(format!("{k} must be >= -1")));
        }
        if n > DB_MAX_INT {
            return Err(Fault::bad_request(format!("{k} must be <= {DB_MAX_INT}")));
        }
        out.insert(k.clone(), n);
    }
    Ok(out)
}

async fn update_quotas(Call { s, ctx, path: (project_id, target), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let values = quota_values(&s, &json_body(&body)?, "quota_set", false)?;
    authorize(&ctx, "volume_extension:quotas:update")?;
    // `_validate_existing_resource`: a limit may not go below what is in use.
    let usage = s.volumes.project_usage(&target)?;
    for (k, v) in &values {
        if k == "per_volume_gigabytes" || *v == -1 {
            continue;
        }
        let used = usage.get(k).map(|u| u.in_use).unwrap_or(0);
        if *v < used {
            return Err(Fault::bad_request(format!(
                "Quota {k} limit must be equal or greater than existing resources. Current usage is {used} and the requested limit is {v}."
            )));
        }
    }
    s.volumes.set_project_quotas(&target, &values)?;
    let set: Map<String, Value> = s.volumes.project_quotas(&target)?.into_iter().map(|(r, v)| (r, json!(v))).collect();
    Ok(Json(json!({"quota_set": set})).into_response())
}

async fn delete_quotas(Call { s, ctx, path: (project_id, target), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:quotas:delete")?;
    s.volumes.delete_project_quotas(&target)?;
    Ok(StatusCode::OK.into_response())
}

async fn show_class(Call { s, ctx, path: (project_id, class), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:quota_classes")?;
    let mut set: Map<String, Value> = s.volumes.quota_class(&class)?.into_iter().map(|(r, v)| (r, json!(v))).collect();
    set.insert("id".into(), json!(class));
    Ok(Json(json!({"quota_class_set": set})).into_response())
}

async fn update_class(Call { s, ctx, path: (project_id, class), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let values = quota_values(&s, &json_body(&body)?, "quota_class_set", true)?;
    authorize(&ctx, "volume_extension:quota_classes:update")?;
    s.volumes.set_quota_class(&class, &values)?;
    let set: Map<String, Value> = s.volumes.quota_class(&class)?.into_iter().map(|(r, v)| (r, json!(v))).collect();
    Ok(Json(json!({"quota_class_set": set})).into_response())
}

/// `GET /limits`: no rate limits; the project's quotas and, from `used_limits`, its usage.
async fn limits(Call { s, ctx, path: project_id, .. }: Call<String>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let usage = s.volumes.project_usage(&ctx.project_id)?;
    let limit = |r: &str| usage.get(r).map(|u| u.limit).unwrap_or(-1);
    let used = |r: &str| usage.get(r).map(|u| u.in_use).unwrap_or(0);
    let absolute = json!({
        "maxTotalVolumeGigabytes": limit("gigabytes"),
        "maxTotalBackupGigabytes": limit("backup_gigabytes"),
        "maxTotalVolumes": limit("volumes"),
        "maxTotalSnapshots": limit("snapshots"),
        "maxTotalBackups": limit("backups"),
        "totalVolumesUsed": used("volumes"),
        "totalGigabytesUsed": used("gigabytes"),
        "totalSnapshotsUsed": 0,
        "totalBackupsUsed": 0,
        "totalBackupGigabytesUsed": 0,
    });
    Ok(Json(json!({"limits": {"rate": [], "absolute": absolute}})).into_response())
}

async fn availability_zones(ctx: AuthContext, Version(_): Version, Path(project_id): Path<String>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    Ok(Json(json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}}]})).into_response())
}

/// The deployment's services: (binary, host).
fn service_list(s: &CinderState) -> Vec<(String, String)> {
    let mut out = vec![("cinder-scheduler".to_owned(), HOST.to_owned())];
    for b in s.volumes.deployment().get().cinder.backends {
        out.push(("cinder-volume".into(), format!("{HOST}@{}", b.name)));
    }
    out
}

async fn services(
    Call { s, ctx, path: project_id, .. }: Call<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:services:index")?;
    let updated = now();
    let list: Vec<Value> = service_list(&s)
        .into_iter()
        .filter(|(binary, host)| {
            query.get("binary").is_none_or(|b| b == binary)
                && query.get("host").is_none_or(|h| h == host || host.split('@').next() == Some(h.as_str()))
        })
        .map(|(binary, host)| {
            let mut v = json!({
                "binary": binary, "host": host, "zone": "nova", "status": "enabled", "state": "up",
                "updated_at": updated, "disabled_reason": null,
            });
            if binary == "cinder-volume" {
                v["replication_status"] = json!("disabled");
                v["active_backend_id"] = Value::Null;
                v["frozen"] = json!(false);
            }
            v
        })
        .collect();
    Ok(Json(json!({"services": list})).into_response())
}

/// `PUT os-services/{enable,disable,disable-log-reason,freeze,thaw}`.
async fn update_service(Call { s, ctx, path: (project_id, action), .. }: Call<(String, String)>, body: Bytes) -> Result<Response, Fault> {
    let body = project_json_body(&ctx, &project_id, &body)?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    authorize(&ctx, "volume_extension:services:update")?;
    let host = text("host").unwrap_or_default();
    let known = service_list(&s);
    if action == "freeze" || action == "thaw" {
        if !known.iter().any(|(b, h)| b == "cinder-volume" && *h == host) {
            return Err(Fault::invalid_input(format!("Service cinder-volume could not be found on host {host}.")));
        }
        return Ok(StatusCode::OK.into_response());
    }
    let binary = text("binary").or_else(|| text("service")).unwrap_or_default();
    if action == "disable-log-reason" {
        match body.get("disabled_reason") {
            Some(Value::String(r)) if !r.trim().is_empty() && r.chars().count() <= 255 => {}
            Some(v) => return Err(SchemaError::at("disabled_reason", v, jsonschema::not_of_type(v, &["string"])).into()),
            None => return Err(SchemaError::root(&body, jsonschema::required("disabled_reason")).into()),
        }
    }
    if !["enable", "disable", "disable-log-reason"].contains(&action.as_str()) {
        return Err(Fault::no_resource());
    }
    if !known.iter().any(|(b, h)| *b == binary && *h == host) {
        return Err(Fault::not_found(format!("Could not find binary {binary} on host {host}.")));
    }
    let service = text("service").unwrap_or_default();
    let mut answer = json!({"host": host, "service": service, "binary": binary});
    if action == "enable" {
        answer["status"] = json!("enabled");
        answer["disabled"] = json!(false);
    } else {
        answer["status"] = json!("disabled");
        answer["disabled"] = json!(true);
        if action == "disable-log-reason" {
            answer["disabled_reason"] = body["disabled_reason"].clone();
        }
    }
    Ok(Json(answer).into_response())
}

async fn hosts(Call { s, ctx, path: project_id, .. }: Call<String>) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:hosts")?;
    let updated = now();
    let list: Vec<Value> = service_list(&s)
        .into_iter()
        .map(|(binary, host)| {
            json!({"service-status": "available", "service": binary, "zone": "nova", "service-state": "enabled",
                   "host_name": host, "last-update": updated})
        })
        .collect();
    Ok(Json(json!({"hosts": list})).into_response())
}

/// `GET os-hosts/{host}`: the volumes and GiB per project on a `cinder-volume` host.
async fn show_host(Call { s, ctx, path: (project_id, host), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:hosts")?;
    let Some(backend) =
        host.strip_prefix(&format!("{HOST}@")).filter(|b| s.volumes.deployment().get().cinder.backends.iter().any(|x| x.name == *b))
    else {
        return Err(Fault::not_found(format!("Host {host} could not be found.")));
    };
    let mut per_project: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for v in s.volumes.list_all_projects()? {
        if s.volumes.backend_of_type(&v.volume_type).is_some_and(|b| b.name == backend) {
            let e = per_project.entry(v.project_id.clone()).or_default();
            e.0 += 1;
            e.1 += v.size;
        }
    }
    let (count, gb) = per_project.values().fold((0, 0), |acc, (c, g)| (acc.0 + c, acc.1 + g));
    let mut resources = vec![json!({"resource": {"host": host, "project": "(total)", "volume_count": count.to_string(),
        "total_volume_gb": gb.to_string(), "snapshot_count": "0", "total_snapshot_gb": "0"}})];
    for (p, (c, g)) in per_project {
        resources.push(json!({"resource": {"host": host, "project": p, "volume_count": c.to_string(),
            "total_volume_gb": g.to_string(), "snapshot_count": "0", "total_snapshot_gb": "0"}}));
    }
    Ok(Json(json!({"host": resources})).into_response())
}

fn backend_capabilities(backend: &crate::deployment::VolumeBackendSpec) -> Value {
    let mut caps = super::scheduler::capabilities(backend);
    caps["timestamp"] = json!(now());
    caps
}

use super::scheduler::storage_protocol as protocol;

async fn pools(
    Call { s, ctx, path: project_id, .. }: Call<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "scheduler_extension:scheduler_stats:get_pools")?;
    let detail = query.get("detail").is_some_and(|d| ["true", "1", "yes", "t", "on", "y"].contains(&d.to_lowercase().as_str()));
    let list: Vec<Value> = s
        .volumes
        .deployment()
        .get()
        .cinder
        .backends
        .iter()
        .map(|b| {
            let name = format!("{HOST}@{0}#{0}", b.name);
            if detail { json!({"name": name, "capabilities": backend_capabilities(b)}) } else { json!({"name": name}) }
        })
        .collect();
    Ok(Json(json!({"pools": list})).into_response())
}

/// `GET capabilities/{host}` (`cinder@<backend>`).
async fn capabilities(Call { s, ctx, path: (project_id, host), .. }: Call<(String, String)>) -> Result<Response, Fault> {
    admin(&ctx, &project_id, "volume_extension:capabilities")?;
    let backend = s.volumes.deployment().get().cinder.backends.into_iter().find(|b| format!("{HOST}@{}", b.name) == host);
    let Some(b) = backend else { return Err(Fault::not_found(format!("Service cinder-volume could not be found on host {host}."))) };
    Ok(Json(json!({
        "namespace": format!("OS::Storage::Capabilities::{host}"),
        "vendor_name": "Open Source", "volume_backend_name": b.name, "pool_name": null, "driver_version": "3.0.0",
        "storage_protocol": protocol(b.driver), "display_name": null, "description": null, "visibility": null,
        "replication_targets": [], "properties": {},
    }))
    .into_response())
}

/// The extensions `cinder.api.contrib.standard_extensions` loads (name, alias, updated).
const EXTENSIONS: [(&str, &str, &str, &str); 12] = [
    ("AdminActions", "os-admin-actions", "2012-08-25T00:00:00+00:00", "Enable admin actions."),
    ("AvailabilityZones", "os-availability-zone", "2013-06-27T00:00:00+00:00", "Describe Availability Zones."),
    ("Hosts", "os-hosts", "2011-06-29T00:00:00+00:00", "Admin-only host administration."),
    ("QuotaClasses", "os-quota-class-sets", "2012-03-12T00:00:00+00:00", "Quota classes management support."),
    ("Quotas", "os-quota-sets", "2011-08-08T00:00:00+00:00", "Quota management support."),
    ("Services", "os-services", "2012-10-28T00:00:00-00:00", "Services support."),
    ("TypesExtraSpecs", "os-types-extra-specs", "2011-08-24T00:00:00+00:00", "Type extra specs support."),
    ("TypesManage", "os-types-manage", "2011-08-24T00:00:00+00:00", "Types manage support."),
    ("VolumeActions", "os-volume-actions", "2012-05-31T00:00:00+00:00", "Enable volume actions."),
    (
        "VolumeTenantAttribute",
        "os-vol-tenant-attr",
        "2011-11-03T00:00:00+00:00",
        "Expose the internal project_id as an attribute of a volume.",
    ),
    ("VolumeTypeAccess", "os-volume-type-access", "2014-06-26T00:00:00Z", "Volume type access support."),
    ("VolumeTypeEncryption", "encryption", "2013-07-01T00:00:00+00:00", "Encryption support for volume types."),
];

async fn extensions(ctx: AuthContext, Version(_): Version, Path(project_id): Path<String>) -> Result<Response, Fault> {
    check_project(&ctx, &project_id)?;
    let list: Vec<Value> = EXTENSIONS
        .iter()
        .map(|(name, alias, updated, description)| json!({"name": name, "alias": alias, "updated": updated, "description": description, "links": []}))
        .collect();
    Ok(Json(json!({"extensions": list})).into_response())
}
