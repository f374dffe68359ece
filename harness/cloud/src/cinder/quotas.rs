//! Cinder's quotas (no HTTP): per-project limits (`quotas`, table `cinder_quotas`), the
//! `default` quota class (`quota_classes`, table `cinder_quota_classes`) over the configured
//! defaults, and usage counted from the project's volumes (`quota_usages`: nothing is ever
//! reserved here, so `reserved` is 0). Creating and extending a volume reserve against them
//! with Cinder's over-quota errors (`VolumeLimitExceeded`, `VolumeSizeExceedsAvailableQuota`,
//! `VolumeSizeExceedsLimit`, all 413).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use rusqlite::params;

use super::fault::Fault;
use super::model::VolumeService;
use crate::store::StoreError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cinder_quotas (project_id TEXT NOT NULL, resource TEXT NOT NULL, hard_limit INTEGER NOT NULL, PRIMARY KEY (project_id, resource));
CREATE TABLE IF NOT EXISTS cinder_quota_classes (class_name TEXT NOT NULL, resource TEXT NOT NULL, hard_limit INTEGER NOT NULL, PRIMARY KEY (class_name, resource));
";

/// The `[DEFAULT] quota_*` options' defaults, in `QUOTAS`' order; `groups` is `GROUP_QUOTAS`'.
pub const DEFAULTS: [(&str, i64); 7] = [
    ("volumes", 10),
    ("snapshots", 10),
    ("gigabytes", 1000),
    ("backups", 10),
    ("backup_gigabytes", 1000),
    ("per_volume_gigabytes", -1),
    ("groups", 10),
];
/// The per-type resources (`volumes_<type>` ...), unlimited by default.
pub const PER_TYPE: [&str; 3] = ["volumes", "gigabytes", "snapshots"];
/// `NON_QUOTA_KEYS`: accepted in a quota set and ignored.
pub const NON_QUOTA_KEYS: [&str; 2] = ["tenant_id", "id"];

/// One resource's limit and usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub limit: i64,
    pub in_use: i64,
}

/// A 413 `QuotaError` (Cinder adds `Retry-After: 0`, which the fault carries in its message
/// only).
fn over_limit(message: String) -> Fault {
    Fault::new(StatusCode::PAYLOAD_TOO_LARGE, message)
}

impl VolumeService {
    /// Every quota resource: the fixed ones, then three per volume type.
    pub fn quota_resources(&self) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = DEFAULTS.iter().map(|(n, _)| (*n).to_owned()).collect();
        for t in self.volume_types()? {
            for r in PER_TYPE {
                names.push(format!("{r}_{}", t.name));
            }
        }
        Ok(names)
    }

    fn limits_of(&self, table: &str, column: &str, key: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare(&format!("SELECT resource, hard_limit FROM {table} WHERE {column} = ?1"))?;
            let rows = stmt.query_map(params![key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            rows.collect()
        })
    }

    /// The `default` class's limits: the configured defaults, overridden by the class's rows.
    pub fn quota_defaults(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let class = self.limits_of("cinder_quota_classes", "class_name", "default")?;
        let fixed: BTreeMap<&str, i64> = DEFAULTS.into_iter().collect();
        Ok(self
            .quota_resources()?
            .into_iter()
            .map(|r| {
                let default = class.get(&r).copied().unwrap_or_else(|| fixed.get(r.as_str()).copied().unwrap_or(-1));
                (r, default)
            })
            .collect())
    }

    /// A class's limits (only `default` has rows; any other class shows the defaults).
    pub fn quota_class(&self, name: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut values = self.quota_defaults()?;
        if name != "default" {
            for (r, v) in self.limits_of("cinder_quota_classes", "class_name", name)? {
                values.insert(r, v);
            }
        }
        Ok(values)
    }

    pub fn set_quota_class(&self, name: &str, values: &BTreeMap<String, i64>) -> Result<(), StoreError> {
        self.upsert_pairs(("cinder_quota_classes", "class_name", "resource", "hard_limit"), name, values)
    }

    /// A project's limits: its own rows over the defaults.
    pub fn project_quotas(&self, project_id: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut values = self.quota_defaults()?;
        for (r, v) in self.limits_of("cinder_quotas", "project_id", project_id)? {
            if values.contains_key(&r) {
                values.insert(r, v);
            }
        }
        Ok(values)
    }

    pub fn set_project_quotas(&self, project_id: &str, values: &BTreeMap<String, i64>) -> Result<(), StoreError> {
        self.upsert_pairs(("cinder_quotas", "project_id", "resource", "hard_limit"), project_id, values)
    }

    /// `quota_destroy_by_project`: the project is back on the defaults.
    pub fn delete_project_quotas(&self, project_id: &str) -> Result<(), StoreError> {
        self.store.with(|c| c.execute("DELETE FROM cinder_quotas WHERE project_id = ?1", params![project_id]).map(|_| ()))
    }

    /// What a project's volumes use: counts and GiB, in total and per type.
    pub fn quota_in_use(&self, project_id: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut used: BTreeMap<String, i64> = BTreeMap::new();
        for v in self.all()?.into_iter().filter(|v| v.project_id == project_id) {
            *used.entry("volumes".into()).or_default() += 1;
            *used.entry("gigabytes".into()).or_default() += v.size as i64;
            *used.entry(format!("volumes_{}", v.volume_type)).or_default() += 1;
            *used.entry(format!("gigabytes_{}", v.volume_type)).or_default() += v.size as i64;
        }
        let groups = self.project_groups(project_id)?.len() as i64;
        if groups > 0 {
            used.insert("groups".into(), groups);
        }
        Ok(used)
    }

    /// Limits with usage (`?usage=true`).
    pub fn project_usage(&self, project_id: &str) -> Result<BTreeMap<String, Usage>, StoreError> {
        let used = self.quota_in_use(project_id)?;
        Ok(self
            .project_quotas(project_id)?
            .into_iter()
            .map(|(r, limit)| {
                let in_use = used.get(&r).copied().unwrap_or(0);
                (r, Usage { limit, in_use })
            })
            .collect())
    }

    /// `QUOTAS.reserve` for a new volume of `size` GiB of type `type_name` (`volumes: 1`,
    /// `gigabytes: size` and the type's own), after `per_volume_gigabytes`' `limit_check`.
    pub fn check_volume_quota(&self, project_id: &str, type_name: &str, size: u64, new_volume: bool) -> Result<(), Fault> {
        let usage = self.project_usage(project_id)?;
        let size = size as i64;
        if new_volume
            && let Some(u) = usage.get("per_volume_gigabytes")
            && u.limit >= 0
            && size > u.limit
        {
            return Err(over_limit(format!("Requested volume size {size}G is larger than maximum allowed limit {}G.", u.limit)));
        }
        let mut wanted: Vec<(String, i64)> = Vec::new();
        if new_volume {
            wanted.push(("volumes".into(), 1));
            wanted.push((format!("volumes_{type_name}"), 1));
        }
        wanted.push(("gigabytes".into(), size));
        wanted.push((format!("gigabytes_{type_name}"), size));
        // `process_reserve_over_quota` looks at the overs in order: a gigabytes one first
        // wins, as the reservation's resources are ordered.
        let overs: Vec<&(String, i64)> =
            wanted.iter().filter(|(r, delta)| usage.get(r).is_some_and(|u| u.limit >= 0 && u.in_use + delta > u.limit)).collect();
        let mut sorted = overs.clone();
        sorted.sort_by_key(|(r, _)| r.clone());
        for (r, _) in sorted {
            let u = usage[r];
            if r.contains("gigabytes") {
                return Err(over_limit(format!(
                    "Requested volume or snapshot exceeds allowed {r} quota. Requested {size}G, quota is {}G and {}G has been consumed.",
                    u.limit, u.in_use
                )));
            }
            if r.starts_with("volumes") {
                return Err(over_limit(format!("Maximum number of volumes allowed ({}) exceeded for quota '{r}'.", u.limit)));
            }
        }
        Ok(())
    }
}
