//! Steps of `features/mos.feature`: signing an image already in Glance the way
//! `sigstack sign-images` does (the CLI is not a library, so the procedure is repeated here
//! with `sigstack_verify` and the client).

use base64::Engine as _;
use cucumber::{given, then, when};
use futures_util::TryStreamExt as _;
use serde_json::json;
use sigstack_client::image::{self, PatchOp};
use sigstack_verify::SigningKey;

use crate::steps::barbican::fixture;
use crate::steps::glance::{hash_method, key_type};
use crate::world::Conformance;

/// Streams the stored data from Glance, hashes it, signs the digest, and adds the four
/// signature properties in one JSON-patch (Glance applies all of them or none, and does not
/// verify on PATCH).
#[when(expr = "{string} signs the image as sign-images does, with the key {string}, {string}, {string} and secret {string}")]
async fn signs_stored(w: &mut Conformance, user: String, key: String, kind: String, hash: String, secret: String) {
    let s = w.session(&user).await;
    let hash = hash_method(&hash);
    let kind = key_type(&kind);
    let mut hasher = hash.hasher();
    let download = image::download(&s, w.image()).await.expect("download").expect("the image has data");
    let mut stream = std::pin::pin!(download.stream());
    while let Some(chunk) = stream.try_next().await.expect("image bytes") {
        hasher.update(&chunk);
    }
    let pem = String::from_utf8(fixture(&key)).expect("PEM key");
    let key = SigningKey::from_pem(&pem).expect("fixture key");
    let signature = key.sign_digest(kind, hash, &hasher.finalize(), &mut rand::rngs::SysRng).expect("signs");
    let values = [
        ("img_signature", base64::engine::general_purpose::STANDARD.encode(signature)),
        ("img_signature_hash_method", hash.name().to_owned()),
        ("img_signature_key_type", kind.name().to_owned()),
        ("img_signature_certificate_uuid", w.secret(&secret).to_owned()),
    ];
    let ops: Vec<PatchOp> = values.into_iter().map(|(name, value)| PatchOp::Add { path: format!("/{name}"), value: json!(value) }).collect();
    let img = image::update_image(&s, w.image(), &ops).await.expect("signature properties added");
    assert_eq!(img.status, "active");
}

/// `GET /v2/images?name=<name>` as the user: the pre-built image the cloud was deployed with
/// (public, so every user sees it).
#[given(expr = "{string} finds the pre-built image {string}")]
async fn finds_prebuilt(w: &mut Conformance, user: String, name: String) {
    let s = w.session(&user).await;
    let images = image::list_all_images(&s, &[("name", name.as_str())]).await.expect("images listed");
    let img = images.into_iter().next().unwrap_or_else(|| panic!("no image named {name:?} visible to {user}"));
    w.image_id = Some(img.id);
    w.image_user = user;
}

#[then(expr = "the image carries the four signature properties")]
async fn carries_signature(w: &mut Conformance) {
    let user = w.image_user.clone();
    let s = w.session(&user).await;
    let img = image::get_image(&s, w.image()).await.expect("image readable");
    for property in ["img_signature", "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid"] {
        assert!(img.property(property).is_some_and(|v| !v.is_empty()), "no {property}: {img:?}");
    }
}
