//! Glance's state and rules (no HTTP): images in SQLite (`glance_images`), statuses and their
//! transitions (docs/reference/openstack-behaviour.md A6), who may see and change what, image creation (A7).
//! The data path is in `data`; JSON-patch rules in `patch`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sigstack_verify::KeyTypeProfile;

use super::data;
use super::schema;
use super::webob::Fault;
use crate::deployment::{Defects, GlanceOptions};
use crate::store::{Store, StoreError};
use crate::wire::{AuthContext, format_glance};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS glance_images (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, owner TEXT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS glance_tasks (id TEXT PRIMARY KEY, image_id TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS glance_members (image_id TEXT NOT NULL, member_id TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (image_id, member_id));
";

/// `CONF.hashing_algorithm`'s default.
pub const HASH_ALGO: &str = "sha512";
/// The import methods this Glance offers (`enabled_import_methods`).
pub const IMPORT_METHODS: [&str; 1] = ["glance-direct"];

/// Image statuses (the schema enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Saving,
    Active,
    Killed,
    Deleted,
    Uploading,
    Importing,
    PendingDelete,
    Deactivated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Saving => "saving",
            Status::Active => "active",
            Status::Killed => "killed",
            Status::Deleted => "deleted",
            Status::Uploading => "uploading",
            Status::Importing => "importing",
            Status::PendingDelete => "pending_delete",
            Status::Deactivated => "deactivated",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }

    /// glance.domain `valid_state_targets`.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        let targets: &[Status] = match self {
            Queued => &[Saving, Uploading, Importing, Active, Deleted],
            Saving => &[Active, Killed, Deleted, Queued],
            Uploading => &[Importing, Queued, Deleted],
            Importing => &[Active, Deleted, Queued],
            Active => &[PendingDelete, Deleted, Deactivated],
            Killed => &[Deleted],
            PendingDelete => &[Deleted, Active],
            Deleted => &[],
            Deactivated => &[Active, Deleted],
        };
        targets.contains(&to)
    }

    /// glance `InvalidImageStatusTransition`.
    pub fn transition_error(self, to: Status) -> Fault {
        Fault::conflict(format!("Image status transition from {} to {} is not allowed", self.as_str(), to.as_str()))
    }
}

/// One image as Glance stores it. Custom properties are strings (the schema's
/// `additionalProperties`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: Option<String>,
    pub status: Status,
    pub visibility: String,
    pub protected: bool,
    pub os_hidden: bool,
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    pub size: Option<u64>,
    pub virtual_size: Option<u64>,
    pub container_format: Option<String>,
    pub disk_format: Option<String>,
    pub min_disk: i64,
    pub min_ram: i64,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub properties: BTreeMap<String, String>,
}

/// The base attributes a PATCH may set directly (everything else is a custom property).
pub const BASE_ATTRIBUTES: [&str; 17] = [
    "checksum",
    "created_at",
    "container_format",
    "disk_format",
    "id",
    "min_disk",
    "min_ram",
    "name",
    "size",
    "virtual_size",
    "status",
    "tags",
    "owner",
    "updated_at",
    "visibility",
    "protected",
    "os_hidden",
];

impl Image {
    /// The API view (`ImagesController._format_image`), `self`/`file`/`schema` links included.
    pub fn view(&self) -> Value {
        let mut map = serde_json::Map::new();
        for (k, v) in &self.properties {
            map.insert(k.clone(), Value::String(v.clone()));
        }
        let mut put = |k: &str, v: Value| {
            map.insert(k.to_owned(), v);
        };
        put("id", self.id.clone().into());
        put("name", self.name.clone().into());
        put("status", self.status.as_str().into());
        put("visibility", self.visibility.clone().into());
        put("protected", self.protected.into());
        put("os_hidden", self.os_hidden.into());
        put("checksum", self.checksum.clone().into());
        put("os_hash_algo", self.os_hash_algo.clone().into());
        put("os_hash_value", self.os_hash_value.clone().into());
        put("size", self.size.into());
        put("virtual_size", self.virtual_size.into());
        put("container_format", self.container_format.clone().into());
        put("disk_format", self.disk_format.clone().into());
        put("min_disk", self.min_disk.into());
        put("min_ram", self.min_ram.into());
        put("owner", self.owner.clone().into());
        put("tags", self.tags.clone().into());
        put("created_at", self.created_at.clone().into());
        put("updated_at", self.updated_at.clone().into());
        put("self", format!("/v2/images/{}", self.id).into());
        put("file", format!("/v2/images/{}/file", self.id).into());
        put("schema", "/v2/schemas/image".into());
        Value::Object(map)
    }

    /// A base attribute (set in place by PATCH, never removed) rather than a custom property.
    pub fn has_attribute(name: &str) -> bool {
        BASE_ATTRIBUTES.contains(&name)
    }

    /// Data is stored for the image (glance: it has locations).
    pub fn has_data(&self) -> bool {
        matches!(self.status, Status::Active | Status::Deactivated | Status::PendingDelete)
    }

    /// Whether `ctx` may see this image (glance db `is_image_visible`, without members: an
    /// image without owner is visible to all).
    pub fn visible_to(&self, ctx: &AuthContext) -> bool {
        ctx.is_admin()
            || self.owner.is_none()
            || self.owner.as_deref() == Some(ctx.project_id.as_str())
            || matches!(self.visibility.as_str(), "public" | "community")
    }

    pub fn owned_by(&self, ctx: &AuthContext) -> bool {
        ctx.is_admin() || self.owner.as_deref() == Some(ctx.project_id.as_str())
    }

    fn touch(&mut self) {
        self.updated_at = now();
    }
}

pub fn now() -> String {
    format_glance(time::OffsetDateTime::now_utc())
}

/// glance's `ImageRepo.get` answer for an image that is missing or not visible.
pub fn no_image(id: &str) -> Fault {
    Fault::not_found(format!("No image found with ID {id}"))
}

/// glance policy's `Forbidden` for an action on a visible image.
pub fn not_authorized(action: &str) -> Fault {
    Fault::forbidden(format!("You are not authorized to complete {action} action."))
}

/// An import task (`GET /v2/images/{id}/tasks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    #[serde(rename = "type")]
    pub task_type: String,
    pub status: String,
    pub owner: String,
    pub user_id: String,
    pub image_id: String,
    pub request_id: String,
    pub input: Value,
    pub result: Option<Value>,
    pub message: String,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Glance's state: image records in SQLite, image files under `data_dir`.
pub struct ImageService {
    store: Arc<Store>,
    data_dir: PathBuf,
    /// The deployment's key-type profile, read on every upload (it can change at run time).
    profile: Arc<dyn Fn() -> KeyTypeProfile + Send + Sync>,
    /// The deployment's deliberate defects (conformance-suite testing), read on every upload.
    defects: Arc<dyn Fn() -> Defects + Send + Sync>,
    /// glance-api.conf's quotas and size cap, read on every request.
    options: Arc<dyn Fn() -> GlanceOptions + Send + Sync>,
    http: reqwest::Client,
    /// How the key-manager client trusts Barbican's TLS certificate (`sigstack serve --tls`).
    tls: sigstack_client::TlsOptions,
    key_manager_timeout: Duration,
}

/// How long Glance waits for Barbican (castellan has no timeout of its own; a hung key
/// manager must not hold an upload forever).
pub const KEY_MANAGER_TIMEOUT: Duration = Duration::from_secs(60);

fn key_manager_client(tls: &sigstack_client::TlsOptions, timeout: Duration) -> Result<reqwest::Client, sigstack_client::Error> {
    sigstack_client::tls::client_builder(tls).and_then(|b| {
        b.timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| sigstack_client::Error::Config(e.to_string()))
    })
}

impl ImageService {
    /// Opens Glance's tables and data directory. Uploads that were cut short by a crash
    /// (`saving`, `importing`) go back to `queued` and their partial files are removed.
    pub fn open(store: Arc<Store>, data_dir: PathBuf, profile: KeyTypeProfile) -> Result<ImageService, StoreError> {
        Self::open_with(store, data_dir, Arc::new(move || profile))
    }

    /// [`ImageService::open`] with the profile looked up on every upload.
    pub fn open_with(
        store: Arc<Store>,
        data_dir: PathBuf,
        profile: Arc<dyn Fn() -> KeyTypeProfile + Send + Sync>,
    ) -> Result<ImageService, StoreError> {
        store.migrate(SCHEMA)?;
        // StoreError has no io variant; the path names the problem.
        data::prepare_dirs(&data_dir).map_err(|_| StoreError::from(rusqlite::Error::InvalidPath(data_dir.clone())))?;
        let tls = sigstack_client::TlsOptions::default();
        let http = key_manager_client(&tls, KEY_MANAGER_TIMEOUT).unwrap_or_else(|_| sigstack_client::session::http_client());
        let defects = Arc::new(Defects::default);
        let options = Arc::new(GlanceOptions::default);
        let service = ImageService { store, data_dir, profile, defects, options, http, tls, key_manager_timeout: KEY_MANAGER_TIMEOUT };
        service.recover()?;
        Ok(service)
    }

    /// The same service with another Barbican timeout (tests of a hung key manager).
    pub fn with_key_manager_timeout(mut self, timeout: Duration) -> ImageService {
        if let Ok(http) = key_manager_client(&self.tls, timeout) {
            self.http = http;
            self.key_manager_timeout = timeout;
        }
        self
    }

    /// The same service reaching Barbican over HTTPS with these TLS options (the cloud's CA
    /// under `sigstack serve --tls`).
    pub fn with_tls(mut self, tls: sigstack_client::TlsOptions) -> Result<ImageService, sigstack_client::Error> {
        self.http = key_manager_client(&tls, self.key_manager_timeout)?;
        self.tls = tls;
        Ok(self)
    }

    pub fn profile(&self) -> KeyTypeProfile {
        (self.profile)()
    }

    /// The same service with the deployment's defects looked up on every upload
    /// ([`Defects`]: Glance not verifying, or answering a failed verification wrongly).
    pub fn with_defects(mut self, defects: Arc<dyn Fn() -> Defects + Send + Sync>) -> ImageService {
        self.defects = defects;
        self
    }

    pub fn defects(&self) -> Defects {
        (self.defects)()
    }

    /// The same service with glance-api.conf's limits looked up on every request (the
    /// deployment's `glance` section); Glance's defaults otherwise.
    pub fn with_options(mut self, options: Arc<dyn Fn() -> GlanceOptions + Send + Sync>) -> ImageService {
        self.options = options;
        self
    }

    pub fn options(&self) -> GlanceOptions {
        (self.options)()
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The database (image members and tasks keep their own tables in it).
    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    fn recover(&self) -> Result<(), StoreError> {
        for image in self.all()? {
            let back = match image.status {
                Status::Saving | Status::Importing => Some(Status::Queued),
                _ => None,
            };
            if let Some(status) = back {
                let _ = self.modify(&image.id, |img| {
                    if img.status == Status::Importing {
                        img.size = None;
                    }
                    img.status = status;
                    // An import that died with the process no longer holds the image.
                    img.properties.remove("os_glance_import_task");
                    Ok(())
                });
                data::remove_staged(&self.data_dir, &image.id);
            }
        }
        Ok(())
    }

    pub(super) fn all(&self) -> Result<Vec<Image>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM glance_images ORDER BY seq")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for body in rows {
                if let Ok(image) = serde_json::from_str::<Image>(&body?) {
                    out.push(image);
                }
            }
            Ok(out)
        })
    }

    /// The image, whoever may see it; `None` if there is none (or it is deleted).
    pub(crate) fn load(&self, id: &str) -> Result<Option<Image>, StoreError> {
        let body: Option<String> =
            self.store.with(|c| c.query_row("SELECT body FROM glance_images WHERE id = ?1", params![id], |r| r.get(0)).optional())?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()).filter(|i: &Image| i.status != Status::Deleted))
    }

    /// Reads, changes and writes one image in a single transaction; `f` may refuse.
    pub fn modify(&self, id: &str, f: impl FnOnce(&mut Image) -> Result<(), Fault>) -> Result<Image, Fault> {
        self.store.transaction(|tx| {
            let body: Option<String> = tx
                .query_row("SELECT body FROM glance_images WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(StoreError::from)?;
            let mut image: Image = body
                .and_then(|b| serde_json::from_str(&b).ok())
                .filter(|i: &Image| i.status != Status::Deleted)
                .ok_or_else(|| no_image(id))?;
            f(&mut image)?;
            image.touch();
            let body = serde_json::to_string(&image).map_err(|_| Fault::internal())?;
            tx.execute("UPDATE glance_images SET body = ?2, owner = ?3 WHERE id = ?1", params![id, body, image.owner])
                .map_err(StoreError::from)?;
            Ok(image)
        })
    }

    /// The image if `ctx` may see it (a shared image: also a member, whatever its membership
    /// status), else glance's 404.
    pub fn get(&self, ctx: &AuthContext, id: &str) -> Result<Image, Fault> {
        let image = self.load(id)?.ok_or_else(|| no_image(id))?;
        if image.visible_to(ctx) || (image.visibility == "shared" && self.member_status(id, &ctx.project_id)?.is_some()) {
            return Ok(image);
        }
        Err(no_image(id))
    }

    /// The image if `ctx` may change it: 404 if invisible, 403 (`action`) if only visible.
    pub fn get_for(&self, ctx: &AuthContext, id: &str, action: &str) -> Result<Image, Fault> {
        let image = self.get(ctx, id)?;
        if !image.owned_by(ctx) {
            return Err(not_authorized(action));
        }
        Ok(image)
    }

    /// Moves an image the caller may change from `from` (one of) to `to`, checking the
    /// transition; `action` names the policy for the 403.
    pub fn transition(&self, ctx: &AuthContext, id: &str, action: &str, to: Status) -> Result<Image, Fault> {
        self.get_for(ctx, id, action)?;
        self.modify(id, |img| {
            if !img.status.can_become(to) {
                return Err(img.status.transition_error(to));
            }
            img.status = to;
            Ok(())
        })
    }

    /// `POST /v2/images`, body already split by `schema::split_create`.
    pub fn create(&self, ctx: &AuthContext, req: schema::CreateRequest) -> Result<Image, Fault> {
        // `ImageFactoryProxy.new_image` checks the tags, `ImageRepoProxy.add` the properties,
        // both after the policy check (below, before the record is written).
        let quota_checks = || -> Result<(), Fault> {
            let options = self.options();
            check_tag_quota(req.tags.len(), &options)?;
            check_property_quota(&req.properties, &options)
        };
        let owner = req.owner.clone().flatten().or_else(|| Some(ctx.project_id.clone()));
        let visibility = req.visibility.clone().unwrap_or_else(|| "shared".into());
        if visibility == "public" && !ctx.is_admin() {
            return Err(not_authorized("publicize_image"));
        }
        if !ctx.is_admin() && owner.as_deref() != Some(ctx.project_id.as_str()) {
            let shown = owner.clone().unwrap_or_else(|| "None".into());
            return Err(Fault::forbidden(format!("You are not permitted to create images owned by '{shown}'.")));
        }
        quota_checks()?;
        let stamp = now();
        let image = Image {
            id: req.id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            name: req.name.clone().flatten(),
            status: Status::Queued,
            visibility,
            protected: req.protected.unwrap_or(false),
            os_hidden: req.os_hidden.unwrap_or(false),
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            size: None,
            virtual_size: None,
            container_format: req.container_format.clone().flatten(),
            disk_format: req.disk_format.clone().flatten(),
            min_disk: req.min_disk.unwrap_or(0),
            min_ram: req.min_ram.unwrap_or(0),
            owner,
            tags: dedup(req.tags.clone()),
            created_at: stamp.clone(),
            updated_at: stamp,
            properties: req.properties.clone(),
        };
        let body = serde_json::to_string(&image).map_err(|_| Fault::internal())?;
        self.store.transaction(|tx| {
            let exists: Option<i64> = tx
                .query_row("SELECT seq FROM glance_images WHERE id = ?1", params![image.id], |r| r.get(0))
                .optional()
                .map_err(StoreError::from)?;
            if exists.is_some() {
                return Err(Fault::conflict(format!("Image ID {} already exists!", image.id)));
            }
            tx.execute("INSERT INTO glance_images (id, owner, body) VALUES (?1, ?2, ?3)", params![image.id, image.owner, body])
                .map_err(StoreError::from)?;
            Ok(())
        })?;
        Ok(image)
    }

    /// `DELETE /v2/images/{id}`: the record becomes a tombstone, its files go.
    pub fn delete(&self, ctx: &AuthContext, id: &str) -> Result<(), Fault> {
        let missing = || Fault::not_found(format!("Failed to find image {id} to delete"));
        let image = self.get(ctx, id).map_err(|_| missing())?;
        if !image.owned_by(ctx) {
            return Err(not_authorized("delete_image"));
        }
        if image.protected {
            return Err(Fault::forbidden(format!("Image {id} is protected and cannot be deleted.")));
        }
        self.modify(id, |img| {
            if !img.status.can_become(Status::Deleted) {
                return Err(Fault::bad_request(img.status.transition_error(Status::Deleted).explanation));
            }
            img.status = Status::Deleted;
            Ok(())
        })?;
        data::remove_image_data(&self.data_dir, id);
        data::remove_staged(&self.data_dir, id);
        self.store.with(|c| c.execute("DELETE FROM glance_tasks WHERE image_id = ?1", params![id]))?;
        // `image_destroy` deletes the image's members with it.
        self.remove_members(id)?;
        Ok(())
    }

    /// Applies parsed JSON-patch changes (`ImagesController.update`).
    pub fn update(&self, ctx: &AuthContext, id: &str, changes: &[super::patch::Change]) -> Result<Image, Fault> {
        self.get_for(ctx, id, "modify_image")?;
        if changes.is_empty() {
            return self.get(ctx, id);
        }
        let options = self.options();
        self.modify(id, |img| {
            let before: Vec<String> = img.properties.keys().cloned().collect();
            for change in changes {
                // The quota proxy's `tags` setter checks the new list (as sent) at once.
                if let (Some("tags"), Some(Value::Array(tags))) = (change.path.first().map(String::as_str), &change.value) {
                    check_tag_quota(tags.len(), &options)?;
                }
                super::patch::apply(img, change, ctx)?;
            }
            // `ImageRepoProxy.save`: the property quota, when a property was added.
            if img.properties.keys().any(|k| !before.contains(k)) {
                check_property_quota(&img.properties, &options)?;
            }
            Ok(())
        })
    }

    /// Records a task, replacing any with the same id.
    pub fn save_task(&self, task: &Task) -> Result<(), Fault> {
        let body = serde_json::to_string(task).map_err(|_| Fault::internal())?;
        self.store.with(|c| {
            c.execute(
                "INSERT INTO glance_tasks (id, image_id, body) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                params![task.id, task.image_id, body],
            )
        })?;
        Ok(())
    }

    pub fn tasks(&self, image_id: &str) -> Result<Vec<Task>, Fault> {
        let bodies: Vec<String> = self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM glance_tasks WHERE image_id = ?1 ORDER BY rowid")?;
            let rows = stmt.query_map(params![image_id], |r| r.get(0))?;
            rows.collect()
        })?;
        Ok(bodies.iter().filter_map(|b| serde_json::from_str(b).ok()).collect())
    }
}

/// Glance's `LimitExceeded` as `ImagesController` answers it: 413 with the message.
fn limit_exceeded(what: &str, attempted: usize, maximum: i64) -> Fault {
    Fault::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        format!("The limit has been exceeded on the number of allowed image {what}. Attempted: {attempted}, Maximum: {maximum}"),
    )
}

/// `_enforce_image_tag_quota` (`ImageTagLimitExceeded`); a negative quota is unlimited.
pub fn check_tag_quota(tags: usize, options: &GlanceOptions) -> Result<(), Fault> {
    let quota = options.image_tag_quota;
    if quota >= 0 && tags as u64 > quota as u64 { Err(limit_exceeded("tags", tags, quota)) } else { Ok(()) }
}

/// `_enforce_image_property_quota` (`ImagePropertyLimitExceeded`): properties outside the
/// reserved `os_glance` namespace count.
pub fn check_property_quota(properties: &BTreeMap<String, String>, options: &GlanceOptions) -> Result<(), Fault> {
    let quota = options.image_property_quota;
    let attempted = properties.keys().filter(|k| !k.starts_with(schema::RESERVED_NAMESPACE)).count();
    if quota >= 0 && attempted as u64 > quota as u64 { Err(limit_exceeded("properties", attempted, quota)) } else { Ok(()) }
}

fn dedup(tags: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}
