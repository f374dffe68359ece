//! Simulated Glance v2: image members (sharing, the member's decision, who may do what, and
//! what a member's image list shows), deactivate/reactivate, the tasks API and the member and
//! task schemas, with glance's codes and messages.

mod glance_support;

use glance_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::image::{self, NewImage};

async fn call(s: &Session, m: Method, p: &str, body: Option<Value>) -> (StatusCode, String) {
    let mut r = req(s, m, p).header("Accept", "application/json");
    if let Some(b) = body {
        r = r.header("Content-Type", "application/json").body(b.to_string());
    }
    let r = r.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn json_call(s: &Session, m: Method, p: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, text) = call(s, m, p, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn project(s: &Session) -> String {
    s.token().project.clone().expect("project-scoped").id
}

async fn listed(s: &Session, query: &str) -> Vec<String> {
    let (status, body) = json_call(s, Method::GET, &format!("/v2/images{query}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["images"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn share_accept_reject_and_remove() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let alt = session(&cloud, "alt_demo").await;
    let alt_id = project(&alt);
    let img = image::create_image(&demo, &NewImage::raw("shared")).await.unwrap();
    assert_eq!(img.visibility.as_deref(), Some("shared"));
    let base = format!("/v2/images/{}/members", img.id);

    let (status, member) = json_call(&demo, Method::POST, &base, Some(json!({"member": alt_id}))).await;
    assert_eq!(status, StatusCode::OK, "{member}");
    let keys: Vec<&str> = member.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 6, "{member}");
    assert_eq!(member["member_id"], alt_id.as_str());
    assert_eq!(member["image_id"], img.id.as_str());
    assert_eq!(member["status"], "pending");
    assert_eq!(member["schema"], "/v2/schemas/member");
    assert!(member["created_at"].as_str().unwrap().ends_with('Z'));

    // Pending: the member can see the image but does not list it, unless asked for.
    assert!(!listed(&alt, "").await.contains(&img.id));
    assert_eq!(listed(&alt, "?member_status=pending&visibility=shared").await, vec![img.id.clone()]);
    assert_eq!(json_call(&alt, Method::GET, &format!("/v2/images/{}", img.id), None).await.0, StatusCode::OK);

    // Twice: 409.
    let (status, text) = call(&demo, Method::POST, &base, Some(json!({"member": alt_id}))).await;
    assert_eq!((status, message(&text)), (StatusCode::CONFLICT, format!("Member {alt_id} is duplicated for image {}", img.id)));

    // The owner cannot decide for the member.
    let one = format!("{base}/{alt_id}");
    let (status, text) = call(&demo, Method::PUT, &one, Some(json!({"status": "accepted"}))).await;
    assert_eq!((status, message(&text)), (StatusCode::FORBIDDEN, "You are not authorized to complete modify_member action.".into()));
    // A status outside the three.
    let (status, text) = call(&alt, Method::PUT, &one, Some(json!({"status": "notavalidstatus"}))).await;
    assert_eq!(
        (status, message(&text)),
        (StatusCode::BAD_REQUEST, "Incorrect request: Status must be \"pending\", \"accepted\" or \"rejected\".".into())
    );
    let (status, text) = call(&alt, Method::PUT, &one, Some(json!({}))).await;
    assert_eq!((status, message(&text)), (StatusCode::BAD_REQUEST, "Status not specified".into()));

    let (status, member) = json_call(&alt, Method::PUT, &one, Some(json!({"status": "accepted"}))).await;
    assert_eq!((status, member["status"].clone()), (StatusCode::OK, json!("accepted")));
    assert!(listed(&alt, "").await.contains(&img.id));
    assert!(!listed(&alt, "?member_status=pending").await.contains(&img.id));

    // Owner and member both read it; the list has the collection's schema.
    for s in [&demo, &alt] {
        let (status, body) = json_call(s, Method::GET, &base, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["schema"], "/v2/schemas/members");
        assert_eq!(body["members"].as_array().unwrap().len(), 1);
        assert_eq!(body["members"][0]["status"], "accepted");
        let (status, body) = json_call(s, Method::GET, &one, None).await;
        assert_eq!((status, body["member_id"].clone()), (StatusCode::OK, json!(alt_id)));
    }
    let (status, text) = call(&demo, Method::GET, &format!("{base}/nobody"), None).await;
    assert_eq!((status, message(&text)), (StatusCode::NOT_FOUND, format!("nobody not found in the member list of the image {}.", img.id)));

    // Rejected: gone from the member's list again.
    let (status, _) = json_call(&alt, Method::PUT, &one, Some(json!({"status": "rejected"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!listed(&alt, "").await.contains(&img.id));
    assert!(listed(&alt, "?member_status=all").await.contains(&img.id));

    // Only the owner removes a member; then the image is no longer the member's to see.
    let (status, text) = call(&alt, Method::DELETE, &one, None).await;
    assert_eq!((status, message(&text)), (StatusCode::FORBIDDEN, "You are not authorized to complete delete_member action.".into()));
    assert_eq!(call(&demo, Method::DELETE, &one, None).await.0, StatusCode::NO_CONTENT);
    let (status, text) = call(&alt, Method::GET, &format!("/v2/images/{}", img.id), None).await;
    assert_eq!((status, message(&text)), (StatusCode::NOT_FOUND, format!("No image found with ID {}", img.id)));
    let (status, text) = call(&alt, Method::GET, &base, None).await;
    assert_eq!((status, message(&text)), (StatusCode::NOT_FOUND, format!("Image {} not found.", img.id)));
}

#[tokio::test]
async fn only_shared_images_have_members() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let alt = session(&cloud, "alt_demo").await;
    let img = image::create_image(&demo, &NewImage { visibility: Some("private".into()), ..NewImage::raw("private") }).await.unwrap();
    let base = format!("/v2/images/{}/members", img.id);
    let (status, text) = call(&demo, Method::POST, &base, Some(json!({"member": project(&alt)}))).await;
    assert_eq!((status, message(&text)), (StatusCode::FORBIDDEN, format!("Not allowed to create members for image {}.", img.id)));
    let (status, text) = call(&demo, Method::GET, &base, None).await;
    assert_eq!(
        (status, message(&text)),
        (StatusCode::FORBIDDEN, format!("Not allowed to list members for image {}: Only shared images have members.", img.id))
    );
    let (status, text) = call(&demo, Method::GET, &format!("{base}/x"), None).await;
    assert_eq!((status, message(&text)), (StatusCode::NOT_FOUND, "Only shared images have members.".into()));
    // Body checks come first.
    let shared = image::create_image(&demo, &NewImage::raw("shared")).await.unwrap();
    let base = format!("/v2/images/{}/members", shared.id);
    for (body, expected) in [
        (json!({}), "Member to be added not specified"),
        (json!({"member": ""}), "Member can't be empty"),
        (json!(["member"]), "Expected a member in the form: {\"member\": \"image_id\"}"),
    ] {
        let (status, text) = call(&demo, Method::POST, &base, Some(body)).await;
        assert_eq!((status, message(&text)), (StatusCode::BAD_REQUEST, expected.into()));
    }
    // Someone who cannot see the image: 404.
    let (status, text) = call(&alt, Method::POST, &base, Some(json!({"member": project(&alt)}))).await;
    assert_eq!((status, message(&text)), (StatusCode::NOT_FOUND, format!("Image {} not found.", shared.id)));
    // Deleting the image drops its members.
    assert_eq!(call(&demo, Method::POST, &base, Some(json!({"member": project(&alt)}))).await.0, StatusCode::OK);
    image::delete_image(&demo, &shared.id).await.unwrap();
    assert!(!listed(&alt, "?member_status=all").await.contains(&shared.id));
}

#[tokio::test]
async fn deactivate_and_reactivate() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let alt = session(&cloud, "alt_demo").await;
    let img = image::create_image(&demo, &NewImage::raw("act")).await.unwrap();
    let action = |a: &str| format!("/v2/images/{}/actions/{a}", img.id);
    let (status, text) = call(&demo, Method::POST, &action("deactivate"), None).await;
    assert_eq!((status, message(&text)), (StatusCode::FORBIDDEN, "Not allowed to deactivate image in status 'queued'".into()));
    let (status, _) = put_file(&demo, &img.id, data(1024, 3), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A member sees it but may not deactivate it; a stranger does not see it.
    assert_eq!(
        call(&demo, Method::POST, &format!("/v2/images/{}/members", img.id), Some(json!({"member": project(&alt)}))).await.0,
        StatusCode::OK
    );
    let (status, text) = call(&alt, Method::POST, &action("deactivate"), None).await;
    assert_eq!((status, message(&text)), (StatusCode::FORBIDDEN, "You are not authorized to complete deactivate action.".into()));
    let (status, text) = call(&demo, Method::POST, "/v2/images/00000000-0000-0000-0000-000000000000/actions/deactivate", None).await;
    assert_eq!((status, message(&text)), (StatusCode::NOT_FOUND, "No image found with ID 00000000-0000-0000-0000-000000000000".into()));

    for _ in 0..2 {
        assert_eq!(call(&demo, Method::POST, &action("deactivate"), None).await, (StatusCode::NO_CONTENT, String::new()));
    }
    assert_eq!(image::get_image(&demo, &img.id).await.unwrap().status, "deactivated");
    let (status, text) = call(&demo, Method::GET, &format!("/v2/images/{}/file", img.id), None).await;
    assert_eq!(
        (status, message(&text)),
        (StatusCode::FORBIDDEN, "The requested image has been deactivated. Image data download is forbidden.".into())
    );
    let admin = session(&cloud, "admin").await;
    assert_eq!(req(&admin, Method::GET, &format!("/v2/images/{}/file", img.id)).send().await.unwrap().status(), StatusCode::OK);

    for _ in 0..2 {
        assert_eq!(call(&demo, Method::POST, &action("reactivate"), None).await.0, StatusCode::NO_CONTENT);
    }
    assert_eq!(image::get_image(&demo, &img.id).await.unwrap().status, "active");
    let r = req(&demo, Method::GET, &format!("/v2/images/{}/file", img.id)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().to_vec(), data(1024, 3));
}

#[tokio::test]
async fn member_and_task_schemas() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    for (name, item) in [("member", None), ("members", Some("member")), ("task", None), ("tasks", Some("task"))] {
        let (status, body) = json_call(&demo, Method::GET, &format!("/v2/schemas/{name}"), None).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(body["name"], name);
        if let Some(item) = item {
            assert_eq!(body["properties"][name]["items"]["name"], item);
            assert_eq!(body["links"][2]["rel"], "describedby");
        } else {
            assert_eq!(body["additionalProperties"], false);
        }
    }
    let (_, member) = json_call(&demo, Method::GET, "/v2/schemas/member", None).await;
    assert_eq!(member["properties"]["status"]["enum"], json!(["pending", "accepted", "rejected"]));
    let (_, tasks) = json_call(&demo, Method::GET, "/v2/schemas/tasks", None).await;
    assert!(tasks["properties"]["tasks"]["items"]["properties"].get("input").is_none());
    let r = reqwest::get(format!("{}/v2/schemas/member", cloud.endpoints.image)).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tasks_api() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let admin = session(&cloud, "admin").await;
    let body = |from: &str| {
        json!({"type": "import", "input": {"import_from": from, "import_from_format": "qcow2",
        "image_properties": {"name": "from-task", "container_format": "bare", "disk_format": "qcow2"}}})
    };

    let (status, text) = call(&demo, Method::POST, "/v2/tasks", Some(body("http://127.0.0.1/x"))).await;
    assert_eq!((status, message(&text)), (StatusCode::FORBIDDEN, "You are not authorized to complete tasks_api_access action.".into()));
    assert_eq!(call(&demo, Method::GET, "/v2/tasks", None).await.0, StatusCode::FORBIDDEN);

    for (from, expected) in [
        (
            "http://no-such-host.invalid/x.qcow2",
            "URI for legacy import task does not pass filtering: http://no-such-host.invalid/x.qcow2".to_owned(),
        ),
        ("http://127.0.0.1:8080/x", "URI for legacy import task does not pass filtering: http://127.0.0.1:8080/x".to_owned()),
        ("file:///etc/passwd", "File based imports are not allowed. Please use a non-local source of image data.".to_owned()),
    ] {
        let (status, text) = call(&admin, Method::POST, "/v2/tasks", Some(body(from))).await;
        assert_eq!((status, message(&text)), (StatusCode::BAD_REQUEST, expected));
    }
    let (status, text) = call(&admin, Method::POST, "/v2/tasks", Some(json!({"input": {}}))).await;
    assert_eq!((status, message(&text)), (StatusCode::BAD_REQUEST, "Task 'type' is required".into()));

    // Nothing listens on 127.0.0.1:80 here: the task is accepted and then fails, its image
    // removed again.
    let r = req(&admin, Method::POST, "/v2/tasks")
        .header("Content-Type", "application/json")
        .body(body("http://127.0.0.1:80/none").to_string());
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let request_id = r.headers()["x-openstack-request-id"].to_str().unwrap().to_owned();
    let task: Value = r.json().await.unwrap();
    assert_eq!(task["request_id"], request_id.as_str());
    assert_eq!(location, format!("/v2/tasks/{}", task["id"].as_str().unwrap()));
    assert_eq!(task["status"], "pending");
    assert_eq!(task["type"], "import");
    assert_eq!(task["result"], Value::Null);
    assert_eq!(task["message"], "");
    assert_eq!(task["schema"], "/v2/schemas/task");
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = json_call(&admin, Method::GET, &location, None).await.1;
        if seen["status"] == "failure" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen["status"], "failure", "{seen}");
    assert_eq!(seen["message"], "Task failed due to Internal Error");
    assert!(seen["expires_at"].is_string());
    assert!(!listed(&admin, "?name=from-task").await.iter().any(|_| true));

    let (status, list) = json_call(&admin, Method::GET, "/v2/tasks?limit=1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["schema"], "/v2/schemas/tasks");
    assert_eq!(list["first"], "/v2/tasks?limit=1");
    assert_eq!(list["tasks"][0]["id"], task["id"]);
    assert!(list["tasks"][0].get("input").is_none());
    assert!(list["next"].as_str().unwrap().contains("marker="));
    let (status, text) = call(&admin, Method::GET, "/v2/tasks?sort_dir=up", None).await;
    assert_eq!((status, message(&text)), (StatusCode::BAD_REQUEST, "Invalid sort direction: up".into()));
    let (status, text) = call(&admin, Method::GET, "/v2/tasks?marker=x", None).await;
    assert_eq!((status, message(&text)), (StatusCode::BAD_REQUEST, "Invalid marker format".into()));
    let missing = "00000000-0000-0000-0000-000000000000";
    let (status, text) = call(&admin, Method::GET, &format!("/v2/tasks/{missing}"), None).await;
    assert_eq!((status, message(&text)), (StatusCode::NOT_FOUND, format!("Task with the given id {missing} was not found")));
}

#[tokio::test]
async fn locations_api_without_an_http_store() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let admin = session(&cloud, "admin").await;
    let img = image::create_image(&demo, &NewImage::raw("loc")).await.unwrap();
    let path = format!("/v2/images/{}/locations", img.id);
    let (status, text) = call(&demo, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(
        (status, message(&text)),
        (StatusCode::BAD_REQUEST, "Provided object does not match schema 'location': 'url' is a required property".into())
    );
    for s in [&demo, &admin] {
        let (status, text) = call(s, Method::POST, &path, Some(json!({"url": "http://127.0.0.1/x"}))).await;
        assert_eq!(
            (status, message(&text)),
            (StatusCode::FORBIDDEN, "http store must be enabled to use location API by normal user.".into())
        );
    }
    let (status, text) = call(&demo, Method::GET, &path, None).await;
    assert_eq!((status, message(&text)), (StatusCode::FORBIDDEN, "You are not authorized to complete fetch_image_location action.".into()));
    assert_eq!(json_call(&admin, Method::GET, &path, None).await, (StatusCode::OK, json!([])));
    let (status, _) = put_file(&demo, &img.id, data(64, 1), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, text) = call(&demo, Method::POST, &path, Some(json!({"url": "http://127.0.0.1/x"}))).await;
    assert_eq!((status, message(&text)), (StatusCode::CONFLICT, "It's not allowed to add locations if image status is active.".into()));
    let (status, body) = json_call(&admin, Method::GET, &path, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!([{"url": format!("file:///var/lib/glance/images/{}", img.id), "metadata": {}}])));
}
