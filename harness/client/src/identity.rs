//! Keystone v3's admin API: projects, users and role grants. The conformance suite gives each
//! scenario its own project and users through it (with admin credentials), as tempest's
//! dynamic credentials do.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::session::{Named, Session, v3_url};

/// The Keystone v3 root of a session's catalog (`http://h:5000/v3`).
pub fn v3(session: &Session) -> Result<String, Error> {
    Ok(v3_url(&session.endpoint("identity")?))
}

#[derive(Deserialize)]
struct NamedList {
    #[serde(default)]
    domains: Vec<Named>,
    #[serde(default)]
    roles: Vec<Named>,
}

/// A domain's id from its name (`Default` → `default`).
pub async fn domain_id(admin: &Session, name: &str) -> Result<String, Error> {
    let url = format!("{}/domains", v3(admin)?);
    let list: NamedList = admin.json(admin.request(Method::GET, &url).query(&[("name", name)])).await?;
    list.domains.into_iter().next().map(|d| d.id).ok_or_else(|| Error::Config(format!("Keystone has no domain named '{name}'")))
}

/// A role's id from its name.
pub async fn role_id(admin: &Session, name: &str) -> Result<String, Error> {
    let url = format!("{}/roles", v3(admin)?);
    let list: NamedList = admin.json(admin.request(Method::GET, &url).query(&[("name", name)])).await?;
    list.roles.into_iter().next().map(|r| r.id).ok_or_else(|| Error::Config(format!("Keystone has no role named '{name}'")))
}

fn created(body: Value, kind: &str, url: &str) -> Result<Named, Error> {
    serde_json::from_value(body[kind].clone()).map_err(|e| Error::Decode { url: url.to_owned(), reason: format!("{kind}: {e}") })
}

/// `POST /v3/projects`.
pub async fn create_project(admin: &Session, name: &str, domain_id: &str, description: &str) -> Result<Named, Error> {
    let url = format!("{}/projects", v3(admin)?);
    let body = json!({"project": {"name": name, "domain_id": domain_id, "description": description, "enabled": true}});
    let answer: Value = admin.json(admin.request(Method::POST, &url).json(&body)).await?;
    created(answer, "project", &url)
}

/// `POST /v3/users`, with a password and a default project.
pub async fn create_user(admin: &Session, name: &str, password: &str, domain_id: &str, default_project_id: &str) -> Result<Named, Error> {
    let url = format!("{}/users", v3(admin)?);
    let body = json!({"user": {"name": name, "password": password, "domain_id": domain_id,
        "default_project_id": default_project_id, "enabled": true}});
    let answer: Value = admin.json(admin.request(Method::POST, &url).json(&body)).await?;
    created(answer, "user", &url)
}

/// The URL of one role grant (`PUT` grants, `DELETE` revokes).
pub fn grant_url(v3: &str, project_id: &str, user_id: &str, role_id: &str) -> String {
    format!("{v3}/projects/{project_id}/users/{user_id}/roles/{role_id}")
}

/// `PUT /v3/projects/{p}/users/{u}/roles/{r}`; returns the grant's URL.
pub async fn grant(admin: &Session, project_id: &str, user_id: &str, role_id: &str) -> Result<String, Error> {
    let url = grant_url(&v3(admin)?, project_id, user_id, role_id);
    admin.send(admin.request(Method::PUT, &url)).await?;
    Ok(url)
}

/// `DELETE /v3/users/{id}` (its role assignments go with it).
pub async fn delete_user(admin: &Session, id: &str) -> Result<(), Error> {
    let url = format!("{}/users/{id}", v3(admin)?);
    admin.send(admin.request(Method::DELETE, &url)).await.map(drop)
}

/// `DELETE /v3/projects/{id}`. Keystone leaves the project's resources in the other services
/// (images, secrets, servers) behind, orphaned; so does this.
pub async fn delete_project(admin: &Session, id: &str) -> Result<(), Error> {
    let url = format!("{}/projects/{id}", v3(admin)?);
    admin.send(admin.request(Method::DELETE, &url)).await.map(drop)
}

/// A token Keystone vouched for, as keystonemiddleware sees a caller's: the token (user,
/// project, roles, catalog, expiry) and whether it is system-scoped.
#[derive(Debug, Clone)]
pub struct ValidatedToken {
    pub token: crate::session::Token,
    pub system: bool,
}

/// `GET /v3/auth/tokens` with `X-Subject-Token: subject`, sent with the `service` session's
/// own token (keystonemiddleware's check of a caller). `None` when Keystone does not know the
/// token (404: made up, expired or revoked).
pub async fn validate_token(service: &Session, subject: &str) -> Result<Option<ValidatedToken>, Error> {
    let url = format!("{}/auth/tokens", v3(service)?);
    let Ok(mut value) = reqwest::header::HeaderValue::from_str(subject) else { return Ok(None) };
    value.set_sensitive(true);
    let request = service.request(Method::GET, &url).header("X-Subject-Token", value);
    match service.json::<Value>(request).await {
        Ok(body) => {
            let token = crate::session::parse_token(subject.to_owned(), &body["token"], &url)?;
            Ok(Some(ValidatedToken { token, system: body["token"]["system"].is_object() }))
        }
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
