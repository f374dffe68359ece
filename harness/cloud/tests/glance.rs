//! Simulated Glance v2 over HTTP: discovery, create/show/list/delete, JSON-patch, upload and
//! download of unsigned data, statuses, and webob's error bodies (docs/reference/openstack-behaviour.md A).

mod glance_support;

use glance_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::image::{self, NewImage, PatchOp};

const PATCH21: &str = "application/openstack-images-v2.1-json-patch";
const PATCH20: &str = "application/openstack-images-v2.0-json-patch";

/// Sends JSON with a content type, returns status, headers and body text.
async fn send(
    s: &sigstack_client::Session,
    m: Method,
    p: &str,
    content_type: &str,
    body: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r =
        req(s, m, p).header("Content-Type", content_type).header("Accept", "application/json").body(body.to_owned()).send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

async fn create_raw(s: &sigstack_client::Session, body: Value) -> (StatusCode, String) {
    let (status, _, text) = send(s, Method::POST, "/v2/images", "application/json", &body.to_string()).await;
    (status, text)
}

async fn patch(s: &sigstack_client::Session, id: &str, ct: &str, body: Value) -> (StatusCode, String) {
    let (status, _, text) = send(s, Method::PATCH, &format!("/v2/images/{id}"), ct, &body.to_string()).await;
    (status, text)
}

/// An image view with its id replaced everywhere (links included), for snapshots.
fn without_id(v: &Value) -> Value {
    let id = v["id"].as_str().unwrap_or("-").to_owned();
    serde_json::from_str(&v.to_string().replace(&id, "[id]")).unwrap()
}

#[tokio::test]
async fn version_discovery() {
    let cloud = cloud().await;
    for p in ["/", "/v2"] {
        let r = reqwest::get(format!("{}{p}", cloud.endpoints.image)).await.unwrap();
        assert_eq!(r.status(), StatusCode::MULTIPLE_CHOICES, "{p}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["versions"][0]["id"], "v2.18");
        assert_eq!(body["versions"][0]["status"], "CURRENT");
        assert_eq!(body["versions"][1]["id"], "v2.17");
        assert_eq!(body["versions"][0]["links"][0]["href"], format!("{}/v2/", cloud.endpoints.image));
    }
    let body: Value = reqwest::get(format!("{}/", cloud.endpoints.image)).await.unwrap().json().await.unwrap();
    let mut redacted = body.clone();
    for v in redacted["versions"].as_array_mut().unwrap() {
        v["links"][0]["href"] = json!("http://[glance]/v2/");
    }
    // Snapshots sort an object's keys: its order is Glance's own, not part of the API.
    insta::with_settings!({sort_maps => true}, { insta::assert_json_snapshot!("versions", redacted) });
}

#[tokio::test]
async fn create_show_list_delete() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let body = json!({"name": "cirros", "container_format": "bare", "disk_format": "qcow2",
                      "owner_specified.openstack.md5": "", "hw_disk_bus": "scsi"});
    let (status, headers, text) = send(&demo, Method::POST, "/v2/images", "application/json", &body.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    // Absolute, as webob makes it (real Glance 33: tests/parity/glance_image_create.json).
    assert_eq!(headers["location"], format!("{}/v2/images/{id}", cloud.endpoints.image).as_str());
    assert_eq!(headers["openstack-image-import-methods"], "glance-direct");
    assert_eq!(created["owner"], demo.token().project.as_ref().unwrap().id.as_str());
    assert_eq!(created["visibility"], "shared");
    for k in ["checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size"] {
        assert!(created[k].is_null(), "{k} must be null while queued");
    }
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("created_image", without_id(&created), {
            ".owner" => "[project]", ".created_at" => "[time]", ".updated_at" => "[time]",
        });
    });

    let shown = image::get_image(&demo, &id).await.unwrap();
    assert_eq!(shown.status, "queued");
    assert_eq!(shown.property("hw_disk_bus"), Some("scsi"));
    assert_eq!(serde_json::to_value(&shown).unwrap()["hw_disk_bus"], "scsi");

    let page = image::list_images(&demo, &[]).await.unwrap();
    assert_eq!(page.images.len(), 1);
    assert_eq!(page.first.as_deref(), Some("/v2/images"));
    assert_eq!(page.schema.as_deref(), Some("/v2/schemas/images"));
    assert!(page.next.is_none());

    image::delete_image(&demo, &id).await.unwrap();
    let err = image::get_image(&demo, &id).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().ends_with(&format!("No image found with ID {id}")), "{err}");
    let err = image::delete_image(&demo, &id).await.unwrap_err();
    assert!(err.to_string().ends_with(&format!("Failed to find image {id} to delete")), "{err}");
    // The id stays taken, as glance keeps deleted rows.
    let (status, text) = create_raw(&demo, json!({"id": id})).await;
    assert_eq!((status, message(&text)), (StatusCode::CONFLICT, format!("Image ID {id} already exists!")));
}

#[tokio::test]
async fn create_refusals_have_glance_messages() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (json!({"self": "x"}), StatusCode::FORBIDDEN, "Attribute 'self' is read-only."),
        (json!({"file": "x"}), StatusCode::FORBIDDEN, "Attribute 'file' is read-only."),
        (json!({"schema": "x"}), StatusCode::FORBIDDEN, "Attribute 'schema' is read-only."),
        (json!({"direct_url": "x"}), StatusCode::FORBIDDEN, "Attribute 'direct_url' is read-only."),
        (json!({"stores": "x"}), StatusCode::FORBIDDEN, "Attribute 'stores' is read-only."),
        (json!({"status": "active"}), StatusCode::FORBIDDEN, "Attribute 'status' is read-only."),
        (json!({"checksum": "abc"}), StatusCode::FORBIDDEN, "Attribute 'checksum' is read-only."),
        (json!({"size": 5}), StatusCode::FORBIDDEN, "Attribute 'size' is read-only."),
        (json!({"location": "x"}), StatusCode::FORBIDDEN, "Attribute 'location' is reserved."),
        (json!({"deleted": "x"}), StatusCode::FORBIDDEN, "Attribute 'deleted' is reserved."),
        (json!({"deleted_at": "x"}), StatusCode::FORBIDDEN, "Attribute 'deleted_at' is reserved."),
        (json!({"os_glance_foo": "x"}), StatusCode::FORBIDDEN, "Attribute 'os_glance_foo' is reserved."),
        (json!({"hw_x": 1}), StatusCode::BAD_REQUEST, "Provided object does not match schema 'image': 1 is not of type 'string'"),
        (
            json!({"visibility": "everyone"}),
            StatusCode::BAD_REQUEST,
            "Provided object does not match schema 'image': 'everyone' is not one of ['community', 'public', 'private', 'shared']",
        ),
        (json!({"name": 7}), StatusCode::BAD_REQUEST, "Provided object does not match schema 'image': 7 is not of type 'null', 'string'"),
        (
            json!({"protected": "yes"}),
            StatusCode::BAD_REQUEST,
            "Provided object does not match schema 'image': 'yes' is not of type 'boolean'",
        ),
        (json!({"min_ram": -1}), StatusCode::BAD_REQUEST, "Image min_ram must be >= 0 ('-1' specified)."),
        (json!({"k".repeat(256): "v"}), StatusCode::BAD_REQUEST, "Custom property should not be greater than 255 characters."),
        (json!({"visibility": "public"}), StatusCode::FORBIDDEN, "You are not authorized to complete publicize_image action."),
        (json!({"owner": "someone-else"}), StatusCode::FORBIDDEN, "You are not permitted to create images owned by 'someone-else'."),
        (json!([]), StatusCode::BAD_REQUEST, "Provided object does not match schema 'image': [] is not of type 'object'"),
    ];
    for (body, status, expected) in cases {
        let (got, text) = create_raw(&demo, body.clone()).await;
        assert_eq!((got, message(&text)), (status, expected.to_owned()), "{body}");
    }
    for (raw, expected) in [
        ("", "Body expected in request."),
        ("{nope", "Malformed JSON in request body."),
        ("3", "Unexpected body type. Expected list/dict."),
    ] {
        let (status, _, text) = send(&demo, Method::POST, "/v2/images", "application/json", raw).await;
        assert_eq!((status, message(&text)), (StatusCode::BAD_REQUEST, expected.to_owned()), "{raw}");
    }
    assert!(image::list_images(&demo, &[]).await.unwrap().images.is_empty(), "nothing was created");
    // The admin may publish.
    let admin = session(&cloud, "admin").await;
    let (status, text) = create_raw(&admin, json!({"visibility": "public", "name": "pub"})).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
}

#[tokio::test]
async fn listing_filters_pages_and_isolates_projects() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let alt = session(&cloud, "alt_demo").await;
    let admin = session(&cloud, "admin").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let img = image::create_image(&demo, &NewImage::raw(&format!("img-{i}"))).await.unwrap();
        ids.push(img.id);
    }
    let private = image::create_image(&demo, &NewImage { visibility: Some("private".into()), ..NewImage::raw("priv") }).await.unwrap();
    let public = image::create_image(&admin, &NewImage { visibility: Some("public".into()), ..NewImage::raw("pub") }).await.unwrap();

    let names = |imgs: &[image::Image]| imgs.iter().map(|i| i.name.clone().unwrap_or_default()).collect::<Vec<_>>();
    let page = image::list_images(&demo, &[("name", "img-3")]).await.unwrap();
    assert_eq!(names(&page.images), ["img-3"]);
    assert_eq!(page.first.as_deref(), Some("/v2/images?name=img-3"));
    let page = image::list_images(&demo, &[("visibility", "private")]).await.unwrap();
    assert_eq!(names(&page.images), ["priv"]);
    let page = image::list_images(&demo, &[("visibility", "public")]).await.unwrap();
    assert_eq!(names(&page.images), ["pub"]);
    let page = image::list_images(&demo, &[("status", "queued"), ("owner", &demo.token().project.as_ref().unwrap().id)]).await.unwrap();
    assert_eq!(page.images.len(), 6);
    assert!(image::list_images(&demo, &[("status", "active")]).await.unwrap().images.is_empty());

    // Newest first, two per page, `next` carries the marker.
    let page = image::list_images(&demo, &[("limit", "2")]).await.unwrap();
    assert_eq!(names(&page.images), ["pub", "priv"]);
    assert_eq!(page.next.as_deref(), Some(format!("/v2/images?limit=2&marker={}", private.id).as_str()));
    let page = image::list_images(&demo, &[("limit", "2"), ("marker", &private.id)]).await.unwrap();
    assert_eq!(names(&page.images), ["img-4", "img-3"]);
    assert_eq!(page.first.as_deref(), Some("/v2/images?limit=2"));
    let all = image::list_all_images(&demo, &[("limit", "2")]).await.unwrap();
    assert_eq!(all.len(), 7);
    let asc = image::list_images(&demo, &[("sort_key", "name"), ("sort_dir", "asc"), ("limit", "1")]).await.unwrap();
    assert_eq!(names(&asc.images), ["img-0"]);

    for (q, expected) in [
        (("limit", "x"), "limit param must be an integer"),
        (("limit", "-2"), "limit param must be positive"),
        (("visibility", "nobody"), "Invalid visibility value: nobody"),
        (("sort_dir", "sideways"), "Invalid sort direction: sideways"),
        (("marker", "00000000-0000-0000-0000-000000000000"), "No image found with ID 00000000-0000-0000-0000-000000000000"),
    ] {
        let err = image::list_images(&demo, &[q]).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{q:?}");
        assert!(err.to_string().ends_with(expected), "{err}");
    }

    // Another project sees only the public image; the others are 404 to it.
    let page = image::list_images(&alt, &[]).await.unwrap();
    assert_eq!(names(&page.images), ["pub"]);
    for id in [&ids[0], &private.id] {
        let err = image::get_image(&alt, id).await.unwrap_err();
        assert_eq!(err.status(), Some(404));
        let err = image::update_image(&alt, id, &[PatchOp::Add { path: "/x".into(), value: json!("y") }]).await.unwrap_err();
        assert_eq!(err.status(), Some(404));
        let err = image::delete_image(&alt, id).await.unwrap_err();
        assert_eq!(err.status(), Some(404));
    }
    assert_eq!(image::get_image(&alt, &public.id).await.unwrap().name.as_deref(), Some("pub"));
    let err = image::update_image(&alt, &public.id, &[PatchOp::Add { path: "/x".into(), value: json!("y") }]).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().ends_with("You are not authorized to complete modify_image action."), "{err}");
    // The admin sees everything.
    assert_eq!(image::list_all_images(&admin, &[]).await.unwrap().len(), 7);
}

#[tokio::test]
async fn json_patch_rules() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let img = image::create_image(&demo, &NewImage::raw("p").property("color", "red")).await.unwrap();
    let id = img.id.clone();
    let url = format!("/v2/images/{id}");

    let (status, headers, text) = send(&demo, Method::PATCH, &url, "application/json", "[]").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(headers["accept-patch"], format!("{PATCH20}, {PATCH21}").as_str());
    // webob's 415 template: the request's media type, then the detail (here in JSON).
    assert_eq!(message(&text), "The request media type application/json is not supported by this server.");
    assert!(text.contains(&format!("<br /><br />\\nImage PATCH expects Content-Type one of: {PATCH20}, {PATCH21}")), "{text}");

    let (status, text) = patch(
        &demo,
        &id,
        PATCH21,
        json!([
            {"op": "replace", "path": "/color", "value": "blue"},
            {"op": "add", "path": "/shape", "value": "round"},
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "add", "path": "/tags", "value": ["a", "b", "a"]},
            {"op": "replace", "path": "/min_ram", "value": 512},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (&v["color"], &v["shape"], &v["name"], &v["tags"], &v["min_ram"]),
        (&json!("blue"), &json!("round"), &json!("renamed"), &json!(["a", "b"]), &json!(512))
    );
    // v2.1 `add` of an existing property replaces it (RFC 6902); v2.0 refuses.
    let (status, text) = patch(&demo, &id, PATCH21, json!([{"op": "add", "path": "/color", "value": "green"}])).await;
    assert_eq!((status, serde_json::from_str::<Value>(&text).unwrap()["color"].clone()), (StatusCode::OK, json!("green")));
    let (status, text) = patch(&demo, &id, PATCH20, json!([{"add": "/color", "value": "x"}])).await;
    assert_eq!((status, message(&text)), (StatusCode::CONFLICT, "Property color already present.".into()));
    let (status, text) = patch(&demo, &id, PATCH20, json!([{"remove": "/shape"}])).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(serde_json::from_str::<Value>(&text).unwrap().get("shape").is_none());

    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (json!([{"op": "replace", "path": "/nope", "value": "x"}]), StatusCode::CONFLICT, "Property nope does not exist."),
        (json!([{"op": "remove", "path": "/nope"}]), StatusCode::CONFLICT, "Property nope does not exist."),
        (json!([{"op": "remove", "path": "/name"}]), StatusCode::FORBIDDEN, "Property name may not be removed."),
        (json!([{"op": "replace", "path": "/status", "value": "active"}]), StatusCode::FORBIDDEN, "Attribute 'status' is read-only."),
        (json!([{"op": "replace", "path": "/checksum", "value": "x"}]), StatusCode::FORBIDDEN, "Attribute 'checksum' is read-only."),
        (json!([{"op": "add", "path": "/os_hash_value", "value": "x"}]), StatusCode::FORBIDDEN, "Attribute 'os_hash_value' is read-only."),
        (json!([{"op": "add", "path": "/deleted", "value": "x"}]), StatusCode::FORBIDDEN, "Attribute 'deleted' is reserved."),
        (
            json!([{"op": "add", "path": "/os_glance_import_task", "value": "x"}]),
            StatusCode::FORBIDDEN,
            "Attribute 'os_glance_import_task' is reserved.",
        ),
        (json!([{"op": "replace", "path": "/owner", "value": "x"}]), StatusCode::FORBIDDEN, "Owner can't be updated by non admin."),
        (
            json!([{"op": "replace", "path": "/visibility", "value": "public"}]),
            StatusCode::FORBIDDEN,
            "You are not authorized to complete publicize_image action.",
        ),
        (
            json!([{"op": "add", "path": "/locations/-", "value": {"url": "x", "metadata": {}}}]),
            StatusCode::FORBIDDEN,
            "It's not allowed to add locations if locations are invisible.",
        ),
        (json!({"op": "add"}), StatusCode::BAD_REQUEST, "Request body must be a JSON array of operation objects."),
        (json!(["add"]), StatusCode::BAD_REQUEST, "Operations must be JSON objects."),
        (
            json!([{"op": "move", "path": "/a"}]),
            StatusCode::BAD_REQUEST,
            "Invalid operation: `move`. It must be one of the following: add, remove, replace.",
        ),
        (
            json!([{"path": "/a"}]),
            StatusCode::BAD_REQUEST,
            "Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.",
        ),
        (json!([{"op": "add", "value": "a"}]), StatusCode::BAD_REQUEST, "Unable to find 'path' in JSON Schema change"),
        (json!([{"op": "add", "path": "a", "value": "a"}]), StatusCode::BAD_REQUEST, "Pointer `a` does not start with \"/\"."),
        (json!([{"op": "add", "path": "/a"}]), StatusCode::BAD_REQUEST, "Operation \"add\" requires a member named \"value\"."),
        (
            json!([{"op": "add", "path": "/a", "value": 3}]),
            StatusCode::BAD_REQUEST,
            "Provided object does not match schema 'image': 3 is not of type 'string'",
        ),
        (json!([{"op": "add", "path": "/a/b", "value": "x"}]), StatusCode::BAD_REQUEST, "Invalid JSON pointer for this resource: '/a/b'"),
    ];
    for (body, status, expected) in cases {
        let (got, text) = patch(&demo, &id, PATCH21, body.clone()).await;
        assert_eq!((got, message(&text)), (status, expected.to_owned()), "{body}");
    }
    let (status, _, text) = send(&demo, Method::PATCH, &url, PATCH21, "not json").await;
    assert_eq!((status, message(&text)), (StatusCode::BAD_REQUEST, "Malformed JSON in request body.".into()));
    // Tags by URL, as `openstack image set --tag` does.
    for (m, tag, status) in [(Method::PUT, "t1", 204), (Method::PUT, "t1", 204), (Method::DELETE, "a", 204), (Method::DELETE, "zz", 404)] {
        let r = req(&demo, m, &format!("{url}/tags/{tag}")).header("Accept", "application/json").send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{tag}");
    }
    assert_eq!(image::get_image(&demo, &id).await.unwrap().tags, ["b", "t1"]);
    // Nothing above changed the image.
    let now = image::get_image(&demo, &id).await.unwrap();
    assert_eq!((now.property("color"), now.name.as_deref(), now.status.as_str()), (Some("green"), Some("renamed"), "queued"));
}

#[tokio::test]
async fn upload_download_and_statuses() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let img = image::create_image(&demo, &NewImage::raw("data")).await.unwrap();
    // No data yet: 204.
    assert!(image::download(&demo, &img.id).await.unwrap().is_none());
    let r = req(&demo, Method::GET, &format!("/v2/images/{}/file", img.id)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let (status, text) = {
        let r = req(&demo, Method::PUT, &format!("/v2/images/{}/file", img.id))
            .header("Content-Type", "text/plain")
            .header("Accept", "application/json")
            .body("x")
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(
        (status, message(&text)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "The request media type text/plain is not supported by this server.".into())
    );
    assert!(text.contains("<br /><br />\\nInvalid content type text/plain"), "{text}");

    let bytes = data(3 * 1024 * 1024 + 17, 1);
    image::upload(&demo, &img.id, std::io::Cursor::new(bytes.clone()), Some(bytes.len() as u64)).await.unwrap();
    let active = image::get_image(&demo, &img.id).await.unwrap();
    assert_eq!(active.status, "active");
    assert_eq!(active.size, Some(bytes.len() as u64));
    assert_eq!(active.virtual_size, Some(bytes.len() as u64));
    assert_eq!(active.checksum.as_deref(), Some(md5_hex(&bytes).as_str()));
    assert_eq!(active.os_hash_algo.as_deref(), Some("sha512"));
    assert_eq!(active.os_hash_value.as_deref(), Some(sha512_hex(&bytes).as_str()));
    assert_eq!(data_files(&cloud), vec![img.id.clone()]);

    let download = image::download(&demo, &img.id).await.unwrap().expect("data");
    assert_eq!(download.content_md5.as_deref(), Some(md5_hex(&bytes).as_str()));
    assert_eq!(download.content_length, Some(bytes.len() as u64));
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let r = req(&demo, Method::GET, &format!("/v2/images/{}/file", img.id)).header("Range", "bytes=10-19").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], format!("bytes 10-19/{}", bytes.len()).as_str());
    assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[10..20]);

    // An active image takes no more data.
    let (status, text) = put_file(&demo, &img.id, b"again".to_vec(), Some("application/json")).await;
    assert_eq!((status, message(&text)), (StatusCode::CONFLICT, "Image status transition from active to saving is not allowed".into()));
    // Another project cannot read it.
    let alt = session(&cloud, "alt_demo").await;
    assert_eq!(image::download(&alt, &img.id).await.err().and_then(|e| e.status()), Some(404));
    // Deleting removes the data file.
    image::delete_image(&demo, &img.id).await.unwrap();
    assert!(data_files(&cloud).is_empty());
}

#[tokio::test]
async fn disk_format_must_match_the_data() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let img = image::create_image(&demo, &NewImage { disk_format: Some("qcow2".into()), ..NewImage::raw("q") }).await.unwrap();
    let (status, text) = put_file(&demo, &img.id, data(4096, 2), Some("application/json")).await;
    assert_eq!(
        (status, message(&text)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "The request media type application/octet-stream is not supported by this server.".into())
    );
    assert!(text.contains("<br /><br />\\nImage disk_format qcow2 does not match stream data raw"), "{text}");
    assert_eq!(image::get_image(&demo, &img.id).await.unwrap().status, "queued");
    assert!(data_files(&cloud).is_empty());
    let mut qcow = b"QFI\xfb\0\0\0\x03".to_vec();
    qcow.resize(4096, 0);
    qcow[24..32].copy_from_slice(&(1u64 << 30).to_be_bytes());
    let (status, text) = put_file(&demo, &img.id, qcow, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let got = image::get_image(&demo, &img.id).await.unwrap();
    assert_eq!((got.status.as_str(), got.virtual_size, got.size), ("active", Some(1 << 30), Some(4096)));
}

/// A GET without an Accept header over a bare TCP connection; the whole response as text.
async fn raw_get(base: &str, p: &str, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {p} HTTP/1.1\r\nHost: {addr}\r\nX-Auth-Token: {token}\r\nConnection: close\r\n\r\n");
    sock.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    sock.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn error_bodies_follow_accept() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let id = "6c4b1d4c-1f0d-4e8e-9a57-000000000000";
    let get = |accept: Option<&'static str>| {
        let mut r = req(&demo, Method::GET, &format!("/v2/images/{id}"));
        if let Some(a) = accept {
            r = r.header("Accept", a);
        }
        async move {
            let r = r.send().await.unwrap();
            let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
            (r.status(), ct, r.text().await.unwrap())
        }
    };
    let explanation = format!("No image found with ID {id}");
    let (status, ct, body) = get(Some("application/json")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::NOT_FOUND, "application/json"));
    assert_eq!(
        body,
        format!("{{\"message\": \"{explanation}<br /><br />\\n\\n\\n\", \"code\": \"404 Not Found\", \"title\": \"Not Found\"}}")
    );
    // No Accept header at all (reqwest always sends one, so this one is written by hand).
    let raw = raw_get(&cloud.endpoints.image, &format!("/v2/images/{id}"), &demo.token().value).await;
    assert!(raw.starts_with("HTTP/1.1 404 Not Found\r\n"), "{raw}");
    assert!(raw.contains("content-type: text/plain; charset=UTF-8\r\n"), "{raw}");
    assert!(raw.ends_with(&format!("\r\n\r\n404 Not Found\n\n{explanation}\n\n   ")), "{raw:?}");
    for accept in ["*/*", "text/html"] {
        let (_, ct, body) = get(Some(accept)).await;
        assert_eq!(ct, "text/html; charset=UTF-8", "{accept}");
        assert_eq!(
            body,
            format!(
                "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  {explanation}<br /><br />\n\n\n\n </body>\n</html>"
            )
        );
    }
    // Unknown routes are webob 404s too; a missing token is keystonemiddleware's 401.
    let r = req(&demo, Method::GET, "/v2/nothing").header("Accept", "application/json").send().await.unwrap();
    assert_eq!((r.status(), message(&r.text().await.unwrap())), (StatusCode::NOT_FOUND, "The resource could not be found.".into()));
    let r = reqwest::get(format!("{}/v2/images", cloud.endpoints.image)).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn stage_and_glance_direct_import_without_signature() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    assert_eq!(image::import_methods(&demo).await.unwrap(), ["glance-direct"]);
    let img = image::create_image(&demo, &NewImage::raw("staged")).await.unwrap();
    let err = image::import_image(&demo, &img.id, "glance-direct").await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.to_string().ends_with("Image needs to be staged before 'glance-direct' method can be used"), "{err}");
    let err = image::import_image(&demo, &img.id, "web-download").await.unwrap_err();
    assert!(err.to_string().ends_with("Unknown import method name 'web-download'."), "{err}");
    let (status, _, text) = send(&demo, Method::POST, &format!("/v2/images/{}/import", img.id), "application/json", "{}").await;
    assert_eq!((status, message(&text)), (StatusCode::BAD_REQUEST, "Import request requires a 'method' field.".into()));

    let bytes = data(200_000, 3);
    image::stage(&demo, &img.id, std::io::Cursor::new(bytes.clone()), None).await.unwrap();
    let staged = image::get_image(&demo, &img.id).await.unwrap();
    assert_eq!((staged.status.as_str(), staged.size, staged.checksum.as_deref()), ("uploading", Some(200_000), None));
    assert_eq!(data_files(&cloud), vec![format!("staging/{}", img.id)]);
    let (status, text) = put_file(&demo, &img.id, b"x".to_vec(), Some("application/json")).await;
    assert_eq!((status, message(&text)), (StatusCode::CONFLICT, "Image status transition from uploading to saving is not allowed".into()));

    image::import_image(&demo, &img.id, "glance-direct").await.unwrap();
    let done = image::wait_for_status(&demo, &img.id, &["active", "queued"], std::time::Duration::from_secs(10)).await.unwrap();
    assert_eq!(done.status, "active");
    assert_eq!(done.checksum.as_deref(), Some(md5_hex(&bytes).as_str()));
    assert_eq!(done.os_hash_value.as_deref(), Some(sha512_hex(&bytes).as_str()));
    assert!(done.property("os_glance_import_task").is_none(), "lock dropped");
    assert_eq!(data_files(&cloud), vec![img.id.clone()], "staged data removed");
    let tasks: Value = req(&demo, Method::GET, &format!("/v2/images/{}/tasks", img.id)).send().await.unwrap().json().await.unwrap();
    assert_eq!(tasks["tasks"][0]["status"], "success");
    assert_eq!(tasks["tasks"][0]["type"], "api_image_import");
    let err = image::import_image(&demo, &img.id, "glance-direct").await.unwrap_err();
    assert!(err.to_string().ends_with("Image with status active cannot be target for import"), "{err}");
}

#[tokio::test]
async fn schemas_are_served() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let image_schema: Value = req(&demo, Method::GET, "/v2/schemas/image").send().await.unwrap().json().await.unwrap();
    assert_eq!(image_schema["name"], "image");
    assert_eq!(image_schema["additionalProperties"], json!({"type": "string"}));
    assert_eq!(image_schema["properties"]["status"]["enum"].as_array().unwrap().len(), 9);
    let images_schema: Value = req(&demo, Method::GET, "/v2/schemas/images").send().await.unwrap().json().await.unwrap();
    assert_eq!(images_schema["properties"]["images"]["items"], image_schema);
    insta::with_settings!({sort_maps => true}, { insta::assert_json_snapshot!("image_schema", image_schema) });
}

#[tokio::test]
async fn a_client_that_disconnects_mid_upload_leaves_the_image_queued() {
    use tokio::io::AsyncWriteExt;
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let img = image::create_image(&demo, &NewImage::raw("cut")).await.unwrap();
    let addr = cloud.endpoints.image.trim_start_matches("http://").to_owned();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /v2/images/{}/file HTTP/1.1\r\nHost: {addr}\r\nX-Auth-Token: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n",
        img.id,
        demo.token().value
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&data(1_000_000, 4)).await.unwrap();
    // Wait until the server is saving, then hang up.
    image::wait_for_status(&demo, &img.id, &["saving"], std::time::Duration::from_secs(5)).await.unwrap();
    drop(sock);
    let back = image::wait_for_status(&demo, &img.id, &["queued"], std::time::Duration::from_secs(5)).await.unwrap();
    assert!(back.checksum.is_none() && back.size.is_none());
    assert!(data_files(&cloud).is_empty(), "no partial file: {:?}", data_files(&cloud));
    // The image can be uploaded again.
    image::upload(&demo, &img.id, std::io::Cursor::new(b"whole".to_vec()), None).await.unwrap();
    assert_eq!(image::get_image(&demo, &img.id).await.unwrap().status, "active");
}

#[tokio::test]
async fn an_image_deleted_during_upload_is_gone() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let img = image::create_image(&demo, &NewImage::raw("doomed")).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let body = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let uploading = {
        let (demo, id) = (demo.clone(), img.id.clone());
        tokio::spawn(async move { image::upload_body(&demo, &id, image::stream_body(body), None).await })
    };
    tx.send(Ok(bytes::Bytes::from(data(100_000, 5)))).await.unwrap();
    image::wait_for_status(&demo, &img.id, &["saving"], std::time::Duration::from_secs(5)).await.unwrap();
    image::delete_image(&demo, &img.id).await.unwrap();
    tx.send(Ok(bytes::Bytes::from(data(100_000, 6)))).await.unwrap();
    drop(tx);
    let err = uploading.await.unwrap().unwrap_err();
    assert_eq!(err.status(), Some(410));
    assert!(
        err.to_string().ends_with(&format!(
            "Image {} could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded.",
            img.id
        )),
        "{err}"
    );
    assert!(data_files(&cloud).is_empty(), "{:?}", data_files(&cloud));
}

#[tokio::test]
async fn images_survive_a_restart_and_stray_temporaries_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let config = || sigstack_cloud::CloudConfig { data_dir: Some(dir.path().to_path_buf()), ..Default::default() };
    let cloud = sigstack_cloud::start(config()).await.unwrap();
    let demo = session(&cloud, "demo").await;
    let img = image::create_image(&demo, &NewImage::raw("kept")).await.unwrap();
    let bytes = data(70_000, 7);
    image::upload(&demo, &img.id, std::io::Cursor::new(bytes.clone()), None).await.unwrap();
    let cut = image::create_image(&demo, &NewImage::raw("cut")).await.unwrap();
    let cut_import = image::create_image(&demo, &NewImage::raw("cut-import")).await.unwrap();
    cloud.shutdown().await;
    // What a process killed mid-upload and mid-import leaves behind.
    std::fs::write(dir.path().join("images/.upload-crashed"), b"partial").unwrap();
    let db = rusqlite::Connection::open(dir.path().join("sigstack.db")).unwrap();
    for (id, status) in [(&cut.id, "saving"), (&cut_import.id, "importing")] {
        let body: String = db.query_row("SELECT body FROM glance_images WHERE id = ?1", [id], |r| r.get(0)).unwrap();
        let mut v: Value = serde_json::from_str(&body).unwrap();
        v["status"] = json!(status);
        v["properties"]["os_glance_import_task"] = json!("t");
        db.execute("UPDATE glance_images SET body = ?2 WHERE id = ?1", [id, &v.to_string()]).unwrap();
    }
    drop(db);

    let cloud = sigstack_cloud::start(config()).await.unwrap();
    let demo = session(&cloud, "demo").await;
    assert_eq!(data_files(&cloud), vec![img.id.clone()]);
    let got = image::get_image(&demo, &img.id).await.unwrap();
    assert_eq!((got.status.as_str(), got.checksum.as_deref()), ("active", Some(md5_hex(&bytes).as_str())));
    let download = image::download(&demo, &img.id).await.unwrap().unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());
    // Cut-short uploads and imports are queued again, the import lock released.
    for id in [&cut.id, &cut_import.id] {
        let got = image::get_image(&demo, id).await.unwrap();
        assert_eq!((got.status.as_str(), got.property("os_glance_import_task")), ("queued", None));
    }
}
