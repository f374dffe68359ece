//! Nova's state (no HTTP): servers with their faults (`nova_servers`, one JSON document per
//! server, committed before any answer), which compute nodes are down (`nova_node_states`),
//! and each node's image cache, the libvirt driver's `_base` directory
//! (`<data_dir>/<host>/_base/<image_id>`). The nodes themselves come from the deployment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::deployment::{ComputeNodeSpec, Deployment, DeploymentState};
use crate::store::{Store, StoreError};
use crate::wire::format_glance;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS nova_servers (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nova_node_states (host TEXT PRIMARY KEY, up INTEGER NOT NULL, updated TEXT NOT NULL);
";

/// `vm_states`.
pub const BUILDING: &str = "building";
pub const ACTIVE: &str = "active";
pub const ERROR: &str = "error";

/// A recorded instance fault (`instance_faults`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceFault {
    pub code: u16,
    pub created: String,
    /// Already cut to 255 bytes, as `safe_truncate` does.
    pub message: String,
    /// The traceback in Nova (`traceback.format_exception`), whose last line is the exception
    /// with its untruncated message; here no frames but that line. Shown to admins only.
    pub details: String,
}

/// Where a simulated traceback's frames would be; [`InstanceFault::note`] adds lines after it.
const FRAMES: &str = "Traceback (most recent call last):\n  (simulated)\n";

impl InstanceFault {
    pub fn new(message: &str) -> InstanceFault {
        let exception = match exception_of(message) {
            Some(class) => format!("{class}: {message}"),
            None => message.to_owned(),
        };
        InstanceFault { code: 500, created: now(), message: safe_truncate(message, 255), details: format!("{FRAMES}{exception}") }
    }

    /// Adds a line among the frames, before the exception (what led to it).
    pub fn note(&mut self, line: &str) {
        let at = self.details.find(FRAMES).map_or(0, |i| i + FRAMES.len());
        self.details.insert_str(at, &format!("  {line}\n"));
    }
}

/// The exception class Nova's traceback names for a fault message it raised.
fn exception_of(message: &str) -> Option<&'static str> {
    let build = message.strip_prefix("Build of instance ").unwrap_or_default();
    if build.contains(" aborted: ") {
        Some("nova.exception.BuildAbortException")
    } else if build.contains(" was re-scheduled: ") {
        Some("nova.exception.RescheduledException")
    } else if message.starts_with("Exceeded maximum number of retries.") {
        Some("nova.exception.MaxRetriesExceeded")
    } else if message.starts_with("No valid host was found.") {
        Some("nova.exception.NoValidHost")
    } else {
        None
    }
}

/// `nova.utils.safe_truncate`: at most `length` bytes of UTF-8, never splitting a character.
pub(super) fn safe_truncate(value: &str, length: usize) -> String {
    let mut end = value.len().min(length);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value[..end].to_owned()
}

/// One block device mapping: a boot device of a volume-backed server, or a volume attached
/// later (`os-volume_attachments`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockDevice {
    pub source_type: String,
    pub destination_type: String,
    /// The volume (`source_type: volume`) or image (`source_type: image`) id.
    pub uuid: Option<String>,
    pub boot_index: Option<i64>,
    pub volume_size: Option<u64>,
    /// The volume, once known (for a boot volume made from an image: once Cinder created it).
    pub volume_id: Option<String>,
    /// `/dev/vdb`...: reserved by the compute host when a volume is attached.
    #[serde(default)]
    pub device_name: Option<String>,
    /// The device tag (2.49 and later).
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub delete_on_termination: bool,
    /// Cinder's attachment record for this volume and server.
    #[serde(default)]
    pub attachment_id: Option<String>,
    /// The mapping's own id (`bdm_uuid` from 2.89).
    #[serde(default)]
    pub bdm_uuid: Option<String>,
}

impl BlockDevice {
    /// The root disk's mapping.
    pub fn is_root(&self) -> bool {
        self.boot_index == Some(0)
    }

    /// The device the guest sees: the reserved name, `/dev/vda` for the root.
    pub fn device(&self) -> Option<String> {
        self.device_name.clone().or_else(|| self.is_root().then(|| "/dev/vda".to_owned()))
    }
}

/// The image a server was booted or rebuilt from, as the API saw it (Nova keeps these as
/// `image_*` system metadata: the disk format decides RBD cloning, the properties are what
/// snapshots inherit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerImage {
    pub id: String,
    pub disk_format: Option<String>,
    pub container_format: Option<String>,
    pub properties: BTreeMap<String, String>,
}

/// One server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    /// `None` for a volume-backed server.
    pub image: Option<ServerImage>,
    pub flavor_id: String,
    pub vm_state: String,
    pub task_state: Option<String>,
    /// 0 NOSTATE, 1 RUNNING.
    pub power_state: u8,
    pub host: Option<String>,
    /// `availability_zone: "nova:HOST"`.
    pub requested_host: Option<String>,
    /// `instance.availability_zone` as the create asked for it (`"nova"` of `"nova:HOST"`;
    /// `None` without one, `[DEFAULT] default_schedule_zone` being unset).
    #[serde(default)]
    pub availability_zone: Option<String>,
    /// The request spec's availability zone: the create's, until `PUT` (2.104) unpins or
    /// re-pins it. Shown as `pinned_availability_zone` from 2.96.
    #[serde(default)]
    pub pinned_availability_zone: Option<String>,
    /// The request spec's scheduler hints (`os:scheduler_hints` at create, every value a list
    /// of strings), shown from 2.100.
    #[serde(default)]
    pub scheduler_hints: BTreeMap<String, Vec<String>>,
    /// `instance.trusted_certs`: the user's, or the defaults when both options were on.
    pub trusted_certs: Option<Vec<String>>,
    pub block_devices: Vec<BlockDevice>,
    pub fault: Option<InstanceFault>,
    pub metadata: BTreeMap<String, String>,
    pub created: String,
    pub updated: String,
    pub launched_at: Option<String>,
    /// The networks and ports asked for at create (`requested_networks`).
    #[serde(default)]
    pub nics: Vec<super::network::RequestedNic>,
    /// The network info cache: the fixed addresses Neutron gave the ports, by network name.
    #[serde(default)]
    pub addresses: serde_json::Map<String, serde_json::Value>,
    /// `instance.user_data` (base64, as sent at create or rebuild).
    #[serde(default)]
    pub user_data: Option<String>,
    /// The rest of `instance.system_metadata` (the image's properties being `image`'s):
    /// `owner_project_name`, `owner_user_name` and `boot_roles` from the create, `clean_attempts`
    /// from rebuilds, and the `image_hw_*` defaults the libvirt driver registers once a guest
    /// ran. A snapshot inherits all of it as image properties.
    #[serde(default)]
    pub system_metadata: BTreeMap<String, String>,
}

/// `REGISTER_IMAGE_PROPERTY_DEFAULTS` of the libvirt driver with the values it finds for an
/// x86_64 KVM or QEMU guest (recorded from Nova 34), registered as `image_<name>` system
/// metadata where the image set none, so that the guest's ABI stays as it booted.
const LIBVIRT_IMAGE_DEFAULTS: [(&str, &str); 7] = [
    ("hw_cdrom_bus", "ide"),
    ("hw_disk_bus", "virtio"),
    ("hw_input_bus", "usb"),
    ("hw_machine_type", "pc"),
    ("hw_pointer_model", "usbtablet"),
    ("hw_video_model", "virtio"),
    ("hw_vif_model", "virtio"),
];

impl Server {
    pub fn volume_backed(&self) -> bool {
        self.image.is_none()
    }

    /// The API `status` (`nova.api.openstack.common._STATE_MAP`).
    pub fn status(&self) -> &'static str {
        match self.task_state.as_deref() {
            Some("rebuilding" | "rebuild_spawning" | "rebuild_block_device_mapping") => return "REBUILD",
            Some("rebooting_hard" | "reboot_pending_hard" | "reboot_started_hard") => return "HARD_REBOOT",
            Some("rebooting" | "reboot_pending" | "reboot_started") => return "REBOOT",
            _ => {}
        }
        match self.vm_state.as_str() {
            BUILDING => "BUILD",
            ACTIVE => "ACTIVE",
            ERROR => "ERROR",
            "stopped" => "SHUTOFF",
            _ => "UNKNOWN",
        }
    }

    /// Ends an operation in ERROR with a fault (`_set_instance_obj_error_state` plus
    /// `add_instance_fault_from_exc`).
    pub fn set_error(&mut self, message: &str) {
        self.vm_state = ERROR.into();
        self.task_state = None;
        self.fault = Some(InstanceFault::new(message));
    }

    /// Ends an operation with the server running (and the driver's image defaults registered,
    /// `_register_undefined_instance_details` at the end of `spawn`).
    pub fn set_active(&mut self) {
        self.vm_state = ACTIVE.into();
        self.task_state = None;
        self.power_state = 1;
        self.launched_at.get_or_insert_with(now);
        for (name, value) in LIBVIRT_IMAGE_DEFAULTS {
            if !self.image.as_ref().is_some_and(|i| i.properties.contains_key(name)) {
                self.system_metadata.entry(format!("image_{name}")).or_insert_with(|| value.to_owned());
            }
        }
    }

    /// A compute host gave up the build (`_nil_out_instance_obj_host_and_node`): not on a
    /// host, so in no availability zone either.
    pub fn nil_host(&mut self) {
        self.host = None;
        self.availability_zone = None;
    }
}

/// A node of the deployment with its current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputeNode {
    pub spec: ComputeNodeSpec,
    pub up: bool,
}

pub fn now() -> String {
    format_glance(time::OffsetDateTime::now_utc())
}

/// Nova's service state and its shared HTTP client (compute calling Glance, Barbican and
/// Cinder with the caller's token).
pub struct ComputeService {
    store: Arc<Store>,
    pub(crate) cache: ImageCache,
    pub(crate) deployment: Arc<DeploymentState>,
    pub(crate) http: reqwest::Client,
}

impl ComputeService {
    pub(crate) fn new(store: Arc<Store>, data_dir: PathBuf, deployment: Arc<DeploymentState>) -> Result<ComputeService, StoreError> {
        store.migrate(SCHEMA)?;
        Ok(ComputeService { store, cache: ImageCache { root: data_dir }, deployment, http: sigstack_client::session::http_client() })
    }

    /// The same service calling Glance, Barbican and Cinder with this client (one trusting
    /// the cloud's CA under `sigstack serve --tls`).
    pub fn with_http(mut self, http: reqwest::Client) -> ComputeService {
        self.http = http;
        self
    }

    /// The deployment in effect now (it may change between two operations).
    pub fn deployment(&self) -> Deployment {
        self.deployment.get()
    }

    /// nova-compute's `_init_instance` after a restart: an instance left building, rebuilding
    /// or evacuating goes to ERROR; a hard reboot in flight completes; a snapshot in flight is
    /// abandoned with the server as it was.
    pub(crate) fn recover_interrupted(&self) -> Result<(), StoreError> {
        for server in self.all_servers()? {
            if server.vm_state != BUILDING && server.task_state.is_none() {
                continue;
            }
            self.update(&server.id, |s| match s.task_state.as_deref() {
                Some(t) if t.starts_with("reboot") => s.set_active(),
                // An interrupted snapshot only clears its task state.
                Some(t) if t.starts_with("image_") => s.task_state = None,
                _ => {
                    if s.vm_state == BUILDING {
                        s.host = None;
                    }
                    s.vm_state = ERROR.into();
                    s.task_state = None;
                }
            })?;
        }
        Ok(())
    }

    pub fn insert(&self, server: &Server) -> Result<(), StoreError> {
        let body = serde_json::to_string(server).map_err(|e| StoreError::from(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        self.store.with(|c| {
            c.execute("INSERT INTO nova_servers (id, project_id, body) VALUES (?1, ?2, ?3)", params![server.id, server.project_id, body])
        })?;
        Ok(())
    }

    pub fn get(&self, id: &str) -> Result<Option<Server>, StoreError> {
        let body: Option<String> =
            self.store.with(|c| c.query_row("SELECT body FROM nova_servers WHERE id = ?1", params![id], |r| r.get(0)).optional())?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    /// Every server, oldest first.
    pub fn all_servers(&self) -> Result<Vec<Server>, StoreError> {
        let bodies: Vec<String> = self.store.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM nova_servers ORDER BY seq")?;
            stmt.query_map([], |r| r.get(0))?.collect()
        })?;
        Ok(bodies.iter().filter_map(|b| serde_json::from_str(b).ok()).collect())
    }

    /// Changes a server in one transaction; `None` if it is gone (deleted meanwhile).
    pub fn update(&self, id: &str, change: impl FnOnce(&mut Server)) -> Result<Option<Server>, StoreError> {
        self.store.transaction(|tx| {
            let body: Option<String> = tx
                .query_row("SELECT body FROM nova_servers WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(StoreError::from)?;
            let Some(mut server) = body.and_then(|b| serde_json::from_str::<Server>(&b).ok()) else { return Ok(None) };
            change(&mut server);
            server.updated = now();
            let body = serde_json::to_string(&server).unwrap_or_default();
            tx.execute("UPDATE nova_servers SET body = ?2 WHERE id = ?1", params![id, body]).map_err(StoreError::from)?;
            Ok(Some(server))
        })
    }

    /// Changes a server in one transaction when `change` succeeds; nothing is written when it
    /// fails. `None` if the server is gone.
    pub fn try_update<T, E>(&self, id: &str, change: impl FnOnce(&mut Server) -> Result<T, E>) -> Result<Option<Result<T, E>>, StoreError> {
        self.store.transaction(|tx| {
            let body: Option<String> = tx
                .query_row("SELECT body FROM nova_servers WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(StoreError::from)?;
            let Some(mut server) = body.and_then(|b| serde_json::from_str::<Server>(&b).ok()) else { return Ok(None) };
            let outcome = change(&mut server);
            if outcome.is_ok() {
                server.updated = now();
                let body = serde_json::to_string(&server).unwrap_or_default();
                tx.execute("UPDATE nova_servers SET body = ?2 WHERE id = ?1", params![id, body]).map_err(StoreError::from)?;
            }
            Ok(Some(outcome))
        })
    }

    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.store.with(|c| c.execute("DELETE FROM nova_servers WHERE id = ?1", params![id]).map(|n| n > 0))
    }

    /// The deployment's nodes with their up/down state.
    pub fn nodes(&self) -> Result<Vec<ComputeNode>, StoreError> {
        let down: Vec<String> = self.store.with(|c| {
            let mut stmt = c.prepare("SELECT host FROM nova_node_states WHERE up = 0")?;
            stmt.query_map([], |r| r.get(0))?.collect()
        })?;
        Ok(self.deployment().compute_nodes.into_iter().map(|spec| ComputeNode { up: !down.contains(&spec.host), spec }).collect())
    }

    pub fn node(&self, host: &str) -> Result<Option<ComputeNode>, StoreError> {
        Ok(self.nodes()?.into_iter().find(|n| n.spec.host == host))
    }

    /// Marks a node's nova-compute service up or down (`forced_down`).
    pub fn set_node_up(&self, host: &str, up: bool) -> Result<(), StoreError> {
        self.store.with(|c| {
            c.execute(
                "INSERT INTO nova_node_states (host, up, updated) VALUES (?1, ?2, ?3) ON CONFLICT(host) DO UPDATE SET up = ?2, updated = ?3",
                params![host, up, now()],
            )
        })?;
        Ok(())
    }
}

/// The image caches of all nodes: `<root>/<host>/_base/<image_id>`. A file there means the
/// image is cached on that host; partial downloads live in `_base/.part-*` until verified.
#[derive(Debug, Clone)]
pub struct ImageCache {
    root: PathBuf,
}

impl ImageCache {
    fn base(&self, host: &str) -> PathBuf {
        self.root.join(host).join("_base")
    }

    /// Image ids are UUIDs from Glance; anything else is never a cache entry (and never a path).
    fn safe(image_id: &str) -> bool {
        !image_id.is_empty() && image_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }

    pub fn path(&self, host: &str, image_id: &str) -> Option<PathBuf> {
        Self::safe(image_id).then(|| self.base(host).join(image_id))
    }

    pub fn contains(&self, host: &str, image_id: &str) -> bool {
        self.path(host, image_id).is_some_and(|p| p.is_file())
    }

    /// A fresh temporary file name in the host's `_base`, created with its directory.
    pub fn temp_path(&self, host: &str) -> std::io::Result<PathBuf> {
        let base = self.base(host);
        std::fs::create_dir_all(&base)?;
        Ok(base.join(format!(".part-{}", uuid::Uuid::new_v4().simple())))
    }

    /// The cached image ids of a host, sorted.
    pub fn list(&self, host: &str) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.base(host))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| !n.starts_with('.'))
            .collect();
        ids.sort();
        ids
    }

    /// Evicts an image; whether it was cached.
    pub fn remove(&self, host: &str, image_id: &str) -> bool {
        self.path(host, image_id).is_some_and(|p| std::fs::remove_file(p).is_ok())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_messages_are_cut_at_255_bytes_on_a_character_boundary() {
        assert_eq!(InstanceFault::new(&"x".repeat(300)).message.len(), 255);
        let accented = format!("{}é", "x".repeat(254));
        assert_eq!(InstanceFault::new(&accented).message, "x".repeat(254));
        assert_eq!(InstanceFault::new("short").message, "short");
    }

    #[test]
    fn fault_details_end_with_the_exception_nova_raised_and_its_whole_message() {
        let long = format!("Build of instance i aborted: {}", "x".repeat(300));
        let mut fault = InstanceFault::new(&long);
        assert!(fault.details.starts_with("Traceback (most recent call last):\n"), "{}", fault.details);
        assert!(fault.details.ends_with(&format!("\nnova.exception.BuildAbortException: {long}")), "{}", fault.details);
        fault.note("Last reschedule reason: InvalidSignature");
        assert!(fault.details.contains("\n  Last reschedule reason: InvalidSignature\nnova.exception.BuildAbortException: "));
        let retries = "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance i.";
        assert!(InstanceFault::new(retries).details.ends_with(&format!("\nnova.exception.MaxRetriesExceeded: {retries}")));
        assert!(
            InstanceFault::new("Build of instance i was re-scheduled: x")
                .details
                .ends_with("\nnova.exception.RescheduledException: Build of instance i was re-scheduled: x")
        );
        assert!(InstanceFault::new("Compute host could not be found.").details.ends_with("\nCompute host could not be found."));
    }
}
