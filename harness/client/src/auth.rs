//! What a session authenticates with, as keystoneauth's plugins name it: `password` (alias
//! `v3password`), `v3applicationcredential` (alias `applicationcredential`) and `token`
//! (alias `v3token`), the scope, and Keystone version discovery for an `auth_url` without
//! `/v3`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::Error;
use crate::tls::TlsOptions;

/// keystoneauth's auth plugins sigstack speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthType {
    #[default]
    Password,
    #[serde(rename = "v3applicationcredential")]
    ApplicationCredential,
    Token,
}

impl AuthType {
    /// The auth types by their clouds.yaml / `OS_AUTH_TYPE` names, keystoneauth's aliases
    /// included; `None` for one sigstack does not speak.
    pub fn from_name(name: &str) -> Option<AuthType> {
        match name {
            "password" | "v3password" => Some(AuthType::Password),
            "v3applicationcredential" | "applicationcredential" | "v3_application_credential" => Some(AuthType::ApplicationCredential),
            "token" | "v3token" => Some(AuthType::Token),
            _ => None,
        }
    }

    pub const NAMES: &str = "password, v3password, v3applicationcredential, applicationcredential, token, v3token";
}

/// Everything a session needs to reach a cloud: the auth plugin and its options (a
/// clouds.yaml `auth:` section), the scope, where endpoints are picked (`region_name`,
/// `interface`, `<service>_endpoint_override`), and TLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub auth_url: String,
    #[serde(default)]
    pub auth_type: AuthType,
    /// Password auth: the user by name (in `user_domain_*`) or by `user_id`.
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default = "default_domain")]
    pub user_domain_name: String,
    #[serde(default)]
    pub user_domain_id: Option<String>,
    /// Scope: `project_id`, or `project_name` in `project_domain_*`. Application credentials
    /// carry their own project.
    pub project_name: Option<String>,
    pub project_id: Option<String>,
    #[serde(default = "default_domain")]
    pub project_domain_name: String,
    #[serde(default)]
    pub project_domain_id: Option<String>,
    /// Application credential: by id, or by name with its user (`username` + domain or
    /// `user_id`); always with its secret.
    #[serde(default)]
    pub application_credential_id: Option<String>,
    #[serde(default)]
    pub application_credential_name: Option<String>,
    #[serde(default)]
    pub application_credential_secret: Option<String>,
    /// Token auth: an existing token, rescoped to the project.
    #[serde(default)]
    pub token: Option<String>,
    pub region_name: Option<String>,
    /// Endpoint interface: `public` (default), `internal` or `admin`.
    #[serde(default = "default_interface")]
    pub interface: String,
    /// `<service>_endpoint_override`, by canonical service type (`block-storage`, ...).
    #[serde(default)]
    pub endpoint_overrides: BTreeMap<String, String>,
    #[serde(default)]
    pub tls: TlsOptions,
}

fn default_domain() -> String {
    "Default".into()
}

fn default_interface() -> String {
    "public".into()
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            auth_url: String::new(),
            auth_type: AuthType::Password,
            username: String::new(),
            password: String::new(),
            user_id: None,
            user_domain_name: default_domain(),
            user_domain_id: None,
            project_name: None,
            project_id: None,
            project_domain_name: default_domain(),
            project_domain_id: None,
            application_credential_id: None,
            application_credential_name: None,
            application_credential_secret: None,
            token: None,
            region_name: None,
            interface: default_interface(),
            endpoint_overrides: BTreeMap::new(),
            tls: TlsOptions::default(),
        }
    }
}

impl Credentials {
    /// A password user of the same cloud (same Keystone, domains, region, interface, TLS):
    /// what the suite's per-scenario users authenticate with.
    pub fn password_user(&self, username: &str, password: &str, project_name: &str) -> Credentials {
        Credentials {
            auth_type: AuthType::Password,
            username: username.to_owned(),
            password: password.to_owned(),
            user_id: None,
            project_name: Some(project_name.to_owned()),
            project_id: None,
            application_credential_id: None,
            application_credential_name: None,
            application_credential_secret: None,
            token: None,
            ..self.clone()
        }
    }

    /// Whether a session can get a new token by itself when its token expires (a given
    /// token cannot be renewed: a rescoped token keeps the original's expiry).
    pub fn can_reauthenticate(&self) -> bool {
        self.auth_type != AuthType::Token
    }

    /// The first missing option this auth type needs, by its clouds.yaml key.
    pub fn missing_option(&self) -> Option<&'static str> {
        let has_user = !self.username.is_empty() || self.user_id.is_some();
        let has_project = self.project_name.is_some() || self.project_id.is_some();
        match self.auth_type {
            _ if self.auth_url.is_empty() => Some("auth.auth_url"),
            AuthType::Password if !has_user => Some("auth.username"),
            AuthType::Password if self.password.is_empty() => Some("auth.password"),
            AuthType::Password | AuthType::Token if !has_project => Some("auth.project_name"),
            AuthType::Token if self.token.is_none() => Some("auth.token"),
            AuthType::ApplicationCredential if self.application_credential_secret.is_none() => Some("auth.application_credential_secret"),
            AuthType::ApplicationCredential if self.application_credential_id.is_none() && self.application_credential_name.is_none() => {
                Some("auth.application_credential_id")
            }
            AuthType::ApplicationCredential if self.application_credential_id.is_none() && !has_user => Some("auth.username"),
            _ => None,
        }
    }

    fn user_domain(&self) -> Value {
        match &self.user_domain_id {
            Some(id) => json!({"id": id}),
            None => json!({"name": self.user_domain_name}),
        }
    }

    fn user(&self) -> Value {
        match &self.user_id {
            Some(id) => json!({"id": id}),
            None => json!({"name": self.username, "domain": self.user_domain()}),
        }
    }

    fn project_scope(&self) -> Result<Value, Error> {
        let domain = match &self.project_domain_id {
            Some(id) => json!({"id": id}),
            None => json!({"name": self.project_domain_name}),
        };
        match (&self.project_id, &self.project_name) {
            (Some(id), _) => Ok(json!({"project": {"id": id}})),
            (None, Some(name)) => Ok(json!({"project": {"name": name, "domain": domain}})),
            (None, None) => Err(Error::Config("credentials need a project_name or project_id (auth.project_name)".into())),
        }
    }

    /// The `POST /v3/auth/tokens` body keystoneauth's plugin sends.
    pub fn auth_request(&self) -> Result<Value, Error> {
        if let Some(missing) = self.missing_option() {
            return Err(Error::Config(format!("{} credentials need {missing}", self.auth_type_name())));
        }
        self.auth_body()
    }

    fn auth_body(&self) -> Result<Value, Error> {
        Ok(match self.auth_type {
            AuthType::Password => {
                let mut user = self.user();
                user["password"] = json!(self.password);
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": user}}, "scope": self.project_scope()?}})
            }
            AuthType::Token => json!({"auth": {
                "identity": {"methods": ["token"], "token": {"id": self.token}},
                "scope": self.project_scope()?}}),
            // An application credential is bound to its project: keystoneauth sends no scope.
            AuthType::ApplicationCredential => {
                let secret = self.application_credential_secret.clone().unwrap_or_default();
                let credential = match (&self.application_credential_id, &self.application_credential_name) {
                    (Some(id), _) => json!({"id": id, "secret": secret}),
                    (None, name) => json!({"name": name, "secret": secret, "user": self.user()}),
                };
                json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": credential}}})
            }
        })
    }

    fn auth_type_name(&self) -> &'static str {
        match self.auth_type {
            AuthType::Password => "password",
            AuthType::ApplicationCredential => "v3applicationcredential",
            AuthType::Token => "token",
        }
    }
}

/// Whether an auth URL already names the v3 API (`.../v3`, `.../v3/`).
pub fn names_v3(auth_url: &str) -> bool {
    auth_url.trim_end_matches('/').ends_with("/v3")
}

/// Keystone's v3 URL from a version document (`GET` on an unversioned auth URL): the
/// `self` link of the `v3.*` version in `versions.values` (a 300 Multiple Choices) or of
/// `version` (a versioned root). Without a trailing slash.
pub fn v3_from_versions(document: &Value) -> Option<String> {
    let candidates: Vec<&Value> = match (&document["versions"]["values"], &document["version"]) {
        (Value::Array(values), _) => values.iter().collect(),
        (_, v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    candidates
        .into_iter()
        .filter(|v| v["id"].as_str().is_some_and(|id| id.starts_with("v3")) && v["status"].as_str() != Some("deprecated"))
        .find_map(|v| {
            v["links"]
                .as_array()?
                .iter()
                .find(|l| l["rel"] == "self")
                .and_then(|l| l["href"].as_str())
                .map(|h| h.trim_end_matches('/').to_owned())
        })
}
