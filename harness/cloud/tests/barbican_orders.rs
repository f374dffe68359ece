//! Barbican's key orders over HTTP: `POST /v1/orders` (202, `order_ref`, ACTIVE at once with
//! a generated symmetric secret), show, list, delete, the legacy and secure-RBAC policies,
//! `TypeOrderValidator`'s messages, and castellan's `create_key` in the client.

mod barbican_common;

use barbican_common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigstack_client::key_manager;

fn orders_url(cloud: &sigstack_cloud::CloudHandle) -> String {
    format!("{}/v1/orders", cloud.endpoints.key_manager)
}

fn key_order(bits: u32) -> Value {
    json!({"type": "key", "meta": {"name": "volume-key", "algorithm": "aes", "bit_length": bits, "mode": "cbc",
                                   "payload_content_type": "application/octet-stream"}})
}

/// `POST /v1/orders` that must succeed; returns the `order_ref` after checking `Location`.
async fn order(cloud: &sigstack_cloud::CloudHandle, token: &str, body: &Value) -> String {
    let r = http().post(orders_url(cloud)).header("X-Auth-Token", token).json(body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let order_ref = body["order_ref"].as_str().unwrap().to_owned();
    assert_eq!(location, order_ref);
    assert!(order_ref.starts_with(&format!("{}/", orders_url(cloud))), "{order_ref}");
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    order_ref
}

async fn get_json(url: &str, token: &str) -> (StatusCode, Value) {
    let r = http().get(url).header("X-Auth-Token", token).send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

async fn payload(secret_ref: &str, token: &str) -> reqwest::Response {
    http()
        .get(format!("{secret_ref}/payload"))
        .header("X-Auth-Token", token)
        .header("Accept", "application/octet-stream")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_key_order_is_active_at_once_with_a_random_symmetric_secret() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let token = admin.token().value.clone();
    let order_ref = order(&cloud, &token, &key_order(256)).await;

    let (status, body) = get_json(&order_ref, &token).await;
    assert_eq!(status, StatusCode::OK);
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["created", "creator_id", "meta", "order_ref", "secret_ref", "status", "sub_status", "sub_status_message", "type", "updated"]
    );
    assert_eq!(body["status"], "ACTIVE");
    assert_eq!(body["type"], "key");
    assert_eq!(body["order_ref"], order_ref.as_str());
    assert_eq!(body["creator_id"], admin.token().user.id.as_str());
    assert_eq!((body["sub_status"].as_str(), body["sub_status_message"].as_str()), (Some("Unknown"), Some("Unknown")));
    assert_eq!(
        body["meta"],
        json!({"name": "volume-key", "algorithm": "aes", "bit_length": 256, "mode": "cbc",
               "payload_content_type": "application/octet-stream", "expiration": null})
    );

    let secret_ref = body["secret_ref"].as_str().unwrap().to_owned();
    assert!(secret_ref.starts_with(&format!("{}/", secrets_url(&cloud))), "{secret_ref}");
    let (_, secret) = get_json(&secret_ref, &token).await;
    assert_eq!(secret["secret_type"], "symmetric");
    assert_eq!(secret["algorithm"], "aes");
    assert_eq!(secret["bit_length"], 256);
    assert_eq!(secret["mode"], "cbc");
    assert_eq!(secret["name"], "volume-key");
    assert_eq!(secret["creator_id"], admin.token().user.id.as_str());
    assert_eq!(secret["content_types"], json!({"default": "application/octet-stream"}));
    let key = payload(&secret_ref, &token).await.bytes().await.unwrap();
    assert_eq!(key.len(), 32);

    // Every order draws a fresh key, of the length asked.
    let other = order(&cloud, &token, &key_order(128)).await;
    let (_, other) = get_json(&other, &token).await;
    let other_key = payload(other["secret_ref"].as_str().unwrap(), &token).await.bytes().await.unwrap();
    assert_eq!(other_key.len(), 16);
    assert_ne!(&key[..16], &other_key[..]);
}

#[tokio::test]
async fn ordering_needs_admin_or_creator_and_orders_stay_in_their_project() {
    let cloud = cloud().await;
    let demo = token(&cloud, "demo").await;
    let r = http().post(orders_url(&cloud)).header("X-Auth-Token", &demo).json(&key_order(256)).send().await.unwrap();
    assert_forbidden(r, "Order creation").await;
    // The role check comes before the Content-Type check.
    let r = http().post(orders_url(&cloud)).header("X-Auth-Token", &demo).body("x").send().await.unwrap();
    assert_forbidden(r, "Order creation").await;
    let r = http().get(orders_url(&cloud)).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_forbidden(r, "Order(s) retrieval").await;
    let r = http().put(orders_url(&cloud)).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_forbidden(r, "Order update").await;

    grant(&cloud, "demo", "demo", "creator").await;
    let order_ref = order(&cloud, &demo, &key_order(256)).await;
    let (status, body) = get_json(&order_ref, &demo).await;
    assert_eq!(status, StatusCode::OK);
    let secret_ref = body["secret_ref"].as_str().unwrap().to_owned();
    assert_eq!(payload(&secret_ref, &demo).await.bytes().await.unwrap().len(), 32);
    // `order:delete` is admin-only in the legacy rules, even for the order's creator.
    let r = http().delete(&order_ref).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_forbidden(r, "Order deletion").await;

    // Orders are looked up in the caller's project: another project's is not found, even for
    // an admin.
    let not_found = "Order not found.";
    for user in ["alt_demo", "admin"] {
        let other = token(&cloud, user).await;
        let r = http().get(&order_ref).header("X-Auth-Token", &other).send().await.unwrap();
        assert_error(r, 404, "Not Found", not_found).await;
        let r = http().delete(&order_ref).header("X-Auth-Token", &other).send().await.unwrap();
        assert_error(r, 404, "Not Found", not_found).await;
    }
    let admin = token(&cloud, "admin").await;
    let (_, list) = get_json(&orders_url(&cloud), &admin).await;
    assert_eq!(list, json!({"orders": [], "total": 0}));
}

#[tokio::test]
async fn order_validation_messages_are_barbicans() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let post = |body: String| http().post(orders_url(&cloud)).header("X-Auth-Token", &admin).header("Content-Type", JSON).body(body);
    let order_schema =
        |reason: &str, property: &str| format!("Provided object does not match schema 'Order': {reason}. Invalid property: '{property}'");
    let meta_schema = |reason: &str, property: &str| {
        format!("Provided object does not match schema 'Secret' within 'Order': {reason}. Invalid property: '{property}'")
    };
    let meta = |extra: Value| {
        let mut m = json!({"algorithm": "aes", "bit_length": 256});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                m.as_object_mut().unwrap().remove(k);
            } else {
                m[k] = v.clone();
            }
        }
        json!({"type": "key", "meta": m}).to_string()
    };
    let cases: Vec<(String, String)> = vec![
        ("{".into(), "Malformed JSON".into()),
        ("[]".into(), "Provided object does not match schema 'Order': [] is not of type 'object'. Invalid property: 'None'".into()),
        (json!({"type": "key"}).to_string(), order_schema("'meta' is a required property", "meta")),
        (json!({"meta": {}}).to_string(), order_schema("'type' is a required property", "type")),
        (json!({"type": "key", "meta": "aes"}).to_string(), order_schema("'aes' is not of type 'object'", "meta")),
        (json!({"type": "symmetric", "meta": {}}).to_string(), order_schema("'symmetric' is not one of ['key', 'asymmetric']", "type")),
        (meta(json!({"algorithm": null})), order_schema("'algorithm' is required field for key type order", "meta")),
        (meta(json!({"algorithm": ""})), order_schema("'algorithm' is required field for key type order", "meta")),
        (meta(json!({"bit_length": null})), order_schema("'bit_length' is required field for key type order", "meta")),
        (meta(json!({"bit_length": 0})), meta_schema("0 is less than the minimum of 1", "bit_length")),
        (meta(json!({"bit_length": -8})), meta_schema("-8 is less than the minimum of 1", "bit_length")),
        (meta(json!({"bit_length": "256"})), meta_schema("'256' is not of type 'integer'", "bit_length")),
        (meta(json!({"bit_length": 100})), "Provided field value is not supported".into()),
        (
            meta(json!({"payload_content_type": "application/x-key"})),
            meta_schema(
                "payload_content_type is not one of ['text/plain', 'text/plain;charset=utf-8', 'text/plain; charset=utf-8', 'application/octet-stream', 'application/pkcs8']",
                "payload_content_type",
            ),
        ),
        (
            meta(json!({"payload": "AAAA", "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64"})),
            order_schema("'payload' not allowed for key type order", "meta"),
        ),
        (meta(json!({"expiration": "2001-01-01T00:00:00Z"})), meta_schema("'expiration' is before current time", "expiration")),
    ];
    for (body, description) in cases {
        let r = post(body.clone()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer, json!({"code": 400, "title": "Bad Request", "description": description}), "{body}");
    }
    let r = http()
        .post(orders_url(&cloud))
        .header("X-Auth-Token", &admin)
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(r, 415, "Unsupported Media Type", "Unexpected content type. Expected content types are: ['application/json']").await;
    // Nothing was created by the refused requests.
    let (_, list) = get_json(&orders_url(&cloud), &admin).await;
    assert_eq!(list["total"], 0);
    let (_, secrets) = get_json(&secrets_url(&cloud), &admin).await;
    assert_eq!(secrets["total"], 0);
}

#[tokio::test]
async fn unknown_orders_list_paging_and_delete() {
    let cloud = cloud().await;
    let admin = token(&cloud, "admin").await;
    let not_found = "Order not found.";
    for id in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".into()] {
        let r = http().get(format!("{}/{id}", orders_url(&cloud))).header("X-Auth-Token", &admin).send().await.unwrap();
        assert_error(r, 404, "Not Found", not_found).await;
    }

    let mut refs = Vec::new();
    for _ in 0..3 {
        refs.push(order(&cloud, &admin, &key_order(256)).await);
    }
    let (status, first) = get_json(&format!("{}?limit=2", orders_url(&cloud)), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["total"], 3);
    let listed: Vec<&str> = first["orders"].as_array().unwrap().iter().map(|o| o["order_ref"].as_str().unwrap()).collect();
    assert_eq!(listed, [refs[0].as_str(), refs[1].as_str()]);
    assert_eq!(first["next"], format!("{}?limit=2&offset=2", orders_url(&cloud)));
    assert!(first.get("previous").is_none());
    let (_, second) = get_json(&format!("{}?limit=2&offset=2", orders_url(&cloud)), &admin).await;
    assert_eq!(second["orders"].as_array().unwrap().len(), 1);
    assert_eq!(second["orders"][0]["status"], "ACTIVE");
    assert_eq!(second["previous"], format!("{}?limit=2&offset=0", orders_url(&cloud)));

    let (_, shown) = get_json(&refs[0], &admin).await;
    let secret_ref = shown["secret_ref"].as_str().unwrap().to_owned();
    let r = http().delete(&refs[0]).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = http().get(&refs[0]).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_error(r, 404, "Not Found", not_found).await;
    let r = http().delete(&refs[0]).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_error(r, 404, "Not Found", not_found).await;
    // The generated secret outlives its order.
    assert_eq!(payload(&secret_ref, &admin).await.status(), StatusCode::OK);
    let (_, list) = get_json(&orders_url(&cloud), &admin).await;
    assert_eq!(list["total"], 2);
    // Methods the order controller does not have.
    let r = http().patch(&refs[1]).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = http().put(orders_url(&cloud)).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_error(r, 405, "Method Not Allowed", "Order update is not supported.").await;
}

#[tokio::test]
async fn secure_rbac_lets_members_order_in_their_project() {
    let cloud = cloud().await;
    let url = format!("{}/_sim/deployment", cloud.endpoints.image);
    let r = cloud.control_http().patch(url).json(&json!({"barbican": {"enforce_new_defaults": true}})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let demo = token(&cloud, "demo").await;
    let order_ref = order(&cloud, &demo, &key_order(256)).await;
    let (status, body) = get_json(&order_ref, &demo).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ACTIVE")));
    // `order:delete` is `rule:order_project_member` there.
    let r = http().delete(&order_ref).header("X-Auth-Token", &demo).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn castellan_create_key_returns_the_secret_of_the_active_order() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let uuid = key_manager::create_key(&admin, Some("k"), "aes", Some(512)).await.expect("create_key");
    let secret = key_manager::get_secret(&admin, &uuid).await.unwrap();
    assert_eq!((secret.secret_type.as_str(), secret.bit_length, secret.name.as_deref()), ("symmetric", Some(512), Some("k")));
    assert_eq!(key_manager::get_payload(&admin, &uuid, "application/octet-stream").await.unwrap().len(), 64);
    let orders = key_manager::list_orders(&admin, None, None).await.unwrap();
    assert_eq!(orders.total, 1);
    assert_eq!(orders.orders[0].secret_ref.as_deref().map(key_manager::secret_uuid), Some(uuid.as_str()));
    let order_uuid = key_manager::secret_uuid(&orders.orders[0].order_ref).to_owned();
    assert_eq!(key_manager::get_order(&admin, &order_uuid).await.unwrap().status, "ACTIVE");
    key_manager::delete_order(&admin, &order_uuid).await.unwrap();
    assert!(key_manager::get_order(&admin, &order_uuid).await.unwrap_err().is_not_found());

    // Barbican's refusals come back as the HTTP error; nothing is polled.
    let err = key_manager::create_key(&admin, None, "aes", Some(100)).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = key_manager::create_key(&admin, None, "aes", None).await.unwrap_err();
    assert!(err.to_string().contains("'bit_length' is required field for key type order"), "{err}");
    let demo = session(&cloud, "demo").await;
    let err = key_manager::create_key(&demo, None, "aes", Some(256)).await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
}
