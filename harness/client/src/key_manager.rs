//! Barbican v1 (service type `key-manager`), and castellan's certificate retrieval as Glance,
//! Nova and Cinder perform it through cursive.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use sigstack_verify::Certificate;

use crate::error::Error;
use crate::session::Session;

/// `GET /v1/secrets/{uuid}` metadata (also one entry of a listing).
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
    #[serde(default)]
    pub bit_length: Option<i64>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
    /// Present from key-manager microversion 1.1.
    #[serde(default)]
    pub consumers: Option<Vec<serde_json::Value>>,
}

/// A `POST /v1/secrets` body; unset fields are left out, as python-barbicanclient does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSecret {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_length: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// ISO 8601; must be in the future.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_content_encoding: Option<String>,
}

impl NewSecret {
    /// The documents' certificate recipe: `secret_type=certificate`, `algorithm=RSA`,
    /// `application/octet-stream`, payload = base64 of the PEM.
    pub fn certificate(name: &str, pem: &[u8]) -> NewSecret {
        use base64::Engine as _;
        NewSecret {
            name: Some(name.into()),
            secret_type: Some("certificate".into()),
            algorithm: Some("RSA".into()),
            payload: Some(base64::engine::general_purpose::STANDARD.encode(pem)),
            payload_content_type: Some("application/octet-stream".into()),
            payload_content_encoding: Some("base64".into()),
            ..NewSecret::default()
        }
    }
}

/// `GET /v1/secrets` query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acl_only: Option<bool>,
    /// e.g. `created:desc,name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
}

/// One page of `GET /v1/secrets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretList {
    pub secrets: Vec<SecretMetadata>,
    pub total: u64,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub previous: Option<String>,
}

/// A secret's ACL: only the `read` operation exists for secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    pub read: AclEntry,
}

/// `{"users": [...], "project-access": bool}`; `created`/`updated` only in answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    #[serde(rename = "project-access", default, skip_serializing_if = "Option::is_none")]
    pub project_access: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
}

/// One entry of Barbican's version document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiVersion {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
    #[serde(default)]
    pub links: Vec<serde_json::Value>,
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

/// The key-manager endpoint without `/v1` (where version discovery lives).
fn root(session: &Session) -> Result<String, Error> {
    let endpoint = session.endpoint("key-manager")?;
    Ok(endpoint.strip_suffix("/v1").map(str::to_owned).unwrap_or(endpoint))
}

/// Version discovery as python-barbicanclient does it: `GET <endpoint>` with
/// `OpenStack-API-Version: key-manager 1.1`, answered with 300 and the version list.
pub async fn version_discovery(session: &Session) -> Result<Vec<ApiVersion>, Error> {
    #[derive(Deserialize)]
    struct Versions {
        versions: Vec<ApiVersion>,
    }
    let url = format!("{}/", root(session)?);
    let request = session.request(Method::GET, &url).header("OpenStack-API-Version", "key-manager 1.1");
    Ok(session.json::<Versions>(request).await?.versions)
}

/// `POST /v1/secrets`; returns the `secret_ref`.
pub async fn create_secret(session: &Session, secret: &NewSecret) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Created {
        secret_ref: String,
    }
    let url = format!("{}/secrets", v1(session)?);
    Ok(session.json::<Created>(session.request(Method::POST, &url).json(secret)).await?.secret_ref)
}

/// `PUT /v1/secrets/{uuid}`: the payload of a secret created without one (204).
/// `content_type` is `application/octet-stream` or `text/plain`; `content_encoding` may be
/// `base64` for binary payloads sent as text.
pub async fn put_payload(
    session: &Session,
    uuid: &str,
    content_type: &str,
    content_encoding: Option<&str>,
    payload: Vec<u8>,
) -> Result<(), Error> {
    let url = format!("{}/secrets/{uuid}", v1(session)?);
    let mut request = session.request(Method::PUT, &url).header("Content-Type", content_type).body(payload);
    if let Some(encoding) = content_encoding {
        request = request.header("Content-Encoding", encoding);
    }
    session.send(request).await.map(|_| ())
}

/// `GET /v1/secrets` with filters and paging.
pub async fn list_secrets(session: &Session, query: &ListQuery) -> Result<SecretList, Error> {
    let url = format!("{}/secrets", v1(session)?);
    session.json(session.request(Method::GET, &url).query(query)).await
}

/// `DELETE /v1/secrets/{uuid}` (204).
pub async fn delete_secret(session: &Session, uuid: &str) -> Result<(), Error> {
    let url = format!("{}/secrets/{uuid}", v1(session)?);
    session.send(session.request(Method::DELETE, &url)).await.map(|_| ())
}

/// `GET /v1/secrets/{uuid}/acl`.
pub async fn get_acl(session: &Session, uuid: &str) -> Result<Acl, Error> {
    let url = format!("{}/secrets/{uuid}/acl", v1(session)?);
    session.json(session.request(Method::GET, &url)).await
}

async fn write_acl(session: &Session, method: Method, uuid: &str, acl: &Acl) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct AclRef {
        acl_ref: String,
    }
    let url = format!("{}/secrets/{uuid}/acl", v1(session)?);
    Ok(session.json::<AclRef>(session.request(method, &url).json(acl)).await?.acl_ref)
}

/// `PUT /v1/secrets/{uuid}/acl`: replaces the ACL; returns the `acl_ref`.
pub async fn set_acl(session: &Session, uuid: &str, acl: &Acl) -> Result<String, Error> {
    write_acl(session, Method::PUT, uuid, acl).await
}

/// `PATCH /v1/secrets/{uuid}/acl`: merges into the ACL; returns the `acl_ref`.
pub async fn patch_acl(session: &Session, uuid: &str, acl: &Acl) -> Result<String, Error> {
    write_acl(session, Method::PATCH, uuid, acl).await
}

/// `DELETE /v1/secrets/{uuid}/acl`: back to the implicit project-wide ACL.
pub async fn delete_acl(session: &Session, uuid: &str) -> Result<(), Error> {
    let url = format!("{}/secrets/{uuid}/acl", v1(session)?);
    session.send(session.request(Method::DELETE, &url)).await.map(|_| ())
}
