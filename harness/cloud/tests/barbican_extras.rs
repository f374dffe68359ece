//! Barbican secret metadata, secret consumers (microversions 1.1 and 1.2), quotas, transport
//! keys and `[oslo_policy] enforce_scope` over HTTP, with Barbican 23's statuses and messages.

mod barbican_common;

use barbican_common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_cloud::CloudHandle;

async fn send(method: Method, url: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    send_at(method, url, token, body, None).await
}

async fn send_at(method: Method, url: &str, token: &str, body: Option<Value>, version: Option<&str>) -> reqwest::Response {
    let mut request = http().request(method, url).header("X-Auth-Token", token);
    if let Some(v) = version {
        request = request.header("OpenStack-API-Version", format!("key-manager {v}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn json_of(r: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(r.status(), status);
    r.json().await.unwrap()
}

async fn patch_deployment(cloud: &CloudHandle, barbican: Value) {
    let url = format!("{}/_sim/deployment", cloud.endpoints.image);
    let r = cloud.control_http().patch(url).json(&json!({"barbican": barbican})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn secret_metadata_put_post_get_update_delete() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let secret = create(&cloud, &admin, text_secret("k", "p")).await;
    let metadata = format!("{secret}/metadata");
    let r = send(Method::PUT, &metadata, &admin, Some(json!({"metadata": {"Description": "aes", "geo": "here"}}))).await;
    assert_eq!(json_of(r, StatusCode::CREATED).await, json!({"metadata_ref": metadata}));
    let got = json_of(send(Method::GET, &metadata, &admin, None).await, StatusCode::OK).await;
    assert_eq!(got, json!({"metadata": {"description": "aes", "geo": "here"}}));

    let r = send(Method::POST, &metadata, &admin, Some(json!({"key": "extra", "value": "v"}))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("{metadata}/extra"));
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"key": "extra", "value": "v"}));
    let r = send(Method::POST, &metadata, &admin, Some(json!({"key": "extra", "value": "w"}))).await;
    assert_error(r, 409, "Conflict", "Conflict. Key in request is already in the secret metadata").await;

    let key = format!("{metadata}/extra");
    assert_eq!(json_of(send(Method::GET, &key, &admin, None).await, StatusCode::OK).await, json!({"key": "extra", "value": "v"}));
    let r = send(Method::PUT, &key, &admin, Some(json!({"key": "extra", "value": "new"}))).await;
    assert_eq!(json_of(r, StatusCode::OK).await, json!({"key": "extra", "value": "new"}));
    let r = send(Method::PUT, &key, &admin, Some(json!({"key": "other", "value": "new"}))).await;
    assert_error(r, 409, "Conflict", "Key in request data does not match key in the ").await;
    let r = send(Method::PUT, &format!("{metadata}/nope"), &admin, Some(json!({"key": "nope", "value": "x"}))).await;
    assert_error(r, 404, "Not Found", "Secret metadata not found.").await;
    assert_error(send(Method::GET, &format!("{metadata}/nope"), &admin, None).await, 404, "Not Found", "Secret metadata not found.").await;
    assert_eq!(send(Method::DELETE, &key, &admin, None).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(send(Method::DELETE, &key, &admin, None).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(json_of(send(Method::GET, &metadata, &admin, None).await, StatusCode::OK).await["metadata"].as_object().unwrap().len(), 2);
    assert_eq!(send(Method::POST, &key, &admin, Some(json!({}))).await.status(), StatusCode::METHOD_NOT_ALLOWED);

    let r = send(Method::PUT, &metadata, &admin, Some(json!({"metadata": {"a b": "x"}}))).await;
    assert_error(r, 400, "Bad Request", "Invalid Key. Key must be URL safe.").await;
    let r = send(Method::PUT, &metadata, &admin, Some(json!({"metadata": {"a": 1}}))).await;
    assert_error(r, 400, "Bad Request", "Invalid Metadata. Keys and Values must be Strings.").await;
    let r = send(Method::PUT, &metadata, &admin, Some(json!({}))).await;
    let message = "Provided object does not match schema 'SecretMetadata': 'metadata' is a required property. Invalid property: 'metadata'";
    assert_error(r, 400, "Bad Request", message).await;

    // Legacy policy: another project's admin is refused.
    let demo = token(&cloud, "demo").await;
    assert_forbidden(send(Method::GET, &metadata, &demo, None).await, "Secret metadata retrieval").await;
    assert_forbidden(send(Method::PUT, &key, &demo, Some(json!({"key": "extra", "value": "x"}))).await, "Secret metadatum update").await;
}

#[tokio::test]
async fn secret_consumers_and_deletion_from_1_2() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let secret = create(&cloud, &admin, text_secret("k", "p")).await;
    let consumers = format!("{secret}/consumers");
    assert_eq!(json_of(send(Method::GET, &consumers, &admin, None).await, StatusCode::OK).await, json!({"consumers": [], "total": 0}));
    let consumer = json!({"service": "image", "resource_type": "image", "resource_id": "abc"});
    for _ in 0..2 {
        let r = send_at(Method::POST, &consumers, &admin, Some(consumer.clone()), Some("1.1")).await;
        let body = json_of(r, StatusCode::OK).await;
        assert_eq!(body["secret_ref"], secret.as_str());
        assert_eq!(body["consumers"], json!([consumer]));
    }
    // Secrets list their consumers from 1.1, not at 1.0.
    let shown = json_of(send_at(Method::GET, &secret, &admin, None, Some("1.1")).await, StatusCode::OK).await;
    assert_eq!(shown["consumers"], json!([consumer]));
    assert!(json_of(send(Method::GET, &secret, &admin, None).await, StatusCode::OK).await.get("consumers").is_none());
    let listed = json_of(send(Method::GET, &consumers, &admin, None).await, StatusCode::OK).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["consumers"][0]["service"], "image");
    let r = send(Method::POST, &consumers, &admin, Some(json!({"service": "image", "resource_type": "image"}))).await;
    let message = "Provided object does not match schema 'Secret Consumer': 'resource_id' is a required property. Invalid property: 'None'";
    assert_error(r, 400, "Bad Request", message).await;

    // From 1.2 a secret with consumers is kept unless forced.
    let r = send_at(Method::DELETE, &secret, &admin, None, Some("1.2")).await;
    assert_error(r, 400, "Bad Request", "Secret deletion issue seen - Secret cannot be deleted as it has consumers..").await;
    let r = send_at(Method::DELETE, &format!("{secret}?force=maybe"), &admin, None, Some("1.2")).await;
    assert_error(r, 400, "Bad Request", "URI provided invalid query string parameters.").await;
    let r = send(Method::DELETE, &consumers, &admin, Some(consumer.clone())).await;
    assert_eq!(json_of(r, StatusCode::OK).await["consumers"], json!([]));
    let r = send(Method::DELETE, &consumers, &admin, Some(consumer.clone())).await;
    assert_error(r, 404, "Not Found", "Consumer not found.").await;
    send(Method::POST, &consumers, &admin, Some(consumer.clone())).await;
    let r = send_at(Method::DELETE, &format!("{secret}?force=true"), &admin, None, Some("1.2")).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn quotas_under_the_legacy_policy() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let base = cloud.endpoints.key_manager.clone();
    let quotas = json_of(send(Method::GET, &format!("{base}/v1/quotas"), &admin, None).await, StatusCode::OK).await;
    assert_eq!(quotas, json!({"quotas": {"secrets": -1, "orders": -1, "containers": -1, "consumers": -1, "cas": -1}}));
    // `project_quotas:*` is `rule:service_admin` (role key-manager:service-admin).
    assert_forbidden(send(Method::GET, &format!("{base}/v1/project-quotas"), &admin, None).await, "Project Quotas").await;
    let r = http().post(format!("{}/roles", cloud.endpoints.identity)).header("X-Auth-Token", &admin);
    let r = r.json(&json!({"role": {"name": "key-manager:service-admin"}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    grant(&cloud, "admin", "admin", "key-manager:service-admin").await;
    let demo = token(&cloud, "demo").await;
    let demo_project = keystone_id(&cloud, &admin, "projects", "demo").await;
    let project_url = format!("{base}/v1/project-quotas/{demo_project}");
    assert_error(send(Method::GET, &project_url, &admin, None).await, 404, "Not Found", "Project quotas not found.").await;
    let r = send(Method::PUT, &project_url, &admin, Some(json!({"project_quotas": {"secrets": 1, "orders": 0}}))).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let got = json_of(send(Method::GET, &project_url, &admin, None).await, StatusCode::OK).await;
    assert_eq!(got, json!({"project_quotas": {"secrets": 1, "orders": 0, "containers": null, "consumers": null, "cas": null}}));
    let listed = json_of(send(Method::GET, &format!("{base}/v1/project-quotas"), &admin, None).await, StatusCode::OK).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["project_quotas"][0]["project_id"], demo_project.as_str());
    let r = send(Method::PUT, &project_url, &admin, Some(json!({"project_quotas": {"keys": 1}}))).await;
    let message = "Provided object does not match schema 'Project Quota': Additional properties are not allowed ('keys' was unexpected). Invalid property: 'project_quotas'";
    assert_error(r, 400, "Bad Request", message).await;

    // The quota is enforced: one secret, then 403; orders disabled.
    grant(&cloud, "demo", "demo", "creator").await;
    let effective = json_of(send(Method::GET, &format!("{base}/v1/quotas"), &demo, None).await, StatusCode::OK).await;
    assert_eq!(effective["quotas"]["secrets"], 1);
    assert_eq!(effective["quotas"]["containers"], -1);
    create(&cloud, &demo, text_secret("one", "p")).await;
    let r = send(Method::POST, &secrets_url(&cloud), &demo, Some(text_secret("two", "p"))).await;
    assert_error(r, 403, "Forbidden", "Secret creation issue seen - Creation not allowed because a quota has been reached.").await;
    let order = json!({"type": "key", "meta": {"algorithm": "aes", "bit_length": 256}});
    let r = send(Method::POST, &format!("{base}/v1/orders"), &demo, Some(order)).await;
    assert_error(r, 403, "Forbidden", "Order creation issue seen - Creation not allowed because a quota has been reached.").await;

    assert_eq!(send(Method::DELETE, &project_url, &admin, None).await.status(), StatusCode::NO_CONTENT);
    assert_error(send(Method::DELETE, &project_url, &admin, None).await, 404, "Not Found", "Project quotas not found.").await;
    create(&cloud, &demo, text_secret("two", "p")).await;
}

/// A system-scoped token for the seeded admin (with the admin role on the system).
async fn system_token(cloud: &CloudHandle) -> String {
    let admin = token(cloud, "admin").await;
    let user = keystone_id(cloud, &admin, "users", "admin").await;
    let role = keystone_id(cloud, &admin, "roles", "admin").await;
    let url = format!("{}/system/users/{user}/roles/{role}", cloud.endpoints.identity);
    let r = http().put(url).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let password = cloud.admin().password;
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"id": user, "password": password}}},
        "scope": {"system": {"all": true}},
    }});
    let r = http().post(format!("{}/auth/tokens", cloud.endpoints.identity)).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.headers()["x-subject-token"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn new_defaults_with_enforce_scope_refuse_system_tokens() {
    let cloud = cloud().await;
    let base = cloud.endpoints.key_manager.clone();
    patch_deployment(&cloud, json!({"enforce_new_defaults": true})).await;
    let system = system_token(&cloud).await;
    // Without enforce_scope the token's roles decide: `project_quotas:get` is `role:admin`.
    let listed = json_of(send(Method::GET, &format!("{base}/v1/project-quotas"), &system, None).await, StatusCode::OK).await;
    assert_eq!(listed, json!({"project_quotas": [], "total": 0}));

    patch_deployment(&cloud, json!({"enforce_scope": true})).await;
    assert_forbidden(send(Method::GET, &format!("{base}/v1/containers"), &system, None).await, "Containers(s) retrieval").await;
    assert_forbidden(send(Method::GET, &secrets_url(&cloud), &system, None).await, "Secret(s) retrieval").await;
    assert_forbidden(send(Method::GET, &format!("{base}/v1/quotas"), &system, None).await, "Quotas").await;
    assert_forbidden(send(Method::GET, &format!("{base}/v1/project-quotas"), &system, None).await, "Project Quotas").await;
    assert_forbidden(send(Method::GET, &format!("{base}/v1/orders"), &system, None).await, "Order(s) retrieval").await;
    // Project-scoped members are not affected.
    let demo = token(&cloud, "demo").await;
    let secret = create(&cloud, &demo, text_secret("k", "p")).await;
    assert_forbidden(send(Method::GET, &format!("{secret}/metadata"), &system, None).await, "Secret metadata retrieval").await;
    assert_eq!(send(Method::GET, &format!("{secret}/metadata"), &demo, None).await.status(), StatusCode::OK);
    // New defaults: quotas:get is role:reader, project_quotas:* role:admin.
    assert_eq!(send(Method::GET, &format!("{base}/v1/quotas"), &demo, None).await.status(), StatusCode::OK);
    assert_forbidden(send(Method::GET, &format!("{base}/v1/project-quotas"), &demo, None).await, "Project Quotas").await;
}

#[tokio::test]
async fn transport_keys_list_and_create() {
    let cloud = cloud().await;
    let base = cloud.endpoints.key_manager.clone();
    let url = format!("{base}/v1/transport_keys");
    patch_deployment(&cloud, json!({"enforce_new_defaults": true})).await;
    let demo = token(&cloud, "demo").await;
    assert_eq!(json_of(send(Method::GET, &url, &demo, None).await, StatusCode::OK).await, json!({"transport_keys": [], "total": 0}));
    let key = json!({"plugin_name": "simple-crypto", "transport_key": "k"});
    assert_forbidden(send(Method::POST, &url, &demo, Some(key.clone())).await, "Transport Key Creation").await;
    let admin = token(&cloud, "admin").await;
    let r = send(Method::POST, &url, &admin, Some(key)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created = r.json::<Value>().await.unwrap()["transport_key_ref"].as_str().unwrap().to_owned();
    assert!(created.starts_with(&format!("{url}/")), "{created}");
    let listed = json_of(send(Method::GET, &url, &demo, None).await, StatusCode::OK).await;
    assert_eq!(listed, json!({"transport_keys": [created], "total": 1}));
    let r = send(Method::POST, &url, &admin, Some(json!({"plugin_name": "p"}))).await;
    let message =
        "Provided object does not match schema 'Transport Key': transport_key must be provided. Invalid property: 'transport_key'";
    assert_error(r, 400, "Bad Request", message).await;
}

#[tokio::test]
async fn secret_paging_links_keep_the_filters() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    for _ in 0..3 {
        create(&cloud, &admin, text_secret("a key", "p")).await;
    }
    let url = format!("{}?name=a+key&limit=1&offset=1&sort=created:desc", secrets_url(&cloud));
    let page = json_of(send(Method::GET, &url, &admin, None).await, StatusCode::OK).await;
    assert_eq!(page["total"], 3);
    let base = secrets_url(&cloud);
    assert_eq!(page["previous"], format!("{base}?limit=1&offset=0&name=a+key&sort=created%3Adesc"));
    assert_eq!(page["next"], format!("{base}?limit=1&offset=2&name=a+key&sort=created%3Adesc"));
}
