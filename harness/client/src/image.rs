//! Glance v2 (service type `image`): images, JSON-patch updates, streamed upload and download,
//! staging and `glance-direct` import. Requests send `Accept: application/json`, as
//! openstacksdk does, so errors come back as webob's JSON and [`Error::Http`] carries the
//! explanation.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::AsyncRead;

use crate::error::Error;
use crate::session::Session;

/// The v2.1 JSON-patch media type.
pub const PATCH_CONTENT_TYPE: &str = "application/openstack-images-v2.1-json-patch";
const CHUNK: usize = 64 * 1024;

/// An image as `GET /v2/images/{id}` shows it. Custom properties (flattened at the top level
/// by Glance) are collected in `properties`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub status: String,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub os_hidden: bool,
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub os_hash_algo: Option<String>,
    #[serde(default)]
    pub os_hash_value: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub virtual_size: Option<u64>,
    #[serde(default)]
    pub container_format: Option<String>,
    #[serde(default)]
    pub disk_format: Option<String>,
    #[serde(default)]
    pub min_disk: u64,
    #[serde(default)]
    pub min_ram: u64,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(rename = "self", default)]
    pub self_link: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    /// Everything else: custom properties such as `img_signature`.
    #[serde(flatten)]
    pub properties: BTreeMap<String, Value>,
}

impl Image {
    /// A custom property as a string.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).and_then(Value::as_str)
    }
}

/// The body of `POST /v2/images`. Unset fields are left out; `properties` are sent flattened.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewImage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_disk: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ram: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(flatten)]
    pub properties: BTreeMap<String, String>,
}

impl NewImage {
    /// A bare/raw image with this name.
    pub fn raw(name: &str) -> NewImage {
        NewImage { name: Some(name.into()), container_format: Some("bare".into()), disk_format: Some("raw".into()), ..NewImage::default() }
    }

    pub fn property(mut self, key: &str, value: &str) -> NewImage {
        self.properties.insert(key.into(), value.into());
        self
    }
}

/// One JSON-patch operation (`PATCH /v2/images/{id}`). Paths are JSON pointers: `/name`.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchOp {
    Add { path: String, value: Value },
    Replace { path: String, value: Value },
    Remove { path: String },
}

impl PatchOp {
    pub fn to_json(&self) -> Value {
        match self {
            PatchOp::Add { path, value } => json!({"op": "add", "path": path, "value": value}),
            PatchOp::Replace { path, value } => json!({"op": "replace", "path": path, "value": value}),
            PatchOp::Remove { path } => json!({"op": "remove", "path": path}),
        }
    }
}

/// One page of `GET /v2/images`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImagePage {
    pub images: Vec<Image>,
    #[serde(default)]
    pub first: Option<String>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
}

/// `<image endpoint>/v2`.
pub fn v2(session: &Session) -> Result<String, Error> {
    let endpoint = session.endpoint("image")?;
    Ok(if endpoint.ends_with("/v2") { endpoint } else { format!("{endpoint}/v2") })
}

fn image_url(session: &Session, id: &str) -> Result<String, Error> {
    Ok(format!("{}/images/{id}", v2(session)?))
}

fn json_request(session: &Session, method: Method, url: &str) -> reqwest::RequestBuilder {
    session.request(method, url).header("Accept", "application/json")
}

pub async fn create_image(session: &Session, image: &NewImage) -> Result<Image, Error> {
    let url = format!("{}/images", v2(session)?);
    session.json(json_request(session, Method::POST, &url).json(image)).await
}

pub async fn get_image(session: &Session, id: &str) -> Result<Image, Error> {
    let url = image_url(session, id)?;
    session.json(json_request(session, Method::GET, &url)).await
}

/// One page; `query` holds filters and paging (`name`, `status`, `limit`, `marker`, ...).
pub async fn list_images(session: &Session, query: &[(&str, &str)]) -> Result<ImagePage, Error> {
    let url = format!("{}/images", v2(session)?);
    session.json(json_request(session, Method::GET, &url).query(query)).await
}

/// Every page, following `next` links.
pub async fn list_all_images(session: &Session, query: &[(&str, &str)]) -> Result<Vec<Image>, Error> {
    let mut page = list_images(session, query).await?;
    let mut all = std::mem::take(&mut page.images);
    let root = session.endpoint("image")?;
    while let Some(next) = page.next.take() {
        let url = format!("{}{}", root.trim_end_matches("/v2"), next);
        page = session.json(json_request(session, Method::GET, &url)).await?;
        all.append(&mut page.images);
    }
    Ok(all)
}

pub async fn update_image(session: &Session, id: &str, ops: &[PatchOp]) -> Result<Image, Error> {
    let url = image_url(session, id)?;
    let body = Value::Array(ops.iter().map(PatchOp::to_json).collect());
    let request = json_request(session, Method::PATCH, &url).header("Content-Type", PATCH_CONTENT_TYPE).body(body.to_string());
    session.json(request).await
}

pub async fn delete_image(session: &Session, id: &str) -> Result<(), Error> {
    let url = image_url(session, id)?;
    session.send(json_request(session, Method::DELETE, &url)).await.map(|_| ())
}

/// A streaming request body from a reader, read in 64 KiB chunks.
pub fn reader_body<R: AsyncRead + Send + 'static>(reader: R) -> reqwest::Body {
    reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(reader, CHUNK))
}

/// A streaming request body from a stream of chunks.
pub fn stream_body<S, E>(stream: S) -> reqwest::Body
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    reqwest::Body::wrap_stream(stream)
}

async fn put_data(session: &Session, url: &str, body: reqwest::Body, size: Option<u64>) -> Result<(), Error> {
    let mut request = json_request(session, Method::PUT, url).header("Content-Type", "application/octet-stream");
    if let Some(size) = size {
        request = request.header("Content-Length", size);
    }
    session.send(request.body(body)).await.map(|_| ())
}

/// `PUT /v2/images/{id}/file`, streamed (nothing is buffered). `size`, when known, is sent
/// as `Content-Length`.
pub async fn upload<R: AsyncRead + Send + 'static>(session: &Session, id: &str, reader: R, size: Option<u64>) -> Result<(), Error> {
    upload_body(session, id, reader_body(reader), size).await
}

/// [`upload`] with any body ([`reader_body`], [`stream_body`], or bytes).
pub async fn upload_body(session: &Session, id: &str, body: reqwest::Body, size: Option<u64>) -> Result<(), Error> {
    put_data(session, &format!("{}/file", image_url(session, id)?), body, size).await
}

/// `PUT /v2/images/{id}/stage` (the first half of `glance-direct`).
pub async fn stage<R: AsyncRead + Send + 'static>(session: &Session, id: &str, reader: R, size: Option<u64>) -> Result<(), Error> {
    put_data(session, &format!("{}/stage", image_url(session, id)?), reader_body(reader), size).await
}

/// `POST /v2/images/{id}/import` with `{"method": {"name": method}}` (202, empty body).
pub async fn import_image(session: &Session, id: &str, method: &str) -> Result<(), Error> {
    let url = format!("{}/import", image_url(session, id)?);
    let body = json!({"method": {"name": method}});
    session.send(json_request(session, Method::POST, &url).json(&body)).await.map(|_| ())
}

/// `GET /v2/info/import`: the enabled import methods.
pub async fn import_methods(session: &Session) -> Result<Vec<String>, Error> {
    let url = format!("{}/info/import", v2(session)?);
    let body: Value = session.json(json_request(session, Method::GET, &url)).await?;
    Ok(body["import-methods"]["value"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default())
}

/// A download in progress: the headers Glance sent and the byte stream.
pub struct Download {
    /// `Content-MD5` (the image checksum).
    pub content_md5: Option<String>,
    pub content_length: Option<u64>,
    response: reqwest::Response,
}

impl Download {
    pub fn stream(self) -> impl Stream<Item = Result<Bytes, Error>> {
        let url = self.response.url().to_string();
        self.response.bytes_stream().map_err(move |e| Error::Transport { method: "GET".into(), url: url.clone(), reason: e.to_string() })
    }

    /// Collects the whole image (small images only).
    pub async fn bytes(self) -> Result<Bytes, Error> {
        let url = self.response.url().to_string();
        self.response.bytes().await.map_err(|e| Error::Transport { method: "GET".into(), url, reason: e.to_string() })
    }
}

/// `GET /v2/images/{id}/file`; `None` when the image has no data (204).
pub async fn download(session: &Session, id: &str) -> Result<Option<Download>, Error> {
    let url = format!("{}/file", image_url(session, id)?);
    // Errors as JSON; the data itself is octet-stream whatever Accept says.
    let request = session.request(Method::GET, &url).header("Accept", "application/octet-stream, application/json");
    let response = session.send(request).await?;
    if response.status() == reqwest::StatusCode::NO_CONTENT {
        return Ok(None);
    }
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok(Some(Download {
        content_md5: header("Content-MD5"),
        content_length: header("Content-Length").and_then(|v| v.parse().ok()),
        response,
    }))
}

/// Polls until the image reaches one of `statuses` (for imports, which finish
/// asynchronously); the last image seen otherwise, as an error.
pub async fn wait_for_status(session: &Session, id: &str, statuses: &[&str], timeout: Duration) -> Result<Image, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        let image = get_image(session, id).await?;
        if statuses.contains(&image.status.as_str()) {
            return Ok(image);
        }
        if Instant::now() >= deadline {
            return Err(Error::Decode {
                url: image_url(session, id)?,
                reason: format!("image stayed {} (waited for {})", image.status, statuses.join("|")),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
