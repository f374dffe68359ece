//! Volume attachments (no HTTP): the records of the v3 attachments API (`volume_attachment`,
//! table `cinder_attachments`) and the volume status changes they make, as `cinder.volume.api`
//! and the volume manager do them for Nova's attach flow (since Queens):
//!
//! - `attachment_create` without a connector reserves: volume `available` → `reserved`,
//!   attachment `reserved` (`_attachment_reserve`);
//! - `attachment_update` with the host's connector connects: volume and attachment
//!   `attaching`, with the mountpoint, host and attach time (`volume_attached(...,
//!   mark_attached=False)`), and returns the driver's `connection_info`;
//! - `os-complete`: attachment `attached`, volume `in-use`;
//! - `os-begin_detaching` / `os-roll_detaching`: volume `in-use` ↔ `detaching`;
//! - `attachment_delete`: the record goes, and the volume takes the status of what remains
//!   (`attached` > `attaching` > `detaching` > `reserved`, else `available`).
//!
//! Every change is one transaction, so two concurrent reservations cannot both succeed.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::fault::Fault;
use super::model::{Volume, VolumeService, now};
use crate::deployment::VolumeDriver;
use crate::store::StoreError;
use crate::wire::AuthContext;

/// One attachment of a volume to an instance (or any other consumer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    pub volume_id: String,
    pub project_id: String,
    pub instance_uuid: Option<String>,
    /// `reserved`, `attaching` or `attached`.
    pub attach_status: String,
    pub attached_host: Option<String>,
    pub mountpoint: Option<String>,
    pub attach_time: Option<String>,
    /// `null` (not chosen yet), `rw` or `ro`.
    pub attach_mode: String,
    pub connector: Option<Value>,
    pub connection_info: Value,
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
}

fn load_volume(tx: &Transaction<'_>, id: &str) -> Result<Option<Volume>, StoreError> {
    let body: Option<String> =
        tx.query_row("SELECT body FROM cinder_volumes WHERE id = ?1", params![id], |r| r.get(0)).optional().map_err(StoreError::from)?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

fn save_volume(tx: &Transaction<'_>, volume: &Volume) -> Result<(), StoreError> {
    tx.execute("UPDATE cinder_volumes SET body = ?2 WHERE id = ?1", params![volume.id, encode(volume)?]).map_err(StoreError::from)?;
    Ok(())
}

fn set_volume_status(tx: &Transaction<'_>, id: &str, status: &str) -> Result<(), StoreError> {
    if let Some(mut volume) = load_volume(tx, id)? {
        volume.status = status.to_owned();
        volume.updated_at = now();
        save_volume(tx, &volume)?;
    }
    Ok(())
}

fn load_attachment(tx: &Transaction<'_>, id: &str) -> Result<Option<Attachment>, StoreError> {
    let body: Option<String> = tx
        .query_row("SELECT body FROM cinder_attachments WHERE id = ?1", params![id], |r| r.get(0))
        .optional()
        .map_err(StoreError::from)?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

fn save_attachment(tx: &Transaction<'_>, a: &Attachment) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO cinder_attachments (id, volume_id, project_id, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        params![a.id, a.volume_id, a.project_id, encode(a)?],
    )
    .map_err(StoreError::from)?;
    Ok(())
}

fn attachments_of(tx: &Transaction<'_>, volume_id: &str) -> Result<Vec<Attachment>, StoreError> {
    let mut stmt = tx.prepare("SELECT body FROM cinder_attachments WHERE volume_id = ?1 ORDER BY seq").map_err(StoreError::from)?;
    let rows = stmt.query_map(params![volume_id], |r| r.get::<_, String>(0)).map_err(StoreError::from)?;
    Ok(rows.filter_map(|b| b.ok()).filter_map(|b| serde_json::from_str(&b).ok()).collect())
}

/// `VolumeAttachmentNotFound` for an id.
pub fn attachment_not_found(id: &str) -> Fault {
    Fault::not_found(format!("Volume attachment could not be found with filter: attachment_id = {id}."))
}

/// The driver's `initialize_connection` answer: iSCSI for LVM (its default target helper), RBD
/// for Ceph.
fn connection_info(driver: Option<VolumeDriver>, volume: &Volume, mode: &str, encrypted: bool) -> Value {
    match driver {
        Some(VolumeDriver::Rbd) => json!({
            "driver_volume_type": "rbd",
            "data": {
                "name": format!("volumes/volume-{}", volume.id), "hosts": [], "ports": [], "cluster_name": "ceph",
                "auth_enabled": true, "auth_username": "cinder", "secret_type": "ceph", "secret_uuid": null,
                "volume_id": volume.id, "discard": true, "qos_specs": null, "access_mode": mode, "encrypted": encrypted,
            },
        }),
        _ => json!({
            "driver_volume_type": "iscsi",
            "data": {
                "target_discovered": false, "target_portal": "127.0.0.1:3260",
                "target_iqn": format!("iqn.2010-10.org.openstack:volume-{}", volume.id), "target_lun": 0,
                "volume_id": volume.id, "auth_method": "CHAP", "qos_specs": null, "access_mode": mode,
                "encrypted": encrypted, "cacheable": false,
            },
        }),
    }
}

/// The status a volume takes from the attachments it still has (`attachment_delete`).
fn status_from(remaining: &[Attachment]) -> &'static str {
    let has = |s: &str| remaining.iter().any(|a| a.attach_status == s);
    if has("attached") {
        "in-use"
    } else if has("attaching") {
        "attaching"
    } else if has("detaching") {
        "detaching"
    } else if has("reserved") {
        "reserved"
    } else {
        "available"
    }
}

impl VolumeService {
    /// An attachment the caller may see (its project's, or any for an admin).
    pub fn attachment(&self, ctx: &AuthContext, id: &str) -> Result<Attachment, Fault> {
        let body: Option<String> =
            self.store.with(|c| c.query_row("SELECT body FROM cinder_attachments WHERE id = ?1", params![id], |r| r.get(0)).optional())?;
        body.and_then(|b| serde_json::from_str::<Attachment>(&b).ok())
            .filter(|a| a.project_id == ctx.project_id || ctx.is_admin())
            .ok_or_else(|| attachment_not_found(id))
    }

    /// The caller's project's attachments, oldest first.
    pub fn project_attachments(&self, ctx: &AuthContext) -> Result<Vec<Attachment>, StoreError> {
        let bodies: Vec<String> = self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM cinder_attachments WHERE project_id = ?1 ORDER BY seq")?;
            stmt.query_map(params![ctx.project_id], |r| r.get(0))?.collect()
        })?;
        Ok(bodies.iter().filter_map(|b| serde_json::from_str(b).ok()).collect())
    }

    /// A volume's attachments, oldest first.
    pub fn volume_attachments(&self, volume_id: &str) -> Result<Vec<Attachment>, StoreError> {
        self.store.transaction(|tx| attachments_of(tx, volume_id))
    }

    /// `attachment_create` without a connector (`_attachment_reserve`): the volume must be
    /// `available` or `downloading`, unless this instance already holds an attachment of it.
    pub fn reserve_attachment(
        &self,
        ctx: &AuthContext,
        volume_id: &str,
        instance_uuid: Option<&str>,
        mode: &str,
    ) -> Result<Attachment, Fault> {
        let seen = self.get(ctx, volume_id)?;
        self.store.transaction(|tx| {
            let volume = load_volume(tx, &seen.id)?.ok_or_else(|| Fault::not_found(format!("Volume {volume_id} could not be found.")))?;
            if volume.status.contains("error") {
                return Err(Fault::invalid_volume(format!(
                    "Volume attachments can not be created if the volume is in an error state. The Volume {} currently has a status of: {} ",
                    volume.id, volume.status
                )));
            }
            if matches!(volume.status.as_str(), "available" | "downloading") {
                set_volume_status(tx, &volume.id, "reserved")?;
            } else {
                let same_instance = instance_uuid.is_some()
                    && matches!(volume.status.as_str(), "in-use" | "reserved")
                    && attachments_of(tx, &volume.id)?.iter().any(|a| a.instance_uuid.as_deref() == instance_uuid);
                if !same_instance {
                    return Err(Fault::invalid_volume(format!(
                        "Volume {} status must be available or downloading to reserve, but the current status is {}.",
                        volume.id, volume.status
                    )));
                }
            }
            let attachment = Attachment {
                id: uuid::Uuid::new_v4().to_string(),
                volume_id: volume.id.clone(),
                project_id: volume.project_id.clone(),
                instance_uuid: instance_uuid.map(str::to_owned),
                attach_status: "reserved".into(),
                attached_host: None,
                mountpoint: None,
                attach_time: None,
                attach_mode: mode.to_owned(),
                connector: None,
                connection_info: json!({}),
            };
            save_attachment(tx, &attachment)?;
            Ok(attachment)
        })
    }

    /// `attachment_update` with the host's connector: the driver connects the volume, and the
    /// volume and attachment are `attaching` at the connector's mountpoint and host.
    pub fn connect_attachment(&self, ctx: &AuthContext, id: &str, connector: &Value) -> Result<Attachment, Fault> {
        let seen = self.attachment(ctx, id)?;
        let driver = self.get_any(&seen.volume_id)?.and_then(|v| self.backend(Some(&v.volume_type))).map(|b| b.driver);
        // `initialize_connection` tells the host the volume is encrypted (its key is in Barbican).
        let encrypted = self.encryption_key(&seen.volume_id)?.is_some();
        self.store.transaction(|tx| {
            let mut attachment = load_attachment(tx, id)?.ok_or_else(|| attachment_not_found(id))?;
            let volume = load_volume(tx, &attachment.volume_id)?
                .ok_or_else(|| Fault::not_found(format!("Volume {} could not be found.", attachment.volume_id)))?;
            if volume.status.contains("error") {
                return Err(Fault::internal_explained(format!(
                    "Unable to update attachment.(Invalid volume: Volume attachments can not be updated if the volume is in an error state. The Volume {} currently has a status of: {} ).",
                    volume.id, volume.status
                )));
            }
            let text = |k: &str| connector.get(k).and_then(Value::as_str).map(str::to_owned);
            let mode = if attachment.attach_mode != "null" { attachment.attach_mode.clone() } else { text("mode").unwrap_or_else(|| "rw".into()) };
            attachment.connection_info = connection_info(driver, &volume, &mode, encrypted);
            attachment.attach_status = "attaching".into();
            attachment.attached_host = text("host");
            attachment.mountpoint = Some(text("mountpoint").unwrap_or_else(|| "na".into()));
            attachment.attach_time = Some(now());
            attachment.attach_mode = mode;
            attachment.connector = Some(connector.clone());
            save_attachment(tx, &attachment)?;
            set_volume_status(tx, &volume.id, "attaching")?;
            Ok(attachment)
        })
    }

    /// `os-complete`: the consumer finished attaching; the volume is `in-use`.
    pub fn complete_attachment(&self, ctx: &AuthContext, id: &str) -> Result<(), Fault> {
        self.attachment(ctx, id)?;
        self.store.transaction(|tx| {
            let mut attachment = load_attachment(tx, id)?.ok_or_else(|| attachment_not_found(id))?;
            attachment.attach_status = "attached".into();
            save_attachment(tx, &attachment)?;
            set_volume_status(tx, &attachment.volume_id, "in-use")?;
            Ok(())
        })
    }

    /// `attachment_delete`: removes the attachment and returns the volume's remaining ones; the
    /// volume's status follows them.
    pub fn delete_attachment(&self, ctx: &AuthContext, id: &str) -> Result<Vec<Attachment>, Fault> {
        self.attachment(ctx, id)?;
        self.store.transaction(|tx| {
            let attachment = load_attachment(tx, id)?.ok_or_else(|| attachment_not_found(id))?;
            tx.execute("DELETE FROM cinder_attachments WHERE id = ?1", params![id]).map_err(StoreError::from)?;
            let remaining = attachments_of(tx, &attachment.volume_id)?;
            set_volume_status(tx, &attachment.volume_id, status_from(&remaining))?;
            Ok(remaining)
        })
    }

    /// `os-begin_detaching`: an attached, `in-use` volume becomes `detaching`.
    pub fn begin_detaching(&self, ctx: &AuthContext, volume_id: &str) -> Result<(), Fault> {
        let seen = self.get(ctx, volume_id)?;
        self.store.transaction(|tx| {
            let attached = attachments_of(tx, &seen.id)?.iter().any(|a| a.attach_status == "attached");
            let volume = load_volume(tx, &seen.id)?;
            if !(attached && volume.is_some_and(|v| v.status == "in-use")) {
                return Err(Fault::invalid_volume(
                    "Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.",
                ));
            }
            set_volume_status(tx, &seen.id, "detaching")?;
            Ok(())
        })
    }

    /// `os-roll_detaching`: a `detaching` volume goes back to `in-use`; any other status is left.
    pub fn roll_detaching(&self, ctx: &AuthContext, volume_id: &str) -> Result<(), Fault> {
        let seen = self.get(ctx, volume_id)?;
        self.store.transaction(|tx| {
            if load_volume(tx, &seen.id)?.is_some_and(|v| v.status == "detaching") {
                set_volume_status(tx, &seen.id, "in-use")?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(status: &str) -> Attachment {
        Attachment {
            id: "a".into(),
            volume_id: "v".into(),
            project_id: "p".into(),
            instance_uuid: None,
            attach_status: status.into(),
            attached_host: None,
            mountpoint: None,
            attach_time: None,
            attach_mode: "null".into(),
            connector: None,
            connection_info: json!({}),
        }
    }

    #[test]
    fn the_most_advanced_remaining_attachment_sets_the_status() {
        assert_eq!(status_from(&[]), "available");
        assert_eq!(status_from(&[attachment("reserved")]), "reserved");
        assert_eq!(status_from(&[attachment("reserved"), attachment("attaching")]), "attaching");
        assert_eq!(status_from(&[attachment("attaching"), attachment("attached")]), "in-use");
    }
}
