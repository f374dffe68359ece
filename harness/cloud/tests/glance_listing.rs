//! Simulated Glance v2: `GET /v2/images` filters and sorting as tempest's `ListUserImagesTest`
//! uses them (size ranges, `sort=key:dir`, classic `sort_key`/`sort_dir`, several tags,
//! hidden images) and glance's messages for bad ones.

mod glance_support;

use glance_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;
use sigstack_client::image::{self, NewImage};

async fn list(s: &Session, query: &str) -> (StatusCode, Value) {
    let r = req(s, Method::GET, &format!("/v2/images{query}")).header("Accept", "application/json").send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn ids(body: &Value) -> Vec<String> {
    body["images"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// Three private images of demo with data of 1000, 2000 and 3000 bytes, tagged.
async fn fixtures(demo: &Session) -> Vec<String> {
    let mut out = Vec::new();
    for (i, size) in [1000usize, 2000, 3000].into_iter().enumerate() {
        let tags = if i == 0 { vec!["t1".to_owned(), "t2".to_owned()] } else { vec!["t1".to_owned()] };
        let img = image::create_image(demo, &NewImage { visibility: Some("private".into()), tags, ..NewImage::raw(&format!("list-{i}")) })
            .await
            .unwrap();
        let (status, _) = put_file(demo, &img.id, data(size, i as u8), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        out.push(img.id);
    }
    out
}

#[tokio::test]
async fn filters_and_sorting() {
    let cloud = cloud().await;
    let demo = session(&cloud, "demo").await;
    let made = fixtures(&demo).await;

    let (status, body) = list(&demo, "?size_min=1500&size_max=2500").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), vec![made[1].clone()]);
    let (_, body) = list(&demo, "?size=3000").await;
    assert_eq!(ids(&body), vec![made[2].clone()]);

    for query in ["?visibility=private&sort=size:desc", "?visibility=private&sort_key=size&sort_dir=desc"] {
        let (status, body) = list(&demo, query).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(ids(&body), vec![made[2].clone(), made[1].clone(), made[0].clone()], "{query}");
    }
    let (_, body) = list(&demo, "?visibility=private&sort=size:asc").await;
    assert_eq!(ids(&body), made);
    // `sort=name` alone is descending.
    let (_, body) = list(&demo, "?visibility=private&sort=name").await;
    assert_eq!(ids(&body), vec![made[2].clone(), made[1].clone(), made[0].clone()]);

    // Every tag must match.
    let (_, body) = list(&demo, "?tag=t1&tag=t2").await;
    assert_eq!(ids(&body), vec![made[0].clone()]);
    let (_, body) = list(&demo, "?tag=t1").await;
    assert_eq!(ids(&body).len(), 3);

    // `in:` and the operators on names.
    let (_, body) = list(&demo, "?name=in:list-0,list-2&sort=name:asc").await;
    assert_eq!(ids(&body), vec![made[0].clone(), made[2].clone()]);

    // Hidden images only when asked for.
    let (status, _) = json_patch_hidden(&demo, &made[1]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = list(&demo, "?visibility=private").await;
    assert!(!ids(&body).contains(&made[1]));
    let (_, body) = list(&demo, "?os_hidden=true").await;
    assert_eq!(ids(&body), vec![made[1].clone()]);

    for (query, expected) in [
        ("?size_min=big", "Unable to filter on a range with a non-numeric value."),
        ("?name=like:x", "Unable to filter by unknown operator 'like'."),
        ("?sort=name&sort_key=size", "Old and new sorting syntax cannot be combined"),
        ("?sort_key=name&sort_dir=asc&sort_dir=desc&sort_dir=asc", "Number of sort dirs does not match the number of sort keys"),
        ("?changes-since=2020-01-01T00:00:00Z", "The \"changes-since\" filter is no longer available on v2."),
        ("?created_at=gt:yesterday", "Bad \"created_at\" query filter format. Use ISO 8601 DateTime notation."),
        ("?member_status=maybe", "Invalid status: maybe"),
        ("?os_hidden=maybe", "Invalid value 'maybe' for 'os_hidden' filter. Valid values are 'true' or 'false'."),
    ] {
        let r = req(&demo, Method::GET, &format!("/v2/images{query}")).header("Accept", "application/json").send().await.unwrap();
        let status = r.status();
        assert_eq!((status, message(&r.text().await.unwrap())), (StatusCode::BAD_REQUEST, expected.to_owned()), "{query}");
    }
    let (_, body) = list(&demo, "?created_at=gte:2000-01-01T00:00:00Z&visibility=private").await;
    assert_eq!(ids(&body).len(), 2);
}

async fn json_patch_hidden(s: &Session, id: &str) -> (StatusCode, String) {
    let r = req(s, Method::PATCH, &format!("/v2/images/{id}"))
        .header("Content-Type", "application/openstack-images-v2.1-json-patch")
        .body(json!([{"op": "replace", "path": "/os_hidden", "value": true}]).to_string())
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}
