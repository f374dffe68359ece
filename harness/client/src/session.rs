//! Keystone v3 authentication, the service catalog, and authenticated requests. One
//! `Session` serves the CLI, the conformance steps, the operator tools and the simulated
//! services calling each other (Glance reaching Barbican with the uploading user's token).
//!
//! A session made from credentials renews its token as keystoneauth does: shortly before it
//! expires, and once when a service answers 401 (the request is then sent again if its body
//! can be replayed; a streamed upload cannot, which the early renewal covers).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use reqwest::header::HeaderValue;
use reqwest::{Method, Request, RequestBuilder, Response};
use serde::{Deserialize, Serialize};

pub use crate::auth::{AuthType, Credentials};
use crate::auth::{names_v3, v3_from_versions};
use crate::error::{Error, error_message};
use crate::tls::{TlsOptions, http_client_for, tls_failure};

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

impl Token {
    /// Seconds until `expires_at` (negative once expired); `None` when it cannot be read.
    pub fn seconds_left(&self) -> Option<i64> {
        self.time_left().map(|d| d.whole_seconds())
    }

    /// Time until `expires_at` (negative once expired).
    pub fn time_left(&self) -> Option<time::Duration> {
        let expires = time::OffsetDateTime::parse(&self.expires_at, &time::format_description::well_known::Rfc3339).ok()?;
        Some(expires - time::OffsetDateTime::now_utc())
    }
}

/// Service types and the aliases os-service-types accepts for them.
pub fn service_type_aliases(service_type: &str) -> &'static [&'static str] {
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

/// keystoneauth renews a token this long before it expires (`STALE_TOKEN_DURATION`).
const STALE_TOKEN: time::Duration = time::Duration::seconds(30);

/// How long before its expiry a token is renewed: keystoneauth's 30 s, or half its lifetime
/// for tokens shorter-lived than a minute (a cloud with `[token] expiration = 10` would
/// otherwise get a new token for every request).
fn stale_window(token: &Token) -> time::Duration {
    token.time_left().map_or(STALE_TOKEN, |lifetime| STALE_TOKEN.min(lifetime / 2))
}

/// The session's token and when it counts as stale.
#[derive(Debug)]
struct HeldToken {
    token: Token,
    stale_window: time::Duration,
    /// The last few tokens it replaced, so a request built before a renewal is still known
    /// as this session's.
    earlier: Vec<String>,
}

impl HeldToken {
    fn new(token: Token) -> HeldToken {
        HeldToken { stale_window: stale_window(&token), token, earlier: Vec::new() }
    }

    fn renewed(self, token: Token) -> HeldToken {
        let mut earlier = self.earlier;
        earlier.push(self.token.value);
        let keep = earlier.len().saturating_sub(8);
        earlier.drain(..keep);
        HeldToken { earlier, ..HeldToken::new(token) }
    }
}

/// An authenticated session against one cloud. Clones share the token, so a renewal by one
/// serves all.
#[derive(Debug, Clone)]
pub struct Session {
    http: reqwest::Client,
    token: Arc<RwLock<HeldToken>>,
    /// What renews the token; `None` for a session made from someone else's token.
    credentials: Option<Arc<Credentials>>,
    renewal: Arc<tokio::sync::Mutex<()>>,
    interface: String,
    region: Option<String>,
    endpoint_overrides: BTreeMap<String, String>,
}

/// The HTTP client for plain loopback use and the system's roots (the simulated services
/// calling each other; the suite's steps).
pub fn http_client() -> reqwest::Client {
    http_client_for(&TlsOptions::default()).expect("the default TLS configuration builds")
}

impl Session {
    /// Authenticates with the credentials' auth plugin, over HTTP(S) as their TLS options say.
    pub async fn authenticate(credentials: &Credentials) -> Result<Session, Error> {
        Self::authenticate_with(http_client_for(&credentials.tls)?, credentials).await
    }

    pub async fn authenticate_with(http: reqwest::Client, c: &Credentials) -> Result<Session, Error> {
        // A missing option is reported before any request; Keystone's v3 URL is discovered
        // once, and renewals go straight to it.
        c.auth_request()?;
        let discovered = Credentials { auth_url: identity_v3_url(&http, &c.auth_url).await?, ..c.clone() };
        let token = issue_token(&http, &discovered).await?;
        Ok(Session {
            http,
            token: Arc::new(RwLock::new(HeldToken::new(token))),
            credentials: c.can_reauthenticate().then(|| Arc::new(discovered)),
            renewal: Arc::new(tokio::sync::Mutex::new(())),
            interface: c.interface.clone(),
            region: c.region_name.clone(),
            endpoint_overrides: c.endpoint_overrides.clone(),
        })
    }

    /// A session for a token obtained elsewhere (a service acting for a user). It is never
    /// renewed.
    pub fn from_token(http: reqwest::Client, token: Token) -> Session {
        Session {
            http,
            token: Arc::new(RwLock::new(HeldToken::new(token))),
            credentials: None,
            renewal: Arc::new(tokio::sync::Mutex::new(())),
            interface: "public".into(),
            region: None,
            endpoint_overrides: BTreeMap::new(),
        }
    }

    /// The current token (a copy: a renewal replaces it).
    pub fn token(&self) -> Token {
        self.token.read().unwrap_or_else(|e| e.into_inner()).token.clone()
    }

    fn token_value(&self) -> String {
        self.token.read().unwrap_or_else(|e| e.into_inner()).token.value.clone()
    }

    /// Whether the token is close enough to its expiry to be renewed before use.
    fn token_is_stale(&self) -> bool {
        let held = self.token.read().unwrap_or_else(|e| e.into_inner());
        held.token.time_left().is_some_and(|left| left < held.stale_window)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The endpoint URL for a service type (aliases accepted): the clouds.yaml override if
    /// there is one, else the catalog's on the session's interface and region; without a
    /// trailing slash, `$(project_id)s` / `%(project_id)s` replaced by the token's project.
    pub fn endpoint(&self, service_type: &str) -> Result<String, Error> {
        let aliases = service_type_aliases(service_type);
        let wanted = |t: &str| t == service_type || aliases.contains(&t);
        let held = self.token.read().unwrap_or_else(|e| e.into_inner());
        let token = &held.token;
        let project = token.project.as_ref().map(|p| p.id.as_str()).unwrap_or_default();
        let fill = |url: &str| {
            url.trim_end_matches('/')
                .replace("$(project_id)s", project)
                .replace("%(project_id)s", project)
                .replace("$(tenant_id)s", project)
        };
        if let Some(url) = self.endpoint_overrides.iter().find(|(t, _)| wanted(t)).map(|(_, u)| u) {
            return Ok(fill(url));
        }
        token
            .catalog
            .iter()
            .filter(|e| wanted(&e.service_type))
            .flat_map(|e| e.endpoints.iter())
            .find(|ep| {
                ep.interface == self.interface
                    && self.region.as_ref().is_none_or(|r| ep.region_id.as_ref() == Some(r) || ep.region.as_ref() == Some(r))
            })
            .map(|ep| fill(&ep.url))
            .ok_or_else(|| Error::NoEndpoint { service_type: service_type.into(), interface: self.interface.clone() })
    }

    /// A request carrying the session's token (the current one is set again when it is sent).
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.http.request(method, url).header("X-Auth-Token", self.token_value())
    }

    /// Sends, turning non-success statuses into [`Error::Http`]. A request carrying the
    /// session's token goes with a fresh one, and a 401 renews it once and replays the request.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        let request = built(request)?;
        let method = request.method().to_string();
        checked(&method, self.dispatch(request).await?).await
    }

    /// As [`Session::send`] (fresh token, one renewal and replay on a 401), but any answer is
    /// returned as it came, whatever its status: for callers that judge the status themselves
    /// (the conformance steps recording what a service said). Only a failure to get an answer
    /// is an error.
    pub async fn send_answered(&self, request: RequestBuilder) -> Result<Response, Error> {
        self.dispatch(built(request)?).await
    }

    async fn dispatch(&self, mut request: Request) -> Result<Response, Error> {
        let authenticated = request.headers().contains_key("X-Auth-Token");
        if !authenticated || self.credentials.is_none() {
            return execute(&self.http, request).await;
        }
        if self.token_is_stale() {
            let stale = self.token_value();
            self.renew(&stale).await?;
        }
        let used = self.token_value();
        set_token(&mut request, &used);
        let replay = request.try_clone();
        let response = execute(&self.http, request).await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        // The token is renewed either way, so the caller's next request (or its retry of a
        // streamed upload) goes with a valid one.
        self.renew(&used).await?;
        let Some(mut again) = replay else { return Ok(response) };
        set_token(&mut again, &self.token_value());
        execute(&self.http, again).await
    }

    /// Whether `token` is this session's, current or one it renewed recently (which session
    /// a request built earlier belongs to).
    pub fn holds_token(&self, token: &str) -> bool {
        let held = self.token.read().unwrap_or_else(|e| e.into_inner());
        held.token.value == token || held.earlier.iter().any(|t| t == token)
    }

    /// Gets a new token unless another task already replaced `stale`.
    async fn renew(&self, stale: &str) -> Result<(), Error> {
        let Some(credentials) = &self.credentials else { return Ok(()) };
        let _one_at_a_time = self.renewal.lock().await;
        if self.token_value() != stale {
            return Ok(());
        }
        let token = issue_token(&self.http, credentials).await?;
        let mut held = self.token.write().unwrap_or_else(|e| e.into_inner());
        let previous = std::mem::replace(&mut *held, HeldToken::new(token.clone()));
        *held = previous.renewed(token);
        Ok(())
    }

    /// Sends and decodes a JSON body.
    pub async fn json<T: serde::de::DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        let response = self.send(request).await?;
        let url = response.url().to_string();
        decode(response, &url).await
    }
}

fn built(request: RequestBuilder) -> Result<Request, Error> {
    let (_, built) = request.build_split();
    built.map_err(|e| Error::Config(format!("invalid request: {e}")))
}

fn set_token(request: &mut Request, token: &str) {
    if let Ok(value) = HeaderValue::from_str(token) {
        let mut value = value;
        value.set_sensitive(true);
        request.headers_mut().insert("X-Auth-Token", value);
    }
}

/// `POST /v3/auth/tokens` with the credentials' auth plugin, after finding Keystone's v3 API.
async fn issue_token(http: &reqwest::Client, c: &Credentials) -> Result<Token, Error> {
    let body = c.auth_request()?;
    let url = format!("{}/auth/tokens", identity_v3_url(http, &c.auth_url).await?);
    let response = send(http.post(&url).json(&body), "POST", &url).await?;
    let value = response
        .headers()
        .get("X-Subject-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| Error::Decode { url: url.clone(), reason: "no X-Subject-Token header".into() })?;
    let body: serde_json::Value = decode(response, &url).await?;
    parse_token(value, &body["token"], &url)
}

/// Keystone's v3 URL: the auth URL itself when it names `/v3`, else the v3 link of the
/// version document it serves (keystoneauth's discovery).
pub async fn identity_v3_url(http: &reqwest::Client, auth_url: &str) -> Result<String, Error> {
    if names_v3(auth_url) {
        return Ok(auth_url.trim_end_matches('/').to_owned());
    }
    let url = auth_url.trim_end_matches('/');
    let not_found = || Error::Decode {
        url: url.to_owned(),
        reason: "Could not find versioned identity endpoints when attempting to authenticate (no v3 in the version document)".into(),
    };
    let response = send(http.get(url).header("Accept", "application/json"), "GET", url).await?;
    let document: serde_json::Value = decode(response, url).await.map_err(|_| not_found())?;
    v3_from_versions(&document).ok_or_else(not_found)
}

/// The auth URL's v3 root without discovery: `http://h:5000` and `http://h:5000/v3/` both
/// give `http://h:5000/v3`.
pub fn v3_url(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with("/v3") { base.to_owned() } else { format!("{base}/v3") }
}

/// A transport failure, told apart from a TLS one (which names the host and the reason).
fn transport_error(method: &str, url: &str, e: &reqwest::Error) -> Error {
    if let Some(reason) = tls_failure(e) {
        let host = e.url().and_then(|u| u.host_str().map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(443))));
        return Error::Tls { host: host.unwrap_or_else(|| url.to_owned()), method: method.into(), url: url.into(), reason };
    }
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        reason = format!("{reason}: {inner}");
        source = inner.source();
    }
    Error::Transport { method: method.into(), url: url.into(), reason }
}

pub(crate) async fn send(request: RequestBuilder, method: &str, url: &str) -> Result<Response, Error> {
    let (http, built) = request.build_split();
    let request = built.map_err(|e| Error::Config(format!("invalid request {method} {url}: {e}")))?;
    checked(method, execute(&http, request).await?).await
}

/// Sends one request and returns whatever the service answered; only a failure to get an
/// answer is an error.
async fn execute(http: &reqwest::Client, request: Request) -> Result<Response, Error> {
    let method = request.method().to_string();
    let url = request.url().to_string();
    // A server may close a kept-alive connection just after an error answer (real Glance does
    // after refusing an upload body it did not read); the next request on that pooled
    // connection then fails before a byte is answered. Safe methods are retried once on a
    // transport error, as urllib3 retries connection errors for python clients.
    let retry = if matches!(method.as_str(), "GET" | "HEAD") { request.try_clone() } else { None };
    let sent = match (http.execute(request).await, retry) {
        (Err(e), Some(again)) if !e.is_timeout() && tls_failure(&e).is_none() => http.execute(again).await,
        (result, _) => result,
    };
    sent.map_err(|e| transport_error(&method, &url, &e))
}

/// A success (or redirection) as it is; any other status as [`Error::Http`] with the
/// service's message.
async fn checked(method: &str, response: Response) -> Result<Response, Error> {
    if response.status().is_success() || response.status().is_redirection() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let url = response.url().to_string();
    let body = response.text().await.unwrap_or_default();
    Err(Error::Http { status, method: method.into(), url, message: error_message(&body), body })
}

pub(crate) async fn decode<T: serde::de::DeserializeOwned>(response: Response, url: &str) -> Result<T, Error> {
    let bytes = response.bytes().await.map_err(|e| Error::Transport { method: "GET".into(), url: url.into(), reason: e.to_string() })?;
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
        let http = crate::session::http_client();
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
        let http = crate::session::http_client();
        let url = format!("http://{addr}/x");
        let err = super::send(http.post(&url), "POST", &url).await.unwrap_err();
        assert!(matches!(err, crate::Error::Transport { .. }), "{err:?}");
    }
}
