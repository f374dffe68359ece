//! Keystone's role and domain administration (`/v3/roles`, `/v3/domains`) and OS-EC2
//! credentials (`/v3/users/{id}/credentials/OS-EC2`): statuses, shapes and messages.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_cloud::{CloudConfig, CloudHandle, start};

async fn cloud() -> CloudHandle {
    start(CloudConfig::default()).await.expect("cloud starts")
}

async fn token(cloud: &CloudHandle, user: &str) -> String {
    Session::authenticate(&cloud.credentials(user).unwrap()).await.unwrap().token().value.clone()
}

async fn call(method: Method, url: String, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = sigstack_client::session::http_client().request(method, url).header("X-Auth-Token", token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn roles_are_created_renamed_and_deleted() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let ks = cloud.endpoints.identity.clone();
    let (status, body) = call(Method::POST, format!("{ks}/roles"), &admin, Some(json!({"role": {"name": "auditor"}}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let role = &body["role"];
    let id = role["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(role["name"], "auditor");
    assert_eq!(role["domain_id"], Value::Null);
    assert_eq!(role["description"], Value::Null);
    assert_eq!(role["options"], json!({}));
    assert_eq!(role["links"]["self"], format!("{ks}/roles/{id}"));

    // The same name again: 409 with Keystone's message.
    let (status, body) = call(Method::POST, format!("{ks}/roles"), &admin, Some(json!({"role": {"name": "auditor"}}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(message(&body), "Conflict occurred attempting to store role - Duplicate entry found with name auditor.");
    // No name: the schema's 400; a member: the policy's 403.
    let (status, _) = call(Method::POST, format!("{ks}/roles"), &admin, Some(json!({"role": {"description": "x"}}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let demo = token(&cloud, "demo").await;
    let (status, body) = call(Method::POST, format!("{ks}/roles"), &demo, Some(json!({"role": {"name": "mine"}}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(message(&body), "You are not authorized to perform the requested action: identity:create_role.");

    let patch = json!({"role": {"name": "auditor2", "description": "reads"}});
    let (status, body) = call(Method::PATCH, format!("{ks}/roles/{id}"), &admin, Some(patch)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["role"]["name"].as_str(), body["role"]["description"].as_str()), (Some("auditor2"), Some("reads")));
    let (_, body) = call(Method::GET, format!("{ks}/roles/{id}"), &admin, None).await;
    assert_eq!(body["role"]["name"], "auditor2");

    // The bootstrap roles are immutable.
    let (_, body) = call(Method::GET, format!("{ks}/roles?name=admin"), &admin, None).await;
    let admin_role = body["roles"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = call(Method::DELETE, format!("{ks}/roles/{admin_role}"), &admin, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        message(&body),
        format!("Unable to delete immutable role resource: `{admin_role}. Set resource option \"immutable\" to false first.")
    );

    let (status, _) = call(Method::DELETE, format!("{ks}/roles/{id}"), &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(Method::DELETE, format!("{ks}/roles/{id}"), &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(message(&body), format!("Could not find role: {id}."));
}

#[tokio::test]
async fn domains_are_created_disabled_and_deleted() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let ks = cloud.endpoints.identity.clone();
    let body = json!({"domain": {"name": "tempest-domain", "description": "d"}});
    let (status, body) = call(Method::POST, format!("{ks}/domains"), &admin, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let d = &body["domain"];
    let id = d["id"].as_str().unwrap().to_owned();
    assert_eq!((d["name"].as_str(), d["description"].as_str(), d["enabled"].as_bool()), (Some("tempest-domain"), Some("d"), Some(true)));
    assert_eq!(d["links"]["self"], format!("{ks}/domains/{id}"));
    let (status, body) = call(Method::POST, format!("{ks}/domains"), &admin, Some(json!({"domain": {"name": "tempest-domain"}}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        message(&body),
        "Conflict occurred attempting to store project - it is not permitted to have two projects acting as domains with the same name: tempest-domain."
    );

    // Projects and users can live there.
    let project = json!({"project": {"name": "inside", "domain_id": id}});
    let (status, _) = call(Method::POST, format!("{ks}/projects"), &admin, Some(project)).await;
    assert_eq!(status, StatusCode::CREATED);

    // An enabled domain cannot be deleted.
    let (status, body) = call(Method::DELETE, format!("{ks}/domains/{id}"), &admin, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(message(&body), "Cannot delete a domain that is enabled, please disable it first.");
    let (status, body) = call(Method::PATCH, format!("{ks}/domains/{id}"), &admin, Some(json!({"domain": {"enabled": false}}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["domain"]["enabled"], false);
    let (status, _) = call(Method::DELETE, format!("{ks}/domains/{id}"), &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(Method::GET, format!("{ks}/domains/{id}"), &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(message(&body), format!("Could not find domain: {id}."));
    // Its projects went with it.
    let (_, body) = call(Method::GET, format!("{ks}/projects?name=inside"), &admin, None).await;
    assert_eq!(body["projects"], json!([]));
    // The default domain is listed and shown.
    let (_, body) = call(Method::GET, format!("{ks}/domains/default"), &admin, None).await;
    assert_eq!(body["domain"]["name"], "Default");
    let (status, body) = call(Method::DELETE, format!("{ks}/domains/default"), &admin, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn ec2_credentials_belong_to_their_user() {
    let cloud = cloud().await;
    let demo = token(&cloud, "demo").await;
    let ks = cloud.endpoints.identity.clone();
    let me = Session::authenticate(&cloud.credentials("demo").unwrap()).await.unwrap().token().clone();
    let (user, project) = (me.user.id.clone(), me.project.unwrap().id);
    let base = format!("{ks}/users/{user}/credentials/OS-EC2");
    let (status, body) = call(Method::POST, base.clone(), &demo, Some(json!({"tenant_id": project}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let c = &body["credential"];
    let access = c["access"].as_str().unwrap().to_owned();
    assert_eq!(access.len(), 32);
    assert_eq!(c["secret"].as_str().unwrap().len(), 32);
    assert_eq!((c["user_id"].as_str(), c["tenant_id"].as_str()), (Some(user.as_str()), Some(project.as_str())));
    assert_eq!(c["trust_id"], Value::Null);
    assert_eq!(c["links"]["self"], format!("{base}/{access}"));

    let (status, body) = call(Method::GET, format!("{base}/{access}"), &demo, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["credential"]["access"], access.as_str());
    let (status, body) = call(Method::GET, base.clone(), &demo, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(body["links"]["self"], base.as_str());

    // An unknown project: 404; another user's list: 403.
    let (status, body) = call(Method::POST, base.clone(), &demo, Some(json!({"tenant_id": "nope"}))).await;
    assert_eq!((status, message(&body)), (StatusCode::NOT_FOUND, "Could not find project: nope."));
    let alt = token(&cloud, "alt_demo").await;
    let (status, body) = call(Method::GET, base.clone(), &alt, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(message(&body), "You are not authorized to perform the requested action: identity:ec2_list_credentials.");
    let (status, _) = call(Method::GET, format!("{base}/{access}"), &alt, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The secret is not kept in the clear in the state (the dump shows the sealed blob).
    let secret = c["secret"].as_str().unwrap().to_owned();
    let dump = cloud.control_http().get(format!("{}/_sim/resources", cloud.endpoints.image)).send().await.unwrap().text().await.unwrap();
    assert!(dump.contains("keystone_credentials"), "the table is dumped");
    assert!(!dump.contains(&secret), "EC2 secret in the dump");

    let (status, _) = call(Method::DELETE, format!("{base}/{access}"), &demo, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(Method::GET, format!("{base}/{access}"), &demo, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(message(&body).starts_with("Could not find credential: "), "{body}");
}

#[tokio::test]
async fn groups_and_domain_role_assignments_give_auth_domains() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let ks = cloud.endpoints.identity.clone();
    let alt = Session::authenticate(&cloud.credentials("alt_demo").unwrap()).await.unwrap().token().clone();
    let alt_token = alt.value.clone();
    let user = alt.user.id.clone();
    let (_, body) = call(Method::POST, format!("{ks}/domains"), &admin, Some(json!({"domain": {"name": "d-user"}}))).await;
    let d_user = body["domain"]["id"].as_str().unwrap().to_owned();
    let (_, body) = call(Method::POST, format!("{ks}/domains"), &admin, Some(json!({"domain": {"name": "d-group"}}))).await;
    let d_group = body["domain"]["id"].as_str().unwrap().to_owned();
    let (_, body) = call(Method::POST, format!("{ks}/roles"), &admin, Some(json!({"role": {"name": "domain-role"}}))).await;
    let role = body["role"]["id"].as_str().unwrap().to_owned();

    // Nothing yet.
    let (status, body) = call(Method::GET, format!("{ks}/auth/domains"), &alt_token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["domains"], json!([]));
    assert_eq!(body["links"]["self"], format!("{ks}/auth/domains"));

    // A role on a domain for the user.
    let grant = format!("{ks}/domains/{d_user}/users/{user}/roles/{role}");
    let (status, body) = call(Method::GET, grant.clone(), &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        message(&body),
        format!("Could not find role assignment with role: {role}, user or group: {user}, project, domain, or system: {d_user}.")
    );
    assert_eq!(call(Method::PUT, grant.clone(), &admin, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(call(Method::GET, grant.clone(), &admin, None).await.0, StatusCode::NO_CONTENT);
    let (_, body) = call(Method::GET, format!("{ks}/domains/{d_user}/users/{user}/roles"), &admin, None).await;
    assert_eq!(body["roles"][0]["id"], role.as_str());

    // A group in a domain, with the user in it and a role on another domain.
    let (status, body) =
        call(Method::POST, format!("{ks}/groups"), &admin, Some(json!({"group": {"name": "g", "domain_id": d_group}}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let group = body["group"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["group"]["domain_id"], d_group.as_str());
    let (status, body) =
        call(Method::POST, format!("{ks}/groups"), &admin, Some(json!({"group": {"name": "g", "domain_id": d_group}}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        message(&body),
        format!("Conflict occurred attempting to store group - Duplicate entry found with name g at domain ID {d_group}.")
    );
    let member = format!("{ks}/groups/{group}/users/{user}");
    let (status, body) = call(Method::HEAD, member.clone(), &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(call(Method::PUT, member.clone(), &admin, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(call(Method::HEAD, member.clone(), &admin, None).await.0, StatusCode::NO_CONTENT);
    let group_grant = format!("{ks}/domains/{d_group}/groups/{group}/roles/{role}");
    assert_eq!(call(Method::PUT, group_grant.clone(), &admin, None).await.0, StatusCode::NO_CONTENT);

    // Both show in the role assignments, each with its actor and domain scope.
    let (_, body) = call(Method::GET, format!("{ks}/role_assignments?scope.domain.id={d_user}"), &admin, None).await;
    assert_eq!(
        body["role_assignments"],
        json!([{"role": {"id": role}, "user": {"id": user}, "scope": {"domain": {"id": d_user}},
            "links": {"assignment": format!("{ks}/domains/{d_user}/users/{user}/roles/{role}")}}])
    );
    let (_, body) = call(Method::GET, format!("{ks}/role_assignments?group.id={group}"), &admin, None).await;
    assert_eq!(body["role_assignments"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["role_assignments"][0]["group"]["id"], group.as_str());
    assert_eq!(body["role_assignments"][0]["scope"]["domain"]["id"], d_group.as_str());

    let (_, body) = call(Method::GET, format!("{ks}/auth/domains"), &alt_token, None).await;
    let mut ids: Vec<&str> = body["domains"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut want = [d_user.as_str(), d_group.as_str()];
    want.sort();
    assert_eq!(ids, want);

    // Leaving the group and revoking the grant empty it again.
    assert_eq!(call(Method::DELETE, member.clone(), &admin, None).await.0, StatusCode::NO_CONTENT);
    let (status, body) = call(Method::DELETE, member, &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(message(&body), format!("User '{user}' not found in group '{group}'"));
    assert_eq!(call(Method::DELETE, grant, &admin, None).await.0, StatusCode::NO_CONTENT);
    let (_, body) = call(Method::GET, format!("{ks}/auth/domains"), &alt_token, None).await;
    assert_eq!(body["domains"], json!([]));
    assert_eq!(call(Method::DELETE, format!("{ks}/groups/{group}"), &admin, None).await.0, StatusCode::NO_CONTENT);
    let (status, body) = call(Method::GET, format!("{ks}/groups/{group}"), &admin, None).await;
    assert_eq!((status, message(&body).to_owned()), (StatusCode::NOT_FOUND, format!("Could not find group: {group}.")));
    // An unknown kind of actor is werkzeug's 404.
    let (status, _) = call(Method::GET, format!("{ks}/domains/{d_user}/robots/{user}/roles"), &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn credentials_are_created_updated_and_deleted() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let ks = cloud.endpoints.identity.clone();
    let demo = Session::authenticate(&cloud.credentials("demo").unwrap()).await.unwrap().token().clone();
    let (user, project) = (demo.user.id.clone(), demo.project.clone().unwrap().id);
    let blob = r#"{"access": "AK1", "secret": "S1"}"#;
    let body = json!({"credential": {"user_id": user, "project_id": project, "type": "ec2", "blob": blob}});
    let (status, body) = call(Method::POST, format!("{ks}/credentials"), &admin, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let c = &body["credential"];
    let id = c["id"].as_str().unwrap().to_owned();
    // An ec2 credential's id is the SHA-256 of its access key; the blob comes back as given.
    assert_eq!(id, "5e2e84497339a607cff12f20eab85a14f7bad4da010e4fedc95381144fa3933d");
    assert_eq!((c["blob"].as_str(), c["type"].as_str(), c["project_id"].as_str()), (Some(blob), Some("ec2"), Some(project.as_str())));
    assert_eq!(c["links"]["self"], format!("{ks}/credentials/{id}"));
    // The same access key again: 409.
    let again = json!({"credential": {"user_id": user, "project_id": project, "type": "ec2", "blob": blob}});
    let (status, body) = call(Method::POST, format!("{ks}/credentials"), &admin, Some(again)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(message(&body), format!("Conflict occurred attempting to store credential - Duplicate entry found with ID {id}."));
    // An ec2 blob without `access`: 400.
    let bad = json!({"credential": {"user_id": user, "project_id": project, "type": "ec2", "blob": "{\"secret\": \"x\"}"}});
    let (status, body) = call(Method::POST, format!("{ks}/credentials"), &admin, Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).starts_with("Expecting to find access in credential."), "{body}");
    // The EC2 API finds it by its access key.
    let (status, body) = call(Method::GET, format!("{ks}/users/{user}/credentials/OS-EC2/AK1"), &admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["credential"]["secret"], "S1");

    let new_blob = r#"{"access": "AK2", "secret": "S2"}"#;
    let (status, body) =
        call(Method::PATCH, format!("{ks}/credentials/{id}"), &admin, Some(json!({"credential": {"blob": new_blob}}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["credential"]["id"].as_str(), body["credential"]["blob"].as_str()), (Some(id.as_str()), Some(new_blob)));
    let (_, body) = call(Method::GET, format!("{ks}/credentials/{id}"), &admin, None).await;
    assert_eq!(body["credential"]["blob"], new_blob);
    let (_, body) = call(Method::GET, format!("{ks}/credentials?user_id={user}"), &admin, None).await;
    assert!(body["credentials"].as_array().unwrap().iter().any(|c| c["id"] == id.as_str()));
    // Another user sees none of them, and may not read it.
    let alt = token(&cloud, "alt_demo").await;
    let (_, body) = call(Method::GET, format!("{ks}/credentials"), &alt, None).await;
    assert_eq!(body["credentials"], json!([]));
    let (status, body) = call(Method::GET, format!("{ks}/credentials/{id}"), &alt, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(message(&body), "You are not authorized to perform the requested action: identity:get_credential.");

    assert_eq!(call(Method::DELETE, format!("{ks}/credentials/{id}"), &admin, None).await.0, StatusCode::NO_CONTENT);
    let (status, body) = call(Method::GET, format!("{ks}/credentials/{id}"), &admin, None).await;
    assert_eq!((status, message(&body).to_owned()), (StatusCode::NOT_FOUND, format!("Could not find credential: {id}.")));
}

/// A user and project in a created domain: found by the domain's name at login, and the token
/// names that domain.
#[tokio::test]
async fn tokens_name_the_domains_of_their_user_and_project() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let ks = cloud.endpoints.identity.clone();
    let (_, body) = call(Method::POST, format!("{ks}/domains"), &admin, Some(json!({"domain": {"name": "elsewhere"}}))).await;
    let domain = body["domain"]["id"].as_str().unwrap().to_owned();
    let (_, body) =
        call(Method::POST, format!("{ks}/projects"), &admin, Some(json!({"project": {"name": "far", "domain_id": domain}}))).await;
    let project = body["project"]["id"].as_str().unwrap().to_owned();
    let user = json!({"user": {"name": "faraway", "password": "pw-far", "domain_id": domain}});
    let (_, body) = call(Method::POST, format!("{ks}/users"), &admin, Some(user)).await;
    let user = body["user"]["id"].as_str().unwrap().to_owned();
    let (_, body) = call(Method::GET, format!("{ks}/roles?name=member"), &admin, None).await;
    let member = body["roles"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call(Method::PUT, format!("{ks}/projects/{project}/users/{user}/roles/{member}"), &admin, None).await.0,
        StatusCode::NO_CONTENT
    );
    let auth = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "faraway", "domain": {"name": "elsewhere"}, "password": "pw-far"}}},
        "scope": {"project": {"name": "far", "domain": {"name": "elsewhere"}}}}});
    let r = sigstack_client::session::http_client().post(format!("{ks}/auth/tokens")).json(&auth).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token"]["user"]["domain"], json!({"id": domain, "name": "elsewhere"}));
    assert_eq!(body["token"]["project"]["domain"], json!({"id": domain, "name": "elsewhere"}));
    // The same names in the Default domain do not exist.
    let wrong = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "faraway", "domain": {"name": "Default"}, "password": "pw-far"}}}}});
    let r = sigstack_client::session::http_client().post(format!("{ks}/auth/tokens")).json(&wrong).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
