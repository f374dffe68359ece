//! Cinder's user-message listing as `message_get_all` pages it: newest first, sorted by any
//! column (3.5), `limit`/`marker`/`offset` (3.5) with the next link, and the errors of each.

mod cinder_support;

use cinder_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SCHEDULER: &str = "schedule allocate volume:Could not find any available weighted backend.";
const VERIFICATION: &str = "copy image to volume:Image signature verification failed.";

fn texts(body: &Value) -> Vec<&str> {
    body["messages"].as_array().unwrap().iter().map(|m| m["user_message"].as_str().unwrap()).collect()
}

fn ids(body: &Value) -> Vec<&str> {
    body["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn messages_are_sorted_and_paged_from_3_5() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let cert = store_cert(&demo).await;
    let failed = volume_from(&demo, &tampered_image(&demo, "raw", &cert, &data(1000, 7)).await, None).await;
    assert_eq!(failed.status, "error");
    let p = project(&demo);
    let list = |query: &str, version: &'static str| {
        let demo = demo.clone();
        let path = format!("/v3/{p}/messages{query}");
        async move {
            let (status, _, body) = raw(&demo, Method::GET, &path, Some(version), None).await;
            (status, body)
        }
    };

    // Newest first: the scheduler's message follows the three attempts'.
    let (status, all) = list("", "3.5").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(texts(&all), [SCHEDULER, VERIFICATION, VERIFICATION, VERIFICATION]);
    assert!(all.get("messages_links").is_none(), "{all}");
    let (_, ascending) = list("?sort=created_at:asc", "3.5").await;
    assert_eq!(texts(&ascending)[3], SCHEDULER);
    let (_, by_event) = list("?sort_key=event_id&sort_dir=asc", "3.5").await;
    assert_eq!(texts(&by_event)[0], SCHEDULER, "VOLUME_VOLUME_001_003 before VOLUME_VOLUME_005_011");

    // Two pages of two, the first linking to the second.
    let (_, first) = list("?limit=2", "3.5").await;
    assert_eq!(ids(&first), ids(&all)[..2]);
    let next = first["messages_links"][0]["href"].as_str().unwrap();
    assert_eq!(first["messages_links"][0]["rel"], "next");
    assert!(next.ends_with(&format!("/v3/{p}/messages?limit=2&marker={}", ids(&all)[1])), "{next}");
    let (_, second) = list(&format!("?limit=2&marker={}", ids(&all)[1]), "3.5").await;
    assert_eq!(ids(&second), ids(&all)[2..]);
    let (_, past) = list(&format!("?limit=2&marker={}", ids(&all)[3]), "3.5").await;
    assert_eq!(past, json!({"messages": []}));
    let (_, offset) = list("?offset=3", "3.5").await;
    assert_eq!(ids(&offset), ids(&all)[3..]);

    // Before 3.5 nothing is paged, but a `limit` no longer than the list still earns a link.
    let (_, unpaged) = list("?limit=1", "3.3").await;
    assert_eq!(ids(&unpaged), ids(&all));
    assert!(unpaged["messages_links"][0]["href"].as_str().unwrap().contains("limit=1&marker="), "{unpaged}");

    let bad = |message: &str| json!({"badRequest": {"code": 400, "message": message}});
    for (query, message) in [
        ("?sort=bogus", "Invalid input received: Invalid sort key"),
        ("?sort=id:up", "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'."),
        ("?sort=id&sort_dir=asc", "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter."),
        ("?limit=-1", "limit param must be positive"),
        ("?limit=many", "limit param must be an integer"),
        ("?offset=-2", "offset must be >= 0"),
    ] {
        assert_eq!(list(query, "3.5").await, (StatusCode::BAD_REQUEST, bad(message)), "{query}");
    }
    let unknown = "0b7e1c8e-3d3c-4a0e-9b8e-5e0f6f1d2a3b";
    assert_eq!(
        list(&format!("?marker={unknown}"), "3.5").await,
        (StatusCode::NOT_FOUND, json!({"itemNotFound": {"code": 404, "message": format!("Message {unknown} could not be found.")}}))
    );
}
