//! Cinder's state and rules (no HTTP): volumes, their Glance metadata, user messages and the
//! image-volume cache in SQLite (tables `cinder_*`), volume data under the data directory
//! (`volumes/`, `cache/`, `tmp/`), and the operator log `cinder-volume.log`. Everything a
//! `/_sim/reset` must wipe lives in those two places.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::fault::Fault;
use crate::deployment::{DeploymentState, VolumeBackendSpec};
use crate::store::{Store, StoreError};
use crate::wire::{AuthContext, format_barbican};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cinder_volumes (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cinder_volume_glance_metadata (volume_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (volume_id, key));
CREATE TABLE IF NOT EXISTS cinder_messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cinder_attachments (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, volume_id TEXT NOT NULL, project_id TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cinder_volume_extras (volume_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cinder_image_cache (backend TEXT NOT NULL, image_id TEXT NOT NULL, image_updated_at TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (backend, image_id));
";

/// One GiB: volume sizes are whole GiB.
pub const GIB: u64 = 1024 * 1024 * 1024;
/// `message_ttl` default: messages are kept 30 days.
const MESSAGE_TTL: time::Duration = time::Duration::days(30);

/// One volume as Cinder stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// GiB.
    pub size: u64,
    pub status: String,
    /// The volume type's name, which is also its back end's name.
    pub volume_type: String,
    pub bootable: bool,
    pub availability_zone: String,
    pub created_at: String,
    pub updated_at: String,
    pub metadata: BTreeMap<String, String>,
    /// The image it is being (or was) created from.
    pub image_id: Option<String>,
    /// The volume it was cloned from (`source_volid`).
    #[serde(default)]
    pub source_volid: Option<String>,
}

/// What a volume has beyond its record (`cinder_volume_extras`): its admin metadata
/// (`volume_admin_metadata`: `readonly`, `attached_mode`, which `add_visible_admin_metadata`
/// shows among the volume's metadata) and its `migration_status` (admins see it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeExtras {
    #[serde(default)]
    pub admin_metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub migration_status: Option<String>,
    /// The generic volume group the volume is in.
    #[serde(default)]
    pub group_id: Option<String>,
}

/// A user message (`cinder.message.api`): what the user is told about an asynchronous failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMessage {
    pub id: String,
    pub project_id: String,
    pub request_id: String,
    pub event_id: String,
    pub user_message: String,
    pub message_level: String,
    pub resource_type: String,
    pub resource_uuid: String,
    pub created_at: String,
    pub expires_at: String,
}

/// An image-volume cache entry: a copy of the image data a volume was made from on one back
/// end (after verification, when verification ran), with the image's `updated_at` then and
/// the data's size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub backend: String,
    pub image_id: String,
    pub image_updated_at: String,
    pub size: u64,
}

/// Cinder's state.
pub struct VolumeService {
    pub(super) store: Arc<Store>,
    data_dir: PathBuf,
    deployment: Arc<DeploymentState>,
    http: reqwest::Client,
    /// `@coordination.synchronized('{image_id}')`: one cache-or-download per image at a time.
    image_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    log_lock: Mutex<()>,
}

fn io_error(path: &Path) -> StoreError {
    // StoreError has no io variant; the path names the problem (as Glance does).
    StoreError::from(rusqlite::Error::InvalidPath(path.to_path_buf()))
}

pub fn now() -> String {
    format_barbican(time::OffsetDateTime::now_utc())
}

impl VolumeService {
    /// Opens Cinder's tables and data directory. As cinder-volume's `init_host` does, volumes
    /// left `creating`/`downloading` by a crash become `error`, `uploading` ones `available`;
    /// leftover temporary downloads are removed.
    pub fn open(store: Arc<Store>, data_dir: PathBuf, deployment: Arc<DeploymentState>) -> Result<VolumeService, StoreError> {
        store.migrate(SCHEMA)?;
        store.migrate(super::types::SCHEMA)?;
        store.migrate(super::quotas::SCHEMA)?;
        store.migrate(super::more_types::SCHEMA)?;
        store.migrate(super::transfers::SCHEMA)?;
        store.migrate(super::groups::SCHEMA)?;
        for sub in ["volumes", "cache", "tmp"] {
            std::fs::create_dir_all(data_dir.join(sub)).map_err(|_| io_error(&data_dir))?;
        }
        if let Ok(entries) = std::fs::read_dir(data_dir.join("tmp")) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let service = VolumeService {
            store,
            data_dir,
            deployment,
            http: sigstack_client::session::http_client(),
            image_locks: Mutex::new(HashMap::new()),
            log_lock: Mutex::new(()),
        };
        for volume in service.all()? {
            let after_crash = match volume.status.as_str() {
                "creating" | "downloading" => Some("error"),
                "uploading" => Some("available"),
                _ => None,
            };
            if let Some(status) = after_crash {
                service.set_status(&volume.id, status)?;
            }
        }
        Ok(service)
    }

    pub fn deployment(&self) -> &Arc<DeploymentState> {
        &self.deployment
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The same service calling Glance and Barbican with this client (one trusting the
    /// cloud's CA under `sigstack serve --tls`).
    pub fn with_http(mut self, http: reqwest::Client) -> VolumeService {
        self.http = http;
        self
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The back end behind a volume type name (a back end's own, or a created type's);
    /// `None` for the default type.
    pub fn backend(&self, volume_type: Option<&str>) -> Option<VolumeBackendSpec> {
        match volume_type {
            None => self.deployment.get().cinder.backends.into_iter().next(),
            Some(name) => self.backend_of_type(name),
        }
    }

    pub fn volume_path(&self, id: &str) -> PathBuf {
        self.data_dir.join("volumes").join(id)
    }

    pub fn cache_path(&self, backend: &str, image_id: &str) -> PathBuf {
        self.data_dir.join("cache").join(format!("{backend}--{image_id}"))
    }

    /// A fresh temporary download path (`image_conversion_dir`).
    pub fn temp_path(&self) -> PathBuf {
        self.data_dir.join("tmp").join(uuid::Uuid::new_v4().to_string())
    }

    /// The operator log (what cinder-volume writes to its log: the failures users never see).
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join("cinder-volume.log")
    }

    /// Appends `ERROR <logger> [volume <id>] <line>` to the operator log.
    pub fn log_error(&self, volume_id: &str, line: &str) {
        let _guard = self.log_lock.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.log_path();
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            let _ = writeln!(file, "{} ERROR cinder.volume.manager [volume {volume_id}] {line}", now());
        }
    }

    /// The per-image lock of the cache-or-download step.
    pub fn image_lock(&self, image_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.image_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(image_id.to_owned()).or_default().clone()
    }

    // ---- volumes ----

    pub(super) fn all(&self) -> Result<Vec<Volume>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM cinder_volumes ORDER BY seq")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|b| b.ok()).filter_map(|b| serde_json::from_str(&b).ok()).collect())
        })
    }

    pub(super) fn load(&self, id: &str) -> Result<Option<Volume>, StoreError> {
        let body: Option<String> =
            self.store.with(|c| c.query_row("SELECT body FROM cinder_volumes WHERE id = ?1", params![id], |r| r.get(0)).optional())?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    fn save(&self, volume: &Volume) -> Result<(), StoreError> {
        let body = serde_json::to_string(volume).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        self.store.with(|c| {
            c.execute(
                "INSERT INTO cinder_volumes (id, project_id, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                params![volume.id, volume.project_id, body],
            )
            .map(|_| ())
        })
    }

    /// Inserts a new volume record (status `creating`).
    pub fn insert(&self, volume: &Volume) -> Result<(), StoreError> {
        self.save(volume)
    }

    /// A volume the caller may see: its project's, or any for an admin. Otherwise the
    /// `VolumeNotFound` 404 (another project's volume does not exist for the caller).
    pub fn get(&self, ctx: &AuthContext, id: &str) -> Result<Volume, Fault> {
        match self.load(id)? {
            Some(v) if v.project_id == ctx.project_id || ctx.is_admin() => Ok(v),
            _ => Err(Fault::not_found(format!("Volume {id} could not be found."))),
        }
    }

    /// A volume by id, whoever owns it (the flow's own view).
    pub fn get_any(&self, id: &str) -> Result<Option<Volume>, StoreError> {
        self.load(id)
    }

    /// The caller's project's volumes, oldest first.
    pub fn list(&self, ctx: &AuthContext) -> Result<Vec<Volume>, StoreError> {
        Ok(self.all()?.into_iter().filter(|v| v.project_id == ctx.project_id).collect())
    }

    /// Changes a volume with `f` and saves it; `None` when it no longer exists.
    pub fn modify(&self, id: &str, f: impl FnOnce(&mut Volume)) -> Result<Option<Volume>, StoreError> {
        let Some(mut volume) = self.load(id)? else { return Ok(None) };
        f(&mut volume);
        volume.updated_at = now();
        self.save(&volume)?;
        Ok(Some(volume))
    }

    /// `conditional_update`: moves a volume whose status is one of `from` to `to`, in one
    /// transaction (two concurrent actions cannot both pass the check). The volume as it was,
    /// when it moved; `None` when it does not exist or its status was another.
    pub fn transition(&self, id: &str, from: &[&str], to: &str) -> Result<Option<Volume>, StoreError> {
        self.store.transaction(|tx| {
            let body: Option<String> =
                tx.query_row("SELECT body FROM cinder_volumes WHERE id = ?1", params![id], |r| r.get(0)).optional()?;
            let Some(before) = body.and_then(|b| serde_json::from_str::<Volume>(&b).ok()) else { return Ok(None) };
            if !from.contains(&before.status.as_str()) {
                return Ok(None);
            }
            let after = Volume { status: to.to_owned(), updated_at: now(), ..before.clone() };
            let body = serde_json::to_string(&after).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
            tx.execute("UPDATE cinder_volumes SET body = ?2 WHERE id = ?1", params![id, body])?;
            Ok(Some(before))
        })
    }

    pub fn set_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        self.modify(id, |v| v.status = status.to_owned()).map(|_| ())
    }

    /// Removes a volume, its Glance metadata and its data.
    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.store.transaction(|tx| {
            tx.execute("DELETE FROM cinder_volume_glance_metadata WHERE volume_id = ?1", params![id])?;
            tx.execute("DELETE FROM cinder_attachments WHERE volume_id = ?1", params![id])?;
            tx.execute("DELETE FROM cinder_volume_extras WHERE volume_id = ?1", params![id])?;
            tx.execute("DELETE FROM cinder_volumes WHERE id = ?1", params![id])?;
            Ok::<_, StoreError>(())
        })?;
        let _ = std::fs::remove_file(self.volume_path(id));
        Ok(())
    }

    // ---- admin metadata and migration status ----

    pub fn extras(&self, volume_id: &str) -> Result<VolumeExtras, StoreError> {
        let body: Option<String> = self.store.with(|c| {
            c.query_row("SELECT body FROM cinder_volume_extras WHERE volume_id = ?1", params![volume_id], |r| r.get(0)).optional()
        })?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()).unwrap_or_default())
    }

    pub fn modify_extras(&self, volume_id: &str, f: impl FnOnce(&mut VolumeExtras)) -> Result<(), StoreError> {
        let mut extras = self.extras(volume_id)?;
        f(&mut extras);
        let body = serde_json::to_string(&extras).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        self.store.with(|c| {
            c.execute(
                "INSERT INTO cinder_volume_extras (volume_id, body) VALUES (?1, ?2) ON CONFLICT (volume_id) DO UPDATE SET body = excluded.body",
                params![volume_id, body],
            )
            .map(|_| ())
        })
    }

    // ---- volume Glance metadata ----

    pub fn glance_metadata(&self, volume_id: &str) -> Result<BTreeMap<String, String>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare("SELECT key, value FROM cinder_volume_glance_metadata WHERE volume_id = ?1")?;
            let rows = stmt.query_map(params![volume_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            rows.collect()
        })
    }

    /// `volume_glance_metadata_bulk_create`: every value stored as a string.
    pub fn add_glance_metadata(&self, volume_id: &str, entries: &BTreeMap<String, String>) -> Result<(), StoreError> {
        self.upsert_pairs(("cinder_volume_glance_metadata", "volume_id", "key", "value"), volume_id, entries)
    }

    /// Writes `owner`'s `(key, value)` rows in one transaction, replacing the values of keys it
    /// already has. `table` is `(name, owner column, key column, value column)`, all constants.
    pub(super) fn upsert_pairs<V: rusqlite::ToSql>(
        &self,
        (table, owner_column, key_column, value_column): (&str, &str, &str, &str),
        owner: &str,
        pairs: &BTreeMap<String, V>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {table} ({owner_column}, {key_column}, {value_column}) VALUES (?1, ?2, ?3)
             ON CONFLICT ({owner_column}, {key_column}) DO UPDATE SET {value_column} = excluded.{value_column}"
        );
        self.store.transaction(|tx| {
            for (k, v) in pairs {
                tx.execute(&sql, params![owner, k, v])?;
            }
            Ok::<_, StoreError>(())
        })
    }

    // ---- user messages ----

    /// `message_api.create`: the event id is `VOLUME_<resource type>_<action id>_<detail id>`.
    pub fn add_message(
        &self,
        project_id: &str,
        request_id: &str,
        volume_id: &str,
        event_id: &str,
        user_message: &str,
    ) -> Result<(), StoreError> {
        let created = time::OffsetDateTime::now_utc();
        let message = UserMessage {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: project_id.to_owned(),
            request_id: request_id.to_owned(),
            event_id: event_id.to_owned(),
            user_message: user_message.to_owned(),
            message_level: "ERROR".into(),
            resource_type: "VOLUME".into(),
            resource_uuid: volume_id.to_owned(),
            created_at: format_barbican(created),
            expires_at: format_barbican(created + MESSAGE_TTL),
        };
        let body = serde_json::to_string(&message).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        self.store.with(|c| {
            c.execute("INSERT INTO cinder_messages (id, project_id, body) VALUES (?1, ?2, ?3)", params![message.id, project_id, body])
                .map(|_| ())
        })
    }

    /// `message_get_all`: every project's messages, newest first (`created_at`, then `id`,
    /// descending). Cinder 10 to 29 list them with `_messages_get_query(project_only=False)`,
    /// so any user sees every project's (seen on Cinder 29: alt_demo listed another project's
    /// messages); only `GET` of one message is scoped to the caller's project.
    pub fn messages(&self) -> Result<Vec<UserMessage>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM cinder_messages ORDER BY seq DESC")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|b| b.ok()).filter_map(|b| serde_json::from_str(&b).ok()).collect())
        })
    }

    /// `_message_get` (`project_only="yes"`): the caller's project's, or any for an admin.
    pub fn message(&self, ctx: &AuthContext, id: &str) -> Result<UserMessage, Fault> {
        let body: Option<String> = self
            .store
            .with(|c| c.query_row("SELECT body FROM cinder_messages WHERE id = ?1", params![id], |r| r.get::<_, String>(0)).optional())?;
        body.and_then(|b| serde_json::from_str::<UserMessage>(&b).ok())
            .filter(|m| ctx.is_admin() || m.project_id == ctx.project_id)
            .ok_or_else(|| Fault::not_found(format!("Message {id} could not be found.")))
    }

    pub fn delete_message(&self, ctx: &AuthContext, id: &str) -> Result<(), Fault> {
        self.message(ctx, id)?;
        self.store.with(|c| c.execute("DELETE FROM cinder_messages WHERE id = ?1", params![id]).map(|_| ()))?;
        Ok(())
    }

    // ---- image-volume cache ----

    pub fn cache_entry(&self, backend: &str, image_id: &str) -> Result<Option<CacheEntry>, StoreError> {
        self.store.with(|c| {
            c.query_row(
                "SELECT image_updated_at, size FROM cinder_image_cache WHERE backend = ?1 AND image_id = ?2",
                params![backend, image_id],
                |r| {
                    Ok(CacheEntry {
                        backend: backend.to_owned(),
                        image_id: image_id.to_owned(),
                        image_updated_at: r.get(0)?,
                        size: r.get::<_, i64>(1)?.max(0) as u64,
                    })
                },
            )
            .optional()
        })
    }

    pub fn put_cache_entry(&self, entry: &CacheEntry) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute(
                "INSERT INTO cinder_image_cache (backend, image_id, image_updated_at, size) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (backend, image_id) DO UPDATE SET image_updated_at = excluded.image_updated_at, size = excluded.size",
                params![entry.backend, entry.image_id, entry.image_updated_at, entry.size as i64],
            )
            .map(|_| ())
        })
    }

    /// Drops a cache entry and its data (an image updated since it was cached).
    pub fn evict(&self, backend: &str, image_id: &str) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute("DELETE FROM cinder_image_cache WHERE backend = ?1 AND image_id = ?2", params![backend, image_id]).map(|_| ())
        })?;
        let _ = std::fs::remove_file(self.cache_path(backend, image_id));
        Ok(())
    }
}
