//! The World: one scenario's state, its sessions on the target, the answers it got, and what it
//! must undo. Steps shared by every feature are in `steps/common.rs`.

use std::collections::HashMap;

use cucumber::World;
use reqwest::Method;
use sigstack_client::{Credentials, Session, identity};

use crate::target;

/// The last answer a `When` step got.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// One scenario's state. Where the target allows it, the scenario's "demo" and "alt_demo"
/// are users created for it in projects of their own (deleted after it); every resource it
/// creates also has a name unique to it (`run` prefix), and grants and faults are undone
/// after it.
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
    /// `@target-users`: act as the target's own users even where scenarios get projects of
    /// their own (set by the `before` hook).
    pub target_users: bool,
    /// Keystone users and projects made for this scenario, deleted after it (users first).
    created_users: Vec<String>,
    created_projects: Vec<String>,
    /// Admin-only resource URLs (block-storage volume types) to DELETE as admin after the
    /// scenario, once everything else is undone.
    pub admin_deletes: Vec<String>,
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
            target_users: false,
            created_users: Vec::new(),
            created_projects: Vec::new(),
            admin_deletes: Vec::new(),
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
        let credentials = if target.isolated() && !self.target_users && target::ISOLATED_USERS.contains(&user) {
            self.own_project(user, credentials).await
        } else {
            credentials.clone()
        };
        self.authenticate(user, &credentials).await
    }

    async fn authenticate(&mut self, user: &str, credentials: &Credentials) -> Session {
        let s = Session::authenticate(credentials).await.unwrap_or_else(|e| panic!("{user} authenticates: {e}"));
        self.sessions.insert(user.to_owned(), s.clone());
        s
    }

    /// The target's admin; never isolated, so this needs no recursion through `session`.
    async fn admin(&mut self) -> Session {
        if let Some(s) = self.sessions.get("admin") {
            return s.clone();
        }
        let credentials = target::current().users.get("admin").cloned().expect("isolation needs the admin user");
        self.authenticate("admin", &credentials).await
    }

    /// Makes, as admin, a project and a user for this scenario's `user`, with the roles the
    /// target's own `user` has in its project (so "demo" is still a member without the
    /// creator role), in the same domains; returns the new user's credentials.
    async fn own_project(&mut self, user: &str, template: &Credentials) -> Credentials {
        let admin = self.admin().await;
        let model = Session::authenticate(template).await.unwrap_or_else(|e| panic!("{user} authenticates: {e}"));
        let name = format!("{}-{user}", self.run);
        // The new user lives where the model user's token says it does (an application
        // credential or a domain given by id names no domain).
        let project_domain = match &template.project_domain_id {
            Some(id) => id.clone(),
            None => identity::domain_id(&admin, &template.project_domain_name).await.expect("project domain"),
        };
        let user_domain = match &template.user_domain_id {
            Some(id) => id.clone(),
            None => identity::domain_id(&admin, &template.user_domain_name).await.expect("user domain"),
        };
        let project = identity::create_project(&admin, &name, &project_domain, "sigstack conformance scenario")
            .await
            .unwrap_or_else(|e| panic!("project for {user}: {e}"));
        self.created_projects.push(project.id.clone());
        let password = uuid::Uuid::new_v4().to_string();
        let created = identity::create_user(&admin, &name, &password, &user_domain, &project.id)
            .await
            .unwrap_or_else(|e| panic!("user for {user}: {e}"));
        self.created_users.push(created.id.clone());
        for role in &model.token().roles {
            identity::grant(&admin, &project.id, &created.id, &role.id).await.unwrap_or_else(|e| panic!("{} for {user}: {e}", role.name));
        }
        let mut credentials = template.password_user(&name, &password, &name);
        credentials.user_domain_id = Some(user_domain);
        credentials.project_domain_id = Some(project_domain);
        credentials
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
    /// (here Barbican's, as the target's catalog lists it).
    pub async fn sim_base(&mut self) -> String {
        crate::steps::common::origin(self, "key-manager").await
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
        if !self.created_users.is_empty() || !self.created_projects.is_empty() {
            let admin = self.admin().await;
            for id in std::mem::take(&mut self.created_users) {
                if let Err(e) = identity::delete_user(&admin, &id).await {
                    eprintln!("cleanup: {e}");
                }
            }
            for id in std::mem::take(&mut self.created_projects) {
                if let Err(e) = identity::delete_project(&admin, &id).await {
                    eprintln!("cleanup: {e}");
                }
            }
        }
        if !self.admin_deletes.is_empty() {
            let admin = self.admin().await;
            for url in std::mem::take(&mut self.admin_deletes) {
                if let Err(e) = admin.send(admin.request(Method::DELETE, &url)).await {
                    eprintln!("cleanup: {e}");
                }
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
    use std::sync::Arc;

    use reqwest::Method;
    use serde_json::Value;

    use super::Conformance;
    use crate::target;

    /// Names of the projects (or users) Keystone lists under `name`, as admin.
    async fn listed(admin: &sigstack_client::Session, kind: &str, name: &str) -> Vec<String> {
        let url = format!("{}/{kind}", sigstack_client::identity::v3(admin).unwrap());
        let body: Value = admin.json(admin.request(Method::GET, &url).query(&[("name", name)])).await.unwrap();
        body[kind].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
    }

    fn role_names(s: &sigstack_client::Session) -> Vec<String> {
        let mut roles: Vec<String> = s.token().roles.iter().map(|r| r.name.clone()).collect();
        roles.sort();
        roles
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_scenario_gets_projects_of_its_own_and_they_go_after_it() {
        let _one_at_a_time = crate::RUN.lock().await;
        let (embedded, cloud) = target::embedded(None, None).await.unwrap();
        let embedded = Arc::new(embedded);
        assert!(embedded.isolated());
        target::set_current(Some(embedded.clone()));

        let mut w = Conformance::new().await;
        let demo = w.session("demo").await;
        let alt = w.session("alt_demo").await;
        let admin = w.session("admin").await;
        let project = demo.token().project.clone().unwrap();
        assert_eq!(project.name, format!("{}-demo", w.run));
        assert_ne!(project.id, alt.token().project.clone().unwrap().id);
        // The same roles as the target's own demo: a member without the creator role.
        let shared_demo = sigstack_client::Session::authenticate(&embedded.users["demo"]).await.unwrap();
        assert_eq!(role_names(&demo), role_names(&shared_demo));
        assert_eq!(admin.token().project.clone().unwrap().name, "admin");
        assert_eq!(listed(&admin, "projects", &project.name).await.len(), 1);

        w.cleanup().await;
        assert!(listed(&admin, "projects", &project.name).await.is_empty());
        assert!(listed(&admin, "users", &demo.token().user.name).await.is_empty());
        assert!(sigstack_client::Session::authenticate(&super::Credentials {
            project_name: Some(project.name.clone()),
            ..embedded.users["demo"].clone()
        })
        .await
        .is_err());

        // `@target-users` scenarios act as the target's own demo.
        let mut w = Conformance::new().await;
        w.target_users = true;
        assert_eq!(w.session("demo").await.token().project.clone().unwrap().name, "demo");

        // A capability file may opt out.
        let mut shared = target::embedded(None, None).await.unwrap();
        shared.0.capabilities.set(target::ISOLATED_PROJECTS, false);
        assert!(!shared.0.isolated());
        shared.1.shutdown().await;

        target::set_current(None);
        cloud.shutdown().await;
    }

    #[test]
    fn ellipsis_lists_every_id() {
        assert_eq!(super::expand_ellipsis("x ['c0', …, 'c2']. ['c0', …, 'c1'] y"), "x ['c0', 'c1', 'c2']. ['c0', 'c1'] y");
    }
}
