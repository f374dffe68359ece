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
    /// `(/_sim/deployment URL, merge patch)` that undo this scenario's deployment changes, in
    /// the order they were made (applied last first).
    pub deployment_undo: Vec<(String, serde_json::Value)>,
    /// `/_sim/` URLs to POST after the scenario (bring a failed compute node back).
    pub sim_posts: Vec<String>,
    /// The server the scenario booted last.
    pub server_id: Option<String>,
    /// The volume the scenario created last.
    pub volume_id: Option<String>,
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
            deployment_undo: Vec::new(),
            sim_posts: Vec::new(),
            server_id: None,
            volume_id: None,
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

    /// The name of the servers this scenario boots.
    pub fn server_name(&self) -> String {
        format!("{}-vm", self.run)
    }

    /// Replaces `{image}`, `{signature}`, `{missing}`, `{server}`, `{server name}`,
    /// `{secret:<name>}`, and `'c0', …, 'cN'` by the N+1 quoted ids it stands for.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.replace("{signature}", &self.signature).replace("{missing}", &self.missing);
        out = out.replace("{server name}", &self.server_name());
        if let Some(id) = &self.image_id {
            out = out.replace("{image}", id);
        }
        if let Some(id) = &self.server_id {
            out = out.replace("{server}", id);
        }
        out = expand_ellipsis(&out);
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
        undo.extend(self.sim_posts.drain(..).map(|url| http.post(url)));
        undo.extend(self.deployment_undo.drain(..).rev().map(|(url, patch)| http.patch(url).json(&patch)));
        for request in undo {
            let r = request.send().await;
            if !r.as_ref().is_ok_and(|r| r.status().is_success()) {
                eprintln!("cleanup: {r:?}");
            }
        }
    }
}

/// `'c0', …, 'cN'` → `'c0', 'c1', …, 'cN'` written out (long lists in the Gherkin).
fn expand_ellipsis(text: &str) -> String {
    const START: &str = "'c0', …, 'c";
    let Some(at) = text.find(START) else { return text.to_owned() };
    let rest = &text[at + START.len()..];
    let Some(end) = rest.find('\'') else { return text.to_owned() };
    let Ok(last) = rest[..end].parse::<usize>() else { return text.to_owned() };
    let list = (0..=last).map(|i| format!("'c{i}'")).collect::<Vec<_>>().join(", ");
    expand_ellipsis(&format!("{}{list}{}", &text[..at], &rest[end + 1..]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ellipsis_lists_every_id() {
        assert_eq!(super::expand_ellipsis("x ['c0', …, 'c2']. ['c0', …, 'c1'] y"), "x ['c0', 'c1', 'c2']. ['c0', 'c1'] y");
    }
}
