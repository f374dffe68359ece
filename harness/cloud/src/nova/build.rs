//! What nova-conductor, the scheduler and nova-compute do after the API answered: the build
//! with reschedules (docs/reference/openstack-behaviour.md B3–B5), rebuild, evacuation, hard reboot and the
//! snapshot upload. Each runs as a task with the caller's [`AuthContext`], because Nova reaches
//! Glance, Barbican and Cinder with the request's token.

use std::sync::Arc;
use std::time::Duration;

use sigstack_client::Session;
use sigstack_client::image;
use sigstack_client::volume::{self, NewVolume};

use super::flavors::flavor;
use crate::deployment::{ComputeNodeSpec, Deployment, StorageBackend};
use crate::store::StoreError;
use crate::wire::AuthContext;

use super::image_fetch::{self, FetchError};
use super::model::{ComputeNode, ComputeService, Server};
use super::{bdm, network, volume_ops};

/// `nova.compute.manager`'s message for a driver without `supports_trusted_certs`.
pub const TRUSTED_CERTS_UNSUPPORTED: &str = "Trusted image certificates provided on host that does not support certificate validation.";
/// How long the compute waits for Cinder to create a boot volume (`block_device_allocate_retries`).
const VOLUME_WAIT: Duration = Duration::from_secs(60);

/// How a node failed to spawn an instance.
#[derive(Debug)]
pub enum SpawnFailure {
    /// `BuildAbortException`: the build ends here, with this reason.
    Abort(String),
    /// Anything generic: `RescheduledException`, try another host. The reason is Python's
    /// `str(e)` of what was raised (`InvalidSignature`: empty).
    Reschedule(String),
}

/// `str(e)` of a failed fetch, the `reason` of the `RescheduledException` it becomes:
/// cryptography's `InvalidSignature` carries no text.
fn reschedule_reason(error: &FetchError) -> String {
    match error {
        FetchError::Verification(e) if e.is_invalid_signature() => String::new(),
        other => other.to_string(),
    }
}

/// The fault of a build that may not be rescheduled (`_do_build_and_run_instance` without
/// retry information): the reason, or, when it is empty, `RescheduledException`'s own text.
fn not_rescheduled_fault(id: &str, reason: &str) -> String {
    if reason.is_empty() { format!("Build of instance {id} was re-scheduled: ") } else { reason.to_owned() }
}

/// The message of an exception as `exception_to_dict` records it in a fault: Nova exceptions'
/// own text, else `str(e)`, else the class name (`InvalidSignature` has no text).
fn fault_message(error: &FetchError) -> String {
    match error {
        FetchError::Verification(e) if e.is_invalid_signature() => "InvalidSignature".into(),
        other => other.to_string(),
    }
}

/// Chooses a host: the requested one if it is up, else the up node with the fewest servers
/// (the RAM/CPU weighers spread load the same way), skipping hosts already tried. `None`: no
/// valid host.
pub fn schedule(compute: &ComputeService, requested: Option<&str>, exclude: &[String]) -> Result<Option<ComputeNode>, StoreError> {
    let nodes = compute.nodes()?;
    let servers = compute.all_servers()?;
    let load = |host: &str| servers.iter().filter(|s| s.host.as_deref() == Some(host)).count();
    Ok(nodes
        .into_iter()
        .filter(|n| n.up && !exclude.contains(&n.spec.host))
        .filter(|n| requested.is_none_or(|h| h == n.spec.host))
        .min_by_key(|n| load(&n.spec.host)))
}

/// The fault message of a state-database failure: Nova records an exception that is not its
/// own by class name (`exception_to_dict`), the cause going to the details (the traceback).
const STORE_FAULT: &str = "StoreError";

/// An operation on server `id` that hit a state-database error: logged with its cause, and the
/// server put in ERROR with a fault, as nova-compute's `_set_instance_obj_error_state` and
/// `add_instance_fault_from_exc` do for any unexpected exception (a build never stays
/// BUILDING). If even that write fails, that is logged too: the server then goes to ERROR
/// at the cloud's next start (`recover_interrupted`).
fn store_failed(compute: &ComputeService, id: &str, operation: &str, error: &StoreError) {
    tracing::error!(server_id = %id, operation = %operation, cause = %error, "server operation failed on the state database");
    let written = compute.update(id, |s| {
        s.set_error(STORE_FAULT);
        if let Some(fault) = s.fault.as_mut() {
            fault.details.push_str(&format!("\n{error}"));
        }
    });
    if let Err(e) = written {
        tracing::error!(server_id = %id, operation = %operation, cause = %e, "cannot put the server in ERROR; it stays as it is until the cloud restarts");
    }
}

/// Writes a change the operation cannot go on without; a failure ends the operation through
/// [`store_failed`]. `None`: stop here (failed, or the server was deleted meanwhile).
fn write(compute: &ComputeService, id: &str, operation: &str, change: impl FnOnce(&mut Server)) -> Option<Server> {
    match compute.update(id, change) {
        Ok(server) => server,
        Err(e) => {
            store_failed(compute, id, operation, &e);
            None
        }
    }
}

/// Puts the server's image where the node can boot it, as `imagebackend.Image.cache` does:
/// on an RBD node a RAW (or ISO) image is cloned inside Ceph (no download, no verification,
/// nothing cached); a cached image is used as is (no verification, unless the deployment's
/// `nova_verifies_cached_images` makes this Nova stricter); otherwise the image is downloaded
/// and verified into the cache.
pub async fn prepare_image(
    compute: &ComputeService,
    session: &Session,
    node: &ComputeNodeSpec,
    server: &Server,
    deployment: &Deployment,
) -> Result<(), FetchError> {
    let Some(image) = &server.image else { return Ok(()) };
    let raw = matches!(image.disk_format.as_deref(), Some("raw" | "iso"));
    if node.images_type == StorageBackend::CephRbd && raw {
        return Ok(());
    }
    if compute.cache.contains(&node.host, &image.id) {
        if deployment.defects.nova_verifies_cached_images
            && let Some(verifier) = image_fetch::get_verifier(session, &image.id, server.trusted_certs.as_deref(), deployment).await?
        {
            image_fetch::verify_cached(&compute.cache, &node.host, &image.id, verifier).await?;
        }
        return Ok(());
    }
    let verifier = image_fetch::get_verifier(session, &image.id, server.trusted_certs.as_deref(), deployment).await?;
    image_fetch::download_to_cache(session, &compute.cache, &node.host, &image.id, verifier).await
}

/// One spawn attempt on one node (`_build_and_run_instance`).
async fn spawn(
    compute: &ComputeService,
    session: &Session,
    node: &ComputeNodeSpec,
    server: &Server,
    deployment: &Deployment,
) -> Result<(), SpawnFailure> {
    if server.trusted_certs.as_ref().is_some_and(|c| !c.is_empty()) && !node.supports_trusted_certs {
        return Err(SpawnFailure::Abort(TRUSTED_CERTS_UNSUPPORTED.into()));
    }
    if server.volume_backed() {
        // `_build_resources`: any failure preparing block devices aborts with this reason.
        prepare_boot_volume(compute, session, server).await.map_err(|_| SpawnFailure::Abort("Failure prepping block device.".into()))?;
        return connect_encrypted_volumes(compute, session, &server.id).await.map_err(SpawnFailure::Reschedule);
    }
    prepare_image(compute, session, node, server, deployment)
        .await
        .map_err(|e| if e.aborts_build() { SpawnFailure::Abort(e.to_string()) } else { SpawnFailure::Reschedule(reschedule_reason(&e)) })
}

/// `_prep_block_device`: an `image -> volume` mapping asks Cinder (with the user's token) to
/// create the volume from the image, which is where Cinder verifies the signature; Nova does no
/// certificate validation for volume-backed servers. Every volume is then attached on this
/// host (reserved when the API has not, connected at its device, completed), so Cinder shows
/// it `in-use`. A failure deletes the attachment it was making.
async fn prepare_boot_volume(compute: &ComputeService, session: &Session, server: &Server) -> Result<(), String> {
    let host = server.host.clone().unwrap_or_default();
    // The mappings with the device names given so far (the root is `/dev/vda`, the others get
    // the next free name, as libvirt's `get_disk_info` does).
    let mut mappings = server.block_devices.clone();
    for (index, bdm) in server.block_devices.iter().enumerate() {
        if bdm.destination_type != "volume" {
            continue;
        }
        let volume_id = match &bdm.volume_id {
            Some(id) => id.clone(),
            None if bdm.source_type == "image" => {
                let image_id = bdm.uuid.clone().unwrap_or_default();
                let mut request = NewVolume::from_image(bdm.volume_size.unwrap_or(1), &image_id);
                request.name = Some(format!("{}-blockdevice-{index}", server.id));
                let created = volume::create_volume(session, &request).await.map_err(|e| e.to_string())?;
                let done = volume::wait_for_volume_status(session, &created.id, &["available", "error"], VOLUME_WAIT)
                    .await
                    .map_err(|e| e.to_string())?;
                if done.status != "available" {
                    return Err(format!("volume {} is {}", done.id, done.status));
                }
                done.id
            }
            None => continue,
        };
        let device = bdm.device().unwrap_or_else(|| bdm::next_device_name(&mappings));
        if let Some(m) = mappings.get_mut(index) {
            m.device_name = Some(device.clone());
        }
        let attachment_id = volume_ops::connect(session, &server.id, &volume_id, bdm.attachment_id.as_deref(), &host, &device).await?;
        compute
            .update(&server.id, |s| {
                if let Some(b) = s.block_devices.get_mut(index) {
                    b.volume_id = Some(volume_id.clone());
                    b.attachment_id = Some(attachment_id.clone());
                    b.device_name = Some(device.clone()).filter(|_| !b.is_root());
                }
            })
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The driver's spawn connecting the prepared volumes (`_get_guest_storage_config` ->
/// `_connect_volume` -> `_attach_encryptor`): an encrypted volume needs its key from Barbican
/// with the user's token. A failure is a generic spawn failure: the volumes are detached from
/// this host (`_shutdown_instance`) and the build is rescheduled, where they are attached again.
async fn connect_encrypted_volumes(compute: &ComputeService, session: &Session, server_id: &str) -> Result<(), String> {
    let server = match compute.get(server_id) {
        Ok(Some(server)) => server,
        Ok(None) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    let mut failure = None;
    for b in &server.block_devices {
        let (Some(volume_id), Some(attachment_id)) = (&b.volume_id, &b.attachment_id) else { continue };
        let connected = match volume::get_attachment(session, attachment_id).await {
            Ok(a) => volume_ops::attach_encryptor(session, volume_id, a.connection_info.as_ref()).await,
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = connected {
            failure = Some(e);
            break;
        }
    }
    let Some(reason) = failure else { return Ok(()) };
    for b in &server.block_devices {
        if let Some(id) = &b.attachment_id
            && let Err(e) = volume::delete_attachment(session, id).await
        {
            tracing::warn!(server_id = %server_id, attachment_id = %id, cause = %e, "cannot delete the attachment of a failed spawn");
        }
    }
    compute.update(server_id, |s| s.block_devices.iter_mut().for_each(|b| b.attachment_id = None)).map_err(|e| e.to_string())?;
    Err(reason)
}

/// The build: schedule, spawn, reschedule generic failures to other hosts until
/// `max_attempts` hosts were tried or none is left. A state-database failure ends it in ERROR
/// ([`store_failed`]). A build forced onto one host (`availability_zone: "zone:host"`) or with
/// `max_attempts = 1` is never rescheduled (`scheduler.utils.populate_retry` gives it no retry
/// information): its generic failure is the fault itself.
pub async fn build(compute: Arc<ComputeService>, ctx: AuthContext, id: String) {
    const OPERATION: &str = "build";
    let session = ctx.session(compute.http.clone());
    let mut tried: Vec<String> = Vec::new();
    // Why the last host gave up, for the fault's details (Nova's traceback).
    let mut last_reason = String::new();
    loop {
        let deployment = compute.deployment();
        let server = match compute.get(&id) {
            Ok(Some(server)) => server,
            // Deleted while building.
            Ok(None) => return,
            Err(e) => return store_failed(&compute, &id, OPERATION, &e),
        };
        let node = if tried.len() as u32 >= deployment.nova.max_attempts {
            None
        } else {
            match schedule(&compute, server.requested_host.as_deref(), &tried) {
                Ok(node) => node,
                Err(e) => return store_failed(&compute, &id, OPERATION, &e),
            }
        };
        let Some(node) = node else {
            let message = if tried.is_empty() {
                "No valid host was found. There are not enough hosts available.".to_owned()
            } else {
                format!("Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance {id}.")
            };
            write(&compute, &id, OPERATION, |s| {
                s.host = None;
                s.set_error(&message);
                if let Some(f) = s.fault.as_mut() {
                    f.note(&format!("Last reschedule reason: {last_reason}"));
                }
            });
            return;
        };
        let host = node.spec.host.clone();
        let Some(server) = write(&compute, &id, OPERATION, |s| {
            s.host = Some(host.clone());
            s.task_state = Some("spawning".into());
        }) else {
            return;
        };
        match spawn(&compute, &session, &node.spec, &server, &deployment).await {
            Ok(()) => {
                // The ports, once the guest is up (a failed build leaves none behind).
                match network::allocate(&session, &id, &server.nics).await {
                    Ok(addresses) => {
                        write(&compute, &id, OPERATION, |s| {
                            s.addresses = addresses.as_object().cloned().unwrap_or_default();
                            s.set_active();
                        });
                    }
                    Err(fault) => {
                        network::deallocate(&session, &id, &server.nics).await;
                        write(&compute, &id, OPERATION, |s| {
                            s.nil_host();
                            s.set_error(&format!("Build of instance {id} aborted: Failed to allocate the network(s), not rescheduling."));
                            if let Some(f) = s.fault.as_mut() {
                                f.note(&fault.message);
                            }
                        });
                    }
                }
                return;
            }
            Err(SpawnFailure::Abort(reason)) => {
                // `_cleanup_volumes`: the volumes are detached (and deleted when marked so).
                volume_ops::release_volumes(&compute, &ctx, &id).await;
                write(&compute, &id, OPERATION, |s| {
                    s.nil_host();
                    s.set_error(&format!("Build of instance {id} aborted: {reason}"));
                });
                return;
            }
            Err(SpawnFailure::Reschedule(reason)) if server.requested_host.is_some() || deployment.nova.max_attempts <= 1 => {
                write(&compute, &id, OPERATION, |s| {
                    s.nil_host();
                    s.set_error(&not_rescheduled_fault(&id, &reason));
                });
                return;
            }
            Err(SpawnFailure::Reschedule(reason)) => {
                last_reason = if reason.is_empty() { "InvalidSignature".to_owned() } else { reason };
                tried.push(host);
                if write(&compute, &id, OPERATION, |s| {
                    s.nil_host();
                    s.task_state = Some("scheduling".into());
                })
                .is_none()
                {
                    return;
                }
            }
        }
    }
}

/// Rebuild on the server's own host, or an evacuation's rebuild on `destination`
/// (`rebuild_instance`). Failures put the server in ERROR with the raw exception message.
pub async fn rebuild(compute: Arc<ComputeService>, ctx: AuthContext, id: String, destination: Option<String>) {
    const OPERATION: &str = "rebuild";
    let session = ctx.session(compute.http.clone());
    let deployment = compute.deployment();
    // An evacuation moves the instance to the destination before spawning there, so a failed
    // evacuation leaves it in ERROR on the destination (recovered by rebuild or hard reboot).
    let Some(server) = write(&compute, &id, OPERATION, |s| {
        if let Some(d) = &destination {
            s.host = Some(d.clone());
        }
    }) else {
        return;
    };
    let node = match server.host.as_deref().map(|h| compute.node(h)).transpose() {
        Ok(node) => node.flatten(),
        Err(e) => return store_failed(&compute, &id, OPERATION, &e),
    };
    let Some(node) = node else {
        write(&compute, &id, OPERATION, |s| s.set_error("Compute host could not be found."));
        return;
    };
    if server.trusted_certs.as_ref().is_some_and(|c| !c.is_empty()) && !node.spec.supports_trusted_certs {
        write(&compute, &id, OPERATION, |s| s.set_error(&format!("Build of instance {id} aborted: {TRUSTED_CERTS_UNSUPPORTED}")));
        return;
    }
    let result = prepare_image(&compute, &session, &node.spec, &server, &deployment).await;
    write(&compute, &id, OPERATION, |s| match &result {
        Ok(()) => s.set_active(),
        Err(e) => s.set_error(&fault_message(e)),
    });
}

/// A HARD reboot: `_hard_reboot` re-creates the disk from the cached base image; only a
/// missing cache entry makes it download (and verify) again.
pub async fn hard_reboot(compute: Arc<ComputeService>, ctx: AuthContext, id: String) {
    rebuild(compute, ctx, id, None).await
}

/// The compute half of `createImage`: the instance disk (the cached base image, or Glance's
/// data for an RBD clone) is uploaded to the snapshot image the API created.
///
/// A failure (of the upload, or of the state database) leaves the server as it was, as
/// `snapshot_instance` does: it is logged, and the image deleted.
pub async fn upload_snapshot(compute: Arc<ComputeService>, ctx: AuthContext, id: String, image_id: String) {
    let session = ctx.session(compute.http.clone());
    let server = match compute.update(&id, |s| s.task_state = Some("image_uploading".into())) {
        Ok(Some(server)) => server,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(server_id = %id, image_id = %image_id, cause = %e, "snapshot failed on the state database");
            if let Err(e) = image::delete_image(&session, &image_id).await {
                tracing::warn!(server_id = %id, image_id = %image_id, cause = %e, "cannot delete the snapshot image");
            }
            return;
        }
    };
    let result = async {
        let base = server.image.as_ref().ok_or("volume-backed")?;
        let cached = server.host.as_deref().and_then(|h| compute.cache.path(h, &base.id)).filter(|p| p.is_file());
        match cached {
            Some(path) => {
                let extracted = match server.host.as_deref() {
                    Some(host) => local_disk_snapshot(&compute, &session, &server, host, &path, &image_id).await?,
                    None => None,
                };
                let file = tokio::fs::File::open(extracted.as_ref().unwrap_or(&path)).await.map_err(|e| e.to_string())?;
                let size = file.metadata().await.ok().map(|m| m.len());
                let uploaded = image::upload(&session, &image_id, file, size).await.map_err(|e| e.to_string());
                if let Some(dst) = extracted {
                    let _ = std::fs::remove_file(dst);
                }
                uploaded
            }
            None => {
                let data = image::download(&session, &base.id).await.map_err(|e| e.to_string())?.ok_or("no data")?;
                let size = data.content_length;
                image::upload_body(&session, &image_id, image::stream_body(data.stream()), size).await.map_err(|e| e.to_string())
            }
        }
    }
    .await;
    if let Err(reason) = result {
        tracing::warn!(server_id = %id, image_id = %image_id, reason = %reason, "snapshot upload failed");
        // `snapshot_instance` deletes the image it could not fill.
        if let Err(e) = image::delete_image(&session, &image_id).await {
            tracing::warn!(server_id = %id, image_id = %image_id, cause = %e, "cannot delete the snapshot image");
        }
    }
    if let Err(e) = compute.update(&id, |s| s.task_state = None) {
        tracing::error!(server_id = %id, cause = %e, "cannot clear the snapshot's task state; it is cleared at the cloud's next start");
    }
}

/// The libvirt driver's snapshot of a guest on a local disk (`snapshot_extract`): the disk is
/// a qcow2 grown to the flavor's root disk whatever the base image's format, and so is the
/// snapshot, whose `disk_format` Nova sets to `qcow2` before uploading it. A qcow2 base is
/// copied with its size grown, a RAW one converted; `None` (the base uploaded as it is) on
/// other back ends and for other formats.
async fn local_disk_snapshot(
    compute: &ComputeService,
    session: &Session,
    server: &Server,
    host: &str,
    base_path: &std::path::Path,
    image_id: &str,
) -> Result<Option<std::path::PathBuf>, String> {
    let local = compute.node(host).ok().flatten().is_some_and(|n| n.spec.images_type == StorageBackend::Local);
    let Some(base) = server.image.as_ref().filter(|_| local) else { return Ok(None) };
    let root = flavor(&server.flavor_id).map_or(0, |f| f.4 << 30);
    let dst = compute.cache.temp_path(host).map_err(|e| e.to_string())?;
    let (src, to) = (base_path.to_path_buf(), dst.clone());
    let done = match base.disk_format.as_deref() {
        Some("qcow2") => tokio::task::spawn_blocking(move || crate::qcow2::grow(&src, &to, root)).await,
        Some("raw") => {
            let op = image::PatchOp::Replace { path: "/disk_format".into(), value: "qcow2".into() };
            image::update_image(session, image_id, &[op]).await.map_err(|e| format!("setting the snapshot's disk format: {e}"))?;
            tokio::task::spawn_blocking(move || {
                let size = std::fs::metadata(&src)?.len().max(root);
                crate::qcow2::convert(&src, &to, size).map(|()| true)
            })
            .await
        }
        _ => return Ok(None),
    };
    match done.map_err(|e| e.to_string())? {
        Ok(true) => Ok(Some(dst)),
        Ok(false) => Ok(None),
        Err(e) => {
            let _ = std::fs::remove_file(&dst);
            Err(format!("extracting the snapshot: {e}"))
        }
    }
}
