//! Cinder's part of `tests/parity_compute.rs`: a volume from a signed, an unsigned and a
//! tampered image (create answer, then the volume once settled: `signature_verified` in its
//! image metadata, or `error`), and the user messages the failure left.

use reqwest::Method;
use serde_json::{Value, json};
use sigstack_client::volume;

use super::Target;
use super::compute_setup::{ComputeUser, Ledger, VOLUME, disk, image, settled_messages, settled_volume, signature_properties};
use super::recorder::{Recorder, expect};

/// The target's default volume type (`GET /types/default`).
async fn default_volume_type(u: &ComputeUser) -> String {
    let url = format!("{}/types/default", volume::project_url(&u.session).expect("volume endpoint"));
    let response = volume::request_at(&u.session, Method::GET, &url, VOLUME).send().await.expect("default type shown");
    assert_eq!(response.status().as_u16(), 200, "the default volume type");
    let body: Value = response.json().await.expect("volume type JSON");
    body["volume_type"]["name"].as_str().expect("type name").to_owned()
}

/// The name of the volume type is the deployment's (the real stack has Cinder's
/// `__DEFAULT__`, the simulator a type named after its back end): checked to be the target's
/// default type, then shown as `[the default volume type]`.
fn volume_view(default_type: &str) -> impl Fn(&mut Value) + '_ {
    move |body: &mut Value| {
        if let Some(name) = body.pointer_mut("/volume/volume_type") {
            assert_eq!(name, default_type, "the volume's type is not the default one");
            *name = json!("[the default volume type]");
        }
    }
}

pub async fn cinder(r: &mut Recorder, target: &Target, u: &ComputeUser, ledger: &Ledger) {
    let default_type = default_volume_type(u).await;
    let client = u.certificate("client").to_owned();
    let signed_data = disk(11);
    let signed =
        image(u, ledger, "parity-volume-signed", &signed_data.bytes, &signature_properties(&signed_data.bytes, &client), &[]).await;
    let unsigned = image(u, ledger, "parity-volume-unsigned", &disk(12).bytes, &[], &[]).await;
    let tampered_data = disk(13);
    let tampered =
        image(u, ledger, "parity-volume-tampered", &tampered_data.tampered(), &[], &signature_properties(&tampered_data.bytes, &client))
            .await;
    let volumes = format!("{}/volumes", volume::project_url(&u.session).expect("volume endpoint"));
    let cases = [
        ("cinder_volume_create_signed", "cinder_volume_show_signed", "a signed image", signed),
        ("cinder_volume_create_unsigned", "cinder_volume_show_unsigned", "an unsigned image", unsigned),
        ("cinder_volume_create_tampered", "cinder_volume_show_tampered", "an image whose signature does not match", tampered),
    ];
    let mut made = Vec::new();
    for (create, show, what, image) in cases {
        let name = create.trim_start_matches("cinder_volume_create_");
        let (status, created, bytes) = r
            .send_viewed(
                create,
                &format!("POST /volumes (3.71, 1 GiB from {what})"),
                volume::request_at(&u.session, Method::POST, &volumes, VOLUME)
                    .json(&json!({"volume": {"imageRef": image, "name": format!("parity-{name}"), "size": 1}})),
                volume_view(&default_type),
            )
            .await;
        expect(create, status, 202, &bytes);
        let id = created["volume"]["id"].as_str().expect("volume id").to_owned();
        ledger.volume(&id);
        settled_volume(&u.session, &id).await;
        r.send_viewed(
            show,
            &format!("GET /volumes/{{id}} (3.71, created from {what}, settled)"),
            volume::request_at(&u.session, Method::GET, &format!("{volumes}/{id}"), VOLUME),
            volume_view(&default_type),
        )
        .await;
        made.push(id);
    }
    // Filtered by volume, as a client asks: Cinder 29 lists every project's messages to any
    // user (`_messages_get_query` is not project-scoped), so an unfiltered listing depends on
    // what other projects did.
    let (signed, tampered) = (&made[0], &made[2]);
    settled_messages(&u.session, tampered).await;
    let messages = format!("{}/messages", volume::project_url(&u.session).expect("volume endpoint"));
    let (_, listed, _) = r
        .send(
            "cinder_messages_about_tampered",
            "GET /messages?resource_uuid={the tampered volume} (3.71)",
            volume::request_at(&u.session, Method::GET, &messages, VOLUME).query(&[("resource_uuid", tampered)]),
        )
        .await;
    // Another project's user lists them too (`_messages_get_query(project_only=False)`), but
    // cannot show one (`_message_get` is project-scoped).
    let others = format!("{}/messages", volume::project_url(&target.alt_demo).expect("volume endpoint"));
    r.send(
        "cinder_messages_about_tampered_other_project",
        "GET /messages?resource_uuid={the tampered volume} (3.71, alt_demo: another project)",
        volume::request_at(&target.alt_demo, Method::GET, &others, VOLUME).query(&[("resource_uuid", tampered)]),
    )
    .await;
    let first = listed["messages"][0]["id"].as_str().expect("a message about the tampered volume");
    r.send(
        "cinder_message_show_other_project",
        "GET /messages/{id} (3.71, alt_demo: a message of another project)",
        volume::request_at(&target.alt_demo, Method::GET, &format!("{others}/{first}"), VOLUME),
    )
    .await;
    r.send(
        "cinder_messages_about_signed",
        "GET /messages?resource_uuid={the signed volume} (3.71, none)",
        volume::request_at(&u.session, Method::GET, &messages, VOLUME).query(&[("resource_uuid", signed)]),
    )
    .await;
}
