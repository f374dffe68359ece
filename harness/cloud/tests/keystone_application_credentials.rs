//! Simulated Keystone's application credentials, the `application_credential` and `token` auth
//! methods, and `[token] expiration` from the deployment profile, over raw HTTP. Bodies and
//! messages are Keystone's (`keystone/api/users.py`, `keystone/auth/`, `keystone/exception.py`).

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_cloud::deployment::Deployment;
use sigstack_cloud::{CloudConfig, CloudHandle, start};

async fn cloud() -> CloudHandle {
    start(CloudConfig::default()).await.expect("cloud starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Keystone's 401, its keys in the order Keystone's `render_exception` builds them.
const UNAUTHORIZED: &str =
    r#"{"error":{"code":401,"title":"Unauthorized","message":"The request you have made requires authentication."}}"#;

fn tokens_url(cloud: &CloudHandle) -> String {
    format!("{}/auth/tokens", cloud.endpoints.identity)
}

/// `POST /v3/auth/tokens` with a raw `auth` object: status, subject token, body.
async fn auth(cloud: &CloudHandle, auth: Value) -> (StatusCode, Option<String>, Value) {
    let r = http().post(tokens_url(cloud)).json(&json!({"auth": auth})).send().await.unwrap();
    let status = r.status();
    let token = r.headers().get("x-subject-token").map(|v| v.to_str().unwrap().to_owned());
    let text = r.text().await.unwrap();
    (status, token, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A seeded user's password token scoped to its project: the token and its body.
async fn password(cloud: &CloudHandle, user: &str) -> (String, Value) {
    let project = &cloud.seed.users.iter().find(|u| u.name == user).unwrap().project;
    let (status, token, body) = auth(
        cloud,
        json!({"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": format!("{user}-password")}}},
               "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (token.unwrap(), body)
}

fn by_id(id: &str, secret: &str) -> Value {
    json!({"identity": {"methods": ["application_credential"], "application_credential": {"id": id, "secret": secret}}})
}

fn creds_url(cloud: &CloudHandle, user_id: &str) -> String {
    format!("{}/users/{user_id}/application_credentials", cloud.endpoints.identity)
}

async fn send(request: reqwest::RequestBuilder, token: &str) -> (StatusCode, Value) {
    let r = request.header("X-Auth-Token", token).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

async fn create(cloud: &CloudHandle, token: &str, user_id: &str, body: Value) -> (StatusCode, Value) {
    send(http().post(creds_url(cloud, user_id)).json(&body), token).await
}

fn error(code: u16, title: &str, message: &str) -> Value {
    json!({"error": {"code": code, "title": title, "message": message}})
}

fn user_id(body: &Value) -> String {
    body["token"]["user"]["id"].as_str().unwrap().to_owned()
}

fn role_names(token_body: &Value) -> Vec<String> {
    token_body["token"]["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
}

/// Keystone lists a token's methods from a Python set: their order is not part of the answer.
fn methods(token_body: &Value) -> BTreeSet<&str> {
    token_body["token"]["methods"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect()
}

async fn glance_images(cloud: &CloudHandle, token: &str) -> StatusCode {
    http().get(format!("{}/v2/images", cloud.endpoints.image)).header("X-Auth-Token", token).send().await.unwrap().status()
}

#[tokio::test]
async fn create_show_list_and_delete_answer_keystones_bodies() {
    let cloud = cloud().await;
    let (demo, body) = password(&cloud, "demo").await;
    let demo_id = user_id(&body);
    let project_id = body["token"]["project"]["id"].as_str().unwrap().to_owned();
    let token_roles = body["token"]["roles"].clone();

    let (status, created) =
        create(&cloud, &demo, &demo_id, json!({"application_credential": {"name": "monitoring", "description": "for monitoring"}})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let c = &created["application_credential"];
    let keys: BTreeSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "name",
            "description",
            "user_id",
            "project_id",
            "system",
            "expires_at",
            "unrestricted",
            "roles",
            "links",
            "secret"
        ])
    );
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(
        (&c["name"], &c["description"], &c["user_id"], &c["project_id"]),
        (&json!("monitoring"), &json!("for monitoring"), &json!(demo_id), &json!(project_id))
    );
    assert_eq!((&c["system"], &c["expires_at"], &c["unrestricted"]), (&Value::Null, &Value::Null, &Value::Null));
    // Generated: 64 random bytes, URL-safe base64 without padding.
    let secret = c["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 86);
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(c["links"], json!({"self": format!("{}/application_credentials/{id}", cloud.endpoints.identity)}));
    // No roles asked for: the token's, as `role_api.get_role` renders them (demo's member and
    // reader are bootstrap roles: immutable, as real Keystone 30 shows them).
    let expected_roles: Vec<Value> = {
        let mut roles: Vec<Value> = token_roles
            .as_array()
            .unwrap()
            .iter()
            .map(|r| json!({"id": r["id"], "name": r["name"], "domain_id": null, "description": null, "options": {"immutable": true}}))
            .collect();
        roles.sort_by_key(|r| r["id"].as_str().unwrap().to_owned());
        roles
    };
    assert_eq!(c["roles"], json!(expected_roles));

    // Show and list: the same object without the secret.
    let mut shown = c.clone();
    shown.as_object_mut().unwrap().remove("secret");
    let (status, body) = send(http().get(format!("{}/{id}", creds_url(&cloud, &demo_id))), &demo).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"application_credential": shown})));
    let (status, second) = create(
        &cloud,
        &demo,
        &demo_id,
        json!({"application_credential": {"name": "backup", "secret": "my-secret", "unrestricted": false, "expires_at": "2999-12-31T23:59:59"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["application_credential"]["secret"], "my-secret");
    assert_eq!(second["application_credential"]["expires_at"], "2999-12-31T23:59:59.000000");
    assert_eq!(second["application_credential"]["unrestricted"], false);
    let (status, list) = send(http().get(creds_url(&cloud, &demo_id)), &demo).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list["application_credentials"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["monitoring", "backup"]);
    assert!(list["application_credentials"].as_array().unwrap().iter().all(|c| c.get("secret").is_none()));
    assert_eq!(list["links"], json!({"next": null, "self": creds_url(&cloud, &demo_id), "previous": null}));
    let (_, only) = send(http().get(format!("{}?name=monitoring", creds_url(&cloud, &demo_id))), &demo).await;
    assert_eq!(
        only,
        json!({"application_credentials": [shown], "links": {"next": null, "self": format!("{}?name=monitoring", creds_url(&cloud, &demo_id)), "previous": null}})
    );

    // A second credential with the same name for the same user: Keystone's 409.
    let (status, body) = create(&cloud, &demo, &demo_id, json!({"application_credential": {"name": "monitoring"}})).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            error(
                409,
                "Conflict",
                "Conflict occurred attempting to store application_credential - Duplicate entry found with name monitoring."
            )
        )
    );

    let (status, body) = send(http().delete(format!("{}/{id}", creds_url(&cloud, &demo_id))), &demo).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let not_found = error(404, "Not Found", &format!("Could not find Application Credential: {id}."));
    let (status, body) = send(http().get(format!("{}/{id}", creds_url(&cloud, &demo_id))), &demo).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, not_found.clone()));
    let (status, body) = send(http().delete(format!("{}/{id}", creds_url(&cloud, &demo_id))), &demo).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, not_found));
}

#[tokio::test]
async fn the_owner_or_an_admin_manage_them_and_only_the_owner_creates() {
    let cloud = cloud().await;
    let (demo, body) = password(&cloud, "demo").await;
    let demo_id = user_id(&body);
    let (alt, _) = password(&cloud, "alt_demo").await;
    let (admin, _) = password(&cloud, "admin").await;
    let (_, created) = create(&cloud, &demo, &demo_id, json!({"application_credential": {"name": "ci"}})).await;
    let id = created["application_credential"]["id"].as_str().unwrap().to_owned();
    let one = format!("{}/{id}", creds_url(&cloud, &demo_id));
    let forbidden =
        |rule: &str| error(403, "Forbidden", &format!("You are not authorized to perform the requested action: identity:{rule}."));

    assert_eq!(
        send(http().get(creds_url(&cloud, &demo_id)), &alt).await,
        (StatusCode::FORBIDDEN, forbidden("list_application_credentials"))
    );
    assert_eq!(send(http().get(&one), &alt).await, (StatusCode::FORBIDDEN, forbidden("get_application_credential")));
    // The owner is the credential's user, not the path's.
    let alt_id = user_id(&password(&cloud, "alt_demo").await.1);
    assert_eq!(
        send(http().get(format!("{}/{id}", creds_url(&cloud, &alt_id))), &alt).await,
        (StatusCode::FORBIDDEN, forbidden("get_application_credential"))
    );
    assert_eq!(send(http().delete(&one), &alt).await, (StatusCode::FORBIDDEN, forbidden("delete_application_credential")));
    let (status, body) = create(&cloud, &alt, &demo_id, json!({"application_credential": {"name": "x"}})).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, forbidden("create_application_credential")));
    // `rule:owner` alone for create: an admin cannot create one for somebody else.
    let (status, body) = create(&cloud, &admin, &demo_id, json!({"application_credential": {"name": "x"}})).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, forbidden("create_application_credential")));

    let (status, list) = send(http().get(creds_url(&cloud, &demo_id)), &admin).await;
    assert_eq!((status, list["application_credentials"].as_array().unwrap().len()), (StatusCode::OK, 1));
    assert_eq!(send(http().get(&one), &admin).await.0, StatusCode::OK);
    assert_eq!(send(http().delete(&one), &admin).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn create_refuses_what_keystone_refuses() {
    let cloud = cloud().await;
    let (demo, body) = password(&cloud, "demo").await;
    let demo_id = user_id(&body);
    let bad = |message: &str| (StatusCode::BAD_REQUEST, error(400, "Bad Request", message));
    let cases = [
        (json!({}), bad("'application_credential' is a required property")),
        (
            json!({"application_credential": {"description": "no name"}}),
            bad(
                "Invalid input for field/attribute application_credential. Value: {'description': 'no name'}. 'name' is a required property",
            ),
        ),
        (json!({"application_credential": {"name": ""}}), bad("Invalid input for field/attribute name. Value: . '' should be non-empty")),
        (
            json!({"application_credential": {"name": "a", "unrestricted": "yes"}}),
            bad("Invalid input for field/attribute unrestricted. Value: yes. 'yes' is not of type 'boolean', 'null'"),
        ),
        (
            json!({"application_credential": {"name": "a", "roles": [{"name": "admin"}]}}),
            bad("Invalid application credential: Cannot create an application credential with unassigned role"),
        ),
        (
            json!({"application_credential": {"name": "a", "roles": [{"name": "nope"}]}}),
            (StatusCode::NOT_FOUND, error(404, "Not Found", "Role nope is not defined")),
        ),
        (
            json!({"application_credential": {"name": "a", "expires_at": "2001-01-01T00:00:00Z"}}),
            bad(
                "The 'expires_at' must not be before now. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
            ),
        ),
        (
            json!({"application_credential": {"name": "a", "expires_at": "next week"}}),
            bad(
                "Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
            ),
        ),
        (
            json!({"application_credential": {"name": "a", "access_rules": [{"service": "image", "path": "/v2/images", "method": "GET"}]}}),
            bad("Invalid application credential: access rules are not supported by sigstack's simulated Keystone"),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(create(&cloud, &demo, &demo_id, body.clone()).await, expected, "{body}");
    }
    let (status, list) = send(http().get(creds_url(&cloud, &demo_id)), &demo).await;
    assert_eq!((status, list["application_credentials"].clone()), (StatusCode::OK, json!([])), "nothing was stored");
}

#[tokio::test]
async fn authenticating_with_a_credential_scopes_to_its_project_with_its_roles() {
    let cloud = cloud().await;
    let (demo, body) = password(&cloud, "demo").await;
    let demo_id = user_id(&body);
    let demo_project = body["token"]["project"].clone();
    // A subset of the token's roles, by name.
    let (status, created) = create(
        &cloud,
        &demo,
        &demo_id,
        json!({"application_credential": {"name": "reader-only", "secret": "s3cret", "roles": [{"name": "reader"}]}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["application_credential"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["application_credential"]["roles"].as_array().unwrap().iter().map(|r| &r["name"]).collect::<Vec<_>>(), ["reader"]);

    let (status, token, body) = auth(&cloud, by_id(&id, "s3cret")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["application_credential"]));
    assert_eq!(t["application_credential"], json!({"id": id, "name": "reader-only", "restricted": true}));
    assert_eq!(t["project"], demo_project);
    assert_eq!(t["user"]["id"], demo_id);
    assert_eq!(role_names(&body), ["reader"]);
    let token = token.unwrap();
    assert_eq!(glance_images(&cloud, &token).await, StatusCode::OK);

    // By name, with the owner by name and domain, or by id.
    for user in [json!({"name": "demo", "domain": {"name": "Default"}}), json!({"id": demo_id})] {
        let (status, _, body) = auth(
            &cloud,
            json!({"identity": {"methods": ["application_credential"], "application_credential": {"name": "reader-only", "secret": "s3cret", "user": user}}}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["token"]["application_credential"]["id"], id);
    }

    // Wrong secret, no secret, unknown name: the plain 401.
    for bad in [
        by_id(&id, "wrong"),
        json!({"identity": {"methods": ["application_credential"], "application_credential": {"id": id}}}),
        json!({"identity": {"methods": ["application_credential"], "application_credential": {"name": "nope", "secret": "s3cret", "user": {"id": demo_id}}}}),
    ] {
        let r = http().post(tokens_url(&cloud)).json(&json!({"auth": bad})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(r.text().await.unwrap(), UNAUTHORIZED);
    }
    // An unknown id is the lookup's 404; a scope is refused.
    let (status, _, body) = auth(&cloud, by_id("0123456789abcdef0123456789abcdef", "s3cret")).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, error(404, "Not Found", "Could not find Application Credential: 0123456789abcdef0123456789abcdef."))
    );
    let mut scoped = by_id(&id, "s3cret");
    scoped["scope"] = json!({"project": {"id": demo_project["id"]}});
    let (status, _, body) = auth(&cloud, scoped).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error": {"code": 401, "title": "Unauthorized", "identity": {}, "message": "Error authenticating with application credential: Application credentials cannot request a scope."}})
    );

    // An expired credential authenticates no more; a token never outlives its credential.
    let soon =
        (time::OffsetDateTime::now_utc() + time::Duration::seconds(2)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, brief) =
        create(&cloud, &demo, &demo_id, json!({"application_credential": {"name": "brief", "secret": "s", "expires_at": soon}})).await;
    assert_eq!(status, StatusCode::CREATED, "{brief}");
    let brief_id = brief["application_credential"]["id"].as_str().unwrap().to_owned();
    let (status, _, body) = auth(&cloud, by_id(&brief_id, "s")).await;
    assert_eq!(status, StatusCode::CREATED);
    let expires =
        time::OffsetDateTime::parse(body["token"]["expires_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert!(expires <= time::OffsetDateTime::now_utc() + time::Duration::seconds(3), "{body}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(auth(&cloud, by_id(&brief_id, "s")).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_restricted_credential_cannot_manage_credentials_an_unrestricted_one_can() {
    let cloud = cloud().await;
    let (demo, body) = password(&cloud, "demo").await;
    let demo_id = user_id(&body);
    let restricted_message = "You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials..";
    let (_, restricted) = create(&cloud, &demo, &demo_id, json!({"application_credential": {"name": "restricted", "secret": "r"}})).await;
    let (_, unrestricted) =
        create(&cloud, &demo, &demo_id, json!({"application_credential": {"name": "unrestricted", "secret": "u", "unrestricted": true}}))
            .await;
    let restricted_id = restricted["application_credential"]["id"].as_str().unwrap().to_owned();
    let unrestricted_id = unrestricted["application_credential"]["id"].as_str().unwrap().to_owned();

    let (_, token, body) = auth(&cloud, by_id(&restricted_id, "r")).await;
    let token = token.unwrap();
    assert_eq!(body["token"]["application_credential"]["restricted"], true);
    let (status, body) = create(&cloud, &token, &demo_id, json!({"application_credential": {"name": "child"}})).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, error(403, "Forbidden", restricted_message)));
    let (status, body) = send(http().delete(format!("{}/{unrestricted_id}", creds_url(&cloud, &demo_id))), &token).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, error(403, "Forbidden", restricted_message)));
    // Reading is allowed.
    let (status, list) = send(http().get(creds_url(&cloud, &demo_id)), &token).await;
    assert_eq!((status, list["application_credentials"].as_array().unwrap().len()), (StatusCode::OK, 2));

    let (_, token, body) = auth(&cloud, by_id(&unrestricted_id, "u")).await;
    let token = token.unwrap();
    assert_eq!(body["token"]["application_credential"]["restricted"], false);
    let (status, child) = create(&cloud, &token, &demo_id, json!({"application_credential": {"name": "child"}})).await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    let child_id = child["application_credential"]["id"].as_str().unwrap();
    let (status, _) = send(http().delete(format!("{}/{child_id}", creds_url(&cloud, &demo_id))), &token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn deleting_a_credential_or_its_user_invalidates_what_came_from_it() {
    let cloud = cloud().await;
    let (admin, _) = password(&cloud, "admin").await;
    let (demo, body) = password(&cloud, "demo").await;
    let demo_id = user_id(&body);
    let (_, created) = create(&cloud, &demo, &demo_id, json!({"application_credential": {"name": "ci", "secret": "s"}})).await;
    let id = created["application_credential"]["id"].as_str().unwrap().to_owned();
    let (_, token, _) = auth(&cloud, by_id(&id, "s")).await;
    let token = token.unwrap();
    assert_eq!(glance_images(&cloud, &token).await, StatusCode::OK);
    assert_eq!(send(http().delete(format!("{}/{id}", creds_url(&cloud, &demo_id))), &demo).await.0, StatusCode::NO_CONTENT);
    assert_eq!(glance_images(&cloud, &token).await, StatusCode::UNAUTHORIZED);
    let r = http().get(tokens_url(&cloud)).header("X-Auth-Token", &admin).header("X-Subject-Token", &token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap(), error(404, "Not Found", &format!("Could not find Application Credential: {id}.")));
    assert_eq!(
        send(http().get(creds_url(&cloud, &demo_id)), &demo).await.1["application_credentials"],
        json!([]),
        "the password token still works"
    );

    // A user's deletion takes its credentials with it.
    let identity = &cloud.endpoints.identity;
    let (_, user) = send(
        http().post(format!("{identity}/users")).json(&json!({"user": {"name": "robot", "password": "robot-pw", "domain_id": "default"}})),
        &admin,
    )
    .await;
    let robot = user["user"]["id"].as_str().unwrap().to_owned();
    let demo_project = body["token"]["project"]["id"].as_str().unwrap();
    let member = cloud.identity.roles(Some("member")).unwrap().remove(0).id;
    let grant = format!("{identity}/projects/{demo_project}/users/{robot}/roles/{member}");
    assert_eq!(send(http().put(&grant), &admin).await.0, StatusCode::NO_CONTENT);
    let (status, token, _) = auth(
        &cloud,
        json!({"identity": {"methods": ["password"], "password": {"user": {"id": robot, "password": "robot-pw"}}}, "scope": {"project": {"id": demo_project}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, created) = create(&cloud, &token.unwrap(), &robot, json!({"application_credential": {"name": "robot", "secret": "s"}})).await;
    let robot_cred = created["application_credential"]["id"].as_str().unwrap().to_owned();
    let (_, robot_token, _) = auth(&cloud, by_id(&robot_cred, "s")).await;
    assert_eq!(send(http().delete(format!("{identity}/users/{robot}")), &admin).await.0, StatusCode::NO_CONTENT);
    assert_eq!(auth(&cloud, by_id(&robot_cred, "s")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(glance_images(&cloud, &robot_token.unwrap()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(send(http().get(creds_url(&cloud, &robot)), &admin).await.1["application_credentials"], json!([]));
}

#[tokio::test]
async fn the_token_method_rescopes_keeping_the_expiry_and_the_audit_chain() {
    let cloud = cloud().await;
    let (admin, _) = password(&cloud, "admin").await;
    let (demo, original) = password(&cloud, "demo").await;
    let demo_id = user_id(&original);
    let identity = &cloud.endpoints.identity;
    let alt_project = cloud.identity.projects(Some("alt_demo")).unwrap().remove(0).id;
    let reader = cloud.identity.roles(Some("reader")).unwrap().remove(0).id;
    let grant = format!("{identity}/projects/{alt_project}/users/{demo_id}/roles/{reader}");
    assert_eq!(send(http().put(&grant), &admin).await.0, StatusCode::NO_CONTENT);

    let rescope = |token: &str, scope: Option<Value>| {
        let mut a = json!({"identity": {"methods": ["token"], "token": {"id": token}}});
        if let Some(scope) = scope {
            a["scope"] = scope;
        }
        a
    };
    // Keystone sleeps nothing: wait so that a new expiry would differ from the original's.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, token, body) =
        auth(&cloud, rescope(&demo, Some(json!({"project": {"name": "alt_demo", "domain": {"name": "Default"}}})))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let t = &body["token"];
    assert_eq!(t["project"]["id"], alt_project);
    assert_eq!(role_names(&body), ["reader"]);
    assert_eq!(methods(&body), BTreeSet::from(["password", "token"]));
    assert_eq!(t["expires_at"], original["token"]["expires_at"], "the original expiry is kept");
    assert_eq!(t["audit_ids"][1], original["token"]["audit_ids"][0]);
    assert_ne!(t["audit_ids"][0], original["token"]["audit_ids"][0]);
    assert_eq!(t["user"]["id"], demo_id);
    let token = token.unwrap();
    assert_ne!(token, demo);
    // Rescoping a rescoped token keeps the chain's first audit id.
    let (_, _, again) = auth(&cloud, rescope(&token, Some(json!({"project": {"id": original["token"]["project"]["id"]}})))).await;
    assert_eq!(again["token"]["audit_ids"][1], original["token"]["audit_ids"][0]);
    assert_eq!(again["token"]["expires_at"], original["token"]["expires_at"]);

    // Not a token: the 404s of Keystone's `validate_token`.
    let (status, _, body) = auth(&cloud, rescope("not-a-token", None)).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, error(404, "Not Found", "Could not recognize Fernet token")));
    let r = http().delete(tokens_url(&cloud)).header("X-Auth-Token", &admin).header("X-Subject-Token", &token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _, body) = auth(&cloud, rescope(&token, None)).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, error(404, "Not Found", "Failed to validate token")));
    let (status, _, body) = auth(&cloud, json!({"identity": {"methods": ["token"], "token": {}}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid input for field 'identity/token': 'id' is a required property\n\nFailed validating 'required'"),
        "{body}"
    );

    // A token from an application credential may not pick a scope; without one it stays a
    // credential's token.
    let (_, created) = create(&cloud, &demo, &demo_id, json!({"application_credential": {"name": "ci", "secret": "s"}})).await;
    let id = created["application_credential"]["id"].as_str().unwrap().to_owned();
    let (_, cred_token, _) = auth(&cloud, by_id(&id, "s")).await;
    let cred_token = cred_token.unwrap();
    let (status, _, body) = auth(&cloud, rescope(&cred_token, Some(json!({"project": {"id": alt_project}})))).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            error(
                403,
                "Forbidden",
                "You are not authorized to perform the requested action: Using an application credential token to create a scoped token is not allowed.."
            )
        )
    );
    let (status, _, body) = auth(&cloud, rescope(&cred_token, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["token"]["application_credential"]["id"], id);
    assert_eq!(methods(&body), BTreeSet::from(["application_credential", "token"]));
    assert_eq!(body["token"]["project"], original["token"]["project"]);
}

#[tokio::test]
async fn token_lifetime_comes_from_the_deployment_profile() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("short-tokens.yaml");
    std::fs::write(&file, "name: short-tokens\nkeystone: {token_expiration: 2}\n").unwrap();
    let deployment = Deployment::load(file.to_str().unwrap()).expect("loads as `sigstack serve --deployment FILE` does");
    assert_eq!(deployment.keystone.token_expiration, 2);
    let cloud = start(CloudConfig { deployment, ..CloudConfig::default() }).await.unwrap();
    let r = cloud.control_http().get(format!("{}/_sim/deployment", cloud.endpoints.image)).send().await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["deployment"]["keystone"],
        json!({"token_expiration": 2, "max_password_length": 4096, "strict_password_check": false, "password_hash_algorithm": "bcrypt"})
    );

    let (demo, body) = password(&cloud, "demo").await;
    let parse = |v: &Value| time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    let lifetime = parse(&body["token"]["expires_at"]) - parse(&body["token"]["issued_at"]);
    assert_eq!(lifetime, time::Duration::seconds(2), "{body}");
    let (_, created) = create(&cloud, &demo, &user_id(&body), json!({"application_credential": {"name": "ci", "secret": "s"}})).await;
    let (_, cred_token, cred_body) = auth(&cloud, by_id(created["application_credential"]["id"].as_str().unwrap(), "s")).await;
    assert_eq!(parse(&cred_body["token"]["expires_at"]) - parse(&cred_body["token"]["issued_at"]), time::Duration::seconds(2));
    assert_eq!(glance_images(&cloud, &demo).await, StatusCode::OK);

    tokio::time::sleep(Duration::from_secs(3)).await;
    for token in [&demo, cred_token.as_ref().unwrap()] {
        assert_eq!(glance_images(&cloud, token).await, StatusCode::UNAUTHORIZED);
        let r = http()
            .get(format!("{}/users/x/application_credentials", cloud.endpoints.identity))
            .header("X-Auth-Token", token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.text().await.unwrap(), UNAUTHORIZED);
    }
    let (admin, _) = password(&cloud, "admin").await;
    let r = http().get(tokens_url(&cloud)).header("X-Auth-Token", &admin).header("X-Subject-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap(), error(404, "Not Found", "Failed to validate token"));

    // `/_sim/deployment` changes the lifetime of the next tokens.
    let r = cloud
        .control_http()
        .patch(format!("{}/_sim/deployment", cloud.endpoints.image))
        .json(&json!({"keystone": {"token_expiration": 600}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, body) = password(&cloud, "demo").await;
    assert_eq!(parse(&body["token"]["expires_at"]) - parse(&body["token"]["issued_at"]), time::Duration::seconds(600));
}

#[tokio::test]
async fn secrets_are_stored_hashed_and_reset_empties_the_credentials() {
    let cloud = cloud().await;
    let (demo, body) = password(&cloud, "demo").await;
    let (_, created) = create(
        &cloud,
        &demo,
        &user_id(&body),
        json!({"application_credential": {"name": "ci", "secret": "plain-text-secret", "roles": [{"name": "member"}]}}),
    )
    .await;
    let id = created["application_credential"]["id"].as_str().unwrap().to_owned();
    let resources = |cloud: &CloudHandle| {
        let url = format!("{}/_sim/resources?service=keystone", cloud.endpoints.image);
        let http = cloud.control_http();
        async move { http.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let before = resources(&cloud).await;
    let tables = &before["services"]["keystone"]["tables"];
    let rows = tables["keystone_application_credentials"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], id);
    assert_eq!(rows[0]["secret_hash"]["redacted"], true, "the hash is stored but never shown");
    assert_eq!(tables["keystone_application_credential_roles"].as_array().unwrap().len(), 1);
    assert!(!before.to_string().contains("plain-text-secret"), "the secret is never stored in clear");

    let r = cloud.control_http().post(format!("{}/_sim/reset", cloud.endpoints.image)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["reset"]["keystone"]["rows_deleted"]["keystone_application_credentials"], 1, "{report}");
    let after = resources(&cloud).await;
    let tables = &after["services"]["keystone"]["tables"];
    assert_eq!(tables["keystone_application_credentials"], json!([]));
    assert_eq!(tables["keystone_application_credential_roles"], json!([]));
    let (status, _, _) = auth(&cloud, by_id(&id, "plain-text-secret")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
