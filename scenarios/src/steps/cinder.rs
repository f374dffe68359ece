//! Steps of `features/cinder.feature`: volumes created from images in Cinder v3, the
//! `signature_verified` image metadata, user messages, and attaching a volume to the
//! scenario's server through Nova (`os-volume_attachments`) and detaching it.

use std::time::{Duration, Instant};

use cucumber::{then, when};
use sigstack_client::compute::{self, DEFAULT_MICROVERSION, NewVolumeAttachment};
use sigstack_client::volume::{self, NewVolume, Volume};

use crate::world::Conformance;

/// How long a volume may stay `creating` before the step fails.
const CREATE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an attach, a detach or a delete may take on a real cloud.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(60);

/// The statuses a volume passes through on its way to a settled one.
const TRANSITIONAL: [&str; 6] = ["creating", "downloading", "reserved", "attaching", "detaching", "deleting"];

#[when(expr = "{string} creates a {int} GiB volume from the image")]
async fn creates_volume(w: &mut Conformance, user: String, size: u64) {
    let s = w.session(&user).await;
    let new = NewVolume { name: Some(format!("{}-volume", w.run)), ..NewVolume::from_image(size, w.image()) };
    let created = volume::create_volume(&s, &new).await.expect("volume create accepted");
    w.volume_id = Some(created.id);
}

#[when(expr = "{string} creates a {int} GiB volume of type {string} from the image")]
async fn creates_typed_volume(w: &mut Conformance, user: String, size: u64, volume_type: String) {
    let s = w.session(&user).await;
    let new = NewVolume { name: Some(format!("{}-volume", w.run)), volume_type: Some(volume_type), ..NewVolume::from_image(size, w.image()) };
    let created = volume::create_volume(&s, &new).await.expect("volume create accepted");
    w.volume_id = Some(created.id);
}

/// Polls until the volume leaves the transitional statuses (`creating`, `downloading`, and
/// those of attaching and detaching).
async fn settled(w: &mut Conformance, user: &str) -> Volume {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(user).await;
    let started = Instant::now();
    loop {
        let v = volume::get_volume(&s, &id).await.unwrap_or_else(|e| panic!("volume {id}: {e}"));
        if !TRANSITIONAL.contains(&v.status.as_str()) {
            return v;
        }
        let limit = if matches!(v.status.as_str(), "creating" | "downloading") { CREATE_TIMEOUT } else { ATTACH_TIMEOUT };
        assert!(started.elapsed() < limit, "volume {id} is still {}", v.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
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

#[then(expr = "{string} sees the user message {string} about the volume")]
async fn user_message(w: &mut Conformance, user: String, text: String) {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(&user).await;
    let messages = volume::list_messages(&s).await.expect("messages listed");
    let about: Vec<_> = messages.iter().filter(|m| m.resource_uuid.as_deref() == Some(id.as_str())).collect();
    assert_eq!(about.len(), 1, "{messages:?}");
    let m = about[0];
    assert_eq!((m.user_message.as_str(), m.message_level.as_str(), m.resource_type.as_deref()), (text.as_str(), "ERROR", Some("VOLUME")));
}

#[then(expr = "{string} sees no volume image metadata {string}")]
async fn no_image_metadata(w: &mut Conformance, user: String, key: String) {
    let v = settled(w, &user).await;
    assert_eq!(v.image_metadata(&key), None, "{:?}", v.volume_image_metadata);
}

#[then(expr = "{string} sees no user message about the volume")]
async fn no_user_message(w: &mut Conformance, user: String) {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(&user).await;
    let messages = volume::list_messages(&s).await.expect("messages listed");
    assert!(messages.iter().all(|m| m.resource_uuid.as_deref() != Some(id.as_str())), "{messages:?}");
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
    let listed = compute::list_volume_attachments(&s, DEFAULT_MICROVERSION, &server_id).await.unwrap_or_else(|e| panic!("attachments of {server_id}: {e}"));
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

/// The volume is `available` without attachments, and the server lists no volume.
#[then(expr = "{string} sees the volume detached from the server")]
async fn detached(w: &mut Conformance, user: String) {
    let server_id = w.server_id.clone().expect("a server was booted");
    let v = settled(w, &user).await;
    assert_eq!((v.status.as_str(), v.attachments.len()), ("available", 0), "{v:?}");
    let s = w.session(&user).await;
    let server = compute::get_server(&s, DEFAULT_MICROVERSION, &server_id).await.unwrap_or_else(|e| panic!("server {server_id}: {e}"));
    assert!(server.volumes_attached.is_empty(), "{:?}", server.volumes_attached);
    let listed = compute::list_volume_attachments(&s, DEFAULT_MICROVERSION, &server_id).await.unwrap_or_else(|e| panic!("attachments of {server_id}: {e}"));
    assert!(listed.is_empty(), "{listed:?}");
}

#[when(expr = "{string} deletes the volume")]
async fn deletes(w: &mut Conformance, user: String) {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(&user).await;
    volume::delete_volume(&s, &id).await.unwrap_or_else(|e| panic!("delete of volume {id}: {e}"));
}

/// Polls until Cinder answers 404 for the volume (it may be `deleting` meanwhile).
#[then(expr = "{string} no longer finds the volume")]
async fn gone(w: &mut Conformance, user: String) {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(&user).await;
    let deadline = Instant::now() + ATTACH_TIMEOUT;
    loop {
        match volume::get_volume(&s, &id).await {
            Err(e) if e.is_not_found() => return,
            Err(e) => panic!("volume {id}: {e}"),
            Ok(v) => {
                assert!(v.status == "deleting" && Instant::now() < deadline, "volume {id} is {} after its deletion", v.status);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}
