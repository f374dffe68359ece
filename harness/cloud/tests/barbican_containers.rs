//! Barbican containers over HTTP: create, show, list with paging, delete, a generic
//! container's secrets, consumers and read ACLs, with Barbican 23's statuses and messages.

mod barbican_common;

use barbican_common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_cloud::CloudHandle;

fn containers_url(cloud: &CloudHandle) -> String {
    format!("{}/v1/containers", cloud.endpoints.key_manager)
}

async fn send(method: Method, url: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = http().request(method, url).header("X-Auth-Token", token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// `POST /v1/containers` that must succeed; returns the `container_ref`.
async fn create_container(cloud: &CloudHandle, token: &str, body: Value) -> String {
    let r = send(Method::POST, &containers_url(cloud), token, Some(body)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["container_ref"], location.as_str());
    location
}

async fn json_of(r: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(r.status(), status);
    r.json().await.unwrap()
}

#[tokio::test]
async fn containers_are_created_shown_listed_and_deleted() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let secret = create(&cloud, &admin, text_secret("k", "p")).await;
    let first = create_container(&cloud, &admin, json!({"type": "generic", "name": "empty"})).await;
    let second =
        create_container(&cloud, &admin, json!({"type": "generic", "name": "full", "secret_refs": [{"name": "a", "secret_ref": secret}]}))
            .await;

    let shown = json_of(send(Method::GET, &second, &admin, None).await, StatusCode::OK).await;
    let keys: Vec<&str> = shown.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["created", "updated", "status", "name", "type", "creator_id", "secret_refs", "consumers", "container_ref"]);
    assert_eq!(shown["status"], "ACTIVE");
    assert_eq!(shown["secret_refs"], json!([{"name": "a", "secret_ref": secret}]));
    assert_eq!(shown["consumers"], json!([]));
    assert_eq!(shown["container_ref"], second.as_str());

    // Paging: `limit`, `offset`, `total`, `next`/`previous` to /v1/containers.
    let url = format!("{}?limit=1&offset=1", containers_url(&cloud));
    let page = json_of(send(Method::GET, &url, &admin, None).await, StatusCode::OK).await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["containers"][0]["container_ref"], second.as_str());
    assert_eq!(page["previous"], format!("{}?limit=1&offset=0", containers_url(&cloud)));
    assert!(page.get("next").is_none());
    let url = format!("{}?name=empty", containers_url(&cloud));
    let page = json_of(send(Method::GET, &url, &admin, None).await, StatusCode::OK).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["containers"][0]["container_ref"], first.as_str());
    let url = format!("{}?type=rsa", containers_url(&cloud));
    assert_eq!(json_of(send(Method::GET, &url, &admin, None).await, StatusCode::OK).await, json!({"containers": [], "total": 0}));

    let r = send(Method::DELETE, &first, &admin, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_error(send(Method::GET, &first, &admin, None).await, 404, "Not Found", "Secrets container not found.").await;
    let bad = format!("{}/not-a-uuid", containers_url(&cloud));
    assert_error(send(Method::GET, &bad, &admin, None).await, 404, "Not Found", "Not Found. Provided container id is invalid.").await;
    // Lookup first, then pecan's bare 405.
    let r = send(Method::PUT, &second, &admin, Some(json!({}))).await;
    assert_eq!(json_of(r, StatusCode::METHOD_NOT_ALLOWED).await["description"], "");
    // The secret stays when its container goes; deleting the secret drops the reference.
    let r = send(Method::DELETE, &secret, &admin, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(json_of(send(Method::GET, &second, &admin, None).await, StatusCode::OK).await["secret_refs"], json!([]));
}

#[tokio::test]
async fn container_requests_are_validated_like_barbican() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let url = containers_url(&cloud);
    let schema = |reason: &str, property: &str| {
        format!("Provided object does not match schema 'Container': {reason}. Invalid property: '{property}'")
    };
    let r = send(Method::POST, &url, &admin, Some(json!({"name": "x"}))).await;
    assert_error(r, 400, "Bad Request", &schema("'type' is a required property", "None")).await;
    let r = send(Method::POST, &url, &admin, Some(json!({"type": "dsa"}))).await;
    assert_error(r, 400, "Bad Request", &schema("'dsa' is not one of ['generic', 'rsa', 'certificate']", "type")).await;
    let secret = create(&cloud, &admin, text_secret("k", "p")).await;
    let body = json!({"type": "rsa", "secret_refs": [{"name": "public_key", "secret_ref": secret}]});
    let r = send(Method::POST, &url, &admin, Some(body)).await;
    let message = schema("The minimum required reference names are 'public_key' and'private_key' for RSA type", "secret_refs");
    assert_error(r, 400, "Bad Request", &message).await;
    let body = json!({"type": "generic", "secret_refs": [{"name": "a", "secret_ref": "http://elsewhere/v1/secrets/x"}]});
    assert_error(send(Method::POST, &url, &admin, Some(body)).await, 400, "Bad Request", "Provided field value is not supported").await;
    let missing = format!("{secret}0");
    let body = json!({"type": "generic", "secret_refs": [{"name": "a", "secret_ref": missing}]});
    assert_error(send(Method::POST, &url, &admin, Some(body)).await, 404, "Not Found", "Secret provided for 'a' doesn't exist.").await;
    // Another project's secret is not found either.
    let demo = token(&cloud, "demo").await;
    grant(&cloud, "demo", "demo", "creator").await;
    let body = json!({"type": "generic", "secret_refs": [{"secret_ref": secret}]});
    assert_error(send(Method::POST, &url, &demo, Some(body)).await, 404, "Not Found", "Secret provided for 'None' doesn't exist.").await;
    let r = http().post(&url).header("X-Auth-Token", &admin).header("Content-Type", "text/plain").body("{}").send().await.unwrap();
    assert_error(r, 415, "Unsupported Media Type", "Unexpected content type. Expected content types are: ['application/json']").await;
}

#[tokio::test]
async fn generic_containers_take_and_give_back_secrets() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let container = create_container(&cloud, &admin, json!({"type": "generic"})).await;
    let secret = create(&cloud, &admin, text_secret("k", "p")).await;
    let secrets = format!("{container}/secrets");
    let r = send(Method::POST, &secrets, &admin, Some(json!({"name": "one", "secret_ref": secret}))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["location"], container.as_str());
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"container_ref": container}));
    let r = send(Method::POST, &secrets, &admin, Some(json!({"name": "one", "secret_ref": secret}))).await;
    let conflict = "Conflict. A secret with that name and ID is already stored in this container. The same secret can exist in a container as long as the name is unique.";
    assert_error(r, 409, "Conflict", conflict).await;
    let shown = json_of(send(Method::GET, &container, &admin, None).await, StatusCode::OK).await;
    assert_eq!(shown["secret_refs"], json!([{"name": "one", "secret_ref": secret}]));

    let r = send(Method::DELETE, &secrets, &admin, Some(json!({"name": "one", "secret_ref": secret}))).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = send(Method::DELETE, &secrets, &admin, Some(json!({"name": "one", "secret_ref": secret}))).await;
    assert_error(r, 404, "Not Found", "Secret provided is not in the container").await;
    let r = send(Method::POST, &secrets, &admin, Some(json!({"name": "x"}))).await;
    let message = "Provided object does not match schema 'ContainerSecret': 'secret_ref' is a required property. Invalid property: 'None'";
    assert_error(r, 400, "Bad Request", message).await;

    let public = create(&cloud, &admin, text_secret("pub", "p")).await;
    let private = create(&cloud, &admin, text_secret("priv", "p")).await;
    let body = json!({"type": "rsa", "secret_refs": [{"name": "public_key", "secret_ref": public}, {"name": "private_key", "secret_ref": private}]});
    let rsa = create_container(&cloud, &admin, body).await;
    let r = send(Method::POST, &format!("{rsa}/secrets"), &admin, Some(json!({"secret_ref": secret}))).await;
    assert_error(r, 400, "Bad Request", "Only 'generic' containers can be modified.").await;
}

#[tokio::test]
async fn container_consumers_register_idempotently() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let container = create_container(&cloud, &admin, json!({"type": "generic", "name": "c"})).await;
    let consumers = format!("{container}/consumers");
    assert_eq!(json_of(send(Method::GET, &consumers, &admin, None).await, StatusCode::OK).await, json!({"consumers": [], "total": 0}));
    for _ in 0..2 {
        let r = send(Method::POST, &consumers, &admin, Some(json!({"name": "lb", "URL": "http://lb/1"}))).await;
        let body = json_of(r, StatusCode::OK).await;
        assert_eq!(body["container_ref"], container.as_str());
        assert_eq!(body["consumers"], json!([{"name": "lb", "URL": "http://lb/1"}]));
    }
    let listed = json_of(send(Method::GET, &consumers, &admin, None).await, StatusCode::OK).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["consumers"][0]["status"], "ACTIVE");
    assert_eq!(listed["consumers"][0]["URL"], "http://lb/1");
    let r = send(Method::POST, &consumers, &admin, Some(json!({"name": "lb"}))).await;
    let message = "Provided object does not match schema 'Consumer': 'URL' is a required property. Invalid property: 'None'";
    assert_error(r, 400, "Bad Request", message).await;
    let r = send(Method::DELETE, &consumers, &admin, Some(json!({"name": "lb", "URL": "http://lb/1"}))).await;
    assert_eq!(json_of(r, StatusCode::OK).await["consumers"], json!([]));
    let r = send(Method::DELETE, &consumers, &admin, Some(json!({"name": "lb", "URL": "http://lb/1"}))).await;
    assert_error(r, 404, "Not Found", "Consumer not found.").await;
}

async fn enable_new_defaults(cloud: &CloudHandle) {
    let url = format!("{}/_sim/deployment", cloud.endpoints.image);
    let r = cloud.control_http().patch(url).json(&json!({"barbican": {"enforce_new_defaults": true}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn container_policy_and_acls() {
    let cloud = cloud().await;
    // Legacy: creating needs admin or creator.
    let demo = token(&cloud, "demo").await;
    let r = send(Method::POST, &containers_url(&cloud), &demo, Some(json!({"type": "generic"}))).await;
    assert_forbidden(r, "Container creation").await;

    enable_new_defaults(&cloud).await;
    let container = create_container(&cloud, &demo, json!({"type": "generic", "name": "mine"})).await;
    // alt_demo: member of demo too (another member), then reader only elsewhere.
    grant(&cloud, "alt_demo", "demo", "member").await;
    let other_member = session_in(&cloud, "alt_demo", "demo").await.token().value.clone();
    assert_eq!(send(Method::GET, &container, &other_member, None).await.status(), StatusCode::OK);
    let acl = format!("{container}/acl");
    assert_eq!(json_of(send(Method::GET, &acl, &demo, None).await, StatusCode::OK).await, json!({"read": {"project-access": true}}));
    let r = send(Method::PUT, &acl, &demo, Some(json!({"read": {"project-access": false, "users": []}}))).await;
    assert_eq!(json_of(r, StatusCode::OK).await, json!({"acl_ref": acl}));
    // Private now: the other member is refused, the creator is not.
    assert_forbidden(send(Method::GET, &container, &other_member, None).await, "Container retrieval").await;
    assert_forbidden(send(Method::DELETE, &container, &other_member, None).await, "Container deletion").await;
    assert_forbidden(send(Method::GET, &acl, &other_member, None).await, "ContainerACL(s) retrieval").await;
    // A user in the read ACL reads it from another project.
    let alt = token(&cloud, "alt_demo").await;
    let alt_user = keystone_id(&cloud, &token(&cloud, "admin").await, "users", "alt_demo").await;
    let r = send(Method::PATCH, &acl, &demo, Some(json!({"read": {"users": [alt_user]}}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let read = json_of(send(Method::GET, &acl, &demo, None).await, StatusCode::OK).await;
    assert_eq!(read["read"]["project-access"], false);
    assert_eq!(read["read"]["users"], json!([alt_user]));
    assert_eq!(send(Method::GET, &container, &alt, None).await.status(), StatusCode::OK);
    assert_forbidden(send(Method::DELETE, &container, &alt, None).await, "Container deletion").await;
    let r = send(Method::DELETE, &acl, &demo, None).await;
    assert_eq!(json_of(r, StatusCode::OK).await, Value::Null);
    assert_eq!(send(Method::GET, &container, &other_member, None).await.status(), StatusCode::OK);
    assert_eq!(send(Method::DELETE, &container, &other_member, None).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn container_sub_resources_answer_like_pecan() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let container = create_container(&cloud, &admin, json!({"type": "generic"})).await;
    // An unknown sub-resource: GET and DELETE fail in the controller (500), others find no route.
    let bogus = format!("{container}/bogus");
    let failure = |op: &str| format!("{op} failure seen - please contact site administrator.");
    assert_error(send(Method::GET, &bogus, &admin, None).await, 500, "Internal Server Error", &failure("Container retrieval")).await;
    assert_error(send(Method::DELETE, &bogus, &admin, None).await, 500, "Internal Server Error", &failure("Container deletion")).await;
    let r = send(Method::PUT, &bogus, &admin, Some(json!({}))).await;
    assert_eq!(json_of(r, StatusCode::NOT_FOUND).await, json!({"code": 404, "title": "Not Found", "description": null}));
    // `GET .../secrets` is pecan's bare 405.
    let r = send(Method::GET, &format!("{container}/secrets"), &admin, None).await;
    assert_eq!(json_of(r, StatusCode::METHOD_NOT_ALLOWED).await, json!({"code": 405, "title": "Method Not Allowed", "description": ""}));
    // One consumer by id: ids are never shown, a well-formed one is not found.
    let one = format!("{container}/consumers/{}", uuid::Uuid::new_v4());
    assert_error(send(Method::GET, &one, &admin, None).await, 404, "Not Found", "Consumer not found.").await;
    let bad = format!("{container}/consumers/abc");
    assert_error(send(Method::GET, &bad, &admin, None).await, 404, "Not Found", "Not Found. Provided consumer id is invalid.").await;
    assert_error(send(Method::POST, &one, &admin, Some(json!({}))).await, 405, "Method Not Allowed", "").await;
    let secret = create(&cloud, &admin, text_secret("k", "p")).await;
    let one = format!("{secret}/consumers/{}", uuid::Uuid::new_v4());
    assert_error(send(Method::GET, &one, &admin, None).await, 404, "Not Found", "Consumer not found.").await;
    // Unknown paths and methods: pecan's bare 404 and 405.
    let base = cloud.endpoints.key_manager.clone();
    assert_error(send(Method::GET, &format!("{base}/v1/bogus"), &admin, None).await, 404, "Not Found", "").await;
    assert_error(send(Method::PUT, &format!("{base}/v1/quotas"), &admin, Some(json!({}))).await, 405, "Method Not Allowed", "").await;
}
