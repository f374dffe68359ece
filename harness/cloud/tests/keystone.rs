//! Simulated Keystone over HTTP: discovery, tokens, the admin API OpenStack clients use.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_cloud::{CloudConfig, CloudHandle, start};

async fn cloud() -> CloudHandle {
    start(CloudConfig::default()).await.expect("cloud starts")
}

fn http() -> reqwest::Client {
    sigstack_client::session::http_client()
}

fn password_body(user: &str, password: &str, project: Value) -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": project}}})
}

async fn token(cloud: &CloudHandle, user: &str) -> String {
    Session::authenticate(&cloud.credentials(user).unwrap()).await.unwrap().token().value.clone()
}

/// Keystone's 401, its keys in the order Keystone's `render_exception` builds them.
const UNAUTHORIZED: &str =
    r#"{"error":{"code":401,"title":"Unauthorized","message":"The request you have made requires authentication."}}"#;

#[tokio::test]
async fn discovery_documents() {
    let cloud = cloud().await;
    let root = cloud.endpoints.identity.trim_end_matches("/v3").to_owned();
    let r = http().get(format!("{root}/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::MULTIPLE_CHOICES);
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("{}/", cloud.endpoints.identity));
    let body: Value = r.json().await.unwrap();
    let v = &body["versions"]["values"][0];
    assert_eq!(v["id"], "v3.14");
    assert_eq!(v["status"], "stable");
    assert_eq!(v["media-types"][0]["type"], "application/vnd.openstack.identity-v3+json");
    let r = http().get(&cloud.endpoints.identity).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["version"]["links"][0]["href"], format!("{}/", cloud.endpoints.identity));
}

#[tokio::test]
async fn password_token_with_catalog() {
    let cloud = cloud().await;
    let url = format!("{}/auth/tokens", cloud.endpoints.identity);
    let r = http()
        .post(&url)
        .json(&password_body("demo", "demo-password", json!({"name": "demo", "domain": {"name": "Default"}})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let subject = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["name"], "demo");
    assert_eq!(t["user"]["domain"], json!({"id": "default", "name": "Default"}));
    assert_eq!(t["project"]["name"], "demo");
    let roles: Vec<&str> = t["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(roles, ["member", "reader"]);
    assert_eq!(t["is_domain"], false);
    assert!(t["expires_at"].as_str().unwrap().ends_with('Z'));
    let types: Vec<&str> = t["catalog"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["identity", "key-manager", "image", "compute", "block-storage", "network"]);
    let image = &t["catalog"][2]["endpoints"];
    assert_eq!(image.as_array().unwrap().len(), 3);
    assert_eq!(image[0]["url"], cloud.endpoints.image);
    assert_eq!(image[0]["region_id"], "RegionOne");

    // ?nocatalog leaves it out; scoping by project id works too.
    let project_id = t["project"]["id"].as_str().unwrap();
    let r = http()
        .post(format!("{url}?nocatalog"))
        .json(&password_body("demo", "demo-password", json!({"id": project_id})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert!(body["token"].get("catalog").is_none());

    // The client finds endpoints by type, aliases included.
    let session = Session::authenticate(&cloud.demo()).await.unwrap();
    assert_eq!(session.endpoint("image").unwrap(), cloud.endpoints.image);
    assert_eq!(session.endpoint("key-manager").unwrap(), cloud.endpoints.key_manager);
    assert!(session.endpoint("volumev3").unwrap().starts_with(&cloud.endpoints.volume), "alias of block-storage");
    assert!(session.endpoint("object-store").is_err());
    assert_ne!(session.token().value, subject);
}

#[tokio::test]
async fn bad_credentials_are_401_with_keystones_body() {
    let cloud = cloud().await;
    let url = format!("{}/auth/tokens", cloud.endpoints.identity);
    let demo = json!({"name": "demo", "domain": {"name": "Default"}});
    for body in [
        password_body("demo", "wrong", demo.clone()),
        password_body("nobody", "demo-password", demo.clone()),
        password_body("demo", "demo-password", json!({"name": "admin", "domain": {"name": "Default"}})),
        password_body("demo", "demo-password", json!({"name": "demo", "domain": {"name": "Other"}})),
    ] {
        let r = http().post(&url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(r.text().await.unwrap(), UNAUTHORIZED);
    }
    let err = Session::authenticate(&sigstack_client::Credentials { password: "nope".into(), ..cloud.demo() }).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.to_string().rsplit(": ").next().unwrap(), "The request you have made requires authentication.");
}

#[tokio::test]
async fn token_validation_and_revocation() {
    let cloud = cloud().await;
    let url = format!("{}/auth/tokens", cloud.endpoints.identity);
    let admin = token(&cloud, "admin").await;
    let demo = token(&cloud, "demo").await;

    let r = http().get(&url).header("X-Auth-Token", &admin).header("X-Subject-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-subject-token"].to_str().unwrap(), demo);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token"]["user"]["name"], "demo");

    // No caller token: keystonemiddleware's 401, pointing at Keystone.
    let r = http().get(&url).header("X-Subject-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"].to_str().unwrap(), format!("Keystone uri=\"{}\"", cloud.endpoints.identity));
    assert_eq!(r.text().await.unwrap(), UNAUTHORIZED);

    // A tampered token is not a token.
    let mut forged = demo.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let r = http().get(&url).header("X-Auth-Token", &admin).header("X-Subject-Token", &forged).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http().head(&url).header("X-Auth-Token", &admin).header("X-Subject-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Revoked tokens stop working.
    let r = http().delete(&url).header("X-Auth-Token", &demo).header("X-Subject-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = http().get(&url).header("X-Auth-Token", &admin).header("X-Subject-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http().get(format!("{}/users", cloud.endpoints.identity)).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn id_of(cloud: &CloudHandle, admin: &str, kind: &str, name: &str) -> String {
    let r = http().get(format!("{}/{kind}?name={name}", cloud.endpoints.identity)).header("X-Auth-Token", admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let items = body[kind].as_array().unwrap();
    assert_eq!(items.len(), 1, "{kind} {name}: {body}");
    items[0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn role_add_and_assignment_list_as_openstackclient_does() {
    let cloud = cloud().await;
    let base = &cloud.endpoints.identity;
    let admin = token(&cloud, "admin").await;
    let demo = token(&cloud, "demo").await;

    // Only admins use the admin API.
    let r = http().get(format!("{base}/users")).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let user = id_of(&cloud, &admin, "users", "demo").await;
    let project = id_of(&cloud, &admin, "projects", "demo").await;
    let role = id_of(&cloud, &admin, "roles", "creator").await;
    let grant = format!("{base}/projects/{project}/users/{user}/roles/{role}");
    let r = http().head(&grant).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http().put(&grant).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = http().put(&grant).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "granting twice is idempotent");

    // Roles are resolved at validation: the token issued before the grant now carries it.
    let me =
        http().get(format!("{base}/auth/tokens")).header("X-Auth-Token", &admin).header("X-Subject-Token", &demo).send().await.unwrap();
    let body: Value = me.json().await.unwrap();
    let roles: Vec<&str> = body["token"]["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(roles, ["creator", "member", "reader"]);

    let r = http()
        .get(format!("{base}/role_assignments?role.id={role}&include_names=True"))
        .header("X-Auth-Token", &admin)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    let list = body["role_assignments"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["role"], json!({"id": role, "name": "creator"}));
    assert_eq!(list[0]["user"], json!({"id": user, "name": "demo", "domain": {"id": "default", "name": "Default"}}));
    assert_eq!(list[0]["scope"]["project"]["name"], "demo");

    let r = http().delete(&grant).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = http().delete(&grant).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http().put(format!("{base}/projects/{project}/users/{user}/roles/nope")).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["message"], "Could not find role: nope.");
}

#[tokio::test]
async fn seeded_users_and_domains() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let r = http().get(format!("{}/users", cloud.endpoints.identity)).header("X-Auth-Token", &admin).send().await.unwrap();
    let body: Value = r.json().await.unwrap();
    let names: Vec<&str> = body["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "alt_demo", "demo", "instance-ha"]);
    let r = http().get(format!("{}/domains?name=Default", cloud.endpoints.identity)).header("X-Auth-Token", &admin).send().await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["domains"][0]["id"], "default");
    for user in ["alt_demo", "instance-ha"] {
        assert!(Session::authenticate(&cloud.credentials(user).unwrap()).await.is_ok(), "{user}");
    }
}

/// The admin API the conformance suite uses for per-scenario projects, through the client:
/// a new user with a role on a new project authenticates there; deleting the user and the
/// project ends its tokens and its logins, and leaves the seeded users alone.
#[tokio::test]
async fn projects_and_users_made_and_deleted_through_the_admin_api() {
    use sigstack_client::identity;
    let cloud = cloud().await;
    let admin = Session::authenticate(&cloud.credentials("admin").unwrap()).await.unwrap();
    let domain = identity::domain_id(&admin, "Default").await.unwrap();
    assert_eq!(domain, "default");
    let project = identity::create_project(&admin, "scn-test", &domain, "a scenario").await.unwrap();
    let user = identity::create_user(&admin, "scn-test-user", "pw-1", &domain, &project.id).await.unwrap();
    let member = identity::role_id(&admin, "member").await.unwrap();
    identity::grant(&admin, &project.id, &user.id, &member).await.unwrap();

    let credentials = sigstack_client::Credentials {
        username: "scn-test-user".into(),
        password: "pw-1".into(),
        project_name: Some("scn-test".into()),
        project_id: None,
        ..cloud.credentials("demo").unwrap()
    };
    let session = Session::authenticate(&credentials).await.unwrap();
    assert_eq!(session.token().project.as_ref().unwrap().id, project.id);
    let roles: Vec<String> = session.token().roles.iter().map(|r| r.name.clone()).collect();
    assert_eq!(roles, ["member", "reader"], "member implies reader (keystone-manage bootstrap)");

    // A member may not use the admin API: the 403 names the policy rule.
    let e = identity::create_project(&session, "scn-other", &domain, "").await.unwrap_err();
    assert_eq!(e.status(), Some(403));
    assert!(e.to_string().ends_with("You are not authorized to perform the requested action: identity:create_project."), "{e}");
    let e = identity::create_user(&admin, "scn-test-user", "x", &domain, &project.id).await.unwrap_err();
    assert_eq!(e.status(), Some(409));

    identity::delete_user(&admin, &user.id).await.unwrap();
    identity::delete_project(&admin, &project.id).await.unwrap();
    let check = http()
        .get(format!("{}/auth/tokens", cloud.endpoints.identity))
        .header("X-Auth-Token", &admin.token().value)
        .header("X-Subject-Token", &session.token().value)
        .send()
        .await
        .unwrap();
    assert_eq!(check.status(), StatusCode::NOT_FOUND);
    assert!(Session::authenticate(&credentials).await.is_err());
    assert_eq!(identity::delete_project(&admin, &project.id).await.unwrap_err().status(), Some(404));
    assert!(Session::authenticate(&cloud.credentials("demo").unwrap()).await.is_ok());
}

/// A user made without a password exists but cannot log in with an empty or missing one
/// (Keystone stores none); passwords are kept hashed, never in clear in `/_sim/resources`.
#[tokio::test]
async fn a_user_without_a_password_cannot_log_in_and_passwords_are_stored_hashed() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let project = id_of(&cloud, &admin, "projects", "demo").await;
    let created = http()
        .post(format!("{}/users", cloud.endpoints.identity))
        .header("X-Auth-Token", &admin)
        .json(&json!({"user": {"name": "nopass", "default_project_id": project}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let user_id = created.json::<Value>().await.unwrap()["user"]["id"].as_str().unwrap().to_owned();
    let role = id_of(&cloud, &admin, "roles", "member").await;
    let grant = format!("{}/projects/{project}/users/{user_id}/roles/{role}", cloud.endpoints.identity);
    assert_eq!(http().put(&grant).header("X-Auth-Token", &admin).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let url = format!("{}/auth/tokens", cloud.endpoints.identity);
    for body in [
        password_body("nopass", "", json!({"id": project})),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "nopass", "domain": {"name": "Default"}}}},
            "scope": {"project": {"id": project}}}}),
    ] {
        let r = http().post(&url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(r.text().await.unwrap(), UNAUTHORIZED);
    }
    // A seeded user still logs in, and no password is anywhere in the state in clear.
    assert!(!token(&cloud, "demo").await.is_empty());
    let dump = http()
        .get(format!("{}/_sim/resources?service=keystone", cloud.endpoints.key_manager))
        .header("X-Auth-Token", &admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for user in ["admin", "demo", "alt_demo"] {
        assert!(!dump.contains(&format!("{user}-password")), "{user}'s password in clear: {dump}");
    }
    // Neither the hashes nor the token-signing key are shown: only that they are set.
    let dump: Value = serde_json::from_str(&dump).unwrap();
    let tables = &dump["services"]["keystone"]["tables"];
    let nopass = tables["keystone_users"].as_array().unwrap().iter().find(|u| u["name"] == "nopass").unwrap();
    assert_eq!(nopass["password"], json!({"redacted": true, "bytes": 0}), "no password");
    let demo = tables["keystone_users"].as_array().unwrap().iter().find(|u| u["name"] == "demo").unwrap();
    assert_eq!(demo["password"]["redacted"], true);
    assert!(demo["password"]["bytes"].as_u64().unwrap() > 40, "a hash is stored: {demo}");
    for meta in tables["keystone_meta"].as_array().unwrap() {
        assert_eq!(meta["value"]["redacted"], true, "{meta}");
    }
}

/// Keystone's token policies: only an admin (or, for validation, a service) or the token's own
/// user may validate, check or revoke it; an unknown token is 404 before any 403.
#[tokio::test]
async fn only_an_admin_or_the_tokens_user_may_validate_check_or_revoke_it() {
    let cloud = cloud().await;
    let url = format!("{}/auth/tokens", cloud.endpoints.identity);
    let (demo, alt, admin) = (token(&cloud, "demo").await, token(&cloud, "alt_demo").await, token(&cloud, "admin").await);
    let call = |method: reqwest::Method, caller: &str, subject: &str| {
        http().request(method, &url).header("X-Auth-Token", caller).header("X-Subject-Token", subject).send()
    };
    for (method, action) in
        [(reqwest::Method::GET, "validate_token"), (reqwest::Method::HEAD, "check_token"), (reqwest::Method::DELETE, "revoke_token")]
    {
        let r = call(method.clone(), &alt, &demo).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} by another user");
        if method != reqwest::Method::HEAD {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["message"], format!("You are not authorized to perform the requested action: identity:{action}."));
        }
        let r = call(method.clone(), &alt, "not-a-token").await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method} of an unknown token");
    }
    // Its own user and an admin may.
    assert_eq!(call(reqwest::Method::GET, &demo, &demo).await.unwrap().status(), StatusCode::OK);
    assert_eq!(call(reqwest::Method::HEAD, &admin, &demo).await.unwrap().status(), StatusCode::OK);
    // The other user's attempt revoked nothing; the owner revokes it.
    assert_eq!(call(reqwest::Method::DELETE, &demo, &demo).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(call(reqwest::Method::GET, &admin, &demo).await.unwrap().status(), StatusCode::NOT_FOUND);
}

/// A token whose user lost every role on its project no longer works, anywhere (Keystone:
/// validation fails, so services answer 401).
#[tokio::test]
async fn a_token_whose_user_lost_every_role_is_refused() {
    let cloud = cloud().await;
    let base = &cloud.endpoints.identity;
    let admin = token(&cloud, "admin").await;
    let demo = token(&cloud, "demo").await;
    let images = format!("{}/v2/images", cloud.endpoints.image);
    assert_eq!(http().get(&images).header("X-Auth-Token", &demo).send().await.unwrap().status(), StatusCode::OK);
    let user = id_of(&cloud, &admin, "users", "demo").await;
    let project = id_of(&cloud, &admin, "projects", "demo").await;
    for role in ["member", "reader"] {
        let role = id_of(&cloud, &admin, "roles", role).await;
        let r = http()
            .delete(format!("{base}/projects/{project}/users/{user}/roles/{role}"))
            .header("X-Auth-Token", &admin)
            .send()
            .await
            .unwrap();
        assert!(matches!(r.status(), StatusCode::NO_CONTENT | StatusCode::NOT_FOUND), "{}", r.status());
    }
    assert_eq!(http().get(&images).header("X-Auth-Token", &demo).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let volumes = format!("{}/v3/{project}/volumes", cloud.endpoints.volume);
    assert_eq!(http().get(&volumes).header("X-Auth-Token", &demo).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let r = http().get(format!("{base}/auth/tokens")).header("X-Auth-Token", &admin).header("X-Subject-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // And no new token either.
    let e = Session::authenticate(&cloud.demo()).await.unwrap_err();
    assert_eq!(e.status(), Some(401));
}
