//! Steps of `features/glance.feature`: signed image upload and verification in Glance v2.

use base64::Engine as _;
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::json;
use sigstack_client::image::{self, NewImage, PatchOp};
use sigstack_verify::{HashMethod, KeyType, SigningKey};

use crate::disk_image;
use crate::ledger::Resource;
use crate::steps::barbican::fixture;
use crate::wait::Backoff;
use crate::world::Conformance;

pub(crate) fn key_type(name: &str) -> KeyType {
    KeyType::ALL.into_iter().find(|k| k.name() == name).unwrap_or_else(|| panic!("no signing support for key type {name} in the steps"))
}

pub(crate) fn hash_method(name: &str) -> HashMethod {
    match name {
        "SHA-224" => HashMethod::Sha224,
        "SHA-256" => HashMethod::Sha256,
        "SHA-384" => HashMethod::Sha384,
        "SHA-512" => HashMethod::Sha512,
        other => panic!("unknown hash method {other}"),
    }
}

/// A disk image in the scenario's format (`image_format`) holding `len` bytes of data (for
/// `raw`, the image is those bytes; for `qcow2`, a qcow2 file whose disk holds them), signed.
#[given(expr = "{int} bytes of image data signed by {string} with {string} and {string}")]
async fn signed_data(w: &mut Conformance, len: usize, key: String, kind: String, hash: String) {
    let seed = w.run.bytes().fold(0u8, |h, b| h.wrapping_mul(31).wrapping_add(b));
    let disk = disk_image::make(w.image_format, len, seed);
    w.data_format = disk.format;
    w.tamper_offset = disk.tamper_offset;
    w.virtual_size = disk.virtual_size;
    w.data = disk.bytes;
    w.signature = sign(&w.data, &key, &kind, &hash);
}

/// The base64 signature of `data` by the fixture key `key`.
fn sign(data: &[u8], key: &str, kind: &str, hash: &str) -> String {
    let pem = String::from_utf8(fixture(key)).expect("PEM key");
    let key = SigningKey::from_pem(&pem).expect("fixture key");
    let hash = hash_method(hash);
    let signature = key.sign_digest(key_type(kind), hash, &hash.digest(data), &mut rand::rngs::SysRng).expect("signs");
    base64::engine::general_purpose::STANDARD.encode(signature)
}

/// `{signature}` becomes a genuine signature by `key` of other data (the scenario's data with
/// the byte a tampered upload changes): well-formed and made by the certificate's key, but not
/// the signature of the data.
#[given(expr = "the signature is now one of other data, by {string} with {string} and {string}")]
async fn signature_of_other_data(w: &mut Conformance, key: String, kind: String, hash: String) {
    let mut other = w.data.clone();
    other[w.tamper_offset] ^= 1;
    w.signature = sign(&other, &key, &kind, &hash);
}

/// `POST /v2/images`: a bare image in the format of the scenario's data, recorded for deletion.
async fn create(w: &mut Conformance, user: &str, properties: &[(String, String)]) {
    let s = w.session(user).await;
    let mut new = NewImage { disk_format: Some(w.data_format.name().into()), ..NewImage::raw(&format!("{}-image", w.run)) };
    for (k, v) in properties {
        new = new.property(k, &w.expand(v));
    }
    let img = image::create_image(&s, &new).await.expect("image created");
    w.created(user, Resource::Image { id: img.id.clone() });
    assert_eq!(img.status, "queued");
    w.image_id = Some(img.id);
    w.image_user = user.to_owned();
}

fn signed_properties(secret: &str) -> Vec<(String, String)> {
    [
        ("img_signature", "{signature}".to_owned()),
        ("img_signature_hash_method", "SHA-256".to_owned()),
        ("img_signature_key_type", "RSA-PSS".to_owned()),
        ("img_signature_certificate_uuid", format!("{{secret:{secret}}}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[when(expr = "{string} creates an image with the properties")]
async fn creates_with(w: &mut Conformance, user: String, step: &Step) {
    let table = step.table.as_ref().expect("a table of properties");
    let properties: Vec<(String, String)> = table.rows.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    create(w, &user, &properties).await;
}

#[when(expr = "{string} creates an image without signature properties")]
async fn creates_unsigned(w: &mut Conformance, user: String) {
    create(w, &user, &[]).await;
}

#[given(expr = "{string} created an image signed with secret {string}")]
async fn created_signed(w: &mut Conformance, user: String, secret: String) {
    create(w, &user, &signed_properties(&secret)).await;
}

#[given(expr = "{string} created an active image signed with secret {string}")]
async fn created_active(w: &mut Conformance, user: String, secret: String) {
    create(w, &user, &signed_properties(&secret)).await;
    upload(w, &user, false).await;
    assert_eq!(w.answer().status, 204, "{}", w.answer().body);
}

/// `PUT /v2/images/{id}/file` as openstacksdk sends it (JSON errors); records the answer.
async fn upload(w: &mut Conformance, user: &str, tamper: bool) {
    send_data(w, user, "file", tamper).await;
}

/// `PUT /v2/images/{id}/{target}` (`file` or `stage`) of the signed data, one byte of the
/// guest's data changed if `tamper` (so the image is still a valid one of its format);
/// records the answer.
async fn send_data(w: &mut Conformance, user: &str, target: &str, tamper: bool) {
    let s = w.session(user).await;
    let mut bytes = w.data.clone();
    if tamper {
        bytes[w.tamper_offset] ^= 1;
    }
    let url = format!("{}/images/{}/{target}", image::v2(&s).expect("image endpoint"), w.image());
    let request =
        s.request(Method::PUT, &url).header("Content-Type", "application/octet-stream").header("Accept", "application/json").body(bytes);
    w.record(request).await;
}

#[when(expr = "{string} uploads the signed data")]
async fn uploads(w: &mut Conformance, user: String) {
    upload(w, &user, false).await;
}

#[when(expr = "{string} uploads the signed data with a byte changed")]
async fn uploads_tampered(w: &mut Conformance, user: String) {
    upload(w, &user, true).await;
}

/// `value` may be `{signature}` (the scenario's signature).
#[when(expr = "{string} replaces the image property {string} with {string}")]
async fn replaces(w: &mut Conformance, user: String, property: String, value: String) {
    let s = w.session(&user).await;
    let url = format!("{}/images/{}", image::v2(&s).expect("image endpoint"), w.image());
    let patch = json!([PatchOp::Replace { path: format!("/{property}"), value: json!(w.expand(&value)) }.to_json()]);
    let request = s
        .request(Method::PATCH, &url)
        .header("Content-Type", image::PATCH_CONTENT_TYPE)
        .header("Accept", "application/json")
        .body(patch.to_string());
    w.record(request).await;
}

#[then(expr = "the image status is {string}")]
async fn status_is(w: &mut Conformance, status: String) {
    let user = w.image_user.clone();
    let s = w.session(&user).await;
    let img = image::get_image(&s, w.image()).await.expect("image readable");
    assert_eq!(img.status, status);
    if status == "queued" {
        assert!(img.checksum.is_none() && img.size.is_none(), "a queued image holds no data: {img:?}");
    }
}

#[then(expr = "the image property {string} is {string}")]
async fn property_is(w: &mut Conformance, property: String, value: String) {
    let user = w.image_user.clone();
    let s = w.session(&user).await;
    let img = image::get_image(&s, w.image()).await.expect("image readable");
    assert_eq!(img.property(&property), Some(w.expand(&value).as_str()));
}

#[then(expr = "{string} downloads exactly the signed data")]
async fn downloads(w: &mut Conformance, user: String) {
    let s = w.session(&user).await;
    let download = image::download(&s, w.image()).await.expect("download").expect("the image has data");
    let bytes = download.bytes().await.expect("image bytes");
    assert!(bytes.as_ref() == w.data.as_slice(), "downloaded data differs from the signed data");
}

#[given(expr = "{string} uploaded the signed data as an unsigned image")]
async fn uploaded_unsigned(w: &mut Conformance, user: String) {
    create(w, &user, &[]).await;
    upload(w, &user, false).await;
    assert_eq!(w.answer().status, 204, "{}", w.answer().body);
}

#[given(expr = "{string} uploaded the signed data with a byte changed as an unsigned image")]
async fn uploaded_unsigned_tampered(w: &mut Conformance, user: String) {
    create(w, &user, &[]).await;
    upload(w, &user, true).await;
    assert_eq!(w.answer().status, 204, "{}", w.answer().body);
}

/// `PATCH /v2/images/{id}` adding every property of the table (Glance does not verify then).
#[given(expr = "{string} added to the image the properties")]
async fn added_properties(w: &mut Conformance, user: String, step: &Step) {
    let table = step.table.as_ref().expect("a table of properties");
    let ops: Vec<PatchOp> = table.rows.iter().map(|r| PatchOp::Add { path: format!("/{}", r[0]), value: json!(w.expand(&r[1])) }).collect();
    let s = w.session(&user).await;
    let img = image::update_image(&s, w.image(), &ops).await.expect("properties added");
    assert_eq!(img.status, "active");
}

#[then(expr = "the image has no property {string}")]
async fn no_property(w: &mut Conformance, property: String) {
    let user = w.image_user.clone();
    let s = w.session(&user).await;
    let img = image::get_image(&s, w.image()).await.expect("image readable");
    assert_eq!(img.property(&property), None, "{img:?}");
}

#[when(expr = "{string} stages the signed data")]
async fn stages(w: &mut Conformance, user: String) {
    send_data(w, &user, "stage", false).await;
}

#[when(expr = "{string} stages the signed data with a byte changed")]
async fn stages_tampered(w: &mut Conformance, user: String) {
    send_data(w, &user, "stage", true).await;
}

/// `POST /v2/images/{id}/import` with `{"method": {"name": <method>}}`; records the answer.
#[when(expr = "{string} imports the staged data with the method {string}")]
async fn imports(w: &mut Conformance, user: String, method: String) {
    let s = w.session(&user).await;
    let url = format!("{}/images/{}/import", image::v2(&s).expect("image endpoint"), w.image());
    let request = s.request(Method::POST, &url).header("Accept", "application/json").json(&json!({"method": {"name": method}}));
    w.record(request).await;
}

/// Polls the image until it is one of `statuses` (setting `image_timeout`).
pub(crate) async fn wait_for_image(
    w: &Conformance,
    s: &sigstack_client::Session,
    id: &str,
    statuses: &[&str],
    timeout: std::time::Duration,
) -> image::Image {
    let deadline = std::time::Instant::now() + timeout;
    let mut backoff = Backoff::new(&w.settings);
    loop {
        let img = image::get_image(s, id).await.unwrap_or_else(|e| panic!("image {id}: {e}"));
        if statuses.contains(&img.status.as_str()) {
            return img;
        }
        assert!(std::time::Instant::now() < deadline, "image {id} is still {} after {timeout:?}: {img:?}", img.status);
        backoff.sleep_until(deadline).await;
    }
}

/// Waits (setting `image_timeout`) until the import task has ended: the image is "active" or
/// back to "queued".
#[then(expr = "once the import has ended the image status is {string}")]
async fn import_ended(w: &mut Conformance, status: String) {
    let user = w.image_user.clone();
    let s = w.session(&user).await;
    let img = wait_for_image(w, &s, w.image(), &["active", "queued"], w.settings.image_timeout).await;
    assert_eq!(img.status, status, "{img:?}");
}

/// Waits (setting `image_timeout`) for the image's most recent task to end, then checks it.
#[then(expr = "once the import task has ended it has the status {string} and the message {string}")]
async fn import_task_ended(w: &mut Conformance, status: String, message: String) {
    let user = w.image_user.clone();
    let s = w.session(&user).await;
    let url = format!("{}/images/{}/tasks", image::v2(&s).expect("image endpoint"), w.image());
    let timeout = w.settings.image_timeout;
    let deadline = std::time::Instant::now() + timeout;
    let mut backoff = Backoff::new(&w.settings);
    loop {
        let tasks: serde_json::Value = s.json(s.request(Method::GET, &url)).await.expect("tasks listed");
        let task = &tasks["tasks"][0];
        if matches!(task["status"].as_str(), Some("success" | "failure")) {
            assert_eq!(
                (task["status"].as_str(), task["message"].as_str()),
                (Some(status.as_str()), Some(w.expand(&message).as_str())),
                "{tasks}"
            );
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the import task did not end within {timeout:?}: {tasks}");
        backoff.sleep_until(deadline).await;
    }
}

#[then(expr = "the image status is not {string}")]
async fn status_is_not(w: &mut Conformance, status: String) {
    let user = w.image_user.clone();
    let s = w.session(&user).await;
    let img = image::get_image(&s, w.image()).await.expect("image readable");
    assert_ne!(img.status, status, "{img:?}");
}

/// `GET /v2/images/{id}/tasks`: the image's most recent task.
#[then(expr = "the image's import task has the status {string} and the message {string}")]
async fn import_task(w: &mut Conformance, status: String, message: String) {
    let user = w.image_user.clone();
    let s = w.session(&user).await;
    let url = format!("{}/images/{}/tasks", image::v2(&s).expect("image endpoint"), w.image());
    let tasks: serde_json::Value = s.json(s.request(Method::GET, &url)).await.expect("tasks listed");
    let task = &tasks["tasks"][0];
    assert_eq!((task["status"].as_str(), task["message"].as_str()), (Some(status.as_str()), Some(w.expand(&message).as_str())), "{tasks}");
}
