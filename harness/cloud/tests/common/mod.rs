//! What every service's test support shares: fixture files, logging in as a seeded user, and
//! demo with the `creator` role (so it can store certificates in Barbican).
#![allow(dead_code)]

use std::path::PathBuf;

use reqwest::StatusCode;
use sigstack_client::Session;
use sigstack_cloud::CloudHandle;

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

pub fn fixture(rel: &str) -> String {
    std::fs::read_to_string(repo_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub async fn session(cloud: &CloudHandle, user: &str) -> Session {
    Session::authenticate(&cloud.credentials(user).expect("seeded user")).await.expect("authenticates")
}

/// demo with the `creator` role, granted by admin through Keystone's API; a new session.
pub async fn creator(cloud: &CloudHandle) -> Session {
    let demo = session(cloud, "demo").await;
    let admin = session(cloud, "admin").await;
    let role = cloud.identity.roles(Some("creator")).unwrap().remove(0);
    let project = &demo.token().project.unwrap().id;
    let url = format!("{}/projects/{project}/users/{}/roles/{}", cloud.endpoints.identity, demo.token().user.id, role.id);
    let r = admin.http().put(&url).header("X-Auth-Token", &admin.token().value).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    session(cloud, "demo").await
}
