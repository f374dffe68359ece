//! Steps of `features/cinder.feature`: volumes created from images in Cinder v3, the
//! `signature_verified` image metadata, and user messages.

use std::time::{Duration, Instant};

use cucumber::{then, when};
use sigstack_client::volume::{self, NewVolume, Volume};

use crate::world::Conformance;

/// How long a volume may stay `creating` before the step fails.
const CREATE_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Polls until the volume leaves `creating` (or `downloading`).
async fn settled(w: &mut Conformance, user: &str) -> Volume {
    let id = w.volume_id.clone().expect("a volume was created");
    let s = w.session(user).await;
    let deadline = Instant::now() + CREATE_TIMEOUT;
    loop {
        let v = volume::get_volume(&s, &id).await.unwrap_or_else(|e| panic!("volume {id}: {e}"));
        if !matches!(v.status.as_str(), "creating" | "downloading") {
            return v;
        }
        assert!(Instant::now() < deadline, "volume {id} is still {}", v.status);
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
