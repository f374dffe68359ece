//! What admins change on volume types beyond create and delete (no HTTP): a type's name,
//! description and visibility, its extra specs, the projects a private type is shared with;
//! QoS specs (`cinder_qos_specs`) and their association with types; group types
//! (`cinder_group_types`) and their group specs. The back ends' own types are the
//! deployment's configuration, which these calls do not change (said plainly).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::fault::Fault;
use super::model::{VolumeService, now};
use super::types::{VolumeType, type_not_found};
use crate::store::StoreError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cinder_qos_specs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cinder_group_types (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
";

/// One QoS specs entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QosSpecs {
    pub id: String,
    pub name: String,
    pub consumer: String,
    pub specs: BTreeMap<String, String>,
    pub created_at: String,
}

/// One group type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupType {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub group_specs: BTreeMap<String, String>,
}

/// The consumers `qos_specs.create` accepts.
pub const QOS_CONSUMERS: [&str; 3] = ["front-end", "back-end", "both"];

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
}

pub fn qos_not_found(id: &str) -> Fault {
    Fault::not_found(format!("No such QoS spec {id}."))
}

pub fn group_type_not_found(id: &str) -> Fault {
    Fault::not_found(format!("Group type {id} could not be found."))
}

/// A back end's type, which the simulator leaves to the deployment.
fn deployment_type(id: &str) -> Fault {
    Fault::bad_request(format!("sigstack: volume type {id} is a back end of the deployment; change the deployment to change it."))
}

impl VolumeService {
    /// A created type by id (a back end's type is refused; an unknown one is not found).
    fn created_type(&self, id: &str) -> Result<VolumeType, Fault> {
        let body: Option<String> =
            self.store.with(|c| c.query_row("SELECT body FROM cinder_volume_types WHERE id = ?1", params![id], |r| r.get(0)).optional())?;
        if let Some(t) = body.and_then(|b| serde_json::from_str::<VolumeType>(&b).ok()) {
            return Ok(t);
        }
        if self.volume_type(id)?.is_some_and(|t| t.id == id) {
            return Err(deployment_type(id));
        }
        Err(type_not_found(id))
    }

    fn save_type(&self, t: &VolumeType) -> Result<(), StoreError> {
        let body = to_json(t)?;
        self.store.with(|c| {
            c.execute("UPDATE cinder_volume_types SET name = ?2, body = ?3 WHERE id = ?1", params![t.id, t.name, body]).map(|_| ())
        })
    }

    /// `volume_types.update`: a new name must be free (`VolumeTypeExists`, 409).
    pub fn update_volume_type(
        &self,
        id: &str,
        name: Option<String>,
        description: Option<Option<String>>,
        is_public: Option<bool>,
    ) -> Result<VolumeType, Fault> {
        let mut t = self.created_type(id)?;
        if let Some(name) = name {
            if name != t.name && self.volume_type(&name)?.is_some() {
                return Err(Fault::new(StatusCode::CONFLICT, format!("Volume Type {name} already exists.")));
            }
            t.name = name;
        }
        if let Some(description) = description {
            t.description = description;
        }
        if let Some(is_public) = is_public {
            t.is_public = is_public;
        }
        self.save_type(&t)?;
        Ok(t)
    }

    /// Sets (adds or replaces) extra specs of a created type.
    pub fn set_extra_specs(&self, id: &str, specs: &BTreeMap<String, String>) -> Result<VolumeType, Fault> {
        let mut t = self.created_type(id)?;
        t.extra_specs.extend(specs.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.save_type(&t)?;
        Ok(t)
    }

    /// `VolumeTypeExtraSpecsNotFound` for a key the type does not have.
    pub fn delete_extra_spec(&self, id: &str, key: &str) -> Result<(), Fault> {
        let mut t = self.created_type(id)?;
        if t.extra_specs.remove(key).is_none() {
            return Err(Fault::not_found(format!("Volume Type {id} has no extra specs with key {key}.")));
        }
        self.save_type(&t)?;
        Ok(())
    }

    /// `add_volume_type_access`: `VolumeTypeAccessExists` (409) when already shared.
    pub fn add_type_access(&self, id: &str, project: &str) -> Result<(), Fault> {
        let mut t = self.created_type(id)?;
        if t.is_public {
            return Err(Fault::bad_request("Invalid volume type: Type access modification is not applicable to public volume type."));
        }
        if t.projects.iter().any(|p| p == project) {
            return Err(Fault::new(StatusCode::CONFLICT, format!("Volume type access for {id} / {project} combination already exists.")));
        }
        t.projects.push(project.to_owned());
        self.save_type(&t)?;
        Ok(())
    }

    /// `remove_volume_type_access`: `VolumeTypeAccessNotFound` (404) when not shared.
    pub fn remove_type_access(&self, id: &str, project: &str) -> Result<(), Fault> {
        let mut t = self.created_type(id)?;
        if t.is_public {
            return Err(Fault::bad_request("Invalid volume type: Type access modification is not applicable to public volume type."));
        }
        let before = t.projects.len();
        t.projects.retain(|p| p != project);
        if t.projects.len() == before {
            return Err(Fault::not_found(format!("Volume type access not found for {id} / {project} combination.")));
        }
        self.save_type(&t)?;
        Ok(())
    }

    // ---- QoS specs ----

    pub fn all_qos_specs(&self) -> Result<Vec<QosSpecs>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM cinder_qos_specs ORDER BY seq")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|b| b.ok()).filter_map(|b| serde_json::from_str(&b).ok()).collect())
        })
    }

    pub fn qos_specs(&self, id: &str) -> Result<QosSpecs, Fault> {
        self.all_qos_specs()?.into_iter().find(|q| q.id == id).ok_or_else(|| qos_not_found(id))
    }

    fn save_qos(&self, q: &QosSpecs) -> Result<(), StoreError> {
        let body = to_json(q)?;
        self.store.with(|c| {
            c.execute(
                "INSERT INTO cinder_qos_specs (id, name, body) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                params![q.id, q.name, body],
            )
            .map(|_| ())
        })
    }

    /// `qos_specs.create`: the consumer (default `back-end`) must be a known one; the name free.
    pub fn create_qos_specs(&self, name: &str, mut specs: BTreeMap<String, String>) -> Result<QosSpecs, Fault> {
        let consumer = match specs.remove("consumer") {
            Some(c) if QOS_CONSUMERS.contains(&c.as_str()) => c,
            Some(_) => {
                return Err(Fault::bad_request(
                    "Invalid QoS specification detected: Valid consumer of QoS specs are: ['front-end', 'back-end', 'both']",
                ));
            }
            None => "back-end".to_owned(),
        };
        if self.all_qos_specs()?.iter().any(|q| q.name == name) {
            return Err(Fault::new(StatusCode::CONFLICT, format!("QoS Specs {name} already exists.")));
        }
        let q = QosSpecs { id: uuid::Uuid::new_v4().to_string(), name: name.to_owned(), consumer, specs, created_at: now() };
        self.save_qos(&q)?;
        Ok(q)
    }

    /// `qos_specs.update`: `consumer` changes the consumer, anything else is a spec.
    pub fn update_qos_specs(&self, id: &str, specs: &BTreeMap<String, String>) -> Result<(), Fault> {
        let mut q = self.qos_specs(id)?;
        for (k, v) in specs {
            if k == "consumer" {
                if !QOS_CONSUMERS.contains(&v.as_str()) {
                    return Err(Fault::bad_request(
                        "Invalid QoS specification detected: Valid consumer of QoS specs are: ['front-end', 'back-end', 'both']",
                    ));
                }
                q.consumer = v.clone();
            } else {
                q.specs.insert(k.clone(), v.clone());
            }
        }
        self.save_qos(&q)?;
        Ok(())
    }

    /// `qos_specs.delete_keys`: `QoSSpecsKeyNotFound` for a key the specs do not have.
    pub fn delete_qos_keys(&self, id: &str, keys: &[String]) -> Result<(), Fault> {
        let mut q = self.qos_specs(id)?;
        for key in keys {
            if q.specs.remove(key).is_none() {
                return Err(Fault::not_found(format!("QoS spec {id} has no spec with key {key}.")));
            }
        }
        self.save_qos(&q)?;
        Ok(())
    }

    /// The types associated with a QoS specs entity.
    pub fn qos_associations(&self, id: &str) -> Result<Vec<VolumeType>, Fault> {
        self.qos_specs(id)?;
        Ok(self.volume_types()?.into_iter().filter(|t| t.qos_specs_id.as_deref() == Some(id)).collect())
    }

    /// `qos_specs.delete`: refused while associated unless forced (then disassociated).
    pub fn delete_qos_specs(&self, id: &str, force: bool) -> Result<(), Fault> {
        let associated = self.qos_associations(id)?;
        if !associated.is_empty() {
            if !force {
                return Err(Fault::bad_request("Qos specs still in use."));
            }
            self.disassociate_all_qos(id)?;
        }
        self.store.with(|c| c.execute("DELETE FROM cinder_qos_specs WHERE id = ?1", params![id]).map(|_| ()))?;
        Ok(())
    }

    /// `qos_specs.associate_qos_with_type`: a type has at most one QoS specs entity.
    pub fn associate_qos(&self, id: &str, type_id: &str) -> Result<(), Fault> {
        self.qos_specs(id)?;
        let mut t = self.created_type(type_id)?;
        if let Some(other) = t.qos_specs_id.as_deref().filter(|other| *other != id) {
            return Err(Fault::bad_request(format!(
                "Invalid volume type: Type {type_id} is already associated with another qos specs: {other}"
            )));
        }
        t.qos_specs_id = Some(id.to_owned());
        self.save_type(&t)?;
        Ok(())
    }

    pub fn disassociate_qos(&self, id: &str, type_id: &str) -> Result<(), Fault> {
        self.qos_specs(id)?;
        let mut t = self.created_type(type_id)?;
        if t.qos_specs_id.as_deref() == Some(id) {
            t.qos_specs_id = None;
            self.save_type(&t)?;
        }
        Ok(())
    }

    pub fn disassociate_all_qos(&self, id: &str) -> Result<(), Fault> {
        for t in self.qos_associations(id)? {
            if let Ok(mut t) = self.created_type(&t.id) {
                t.qos_specs_id = None;
                self.save_type(&t)?;
            }
        }
        Ok(())
    }

    // ---- group types ----

    pub fn group_types(&self) -> Result<Vec<GroupType>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM cinder_group_types ORDER BY seq")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|b| b.ok()).filter_map(|b| serde_json::from_str(&b).ok()).collect())
        })
    }

    /// By id, or by name (`get_by_name_or_id`).
    pub fn group_type(&self, reference: &str) -> Result<GroupType, Fault> {
        let all = self.group_types()?;
        all.iter()
            .find(|g| g.id == reference)
            .or_else(|| all.iter().find(|g| g.name == reference))
            .cloned()
            .ok_or_else(|| group_type_not_found(reference))
    }

    pub fn save_group_type(&self, g: &GroupType, new: bool) -> Result<(), Fault> {
        if self.group_types()?.iter().any(|other| other.name == g.name && other.id != g.id) {
            return Err(Fault::new(StatusCode::CONFLICT, format!("Group Type {} already exists.", g.name)));
        }
        let body = to_json(g)?;
        self.store.with(|c| {
            if new {
                c.execute("INSERT INTO cinder_group_types (id, name, body) VALUES (?1, ?2, ?3)", params![g.id, g.name, body])
            } else {
                c.execute("UPDATE cinder_group_types SET name = ?2, body = ?3 WHERE id = ?1", params![g.id, g.name, body])
            }
            .map(|_| ())
        })?;
        Ok(())
    }

    pub fn delete_group_type(&self, id: &str) -> Result<(), Fault> {
        let g = self.group_type(id)?;
        self.store.with(|c| c.execute("DELETE FROM cinder_group_types WHERE id = ?1", params![g.id]).map(|_| ()))?;
        Ok(())
    }
}
