//! The World, the target cloud, and steps shared by every feature: response checks, message
//! placeholders, and the `/_sim/` control API (`@simulated` scenarios only).

use std::collections::HashMap;

use cucumber::{World, given, then};
use reqwest::Method;
use serde_json::{Value, json};
use sigstack_client::{Credentials, Session};
use tokio::sync::OnceCell;

/// The cloud under test: the embedded simulated cloud, started once per run.
pub struct Target {
    /// Kept alive for the whole run; dropping it stops the listeners.
    _cloud: sigstack_cloud::CloudHandle,
    users: HashMap<String, Credentials>,
}

static TARGET: OnceCell<Target> = OnceCell::const_new();

async fn target() -> &'static Target {
    TARGET
        .get_or_init(|| async {
            let cloud = sigstack_cloud::start(sigstack_cloud::CloudConfig::default()).await.expect("the simulated cloud starts");
            let users = ["admin", "demo", "alt_demo"]
                .into_iter()
                .map(|u| (u.to_owned(), cloud.credentials(u).unwrap_or_else(|| panic!("seeded user {u}"))))
                .collect();
            Target { _cloud: cloud, users }
        })
        .await
}

/// The last answer a `When` step got.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// One scenario's state. Scenarios share the cloud, so every resource a scenario creates has
/// a name unique to it (`run` prefix), and grants and faults are undone after it.
#[derive(Debug, World)]
#[world(init = Self::new)]
pub struct Conformance {
    /// Unique per scenario; prefixes resource names.
    pub run: String,
    sessions: HashMap<String, Session>,
    /// Secret name in the scenario → Barbican secret uuid.
    pub secrets: HashMap<String, String>,
    pub answer: Option<Answer>,
    pub image_id: Option<String>,
    /// Who created the image (reads it back in `Then` steps).
    pub image_user: String,
    /// The image data and its base64 signature.
    pub data: Vec<u8>,
    pub signature: String,
    /// A random id that no secret has.
    pub missing: String,
    /// Keystone role-assignment URLs to DELETE after the scenario.
    pub grants: Vec<String>,
    /// `/_sim/faults/{id}` URLs to DELETE after the scenario.
    pub faults: Vec<String>,
}

impl Conformance {
    async fn new() -> Self {
        target().await;
        Conformance {
            run: format!("scn-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            sessions: HashMap::new(),
            secrets: HashMap::new(),
            answer: None,
            image_id: None,
            image_user: String::new(),
            data: Vec::new(),
            signature: String::new(),
            missing: uuid::Uuid::new_v4().to_string(),
            grants: Vec::new(),
            faults: Vec::new(),
        }
    }

    /// A session for a seeded user (authenticated once per scenario).
    pub async fn session(&mut self, user: &str) -> Session {
        if let Some(s) = self.sessions.get(user) {
            return s.clone();
        }
        let credentials = target().await.users.get(user).unwrap_or_else(|| panic!("no user {user:?} in the target"));
        let s = Session::authenticate(credentials).await.unwrap_or_else(|e| panic!("{user} authenticates: {e}"));
        self.sessions.insert(user.to_owned(), s.clone());
        s
    }

    pub fn secret(&self, name: &str) -> &str {
        self.secrets.get(name).unwrap_or_else(|| panic!("no secret {name:?} stored in this scenario"))
    }

    pub fn image(&self) -> &str {
        self.image_id.as_deref().expect("an image was created")
    }

    /// Replaces `{image}`, `{signature}`, `{missing}` and `{secret:<name>}`.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.replace("{signature}", &self.signature).replace("{missing}", &self.missing);
        if let Some(id) = &self.image_id {
            out = out.replace("{image}", id);
        }
        for (name, uuid) in &self.secrets {
            out = out.replace(&format!("{{secret:{name}}}"), uuid);
        }
        assert!(!out.contains("{secret:"), "unknown secret in {text:?}");
        out
    }

    /// Sends and records the answer.
    pub async fn record(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the service answers");
        let answer = Answer { status: response.status().as_u16(), body: response.text().await.unwrap_or_default() };
        self.answer = Some(answer.clone());
        answer
    }

    pub fn answer(&self) -> &Answer {
        self.answer.as_ref().expect("a request was made")
    }

    /// The base URL of a `/_sim/` listener (any service's; here Barbican's, from the catalog).
    async fn sim_base(&mut self) -> String {
        let admin = self.session("admin").await;
        let url = admin.endpoint("key-manager").expect("key-manager endpoint");
        url.trim_end_matches('/').trim_end_matches("/v1").to_owned()
    }

    /// Undoes grants and faults; runs after every scenario, passed or failed.
    pub async fn cleanup(&mut self) {
        if self.grants.is_empty() && self.faults.is_empty() {
            return;
        }
        let admin = self.session("admin").await;
        for url in self.grants.drain(..).chain(self.faults.drain(..)) {
            let r = admin.request(Method::DELETE, &url).send().await;
            if !r.as_ref().is_ok_and(|r| r.status().is_success()) {
                eprintln!("cleanup: DELETE {url} failed: {r:?}");
            }
        }
    }
}

#[then(expr = "the request is answered {int}")]
async fn answered(w: &mut Conformance, status: u16) {
    let a = w.answer();
    assert_eq!(a.status, status, "body: {}", a.body);
}

#[then(expr = "the request is answered {int} with the message {string}")]
async fn answered_with(w: &mut Conformance, status: u16, message: String) {
    let expected = w.expand(&message);
    let a = w.answer();
    assert_eq!((a.status, sigstack_client::error::error_message(&a.body)), (status, expected), "body: {}", a.body);
}

#[given(expr = "{string} holds the {string} role in its project")]
async fn holds_role(w: &mut Conformance, user: String, role: String) {
    let admin = w.session("admin").await;
    let s = w.session(&user).await;
    let identity = admin.endpoint("identity").expect("identity endpoint");
    let identity = sigstack_client::session::v3_url(&identity);
    let roles: Value = admin
        .json(admin.request(Method::GET, &format!("{identity}/roles")).query(&[("name", role.as_str())]))
        .await
        .expect("roles listed");
    let role_id = roles["roles"][0]["id"].as_str().unwrap_or_else(|| panic!("no role {role}: {roles}")).to_owned();
    let project = &s.token().project.as_ref().expect("project-scoped token").id;
    let url = format!("{identity}/projects/{project}/users/{}/roles/{role_id}", s.token().user.id);
    admin.send(admin.request(Method::PUT, &url)).await.expect("role granted");
    w.grants.push(url);
}

#[given(expr = "the simulated Barbican answers {int} to {string}")]
async fn barbican_fault(w: &mut Conformance, status: u16, operation: String) {
    let base = w.sim_base().await;
    let fault = json!({"service": "barbican", "operation": operation,
        "action": {"fail": {"status": status, "body": {"code": status, "title": "Service Unavailable", "description": "injected"}}}});
    let admin = w.session("admin").await;
    let r = admin.http().post(format!("{base}/_sim/faults")).json(&fault).send().await.expect("control API answers");
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.expect("fault JSON");
    w.faults.push(format!("{base}/_sim/faults/{}", body["id"].as_str().expect("fault id")));
}
