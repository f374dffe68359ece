//! Volume types and their encryption specs (no HTTP): the deployment's back ends are types of
//! their own (named as the back end, a stable id, `volume_backend_name` = the name); an admin
//! adds types (`cinder_volume_types`) and encryption specs (`cinder_type_encryption`), and each
//! volume of an encrypted type records the Barbican secret holding its key
//! (`cinder_volume_keys`, `volumes.encryption_key_id` in real Cinder). All three tables are
//! `cinder_*`, so `/_sim/reset` wipes them with the rest of Cinder.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::fault::Fault;
use super::model::{Volume, VolumeService};
use super::views::{VolumeFacts, volume_type_id};
use crate::deployment::VolumeBackendSpec;
use crate::store::StoreError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cinder_volume_types (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cinder_type_encryption (volume_type_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cinder_volume_keys (volume_id TEXT PRIMARY KEY, encryption_key_id TEXT NOT NULL);
";

/// The extra spec naming the back end a type's volumes go to.
pub const BACKEND_SPEC: &str = "volume_backend_name";

/// One volume type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeType {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub extra_specs: BTreeMap<String, String>,
    /// The QoS specs associated with the type (`qos_specs_id`).
    #[serde(default)]
    pub qos_specs_id: Option<String>,
    /// The projects a private type is shared with (`volume_type_projects`).
    #[serde(default)]
    pub projects: Vec<String>,
}

impl VolumeType {
    /// The type a deployment back end stands for.
    pub fn of_backend(name: &str) -> VolumeType {
        VolumeType {
            id: volume_type_id(name),
            name: name.to_owned(),
            description: None,
            is_public: true,
            extra_specs: BTreeMap::from([(BACKEND_SPEC.to_owned(), name.to_owned())]),
            qos_specs_id: None,
            projects: Vec::new(),
        }
    }
}

/// A type's encryption spec (`encryption` table): what `GET .../encryption` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    pub encryption_id: String,
    pub volume_type_id: String,
    pub provider: String,
    pub cipher: Option<String>,
    pub key_size: Option<u64>,
    pub control_location: String,
    pub created_at: String,
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
}

/// `VolumeTypeNotFound` / `VolumeTypeNotFoundByName`, as the reference was given.
pub fn type_not_found(reference: &str) -> Fault {
    if uuid::Uuid::parse_str(reference).is_ok() {
        Fault::not_found(format!("Volume type {reference} could not be found."))
    } else {
        Fault::not_found(format!("Volume type with name {reference} could not be found."))
    }
}

impl VolumeService {
    fn created_types(&self) -> Result<Vec<VolumeType>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM cinder_volume_types ORDER BY name")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|b| b.ok()).filter_map(|b| serde_json::from_str(&b).ok()).collect())
        })
    }

    /// Every type: the back ends' first (the first is the default type), then the created
    /// ones by name.
    pub fn volume_types(&self) -> Result<Vec<VolumeType>, StoreError> {
        let mut types: Vec<VolumeType> = self.deployment().get().cinder.backends.iter().map(|b| VolumeType::of_backend(&b.name)).collect();
        types.extend(self.created_types()?);
        Ok(types)
    }

    /// `get_by_name_or_id`.
    pub fn volume_type(&self, reference: &str) -> Result<Option<VolumeType>, StoreError> {
        Ok(self.volume_types()?.into_iter().find(|t| t.id == reference || t.name == reference))
    }

    /// The back end a type's volumes live on: its `volume_backend_name`, or (a type that names
    /// none, which any back end's scheduler filter accepts) the first back end.
    pub fn backend_of_type(&self, name: &str) -> Option<VolumeBackendSpec> {
        let backends = self.deployment().get().cinder.backends;
        if let Some(b) = backends.iter().find(|b| b.name == name) {
            return Some(b.clone());
        }
        let created = self.created_types().ok()?.into_iter().find(|t| t.name == name)?;
        match created.extra_specs.get(BACKEND_SPEC) {
            Some(wanted) => backends.into_iter().find(|b| &b.name == wanted),
            None => backends.into_iter().next(),
        }
    }

    /// `volume_types.create`: `VolumeTypeExists` (409) for a name already taken.
    pub fn create_volume_type(&self, new: &VolumeType) -> Result<(), Fault> {
        if self.volume_type(&new.name)?.is_some() {
            return Err(Fault::new(axum::http::StatusCode::CONFLICT, format!("Volume Type {} already exists.", new.name)));
        }
        let body = to_json(new)?;
        let inserted = self.store.with(|c| {
            c.execute("INSERT OR IGNORE INTO cinder_volume_types (id, name, body) VALUES (?1, ?2, ?3)", params![new.id, new.name, body])
        })?;
        if inserted == 0 {
            // Another request took the name between the check and the insert.
            return Err(Fault::new(axum::http::StatusCode::CONFLICT, format!("Volume Type {} already exists.", new.name)));
        }
        Ok(())
    }

    /// `volume_types.destroy`: a type with volumes is `VolumeTypeInUse`, which the API words
    /// "Target volume type is still in use.". The default type (the first back end's) is
    /// `VolumeTypeDefaultDeletionError`; the other back ends' types are the deployment's
    /// configuration, which the simulator does not let the API remove (said plainly, not
    /// dressed up as a Cinder error).
    pub fn delete_volume_type(&self, id: &str) -> Result<(), Fault> {
        let Some(found) = self.created_types()?.into_iter().find(|t| t.id == id) else {
            let backends = self.deployment().get().cinder.backends;
            return Err(match backends.iter().position(|b| volume_type_id(&b.name) == id) {
                Some(0) => Fault::bad_request(format!("The volume type {id} is a default volume type and cannot be deleted.")),
                Some(_) => Fault::bad_request(format!(
                    "sigstack: volume type {id} is a back end of the deployment; change the deployment to remove it."
                )),
                None => Fault::not_found(format!("Volume type {id} could not be found.")),
            });
        };
        if self.all()?.iter().any(|v| v.volume_type == found.name) {
            return Err(Fault::bad_request("Target volume type is still in use."));
        }
        self.store.transaction(|tx| {
            tx.execute("DELETE FROM cinder_type_encryption WHERE volume_type_id = ?1", params![found.id])?;
            tx.execute("DELETE FROM cinder_volume_types WHERE id = ?1", params![found.id])?;
            Ok::<_, StoreError>(())
        })?;
        Ok(())
    }

    // ---- encryption specs ----

    pub fn type_encryption(&self, type_id: &str) -> Result<Option<Encryption>, StoreError> {
        let body: Option<String> = self.store.with(|c| {
            c.query_row("SELECT body FROM cinder_type_encryption WHERE volume_type_id = ?1", params![type_id], |r| r.get(0)).optional()
        })?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    /// The encryption spec of the type a volume names (by name), if any.
    pub fn encryption_of_type_name(&self, name: &str) -> Result<Option<Encryption>, StoreError> {
        match self.volume_type(name)? {
            Some(t) => self.type_encryption(&t.id),
            None => Ok(None),
        }
    }

    fn type_in_use(&self, type_id: &str) -> Result<bool, StoreError> {
        let Some(t) = self.volume_type(type_id)? else { return Ok(false) };
        Ok(self.all()?.iter().any(|v| v.volume_type == t.name))
    }

    /// `VolumeTypeEncryptionController.create` after validation: in use first, then the type
    /// must exist, then it must have no spec yet.
    pub fn create_type_encryption(&self, type_id: &str, spec: Encryption) -> Result<(), Fault> {
        if self.type_in_use(type_id)? {
            return Err(Fault::bad_request("Cannot create encryption specs. Volume type in use."));
        }
        if self.volume_type(type_id)?.filter(|t| t.id == type_id).is_none() {
            return Err(type_not_found(type_id));
        }
        let body = to_json(&spec)?;
        let inserted = self.store.with(|c| {
            c.execute("INSERT OR IGNORE INTO cinder_type_encryption (volume_type_id, body) VALUES (?1, ?2)", params![type_id, body])
        })?;
        if inserted == 0 {
            // `VolumeTypeEncryptionExists` is an `Invalid` (400) with its own text.
            return Err(Fault::bad_request(format!("Volume type encryption for type {type_id} already exists.")));
        }
        Ok(())
    }

    /// `VolumeTypeEncryptionController.update`: refused while volumes use the type; a type
    /// without a spec is `VolumeTypeEncryptionNotFound`.
    pub fn update_type_encryption(&self, type_id: &str, f: impl FnOnce(&mut Encryption)) -> Result<(), Fault> {
        if self.type_in_use(type_id)? {
            return Err(Fault::bad_request("Cannot update encryption specs. Volume type in use."));
        }
        let Some(mut spec) = self.type_encryption(type_id)? else {
            return Err(Fault::not_found(format!("Volume type encryption for type {type_id} does not exist.")));
        };
        f(&mut spec);
        let body = to_json(&spec)?;
        self.store.with(|c| c.execute("UPDATE cinder_type_encryption SET body = ?2 WHERE volume_type_id = ?1", params![type_id, body]))?;
        Ok(())
    }

    /// `VolumeTypeEncryptionController.delete`: refused while volumes use the type; a type
    /// without a spec is `VolumeTypeEncryptionNotFound`.
    pub fn delete_type_encryption(&self, type_id: &str) -> Result<(), Fault> {
        if self.type_in_use(type_id)? {
            return Err(Fault::bad_request("Cannot delete encryption specs. Volume type in use."));
        }
        let removed = self.store.with(|c| c.execute("DELETE FROM cinder_type_encryption WHERE volume_type_id = ?1", params![type_id]))?;
        if removed == 0 {
            return Err(Fault::not_found(format!("Volume type encryption for type {type_id} does not exist.")));
        }
        Ok(())
    }

    /// Everything a volume's detailed view shows beyond its record.
    pub fn facts(&self, volume: &Volume) -> Result<VolumeFacts, StoreError> {
        let type_id = self.volume_type(&volume.volume_type)?.map(|t| t.id).unwrap_or_else(|| volume_type_id(&volume.volume_type));
        let backend = self.backend_of_type(&volume.volume_type).map(|b| b.name).unwrap_or_else(|| volume.volume_type.clone());
        Ok(VolumeFacts {
            image_metadata: self.glance_metadata(&volume.id)?,
            attachments: self.volume_attachments(&volume.id)?,
            type_id,
            backend,
            encrypted: self.encryption_key(&volume.id)?.is_some(),
            encryption_key_id: self.encryption_key(&volume.id)?,
            extras: self.extras(&volume.id)?,
        })
    }

    // ---- volume keys ----

    pub fn set_encryption_key(&self, volume_id: &str, key_id: &str) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO cinder_volume_keys (volume_id, encryption_key_id) VALUES (?1, ?2)",
                params![volume_id, key_id],
            )
            .map(|_| ())
        })
    }

    /// The Barbican secret holding a volume's key; `None` for an unencrypted volume.
    pub fn encryption_key(&self, volume_id: &str) -> Result<Option<String>, StoreError> {
        self.store.with(|c| {
            c.query_row("SELECT encryption_key_id FROM cinder_volume_keys WHERE volume_id = ?1", params![volume_id], |r| r.get(0))
                .optional()
        })
    }

    pub fn forget_encryption_key(&self, volume_id: &str) -> Result<(), StoreError> {
        self.store.with(|c| c.execute("DELETE FROM cinder_volume_keys WHERE volume_id = ?1", params![volume_id]).map(|_| ()))
    }
}
