//! Barbican's legacy policy over HTTP: the creator role, project isolation (403, not 404),
//! read ACLs across projects, private secrets, and expiry.

mod barbican_common;

use std::sync::Arc;

use barbican_common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_cloud::barbican::{KeyManager, Secret};
use sigstack_cloud::deployment::{Deployment, DeploymentState};
use sigstack_cloud::store::Store;

#[tokio::test]
async fn storing_needs_admin_or_creator() {
    let cloud = cloud().await;
    let demo = token(&cloud, "demo").await;
    let r = http().post(secrets_url(&cloud)).header("X-Auth-Token", &demo).json(&text_secret("n", "p")).send().await.unwrap();
    assert_forbidden(r, "Secret creation").await;
    let r = http().get(secrets_url(&cloud)).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_forbidden(r, "Secret(s) retrieval").await;
    // The role check comes before the Content-Type check.
    let r = http().post(secrets_url(&cloud)).header("X-Auth-Token", &demo).body("x").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // `openstack role add --user demo --project demo creator`; the same token now works.
    grant(&cloud, "demo", "demo", "creator").await;
    let secret = create(&cloud, &demo, text_secret("n", "p")).await;
    let r = http().get(&secret).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http().get(secrets_url(&cloud)).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["total"], 1);
}

#[tokio::test]
async fn other_projects_get_403_not_404() {
    let cloud = cloud().await;
    grant(&cloud, "demo", "demo", "creator").await;
    grant(&cloud, "alt_demo", "alt_demo", "creator").await;
    let demo = token(&cloud, "demo").await;
    let secret = create(&cloud, &demo, text_secret("mine", "secret")).await;
    for user in ["alt_demo", "admin"] {
        let other = token(&cloud, user).await;
        let send = |method: reqwest::Method, url: String| http().request(method, url).header("X-Auth-Token", &other);
        assert_forbidden(send(reqwest::Method::GET, secret.clone()).send().await.unwrap(), "Secret retrieval").await;
        let r = send(reqwest::Method::GET, secret.clone()).header("Accept", "text/plain").send().await.unwrap();
        assert_forbidden(r, "Secret retrieval").await;
        assert_forbidden(send(reqwest::Method::GET, format!("{secret}/payload")).send().await.unwrap(), "Secret payload retrieval").await;
        let r = send(reqwest::Method::PUT, secret.clone()).header("Content-Type", "text/plain").body("x").send().await.unwrap();
        assert_forbidden(r, "Secret update").await;
        assert_forbidden(send(reqwest::Method::DELETE, secret.clone()).send().await.unwrap(), "Secret deletion").await;
        assert_forbidden(send(reqwest::Method::GET, format!("{secret}/acl")).send().await.unwrap(), "SecretACL(s) retrieval").await;
        let r = send(reqwest::Method::PUT, format!("{secret}/acl")).json(&json!({"read": {"users": []}})).send().await.unwrap();
        assert_forbidden(r, "SecretACL(s) Update").await;
        let r = send(reqwest::Method::PATCH, format!("{secret}/acl")).json(&json!({})).send().await.unwrap();
        assert_forbidden(r, "SecretACL(s) Update").await;
        assert_forbidden(send(reqwest::Method::DELETE, format!("{secret}/acl")).send().await.unwrap(), "SecretACL(s) deletion").await;
    }
    // Still there for its owner.
    let r = http().get(format!("{secret}/payload")).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "secret");
}

#[tokio::test]
async fn acl_read_grant_crosses_projects() {
    let cloud = cloud().await;
    grant(&cloud, "demo", "demo", "creator").await;
    let demo = token(&cloud, "demo").await;
    let alt = session(&cloud, "alt_demo").await;
    let alt_token = alt.token().value.clone();
    let alt_id = alt.token().user.id.clone();
    let secret = create(&cloud, &demo, text_secret("shared", "for alt")).await;
    let acl_url = format!("{secret}/acl");
    let as_demo = |method: reqwest::Method| http().request(method, &acl_url).header("X-Auth-Token", &demo);

    let r = as_demo(reqwest::Method::GET).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"read": {"project-access": true}}));
    let r = as_demo(reqwest::Method::PUT).json(&json!({"read": {"users": [alt_id, alt_id]}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"acl_ref": format!("{secret}/acl")}));
    let acl: Value = as_demo(reqwest::Method::GET).send().await.unwrap().json().await.unwrap();
    assert_eq!(acl["read"]["users"], json!([alt_id]));
    assert_eq!(acl["read"]["project-access"], true);
    redactions(&cloud).bind(|| insta::assert_json_snapshot!("acl_with_users", acl));

    // alt_demo has only `member` in its own project, yet the ACL lets it read.
    let r = http().get(&secret).header("X-Auth-Token", &alt_token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http().get(format!("{secret}/payload")).header("X-Auth-Token", &alt_token).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "for alt");
    // ...but not change it, and it lists under acl_only (listing itself needs a role).
    let r = http().delete(&secret).header("X-Auth-Token", &alt_token).send().await.unwrap();
    assert_forbidden(r, "Secret deletion").await;
    grant(&cloud, "alt_demo", "alt_demo", "creator").await;
    let listed: Value = http()
        .get(format!("{}?acl_only=true", secrets_url(&cloud)))
        .header("X-Auth-Token", &alt_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((listed["total"].clone(), listed["secrets"][0]["secret_ref"].clone()), (json!(1), json!(secret)));

    // PATCH merges: users kept when only project-access is given.
    let r = as_demo(reqwest::Method::PATCH).json(&json!({"read": {"project-access": false}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let acl: Value = as_demo(reqwest::Method::GET).send().await.unwrap().json().await.unwrap();
    assert_eq!((acl["read"]["users"].clone(), acl["read"]["project-access"].clone()), (json!([alt_id]), json!(false)));
    // PUT replaces: project-access back to its default, users emptied.
    as_demo(reqwest::Method::PUT).json(&json!({"read": {}})).send().await.unwrap();
    let r = as_demo(reqwest::Method::GET).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"read": {"project-access": true}}), "an empty read is dropped");
    as_demo(reqwest::Method::PUT).json(&json!({"read": {"users": [alt_id], "project-access": false}})).send().await.unwrap();
    // DELETE: 200, JSON null, back to the implicit ACL; alt_demo loses access.
    let r = as_demo(reqwest::Method::DELETE).send().await.unwrap();
    assert_eq!((r.status(), r.headers()["content-type"].to_str().unwrap().to_owned()), (StatusCode::OK, JSON.to_owned()));
    assert_eq!(r.text().await.unwrap(), "null");
    let r = as_demo(reqwest::Method::GET).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"read": {"project-access": true}}));
    let r = http().get(&secret).header("X-Auth-Token", &alt_token).send().await.unwrap();
    assert_forbidden(r, "Secret retrieval").await;
}

#[tokio::test]
async fn private_secrets_are_hidden_from_project_peers() {
    let cloud = cloud().await;
    grant(&cloud, "demo", "demo", "creator").await;
    // A second creator in the demo project.
    grant(&cloud, "alt_demo", "demo", "creator").await;
    let demo = token(&cloud, "demo").await;
    let peer = session_in(&cloud, "alt_demo", "demo").await;
    let peer_token = peer.token().value.clone();
    let secret = create(&cloud, &demo, text_secret("private", "p")).await;
    let get = |t: &str| http().get(&secret).header("X-Auth-Token", t).send();

    assert_eq!(get(&peer_token).await.unwrap().status(), StatusCode::OK, "project access by default");
    let r = http()
        .put(format!("{secret}/acl"))
        .header("X-Auth-Token", &demo)
        .json(&json!({"read": {"project-access": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_forbidden(get(&peer_token).await.unwrap(), "Secret retrieval").await;
    let r = http().get(format!("{secret}/payload")).header("X-Auth-Token", &peer_token).send().await.unwrap();
    assert_forbidden(r, "Secret payload retrieval").await;
    let r = http().delete(&secret).header("X-Auth-Token", &peer_token).send().await.unwrap();
    assert_forbidden(r, "Secret deletion").await;
    assert_eq!(get(&demo).await.unwrap().status(), StatusCode::OK, "the creator still reads it");
    // Still listed in the project, as Barbican's repository does not filter private secrets.
    let listed: Value = http().get(secrets_url(&cloud)).header("X-Auth-Token", &peer_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["total"], 1);

    // Naming the peer in the ACL lets it read again.
    let acl = json!({"read": {"users": [peer.token().user.id], "project-access": false}});
    http().put(format!("{secret}/acl")).header("X-Auth-Token", &demo).json(&acl).send().await.unwrap();
    assert_eq!(get(&peer_token).await.unwrap().status(), StatusCode::OK);

    // A non-private secret can be deleted by any creator of the project.
    let open = create(&cloud, &demo, text_secret("open", "p")).await;
    let r = http().delete(&open).header("X-Auth-Token", &peer_token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn acl_validation() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let secret = create(&cloud, &admin, text_secret("s", "p")).await;
    let acl_url = format!("{secret}/acl");
    let schema =
        |reason: &str, property: &str| format!("Provided object does not match schema 'ACL': {reason}. Invalid property: '{property}'");
    let cases = [
        (json!({"write": {"users": []}}), schema("Additional properties are not allowed ('write' was unexpected)", "None")),
        (json!({"read": {}, "b": 1, "a": 2}), schema("Additional properties are not allowed ('a', 'b' were unexpected)", "None")),
        (json!({"read": {"users": "u1"}}), schema("'u1' is not of type 'array'", "read")),
        (json!({"read": {"users": [7]}}), schema("7 is not of type 'string'", "read")),
        (json!({"read": {"project-access": "no"}}), schema("'no' is not of type 'boolean'", "read")),
        (json!({"read": {"groups": []}}), schema("Additional properties are not allowed ('groups' was unexpected)", "read")),
        (json!({"read": []}), schema("[] is not of type 'object'", "read")),
        (json!("read"), schema("'read' is not of type 'object'", "None")),
        // The shallowest error wins, as in jsonschema's best_match.
        (
            json!({"read": {"users": "u1", "x": 1}, "write": {}}),
            schema("Additional properties are not allowed ('write' was unexpected)", "None"),
        ),
        (json!({"read": {"users": [1], "project-access": 1}}), schema("1 is not of type 'boolean'", "read")),
    ];
    for (body, description) in cases {
        for method in [reqwest::Method::PUT, reqwest::Method::PATCH] {
            let r = http().request(method, &acl_url).header("X-Auth-Token", &admin).json(&body).send().await.unwrap();
            assert_error(r, 400, "Bad Request", &description).await;
        }
    }
    let r = http().put(&acl_url).header("X-Auth-Token", &admin).header("Content-Type", "text/plain").body("{}").send().await.unwrap();
    assert_error(r, 415, "Unsupported Media Type", "Unexpected content type. Expected content types are: ['application/json']").await;
    let r = http().patch(&acl_url).header("X-Auth-Token", &admin).header("Content-Type", JSON).body("{").send().await.unwrap();
    assert_error(r, 400, "Bad Request", "Malformed JSON").await;
}

#[tokio::test]
async fn expired_secrets_behave_as_deleted() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let token = admin.token().value.clone();

    // Through the API: expiration two seconds ahead, then wait.
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let expiration = soon.format(&time::format_description::well_known::Rfc3339).unwrap();
    let secret =
        create(&cloud, &token, json!({"name": "brief", "expiration": expiration, "payload": "p", "payload_content_type": "text/plain"}))
            .await;
    let r = http().get(&secret).header("X-Auth-Token", &token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let listed: Value = http().get(secrets_url(&cloud)).header("X-Auth-Token", &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["total"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(2300)).await;
    assert_all_gone(&cloud, &token, &secret).await;

    // Straight into the state database with a past date: gone at once.
    let store = Arc::new(Store::open(&cloud.data_dir.join("sigstack.db")).unwrap());
    let model = KeyManager::open(store, DeploymentState::new(Deployment::default())).unwrap();
    let now = sigstack_cloud::barbican::model::now_us();
    let record = |id: &str, expiration: Option<i64>| Secret {
        id: id.into(),
        project_id: admin.token().project.as_ref().unwrap().id.clone(),
        creator_id: admin.token().user.id.clone(),
        name: Some("inserted".into()),
        secret_type: "opaque".into(),
        algorithm: None,
        bit_length: None,
        mode: None,
        expiration,
        created: now - 10_000_000,
        updated: now - 10_000_000,
        content_type: Some("text/plain".into()),
        payload: Some(b"old".to_vec()),
    };
    let (live, dead) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    model.insert(&record(&live, None)).unwrap();
    model.insert(&record(&dead, Some(now - 1_000_000))).unwrap();
    let base = secrets_url(&cloud);
    let r = http().get(format!("{base}/{live}/payload")).header("X-Auth-Token", &token).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "old", "the inserted live secret is served");
    assert_all_gone(&cloud, &token, &format!("{base}/{dead}")).await;
}

async fn assert_all_gone(cloud: &sigstack_cloud::CloudHandle, token: &str, secret: &str) {
    let send = |method: reqwest::Method, url: String| http().request(method, url).header("X-Auth-Token", token);
    let gone = |r: reqwest::Response| assert_error(r, 404, "Not Found", "Secret not found.");
    gone(send(reqwest::Method::GET, secret.into()).send().await.unwrap()).await;
    gone(send(reqwest::Method::GET, format!("{secret}/payload")).send().await.unwrap()).await;
    gone(send(reqwest::Method::PUT, secret.into()).header("Content-Type", "text/plain").body("x").send().await.unwrap()).await;
    gone(send(reqwest::Method::DELETE, secret.into()).send().await.unwrap()).await;
    gone(send(reqwest::Method::GET, format!("{secret}/acl")).send().await.unwrap()).await;
    gone(send(reqwest::Method::PUT, format!("{secret}/acl")).json(&json!({})).send().await.unwrap()).await;
    let listed: Value = send(reqwest::Method::GET, secrets_url(cloud)).send().await.unwrap().json().await.unwrap();
    let refs: Vec<&str> = listed["secrets"].as_array().unwrap().iter().filter_map(|s| s["secret_ref"].as_str()).collect();
    assert!(!refs.contains(&secret), "{listed}");
}

// ---- Barbican 23's secure-RBAC defaults (`barbican: {enforce_new_defaults: true}`) ----
//
// Every status below was checked against the real Barbican 23.0.0 with
// `REALSTACK_BARBICAN_NEW_DEFAULTS=1 ci/realstack start`.

/// Turns `[oslo_policy] enforce_new_defaults` on or off in the running cloud.
async fn enforce_new_defaults(cloud: &sigstack_cloud::CloudHandle, on: bool) {
    let url = format!("{}/_sim/deployment", cloud.endpoints.image);
    let r = cloud.control_http().patch(url).json(&json!({"barbican": {"enforce_new_defaults": on}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["deployment"]["barbican"]["enforce_new_defaults"], on);
}

#[tokio::test]
async fn new_defaults_let_members_store_and_refuse_readers() {
    let cloud = cloud().await;
    enforce_new_defaults(&cloud, true).await;
    // demo has member and reader in demo, and no creator role.
    let demo = token(&cloud, "demo").await;
    let secret = create(&cloud, &demo, text_secret("n", "p")).await;
    let r = http().get(secrets_url(&cloud)).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["total"], 1);

    // alt_demo with reader alone in demo.
    grant(&cloud, "alt_demo", "demo", "reader").await;
    let reader = session_in(&cloud, "alt_demo", "demo").await.token().value.clone();
    let send = |method: reqwest::Method, url: String| http().request(method, url).header("X-Auth-Token", &reader);
    assert_forbidden(
        send(reqwest::Method::POST, secrets_url(&cloud)).json(&text_secret("r", "p")).send().await.unwrap(),
        "Secret creation",
    )
    .await;
    assert_forbidden(send(reqwest::Method::GET, secrets_url(&cloud)).send().await.unwrap(), "Secret(s) retrieval").await;
    assert_forbidden(send(reqwest::Method::GET, secret.clone()).send().await.unwrap(), "Secret retrieval").await;
    assert_forbidden(send(reqwest::Method::GET, format!("{secret}/payload")).send().await.unwrap(), "Secret payload retrieval").await;
    assert_forbidden(send(reqwest::Method::GET, format!("{secret}/acl")).send().await.unwrap(), "SecretACL(s) retrieval").await;
    assert_forbidden(send(reqwest::Method::DELETE, secret.clone()).send().await.unwrap(), "Secret deletion").await;

    // Back to the legacy rules: the same member token is refused again.
    enforce_new_defaults(&cloud, false).await;
    let r = http().post(secrets_url(&cloud)).header("X-Auth-Token", &demo).json(&text_secret("n2", "p")).send().await.unwrap();
    assert_forbidden(r, "Secret creation").await;
    let r = http().get(secrets_url(&cloud)).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_forbidden(r, "Secret(s) retrieval").await;
    // And the secret the member made is still its own under the legacy rules (no creator role).
    let r = http().get(&secret).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_forbidden(r, "Secret retrieval").await;
}

#[tokio::test]
async fn new_defaults_other_projects_and_foreign_admins() {
    let cloud = cloud().await;
    enforce_new_defaults(&cloud, true).await;
    let demo = token(&cloud, "demo").await;
    let secret = create(&cloud, &demo, text_secret("mine", "secret")).await;

    let alt = token(&cloud, "alt_demo").await;
    let as_alt = |method: reqwest::Method, url: String| http().request(method, url).header("X-Auth-Token", &alt);
    assert_forbidden(as_alt(reqwest::Method::GET, secret.clone()).send().await.unwrap(), "Secret retrieval").await;
    assert_forbidden(as_alt(reqwest::Method::GET, format!("{secret}/payload")).send().await.unwrap(), "Secret payload retrieval").await;
    let r = as_alt(reqwest::Method::PUT, secret.clone()).header("Content-Type", "text/plain").body("x").send().await.unwrap();
    assert_forbidden(r, "Secret update").await;
    assert_forbidden(as_alt(reqwest::Method::GET, format!("{secret}/acl")).send().await.unwrap(), "SecretACL(s) retrieval").await;
    let r = as_alt(reqwest::Method::PUT, format!("{secret}/acl")).json(&json!({"read": {"users": []}})).send().await.unwrap();
    assert_forbidden(r, "SecretACL(s) Update").await;
    assert_forbidden(as_alt(reqwest::Method::DELETE, secret.clone()).send().await.unwrap(), "Secret deletion").await;

    // `secret:get` and `secret:delete` start with `role:admin`: an admin of another project
    // reads the metadata and deletes, but not the payload nor the ACL.
    let admin = token(&cloud, "admin").await;
    let as_admin = |method: reqwest::Method, url: String| http().request(method, url).header("X-Auth-Token", &admin);
    let r = as_admin(reqwest::Method::GET, secret.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "mine");
    assert_forbidden(as_admin(reqwest::Method::GET, format!("{secret}/payload")).send().await.unwrap(), "Secret payload retrieval").await;
    assert_forbidden(as_admin(reqwest::Method::GET, format!("{secret}/acl")).send().await.unwrap(), "SecretACL(s) retrieval").await;
    let r = as_admin(reqwest::Method::DELETE, secret.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn new_defaults_private_secrets_and_acl_reads() {
    let cloud = cloud().await;
    enforce_new_defaults(&cloud, true).await;
    let demo = token(&cloud, "demo").await;
    // alt_demo, member of demo too: a second member of the owner's project.
    grant(&cloud, "alt_demo", "demo", "member").await;
    let peer = session_in(&cloud, "alt_demo", "demo").await.token().value.clone();
    let as_peer = |method: reqwest::Method, url: String| http().request(method, url).header("X-Auth-Token", &peer);

    // Not private: any member of the project reads, fills in, sees the ACL of and deletes it.
    let secret = create(&cloud, &demo, text_secret("shared", "p")).await;
    assert_eq!(as_peer(reqwest::Method::GET, secret.clone()).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(as_peer(reqwest::Method::GET, format!("{secret}/payload")).send().await.unwrap().text().await.unwrap(), "p");
    let r = as_peer(reqwest::Method::GET, format!("{secret}/acl")).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"read": {"project-access": true}}));
    let meta = create(&cloud, &demo, json!({"name": "meta"})).await;
    let r = as_peer(reqwest::Method::PUT, meta.clone()).header("Content-Type", "text/plain").body("x").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(as_peer(reqwest::Method::DELETE, meta).send().await.unwrap().status(), StatusCode::NO_CONTENT);

    // Private: only the owner (and a project admin); the ACL controller sees the flag too.
    let r = http()
        .put(format!("{secret}/acl"))
        .header("X-Auth-Token", &demo)
        .json(&json!({"read": {"project-access": false, "users": []}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_forbidden(as_peer(reqwest::Method::GET, secret.clone()).send().await.unwrap(), "Secret retrieval").await;
    assert_forbidden(as_peer(reqwest::Method::GET, format!("{secret}/payload")).send().await.unwrap(), "Secret payload retrieval").await;
    assert_forbidden(as_peer(reqwest::Method::GET, format!("{secret}/acl")).send().await.unwrap(), "SecretACL(s) retrieval").await;
    let r = as_peer(reqwest::Method::PATCH, format!("{secret}/acl")).json(&json!({"read": {"users": []}})).send().await.unwrap();
    assert_forbidden(r, "SecretACL(s) Update").await;
    let r = as_peer(reqwest::Method::PUT, secret.clone()).header("Content-Type", "text/plain").body("x").send().await.unwrap();
    assert_forbidden(r, "Secret update").await;
    assert_forbidden(as_peer(reqwest::Method::DELETE, secret.clone()).send().await.unwrap(), "Secret deletion").await;
    assert_eq!(http().get(format!("{secret}/payload")).header("X-Auth-Token", &demo).send().await.unwrap().text().await.unwrap(), "p");
    let r = http().get(format!("{secret}/acl")).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["read"]["project-access"], false);

    // A read ACL lets alt_demo, in its own project, read the metadata and the payload, not the ACL.
    let alt = session(&cloud, "alt_demo").await;
    let (alt_token, alt_id) = (alt.token().value.clone(), alt.token().user.id.clone());
    let r = http()
        .put(format!("{secret}/acl"))
        .header("X-Auth-Token", &demo)
        .json(&json!({"read": {"project-access": false, "users": [alt_id]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let as_alt = |url: String| http().get(url).header("X-Auth-Token", &alt_token);
    assert_eq!(as_alt(secret.clone()).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(as_alt(format!("{secret}/payload")).send().await.unwrap().text().await.unwrap(), "p");
    assert_forbidden(as_alt(format!("{secret}/acl")).send().await.unwrap(), "SecretACL(s) retrieval").await;
}
