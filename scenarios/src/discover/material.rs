//! What the signature probes need, made through Barbican and Glance: the signing certificate
//! stored, and the images the Nova and Cinder probes boot and copy. Making them is itself a
//! probe: Glance's answer to tampered data (it verifies on upload) and to a binary-curve key
//! (the key-type profile).

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use sigstack_client::{image, key_manager};
use sigstack_verify::{HashMethod, KeyType, SigningKey};

use super::http::{self, Answer};
use super::{Discovery, Prober};
use crate::config::RunSettings;
use crate::disk_image::{self, DiskImage};
use crate::ledger::Resource;

const SIGNING_KEY: &str = include_str!("../../../fixtures/pki/signing/rsa-2048.key.pem");
const SIGNING_CERTIFICATE: &str = include_str!("../../../fixtures/pki/signing/rsa-2048.crt.pem");
const BINARY_CURVE_KEY: &str = include_str!("../../../fixtures/binary-curves/sect409k1.key.pem");
const BINARY_CURVE_CERTIFICATE: &str = include_str!("../../../fixtures/binary-curves/sect409k1.crt.pem");
const BINARY_CURVE_KEY_TYPE: KeyType = KeyType::Ecc(sigstack_verify::EcCurve::Sect409k1);
/// Bytes of guest data in every probe image.
const DATA_LEN: usize = 100_000;

/// The probe images and what Glance said while they were made.
#[derive(Debug, Clone)]
pub struct Material {
    pub disk: DiskImage,
    /// An image signed with the stored certificate (RSA-PSS, SHA-256), active.
    pub signed_image: String,
    /// Its upload (`PUT .../file -> 204`).
    pub signed_upload: Option<Answer>,
    /// The same data without signature properties, active; `Err`: why there is none.
    pub unsigned_image: Result<String, String>,
    /// Other data (one byte changed) with the signed image's four properties, active;
    /// `Err`: why there is none.
    pub tampered_image: Result<String, String>,
    /// Glance refused tampered data under a signature with cursive's message (`None`: its
    /// answer said neither).
    pub glance_verifies: Option<bool>,
    /// Glance's answer to data signed with a sect409k1 key as `ECC_SECT409K1`.
    pub binary_curve: Option<Answer>,
    /// Why that probe did not run.
    pub binary_curve_evidence: Vec<String>,
}

fn sign(key_pem: &str, key_type: KeyType, data: &[u8]) -> Result<String, String> {
    let key = SigningKey::from_pem(key_pem).map_err(|e| e.to_string())?;
    let hash = HashMethod::Sha256;
    let signature = key.sign_digest(key_type, hash, &hash.digest(data), &mut rand::rngs::SysRng).map_err(|e| e.to_string())?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signature))
}

fn properties(signature: &str, key_type: KeyType, certificate: &str) -> Vec<(&'static str, String)> {
    vec![
        ("img_signature", signature.to_owned()),
        ("img_signature_hash_method", "SHA-256".to_owned()),
        ("img_signature_key_type", key_type.name().to_owned()),
        ("img_signature_certificate_uuid", certificate.to_owned()),
    ]
}

impl Prober {
    /// `POST /v1/secrets` of a certificate (recorded); the secret's uuid.
    async fn store_certificate(&self, what: &str, pem: &str) -> Result<(String, Answer), String> {
        let url = format!("{}/secrets", key_manager::v1(&self.session).map_err(|e| e.to_string())?);
        let secret = key_manager::NewSecret::certificate(&self.name(what), pem.as_bytes());
        let a = http::call(&self.session, self.session.request(Method::POST, &url).json(&secret)).await?;
        let Some(secret_ref) = a.json()["secret_ref"].as_str().filter(|_| a.ok()).map(str::to_owned) else {
            return Err(a.evidence(""));
        };
        let uuid = key_manager::secret_uuid(&secret_ref).to_owned();
        self.record(Resource::Secret { id: uuid.clone() }).await;
        Ok((uuid, a))
    }

    /// `POST /v2/images` (recorded); the image's id.
    pub(super) async fn create_image(&self, what: &str, format: &str, props: &[(&str, String)]) -> Result<String, String> {
        let url = format!("{}/images", image::v2(&self.session).map_err(|e| e.to_string())?);
        let mut body = json!({"name": self.name(what), "container_format": "bare", "disk_format": format});
        for (k, v) in props {
            body[*k] = Value::String(v.clone());
        }
        let request = self.session.request(Method::POST, &url).header("Accept", "application/json").json(&body);
        let a = http::call(&self.session, request).await?;
        let Some(id) = a.json()["id"].as_str().filter(|_| a.ok()).map(str::to_owned) else {
            return Err(a.evidence(""));
        };
        self.record(Resource::Image { id: id.clone() }).await;
        Ok(id)
    }

    /// `PUT /v2/images/{id}/file`, as openstacksdk sends it.
    async fn upload(&self, id: &str, bytes: Vec<u8>) -> Result<Answer, String> {
        let url = format!("{}/images/{id}/file", image::v2(&self.session).map_err(|e| e.to_string())?);
        let request = self
            .session
            .request(Method::PUT, &url)
            .header("Content-Type", "application/octet-stream")
            .header("Accept", "application/json")
            .body(bytes);
        http::call(&self.session, request).await
    }

    /// An image created with `props` and given `bytes`: its id once the upload got 204.
    async fn active_image(&self, what: &str, format: &str, props: &[(&str, String)], bytes: Vec<u8>) -> Result<String, String> {
        let id = self.create_image(what, format, props).await?;
        let a = self.upload(&id, bytes).await?;
        if a.status == 204 { Ok(id) } else { Err(a.evidence("")) }
    }
}

/// Stores the certificates and makes the probe images; `Err` says why the signature probes
/// cannot run (every capability they decide is then undetermined).
pub(super) async fn prepare(p: &Prober, settings: &RunSettings, d: &mut Discovery) -> Result<Material, String> {
    if p.session.endpoint("key-manager").is_err() {
        return Err("the catalog has no key-manager (Barbican) service to store a signing certificate in".into());
    }
    if p.session.endpoint("image").is_err() {
        return Err("the catalog has no image (Glance) service".into());
    }
    eprintln!("discover: storing the signing certificate and uploading the probe images");
    let (certificate, stored) = p.store_certificate("signing", SIGNING_CERTIFICATE).await.map_err(|e| {
        format!("storing the signing certificate in Barbican: {e} (the probing user needs the creator role, or run discover as an admin)")
    })?;
    d.notes.push(format!("Barbican: {}", stored.evidence("the probes' signing certificate (RSA 2048, self-signed)")));

    let seed = p.run.bytes().fold(0u8, |h, b| h.wrapping_mul(31).wrapping_add(b));
    let disk = disk_image::make(settings.image_format, DATA_LEN, seed);
    let format = disk.format.name();
    let signature = sign(SIGNING_KEY, KeyType::RsaPss, &disk.bytes).map_err(|e| format!("signing the probe image: {e}"))?;
    let signed_props = properties(&signature, KeyType::RsaPss, &certificate);

    // The signed image, which must verify and become active.
    let signed_image = p.create_image("signed", format, &signed_props).await.map_err(|e| format!("creating the signed image: {e}"))?;
    let upload = p.upload(&signed_image, disk.bytes.clone()).await.map_err(|e| format!("uploading the signed image: {e}"))?;
    if upload.status != 204 {
        let problem = format!("Glance refused correctly signed {format} data: {}", upload.evidence(""));
        d.problems.push(problem.clone());
        return Err(problem);
    }

    // Tampered data under the same signature: Glance verifies on upload.
    let glance_verifies = match p.create_image("tampered-upload", format, &signed_props).await {
        Ok(id) => match p.upload(&id, disk.tampered()).await {
            Ok(a) if a.status == 400 && a.message().contains("Signature verification failed") => {
                d.notes.push("Glance verifies signatures on upload: yes (every cloud must; @required scenarios check it)".into());
                d.notes.push(format!(
                    "  evidence: {}",
                    a.evidence(&format!("{} (tampered data under a signed image's four properties)", a.message()))
                ));
                if !a.message().ends_with(": Signature verification failed") {
                    d.notes.push("  note: not the message Glance gives (`Signature verification failed for image <id>: Signature verification failed`)".into());
                }
                Some(true)
            }
            Ok(a) if a.ok() => {
                d.notes.push("Glance verifies signatures on upload: NO, it stored tampered data under a signature (the @required Glance scenarios will fail)".into());
                d.notes.push(format!("  evidence: {}", a.evidence("stored")));
                Some(false)
            }
            Ok(a) => {
                d.notes.push(format!("Glance verifies signatures on upload: unclear: {}", a.evidence("")));
                None
            }
            Err(e) => {
                d.problems.push(format!("uploading tampered data: {e}"));
                None
            }
        },
        Err(e) => {
            d.problems.push(format!("creating the tampered-upload image: {e}"));
            None
        }
    };

    // Data signed with a binary-curve key: legacy cursive verifies it, current refuses the key type.
    let mut binary_curve_evidence = Vec::new();
    let binary_curve = match p.store_certificate("sect409k1", BINARY_CURVE_CERTIFICATE).await {
        Ok((sect_certificate, _)) => match sign(BINARY_CURVE_KEY, BINARY_CURVE_KEY_TYPE, &disk.bytes) {
            Ok(sect_signature) => {
                let props = properties(&sect_signature, BINARY_CURVE_KEY_TYPE, &sect_certificate);
                match p.create_image("sect409k1", format, &props).await {
                    Ok(id) => match p.upload(&id, disk.bytes.clone()).await {
                        Ok(a) => Some(a),
                        Err(e) => {
                            d.problems.push(format!("uploading the binary-curve image: {e}"));
                            binary_curve_evidence.push(format!("uploading the binary-curve image: {e}"));
                            None
                        }
                    },
                    Err(e) => {
                        d.problems.push(format!("creating the binary-curve image: {e}"));
                        binary_curve_evidence.push(format!("creating the binary-curve image: {e}"));
                        None
                    }
                }
            }
            Err(e) => {
                binary_curve_evidence.push(format!("signing with the sect409k1 key: {e}"));
                None
            }
        },
        Err(e) => {
            d.problems.push(format!("storing the sect409k1 certificate: {e}"));
            binary_curve_evidence.push(format!("storing the sect409k1 certificate: {e}"));
            None
        }
    };

    // The unsigned image, and the tampered one: other data, then the signed image's
    // properties by PATCH (Glance verifies on upload only).
    let unsigned_image = p.active_image("unsigned", format, &[], disk.bytes.clone()).await.map_err(|e| format!("the unsigned image: {e}"));
    let tampered_image = match p.active_image("tampered", format, &[], disk.tampered()).await {
        Ok(id) => {
            let url = format!("{}/images/{id}", image::v2(&p.session).map_err(|e| e.to_string())?);
            let ops: Vec<Value> = signed_props.iter().map(|(k, v)| json!({"op": "add", "path": format!("/{k}"), "value": v})).collect();
            let request = p
                .session
                .request(Method::PATCH, &url)
                .header("Content-Type", image::PATCH_CONTENT_TYPE)
                .header("Accept", "application/json")
                .body(Value::Array(ops).to_string());
            match http::call(&p.session, request).await {
                Ok(a) if a.ok() => Ok(id),
                Ok(a) => Err(format!("adding the signature to the tampered image: {}", a.evidence(""))),
                Err(e) => Err(format!("adding the signature to the tampered image: {e}")),
            }
        }
        Err(e) => Err(format!("the tampered image: {e}")),
    };
    for failed in [&unsigned_image, &tampered_image].into_iter().filter_map(|r| r.as_ref().err()) {
        d.problems.push(failed.clone());
    }
    Ok(Material {
        disk,
        signed_image,
        signed_upload: Some(upload),
        unsigned_image,
        tampered_image,
        glance_verifies,
        binary_curve,
        binary_curve_evidence,
    })
}
