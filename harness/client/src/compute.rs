//! Nova's compute API v2.1: version discovery, flavors, servers, the server actions sigstack
//! exercises (rebuild, reboot, createImage, evacuate) and volume attachments. Every request
//! names its microversion (`OpenStack-API-Version: compute X`); [`TRUSTED_CERTS_MICROVERSION`]
//! is the first one with `trusted_image_certificates`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::error::Error;
use crate::session::Session;

/// What python-openstackclient sends unless told otherwise.
pub const DEFAULT_MICROVERSION: &str = "2.1";
/// `trusted_image_certificates` exists from 2.63.
pub const TRUSTED_CERTS_MICROVERSION: &str = "2.63";

/// A server's fault (`status: ERROR`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerFault {
    pub code: u16,
    #[serde(default)]
    pub created: Option<String>,
    pub message: String,
    /// Shown to admins only.
    #[serde(default)]
    pub details: Option<String>,
}

/// A server as `GET /servers/{id}` shows it. Fields not modelled are in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(rename = "OS-EXT-STS:vm_state", default)]
    pub vm_state: Option<String>,
    #[serde(rename = "OS-EXT-STS:task_state", default)]
    pub task_state: Option<String>,
    /// Admins only.
    #[serde(rename = "OS-EXT-SRV-ATTR:host", default)]
    pub host: Option<String>,
    #[serde(default)]
    pub fault: Option<ServerFault>,
    /// `None`: the field is absent (microversion < 2.63); `Some(None)`: `null`.
    #[serde(default, deserialize_with = "present")]
    pub trusted_image_certificates: Option<Option<Vec<String>>>,
    /// The volumes attached (and being attached) to the server.
    #[serde(rename = "os-extended-volumes:volumes_attached", default)]
    pub volumes_attached: Vec<AttachedVolume>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One entry of `os-extended-volumes:volumes_attached`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedVolume {
    pub id: String,
    /// From 2.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_on_termination: Option<bool>,
}

/// A volume attachment as `os-volume_attachments` shows it. The fields beyond the volume and
/// server depend on the microversion: `tag` from 2.70, `delete_on_termination` from 2.79,
/// `attachment_id` and `bdm_uuid` (and no `id`) from 2.89.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeAttachment {
    /// The volume's id again (absent in list and show from 2.89).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "volumeId")]
    pub volume_id: String,
    #[serde(rename = "serverId")]
    pub server_id: String,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub delete_on_termination: Option<bool>,
    /// Cinder's attachment record.
    #[serde(default)]
    pub attachment_id: Option<String>,
    #[serde(default)]
    pub bdm_uuid: Option<String>,
}

/// The body of `POST /servers/{id}/os-volume_attachments` (inside `{"volumeAttachment": ...}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewVolumeAttachment {
    #[serde(rename = "volumeId")]
    pub volume_id: String,
    /// A hint the libvirt driver ignores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// 2.49 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// 2.79 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_on_termination: Option<bool>,
}

impl NewVolumeAttachment {
    pub fn volume(volume_id: &str) -> NewVolumeAttachment {
        NewVolumeAttachment { volume_id: volume_id.into(), ..NewVolumeAttachment::default() }
    }
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Vec<String>>>, D::Error> {
    Option::<Vec<String>>::deserialize(d).map(Some)
}

/// The body of `POST /servers`. `networks` defaults to `"auto"` (required from 2.37).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewServer {
    pub name: String,
    #[serde(rename = "imageRef", skip_serializing_if = "Option::is_none")]
    pub image_ref: Option<String>,
    #[serde(rename = "flavorRef")]
    pub flavor_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_image_certificates: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub block_device_mapping_v2: Vec<Value>,
}

impl NewServer {
    /// A server booting `image` with flavor 1 (m1.tiny) and automatic networking.
    pub fn from_image(name: &str, image: &str) -> NewServer {
        NewServer {
            name: name.into(),
            image_ref: Some(image.into()),
            flavor_ref: "1".into(),
            networks: Some(json!("auto")),
            ..NewServer::default()
        }
    }

    /// Pins the server to a host (`availability_zone: "nova:HOST"`).
    pub fn on_host(mut self, host: &str) -> NewServer {
        self.availability_zone = Some(format!("nova:{host}"));
        self
    }

    pub fn trusted(mut self, certificate_ids: &[&str]) -> NewServer {
        self.trusted_image_certificates = Some(certificate_ids.iter().map(|c| (*c).to_owned()).collect());
        self
    }
}

/// What `POST /servers` answers (202).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedServer {
    pub id: String,
    #[serde(rename = "adminPass", default)]
    pub admin_pass: Option<String>,
}

/// `<compute endpoint>` (`.../v2.1`).
pub fn endpoint(session: &Session) -> Result<String, Error> {
    session.endpoint("compute")
}

/// A request at microversion `version` (`2.1`, `2.63`, `latest`).
pub fn request_at(session: &Session, method: Method, url: &str, version: &str) -> reqwest::RequestBuilder {
    session.request(method, url).header("Accept", "application/json").header("OpenStack-API-Version", format!("compute {version}"))
}

fn url(session: &Session, path: &str) -> Result<String, Error> {
    Ok(format!("{}{path}", endpoint(session)?))
}

/// `GET /v2.1`: the version document (`version`, `min_version`).
pub async fn version(session: &Session) -> Result<Value, Error> {
    let u = url(session, "")?;
    session.json(request_at(session, Method::GET, &u, DEFAULT_MICROVERSION)).await
}

pub async fn list_flavors(session: &Session) -> Result<Vec<Value>, Error> {
    let u = url(session, "/flavors/detail")?;
    let body: Value = session.json(request_at(session, Method::GET, &u, DEFAULT_MICROVERSION)).await?;
    Ok(body["flavors"].as_array().cloned().unwrap_or_default())
}

pub async fn get_flavor(session: &Session, id: &str) -> Result<Value, Error> {
    let u = url(session, &format!("/flavors/{id}"))?;
    let body: Value = session.json(request_at(session, Method::GET, &u, DEFAULT_MICROVERSION)).await?;
    Ok(body["flavor"].clone())
}

pub async fn create_server(session: &Session, version: &str, server: &NewServer) -> Result<CreatedServer, Error> {
    #[derive(Deserialize)]
    struct Body {
        server: CreatedServer,
    }
    let u = url(session, "/servers")?;
    let body: Body = session.json(request_at(session, Method::POST, &u, version).json(&json!({"server": server}))).await?;
    Ok(body.server)
}

pub async fn get_server(session: &Session, version: &str, id: &str) -> Result<Server, Error> {
    #[derive(Deserialize)]
    struct Body {
        server: Server,
    }
    let u = url(session, &format!("/servers/{id}"))?;
    let body: Body = session.json(request_at(session, Method::GET, &u, version)).await?;
    Ok(body.server)
}

/// `GET /servers/detail` (`query`: `all_tenants`, `host`, `status`).
pub async fn list_servers(session: &Session, version: &str, query: &[(&str, &str)]) -> Result<Vec<Server>, Error> {
    #[derive(Deserialize)]
    struct Body {
        servers: Vec<Server>,
    }
    let u = url(session, "/servers/detail")?;
    let body: Body = session.json(request_at(session, Method::GET, &u, version).query(query)).await?;
    Ok(body.servers)
}

pub async fn delete_server(session: &Session, id: &str) -> Result<(), Error> {
    let u = url(session, &format!("/servers/{id}"))?;
    session.send(request_at(session, Method::DELETE, &u, DEFAULT_MICROVERSION)).await.map(|_| ())
}

/// `POST /servers/{id}/action` with `body`; the raw response.
pub async fn action(session: &Session, version: &str, id: &str, body: &Value) -> Result<reqwest::Response, Error> {
    let u = url(session, &format!("/servers/{id}/action"))?;
    session.send(request_at(session, Method::POST, &u, version).json(body)).await
}

/// `rebuild`. `trusted_image_certificates`: `None` leaves the key out, `Some(None)` sends
/// `null` (reset), `Some(Some(ids))` a list.
pub async fn rebuild(
    session: &Session,
    version: &str,
    id: &str,
    image: &str,
    trusted: Option<Option<Vec<String>>>,
) -> Result<Server, Error> {
    let mut rebuild = json!({"imageRef": image});
    if let Some(t) = trusted {
        rebuild["trusted_image_certificates"] = json!(t);
    }
    let response = action(session, version, id, &json!({"rebuild": rebuild})).await?;
    let u = response.url().to_string();
    let body: Value = response.json().await.map_err(|e| Error::Decode { url: u.clone(), reason: e.to_string() })?;
    serde_json::from_value(body["server"].clone()).map_err(|e| Error::Decode { url: u, reason: e.to_string() })
}

pub async fn reboot(session: &Session, id: &str, hard: bool) -> Result<(), Error> {
    let body = json!({"reboot": {"type": if hard { "HARD" } else { "SOFT" }}});
    action(session, DEFAULT_MICROVERSION, id, &body).await.map(|_| ())
}

/// `createImage` at 2.45 or later: the snapshot image's id.
pub async fn create_image(session: &Session, id: &str, name: &str) -> Result<String, Error> {
    let response = action(session, "2.45", id, &json!({"createImage": {"name": name}})).await?;
    let u = response.url().to_string();
    let body: Value = response.json().await.map_err(|e| Error::Decode { url: u.clone(), reason: e.to_string() })?;
    body["image_id"].as_str().map(str::to_owned).ok_or(Error::Decode { url: u, reason: "no image_id".into() })
}

/// `evacuate`, to `host` or wherever the scheduler chooses.
pub async fn evacuate(session: &Session, version: &str, id: &str, host: Option<&str>) -> Result<(), Error> {
    let mut body = json!({});
    if let Some(h) = host {
        body["host"] = json!(h);
    }
    action(session, version, id, &json!({"evacuate": body})).await.map(|_| ())
}

#[derive(Deserialize)]
struct VolumeAttachmentBody {
    #[serde(rename = "volumeAttachment")]
    attachment: VolumeAttachment,
}

/// Attaches a volume (`POST /servers/{id}/os-volume_attachments`, 200). Nova answers once the
/// volume is reserved in Cinder; the compute host attaches it afterwards, and the volume is
/// `in-use` when that is done.
pub async fn attach_volume(
    session: &Session,
    version: &str,
    server_id: &str,
    attachment: &NewVolumeAttachment,
) -> Result<VolumeAttachment, Error> {
    let u = url(session, &format!("/servers/{server_id}/os-volume_attachments"))?;
    let body = json!({"volumeAttachment": attachment});
    let answer: VolumeAttachmentBody = session.json(request_at(session, Method::POST, &u, version).json(&body)).await?;
    Ok(answer.attachment)
}

/// `GET /servers/{id}/os-volume_attachments`.
pub async fn list_volume_attachments(session: &Session, version: &str, server_id: &str) -> Result<Vec<VolumeAttachment>, Error> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(rename = "volumeAttachments")]
        attachments: Vec<VolumeAttachment>,
    }
    let u = url(session, &format!("/servers/{server_id}/os-volume_attachments"))?;
    let body: Body = session.json(request_at(session, Method::GET, &u, version)).await?;
    Ok(body.attachments)
}

/// `GET /servers/{id}/os-volume_attachments/{volume_id}`.
pub async fn get_volume_attachment(session: &Session, version: &str, server_id: &str, volume_id: &str) -> Result<VolumeAttachment, Error> {
    let u = url(session, &format!("/servers/{server_id}/os-volume_attachments/{volume_id}"))?;
    let answer: VolumeAttachmentBody = session.json(request_at(session, Method::GET, &u, version)).await?;
    Ok(answer.attachment)
}

/// Detaches a volume (`DELETE /servers/{id}/os-volume_attachments/{volume_id}`, 202); the
/// volume is `detaching` until the compute host is done, then `available`.
pub async fn detach_volume(session: &Session, server_id: &str, volume_id: &str) -> Result<(), Error> {
    let u = url(session, &format!("/servers/{server_id}/os-volume_attachments/{volume_id}"))?;
    session.send(request_at(session, Method::DELETE, &u, DEFAULT_MICROVERSION)).await.map(|_| ())
}

/// Polls until the server reaches one of `statuses` with no task in progress; the last state
/// seen otherwise, as an error.
pub async fn wait_for_server_status(
    session: &Session,
    version: &str,
    id: &str,
    statuses: &[&str],
    timeout: Duration,
) -> Result<Server, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        let server = get_server(session, version, id).await?;
        if statuses.contains(&server.status.as_str()) && server.task_state.is_none() {
            return Ok(server);
        }
        if Instant::now() >= deadline {
            return Err(Error::Decode {
                url: url(session, &format!("/servers/{id}"))?,
                reason: format!("server stayed {} (waited for {})", server.status, statuses.join("|")),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_certificates_absent_null_or_listed() {
        let absent: Server = serde_json::from_value(json!({"id": "s", "status": "ACTIVE"})).unwrap();
        assert_eq!(absent.trusted_image_certificates, None);
        let null: Server = serde_json::from_value(json!({"id": "s", "trusted_image_certificates": null})).unwrap();
        assert_eq!(null.trusted_image_certificates, Some(None));
        let listed: Server = serde_json::from_value(json!({
            "id": "s", "trusted_image_certificates": ["a"], "OS-EXT-STS:vm_state": "error",
            "fault": {"code": 500, "created": "2026-01-01T00:00:00Z", "message": "m"}, "hostId": "h",
        }))
        .unwrap();
        assert_eq!(listed.trusted_image_certificates, Some(Some(vec!["a".to_owned()])));
        assert_eq!(listed.vm_state.as_deref(), Some("error"));
        assert_eq!(listed.fault.unwrap().details, None);
        assert_eq!(listed.extra["hostId"], "h");
    }

    #[test]
    fn new_server_body() {
        let body = serde_json::to_value(NewServer::from_image("vm", "img").on_host("h").trusted(&["c"])).unwrap();
        assert_eq!(
            body,
            json!({"name": "vm", "imageRef": "img", "flavorRef": "1", "networks": "auto", "availability_zone": "nova:h", "trusted_image_certificates": ["c"]})
        );
    }
}
