//! Keystone v3 password authentication, the service catalog, and authenticated requests.
//! One `Session` serves the CLI, the conformance steps, the operator tools and the simulated
//! services calling each other (Glance reaching Barbican with the uploading user's token).

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, error_message};

/// Password credentials, as in a `clouds.yaml` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub auth_url: String,
    pub username: String,
    pub password: String,
    #[serde(default = "default_domain")]
    pub user_domain_name: String,
    /// Scope: project name (with `project_domain_name`) or, if set, `project_id`.
    pub project_name: Option<String>,
    pub project_id: Option<String>,
    #[serde(default = "default_domain")]
    pub project_domain_name: String,
    pub region_name: Option<String>,
    /// Endpoint interface: `public` (default), `internal` or `admin`.
    #[serde(default = "default_interface")]
    pub interface: String,
}

fn default_domain() -> String {
    "Default".into()
}

fn default_interface() -> String {
    "public".into()
}

/// One endpoint of a catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    #[serde(default)]
    pub id: String,
    pub interface: String,
    #[serde(default)]
    pub region_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub url: String,
}

/// A catalog entry: one service and its endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    #[serde(rename = "type")]
    pub service_type: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id: String,
    pub endpoints: Vec<Endpoint>,
}

/// Names a role or a project in a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// The parts of a Keystone token the tools use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub value: String,
    pub expires_at: String,
    pub user: Named,
    pub project: Option<Named>,
    pub roles: Vec<Named>,
    pub catalog: Vec<CatalogEntry>,
}

/// Service types and the aliases os-service-types accepts for them.
fn service_type_aliases(service_type: &str) -> &'static [&'static str] {
    match service_type {
        "block-storage" | "volumev3" | "volumev2" | "volume" | "block-store" => {
            &["block-storage", "volumev3", "volumev2", "volume", "block-store"]
        }
        "key-manager" => &["key-manager"],
        "image" => &["image"],
        "compute" => &["compute"],
        "identity" => &["identity"],
        _ => &[],
    }
}

/// An authenticated session against one cloud.
#[derive(Debug, Clone)]
pub struct Session {
    http: reqwest::Client,
    token: Token,
    interface: String,
    region: Option<String>,
}

/// Timeouts: loopback services answer in milliseconds; real clouds get more slack.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

impl Session {
    /// `POST /v3/auth/tokens` with a password, scoped to the project.
    pub async fn authenticate(credentials: &Credentials) -> Result<Session, Error> {
        Self::authenticate_with(http_client(), credentials).await
    }

    pub async fn authenticate_with(http: reqwest::Client, c: &Credentials) -> Result<Session, Error> {
        let project = match (&c.project_id, &c.project_name) {
            (Some(id), _) => json!({"project": {"id": id}}),
            (None, Some(name)) => json!({"project": {"name": name, "domain": {"name": c.project_domain_name}}}),
            (None, None) => return Err(Error::Config("credentials need a project_name or project_id".into())),
        };
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": c.username, "domain": {"name": c.user_domain_name}, "password": c.password}}},
            "scope": project}});
        let url = format!("{}/auth/tokens", v3_url(&c.auth_url));
        let response = send(http.post(&url).json(&body), "POST", &url).await?;
        let value = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| Error::Decode { url: url.clone(), reason: "no X-Subject-Token header".into() })?;
        let body: serde_json::Value = decode(response, &url).await?;
        let token = parse_token(value, &body["token"], &url)?;
        Ok(Session { http, token, interface: c.interface.clone(), region: c.region_name.clone() })
    }

    /// A session for a token obtained elsewhere (a service acting for a user).
    pub fn from_token(http: reqwest::Client, token: Token) -> Session {
        Session { http, token, interface: "public".into(), region: None }
    }

    pub fn token(&self) -> &Token {
        &self.token
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The endpoint URL for a service type (aliases accepted), on the session's interface and
    /// region, without a trailing slash.
    pub fn endpoint(&self, service_type: &str) -> Result<String, Error> {
        let aliases = service_type_aliases(service_type);
        let wanted = |t: &str| t == service_type || aliases.contains(&t);
        self.token
            .catalog
            .iter()
            .filter(|e| wanted(&e.service_type))
            .flat_map(|e| e.endpoints.iter())
            .find(|ep| {
                ep.interface == self.interface
                    && self.region.as_ref().is_none_or(|r| ep.region_id.as_ref() == Some(r) || ep.region.as_ref() == Some(r))
            })
            .map(|ep| ep.url.trim_end_matches('/').to_owned())
            .ok_or_else(|| Error::NoEndpoint { service_type: service_type.into(), interface: self.interface.clone() })
    }

    /// A request carrying the session's token.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.http.request(method, url).header("X-Auth-Token", &self.token.value)
    }

    /// Sends, turning non-success statuses into [`Error::Http`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        let probe = request.try_clone().and_then(|r| r.build().ok());
        let (method, url) = probe
            .map(|r| (r.method().to_string(), r.url().to_string()))
            .unwrap_or_else(|| ("?".into(), "?".into()));
        send(request, &method, &url).await
    }

    /// Sends and decodes a JSON body.
    pub async fn json<T: serde::de::DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        let response = self.send(request).await?;
        let url = response.url().to_string();
        decode(response, &url).await
    }
}

/// The auth URL's v3 root: `http://h:5000` and `http://h:5000/v3/` both give `http://h:5000/v3`.
pub fn v3_url(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with("/v3") { base.to_owned() } else { format!("{base}/v3") }
}

pub(crate) async fn send(request: RequestBuilder, method: &str, url: &str) -> Result<Response, Error> {
    // A server may close a kept-alive connection just after an error answer (real Glance does
    // after refusing an upload body it did not read); the next request on that pooled
    // connection then fails before a byte is answered. Safe methods are retried once on a
    // transport error, as urllib3 retries connection errors for python clients.
    let retry = if matches!(method, "GET" | "HEAD") { request.try_clone() } else { None };
    let sent = match (request.send().await, retry) {
        (Err(e), Some(again)) if !e.is_timeout() => again.send().await,
        (result, _) => result,
    };
    let response = sent.map_err(|e| Error::Transport {
        method: method.into(),
        url: url.into(),
        reason: e.to_string(),
    })?;
    if response.status().is_success() || response.status().is_redirection() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    Err(Error::Http { status, method: method.into(), url: url.into(), message: error_message(&body), body })
}

pub(crate) async fn decode<T: serde::de::DeserializeOwned>(response: Response, url: &str) -> Result<T, Error> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::Transport { method: "GET".into(), url: url.into(), reason: e.to_string() })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Decode { url: url.into(), reason: e.to_string() })
}

/// Reads a Keystone token body (`{"token": {...}}`'s inner object).
pub fn parse_token(value: String, body: &serde_json::Value, url: &str) -> Result<Token, Error> {
    let field = |v: &serde_json::Value, what: &str| -> Result<Named, Error> {
        serde_json::from_value(v.clone()).map_err(|e| Error::Decode { url: url.into(), reason: format!("token {what}: {e}") })
    };
    Ok(Token {
        value,
        expires_at: body["expires_at"].as_str().unwrap_or_default().to_owned(),
        user: field(&body["user"], "user")?,
        project: if body["project"].is_null() { None } else { Some(field(&body["project"], "project")?) },
        roles: serde_json::from_value(body["roles"].clone()).unwrap_or_default(),
        catalog: serde_json::from_value(body["catalog"].clone()).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Reads one request head (the tests send no bodies).
    async fn read_head(socket: &mut tokio::net::TcpStream) -> bool {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            match socket.read(&mut byte).await {
                Ok(1) => buf.push(byte[0]),
                _ => return false,
            }
        }
        true
    }

    #[tokio::test]
    async fn a_get_on_a_connection_the_server_dropped_is_retried_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            // First connection: answer one request as keep-alive, then drop the connection
            // when the second request arrives, without answering it.
            let (mut first, _) = listener.accept().await.unwrap();
            assert!(read_head(&mut first).await);
            first.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none").await.unwrap();
            assert!(read_head(&mut first).await, "the client reused the connection");
            drop(first);
            // Second connection: the retry.
            let (mut second, _) = listener.accept().await.unwrap();
            assert!(read_head(&mut second).await);
            second.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo").await.unwrap();
        });
        let http = reqwest::Client::new();
        let url = format!("http://{addr}/x");
        let one = super::send(http.get(&url), "GET", &url).await.unwrap().text().await.unwrap();
        let two = super::send(http.get(&url), "GET", &url).await.unwrap().text().await.unwrap();
        assert_eq!((one.as_str(), two.as_str()), ("one", "two"));
        server.await.unwrap();
    }

    #[tokio::test]
    async fn other_methods_are_not_retried() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let _ = read_head(&mut socket).await;
            drop(socket);
            // A retry would be accepted here and hang the test's request forever.
            let _ = listener.accept().await;
            std::future::pending::<()>().await;
        });
        let http = reqwest::Client::new();
        let url = format!("http://{addr}/x");
        let err = super::send(http.post(&url), "POST", &url).await.unwrap_err();
        assert!(matches!(err, crate::Error::Transport { .. }), "{err:?}");
    }
}
