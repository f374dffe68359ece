//! Steps of `features/cinder.feature`: volumes created from images in Cinder v3, the
//! `signature_verified` image metadata, user messages, encrypted volume types (admin) and
//! `os-extend`, attaching a volume to the scenario's server through Nova
//! (`os-volume_attachments`) and detaching it, and deleting that server.

use std::time::Instant;

use cucumber::gherkin::Step;
use cucumber::{then, when};
use sigstack_client::compute::{self, DEFAULT_MICROVERSION, NewVolumeAttachment};
use sigstack_client::volume::{self, EncryptionType, NewVolume, NewVolumeType, Volume};

use crate::config::RunSettings;
use crate::ledger::Resource;
use crate::wait::Backoff;
use crate::world::Conformance;

/// The statuses a volume passes through on its way to a settled one.
const TRANSITIONAL: [&str; 7] = ["creating", "downloading", "reserved", "attaching", "detaching", "deleting", "extending"];

#[when(expr = "{string} creates a {int} GiB volume from the image")]
async fn creates_volume(w: &mut Conformance, user: String, size: u64) {
    let s = w.session(&user).await;
    let new = NewVolume { name: Some(format!("{}-volume", w.run)), ..NewVolume::from_image(size, w.image()) };
    let created = volume::create_volume(&s, &new).await.expect("volume create accepted");
    w.created(&user, Resource::Volume { id: created.id.clone() });
    w.volume_id = Some(created.id);
}

#[when(expr = "{string} creates a {int} GiB volume of type {string} from the image")]
async fn creates_typed_volume(w: &mut Conformance, user: String, size: u64, volume_type: String) {
    let s = w.session(&user).await;
    let new =
        NewVolume { name: Some(format!("{}-volume", w.run)), volume_type: Some(volume_type), ..NewVolume::from_image(size, w.image()) };
    let created = volume::create_volume(&s, &new).await.expect("volume create accepted");
    w.created(&user, Resource::Volume { id: created.id.clone() });
    w.volume_id = Some(created.id);
}

/// The name a scenario's volume type `name` gets on the target (types are cloud-wide, so it
/// carries the scenario's prefix).
fn type_name(w: &Conformance, name: &str) -> String {
    format!("{}-{name}", w.run)
}

/// `POST /types` then `POST /types/{id}/encryption` from the table's `provider`, `cipher`,
/// `key_size` and `control_location`, as tempest's `create_encryption_type`. The type is
/// deleted (by its creator, an admin) after the scenario, once its volumes are gone.
#[when(expr = "{string} creates the volume type {string} with the encryption")]
async fn creates_encrypted_type(w: &mut Conformance, user: String, name: String, step: &Step) {
    let table = step.table.as_ref().expect("a table of encryption fields");
    let field = |key: &str| table.rows.iter().find(|r| r[0] == key).map(|r| r[1].clone());
    let spec = EncryptionType {
        provider: field("provider").expect("a provider"),
        cipher: field("cipher"),
        key_size: field("key_size").map(|k| k.parse().expect("key_size is a number")),
        control_location: field("control_location").expect("a control_location"),
        ..EncryptionType::default()
    };
    let s = w.session(&user).await;
    let new = NewVolumeType { name: type_name(w, &name), ..NewVolumeType::default() };
    let created = volume::create_volume_type(&s, &new).await.unwrap_or_else(|e| panic!("volume type {}: {e}", new.name));
    w.created(&user, Resource::VolumeType { id: created.id.clone() });
    let answered =
        volume::create_encryption_type(&s, &created.id, &spec).await.unwrap_or_else(|e| panic!("encryption of {}: {e}", new.name));
    assert_eq!(
        (answered.provider.as_str(), answered.cipher.as_deref(), answered.key_size, answered.control_location.as_str()),
        (spec.provider.as_str(), spec.cipher.as_deref(), spec.key_size, spec.control_location.as_str())
    );
}

#[when(expr = "{string} creates a {int} GiB volume of the scenario's volume type {string} from the image")]
async fn creates_volume_of_scenario_type(w: &mut Conformance, user: String, size: u64, name: String) {
    let volume_type = type_name(w, &name);
    creates_typed_volume(w, user, size, volume_type).await;
}

#[then(expr = "{string} sees the volume encrypted")]
async fn encrypted(w: &mut Conformance, user: String) {
    let v = settled(w, &user).await;
    assert!(v.encrypted, "{v:?}");
}

/// `os-extend` at the default microversion, as tempest's `extend_volume`.
#[when(expr = "{string} extends the volume to {int} GiB")]
async fn extends(w: &mut Conformance, user: String, size: u64) {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(&user).await;
    volume::extend_volume(&s, &id, size).await.unwrap_or_else(|e| panic!("extend of {id}: {e}"));
}

#[then(expr = "{string} sees the volume become {string} with {int} GiB")]
async fn becomes_with_size(w: &mut Conformance, user: String, status: String, size: u64) {
    let v = settled(w, &user).await;
    assert_eq!((v.status.as_str(), v.size), (status.as_str(), size), "{v:?}");
}

/// Polls until the volume leaves the transitional statuses (`creating`, `downloading`: setting
/// `volume_timeout`; those of attaching, detaching, extending: `attach_timeout`).
async fn settled(w: &mut Conformance, user: &str) -> Volume {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(user).await;
    let started = Instant::now();
    let mut backoff = Backoff::new(&w.settings);
    loop {
        let v = volume::get_volume(&s, &id).await.unwrap_or_else(|e| panic!("volume {id}: {e}"));
        if !TRANSITIONAL.contains(&v.status.as_str()) {
            return v;
        }
        let (limit, setting) = if matches!(v.status.as_str(), "creating" | "downloading") {
            (w.settings.volume_timeout, "volume_timeout")
        } else {
            (w.settings.attach_timeout, "attach_timeout")
        };
        assert!(started.elapsed() < limit, "volume {id} is still {} after {limit:?} (setting {setting})", v.status);
        backoff.sleep_until(started + limit).await;
    }
}

#[then(expr = "{string} sees the volume become {string}")]
async fn becomes(w: &mut Conformance, user: String, status: String) {
    let v = settled(w, &user).await;
    assert_eq!(v.status, status, "{v:?}");
}

#[then(expr = "{string} sees the volume image metadata {string} is {string}")]
async fn image_metadata(w: &mut Conformance, user: String, key: String, value: String) {
    let value = w.expand(&value);
    let v = settled(w, &user).await;
    assert_eq!(v.image_metadata(&key), Some(value.as_str()), "{:?}", v.volume_image_metadata);
}

/// The user messages about the scenario's volume.
async fn volume_messages(w: &mut Conformance, user: &str) -> Vec<volume::Message> {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(user).await;
    let messages = volume::list_messages(&s).await.expect("messages listed");
    messages.into_iter().filter(|m| m.resource_uuid.as_deref() == Some(id.as_str())).collect()
}

/// At least one `text` message; a cloud that reschedules has one per attempt and the
/// scheduler's when it gives up, and nothing else.
#[then(expr = "{string} sees the user message {string} about the volume, besides the scheduler's {string}")]
async fn user_message(w: &mut Conformance, user: String, text: String, scheduler: String) {
    let about = volume_messages(w, &user).await;
    assert!(about.iter().any(|m| m.user_message == text), "no {text:?} among {about:?}");
    for m in &about {
        assert!(m.user_message == text || m.user_message == scheduler, "unexpected message {m:?}");
        assert_eq!((m.message_level.as_str(), m.resource_type.as_deref()), ("ERROR", Some("VOLUME")), "{m:?}");
    }
}

#[then(expr = "{string} sees no volume image metadata {string}")]
async fn no_image_metadata(w: &mut Conformance, user: String, key: String) {
    let v = settled(w, &user).await;
    assert_eq!(v.image_metadata(&key), None, "{:?}", v.volume_image_metadata);
}

/// None of the volume's own; the scheduler's (a cloud that reschedules) may be there.
#[then(expr = "{string} sees no user message about the volume but the scheduler's {string}")]
async fn no_user_message(w: &mut Conformance, user: String, scheduler: String) {
    let about = volume_messages(w, &user).await;
    assert!(about.iter().all(|m| m.user_message == scheduler), "{about:?}");
}

/// `POST /servers/{id}/os-volume_attachments` at 2.1, as tempest's `attach_volume`.
#[when(expr = "{string} attaches the volume to the server")]
async fn attaches(w: &mut Conformance, user: String) {
    let volume_id = w.volume_id.clone().expect("a volume was created");
    let server_id = w.server_id.clone().expect("a server was booted");
    let s = w.session(&user).await;
    let answer = compute::attach_volume(&s, DEFAULT_MICROVERSION, &server_id, &NewVolumeAttachment::volume(&volume_id))
        .await
        .unwrap_or_else(|e| panic!("attach of {volume_id} to {server_id}: {e}"));
    w.created(&user, Resource::VolumeAttachment { server_id: server_id.clone(), volume_id: volume_id.clone() });
    assert_eq!((answer.volume_id.as_str(), answer.server_id.as_str()), (volume_id.as_str(), server_id.as_str()), "{answer:?}");
}

/// The volume is `in-use` with one attachment to the server, and Nova lists it on the server
/// (`os-extended-volumes:volumes_attached`, which tempest checks) and among its attachments.
#[then(expr = "{string} sees the volume attached to the server")]
async fn attached(w: &mut Conformance, user: String) {
    let server_id = w.server_id.clone().expect("a server was booted");
    let v = settled(w, &user).await;
    assert_eq!(v.status, "in-use", "{v:?}");
    let servers: Vec<Option<&str>> = v.attachments.iter().map(|a| a.server_id.as_deref()).collect();
    assert_eq!(servers, vec![Some(server_id.as_str())], "{v:?}");
    let s = w.session(&user).await;
    let server = compute::get_server(&s, DEFAULT_MICROVERSION, &server_id).await.unwrap_or_else(|e| panic!("server {server_id}: {e}"));
    let ids: Vec<&str> = server.volumes_attached.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, vec![v.id.as_str()], "os-extended-volumes:volumes_attached");
    let listed = compute::list_volume_attachments(&s, DEFAULT_MICROVERSION, &server_id)
        .await
        .unwrap_or_else(|e| panic!("attachments of {server_id}: {e}"));
    assert_eq!(listed.iter().map(|a| a.volume_id.as_str()).collect::<Vec<_>>(), vec![v.id.as_str()], "{listed:?}");
    assert_eq!(listed[0].device, v.attachments[0].device, "Nova and Cinder agree on the device");
}

#[when(expr = "{string} detaches the volume from the server")]
async fn detaches(w: &mut Conformance, user: String) {
    let volume_id = w.volume_id.clone().expect("a volume was created");
    let server_id = w.server_id.clone().expect("a server was booted");
    let s = w.session(&user).await;
    compute::detach_volume(&s, &server_id, &volume_id).await.unwrap_or_else(|e| panic!("detach of {volume_id} from {server_id}: {e}"));
}

/// The volume is `available` without attachments, and the server lists no volume. Nova
/// deletes Cinder's attachment before its own block device mapping (`_detach_volume`), so
/// the server may list the volume a moment longer: polled until `attach_timeout`.
#[then(expr = "{string} sees the volume detached from the server")]
async fn detached(w: &mut Conformance, user: String) {
    let server_id = w.server_id.clone().expect("a server was booted");
    let v = settled(w, &user).await;
    assert_eq!((v.status.as_str(), v.attachments.len()), ("available", 0), "{v:?}");
    let s = w.session(&user).await;
    let deadline = Instant::now() + w.settings.attach_timeout;
    let mut backoff = Backoff::new(&w.settings);
    loop {
        let server = compute::get_server(&s, DEFAULT_MICROVERSION, &server_id).await.unwrap_or_else(|e| panic!("server {server_id}: {e}"));
        let listed = compute::list_volume_attachments(&s, DEFAULT_MICROVERSION, &server_id)
            .await
            .unwrap_or_else(|e| panic!("attachments of {server_id}: {e}"));
        if server.volumes_attached.is_empty() && listed.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "the server still lists {:?} and {listed:?} (setting attach_timeout)", server.volumes_attached);
        backoff.sleep_until(deadline).await;
    }
}

#[when(expr = "{string} deletes the volume")]
async fn deletes(w: &mut Conformance, user: String) {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(&user).await;
    volume::delete_volume(&s, &id).await.unwrap_or_else(|e| panic!("delete of volume {id}: {e}"));
}

/// Polls `get` until it answers 404; until then what it finds must be `pending` (still being
/// deleted), and the `attach_timeout` setting not passed.
pub(crate) async fn until_not_found<T, F, Fut>(settings: &RunSettings, what: &str, get: F, pending: impl Fn(&T) -> bool)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, sigstack_client::Error>>,
    T: std::fmt::Debug,
{
    let deadline = Instant::now() + settings.attach_timeout;
    let mut backoff = Backoff::new(settings);
    loop {
        match get().await {
            Err(e) if e.is_not_found() => return,
            Err(e) => panic!("{what}: {e}"),
            Ok(found) => {
                assert!(pending(&found) && Instant::now() < deadline, "{what} is still there after its deletion: {found:?}");
                backoff.sleep_until(deadline).await;
            }
        }
    }
}

/// Polls until Cinder answers 404 for the volume (it may be `deleting` meanwhile).
#[then(expr = "{string} no longer finds the volume")]
async fn gone(w: &mut Conformance, user: String) {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(&user).await;
    until_not_found(&w.settings, &format!("volume {id}"), || volume::get_volume(&s, &id), |v: &Volume| v.status == "deleting").await;
}
