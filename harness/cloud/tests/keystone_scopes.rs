//! Keystone's token scopes: unscoped password tokens, rescoping, system role assignments and
//! system-scoped tokens, `/v3/auth/{catalog,projects,domains,system}`,
//! `/v3/users/{id}/projects`, `/v3/role_assignments?scope.system`.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_cloud::keystone::{Identity, Scope, Seed, UserRef};
use sigstack_cloud::store::Store;
use sigstack_cloud::{CloudConfig, CloudHandle, start};

async fn cloud() -> CloudHandle {
    start(CloudConfig::default()).await.expect("cloud starts")
}

fn http() -> reqwest::Client {
    sigstack_client::session::http_client()
}

async fn admin(cloud: &CloudHandle) -> String {
    Session::authenticate(&cloud.credentials("admin").unwrap()).await.unwrap().token().value.clone()
}

fn password(user_id: &str, password: &str, scope: Option<Value>) -> Value {
    let mut body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": user_id, "password": password}}}}});
    if let Some(scope) = scope {
        body["auth"]["scope"] = scope;
    }
    body
}

/// Issues a token: `(status, X-Subject-Token, body)`.
async fn issue(cloud: &CloudHandle, body: &Value) -> (StatusCode, String, Value) {
    let r = http().post(format!("{}/auth/tokens", cloud.endpoints.identity)).json(body).send().await.unwrap();
    let status = r.status();
    let subject = r.headers().get("x-subject-token").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, subject, r.json().await.unwrap_or(Value::Null))
}

async fn call(method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = http().request(method, url).header("X-Auth-Token", token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(url: String, token: &str) -> (StatusCode, Value) {
    call(reqwest::Method::GET, url, token, None).await
}

/// A new user (no default project unless given) and its id.
async fn new_user(cloud: &CloudHandle, admin: &str, name: &str, default_project: Option<&str>) -> String {
    let mut user = json!({"name": name, "password": "secret-pw", "domain_id": "default"});
    if let Some(p) = default_project {
        user["default_project_id"] = json!(p);
    }
    let (status, body) =
        call(reqwest::Method::POST, format!("{}/users", cloud.endpoints.identity), admin, Some(json!({"user": user}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["user"]["id"].as_str().unwrap().to_owned()
}

async fn new_project(cloud: &CloudHandle, admin: &str, name: &str) -> String {
    let body = json!({"project": {"name": name, "domain_id": "default"}});
    let (status, body) = call(reqwest::Method::POST, format!("{}/projects", cloud.endpoints.identity), admin, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["project"]["id"].as_str().unwrap().to_owned()
}

async fn role_id(cloud: &CloudHandle, admin: &str, name: &str) -> String {
    let (_, body) = get(format!("{}/roles?name={name}", cloud.endpoints.identity), admin).await;
    body["roles"][0]["id"].as_str().unwrap().to_owned()
}

async fn put(url: String, token: &str) -> StatusCode {
    call(reqwest::Method::PUT, url, token, None).await.0
}

#[tokio::test]
async fn a_password_token_without_scope_is_unscoped_or_in_the_default_project() {
    let cloud = cloud().await;
    let admin = admin(&cloud).await;
    let ks = cloud.endpoints.identity.clone();
    let user = new_user(&cloud, &admin, "loner", None).await;

    // No default project: an unscoped token, without project, roles or catalog.
    let (status, subject, body) = issue(&cloud, &password(&user, "secret-pw", None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["id"], user.as_str());
    assert_eq!(t["user"]["domain"], json!({"id": "default", "name": "Default"}));
    for absent in ["project", "roles", "catalog", "system", "is_domain"] {
        assert!(t.get(absent).is_none(), "{absent} in {t}");
    }
    // It validates (the subject's own token), and shows the same body.
    let r =
        http().get(format!("{ks}/auth/tokens")).header("X-Auth-Token", &subject).header("X-Subject-Token", &subject).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let shown: Value = r.json().await.unwrap();
    assert_eq!(shown, body);
    // Without a project: no catalog (403, Keystone's message), and no roles for policy.
    let (status, body) = get(format!("{ks}/auth/catalog"), &subject).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["message"], "A project-scoped token is required to produce a service catalog.");
    let (status, _) = get(format!("{ks}/users"), &subject).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A default project the user has no role on: still unscoped.
    let project = new_project(&cloud, &admin, "home").await;
    let homed = new_user(&cloud, &admin, "homed", Some(&project)).await;
    let (_, _, body) = issue(&cloud, &password(&homed, "secret-pw", None)).await;
    assert!(body["token"].get("project").is_none(), "{body}");
    // With a role there, the token is scoped to it.
    let member = role_id(&cloud, &admin, "member").await;
    assert_eq!(put(format!("{ks}/projects/{project}/users/{homed}/roles/{member}"), &admin).await, StatusCode::NO_CONTENT);
    let (_, _, body) = issue(&cloud, &password(&homed, "secret-pw", None)).await;
    assert_eq!(body["token"]["project"]["id"], project.as_str());
    assert_eq!(body["token"]["roles"][0]["name"], "member");
    assert!(body["token"]["catalog"].is_array());

    // `"unscoped": {}` asks for an unscoped token even then.
    let (status, _, body) = issue(&cloud, &password(&homed, "secret-pw", Some(json!({"unscoped": {}})))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["token"].get("project").is_none(), "{body}");
}

#[tokio::test]
async fn an_unscoped_token_is_rescoped_and_keeps_its_expiry() {
    let cloud = cloud().await;
    let admin = admin(&cloud).await;
    let ks = cloud.endpoints.identity.clone();
    let user = new_user(&cloud, &admin, "rescoper", None).await;
    let (p1, p2) = (new_project(&cloud, &admin, "one").await, new_project(&cloud, &admin, "two").await);
    let (status, body) = call(reqwest::Method::POST, format!("{ks}/roles"), &admin, Some(json!({"role": {"name": "tempest-role"}}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let role = body["role"]["id"].as_str().unwrap().to_owned();
    for p in [&p1, &p2] {
        assert_eq!(put(format!("{ks}/projects/{p}/users/{user}/roles/{role}"), &admin).await, StatusCode::NO_CONTENT);
    }
    let (_, unscoped, body) = issue(&cloud, &password(&user, "secret-pw", None)).await;
    let expires = body["token"]["expires_at"].clone();
    let audit = body["token"]["audit_ids"][0].clone();
    let by_token = |project: &str| {
        json!({"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
    };
    let (status, scoped, body) = issue(&cloud, &by_token("one")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let t = &body["token"];
    assert_eq!(t["expires_at"], expires);
    assert_eq!(t["project"]["id"], p1.as_str());
    assert_eq!(t["roles"], json!([{"id": role, "name": "tempest-role"}]));
    assert_eq!(t["audit_ids"][1], audit);
    let mut methods: Vec<&str> = t["methods"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    methods.sort();
    assert_eq!(methods, ["password", "token"]);
    // Revoking the scoped token leaves the unscoped one usable.
    let r =
        http().delete(format!("{ks}/auth/tokens")).header("X-Auth-Token", &admin).header("X-Subject-Token", &scoped).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _, body) = issue(&cloud, &by_token("two")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["token"]["project"]["id"], p2.as_str());
    // The projects the token's user may scope to.
    let (status, body) = get(format!("{ks}/auth/projects"), &unscoped).await;
    assert_eq!(status, StatusCode::OK);
    let mut ids: Vec<&str> = body["projects"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut want = [p1.as_str(), p2.as_str()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(body["links"]["self"], format!("{ks}/auth/projects"));
    let (status, body) = get(format!("{ks}/users/{user}/projects"), &unscoped).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["projects"].as_array().unwrap().len(), 2);
    assert_eq!(body["projects"][0]["domain_id"], "default");
    // Another user's projects: only for an admin.
    let (_, demo_body) = get(format!("{ks}/users?name=demo"), &admin).await;
    let demo = demo_body["users"][0]["id"].as_str().unwrap();
    let (status, body) = get(format!("{ks}/users/{demo}/projects"), &unscoped).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["message"], "You are not authorized to perform the requested action: identity:list_user_projects.");
    let (status, _) = get(format!("{ks}/users/nobody/projects"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn system_role_assignments_and_system_scoped_tokens() {
    let cloud = cloud().await;
    let admin = admin(&cloud).await;
    let ks = cloud.endpoints.identity.clone();
    let user = new_user(&cloud, &admin, "operator", None).await;
    let reader = role_id(&cloud, &admin, "reader").await;
    let system = |user: &str, role: &str| format!("{ks}/system/users/{user}/roles/{role}");

    // Without an assignment: 404 with Keystone's message, and no system token.
    let (status, body) = get(system(&user, &reader), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"]["message"],
        format!("Could not find role assignment with role: {reader}, user or group: {user}, project, domain, or system: system.")
    );
    let system_scope = Some(json!({"system": {"all": true}}));
    let (status, _, _) = issue(&cloud, &password(&user, "secret-pw", system_scope.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Grant (twice: silent), check, list.
    assert_eq!(put(system(&user, &reader), &admin).await, StatusCode::NO_CONTENT);
    assert_eq!(put(system(&user, &reader), &admin).await, StatusCode::NO_CONTENT);
    let r = http().head(system(&user, &reader)).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, body) = get(format!("{ks}/system/users/{user}/roles"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["roles"].as_array().unwrap().len(), 1);
    assert_eq!(body["roles"][0]["name"], "reader");
    assert_eq!(body["roles"][0]["links"]["self"], format!("{ks}/roles/{reader}"));
    // Unknown role or user: 404 naming it.
    let (status, body) = get(system(&user, "nope"), &admin).await;
    assert_eq!((status, body["error"]["message"].as_str().unwrap()), (StatusCode::NOT_FOUND, "Could not find role: nope."));
    assert_eq!(put(system("ghost", &reader), &admin).await, StatusCode::NOT_FOUND);

    // The system-scoped token: `"system": {"all": true}`, the system roles, no project.
    let (status, token, body) = issue(&cloud, &password(&user, "secret-pw", system_scope)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let t = &body["token"];
    assert_eq!(t["system"], json!({"all": true}));
    assert_eq!(t["roles"], json!([{"id": reader, "name": "reader"}]));
    assert!(t.get("project").is_none());
    assert!(t["catalog"].is_array());
    let (status, body) = get(format!("{ks}/auth/system"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["system"], json!([{"all": true}]));
    // A system token cannot be rescoped to a project.
    let rescope = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}});
    let (status, _, body) = issue(&cloud, &rescope).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"]["message"],
        "You are not authorized to perform the requested action: Using a system-scoped token to create a project-scoped or domain-scoped token is not allowed.."
    );

    // Role assignments: the system ones carry `"scope": {"system": {"all": true}}`.
    let (status, body) = get(format!("{ks}/role_assignments?scope.system=all&user.id={user}"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["role_assignments"],
        json!([{"role": {"id": reader}, "user": {"id": user}, "scope": {"system": {"all": true}},
            "links": {"assignment": format!("{ks}/system/users/{user}/roles/{reader}")}}])
    );

    // Revoking ends the token; revoking again is a 404.
    let (status, _) = call(reqwest::Method::DELETE, system(&user, &reader), &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = get(format!("{ks}/auth/system"), &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(reqwest::Method::DELETE, system(&user, &reader), &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_bootstrap_admin_has_the_admin_role_on_the_system() {
    let cloud = cloud().await;
    let admin = admin(&cloud).await;
    let ks = cloud.endpoints.identity.clone();
    let (_, users) = get(format!("{ks}/users?name=admin"), &admin).await;
    let admin_id = users["users"][0]["id"].as_str().unwrap().to_owned();
    let (_, body) = get(format!("{ks}/role_assignments?scope.system=all&include_names=true"), &admin).await;
    let list = body["role_assignments"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(list[0]["user"]["id"], admin_id.as_str());
    assert_eq!(list[0]["role"]["name"], "admin");
    // The demo user has none.
    let (status, _, _) = issue(
        &cloud,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "domain": {"name": "Default"}, "password": "demo-password"}}},
            "scope": {"system": {"all": true}}}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = issue(
        &cloud,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "admin-password"}}},
            "scope": {"system": {"all": true}}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["token"]["roles"][0]["name"], "admin");
}

/// What services see: a system-scoped token validates with `system_scope` and no project; an
/// unscoped one with no project and no roles (keystonemiddleware accepts both).
#[test]
fn validation_sets_system_scope_and_empty_project() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("state.db")).unwrap());
    let identity = Identity::open(store, &Seed::default()).unwrap();
    let user = identity.users(Some("admin")).unwrap().remove(0);
    let by_name = |scope| identity.authenticate(&UserRef::Id(user.id.clone()), "admin-password", scope);
    let (token, ctx, _) = by_name(Some(Scope::System)).unwrap();
    let validated = identity.validate(&token).unwrap();
    assert!(ctx.system_scope && validated.system_scope);
    assert_eq!((validated.project_id.as_str(), validated.project_name.as_str()), ("", ""));
    assert_eq!(validated.roles, ["admin", "manager", "member", "reader"]);
    let (token, _, _) = by_name(Some(Scope::Unscoped)).unwrap();
    let validated = identity.validate(&token).unwrap();
    assert!(!validated.system_scope);
    assert!(validated.project_id.is_empty() && validated.roles.is_empty() && validated.catalog.is_empty());
    // No scope asked: the admin's default project.
    let (_, ctx, _) = by_name(None).unwrap();
    assert_eq!(ctx.project_name, "admin");
}

/// `keystone-manage bootstrap`'s implied roles: admin implies manager, manager member, member
/// reader; a token carries the roles its assignments imply, the assignments list stays direct.
#[tokio::test]
async fn tokens_carry_the_roles_their_assignments_imply() {
    let cloud = cloud().await;
    let admin = admin(&cloud).await;
    let ks = cloud.endpoints.identity.clone();
    let project = new_project(&cloud, &admin, "implied").await;
    let user = new_user(&cloud, &admin, "implied-user", None).await;
    let member = role_id(&cloud, &admin, "member").await;
    assert_eq!(put(format!("{ks}/projects/{project}/users/{user}/roles/{member}"), &admin).await, StatusCode::NO_CONTENT);
    let (status, _, body) = issue(&cloud, &password(&user, "secret-pw", Some(json!({"project": {"id": project}})))).await;
    assert_eq!(status, StatusCode::CREATED);
    let names: Vec<&str> = body["token"]["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["member", "reader"]);
    let (_, body) = get(format!("{ks}/role_assignments?user.id={user}"), &admin).await;
    assert_eq!(body["role_assignments"].as_array().unwrap().len(), 1);
    // The manager role exists, immutable like the other bootstrap roles.
    let (_, body) = get(format!("{ks}/roles?name=manager"), &admin).await;
    assert_eq!(body["roles"][0]["options"], json!({"immutable": true}));
    let admin_role = role_id(&cloud, &admin, "admin").await;
    let other = new_user(&cloud, &admin, "implied-admin", None).await;
    assert_eq!(put(format!("{ks}/projects/{project}/users/{other}/roles/{admin_role}"), &admin).await, StatusCode::NO_CONTENT);
    let (_, _, body) = issue(&cloud, &password(&other, "secret-pw", Some(json!({"project": {"id": project}})))).await;
    let names: Vec<&str> = body["token"]["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "manager", "member", "reader"]);
}
