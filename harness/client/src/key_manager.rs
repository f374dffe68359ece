//! Barbican v1 (service type `key-manager`), and castellan's certificate retrieval as Glance,
//! Nova and Cinder perform it through cursive.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use sigstack_verify::Certificate;

use crate::error::Error;
use crate::session::Session;

/// `GET /v1/secrets/{uuid}` metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretMetadata {
    pub secret_ref: String,
    #[serde(default)]
    pub name: Option<String>,
    pub secret_type: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub content_types: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub algorithm: Option<String>,
    #[serde(default)]
    pub expiration: Option<String>,
    #[serde(default)]
    pub creator_id: Option<String>,
}

/// The secret's uuid: the last path segment of its `secret_ref`.
pub fn secret_uuid(secret_ref: &str) -> &str {
    secret_ref.trim_end_matches('/').rsplit('/').next().unwrap_or(secret_ref)
}

/// Barbican's API root, `<key-manager endpoint>/v1`.
pub fn v1(session: &Session) -> Result<String, Error> {
    let endpoint = session.endpoint("key-manager")?;
    Ok(if endpoint.ends_with("/v1") { endpoint } else { format!("{endpoint}/v1") })
}

/// `GET /v1/secrets/{uuid}` with `Accept: application/json`.
pub async fn get_secret(session: &Session, uuid: &str) -> Result<SecretMetadata, Error> {
    let url = format!("{}/secrets/{uuid}", v1(session)?);
    session.json(session.request(Method::GET, &url).header("Accept", "application/json")).await
}

/// `GET /v1/secrets/{uuid}/payload` with the given `Accept`.
pub async fn get_payload(session: &Session, uuid: &str, accept: &str) -> Result<Vec<u8>, Error> {
    let url = format!("{}/secrets/{uuid}/payload", v1(session)?);
    let response = session.send(session.request(Method::GET, &url).header("Accept", accept)).await?;
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::Transport { method: "GET".into(), url: url.clone(), reason: e.to_string() })?;
    Ok(bytes.to_vec())
}

/// The castellan object format for a Barbican secret type (what cursive checks).
pub fn castellan_format(secret_type: &str) -> &'static str {
    match secret_type {
        "certificate" => "X.509",
        "private" => "PKCS8",
        "public" => "SubjectPublicKeyInfo",
        "symmetric" | "passphrase" => "RAW",
        _ => "Opaque",
    }
}

/// cursive's `get_certificate` over castellan's Barbican backend: metadata GET, payload GET,
/// PEM to DER, with cursive's error mapping. A 404 (including an expired secret) is
/// "Certificate not found"; any other failure (403, 5xx, no answer) is "Unable to retrieve";
/// a secret that is not a certificate is "Invalid certificate format"; a certificate payload
/// that is not PEM escapes as cryptography's `ValueError`, as it does in castellan.
pub async fn get_certificate(session: &Session, uuid: &str) -> Result<Certificate, sigstack_verify::Error> {
    use sigstack_verify::Error as V;
    let map = |e: Error| if e.is_not_found() { V::CertificateNotFound(uuid.to_owned()) } else { V::CertificateRetrieval(uuid.to_owned()) };
    let metadata = get_secret(session, uuid).await.map_err(map)?;
    let accept = metadata
        .content_types
        .as_ref()
        .and_then(|c| c.get("default"))
        .cloned()
        .unwrap_or_else(|| "application/octet-stream".into());
    let payload = get_payload(session, uuid, &accept).await.map_err(map)?;
    let format = castellan_format(&metadata.secret_type);
    if format != "X.509" {
        return Err(V::InvalidCertificateFormat(format.to_owned()));
    }
    Certificate::from_pem(&payload).map_err(|_| V::PemLoad("MalformedFraming".into()))
}
