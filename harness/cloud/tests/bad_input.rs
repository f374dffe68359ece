//! The bad-input catalogue: malformed requests to all five services, each answered with the
//! real service's status and message (upstream sources: Keystone 30ef2ffa6, Nova 00a030403f,
//! Cinder ab09bc39d, Glance c76abb08e, Barbican 2d1ea860, oslo.middleware 03562ad, webob
//! 1.8.9, werkzeug 3.1.9). One cloud answers the whole table; the behaviours that need a
//! deployment change (Glance's size cap and quotas, Keystone's password limits) and those
//! that make resources (several servers at once, a volume clone) have their own tests.

#[path = "common/mod.rs"]
mod common;

use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::image::{self, NewImage};
use sigstack_client::volume::{self, NewVolume};
use sigstack_cloud::{CloudConfig, CloudHandle, start};

const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
enum Svc {
    Keystone,
    Barbican,
    Glance,
    Nova,
    Cinder,
}

#[derive(Clone, Copy, Debug)]
enum Who {
    Admin,
    Demo,
    Nobody,
}

#[derive(Clone, Debug)]
enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>),
}

/// What the answer's body must say.
#[derive(Clone, Debug)]
enum Expect {
    /// Keystone's `{"error": {"code", "title", "message"}}`.
    Keystone(String),
    /// Nova's or Cinder's `{"<name>": {"code", "message"}}`.
    Fault(&'static str, String),
    /// A `{"<name>": ...}` fault whose message starts and ends so (a long value in between).
    FaultAround(&'static str, String, String),
    /// Barbican's `{"code", "title", "description"}` (`None`: a bare `pecan.abort`).
    Barbican(Option<String>),
    /// webob's JSON rendering (`Accept: application/json`): the whole message.
    Webob(String),
    /// The body text exactly.
    Text(String),
    /// The body contains this.
    Contains(String),
}

struct Case {
    svc: Svc,
    who: Who,
    method: Method,
    /// Below the service's root; `{project}`, `{image}`, `{queued}`, `{tagged}`, `{volume}`,
    /// `{big_volume}` are filled in.
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Body,
    status: u16,
    expect: Expect,
    /// An exact `Allow` header, when the answer must carry one (or none: `Some("")`).
    allow: Option<&'static str>,
}

fn case(svc: Svc, who: Who, method: Method, path: &str, body: Body, status: u16, expect: Expect) -> Case {
    Case { svc, who, method, path: path.into(), headers: Vec::new(), body, status, expect, allow: None }
}

impl Case {
    fn header(mut self, name: &'static str, value: &str) -> Case {
        self.headers.push((name, value.into()));
        self
    }

    fn allow(mut self, allow: &'static str) -> Case {
        self.allow = Some(allow);
        self
    }
}

fn ks(message: &str) -> Expect {
    Expect::Keystone(message.into())
}
fn bad(message: &str) -> Expect {
    Expect::Fault("badRequest", message.into())
}
fn fault(name: &'static str, message: &str) -> Expect {
    Expect::Fault(name, message.into())
}
/// webob's default body template around an explanation.
fn webob(explanation: &str) -> Expect {
    Expect::Webob(format!("{explanation}<br /><br />\n\n\n"))
}
fn bb(description: &str) -> Expect {
    Expect::Barbican(Some(description.into()))
}
fn json(v: Value) -> Body {
    Body::Json(v)
}
fn raw(bytes: &str) -> Body {
    Body::Raw(bytes.as_bytes().to_vec())
}

/// Keystone's `ValidationError`.
fn expecting(attribute: &str, target: &str) -> Expect {
    ks(&format!(
        "Expecting to find {attribute} in {target}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error."
    ))
}

const NOT_FOUND: &str = "The resource could not be found.";
const OSLO_TOO_LARGE: &str = "Request is too large. Larger than max_request_body_size (%s).";
const NOVA_WEBOB_404: &str = "The resource could not be found.<br /><br />\n\n\n";

/// What the table needs that exists before it runs.
struct World {
    cloud: CloudHandle,
    admin: Session,
    demo: Session,
    /// An active raw image of demo's.
    image: String,
    /// A queued image of demo's.
    queued: String,
    /// A queued image of demo's with 128 tags.
    tagged: String,
    /// demo's available 1 GiB volume, and a 2 GiB one.
    volume: String,
    big_volume: String,
}

async fn world() -> World {
    let cloud = start(CloudConfig::default()).await.expect("cloud starts");
    let admin = common::session(&cloud, "admin").await;
    let demo = common::session(&cloud, "demo").await;
    let new = |name: &str| NewImage {
        name: Some(name.into()),
        disk_format: Some("raw".into()),
        container_format: Some("bare".into()),
        ..NewImage::default()
    };
    let image = image::create_image(&demo, &new("active")).await.unwrap().id;
    let bytes = vec![7u8; 4096];
    image::upload(&demo, &image, std::io::Cursor::new(bytes.clone()), Some(bytes.len() as u64)).await.unwrap();
    let queued = image::create_image(&demo, &new("queued")).await.unwrap().id;
    let tagged =
        image::create_image(&demo, &NewImage { tags: (0..128).map(|i| format!("t{i}")).collect(), ..new("tagged") }).await.unwrap().id;
    let volume = volume::create_volume(&demo, &NewVolume { size: 1, ..NewVolume::default() }).await.unwrap().id;
    let big_volume = volume::create_volume(&demo, &NewVolume { size: 2, ..NewVolume::default() }).await.unwrap().id;
    for id in [&volume, &big_volume] {
        volume::wait_for_volume_status(&demo, id, &["available"], WAIT).await.unwrap();
    }
    World { cloud, admin, demo, image, queued, tagged, volume, big_volume }
}

impl World {
    fn root(&self, svc: Svc) -> String {
        let e = &self.cloud.endpoints;
        match svc {
            Svc::Keystone => e.identity.trim_end_matches("/v3").to_owned(),
            Svc::Barbican => e.key_manager.clone(),
            Svc::Glance => e.image.clone(),
            Svc::Nova => e.compute.clone(),
            Svc::Cinder => e.volume.clone(),
        }
    }

    fn fill(&self, path: &str) -> String {
        let project = self.demo.token().project.map(|p| p.id).unwrap_or_default();
        path.replace("{project}", &project)
            .replace("{image}", &self.image)
            .replace("{queued}", &self.queued)
            .replace("{tagged}", &self.tagged)
            .replace("{big_volume}", &self.big_volume)
            .replace("{volume}", &self.volume)
    }

    async fn send(&self, c: &Case) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let url = format!("{}{}", self.root(c.svc), self.fill(&c.path));
        let mut request = sigstack_client::session::http_client().request(c.method.clone(), &url);
        match c.who {
            Who::Admin => request = request.header("X-Auth-Token", self.admin.token().value),
            Who::Demo => request = request.header("X-Auth-Token", self.demo.token().value),
            Who::Nobody => {}
        }
        let mut has_accept = false;
        let mut has_type = false;
        for (name, value) in &c.headers {
            has_accept |= name.eq_ignore_ascii_case("accept");
            has_type |= name.eq_ignore_ascii_case("content-type");
            request = request.header(*name, self.fill(value));
        }
        if !has_accept {
            request = request.header(ACCEPT, "application/json");
        }
        request = match &c.body {
            Body::None => request,
            Body::Json(v) => {
                if !has_type {
                    request = request.header(CONTENT_TYPE, "application/json");
                }
                request.body(self.fill(&v.to_string()))
            }
            Body::Raw(bytes) => request.body(bytes.clone()),
        };
        let response = request.send().await.unwrap_or_else(|e| panic!("{} {url}: {e}", c.method));
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap_or_default())
    }
}

/// Why the answer is not the expected one, if it is not.
fn check(c: &Case, status: StatusCode, headers: &reqwest::header::HeaderMap, body: &str) -> Option<String> {
    if status.as_u16() != c.status {
        return Some(format!("status {status}, expected {}; body: {body}", c.status));
    }
    if let Some(allow) = c.allow {
        let got = headers.get(ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
        if got != allow {
            return Some(format!("Allow {got:?}, expected {allow:?}"));
        }
    }
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let field = |pointer: &str| parsed.as_ref().and_then(|v| v.pointer(pointer)).cloned();
    let ok = match &c.expect {
        Expect::Keystone(message) => field("/error/message") == Some(json!(message)) && field("/error/code") == Some(json!(c.status)),
        Expect::Fault(name, message) => {
            field(&format!("/{name}/message")) == Some(json!(message)) && field(&format!("/{name}/code")) == Some(json!(c.status))
        }
        Expect::FaultAround(name, start, end) => field(&format!("/{name}/message"))
            .and_then(|m| m.as_str().map(str::to_owned))
            .is_some_and(|m| m.starts_with(start.as_str()) && m.ends_with(end.as_str())),
        Expect::Barbican(description) => field("/description") == Some(json!(description)) && field("/code") == Some(json!(c.status)),
        Expect::Webob(message) => {
            let title = StatusCode::from_u16(c.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
            let title = if c.status == 413 { "Request Entity Too Large" } else { title };
            field("/message") == Some(json!(message)) && field("/code") == Some(json!(format!("{} {title}", c.status)))
        }
        Expect::Text(text) => body == text,
        Expect::Contains(text) => body.contains(text.as_str()),
    };
    (!ok).then(|| format!("body {body:?}, expected {:?}", c.expect))
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn keystone_cases() -> Vec<Case> {
    use Svc::Keystone as K;
    use Who::*;
    let valid_json = || expecting("valid JSON", "request body");
    let json_type = || expecting("application/json", "Content-Type header");
    let long = "u".repeat(256);
    let name_error = |value: &str, message: &str| ks(&format!("Invalid input for field/attribute name. Value: {value}. {message}"));
    let werkzeug_404 = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n";
    let werkzeug_405 = "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n";
    vec![
        // json_body_before_request: malformed JSON, a JSON non-object, a wrong media type.
        case(K, Admin, Method::POST, "/v3/users", raw("{\"user\": "), 400, valid_json()).header("Content-Type", "application/json"),
        case(K, Admin, Method::POST, "/v3/users", json(json!([1])), 400, valid_json()),
        case(K, Admin, Method::POST, "/v3/users", json(json!({"user": {"name": "x"}})), 400, json_type())
            .header("Content-Type", "text/plain"),
        case(K, Admin, Method::POST, "/v3/projects", raw("{nope"), 400, valid_json()),
        case(K, Nobody, Method::POST, "/v3/auth/tokens", raw("{\"auth\":"), 400, valid_json()).header("Content-Type", "application/json"),
        case(K, Nobody, Method::POST, "/v3/auth/tokens", json(json!({"auth": {}})), 400, json_type())
            .header("Content-Type", "application/xml"),
        // ... which Flask runs before it routes.
        case(K, Admin, Method::POST, "/v3/no-such-thing", raw("{"), 400, valid_json()).header("Content-Type", "application/json"),
        // werkzeug's own pages for routing failures.
        case(K, Admin, Method::GET, "/v3/no-such-thing", Body::None, 404, Expect::Text(werkzeug_404.into())),
        case(K, Nobody, Method::GET, "/nope", Body::None, 404, Expect::Text(werkzeug_404.into())),
        case(K, Admin, Method::DELETE, "/v3/roles", Body::None, 405, Expect::Text(werkzeug_405.into())).allow("GET, HEAD, OPTIONS, POST"),
        case(K, Admin, Method::PATCH, "/v3/auth/tokens", Body::None, 405, Expect::Text(werkzeug_405.into()))
            .allow("DELETE, GET, HEAD, OPTIONS, POST"),
        // oslo.middleware's sizelimit, rendered by webob.
        case(K, Admin, Method::POST, "/v3/users", raw(&"x".repeat(200_000)), 413, webob(OSLO_TOO_LARGE)),
        // The user schema (names up to 255 characters, some non-space character).
        case(
            K,
            Admin,
            Method::POST,
            "/v3/users",
            json(json!({"user": {"name": long}})),
            400,
            name_error(&long, &format!("'{long}' is too long")),
        ),
        case(K, Admin, Method::POST, "/v3/users", json(json!({"user": {"name": ""}})), 400, name_error("", "'' should be non-empty")),
        case(
            K,
            Admin,
            Method::POST,
            "/v3/users",
            json(json!({"user": {"name": "   "}})),
            400,
            name_error("   ", r"'   ' does not match '[\\S]+'"),
        ),
        case(K, Admin, Method::POST, "/v3/users", json(json!({"user": {"name": 5}})), 400, name_error("5", "5 is not of type 'string'")),
        case(
            K,
            Admin,
            Method::POST,
            "/v3/users",
            json(json!({"user": {}})),
            400,
            ks("Invalid input for field/attribute user. Value: {}. 'name' is a required property"),
        ),
        case(K, Admin, Method::POST, "/v3/users", json(json!({})), 400, ks("'user' is a required property")),
        case(
            K,
            Admin,
            Method::POST,
            "/v3/users",
            json(json!({"user": {"name": "a"}, "x": 1})),
            400,
            ks("Additional properties are not allowed ('x' was unexpected)"),
        ),
        case(
            K,
            Admin,
            Method::POST,
            "/v3/users",
            json(json!({"user": {"name": "a", "domain_id": "a b"}})),
            400,
            ks("Invalid input for field/attribute domain_id. Value: a b. 'a b' does not match '^[a-zA-Z0-9-]+$'"),
        ),
        case(
            K,
            Admin,
            Method::POST,
            "/v3/users",
            json(json!({"user": {"name": "a", "password": 7}})),
            400,
            ks("Invalid input for field/attribute password. Value: 7. 7 is not of type 'string', 'null'"),
        ),
        // The schema runs before the policy: a member gets the 400 too.
        case(K, Demo, Method::POST, "/v3/users", json(json!({"user": {"name": ""}})), 400, name_error("", "'' should be non-empty")),
        // The project schema (names up to 64 characters).
        case(
            K,
            Admin,
            Method::POST,
            "/v3/projects",
            json(json!({"project": {"name": "p".repeat(65)}})),
            400,
            ks(&format!("Invalid input for field/attribute name. Value: {0}. '{0}' is too long", "p".repeat(65))),
        ),
        case(
            K,
            Admin,
            Method::POST,
            "/v3/projects",
            json(json!({"project": "x"})),
            400,
            ks("Invalid input for field/attribute project. Value: x. 'x' is not of type 'object'"),
        ),
        case(
            K,
            Admin,
            Method::POST,
            "/v3/projects",
            json(json!({"project": {"name": "p"}, "y": 1})),
            400,
            ks("Additional properties are not allowed ('y' was unexpected)"),
        ),
        case(
            K,
            Admin,
            Method::POST,
            "/v3/auth/tokens",
            json(json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"password": "x"}}}}})),
            400,
            ks("Invalid input for field identity/password/user: id or name must be present."),
        ),
    ]
}

fn barbican_cases() -> Vec<Case> {
    use Svc::Barbican as B;
    use Who::*;
    vec![
        case(B, Admin, Method::POST, "/v1/secrets", raw("{\"name\": "), 400, bb("Malformed JSON"))
            .header("Content-Type", "application/json"),
        case(
            B,
            Admin,
            Method::POST,
            "/v1/secrets",
            json(json!({"name": "n"})),
            415,
            bb("Unexpected content type. Expected content types are: ['application/json']"),
        )
        .header("Content-Type", "text/plain"),
        case(
            B,
            Admin,
            Method::POST,
            "/v1/secrets",
            json(json!({"name": "n", "algorithm": "a".repeat(25_000)})),
            413,
            bb("Provided information too large to process"),
        ),
        // A bare `pecan.abort`: detail `''` (checked against Barbican 23.0.0).
        case(B, Admin, Method::GET, "/v1/no-such-thing", Body::None, 404, Expect::Barbican(Some(String::new()))),
        case(B, Admin, Method::PATCH, "/v1/secrets", Body::None, 405, Expect::Barbican(Some(String::new()))),
        case(B, Admin, Method::GET, "/v1/secrets/not-a-uuid", Body::None, 404, bb("Not Found. Provided secret id is invalid.")),
        case(B, Admin, Method::GET, &format!("/v1/secrets/{}", uuid()), Body::None, 404, bb("Secret not found.")),
        case(
            B,
            Admin,
            Method::POST,
            "/v1/secrets",
            json(json!([])),
            400,
            bb("Provided object does not match schema 'Secret': [] is not of type 'object'. Invalid property: 'None'"),
        ),
    ]
}

fn glance_cases() -> Vec<Case> {
    use Svc::Glance as G;
    use Who::*;
    let quota =
        |what: &str| webob(&format!("The limit has been exceeded on the number of allowed image {what}. Attempted: 129, Maximum: 128"));
    let many = |n: usize| -> serde_json::Map<String, Value> { (0..n).map(|i| (format!("p{i}"), json!("v"))).collect() };
    let mut props = many(129);
    props.insert("name".into(), json!("too many"));
    let tags: Vec<String> = (0..129).map(|i| format!("t{i}")).collect();
    let replace_tags = json!([{"op": "replace", "path": "/tags", "value": tags}]);
    let patch = "application/openstack-images-v2.1-json-patch";
    vec![
        // JSONRequestDeserializer.
        case(G, Demo, Method::POST, "/v2/images", raw("{\"name\": "), 400, webob("Malformed JSON in request body.")),
        case(G, Demo, Method::POST, "/v2/images", raw("5"), 400, webob("Unexpected body type. Expected list/dict.")),
        case(G, Demo, Method::POST, "/v2/images", Body::None, 400, webob("Body expected in request.")),
        // The routes mapper: 404, the reject routes' 405 (with the route's methods), 501.
        case(G, Demo, Method::GET, "/v2/no-such-thing", Body::None, 404, webob(NOT_FOUND)),
        case(G, Demo, Method::PUT, "/v2/images", Body::None, 405, Expect::Webob("The method PUT is not allowed for this resource. <br /><br />\n".into()))
            .allow("GET, POST"),
        case(G, Demo, Method::POST, "/v2/images/{queued}", Body::None, 405, Expect::Contains("The method POST is not allowed".into()))
            .allow("GET, PATCH, DELETE"),
        case(
            G,
            Demo,
            Method::from_bytes(b"FROB").unwrap(),
            "/v2/no-such-thing",
            Body::None,
            501,
            Expect::Webob("\nThe request method FROB is not implemented for this server. <br /><br />\n".into()),
        ),
        case(G, Demo, Method::GET, "/v2/no-such-thing", Body::None, 404, Expect::Text("404 Not Found\n\nThe resource could not be found.\n\n   ".into()))
            .header("Accept", ""),
        // versionnegotiation: an unknown version is the versions document, a known one is v2.
        case(G, Nobody, Method::GET, "/v9/images", Body::None, 300, Expect::Contains("\"versions\"".into())),
        case(G, Demo, Method::GET, "/v2.9/images", Body::None, 200, Expect::Contains("\"images\"".into())),
        // Authentication comes before routing.
        case(G, Nobody, Method::GET, "/v2/no-such-thing", Body::None, 401, Expect::Contains("401 Unauthorized".into())),
        // The simulator's bound on a JSON body (Glance has none).
        case(
            G,
            Demo,
            Method::POST,
            "/v2/images",
            Body::Raw(vec![b' '; (16 << 20) + 1]),
            413,
            webob("The body of your request was too large for this server."),
        ),
        // Quotas: 128 properties, 128 tags (create, PATCH, the tags resource).
        case(G, Demo, Method::POST, "/v2/images", json(Value::Object(props)), 413, quota("properties")),
        case(G, Demo, Method::POST, "/v2/images", json(json!({"name": "t", "tags": tags})), 413, quota("tags")),
        case(G, Demo, Method::PATCH, "/v2/images/{queued}", json(replace_tags), 413, quota("tags")).header("Content-Type", patch),
        case(
            G,
            Demo,
            Method::PUT,
            "/v2/images/{tagged}/tags/one-more",
            Body::None,
            413,
            Expect::Contains(
                ": The limit has been exceeded on the number of allowed image tags. Attempted: 129, Maximum: 128:<br /><br />".into(),
            ),
        ),
        case(G, Demo, Method::PUT, "/v2/images/{tagged}/tags/t5", Body::None, 204, Expect::Text(String::new())),
        case(G, Demo, Method::PUT, &format!("/v2/images/{}/tags/x", uuid()), Body::None, 404, Expect::Contains(" not found.<br /><br />".into())),
        // webob's 415 template: the request's media type, then the detail.
        case(
            G,
            Demo,
            Method::PUT,
            "/v2/images/{queued}/file",
            raw("data"),
            415,
            Expect::Webob("The request media type text/plain is not supported by this server.\n<br /><br />\nInvalid content type text/plain".into()),
        )
        .header("Content-Type", "text/plain"),
        case(
            G,
            Demo,
            Method::PATCH,
            "/v2/images/{queued}",
            json(json!([])),
            415,
            Expect::Webob(
                "The request media type application/json is not supported by this server.\n<br /><br />\nImage PATCH expects Content-Type one of: application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch".into(),
            ),
        ),
        case(
            G,
            Demo,
            Method::POST,
            "/v2/images",
            json(json!({"k".repeat(256): "v"})),
            400,
            webob("Custom property should not be greater than 255 characters."),
        ),
        case(
            G,
            Demo,
            Method::POST,
            "/v2/images",
            json(json!({"visibility": "nope"})),
            400,
            webob("Provided object does not match schema 'image': 'nope' is not one of ['community', 'public', 'private', 'shared']"),
        ),
    ]
}

fn nova_cases() -> Vec<Case> {
    use Svc::Nova as N;
    use Who::*;
    let servers = "/v2.1/servers";
    let server = |extra: Value| {
        let mut s = json!({"name": "vm", "flavorRef": "1", "imageRef": "{image}"});
        if let (Some(s), Some(extra)) = (s.as_object_mut(), extra.as_object()) {
            s.extend(extra.clone());
        }
        json!({"server": s})
    };
    let create = |extra: Value, status: u16, expect: Expect| case(N, Demo, Method::POST, servers, json(server(extra)), status, expect);
    let invalid =
        |field: &str, value: &str, message: &str| bad(&format!("Invalid input for field/attribute {field}. Value: {value}. {message}"));
    let net = uuid();
    let port = uuid();
    let action = format!("/v2.1/servers/{}/action", uuid());
    let long = "n".repeat(256);
    let user_data = "A".repeat(65_536);
    let metadata: serde_json::Map<String, Value> = (0..129).map(|i| (format!("k{i}"), json!("v"))).collect();
    vec![
        // The wsgi Resource: body and content type.
        case(N, Demo, Method::POST, servers, raw("{\"server\": "), 400, bad("Malformed request body"))
            .header("Content-Type", "application/json"),
        case(N, Demo, Method::POST, servers, json(server(json!({}))), 415, fault("badMediaType", "Unsupported Content-Type"))
            .header("Content-Type", "text/xml"),
        case(N, Demo, Method::GET, servers, Body::None, 415, fault("badMediaType", "Unsupported Content-Type"))
            .header("Content-Type", "application/xml"),
        case(N, Demo, Method::POST, servers, json(json!({})), 400, bad("'server' is a required property"))
            .header("Content-Type", "text/plain"),
        case(N, Demo, Method::POST, servers, Body::None, 400, bad("None is not of type 'object'")),
        // The routes mapper's miss is webob's bare 404, a wrong method included (no 405).
        case(N, Demo, Method::GET, "/v2.1/no-such-thing", Body::None, 404, Expect::Webob(NOVA_WEBOB_404.into())),
        case(N, Demo, Method::PATCH, servers, Body::None, 404, Expect::Webob(NOVA_WEBOB_404.into())).allow(""),
        case(N, Demo, Method::DELETE, "/v2.1/flavors", Body::None, 404, Expect::Webob(NOVA_WEBOB_404.into())),
        case(
            N,
            Demo,
            Method::GET,
            "/v2.1/no-such-thing",
            Body::None,
            404,
            Expect::Text("404 Not Found\n\nThe resource could not be found.\n\n   ".into()),
        )
        .header("Accept", ""),
        case(N, Demo, Method::POST, servers, raw(&"x".repeat(200_000)), 413, webob(OSLO_TOO_LARGE)),
        case(N, Demo, Method::GET, servers, Body::None, 406, Expect::Contains("Version 2.999 is not supported by the API.".into()))
            .header("X-OpenStack-Nova-API-Version", "2.999"),
        // action_peek and the action lookup.
        case(N, Demo, Method::POST, &action, raw("{\"reboot\""), 400, bad("Malformed request body"))
            .header("Content-Type", "application/json"),
        case(N, Demo, Method::POST, &action, json(json!({"reboot": {}, "rebuild": {}})), 400, bad("Malformed request body")),
        case(N, Demo, Method::POST, &action, json(json!({"frobnicate": {}})), 400, bad("There is no such action: frobnicate")),
        case(N, Demo, Method::POST, &action, json(json!([1])), 404, fault("itemNotFound", NOT_FOUND)),
        case(N, Demo, Method::POST, &action, Body::None, 400, bad("Malformed request body")),
        // name: format `name`, 1 to 255 characters.
        create(
            json!({"name": " vm"}),
            400,
            bad("An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."),
        ),
        create(json!({"name": long}), 400, invalid("name", &long, &format!("'{long}' is too long"))),
        create(json!({"name": ""}), 400, invalid("name", "", "'' should be non-empty")),
        // user_data: base64, at most 65535 characters.
        create(json!({"user_data": "notbase64!!"}), 400, invalid("user_data", "notbase64!!", "'notbase64!!' is not a 'base64'")),
        create(
            json!({"user_data": user_data}),
            400,
            Expect::FaultAround(
                "badRequest",
                "Invalid input for field/attribute user_data. Value: AAAA".into(),
                "AAAA' is too long".into(),
            ),
        ),
        create(json!({"user_data": 5}), 400, invalid("user_data", "5", "5 is not of type 'string'")),
        // key_name: a name, and an existing key pair (this cloud has none).
        create(json!({"key_name": "mykey"}), 400, bad("Invalid key_name provided.")),
        create(json!({"key_name": ""}), 400, invalid("key_name", "", "'' should be non-empty")),
        create(json!({"key_name": long}), 400, invalid("key_name", &long, &format!("'{long}' is too long"))),
        // min_count / max_count: positive integers (or strings of digits), min <= max.
        create(json!({"min_count": 0}), 400, invalid("min_count", "0", "0 is less than the minimum of 1")),
        create(json!({"min_count": "0"}), 400, invalid("min_count", "0", "0 is less than the minimum of 1")),
        create(json!({"min_count": "abc"}), 400, invalid("min_count", "abc", "'abc' does not match '^[0-9]*$'")),
        create(json!({"min_count": ""}), 400, invalid("min_count", "", "'' should be non-empty")),
        create(json!({"max_count": -1}), 400, invalid("max_count", "-1", "-1 is less than the minimum of 1")),
        create(json!({"max_count": 1.5}), 400, invalid("max_count", "1.5", "1.5 is not of type 'integer', 'string'")),
        create(json!({"min_count": true}), 400, invalid("min_count", "True", "True is not of type 'integer', 'string'")),
        create(json!({"min_count": 3, "max_count": "2"}), 400, bad("min_count must be <= max_count")),
        create(
            json!({"min_count": 11, "max_count": 11}),
            403,
            fault("forbidden", "Quota exceeded for instances: Requested 11, but already used 0 of 10 instances"),
        ),
        create(
            json!({"return_reservation_id": "maybe"}),
            400,
            Expect::FaultAround(
                "badRequest",
                "Invalid input for field/attribute return_reservation_id. Value: maybe. 'maybe' is not one of [True, 'True'".into(),
                "'no']".into(),
            ),
        ),
        // networks: before 2.37 the controller checks the uuids; from 2.37 the schema does.
        create(
            json!({"networks": [{"uuid": "not-a-uuid"}]}),
            400,
            bad("Bad networks format: network uuid is not in proper format (not-a-uuid)"),
        ),
        create(json!({"networks": [{}]}), 400, bad("Bad network format: missing 'uuid'")),
        create(json!({"networks": [{"port": "abc"}]}), 400, invalid("port", "abc", "'abc' is not a 'uuid'")),
        create(
            // The dict as the request ordered it (Python's dicts keep it).
            json!({"networks": [{"uuid": net, "foo": 1}]}),
            400,
            invalid("0", &format!("{{'uuid': '{net}', 'foo': 1}}"), "Additional properties are not allowed ('foo' was unexpected)"),
        ),
        create(
            json!({"networks": [{"port": port}, {"port": port}]}),
            400,
            bad(&format!("Port ID '{port}' was specified twice: you cannot attach a port multiple times.")),
        ),
        create(
            json!({"networks": [{"port": port, "fixed_ip": "10.0.0.1"}]}),
            400,
            bad(&format!("Specified Fixed IP '10.0.0.1' cannot be used with port '{port}': the two cannot be specified together.")),
        ),
        create(json!({"networks": [{"uuid": net}]}), 400, bad(&format!("Network {net} could not be found."))),
        create(json!({"networks": {"a": 1}}), 400, invalid("networks", "{'a': 1}", "{'a': 1} is not of type 'array'")),
        case(
            N,
            Demo,
            Method::POST,
            servers,
            json(server(json!({"networks": [{"uuid": "x"}]}))),
            400,
            invalid("networks", "[{'uuid': 'x'}]", "[{'uuid': 'x'}] is not valid under any of the given schemas"),
        )
        .header("X-OpenStack-Nova-API-Version", "2.37"),
        case(
            N,
            Demo,
            Method::POST,
            servers,
            json(server(json!({"networks": "bogus"}))),
            400,
            invalid("networks", "bogus", "'bogus' is not valid under any of the given schemas"),
        )
        .header("X-OpenStack-Nova-API-Version", "2.37"),
        // metadata: keys of 1 to 255 of a few characters, string values up to 255, 128 items.
        create(json!({"metadata": {"k": 5}}), 400, invalid("k", "5", "5 is not of type 'string'")),
        create(json!({"metadata": {"k": long}}), 400, invalid("k", &long, &format!("'{long}' is too long"))),
        create(
            json!({"metadata": {"a/b": "v"}}),
            400,
            invalid("metadata", "{'a/b': 'v'}", "'a/b' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"),
        ),
        create(json!({"metadata": metadata}), 403, fault("forbidden", "Maximum number of metadata items exceeds 128")),
        // The flavor, by id or URL.
        create(json!({"flavorRef": "99"}), 400, bad("Flavor 99 could not be found.")),
        create(json!({"flavorRef": "http://nova.example/flavors/77"}), 400, bad("Flavor 77 could not be found.")),
        create(json!({"imageRef": uuid()}), 400, bad("Can not find requested image")),
        create(json!({"security_groups": [{"name": ""}]}), 400, invalid("name", "", "'' should be non-empty")),
    ]
}

fn cinder_cases() -> Vec<Case> {
    use Svc::Cinder as C;
    use Who::*;
    let volumes = "/v3/{project}/volumes";
    let create =
        |volume: Value, status: u16, expect: Expect| case(C, Demo, Method::POST, volumes, json(json!({"volume": volume})), status, expect);
    let invalid =
        |field: &str, value: &str, message: &str| bad(&format!("Invalid input for field/attribute {field}. Value: {value}. {message}"));
    let action = "/v3/{project}/volumes/{volume}/action";
    let long = "n".repeat(256);
    let snapshot = uuid();
    let missing = uuid();
    let group = uuid();
    let backup = uuid();
    let internal = "The server has either erred or is incapable of performing the requested operation.";
    vec![
        // get_body and the deserializer.
        case(C, Demo, Method::POST, volumes, raw("{\"volume\": "), 400, bad("Malformed request body"))
            .header("Content-Type", "application/json"),
        case(C, Demo, Method::POST, volumes, raw("{\"volume\": {\"size\": 1}}"), 415, fault("badMediaType", "Unsupported Content-Type"))
            .header("Content-Type", "text/plain"),
        // No Content-Type: Cinder ignores the body, and the controller misses its argument.
        case(C, Demo, Method::POST, volumes, raw("{\"volume\": {\"size\": 1}}"), 500, fault("computeFault", internal)),
        case(C, Demo, Method::POST, volumes, Body::None, 500, fault("computeFault", internal)).header("Content-Type", "application/json"),
        case(C, Demo, Method::GET, volumes, raw("{}"), 415, fault("badMediaType", "Unsupported Content-Type"))
            .header("Content-Type", "application/xml"),
        case(C, Demo, Method::GET, volumes, Body::None, 200, Expect::Contains("\"volumes\"".into()))
            .header("Content-Type", "application/xml"),
        // The routes mapper.
        case(C, Demo, Method::GET, "/v3/{project}/no-such-thing", Body::None, 404, Expect::Webob(NOVA_WEBOB_404.into())),
        case(C, Demo, Method::PATCH, volumes, Body::None, 404, Expect::Webob(NOVA_WEBOB_404.into())).allow(""),
        case(C, Demo, Method::POST, volumes, raw(&"x".repeat(200_000)), 413, webob(OSLO_TOO_LARGE))
            .header("Content-Type", "application/json"),
        case(C, Demo, Method::GET, volumes, Body::None, 406, Expect::Contains("Version 3.999 is not supported by the API.".into()))
            .header("OpenStack-API-Version", "volume 3.999"),
        // Actions.
        case(C, Demo, Method::POST, action, raw("{\"os-extend\""), 400, bad("Malformed request body"))
            .header("Content-Type", "application/json"),
        case(C, Demo, Method::POST, action, json(json!({"os-extend": {}, "os-reset_status": {}})), 400, bad("Malformed request body")),
        case(
            C,
            Demo,
            Method::POST,
            action,
            json(json!({"os-frobnicate": {}})),
            400,
            bad("There is no such action: os-frobnicate. Verify the request body and Content-Type header and try again."),
        ),
        case(C, Demo, Method::POST, action, json(json!(5)), 404, fault("itemNotFound", NOT_FOUND)),
        // Name and description: 255 characters once stripped.
        create(json!({"size": 1, "name": long}), 400, bad("Invalid input received: name has 256 characters, more than 255.")),
        create(json!({"size": 1, "display_name": long}), 400, bad("Invalid input received: name has 256 characters, more than 255.")),
        create(
            json!({"size": 1, "description": "d".repeat(300)}),
            400,
            bad("Invalid input received: description has 300 characters, more than 255."),
        ),
        create(json!({"size": 1, "name": 5}), 400, invalid("name", "5", "5 is not of type 'string', 'null'")),
        // Sources: UUIDs, and existing ones (this Cinder has no snapshots, groups or backups).
        create(json!({"snapshot_id": "abc"}), 400, invalid("snapshot_id", "abc", "'abc' is not valid under any of the given schemas")),
        create(json!({"snapshot_id": snapshot}), 404, fault("itemNotFound", &format!("Snapshot {snapshot} could not be found."))),
        create(json!({"source_volid": "abc"}), 400, invalid("source_volid", "abc", "'abc' is not valid under any of the given schemas")),
        create(json!({"source_volid": missing}), 404, fault("itemNotFound", &format!("Volume {missing} could not be found."))),
        create(
            json!({"source_volid": "{big_volume}", "size": 1}),
            400,
            bad(
                "Invalid input received: Volume size '1'GB cannot be smaller than original volume size  2GB. They must be >= original volume size.",
            ),
        ),
        create(json!({"consistencygroup_id": group}), 404, fault("itemNotFound", &format!("Group {group} could not be found."))),
        case(
            C,
            Demo,
            Method::POST,
            volumes,
            json(json!({"volume": {"size": 1, "backup_id": backup}})),
            404,
            fault("itemNotFound", &format!("Backup {backup} could not be found.")),
        )
        .header("OpenStack-API-Version", "volume 3.47"),
        // Size.
        create(json!({"size": "0"}), 400, invalid("size", "0", "0 is less than the minimum of 1")),
        create(json!({"size": 0}), 400, invalid("size", "0", "0 is less than the minimum of 1")),
        create(json!({"size": "1x"}), 400, invalid("size", "1x", "'1x' does not match '^[0-9]+$'")),
        create(json!({"size": 1.5}), 400, invalid("size", "1.5", "1.5 is not of type 'integer', 'string', 'null'")),
        create(
            json!({"size": 2_147_483_648u64}),
            400,
            invalid("size", "2147483648", "2147483648 is greater than the maximum of 2147483647"),
        ),
        create(json!({}), 400, bad("Invalid input received: Volume size 'None' must be an integer and greater than 0")),
        // Metadata and type.
        create(json!({"size": 1, "metadata": {"k": 1}}), 400, invalid("k", "1", "1 is not of type 'string'")),
        create(
            json!({"size": 1, "metadata": {"": "v"}}),
            400,
            invalid("metadata", "{'': 'v'}", "'' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{1,255}$'"),
        ),
        create(json!({"size": 1, "volume_type": long}), 400, invalid("volume_type", &long, &format!("'{long}' is too long"))),
        create(json!({"size": 1, "volume_type": "nope"}), 404, fault("itemNotFound", "Volume type with name nope could not be found.")),
        create(
            json!({"size": 1, "multiattach": true}),
            400,
            bad(
                "multiattach parameter has been removed. The default behavior is to use multiattach enabled volume types. Contact your administrator to create a multiattach enabled volume type and use it to create multiattach volumes.",
            ),
        ),
        // The envelope.
        case(C, Demo, Method::POST, volumes, json(json!({})), 400, bad("'volume' is a required property")),
        case(
            C,
            Demo,
            Method::POST,
            volumes,
            json(json!({"volume": {"size": 1}, "x": 1})),
            400,
            bad("Additional properties are not allowed ('x' was unexpected)"),
        ),
        case(C, Demo, Method::POST, volumes, json(json!({"volume": "x"})), 400, invalid("volume", "x", "'x' is not of type 'object'")),
        case(
            C,
            Demo,
            Method::POST,
            volumes,
            json(json!({"volume": {"size": 1, "foo": 1}})),
            400,
            invalid("volume", "{'size': 1, 'foo': 1}", "Additional properties are not allowed ('foo' was unexpected)"),
        )
        .header("OpenStack-API-Version", "volume 3.53"),
    ]
}

#[tokio::test]
async fn the_catalogue_of_malformed_requests() {
    let w = world().await;
    let cases: Vec<Case> =
        [keystone_cases(), barbican_cases(), glance_cases(), nova_cases(), cinder_cases()].into_iter().flatten().collect();
    assert!(cases.len() >= 100, "the catalogue has {} cases", cases.len());
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let (status, headers, body) = w.send(c).await;
        if let Some(why) = check(c, status, &headers, &body) {
            failures.push(format!("#{i} {:?} {} {}: {why}", c.svc, c.method, c.path));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// A raw request with a user's token; the status and the body.
async fn send(s: &Session, method: Method, url: &str, content_type: Option<&str>, body: Vec<u8>) -> (StatusCode, String) {
    let mut request = sigstack_client::session::http_client()
        .request(method, url)
        .header("X-Auth-Token", s.token().value)
        .header(ACCEPT, "application/json")
        .body(body);
    if let Some(ct) = content_type {
        request = request.header(CONTENT_TYPE, ct);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn webob_message(body: &str) -> String {
    serde_json::from_str::<Value>(body).ok().and_then(|v| v["message"].as_str().map(str::to_owned)).unwrap_or_else(|| body.to_owned())
}

/// `image_size_cap`: an upload or a stage past it is a 413, keeps nothing of the data, and
/// leaves the image `queued` for another try; the cap is the deployment's.
#[tokio::test]
async fn glance_stops_data_at_the_image_size_cap() {
    let cloud = start(CloudConfig::default()).await.unwrap();
    let demo = common::session(&cloud, "demo").await;
    assert_eq!(cloud.deployment.get().glance.image_size_cap, 1_099_511_627_776, "Glance's default, 1 TiB");
    cloud.deployment.merge_patch(&json!({"glance": {"image_size_cap": 1000}})).unwrap();
    let new = NewImage {
        name: Some("capped".into()),
        disk_format: Some("raw".into()),
        container_format: Some("bare".into()),
        ..NewImage::default()
    };
    let too_large = "The incoming image is too large: The provided image is too large.<br /><br />\n\n\n";
    for stage in [false, true] {
        let id = image::create_image(&demo, &new).await.unwrap().id;
        let url = format!("{}/v2/images/{id}/{}", cloud.endpoints.image, if stage { "stage" } else { "file" });
        let (status, body) = send(&demo, Method::PUT, &url, Some("application/octet-stream"), vec![1u8; 4000]).await;
        assert_eq!((status, webob_message(&body).as_str()), (StatusCode::PAYLOAD_TOO_LARGE, too_large), "stage: {stage}");
        let image = image::get_image(&demo, &id).await.unwrap();
        assert_eq!((image.status.as_str(), image.size), ("queued", None), "stage: {stage}");
        let leftovers: Vec<_> =
            walk(&cloud.data_dir.join("images")).into_iter().filter(|p| p.contains(&id) || p.contains(".upload-")).collect();
        assert!(leftovers.is_empty(), "nothing of the data is kept: {leftovers:?}");
        // At the cap exactly, the data goes in.
        let (status, _) = send(&demo, Method::PUT, &url, Some("application/octet-stream"), vec![1u8; 1000]).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "stage: {stage}");
    }
    let e = cloud.deployment.merge_patch(&json!({"glance": {"image_size_cap": 0}})).unwrap_err();
    assert!(e.contains("glance.image_size_cap must be between 1 and 9223372036854775808 (got 0)"), "{e}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

/// `image_property_quota` and `image_tag_quota` come from the deployment; negative is unlimited.
#[tokio::test]
async fn glance_quotas_are_deployment_options() {
    let cloud = start(CloudConfig::default()).await.unwrap();
    let demo = common::session(&cloud, "demo").await;
    cloud.deployment.merge_patch(&json!({"glance": {"image_property_quota": 2, "image_tag_quota": 1}})).unwrap();
    let url = format!("{}/v2/images", cloud.endpoints.image);
    let body = |v: Value| serde_json::to_vec(&v).unwrap();
    let (status, text) = send(&demo, Method::POST, &url, Some("application/json"), body(json!({"a": "1", "b": "2", "c": "3"}))).await;
    assert_eq!(
        (status, webob_message(&text).as_str()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The limit has been exceeded on the number of allowed image properties. Attempted: 3, Maximum: 2<br /><br />\n\n\n"
        )
    );
    // The reserved namespace does not count.
    let (status, text) = send(&demo, Method::POST, &url, Some("application/json"), body(json!({"a": "1", "b": "2", "tags": ["x"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned();
    // A PATCH that adds a third property is refused; one that replaces one is not.
    let patch = "application/openstack-images-v2.1-json-patch";
    let image_url = format!("{url}/{id}");
    let (status, text) =
        send(&demo, Method::PATCH, &image_url, Some(patch), body(json!([{"op": "add", "path": "/c", "value": "3"}]))).await;
    assert_eq!(
        (
            status,
            webob_message(&text)
                .starts_with("The limit has been exceeded on the number of allowed image properties. Attempted: 3, Maximum: 2")
        ),
        (StatusCode::PAYLOAD_TOO_LARGE, true),
        "{text}"
    );
    let (status, _) =
        send(&demo, Method::PATCH, &image_url, Some(patch), body(json!([{"op": "replace", "path": "/a", "value": "9"}]))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, text) = send(&demo, Method::PUT, &format!("{image_url}/tags/y"), None, Vec::new()).await;
    assert_eq!(
        (status, webob_message(&text)),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Image tag limit exceeded for image {id}: The limit has been exceeded on the number of allowed image tags. Attempted: 2, Maximum: 1:<br /><br />\n\n\n"
            )
        )
    );
    cloud.deployment.merge_patch(&json!({"glance": {"image_property_quota": -1, "image_tag_quota": -1}})).unwrap();
    let many: serde_json::Map<String, Value> = (0..300).map(|i| (format!("p{i}"), json!("v"))).collect();
    let (status, text) = send(&demo, Method::POST, &url, Some("application/json"), body(Value::Object(many))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
}

/// `[identity] max_password_length` with bcrypt (72 bytes in force): cut by default, refused
/// with `strict_password_check`, both when set and when checked.
#[tokio::test]
async fn keystone_cuts_or_refuses_long_passwords() {
    let cloud = start(CloudConfig::default()).await.unwrap();
    let admin = common::session(&cloud, "admin").await;
    let users = format!("{}/users", cloud.endpoints.identity);
    let tokens = format!("{}/auth/tokens", cloud.endpoints.identity);
    let long = "p".repeat(100);
    let create = |name: &str, password: &str| serde_json::to_vec(&json!({"user": {"name": name, "password": password}})).unwrap();
    let (status, text) = send(&admin, Method::POST, &users, Some("application/json"), create("longpw", &long)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let auth = |name: &str, password: &str| {
        serde_json::to_vec(&json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": name, "domain": {"id": "default"}, "password": password}}},
                                    "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}))
        .unwrap()
    };
    // The user has no role on demo, so a right password is a 401 as a wrong one is; what
    // tells them apart is the project scope. Grant one to see the password accepted.
    let demo_project = cloud.identity.projects(Some("demo")).unwrap().remove(0).id;
    let user = cloud.identity.users(Some("longpw")).unwrap().remove(0).id;
    let member = cloud.identity.roles(Some("member")).unwrap().remove(0).id;
    let grant = format!("{}/projects/{demo_project}/users/{user}/roles/{member}", cloud.endpoints.identity);
    assert_eq!(send(&admin, Method::PUT, &grant, None, Vec::new()).await.0, StatusCode::NO_CONTENT);
    for (password, status) in
        [(long.clone(), 201), (long[..72].to_owned(), 201), (format!("{}x", &long[..80]), 201), (long[..71].to_owned(), 401)]
    {
        let (got, text) = send(&admin, Method::POST, &tokens, Some("application/json"), auth("longpw", &password)).await;
        assert_eq!(got.as_u16(), status, "password of {} bytes: {text}", password.len());
    }
    cloud.deployment.merge_patch(&json!({"keystone": {"strict_password_check": true}})).unwrap();
    let refused = "The password length must be less than or equal to 72. The server could not comply with the request because the password is invalid.";
    let (status, text) = send(&admin, Method::POST, &users, Some("application/json"), create("strict", &long)).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&text).unwrap()["error"]["message"].clone()),
        (StatusCode::FORBIDDEN, json!(refused))
    );
    let (status, text) = send(&admin, Method::POST, &tokens, Some("application/json"), auth("longpw", &long)).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&text).unwrap()["error"]["message"].clone()),
        (StatusCode::FORBIDDEN, json!(refused))
    );
    // Another hash algorithm: the configured maximum itself.
    cloud.deployment.merge_patch(&json!({"keystone": {"password_hash_algorithm": "scrypt", "max_password_length": 90}})).unwrap();
    let (status, text) = send(&admin, Method::POST, &users, Some("application/json"), create("scrypt", &long)).await;
    assert!(status == StatusCode::FORBIDDEN && text.contains("less than or equal to 90."), "{status} {text}");
    let e = cloud.deployment.merge_patch(&json!({"keystone": {"max_password_length": 5000}})).unwrap_err();
    assert!(e.contains("keystone.max_password_length must be between 1 and 4096 (got 5000)"), "{e}");
}

/// `min_count`/`max_count` make several servers, named `<name>-<n>`, within Nova's default
/// quota (10 instances): as many as fit, or the quota error when fewer than `min_count` do.
#[tokio::test]
async fn nova_boots_several_servers_within_the_quota() {
    let w = world().await;
    let url = format!("{}/v2.1/servers", w.cloud.endpoints.compute);
    let body = |extra: Value| {
        let mut server = json!({"name": "multi", "flavorRef": "1", "imageRef": w.image});
        server.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::to_vec(&json!({"server": server})).unwrap()
    };
    let (status, text) = send(&w.demo, Method::POST, &url, Some("application/json"), body(json!({"min_count": 2, "max_count": "3"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let first = serde_json::from_str::<Value>(&text).unwrap()["server"]["id"].as_str().unwrap().to_owned();
    let servers = sigstack_client::compute::list_servers(&w.demo, "2.1", &[]).await.unwrap();
    let mut names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["multi-1", "multi-2", "multi-3"]);
    assert!(servers.iter().any(|s| s.id == first && s.name == "multi-1"), "the answer is the first server");
    // A reservation id instead of the server, when asked for.
    let (status, text) = send(&w.demo, Method::POST, &url, Some("application/json"), body(json!({"return_reservation_id": true}))).await;
    let reservation = serde_json::from_str::<Value>(&text).unwrap()["reservation_id"].as_str().map(str::to_owned);
    assert!(status == StatusCode::ACCEPTED && reservation.is_some_and(|r| r.starts_with("r-") && r.len() == 10), "{text}");
    // 4 used: up to 6 more fit; asking for at least 7 is refused.
    let (status, text) = send(&w.demo, Method::POST, &url, Some("application/json"), body(json!({"min_count": 7, "max_count": 8}))).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&text).unwrap()["forbidden"]["message"].clone()),
        (StatusCode::FORBIDDEN, json!("Quota exceeded for instances: Requested 7-8, but already used 4 of 10 instances"))
    );
    let (status, _) = send(&w.demo, Method::POST, &url, Some("application/json"), body(json!({"min_count": 1, "max_count": 20}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(sigstack_client::compute::list_servers(&w.demo, "2.1", &[]).await.unwrap().len(), 10, "reduced to what the quota allows");
}

/// `source_volid`: a clone of an existing volume, with its source's size unless a larger one
/// is asked, its type, and its Glance metadata; `source_volid` shows it.
#[tokio::test]
async fn cinder_clones_a_volume() {
    let w = world().await;
    let url = format!("{}/volumes", volume::project_url(&w.demo).unwrap());
    let body = serde_json::to_vec(&json!({"volume": {"source_volid": w.big_volume, "name": "  clone  "}})).unwrap();
    let (status, text) = send(&w.demo, Method::POST, &url, Some("application/json"), body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (&created["volume"]["source_volid"], &created["volume"]["size"], &created["volume"]["name"]),
        (&json!(w.big_volume), &json!(2), &json!("clone"))
    );
    let id = created["volume"]["id"].as_str().unwrap();
    let clone = volume::wait_for_volume_status(&w.demo, id, &["available", "error"], WAIT).await.unwrap();
    assert_eq!(clone.status, "available");
    let file = std::fs::metadata(w.cloud.data_dir.join("cinder").join("volumes").join(id)).unwrap();
    assert_eq!(file.len(), 2 << 30);
}
