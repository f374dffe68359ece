//! Barbican v1 (service type `key-manager`): secrets, ACLs, key orders and castellan's
//! `create_key` over them, and castellan's certificate retrieval as Glance,
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
    let bytes = response.bytes().await.map_err(|e| Error::Transport { method: "GET".into(), url: url.clone(), reason: e.to_string() })?;
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
    let (metadata, payload) = castellan_get(session, uuid).await.map_err(map)?;
    let format = castellan_format(&metadata.secret_type);
    if format != "X.509" {
        return Err(V::InvalidCertificateFormat(format.to_owned()));
    }
    Certificate::from_pem(&payload).map_err(|_| V::PemLoad("MalformedFraming".into()))
}

/// castellan's `BarbicanKeyManager.get`: the secret's metadata, then its payload in the
/// secret's default content type (as barbicanclient's lazy `Secret.payload` does).
pub async fn castellan_get(session: &Session, uuid: &str) -> Result<(SecretMetadata, Vec<u8>), Error> {
    let metadata = get_secret(session, uuid).await?;
    let accept =
        metadata.content_types.as_ref().and_then(|c| c.get("default")).cloned().unwrap_or_else(|| "application/octet-stream".into());
    let payload = get_payload(session, uuid, &accept).await?;
    Ok((metadata, payload))
}

/// The message of the castellan exception a failed `get` of `uuid` raises: a 404 is
/// `ManagedObjectNotFoundError`; any other failure is `KeyManagerError`, whose reason is
/// barbicanclient's `<title>: <description>` of Barbican's error body.
pub fn castellan_error(uuid: &str, error: &Error) -> String {
    if error.is_not_found() {
        return format!("Key not found, uuid: {uuid}");
    }
    let reason = match error {
        Error::Http { body, .. } => {
            let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
            let field = |k: &str| parsed.as_ref().and_then(|v| v.get(k)).and_then(|v| v.as_str()).map(str::to_owned);
            match (field("title"), field("description")) {
                (Some(title), Some(description)) if !description.is_empty() => format!("{title}: {description}"),
                (Some(title), _) => title,
                _ => crate::error::error_message(body),
            }
        }
        other => other.to_string(),
    };
    format!("Key manager error: {reason}")
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

// ---- orders ----

/// `meta` of a key order as python-barbicanclient's `KeyOrder` sends it; unset fields are
/// left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyOrderMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub algorithm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_length: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    pub payload_content_type: String,
}

/// `GET /v1/orders/{uuid}` (also one entry of a listing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderMetadata {
    pub order_ref: String,
    #[serde(rename = "type")]
    pub order_type: String,
    /// `PENDING`, `ACTIVE` or `ERROR`.
    pub status: String,
    /// Set once a key order is `ACTIVE`.
    #[serde(default)]
    pub secret_ref: Option<String>,
    #[serde(default)]
    pub creator_id: Option<String>,
    #[serde(default)]
    pub meta: serde_json::Value,
    #[serde(default)]
    pub sub_status: Option<String>,
    #[serde(default)]
    pub sub_status_message: Option<String>,
    /// Set when the order is in `ERROR`.
    #[serde(default)]
    pub error_status_code: Option<serde_json::Value>,
    #[serde(default)]
    pub error_reason: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
}

/// One page of `GET /v1/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderList {
    pub orders: Vec<OrderMetadata>,
    pub total: u64,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub previous: Option<String>,
}

/// castellan's `[barbican] number_of_retries` default: GETs of the order before giving up.
pub const ORDER_RETRIES: u32 = 60;
/// Between two GETs of a pending order. castellan waits `retry_delay` (1 s); Barbican with
/// its synchronous queue answers `ACTIVE` at once, so a short delay keeps a slow Barbican's
/// worst case at a few seconds instead of a minute.
pub const ORDER_RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// `POST /v1/orders` with a `key` order (`application/octet-stream` payload, as castellan
/// asks); returns the `order_ref` (202).
pub async fn create_key_order(session: &Session, name: Option<&str>, algorithm: &str, bit_length: Option<i64>) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Created {
        order_ref: String,
    }
    let meta = KeyOrderMeta {
        name: name.map(str::to_owned),
        algorithm: algorithm.to_owned(),
        bit_length,
        mode: None,
        payload_content_type: "application/octet-stream".into(),
    };
    let url = format!("{}/orders", v1(session)?);
    let body = serde_json::json!({"type": "key", "meta": meta});
    Ok(session.json::<Created>(session.request(Method::POST, &url).json(&body)).await?.order_ref)
}

/// `GET /v1/orders/{uuid}`.
pub async fn get_order(session: &Session, uuid: &str) -> Result<OrderMetadata, Error> {
    let url = format!("{}/orders/{uuid}", v1(session)?);
    session.json(session.request(Method::GET, &url).header("Accept", "application/json")).await
}

/// `GET /v1/orders` with `limit` and `offset`.
pub async fn list_orders(session: &Session, limit: Option<u32>, offset: Option<u32>) -> Result<OrderList, Error> {
    #[derive(Serialize)]
    struct Paging {
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        offset: Option<u32>,
    }
    let url = format!("{}/orders", v1(session)?);
    session.json(session.request(Method::GET, &url).query(&Paging { limit, offset })).await
}

/// `DELETE /v1/orders/{uuid}` (204); the generated secret stays.
pub async fn delete_order(session: &Session, uuid: &str) -> Result<(), Error> {
    let url = format!("{}/orders/{uuid}", v1(session)?);
    session.send(session.request(Method::DELETE, &url)).await.map(|_| ())
}

/// castellan's `BarbicanKeyManager.create_key`: posts a key order, then `_get_active_order`
/// polls it (at most [`ORDER_RETRIES`] GETs, [`ORDER_RETRY_DELAY`] apart) until it is
/// `ACTIVE`, and returns the uuid of its `secret_ref`. An order in `ERROR`, one that stays
/// pending, or an `ACTIVE` one without a `secret_ref` is an error with castellan's reason.
pub async fn create_key(session: &Session, name: Option<&str>, algorithm: &str, bit_length: Option<i64>) -> Result<String, Error> {
    let order_ref = create_key_order(session, name, algorithm, bit_length).await?;
    let uuid = secret_uuid(&order_ref).to_owned();
    let failed = |reason: String| Error::Decode { url: order_ref.clone(), reason };
    for attempt in 0..ORDER_RETRIES {
        let order = get_order(session, &uuid).await?;
        match order.status.as_str() {
            "ACTIVE" => {
                let secret_ref = order.secret_ref.ok_or_else(|| failed("ACTIVE key order without a secret_ref".into()))?;
                return Ok(secret_uuid(&secret_ref).to_owned());
            }
            "ERROR" => {
                let code =
                    order.error_status_code.map_or_else(|| "None".to_owned(), |c| c.as_str().map_or_else(|| c.to_string(), str::to_owned));
                let reason = order.error_reason.unwrap_or_else(|| "None".into());
                return Err(failed(format!("Order is in ERROR status - status code: {code}, status reason: {reason}")));
            }
            _ if attempt + 1 < ORDER_RETRIES => tokio::time::sleep(ORDER_RETRY_DELAY).await,
            _ => {}
        }
    }
    Err(failed(format!("Exceeded retries: Failed to find 'ACTIVE' status within {ORDER_RETRIES} retries")))
}

#[cfg(test)]
mod tests {
    use super::{Error, castellan_error};

    fn http(status: u16, body: &str) -> Error {
        Error::Http {
            status,
            method: "GET".into(),
            url: "http://127.0.0.1:9311/v1/secrets/k".into(),
            message: String::new(),
            body: body.into(),
        }
    }

    #[test]
    fn castellan_errors_read_as_castellan_words_them() {
        assert_eq!(
            castellan_error("k", &http(404, r#"{"code": 404, "title": "Not Found", "description": "Secret not found."}"#)),
            "Key not found, uuid: k"
        );
        let refused = r#"{"code": 403, "title": "Forbidden", "description": "Secret retrieval attempt not allowed - please review your user/project privileges"}"#;
        assert_eq!(
            castellan_error("k", &http(403, refused)),
            "Key manager error: Forbidden: Secret retrieval attempt not allowed - please review your user/project privileges"
        );
        assert_eq!(
            castellan_error("k", &http(500, r#"{"title": "Internal Server Error", "description": ""}"#)),
            "Key manager error: Internal Server Error"
        );
        let gone = Error::Transport { method: "GET".into(), url: "u".into(), reason: "connection refused".into() };
        assert_eq!(castellan_error("k", &gone), "Key manager error: GET u failed: connection refused");
    }
}
