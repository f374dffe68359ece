//! Shared by the operator-tool tests (`audit*.rs`, `sign_images*.rs`): an in-process simulated
//! cloud, a clouds.yaml for it in a temporary directory, and the built `sigstack` binary run
//! against it exactly as an operator would run it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::image::{self, NewImage};
use sigstack_client::key_manager::{self, NewSecret};
use sigstack_client::{Credentials, Session};
use sigstack_cloud::deployment::Deployment;
use sigstack_cloud::{CloudConfig, CloudHandle};

pub const RSA_KEY: &str = "fixtures/pki/signing/rsa-2048.key.pem";
pub const RSA_CERT: &str = "fixtures/pki/signing/rsa-2048.crt.pem";
pub const OTHER_CERT: &str = "fixtures/pki/signing/rsa-3072.crt.pem";

/// A running cloud and the directory holding its clouds.yaml.
pub struct Env {
    pub cloud: CloudHandle,
    pub dir: tempfile::TempDir,
}

/// The clouds.yaml entries written, and the seeded user each one logs in as.
pub const CLOUDS: [(&str, &str); 3] = [("sigstack-admin", "admin"), ("sigstack-demo", "demo"), ("sigstack-alt-demo", "alt_demo")];

/// A MOS cloud whose signature switch was OFF at deploy time: its baseline images are unsigned,
/// and Nova does not verify (the MOS document's "existing cloud").
pub async fn mos_unsigned() -> Env {
    let mut deployment = Deployment::load("mos").expect("mos deployment");
    deployment.features.glance.signature.enabled = Some(false);
    env(deployment).await
}

pub async fn env(deployment: Deployment) -> Env {
    let cloud = sigstack_cloud::start(CloudConfig { deployment, ..CloudConfig::default() }).await.expect("cloud starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = String::from("clouds:\n");
    for (name, user) in CLOUDS {
        let c = cloud.credentials(user).expect("seeded user");
        text.push_str(&format!(
            "  {name}:\n    auth:\n      auth_url: {}\n      username: {}\n      password: {}\n      project_name: {}\n      user_domain_name: {}\n      project_domain_name: {}\n    region_name: {}\n    interface: {}\n",
            c.auth_url,
            c.username,
            c.password,
            c.project_name.clone().unwrap_or_default(),
            c.user_domain_name,
            c.project_domain_name,
            c.region_name.clone().unwrap_or_else(|| "RegionOne".into()),
            c.interface,
        ));
    }
    std::fs::write(dir.path().join("clouds.yaml"), text).expect("clouds.yaml written");
    Env { cloud, dir }
}

/// What a `sigstack` run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// The RESULT column of sign-images' table, by image id.
    pub fn results(&self) -> BTreeMap<String, String> {
        self.stdout
            .lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter_map(|l| {
                let id = l.split_whitespace().next()?;
                // Columns are separated by two spaces at least; the result is the last column.
                let result = l.rsplit("  ").next()?.trim();
                Some((id.to_owned(), result.to_owned()))
            })
            .collect()
    }
}

impl Env {
    pub fn clouds_yaml(&self) -> PathBuf {
        self.dir.path().join("clouds.yaml")
    }

    /// Runs the built binary (on a blocking thread, so the in-process cloud keeps serving),
    /// finding clouds.yaml through `OS_CLIENT_CONFIG_FILE` as openstacksdk does.
    pub async fn sigstack(&self, args: &[&str]) -> Run {
        self.sigstack_env(args, &[]).await
    }

    pub async fn sigstack_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
        command.args(args).current_dir(self.dir.path()).env("OS_CLIENT_CONFIG_FILE", self.clouds_yaml()).env_remove("OS_CLOUD");
        for (k, v) in env {
            command.env(k, v);
        }
        let output = tokio::task::spawn_blocking(move || command.output()).await.expect("joins").expect("sigstack runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn credentials(&self, user: &str) -> Credentials {
        self.cloud.credentials(user).expect("seeded user")
    }

    pub async fn session(&self, user: &str) -> Session {
        Session::authenticate(&self.credentials(user)).await.expect("authenticates")
    }

    /// Gives `user` the `creator` role in its project (Barbican's secrets:post).
    pub async fn grant_creator(&self, user: &str) {
        let target = self.session(user).await;
        let admin = self.session("admin").await;
        let role = self.cloud.identity.roles(Some("creator")).expect("roles").remove(0);
        let project = target.token().project.expect("scoped").id;
        let url = format!("{}/projects/{project}/users/{}/roles/{}", self.cloud.endpoints.identity, target.token().user.id, role.id);
        let r = admin.http().put(&url).header("X-Auth-Token", &admin.token().value).send().await.expect("keystone answers");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    /// A `/_sim/` control call (on Glance's listener; any service's works).
    pub async fn sim(&self, method: Method, path: &str, body: Value) -> Value {
        let r = self
            .cloud
            .control_http()
            .request(method, format!("{}{path}", self.cloud.endpoints.image))
            .json(&body)
            .send()
            .await
            .expect("control API answers");
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    pub async fn fault(&self, spec: Value) {
        self.sim(Method::POST, "/_sim/faults", spec).await;
    }

    /// Turns the MOS switch on: Nova then verifies every image it boots.
    pub async fn enable_verification(&self) {
        self.sim(Method::PATCH, "/_sim/deployment", json!({"features": {"glance": {"signature": {"enabled": true}}}})).await;
    }

    /// Every image's signature properties, by id (as admin sees them).
    pub async fn signature_properties(&self) -> BTreeMap<String, BTreeMap<String, Value>> {
        let admin = self.session("admin").await;
        image::list_all_images(&admin, &[])
            .await
            .expect("images listed")
            .into_iter()
            .map(|i| {
                let props = i.properties.into_iter().filter(|(k, _)| k.starts_with("img_signature")).collect();
                (i.id, props)
            })
            .collect()
    }
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

pub fn fixture(rel: &str) -> String {
    std::fs::read_to_string(repo_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_owned()
}

/// Stores a fixture certificate as `s`; its Barbican uuid.
pub async fn store_cert(s: &Session, pem_path: &str) -> String {
    let secret = NewSecret::certificate("test-signing", fixture(pem_path).as_bytes());
    let secret_ref = key_manager::create_secret(s, &secret).await.expect("certificate stored");
    key_manager::secret_uuid(&secret_ref).to_owned()
}

/// Creates an active private raw image owned by `s` with `data` and these properties (set by
/// PATCH after the upload: Glance verifies at upload only); its id.
pub async fn image_with(s: &Session, name: &str, data: &[u8], props: &[(&str, String)]) -> String {
    let img = image::create_image(s, &NewImage::raw(name)).await.expect("image created");
    image::upload(s, &img.id, std::io::Cursor::new(data.to_vec()), Some(data.len() as u64)).await.expect("uploaded");
    if !props.is_empty() {
        let ops: Vec<image::PatchOp> = props.iter().map(|(k, v)| image::PatchOp::Add { path: format!("/{k}"), value: json!(v) }).collect();
        image::update_image(s, &img.id, &ops).await.expect("properties set");
    }
    img.id
}

/// Deterministic image data.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 4] ^ seed).collect()
}

/// The four properties of a real signature of `data` by a fixture key.
pub fn signed_props(key_pem: &str, key_type: &str, data: &[u8], cert_uuid: &str) -> Vec<(&'static str, String)> {
    use base64::Engine as _;
    use sigstack_verify::{HashMethod, KeyTypeProfile, SigningKey};
    let key = SigningKey::from_pem(&fixture(key_pem)).expect("fixture key");
    let hash = HashMethod::Sha256;
    let kt = KeyTypeProfile::Legacy.lookup(key_type).expect("key type");
    let sig = key.sign_digest(kt, hash, &hash.digest(data), &mut rand::rngs::SysRng).expect("signs");
    vec![
        ("img_signature", base64::engine::general_purpose::STANDARD.encode(sig)),
        ("img_signature_hash_method", "SHA-256".into()),
        ("img_signature_key_type", key_type.into()),
        ("img_signature_certificate_uuid", cert_uuid.into()),
    ]
}

pub const WAIT: Duration = Duration::from_secs(20);
