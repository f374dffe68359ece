//! Cinder's JSON views: volumes (`views/volumes.py`, fields by microversion), user messages,
//! volume types, version discovery. The microversions Cinder speaks, and its refusals, live
//! here too.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::attach::Attachment;
use super::fault::Fault;
use super::model::{UserMessage, Volume, VolumeExtras};
use super::types::VolumeType;
use crate::microversion::{Microversion, Microversions, Refused};
use crate::wire::AuthContext;

/// The microversions this Cinder speaks (2023.1 and later: 3.0 to 3.71; `latest` read in
/// any case).
pub const VOLUME: Microversions = Microversions {
    service_type: "volume",
    legacy_header: None,
    min: Microversion(3, 0),
    max: Microversion(3, 71),
    latest_in_any_case: true,
};
/// User messages exist from 3.3.
pub const MESSAGES_VERSION: Microversion = Microversion(3, 3);

/// The version a request asks for with `OpenStack-API-Version: volume <v>` (absent: 3.0;
/// `latest`: the maximum), or the fault Cinder answers with (`InvalidAPIVersionString`, 400;
/// `InvalidGlobalAPIVersion`, 406).
pub fn requested_version(headers: &HeaderMap) -> Result<Microversion, Fault> {
    VOLUME.negotiate(headers).map_err(|refused| match refused {
        Refused::Malformed(text) => {
            Fault::bad_request(format!("API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."))
        }
        Refused::Unsupported(version) => Fault::new(
            StatusCode::NOT_ACCEPTABLE,
            format!("Version {version} is not supported by the API. Minimum is {} and maximum is {}.", VOLUME.min, VOLUME.max),
        ),
    })
}

/// The v3 entry of version discovery.
pub fn version_entry(public_url: &str) -> Value {
    json!({
        "id": "v3.0",
        "status": "CURRENT",
        "version": VOLUME.max.to_string(),
        "min_version": VOLUME.min.to_string(),
        "updated": "2023-08-31T00:00:00Z",
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": format!("{}/v3/", public_url.trim_end_matches('/'))},
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}],
    })
}

/// A stable id for a volume type (types are named by the deployment's back ends).
pub fn volume_type_id(name: &str) -> String {
    let digest = sha2::Sha256::digest(format!("cinder-volume-type:{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// The uuid of the cinder-volume service of back end `backend` (`services.uuid`).
fn service_uuid(backend: &str) -> String {
    let digest = sha2::Sha256::digest(format!("cinder-volume-service:{backend}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// A volume type's whole record (what `os-volume_upload_image` answers as `volume_type`).
pub fn type_view(t: &VolumeType) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "is_public": t.is_public,
        "os-volume-type-access:is_public": t.is_public,
        "qos_specs_id": t.qos_specs_id,
        "extra_specs": t.extra_specs,
    })
}

/// The extra specs `volume_extension:types_extra_specs:read_sensitive` (admin) is not needed
/// for (`USER_VISIBLE_EXTRA_SPECS`).
pub const USER_VISIBLE_EXTRA_SPECS: [&str; 3] = ["RESKEY:availability_zones", "multiattach", "replication_enabled"];

/// `SYSTEM_READER_OR_PROJECT_READER`: any role on the project (or an admin).
pub fn is_reader(ctx: &AuthContext) -> bool {
    ctx.is_admin() || ctx.has_role("reader") || ctx.has_role("member")
}

/// `SYSTEM_ADMIN_OR_PROJECT_MEMBER`.
pub fn is_member(ctx: &AuthContext) -> bool {
    ctx.is_admin() || ctx.has_role("member")
}

/// `v3/views/types.py` `show` (GET): `extra_specs` under `access_types_extra_specs` (readers;
/// the sensitive ones for admins only), `qos_specs_id` under `access_types_qos_specs_id`
/// (admins), and the type-access extension's `is_public` (members).
pub fn type_show(ctx: &AuthContext, t: &VolumeType) -> Value {
    let mut v = json!({"id": t.id, "name": t.name, "is_public": t.is_public, "description": t.description});
    let Some(map) = v.as_object_mut() else { return v };
    if is_reader(ctx) {
        let specs: BTreeMap<&String, &String> =
            t.extra_specs.iter().filter(|(k, _)| ctx.is_admin() || USER_VISIBLE_EXTRA_SPECS.contains(&k.as_str())).collect();
        map.insert("extra_specs".into(), json!(specs));
    }
    if ctx.is_admin() {
        map.insert("qos_specs_id".into(), json!(t.qos_specs_id));
    }
    if is_member(ctx) {
        map.insert("os-volume-type-access:is_public".into(), json!(t.is_public));
    }
    v
}

/// `api/views/types.py` `show`, the view `types_manage` answers create and update with (all
/// extra specs, no `qos_specs_id`), plus the type-access extension's `is_public` on create.
pub fn type_manage_view(ctx: &AuthContext, t: &VolumeType, with_access: bool) -> Value {
    let mut v = json!({"id": t.id, "name": t.name, "is_public": t.is_public, "extra_specs": t.extra_specs, "description": t.description});
    if with_access
        && is_member(ctx)
        && let Some(map) = v.as_object_mut()
    {
        map.insert("os-volume-type-access:is_public".into(), json!(t.is_public));
    }
    v
}

/// What a volume's view needs beyond its record: its Glance metadata, attachments, the id of
/// its type, the back end it lives on and whether it has an encryption key.
pub struct VolumeFacts {
    pub image_metadata: BTreeMap<String, String>,
    pub attachments: Vec<Attachment>,
    pub type_id: String,
    pub backend: String,
    pub encrypted: bool,
    pub encryption_key_id: Option<String>,
    pub extras: VolumeExtras,
}

fn links(public_url: &str, project_id: &str, collection: &str, id: &str) -> Value {
    let root = public_url.trim_end_matches('/');
    json!([
        {"href": format!("{root}/v3/{project_id}/{collection}/{id}"), "rel": "self"},
        {"href": format!("{root}/{project_id}/{collection}/{id}"), "rel": "bookmark"},
    ])
}

/// `GET /volumes`: id, name, links.
pub fn volume_summary(public_url: &str, volume: &Volume) -> Value {
    json!({"id": volume.id, "name": volume.name, "links": links(public_url, &volume.project_id, "volumes", &volume.id)})
}

/// `GET /volumes/{id}` and `/volumes/detail` (`extended`: the show and detail extensions add
/// the tenant, host, migration and image-metadata attributes; create and update answer
/// without them), with the fields of `version`; the admin-only ones for admins;
/// `volume_image_metadata` when the volume has Glance metadata.
pub fn volume_detail(
    public_url: &str,
    ctx: &AuthContext,
    version: Microversion,
    volume: &Volume,
    facts: &VolumeFacts,
    extended: bool,
) -> Value {
    let image_metadata = &facts.image_metadata;
    let mut v = json!({
        "id": volume.id,
        "status": volume.status,
        "size": volume.size,
        "availability_zone": volume.availability_zone,
        "created_at": volume.created_at,
        "updated_at": volume.updated_at,
        "attachments": volume_attachments(ctx, &facts.attachments),
        "name": volume.name,
        "description": volume.description,
        "volume_type": volume.volume_type,
        "snapshot_id": null,
        "source_volid": volume.source_volid,
        "metadata": visible_metadata(volume, &facts.extras),
        "links": links(public_url, &volume.project_id, "volumes", &volume.id),
        "user_id": volume.user_id,
        "bootable": if volume.bootable { "true" } else { "false" },
        // `_is_volume_encrypted`: the volume has an encryption key.
        "encrypted": facts.encrypted,
        "replication_status": null,
        "consistencygroup_id": null,
        "multiattach": false,
    });
    let Some(map) = v.as_object_mut() else { return v };
    if ctx.is_admin() {
        map.insert("migration_status".into(), json!(facts.extras.migration_status));
    }
    if extended {
        if is_reader(ctx) {
            map.insert("os-vol-tenant-attr:tenant_id".into(), json!(volume.project_id));
        }
        if !image_metadata.is_empty() && is_reader(ctx) {
            map.insert("volume_image_metadata".into(), json!(image_metadata));
        }
        if ctx.is_admin() {
            map.insert("os-vol-host-attr:host".into(), json!(format!("cinder@{0}#{0}", facts.backend)));
            map.insert("os-vol-mig-status-attr:migstat".into(), json!(facts.extras.migration_status));
            map.insert("os-vol-mig-status-attr:name_id".into(), Value::Null);
        }
    }
    if version >= Microversion(3, 13) {
        map.insert("group_id".into(), json!(facts.extras.group_id));
    }
    if version >= Microversion(3, 21) && ctx.is_admin() {
        map.insert("provider_id".into(), Value::Null);
    }
    if version >= Microversion(3, 48) {
        // The volume manager sets both once it created the volume: the driver's
        // `shared_targets` (false for LVM, NFS and RBD) and its service's uuid. Until then, and
        // for a creation that failed, the database's defaults: true, null.
        let created = !matches!(volume.status.as_str(), "creating" | "downloading" | "error");
        map.insert("shared_targets".into(), json!(!created));
        map.insert("service_uuid".into(), json!(created.then(|| service_uuid(&facts.backend))));
    }
    if version >= Microversion(3, 61) && ctx.is_admin() {
        map.insert("cluster_name".into(), Value::Null);
    }
    if version >= Microversion(3, 63) {
        map.insert("volume_type_id".into(), json!(facts.type_id));
    }
    if version >= Microversion(3, 64)
        && let Some(key) = &facts.encryption_key_id
    {
        map.insert("encryption_key_id".into(), json!(key));
    }
    if version >= Microversion(3, 65) {
        map.insert("consumes_quota".into(), json!(true));
    }
    v
}

/// The volume's metadata with the visible admin metadata (`readonly`, `attached_mode`) over
/// it (`utils.add_visible_admin_metadata`).
pub fn visible_metadata(volume: &Volume, extras: &VolumeExtras) -> BTreeMap<String, String> {
    let mut metadata = volume.metadata.clone();
    for key in ["readonly", "attached_mode"] {
        if let Some(v) = extras.admin_metadata.get(key) {
            metadata.insert(key.to_owned(), v.clone());
        }
    }
    metadata
}

/// A volume's `attachments`: the `attached` ones only, `host_name` for admins only
/// (`_get_attachments`).
fn volume_attachments(ctx: &AuthContext, attachments: &[Attachment]) -> Value {
    let list: Vec<Value> = attachments
        .iter()
        .filter(|a| a.attach_status == "attached")
        .map(|a| {
            json!({
                "id": a.volume_id,
                "attachment_id": a.id,
                "volume_id": a.volume_id,
                "server_id": a.instance_uuid,
                "host_name": if ctx.is_admin() { json!(a.attached_host) } else { Value::Null },
                "device": a.mountpoint,
                "attached_at": a.attach_time,
            })
        })
        .collect();
    Value::Array(list)
}

/// `views/attachments.py` `summary`.
pub fn attachment_summary(a: &Attachment) -> Value {
    json!({"id": a.id, "status": a.attach_status, "instance": a.instance_uuid, "volume_id": a.volume_id})
}

/// `views/attachments.py` `detail`: the summary plus times (`''` when unset), mode and the
/// connection info.
pub fn attachment_detail(a: &Attachment) -> Value {
    let mut v = attachment_summary(a);
    if let Some(map) = v.as_object_mut() {
        map.insert("attached_at".into(), json!(a.attach_time.clone().unwrap_or_default()));
        map.insert("detached_at".into(), json!(""));
        map.insert("attach_mode".into(), json!(a.attach_mode));
        map.insert("connection_info".into(), a.connection_info.clone());
    }
    v
}

/// `views/messages.py`; the links name the caller's project (`_get_project_id(request)`),
/// which for a listing need not be the message's.
pub fn message_view(public_url: &str, caller_project: &str, m: &UserMessage) -> Value {
    json!({
        "id": m.id,
        "event_id": m.event_id,
        "user_message": m.user_message,
        "message_level": m.message_level,
        "resource_type": m.resource_type,
        "resource_uuid": m.resource_uuid,
        "request_id": m.request_id,
        "created_at": m.created_at,
        "guaranteed_until": m.expires_at,
        "links": links(public_url, caller_project, "messages", &m.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microversion_header() {
        let version = |header: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(h) = header {
                headers.insert(crate::microversion::HEADER, axum::http::HeaderValue::from_str(h).unwrap());
            }
            requested_version(&headers)
        };
        assert_eq!(version(None).unwrap(), Microversion(3, 0));
        assert_eq!(version(Some("volume 3.3")).unwrap(), Microversion(3, 3));
        assert_eq!(version(Some("compute 2.1, volume latest")).unwrap(), VOLUME.max);
        assert_eq!(version(Some("compute 2.1, volume LATEST")).unwrap(), Microversion(3, 71));
        assert_eq!(version(Some("compute 2.90")).unwrap(), VOLUME.min);
        let f = version(Some("volume 3.72")).unwrap_err();
        assert_eq!(
            (f.status.as_u16(), f.message.as_str()),
            (406, "Version 3.72 is not supported by the API. Minimum is 3.0 and maximum is 3.71.")
        );
        let f = version(Some("volume 3.x")).unwrap_err();
        assert_eq!(
            (f.status.as_u16(), f.message.as_str()),
            (400, "API Version String 3.x is of invalid format. Must be of format MajorNum.MinorNum.")
        );
        assert_eq!(version(Some("volume 03.1")).unwrap_err().status.as_u16(), 400);
        assert_eq!(version(Some("volume 2.0")).unwrap_err().status.as_u16(), 406);
    }

    #[test]
    fn type_ids_are_stable_uuids() {
        assert_eq!(volume_type_id("lvmdriver-1"), volume_type_id("lvmdriver-1"));
        assert_ne!(volume_type_id("lvmdriver-1"), volume_type_id("ceph"));
        assert!(uuid::Uuid::parse_str(&volume_type_id("x")).is_ok());
    }
}
