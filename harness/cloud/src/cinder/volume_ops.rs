//! The volume actions' rules (no HTTP), as `cinder.volume.api` and the volume manager apply
//! them: reserve/unreserve, the legacy `os-attach`/`os-detach` (an attachment made `attached`
//! at once), bootable and read-only flags, the admin's status reset, force delete and force
//! detach, retype, image metadata, user metadata, and the filters of the volume lists.

use std::collections::BTreeMap;

use rusqlite::params;
use serde_json::json;

use super::attach::Attachment;
use super::fault::Fault;
use super::model::{Volume, VolumeService, now};
use crate::store::StoreError;
use crate::wire::AuthContext;

/// `utils.build_or_str` of one status.
fn must_be(volume: &Volume, expected: &str, action: &str) -> Fault {
    Fault::invalid_volume(format!("Volume status must be {expected} to {action}, but the status is {}.", volume.status))
}

impl VolumeService {
    /// `reserve_volume`: `available` → `attaching`.
    pub fn reserve(&self, ctx: &AuthContext, id: &str) -> Result<(), Fault> {
        let volume = self.get(ctx, id)?;
        if self.transition(&volume.id, &["available"], "attaching")?.is_none() {
            let now = self.get(ctx, id)?;
            return Err(must_be(&now, "available", "reserve"));
        }
        Ok(())
    }

    /// `unreserve_volume`: `attaching` → `in-use` with attachments, else `available`; any
    /// other status is left as it is.
    pub fn unreserve(&self, ctx: &AuthContext, id: &str) -> Result<(), Fault> {
        let volume = self.get(ctx, id)?;
        let attached = !self.volume_attachments(&volume.id)?.is_empty();
        self.transition(&volume.id, &["attaching"], if attached { "in-use" } else { "available" })?;
        Ok(())
    }

    /// The legacy `os-attach` (`attach_volume` in the manager): an attachment, `attached` at
    /// once, and the volume `in-use` with `attached_mode` in its admin metadata.
    pub fn legacy_attach(
        &self,
        ctx: &AuthContext,
        id: &str,
        instance_uuid: Option<String>,
        host_name: Option<String>,
        mountpoint: String,
        mode: &str,
    ) -> Result<(), Fault> {
        let volume = self.get(ctx, id)?;
        if self.extras(&volume.id)?.admin_metadata.get("readonly").is_some_and(|r| r == "True") && mode == "rw" {
            return Err(Fault::bad_request(format!("Invalid attaching mode '{mode}' for volume {}.", volume.id)));
        }
        if volume.status == "in-use" {
            return Err(Fault::invalid_volume("volume is already attached"));
        }
        if !["available", "attaching", "reserved"].contains(&volume.status.as_str()) {
            return Err(Fault::invalid_volume(format!(
                "Volume {} status must be available or in-use or downloading to reserve, but the current status is {}.",
                volume.id, volume.status
            )));
        }
        let attachment = Attachment {
            id: uuid::Uuid::new_v4().to_string(),
            volume_id: volume.id.clone(),
            project_id: volume.project_id.clone(),
            instance_uuid,
            attach_status: "attached".into(),
            attached_host: host_name,
            mountpoint: Some(mountpoint),
            attach_time: Some(now()),
            attach_mode: mode.to_owned(),
            connector: None,
            connection_info: json!({}),
        };
        let body =
            serde_json::to_string(&attachment).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        self.store.with(|c| {
            c.execute(
                "INSERT INTO cinder_attachments (id, volume_id, project_id, body) VALUES (?1, ?2, ?3, ?4)",
                params![attachment.id, attachment.volume_id, attachment.project_id, body],
            )
            .map(|_| ())
        })?;
        self.modify(&volume.id, |v| v.status = "in-use".into())?;
        self.modify_extras(&volume.id, |e| {
            e.admin_metadata.insert("attached_mode".into(), mode.to_owned());
        })?;
        Ok(())
    }

    /// The legacy `os-detach` (and the admin's `os-force_detach`), as the manager's
    /// `detach_volume` does it: the named attachment (or the only one) goes; a volume with
    /// none left is `available`; detaching what is not attached is not an error. The manager's
    /// `InvalidVolume` comes back through RPC, worded by the action (`failure`).
    pub fn legacy_detach(&self, ctx: &AuthContext, id: &str, attachment_id: Option<&str>, failure: &str) -> Result<(), Fault> {
        let volume = self.get(ctx, id)?;
        if volume.status == "maintenance" {
            return Err(Fault::invalid_volume("The volume cannot be detached in maintenance mode."));
        }
        let attachments = self.volume_attachments(&volume.id)?;
        let target = match attachment_id {
            Some(a) => attachments.iter().find(|x| x.id == a).cloned(),
            None if attachments.len() > 1 => {
                return Err(Fault::bad_request(format!(
                    "{failure} - InvalidVolume: Invalid volume: Detach volume failed: More than one attachment, but no attachment_id provided."
                )));
            }
            None => attachments.first().cloned(),
        };
        if let Some(a) = &target {
            self.store.with(|c| c.execute("DELETE FROM cinder_attachments WHERE id = ?1", params![a.id]).map(|_| ()))?;
        }
        let left = self.volume_attachments(&volume.id)?.len();
        self.modify(&volume.id, |v| v.status = if left == 0 { "available".into() } else { "in-use".into() })?;
        if left == 0 {
            self.modify_extras(&volume.id, |e| {
                e.admin_metadata.remove("attached_mode");
            })?;
        }
        Ok(())
    }

    pub fn set_bootable(&self, ctx: &AuthContext, id: &str, bootable: bool) -> Result<(), Fault> {
        let volume = self.get(ctx, id)?;
        self.modify(&volume.id, |v| v.bootable = bootable)?;
        Ok(())
    }

    /// `update_readonly_flag`: the volume must be `available` (`readonly` admin metadata
    /// `True`/`False`).
    pub fn set_readonly(&self, ctx: &AuthContext, id: &str, readonly: bool) -> Result<(), Fault> {
        let volume = self.get(ctx, id)?;
        if volume.status != "available" {
            return Err(Fault::invalid_volume(format!(
                "Volume {} status must be available to update readonly flag, but current status is: {}.",
                volume.id, volume.status
            )));
        }
        let flag = if readonly { "True" } else { "False" };
        self.modify_extras(&volume.id, |e| {
            e.admin_metadata.insert("readonly".into(), flag.into());
        })?;
        Ok(())
    }

    /// `os-reset_status`: whatever status the admin names.
    pub fn reset_status(&self, ctx: &AuthContext, id: &str, status: Option<String>, migration_status: Option<String>) -> Result<(), Fault> {
        let volume = self.get(ctx, id)?;
        if let Some(s) = status {
            self.modify(&volume.id, |v| v.status = s)?;
        }
        if let Some(m) = migration_status {
            self.modify_extras(&volume.id, |e| e.migration_status = if m.is_empty() || m == "none" { None } else { Some(m) })?;
        }
        Ok(())
    }

    /// `os-retype` without migration (one back end): the type changes once the volume's
    /// quota under the new type is checked; the status stays.
    pub fn retype(&self, ctx: &AuthContext, id: &str, new_type: &str) -> Result<(), Fault> {
        let volume = self.get(ctx, id)?;
        if !["available", "in-use"].contains(&volume.status.as_str()) {
            return Err(Fault::invalid_volume(format!(
                "Volume {} status must be available or in-use, but current status is: {}.",
                volume.id, volume.status
            )));
        }
        self.modify(&volume.id, |v| v.volume_type = new_type.to_owned())?;
        Ok(())
    }

    /// Volume metadata: replace all (`delete`), or merge.
    pub fn update_metadata(
        &self,
        ctx: &AuthContext,
        id: &str,
        new: &BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>, Fault> {
        let volume = self.get(ctx, id)?;
        if volume.status == "maintenance" {
            return Err(Fault::invalid_volume("The volume metadata cannot be updated when the volume is in maintenance mode."));
        }
        let updated = self.modify(&volume.id, |v| {
            if replace {
                v.metadata = new.clone();
            } else {
                v.metadata.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        })?;
        Ok(updated.map(|v| v.metadata).unwrap_or_default())
    }

    /// `VolumeMetadataNotFound` for a key the volume does not have.
    pub fn delete_metadata_key(&self, ctx: &AuthContext, id: &str, key: &str) -> Result<(), Fault> {
        let volume = self.get(ctx, id)?;
        if !volume.metadata.contains_key(key) {
            return Err(Fault::not_found(format!("Volume {id} has no metadata with key {key}.")));
        }
        self.modify(&volume.id, |v| {
            v.metadata.remove(key);
        })?;
        Ok(())
    }

    pub fn delete_glance_metadata_key(&self, volume_id: &str, key: &str) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute("DELETE FROM cinder_volume_glance_metadata WHERE volume_id = ?1 AND key = ?2", params![volume_id, key]).map(|_| ())
        })
    }

    /// Admins' lists may take every project's volumes (`all_tenants`).
    pub fn list_all_projects(&self) -> Result<Vec<Volume>, StoreError> {
        self.all()
    }

    /// Moves a volume to another project (an accepted transfer).
    pub fn change_owner(&self, id: &str, project_id: &str, user_id: &str) -> Result<(), StoreError> {
        let Some(mut volume) = self.load(id)? else { return Ok(()) };
        volume.project_id = project_id.to_owned();
        volume.user_id = user_id.to_owned();
        volume.status = "available".into();
        volume.updated_at = now();
        let body = serde_json::to_string(&volume).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        self.store.with(|c| {
            c.execute("UPDATE cinder_volumes SET project_id = ?2, body = ?3 WHERE id = ?1", params![id, project_id, body]).map(|_| ())
        })
    }
}
