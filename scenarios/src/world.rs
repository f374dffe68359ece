//! The World: one scenario's state, its sessions on the target, the answers it got, and what it
//! must undo. Steps shared by every feature are in `steps/common.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use cucumber::World;
use serde_json::Value;
use sigstack_client::{Credentials, Session, compute, identity};

use crate::config::RunSettings;
use crate::disk_image::DiskFormat;
use crate::ledger::{Ledger, Resource};
use crate::{interrupt, naming, target};

/// The last answer a `When` step got.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// One scenario's state. Where the target allows it, the scenario's "demo" and "alt_demo"
/// are users created for it in projects of their own; every resource it creates has a name
/// unique to it (`run`: the run id, then `scn-<12 hex>`) and is recorded in its ledger, which
/// the `after` hook undoes (last first), passed or failed; grants and faults are undone too.
#[derive(Debug, World)]
#[world(init = Self::new)]
pub struct Conformance {
    /// `<run id>-scn-<12 hex>`: unique per scenario; prefixes resource names.
    pub run: String,
    sessions: HashMap<String, Session>,
    /// The run's timeouts, polling, flavor, network and image format.
    pub settings: Arc<RunSettings>,
    /// Everything this scenario created, deleted after it.
    pub ledger: Ledger,
    /// Secret name in the scenario → Barbican secret uuid.
    pub secrets: HashMap<String, String>,
    pub answer: Option<Answer>,
    pub image_id: Option<String>,
    /// Who created the image (reads it back in `Then` steps).
    pub image_user: String,
    /// The disk format of the images this scenario uploads: the run's, or `raw` in a scenario
    /// that puts Ceph RBD storage in the simulated deployment (Ceph clones RAW images).
    pub image_format: DiskFormat,
    /// The image data (a disk image in `data_format`) and its base64 signature.
    pub data: Vec<u8>,
    /// The format `data` is in (the images the scenario creates say so).
    pub data_format: DiskFormat,
    /// A byte of `data` inside the guest's data: "with a byte changed" changes it.
    pub tamper_offset: usize,
    /// The virtual size of the disk `data` is.
    pub virtual_size: u64,
    pub signature: String,
    /// A random id that no secret has.
    pub missing: String,
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
    /// The flavor id servers are booted with, once looked up.
    flavor: Option<String>,
}

impl Conformance {
    async fn new() -> Self {
        // After Ctrl-C no scenario starts.
        interrupt::check();
        let target = target::current();
        let settings = Arc::new(RunSettings::resolve(&target.capabilities, target.description.starts_with("embedded ")));
        Conformance {
            run: format!("{}-scn-{}", naming::run_id(), &uuid::Uuid::new_v4().simple().to_string()[..12]),
            sessions: HashMap::new(),
            image_format: settings.image_format,
            data_format: settings.image_format,
            settings,
            ledger: Ledger::default(),
            secrets: HashMap::new(),
            answer: None,
            image_id: None,
            image_user: String::new(),
            data: Vec::new(),
            tamper_offset: 0,
            virtual_size: 0,
            signature: String::new(),
            missing: uuid::Uuid::new_v4().to_string(),
            faults: Vec::new(),
            deployment_undo: Vec::new(),
            sim_posts: Vec::new(),
            server_id: None,
            volume_id: None,
            target_users: false,
            flavor: None,
        }
    }

    /// Records a resource `user` created, to delete as `user` after the scenario.
    pub fn created(&mut self, user: &str, resource: Resource) {
        self.ledger.record(user, resource);
    }

    /// A session for a suite user (authenticated once per scenario). The plan skips scenarios
    /// whose users the target lacks, so a missing user here is a suite bug. After Ctrl-C a
    /// step asking for one fails, so the scenario goes on to its cleanup.
    pub async fn session(&mut self, user: &str) -> Session {
        interrupt::check();
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
    /// creator role), in the same domains; returns the new user's credentials. Both are in
    /// the ledger (admin deletes them, the user first, once what the user made is gone).
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
        self.created("admin", Resource::Project { id: project.id.clone() });
        let password = uuid::Uuid::new_v4().to_string();
        let created = identity::create_user(&admin, &name, &password, &user_domain, &project.id)
            .await
            .unwrap_or_else(|e| panic!("user for {user}: {e}"));
        self.created("admin", Resource::User { id: created.id.clone() });
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

    /// The flavor to boot with: the `flavor` setting (a name or an id), else the smallest
    /// flavor (by RAM, then disk, then vCPUs) that is enabled and whose root disk holds the
    /// image. Looked up once per scenario.
    pub async fn flavor(&mut self, s: &Session) -> String {
        if let Some(id) = &self.flavor {
            return id.clone();
        }
        let flavors = compute::list_flavors(s).await.unwrap_or_else(|e| panic!("flavors: {e}"));
        let id = choose_flavor(&flavors, self.settings.flavor.as_deref(), self.virtual_size.max(1 << 20)).unwrap_or_else(|e| panic!("{e}"));
        self.flavor = Some(id.clone());
        id
    }

    /// The `networks` of a server create (setting `network`).
    pub fn networks(&self) -> Value {
        self.settings.network.to_json()
    }

    /// Replaces `{image}`, `{signature}`, `{missing}`, `{server}`, `{server name}`,
    /// `{flavor}` (the flavor id servers are booted with), `{networks}` (the `networks` sent,
    /// as Python shows it), `{secret:<name>}`, and `'c0', …, 'cN'` by the N+1 quoted ids it
    /// stands for.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.replace("{signature}", &self.signature).replace("{missing}", &self.missing);
        out = out.replace("{server name}", &self.server_name());
        if let Some(id) = &self.image_id {
            out = out.replace("{image}", id);
        }
        if let Some(id) = &self.server_id {
            out = out.replace("{server}", id);
        }
        if let Some(id) = &self.flavor {
            out = out.replace("{flavor}", id);
        }
        out = out.replace("{networks}", &python_repr(&self.networks()));
        out = expand_ellipsis(&out);
        for (name, uuid) in &self.secrets {
            out = out.replace(&format!("{{secret:{name}}}"), uuid);
        }
        assert!(!out.contains("{secret:"), "unknown secret in {text:?}");
        out
    }

    /// Sends and records the answer. A request carrying one of this scenario's sessions'
    /// tokens goes through that session, so a token that expired since it was built is
    /// renewed first, as any client of the cloud would.
    pub async fn record(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let token = request
            .try_clone()
            .and_then(|r| r.build().ok())
            .and_then(|r| r.headers().get("X-Auth-Token").and_then(|v| v.to_str().ok()).map(str::to_owned));
        let session = token.and_then(|t| self.sessions.values().find(|s| s.holds_token(&t)).cloned());
        let response = match session {
            Some(session) => session.send_answered(request).await.expect("the service answers"),
            None => request.send().await.expect("the service answers"),
        };
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

    /// Runs after every scenario, passed, failed or interrupted: removes injected faults and
    /// brings failed compute nodes back (the control API needs no token), deletes everything
    /// in the ledger (last first, each as the user who made it), then puts the simulated
    /// deployment back. What cannot be deleted is logged and counted
    /// ([`crate::ledger::cleanup_failures`]).
    pub async fn cleanup(&mut self) {
        let http = crate::target::current().control_http();
        let mut undo = Vec::new();
        undo.extend(self.faults.drain(..).map(|url| http.delete(url)));
        undo.extend(self.sim_posts.drain(..).map(|url| http.post(url)));
        for request in undo {
            let r = request.send().await;
            if !r.as_ref().is_ok_and(|r| r.status().is_success()) {
                eprintln!("cleanup: {r:?}");
            }
        }
        if !self.ledger.is_empty() {
            let failures = self.ledger.undo(&self.sessions, &self.settings).await;
            for failure in &failures {
                eprintln!("cleanup of {}: {failure}", self.run);
            }
            crate::ledger::count_failures(failures);
        }
        for (url, patch) in self.deployment_undo.drain(..).rev() {
            let r = http.patch(url).json(&patch).send().await;
            if !r.as_ref().is_ok_and(|r| r.status().is_success()) {
                eprintln!("cleanup: {r:?}");
            }
        }
    }
}

/// The flavor id for `wanted` (a name or an id), or the smallest enabled one whose disk holds
/// `virtual_size` bytes (a disk of 0 is for volume-backed servers only).
pub fn choose_flavor(flavors: &[Value], wanted: Option<&str>, virtual_size: u64) -> Result<String, String> {
    let id = |f: &Value| f["id"].as_str().map(str::to_owned).unwrap_or_else(|| f["id"].to_string());
    let names = || flavors.iter().map(|f| format!("{} ({})", f["name"].as_str().unwrap_or("?"), id(f))).collect::<Vec<_>>().join(", ");
    if let Some(wanted) = wanted {
        let found = flavors.iter().find(|f| id(f) == wanted).or_else(|| flavors.iter().find(|f| f["name"].as_str() == Some(wanted)));
        return found
            .map(id)
            .ok_or_else(|| format!("setting 'flavor': the cloud has no flavor named or with id '{wanted}' (it has: {})", names()));
    }
    let number = |f: &Value, k: &str| f[k].as_u64().unwrap_or(0);
    flavors
        .iter()
        .filter(|f| f["OS-FLV-DISABLED:disabled"] != Value::Bool(true))
        .filter(|f| number(f, "disk") > 0 && number(f, "disk") << 30 >= virtual_size)
        .min_by_key(|f| (number(f, "ram"), number(f, "disk"), number(f, "vcpus"), id(f)))
        .map(id)
        .ok_or_else(|| {
            format!(
                "no flavor with a root disk of at least {virtual_size} bytes (the cloud has: {}); name one with the setting 'flavor'",
                names()
            )
        })
}

/// A JSON value as Python's `repr` shows it (Nova's schema errors quote the request that way).
pub fn python_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Array(items) => format!("[{}]", items.iter().map(python_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(fields) => {
            format!("{{{}}}", fields.iter().map(|(k, v)| format!("'{k}': {}", python_repr(v))).collect::<Vec<_>>().join(", "))
        }
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => n.to_string(),
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
        assert!(
            sigstack_client::Session::authenticate(&super::Credentials {
                project_name: Some(project.name.clone()),
                ..embedded.users["demo"].clone()
            })
            .await
            .is_err()
        );

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

    /// The rows of `/_sim/resources` naming `needle` that are live (not a soft-deleted image).
    async fn live(cloud: &sigstack_cloud::CloudHandle, needle: &str) -> Vec<String> {
        let origin = &cloud.endpoints.key_manager;
        let body: Value = cloud.control_http().get(format!("{origin}/_sim/resources")).send().await.unwrap().json().await.unwrap();
        let mut out = Vec::new();
        for (service, tables) in body["services"].as_object().unwrap() {
            for (table, rows) in tables["tables"].as_object().into_iter().flatten() {
                for row in rows.as_array().into_iter().flatten().filter(|r| r.to_string().contains(needle)) {
                    let inner: Value = row["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
                    if !(table == "glance_images" && inner["status"] == "deleted") {
                        out.push(format!("{service}/{table}"));
                    }
                }
            }
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_ledger_deletes_what_a_scenario_made_last_first() {
        use sigstack_client::{compute, image, key_manager, volume};

        use crate::ledger::Resource;

        let _one_at_a_time = crate::RUN.lock().await;
        let (embedded, cloud) = target::embedded(None, None).await.unwrap();
        target::set_current(Some(Arc::new(embedded)));
        let mut w = Conformance::new().await;
        assert!(crate::naming::run_of(&w.run).is_some(), "{}", w.run);
        let demo = w.session("demo").await;

        // An image (qcow2 data), a secret, a volume from the image, a server booted from the
        // image, the volume attached to it: each recorded as the steps record them.
        let disk = crate::disk_image::make(w.image_format, 5000, 1);
        let new = image::NewImage { disk_format: Some(disk.format.name().into()), ..image::NewImage::raw(&format!("{}-image", w.run)) };
        let img = image::create_image(&demo, &new).await.unwrap();
        w.created("demo", Resource::Image { id: img.id.clone() });
        image::upload(&demo, &img.id, std::io::Cursor::new(disk.bytes), None).await.unwrap();
        let admin = w.session("admin").await;
        let secret = key_manager::create_secret(&admin, &key_manager::NewSecret::certificate(&format!("{}-c", w.run), b"x")).await.unwrap();
        w.created("admin", Resource::Secret { id: key_manager::secret_uuid(&secret).to_owned() });
        let v = volume::create_volume(
            &demo,
            &volume::NewVolume { name: Some(format!("{}-volume", w.run)), ..volume::NewVolume::from_image(1, &img.id) },
        )
        .await
        .unwrap();
        w.created("demo", Resource::Volume { id: v.id.clone() });
        volume::wait_for_volume_status(&demo, &v.id, &["available"], std::time::Duration::from_secs(10)).await.unwrap();
        let flavor = w.flavor(&demo).await;
        assert_eq!(flavor, "1", "the simulator's flavor");
        let server = compute::NewServer { flavor_ref: flavor, ..compute::NewServer::from_image(&w.server_name(), &img.id) };
        let created = compute::create_server(&demo, compute::TRUSTED_CERTS_MICROVERSION, &server).await.unwrap();
        w.created("demo", Resource::Server { id: created.id.clone() });
        compute::wait_for_server_status(&demo, "2.1", &created.id, &["ACTIVE"], std::time::Duration::from_secs(10)).await.unwrap();
        compute::attach_volume(&demo, "2.1", &created.id, &compute::NewVolumeAttachment::volume(&v.id)).await.unwrap();
        w.created("demo", Resource::VolumeAttachment { server_id: created.id.clone(), volume_id: v.id.clone() });
        volume::wait_for_volume_status(&demo, &v.id, &["in-use"], std::time::Duration::from_secs(10)).await.unwrap();
        let before = live(&cloud, &w.run).await;
        for table in [
            "nova/nova_servers",
            "cinder/cinder_volumes",
            "glance/glance_images",
            "barbican/barbican_secrets",
            "keystone/keystone_projects",
            "keystone/keystone_users",
        ] {
            assert!(before.iter().any(|t| t == table), "{table} in {before:?}");
        }

        w.cleanup().await;
        assert_eq!(live(&cloud, &w.run).await, Vec::<String>::new());
        assert!(w.ledger.is_empty());
        assert_eq!(crate::ledger::take_cleanup_failures(), Vec::<String>::new());

        target::set_current(None);
        cloud.shutdown().await;
    }

    #[test]
    fn flavors_by_name_id_or_the_smallest_that_fits() {
        let flavors: Vec<Value> = serde_json::from_str(
            r#"[{"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "vcpus": 1},
                {"id": "2", "name": "m1.small", "ram": 2048, "disk": 20, "vcpus": 1},
                {"id": "42", "name": "m1.nano", "ram": 128, "disk": 1, "vcpus": 1},
                {"id": "0", "name": "volume-only", "ram": 64, "disk": 0, "vcpus": 1},
                {"id": "d", "name": "disabled", "ram": 32, "disk": 5, "vcpus": 1, "OS-FLV-DISABLED:disabled": true}]"#,
        )
        .unwrap();
        assert_eq!(super::choose_flavor(&flavors, None, 1 << 20).unwrap(), "42");
        assert_eq!(super::choose_flavor(&flavors, None, 2 << 30).unwrap(), "2");
        assert_eq!(super::choose_flavor(&flavors, Some("m1.small"), 1).unwrap(), "2");
        assert_eq!(super::choose_flavor(&flavors, Some("1"), 1).unwrap(), "1");
        let e = super::choose_flavor(&flavors, Some("m9"), 1).unwrap_err();
        assert!(e.starts_with("setting 'flavor': the cloud has no flavor named or with id 'm9' (it has: m1.tiny (1), m1.small (2)"), "{e}");
        assert!(super::choose_flavor(&flavors, None, 100 << 30).unwrap_err().contains("name one with the setting 'flavor'"));
    }

    #[test]
    fn python_shows_the_networks_as_nova_quotes_them() {
        use crate::config::Network;
        assert_eq!(super::python_repr(&Network::Auto.to_json()), "'auto'");
        assert_eq!(super::python_repr(&Network::Id("n1".into()).to_json()), "[{'uuid': 'n1'}]");
    }

    #[test]
    fn ellipsis_lists_every_id() {
        assert_eq!(super::expand_ellipsis("x ['c0', …, 'c2']. ['c0', …, 'c1'] y"), "x ['c0', 'c1', 'c2']. ['c0', 'c1'] y");
    }
}
