//! Cinder's JSON views: volumes (`views/volumes.py`, fields by microversion), user messages,
//! volume types, version discovery. The microversions Cinder speaks, and its refusals, live
//! here too.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::attach::Attachment;
use super::fault::Fault;
use super::model::{UserMessage, Volume};
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

/// `views/types.py` `show` (with the type-access extension's `is_public`).
pub fn type_view(t: &VolumeType) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "is_public": t.is_public,
        "os-volume-type-access:is_public": t.is_public,
        "qos_specs_id": null,
        "extra_specs": t.extra_specs,
    })
}

/// What a volume's view needs beyond its record: its Glance metadata, attachments, the id of
/// its type, the back end it lives on and whether it has an encryption key.
pub struct VolumeFacts {
    pub image_metadata: BTreeMap<String, String>,
    pub attachments: Vec<Attachment>,
    pub type_id: String,
    pub backend: String,
    pub encrypted: bool,
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

/// `GET /volumes/{id}` and `/volumes/detail`, with the fields of `version`; the admin-only
/// ones for admins; `volume_image_metadata` when the volume has Glance metadata.
pub fn volume_detail(public_url: &str, ctx: &AuthContext, version: Microversion, volume: &Volume, facts: &VolumeFacts) -> Value {
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
        "metadata": volume.metadata,
        "links": links(public_url, &volume.project_id, "volumes", &volume.id),
        "user_id": volume.user_id,
        "bootable": if volume.bootable { "true" } else { "false" },
        // `_is_volume_encrypted`: the volume has an encryption key.
        "encrypted": facts.encrypted,
        "replication_status": null,
        "consistencygroup_id": null,
        "multiattach": false,
        "migration_status": null,
        "os-vol-tenant-attr:tenant_id": volume.project_id,
    });
    let Some(map) = v.as_object_mut() else { return v };
    if !image_metadata.is_empty() {
        map.insert("volume_image_metadata".into(), json!(image_metadata));
    }
    if ctx.is_admin() {
        map.insert("os-vol-host-attr:host".into(), json!(format!("cinder@{0}#{0}", facts.backend)));
        map.insert("os-vol-mig-status-attr:migstat".into(), Value::Null);
        map.insert("os-vol-mig-status-attr:name_id".into(), Value::Null);
    }
    if version >= Microversion(3, 13) {
        map.insert("group_id".into(), Value::Null);
    }
    if version >= Microversion(3, 21) && ctx.is_admin() {
        map.insert("provider_id".into(), Value::Null);
    }
    if version >= Microversion(3, 48) {
        map.insert("shared_targets".into(), json!(false));
        map.insert("service_uuid".into(), Value::Null);
    }
    if version >= Microversion(3, 61) && ctx.is_admin() {
        map.insert("cluster_name".into(), Value::Null);
    }
    if version >= Microversion(3, 63) {
        map.insert("volume_type_id".into(), json!(facts.type_id));
    }
    if version >= Microversion(3, 65) {
        map.insert("consumes_quota".into(), json!(true));
    }
    v
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

/// `views/messages.py`.
pub fn message_view(public_url: &str, m: &UserMessage) -> Value {
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
        "links": links(public_url, &m.project_id, "messages", &m.id),
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
