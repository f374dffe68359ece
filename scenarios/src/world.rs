//! The World: one scenario's state, its sessions on the target, the answers it got, and what it
//! must undo. Steps shared by every feature are in `steps/common.rs`.

use std::collections::HashMap;

use cucumber::World;
use reqwest::Method;
use sigstack_client::Session;

use crate::target;

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

    /// A session for a suite user (authenticated once per scenario). The plan skips scenarios
    /// whose users the target lacks, so a missing user here is a suite bug.
    pub async fn session(&mut self, user: &str) -> Session {
        if let Some(s) = self.sessions.get(user) {
            return s.clone();
        }
        let target = target::current();
        let credentials = target.users.get(user).unwrap_or_else(|| panic!("no user {user:?} in the target"));
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

    /// The base URL of the `/_sim/` control API: any service endpoint's scheme, host and port
    /// (here Barbican's, from the catalog of whichever user this scenario already uses).
    pub async fn sim_base(&mut self) -> String {
        let s = match self.sessions.values().next() {
            Some(s) => s.clone(),
            None => self.session("demo").await,
        };
        let url = s.endpoint("key-manager").expect("key-manager endpoint");
        let url = reqwest::Url::parse(&url).unwrap_or_else(|e| panic!("key-manager endpoint {url:?}: {e}"));
        url.origin().ascii_serialization()
    }

    /// Undoes grants (as admin, who made them) and faults (the control API needs no token);
    /// runs after every scenario, passed or failed.
    pub async fn cleanup(&mut self) {
        let mut undo = Vec::new();
        if !self.grants.is_empty() {
            let admin = self.session("admin").await;
            undo.extend(self.grants.drain(..).map(|url| admin.request(Method::DELETE, &url)));
        }
        let http = sigstack_client::session::http_client();
        undo.extend(self.faults.drain(..).map(|url| http.delete(url)));
        for request in undo {
            let r = request.send().await;
            if !r.as_ref().is_ok_and(|r| r.status().is_success()) {
                eprintln!("cleanup: {r:?}");
            }
        }
    }
}

