//! What a deployment provisions once its services are up, through their public APIs as an
//! installer would: MOS's baseline images (CirrOS, Ubuntu, Fedora, the Octavia amphora and the
//! Ironic deploy image). When `features.glance.signature.enabled` is on at deploy time they are
//! signed with a pre-generated self-signed certificate stored in Barbican, readable (ACL) by
//! every seeded user so that Nova can fetch it with any booting user's token. Turning the
//! switch on later (`/_sim/deployment`) does not sign them: the MOS document says existing
//! images must then be signed by hand.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use sigstack_client::image::{self, NewImage};
use sigstack_client::key_manager::{self, Acl, AclEntry, NewSecret};
use sigstack_client::{Credentials, Session};
use sigstack_verify::{HashMethod, KeyType, SigningKey};

use crate::control::AfterReset;
use crate::deployment::DeploymentState;
use crate::keystone::Seed;

/// The pre-generated self-signed certificate and key baseline images are signed with.
pub const BASELINE_CERTIFICATE: &str = include_str!("../../../fixtures/pki/signing/rsa-2048.crt.pem");
const BASELINE_KEY: &str = include_str!("../../../fixtures/pki/signing/rsa-2048.key.pem");
/// The Barbican secret's name.
pub const BASELINE_SECRET_NAME: &str = "mos-image-signing-certificate";

/// One baseline image: name, formats, size of its synthetic data, tags.
pub struct BaselineImage {
    pub name: &'static str,
    pub container_format: &'static str,
    pub disk_format: &'static str,
    pub size: usize,
    pub tags: &'static [&'static str],
}

/// The baseline set of a MOS cloud.
pub const BASELINE_IMAGES: [BaselineImage; 6] = [
    BaselineImage { name: "Cirros-6.0", container_format: "bare", disk_format: "qcow2", size: 256 * 1024, tags: &[] },
    BaselineImage { name: "Ubuntu-22.04", container_format: "bare", disk_format: "qcow2", size: 512 * 1024, tags: &[] },
    BaselineImage { name: "Fedora-39", container_format: "bare", disk_format: "qcow2", size: 384 * 1024, tags: &[] },
    BaselineImage { name: "amphora-x64-haproxy", container_format: "bare", disk_format: "qcow2", size: 320 * 1024, tags: &["amphora"] },
    BaselineImage { name: "ironic-agent.kernel", container_format: "aki", disk_format: "aki", size: 96 * 1024, tags: &[] },
    BaselineImage { name: "ironic-agent.initramfs", container_format: "ari", disk_format: "ari", size: 192 * 1024, tags: &[] },
];

/// Deterministic image bytes: a qcow2 header for qcow2 images (Glance's format inspector
/// checks it), then a repeating pattern seeded by the name.
pub fn baseline_data(image: &BaselineImage) -> Vec<u8> {
    let mut data = Vec::with_capacity(image.size);
    if image.disk_format == "qcow2" {
        data.extend_from_slice(b"QFI\xfb\x00\x00\x00\x03");
        data.resize(24, 0);
        // virtual size (bytes 24..32): 1 GiB
        data.extend_from_slice(&(1u64 << 30).to_be_bytes());
        data.extend_from_slice(&16u32.to_be_bytes());
    }
    let mut state: u32 = image.name.bytes().fold(2166136261, |h, b| (h ^ u32::from(b)).wrapping_mul(16777619));
    while data.len() < image.size {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(image.size);
    data
}

/// Provisions a deployment (again after every `/_sim/reset`).
pub struct Provisioner {
    admin: Option<Credentials>,
    seed: Seed,
    deployment: Arc<DeploymentState>,
}

impl Provisioner {
    pub fn new(admin: Option<Credentials>, seed: Seed, deployment: Arc<DeploymentState>) -> Provisioner {
        Provisioner { admin, seed, deployment }
    }

    /// Creates what is missing; a data directory that already has the images is left alone.
    pub async fn run(&self) -> Result<Value, String> {
        let deployment = self.deployment.get();
        if !deployment.baseline_images {
            return Ok(json!([]));
        }
        let admin = self.admin.as_ref().ok_or("baseline images need an 'admin' user in the seed")?;
        let session = Session::authenticate(admin).await.map_err(|e| format!("admin login: {e}"))?;
        let existing = image::list_all_images(&session, &[]).await.map_err(|e| format!("image list: {e}"))?;
        let missing: Vec<&BaselineImage> =
            BASELINE_IMAGES.iter().filter(|b| !existing.iter().any(|i| i.name.as_deref() == Some(b.name))).collect();
        if missing.is_empty() {
            return Ok(json!([]));
        }
        let certificate_uuid = if deployment.signature_feature_enabled() { Some(self.store_certificate(&session).await?) } else { None };
        let mut created = Vec::new();
        for baseline in missing {
            created.push(self.create_image(&session, baseline, certificate_uuid.as_deref()).await?);
        }
        Ok(Value::Array(created))
    }

    async fn store_certificate(&self, session: &Session) -> Result<String, String> {
        let secret = NewSecret::certificate(BASELINE_SECRET_NAME, BASELINE_CERTIFICATE.as_bytes());
        let secret_ref = key_manager::create_secret(session, &secret).await.map_err(|e| format!("storing the certificate: {e}"))?;
        let uuid = key_manager::secret_uuid(&secret_ref).to_owned();
        // The secret lives in the admin project; every seeded user may read it (ACL), as the
        // pre-provisioned certificate must be readable by whoever boots a baseline image.
        let users = self.user_ids(session).await?;
        let acl = Acl { read: AclEntry { users: Some(users), project_access: Some(true), ..AclEntry::default() } };
        key_manager::set_acl(session, &uuid, &acl).await.map_err(|e| format!("certificate ACL: {e}"))?;
        Ok(uuid)
    }

    /// Keystone ids of the seeded users (ACLs name users by id).
    async fn user_ids(&self, session: &Session) -> Result<Vec<String>, String> {
        let url = format!("{}/users", sigstack_client::session::v3_url(&session_auth_url(session)?));
        let body: Value = session.json(session.request(reqwest::Method::GET, &url)).await.map_err(|e| format!("user list: {e}"))?;
        let users = body["users"].as_array().cloned().unwrap_or_default();
        Ok(users
            .iter()
            .filter(|u| self.seed.users.iter().any(|s| u["name"] == s.name.as_str()))
            .filter_map(|u| u["id"].as_str().map(str::to_owned))
            .collect())
    }

    async fn create_image(&self, session: &Session, baseline: &BaselineImage, certificate_uuid: Option<&str>) -> Result<Value, String> {
        let data = baseline_data(baseline);
        let mut new = NewImage {
            name: Some(baseline.name.into()),
            container_format: Some(baseline.container_format.into()),
            disk_format: Some(baseline.disk_format.into()),
            visibility: Some("public".into()),
            tags: baseline.tags.iter().map(|t| (*t).to_owned()).collect(),
            ..NewImage::default()
        };
        if let Some(uuid) = certificate_uuid {
            new = new
                .property("img_signature", &sign(&data)?)
                .property("img_signature_hash_method", "SHA-256")
                .property("img_signature_key_type", "RSA-PSS")
                .property("img_signature_certificate_uuid", uuid);
        }
        let created = image::create_image(session, &new).await.map_err(|e| format!("{}: image create: {e}", baseline.name))?;
        let size = data.len() as u64;
        image::upload(session, &created.id, std::io::Cursor::new(data), Some(size))
            .await
            .map_err(|e| format!("{}: upload: {e}", baseline.name))?;
        Ok(json!({"name": baseline.name, "id": created.id, "signed": certificate_uuid.is_some()}))
    }
}

fn session_auth_url(session: &Session) -> Result<String, String> {
    session.endpoint("identity").map_err(|e| format!("identity endpoint: {e}"))
}

/// `openssl dgst -sha256 -sigopt rsa_padding_mode:pss` with the baseline key, base64.
fn sign(data: &[u8]) -> Result<String, String> {
    use base64::Engine as _;
    let key = SigningKey::from_pem(BASELINE_KEY).map_err(|e| e.to_string())?;
    let mut hasher = HashMethod::Sha256.hasher();
    hasher.update(data);
    let digest = hasher.finalize();
    let signature = key.sign_digest(KeyType::RsaPss, HashMethod::Sha256, &digest, &mut rand::rngs::SysRng).map_err(|e| e.to_string())?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signature))
}

impl AfterReset for Provisioner {
    fn after_reset(&self) -> BoxFuture<'_, Result<Value, String>> {
        Box::pin(self.run())
    }
}
