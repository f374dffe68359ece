//! Cinder v3 (service type `block-storage`): volumes, create-from-image, the
//! `os-volume_upload_image` action, user messages and version discovery. The catalog URL is
//! `<root>/v3/<project_id>`; every request sends `OpenStack-API-Version: volume <v>` (default
//! [`DEFAULT_MICROVERSION`], which user messages need).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::error::Error;
use crate::session::Session;

/// What this client asks for unless told otherwise: user messages exist from 3.3.
pub const DEFAULT_MICROVERSION: &str = "3.3";

/// A volume as `GET /v3/{project_id}/volumes/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub id: String,
    pub status: String,
    pub size: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Cinder writes `"true"`/`"false"` (strings); booleans are accepted too.
    #[serde(default, deserialize_with = "string_bool")]
    pub bootable: bool,
    #[serde(default)]
    pub volume_type: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(rename = "os-vol-tenant-attr:tenant_id", default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The source image's fields and properties, plus `signature_verified`; absent for a
    /// volume not created from an image.
    #[serde(default)]
    pub volume_image_metadata: Option<BTreeMap<String, String>>,
    /// The completed attachments (`attached`); empty while attaching or detaching.
    #[serde(default)]
    pub attachments: Vec<VolumeAttachment>,
    #[serde(default)]
    pub encrypted: bool,
    #[serde(default)]
    pub multiattach: bool,
}

impl Volume {
    /// One key of `volume_image_metadata`.
    pub fn image_metadata(&self, key: &str) -> Option<&str> {
        self.volume_image_metadata.as_ref()?.get(key).map(String::as_str)
    }
}

/// One entry of a volume's `attachments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeAttachment {
    /// The volume's id (Cinder repeats it here).
    pub id: String,
    pub attachment_id: String,
    pub volume_id: String,
    pub server_id: Option<String>,
    /// Admins only; `null` for everyone else.
    #[serde(default)]
    pub host_name: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub attached_at: Option<String>,
}

/// An attachment record of the v3 attachments API (`/v3/{project_id}/attachments`, 3.27+).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    /// `reserved`, `attaching`, `attached`.
    pub status: String,
    /// The instance (server) id.
    #[serde(default)]
    pub instance: Option<String>,
    pub volume_id: String,
    /// `""` until connected.
    #[serde(default)]
    pub attached_at: Option<String>,
    #[serde(default)]
    pub detached_at: Option<String>,
    /// `null`, `rw` or `ro`.
    #[serde(default)]
    pub attach_mode: Option<String>,
    /// The driver's connection details (`{}` while only reserved).
    #[serde(default)]
    pub connection_info: Option<Value>,
}

fn string_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// The body of `POST /v3/{project_id}/volumes` (inside `{"volume": ...}`). Unset fields are
/// left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewVolume {
    /// GiB.
    pub size: u64,
    #[serde(rename = "imageRef", skip_serializing_if = "Option::is_none")]
    pub image_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl NewVolume {
    /// A volume of `size` GiB made from an image.
    pub fn from_image(size: u64, image_id: &str) -> NewVolume {
        NewVolume { size, image_ref: Some(image_id.into()), ..NewVolume::default() }
    }
}

/// The answer to `os-volume_upload_image`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImageUpload {
    /// The volume's id.
    pub id: String,
    pub image_id: String,
    pub image_name: String,
    pub status: String,
    #[serde(default)]
    pub disk_format: Option<String>,
    #[serde(default)]
    pub container_format: Option<String>,
}

/// Options of `os-volume_upload_image` beyond the image name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOptions {
    pub disk_format: String,
    pub container_format: String,
    pub force: bool,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions { disk_format: "raw".into(), container_format: "bare".into(), force: false }
    }
}

/// One user message (`GET /v3/{project_id}/messages`, 3.3+).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    pub id: String,
    pub event_id: String,
    pub user_message: String,
    pub message_level: String,
    pub resource_type: Option<String>,
    pub resource_uuid: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub guaranteed_until: Option<String>,
}

/// One entry of version discovery.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiVersion {
    pub id: String,
    pub status: String,
    /// The maximum microversion (`3.71`).
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub min_version: String,
}

/// `<root>/v3/<project_id>` from the catalog.
pub fn project_url(session: &Session) -> Result<String, Error> {
    session.endpoint("block-storage")
}

/// The service root (the catalog URL without `/v3/<project>`).
pub fn root_url(session: &Session) -> Result<String, Error> {
    let url = project_url(session)?;
    Ok(match url.find("/v3") {
        Some(i) => url[..i].to_owned(),
        None => url,
    })
}

/// A request with the default microversion.
pub fn request(session: &Session, method: Method, url: &str) -> reqwest::RequestBuilder {
    request_at(session, method, url, DEFAULT_MICROVERSION)
}

/// A request asking for microversion `version` (`3.0`, `3.71`, `latest`).
pub fn request_at(session: &Session, method: Method, url: &str, version: &str) -> reqwest::RequestBuilder {
    session.request(method, url).header("Accept", "application/json").header("OpenStack-API-Version", format!("volume {version}"))
}

#[derive(Deserialize)]
struct VolumeBody {
    volume: Volume,
}

pub async fn create_volume(session: &Session, v: &NewVolume) -> Result<Volume, Error> {
    let url = format!("{}/volumes", project_url(session)?);
    let body: VolumeBody = session.json(request(session, Method::POST, &url).json(&json!({"volume": v}))).await?;
    Ok(body.volume)
}

pub async fn get_volume(session: &Session, id: &str) -> Result<Volume, Error> {
    let url = format!("{}/volumes/{id}", project_url(session)?);
    let body: VolumeBody = session.json(request(session, Method::GET, &url)).await?;
    Ok(body.volume)
}

/// `GET /v3/{project_id}/volumes/detail`: the caller's volumes with every field.
pub async fn list_volumes(session: &Session) -> Result<Vec<Volume>, Error> {
    #[derive(Deserialize)]
    struct Volumes {
        volumes: Vec<Volume>,
    }
    let url = format!("{}/volumes/detail", project_url(session)?);
    let body: Volumes = session.json(request(session, Method::GET, &url)).await?;
    Ok(body.volumes)
}

pub async fn delete_volume(session: &Session, id: &str) -> Result<(), Error> {
    let url = format!("{}/volumes/{id}", project_url(session)?);
    session.send(request(session, Method::DELETE, &url)).await.map(|_| ())
}

/// Polls until the volume reaches one of `statuses`. An `error*` status that was not asked
/// for ends the wait at once (it is final), as does the timeout; both are errors naming the
/// status seen.
pub async fn wait_for_volume_status(session: &Session, id: &str, statuses: &[&str], timeout: Duration) -> Result<Volume, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        let volume = get_volume(session, id).await?;
        if statuses.contains(&volume.status.as_str()) {
            return Ok(volume);
        }
        if volume.status.starts_with("error") || Instant::now() >= deadline {
            return Err(Error::Decode {
                url: format!("{}/volumes/{id}", project_url(session)?),
                reason: format!("volume is {} (waited for {})", volume.status, statuses.join("|")),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `POST /v3/{project_id}/volumes/{id}/action` with `os-volume_upload_image`: Cinder creates a
/// Glance image and copies the volume's data into it (asynchronously; the volume is
/// `uploading` until done).
pub async fn upload_to_image(session: &Session, id: &str, image_name: &str, options: &UploadOptions) -> Result<ImageUpload, Error> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(rename = "os-volume_upload_image")]
        upload: ImageUpload,
    }
    let url = format!("{}/volumes/{id}/action", project_url(session)?);
    let body = json!({"os-volume_upload_image": {
        "image_name": image_name,
        "force": options.force,
        "disk_format": options.disk_format,
        "container_format": options.container_format,
    }});
    let answer: Body = session.json(request(session, Method::POST, &url).json(&body)).await?;
    Ok(answer.upload)
}

/// The microversion Nova's attach flow speaks (attachments with `os-complete`).
pub const ATTACHMENTS_MICROVERSION: &str = "3.44";

#[derive(Deserialize)]
struct AttachmentBody {
    attachment: Attachment,
}

/// `POST /v3/{project_id}/attachments`: reserves the volume for `instance` (no connector) or
/// reserves and connects it (with one). The volume must be `available`.
pub async fn create_attachment(session: &Session, volume_id: &str, instance: &str, connector: Option<&Value>) -> Result<Attachment, Error> {
    let url = format!("{}/attachments", project_url(session)?);
    let body = json!({"attachment": {"volume_uuid": volume_id, "instance_uuid": instance, "connector": connector}});
    let answer: AttachmentBody = session.json(request_at(session, Method::POST, &url, ATTACHMENTS_MICROVERSION).json(&body)).await?;
    Ok(answer.attachment)
}

/// `PUT /v3/{project_id}/attachments/{id}` with the host's connector (`host`, `mountpoint`,
/// ...): Cinder connects the volume (`attaching`) and answers the connection info.
pub async fn update_attachment(session: &Session, id: &str, connector: &Value) -> Result<Attachment, Error> {
    let url = format!("{}/attachments/{id}", project_url(session)?);
    let body = json!({"attachment": {"connector": connector}});
    let answer: AttachmentBody = session.json(request_at(session, Method::PUT, &url, ATTACHMENTS_MICROVERSION).json(&body)).await?;
    Ok(answer.attachment)
}

/// `os-complete`: the attachment is done, the volume `in-use`.
pub async fn complete_attachment(session: &Session, id: &str) -> Result<(), Error> {
    let url = format!("{}/attachments/{id}/action", project_url(session)?);
    let body = json!({"os-complete": null});
    session.send(request_at(session, Method::POST, &url, ATTACHMENTS_MICROVERSION).json(&body)).await.map(|_| ())
}

pub async fn get_attachment(session: &Session, id: &str) -> Result<Attachment, Error> {
    let url = format!("{}/attachments/{id}", project_url(session)?);
    let answer: AttachmentBody = session.json(request_at(session, Method::GET, &url, ATTACHMENTS_MICROVERSION)).await?;
    Ok(answer.attachment)
}

/// `GET /v3/{project_id}/attachments/detail`: the project's attachments.
pub async fn list_attachments(session: &Session) -> Result<Vec<Attachment>, Error> {
    #[derive(Deserialize)]
    struct Attachments {
        attachments: Vec<Attachment>,
    }
    let url = format!("{}/attachments/detail", project_url(session)?);
    let answer: Attachments = session.json(request_at(session, Method::GET, &url, ATTACHMENTS_MICROVERSION)).await?;
    Ok(answer.attachments)
}

/// `DELETE /v3/{project_id}/attachments/{id}`: disconnects; the volume is `available` again
/// when it was its last attachment.
pub async fn delete_attachment(session: &Session, id: &str) -> Result<(), Error> {
    let url = format!("{}/attachments/{id}", project_url(session)?);
    session.send(request_at(session, Method::DELETE, &url, ATTACHMENTS_MICROVERSION)).await.map(|_| ())
}

/// A volume's encryption metadata (`GET /v3/{project_id}/volumes/{id}/encryption`): the key's
/// Barbican secret and its type's spec; only `encryption_key_id` (null) for an unencrypted one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EncryptionMetadata {
    pub encryption_key_id: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub cipher: Option<String>,
    #[serde(default)]
    pub key_size: Option<u64>,
    #[serde(default)]
    pub control_location: Option<String>,
}

/// cinderclient's `volumes.get_encryption_metadata`, as Nova's encryptors call it.
pub async fn get_encryption_metadata(session: &Session, volume_id: &str) -> Result<EncryptionMetadata, Error> {
    let url = format!("{}/volumes/{volume_id}/encryption", project_url(session)?);
    session.json(request(session, Method::GET, &url)).await
}

/// A volume action without arguments (`os-begin_detaching`, `os-roll_detaching`).
pub async fn volume_action(session: &Session, id: &str, action: &str) -> Result<(), Error> {
    let url = format!("{}/volumes/{id}/action", project_url(session)?);
    session.send(request(session, Method::POST, &url).json(&json!({action: {}}))).await.map(|_| ())
}

/// `GET /v3/{project_id}/messages` (microversion 3.3 or later).
pub async fn list_messages(session: &Session) -> Result<Vec<Message>, Error> {
    #[derive(Deserialize)]
    struct Messages {
        messages: Vec<Message>,
    }
    let url = format!("{}/messages", project_url(session)?);
    let body: Messages = session.json(request(session, Method::GET, &url)).await?;
    Ok(body.messages)
}

/// `GET /` on the service root (300, every version).
pub async fn version_discovery(session: &Session) -> Result<Vec<ApiVersion>, Error> {
    #[derive(Deserialize)]
    struct Versions {
        versions: Vec<ApiVersion>,
    }
    let url = format!("{}/", root_url(session)?);
    let body: Versions = session.json(session.request(Method::GET, &url).header("Accept", "application/json")).await?;
    Ok(body.versions)
}

/// A volume type (`GET /v3/{project_id}/types/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeType {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub is_public: Option<bool>,
    #[serde(default)]
    pub extra_specs: Option<BTreeMap<String, String>>,
}

/// The body of `POST /v3/{project_id}/types` (inside `{"volume_type": ...}`); admin only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewVolumeType {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "os-volume-type-access:is_public", skip_serializing_if = "Option::is_none")]
    pub is_public: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_specs: BTreeMap<String, String>,
}

/// A volume type's encryption spec: the body of `POST .../types/{id}/encryption` and the
/// answer of `GET` (which adds `volume_type_id`, `encryption_id` and timestamps).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionType {
    /// `luks` (or a legacy encryptor class name).
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_size: Option<u64>,
    /// `front-end` or `back-end`.
    pub control_location: String,
    #[serde(default, skip_serializing)]
    pub volume_type_id: Option<String>,
    #[serde(default, skip_serializing)]
    pub encryption_id: Option<String>,
}

impl EncryptionType {
    /// barbican-tempest-plugin's LUKS spec: `aes-xts-plain64`, 256 bits, front-end.
    pub fn luks() -> EncryptionType {
        EncryptionType {
            provider: "luks".into(),
            cipher: Some("aes-xts-plain64".into()),
            key_size: Some(256),
            control_location: "front-end".into(),
            ..EncryptionType::default()
        }
    }
}

/// `POST /v3/{project_id}/types` (admin only).
pub async fn create_volume_type(session: &Session, t: &NewVolumeType) -> Result<VolumeType, Error> {
    #[derive(Deserialize)]
    struct Body {
        volume_type: VolumeType,
    }
    let url = format!("{}/types", project_url(session)?);
    let body: Body = session.json(request(session, Method::POST, &url).json(&json!({"volume_type": t}))).await?;
    Ok(body.volume_type)
}

/// `DELETE /v3/{project_id}/types/{id}` (admin only; refused while volumes use the type).
pub async fn delete_volume_type(session: &Session, id: &str) -> Result<(), Error> {
    let url = format!("{}/types/{id}", project_url(session)?);
    session.send(request(session, Method::DELETE, &url)).await.map(|_| ())
}

/// `POST /v3/{project_id}/types/{id}/encryption` (admin only): the spec as Cinder echoes it.
pub async fn create_encryption_type(session: &Session, type_id: &str, spec: &EncryptionType) -> Result<EncryptionType, Error> {
    #[derive(Deserialize)]
    struct Body {
        encryption: EncryptionType,
    }
    let url = format!("{}/types/{type_id}/encryption", project_url(session)?);
    let body: Body = session.json(request(session, Method::POST, &url).json(&json!({"encryption": spec}))).await?;
    Ok(body.encryption)
}

/// `GET /v3/{project_id}/types/{id}/encryption` (admin only): `None` for a type without a spec
/// (Cinder answers `{}`).
pub async fn get_encryption_type(session: &Session, type_id: &str) -> Result<Option<EncryptionType>, Error> {
    let url = format!("{}/types/{type_id}/encryption", project_url(session)?);
    let body: Value = session.json(request(session, Method::GET, &url)).await?;
    if body.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(None);
    }
    serde_json::from_value(body).map(Some).map_err(|e| Error::Decode { url, reason: e.to_string() })
}

/// `os-extend`: Cinder grows the volume to `new_size` GiB in the background (`extending`, then
/// back to its status). An attached volume needs microversion 3.42 (`request_at`).
pub async fn extend_volume(session: &Session, id: &str, new_size: u64) -> Result<(), Error> {
    let url = format!("{}/volumes/{id}/action", project_url(session)?);
    session.send(request(session, Method::POST, &url).json(&json!({"os-extend": {"new_size": new_size}}))).await.map(|_| ())
}
