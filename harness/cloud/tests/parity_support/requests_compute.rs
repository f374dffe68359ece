//! The Nova and Cinder requests of `tests/parity_compute.rs`, in a fixed order: server creates
//! refused by the schema, a trusted boot, its rebuild and snapshot, a boot per fault (each
//! show recorded once the build is over), then volumes from signed, unsigned and tampered
//! images and the user messages. Every boot gets an image of its own: a compute node does not
//! verify an image it already has in its cache.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use reqwest::Method;
use serde_json::{Value, json};
use sigstack_client::compute;

use super::compute_setup::{
    ComputeUser, EMBEDDED_IMAGE_PROPERTIES, FLAVOR, Ledger, PRE_TRUSTED_CERTS, SHOW, TRUSTED_CERTS, compute_user, disk, image, image_in,
    raw_disk, settled_server, signature_properties, wait_until,
};
use super::recorder::{Recorder, expect};
use super::{Answers, Target};

/// Sends every request to `target`, then deletes what they made (also when one failed).
pub async fn run(target: &Target) -> Answers {
    let ledger = Ledger::default();
    let mut r = Recorder::default();
    let outcome = AssertUnwindSafe(async {
        let u = compute_user(target, &ledger).await;
        let flavor = flavor(&u).await;
        nova_schema(&mut r, &u, &ledger).await;
        nova_trusted_boot(&mut r, target, &u, &ledger, &flavor).await;
        nova_faults(&mut r, target, &u, &ledger, &flavor).await;
        super::requests_volume::cinder(&mut r, target, &u, &ledger).await;
    })
    .catch_unwind()
    .await;
    ledger.clean_up(target).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    r.answers
}

/// Flavor 42 as the target defines it.
async fn flavor(u: &ComputeUser) -> Value {
    let url = format!("{}/flavors/{FLAVOR}", compute::endpoint(&u.session).expect("compute endpoint"));
    let response = compute::request_at(&u.session, Method::GET, &url, SHOW).send().await.expect("flavor shown");
    assert_eq!(response.status().as_u16(), 200, "flavor {FLAVOR}");
    response.json::<Value>().await.expect("flavor JSON")["flavor"].clone()
}

/// What the answers hold that no two runs share, or that is the deployment's rather than
/// Nova's: `adminPass` (random); the hypervisor's host name (libvirt's, the machine's name on
/// the real stack); and, from 2.47, the sizes of the flavor a server embeds (the real stack's
/// m1.nano has 64 MiB, the simulator's 128 MiB), checked against the target's own flavor 42
/// and then shown as `[flavor 42]`.
fn server_view(flavor: &Value) -> impl Fn(&mut Value) + '_ {
    move |body: &mut Value| {
        if let Some(pass) = body.pointer_mut("/server/adminPass") {
            *pass = json!("[password]");
        }
        if let Some(node) = body.pointer_mut("/server/OS-EXT-SRV-ATTR:hypervisor_hostname").filter(|n| n.is_string()) {
            *node = json!("[the compute node's hypervisor]");
        }
        if let Some(embedded) = body.pointer_mut("/server/flavor").and_then(Value::as_object_mut)
            && embedded.contains_key("original_name")
        {
            for size in ["ram", "disk", "vcpus"] {
                assert_eq!(embedded.get(size), flavor.get(size), "the server's flavor {size} is not flavor {FLAVOR}'s");
                embedded.insert(size.into(), json!("[flavor 42]"));
            }
        }
    }
}

/// `{"server": {...}}` for `POST /servers`, its keys in order: Nova's schema errors show the
/// server dict as it came.
fn server_body(name: &str, image: &str, trusted: Option<Value>) -> Value {
    let mut server = json!({"flavorRef": FLAVOR, "imageRef": image, "name": name, "networks": "none"});
    if let Some(trusted) = trusted {
        server["trusted_image_certificates"] = trusted;
    }
    json!({"server": server})
}

fn servers_url(u: &ComputeUser) -> String {
    format!("{}/servers", compute::endpoint(&u.session).expect("compute endpoint"))
}

/// `trusted_image_certificates` before 2.63, and each of its schema errors at 2.63.
async fn nova_schema(r: &mut Recorder, u: &ComputeUser, ledger: &Ledger) {
    let image = image(u, ledger, "parity-schema", &disk(20).bytes, &[], &[]).await;
    let url = servers_url(u);
    r.send(
        "nova_server_create_pre_2_63_trusted_certs",
        "POST /servers (2.62, trusted_image_certificates [\"a\"])",
        compute::request_at(&u.session, Method::POST, &url, PRE_TRUSTED_CERTS).json(&server_body(
            "parity-schema",
            &image,
            Some(json!(["a"])),
        )),
    )
    .await;
    let fifty_one: Vec<String> = (0..=50).map(|i| format!("c{i}")).collect();
    let cases = [
        ("nova_server_create_400_trusted_certs_empty", "[]", json!([])),
        ("nova_server_create_400_trusted_certs_duplicate", "[\"a\", \"a\"]", json!(["a", "a"])),
        ("nova_server_create_400_trusted_certs_too_many", "51 ids", json!(fifty_one)),
        ("nova_server_create_400_trusted_certs_empty_id", "[\"\"]", json!([""])),
        ("nova_server_create_400_trusted_certs_not_strings", "[1, 2]", json!([1, 2])),
        ("nova_server_create_400_trusted_certs_not_a_list", "\"x\"", json!("x")),
    ];
    for (name, what, value) in cases {
        r.send(
            name,
            &format!("POST /servers (2.63, trusted_image_certificates {what})"),
            compute::request_at(&u.session, Method::POST, &url, TRUSTED_CERTS).json(&server_body("parity-schema", &image, Some(value))),
        )
        .await;
    }
}

/// One boot: the create answer, and once the build is over the owner's show (and the
/// admin's, which adds the host attributes and the fault's `details`). The server's id if
/// Nova accepted it.
struct Boot<'a> {
    create: &'static str,
    show: &'static str,
    admin_show: Option<&'static str>,
    what: &'a str,
    server_name: &'a str,
    image: String,
    trusted: Option<Value>,
}

async fn boot(r: &mut Recorder, target: &Target, u: &ComputeUser, ledger: &Ledger, flavor: &Value, b: Boot<'_>) -> Option<String> {
    let url = servers_url(u);
    let body = server_body(b.server_name, &b.image, b.trusted);
    let (status, created, _) = r
        .send_viewed(
            b.create,
            &format!("POST /servers (2.63, {})", b.what),
            compute::request_at(&u.session, Method::POST, &url, TRUSTED_CERTS).json(&body),
            server_view(flavor),
        )
        .await;
    if status != 202 {
        return None;
    }
    let id = created["server"]["id"].as_str().expect("server id").to_owned();
    ledger.server(&id);
    settled_server(&u.session, &id).await;
    let server_url = format!("{url}/{id}");
    r.send_viewed(
        b.show,
        &format!("GET /servers/{{id}} (2.96, owner; booted with {})", b.what),
        compute::request_at(&u.session, Method::GET, &server_url, SHOW),
        server_view(flavor),
    )
    .await;
    if let Some(name) = b.admin_show {
        r.send_viewed(
            name,
            &format!("GET /servers/{{id}} (2.96, admin; booted with {})", b.what),
            compute::request_at(&target.admin, Method::GET, &server_url, SHOW),
            server_view(flavor),
        )
        .await;
    }
    Some(id)
}

/// A boot the signer's chain validates, its rebuild to another signed image with the list
/// again, and its snapshot (`createImage`), which Glance shows without the signature
/// properties.
async fn nova_trusted_boot(r: &mut Recorder, target: &Target, u: &ComputeUser, ledger: &Ledger, flavor: &Value) {
    let chain = u.certificates_of(&["root", "intermediate-a", "intermediate-b"]);
    let data = disk(1);
    let signed = image(u, ledger, "parity-signed", &data.bytes, &signature_properties(&data.bytes, u.certificate("client")), &[]).await;
    let trusted = Boot {
        create: "nova_server_create_trusted_certs",
        show: "nova_server_show_active",
        admin_show: Some("nova_server_show_active_admin"),
        what: "trusted_image_certificates: the signer's chain",
        server_name: "parity-trusted",
        image: signed,
        trusted: Some(chain.clone()),
    };
    let id = boot(r, target, u, ledger, flavor, trusted).await.expect("the trusted boot is accepted");
    // From 2.98 the image's properties Nova keeps, with the libvirt driver's `hw_*` defaults
    // registered once the guest ran.
    r.send_viewed(
        "nova_server_show_active_2_98",
        "GET /servers/{id} (2.98, owner; ACTIVE: the image's properties)",
        compute::request_at(&u.session, Method::GET, &format!("{}/{id}", servers_url(u)), EMBEDDED_IMAGE_PROPERTIES),
        server_view(flavor),
    )
    .await;
    let action_url = format!("{}/{id}/action", servers_url(u));
    // A RAW image this time: its snapshot is still the local disk's qcow2.
    let data = raw_disk(2);
    let properties = signature_properties(&data.bytes, u.certificate("client"));
    let rebuild_image = image_in(u, ledger, "parity-rebuild", "raw", &data.bytes, &properties, &[]).await;
    let (status, _, bytes) = r
        .send_viewed(
            "nova_server_rebuild_trusted_certs",
            "POST /servers/{id}/action (2.63, rebuild to another signed image, trusted_image_certificates: the chain)",
            compute::request_at(&u.session, Method::POST, &action_url, TRUSTED_CERTS)
                .json(&json!({"rebuild": {"imageRef": rebuild_image, "trusted_image_certificates": chain}})),
            server_view(flavor),
        )
        .await;
    expect("nova_server_rebuild_trusted_certs", status, 202, &bytes);
    settled_server(&u.session, &id).await;
    r.send_viewed(
        "nova_server_show_rebuilt",
        "GET /servers/{id} (2.96, owner; after the rebuild)",
        compute::request_at(&u.session, Method::GET, &format!("{}/{id}", servers_url(u)), SHOW),
        server_view(flavor),
    )
    .await;
    let (status, snapshot, bytes) = r
        .send(
            "nova_server_create_image",
            "POST /servers/{id}/action (2.96, createImage)",
            compute::request_at(&u.session, Method::POST, &action_url, SHOW).json(&json!({"createImage": {"name": "parity-snapshot"}})),
        )
        .await;
    expect("nova_server_create_image", status, 202, &bytes);
    let snapshot = snapshot["image_id"].as_str().expect("image_id").to_owned();
    ledger.image(&snapshot);
    let snapshot_url = format!("{}/images/{snapshot}", sigstack_client::image::v2(&u.session).expect("image endpoint"));
    wait_until(
        &format!("snapshot {snapshot}"),
        || u.session.request(Method::GET, &snapshot_url),
        |body| matches!(body["status"].as_str(), Some("active" | "killed" | "deleted")),
    )
    .await;
    settled_server(&u.session, &id).await;
    r.send_viewed(
        "glance_snapshot_show",
        "GET /v2/images/{id} (the server's snapshot, active)",
        u.session.request(Method::GET, &snapshot_url).header("Accept", "application/json"),
        snapshot_view,
    )
    .await;
}

/// The snapshot's bytes are what the hypervisor's `qemu-img convert` wrote (the real stack's)
/// or the simulator's copy: their digests and size are checked present, then not compared.
/// Its properties, `virtual_size` and formats are. `boot_roles` joins the booting token's
/// roles, which Keystone lists in the order of a Python set (string hashes are salted per
/// process): compared sorted.
fn snapshot_view(body: &mut Value) {
    for key in ["checksum", "os_hash_value", "size"] {
        if let Some(value) = body.get_mut(key) {
            assert!(!value.is_null(), "an active snapshot has its {key}");
            *value = json!("[the snapshot's data]");
        }
    }
    if let Some(roles) = body.get_mut("boot_roles").and_then(|r| r.as_str().map(str::to_owned)) {
        let mut sorted: Vec<&str> = roles.split(',').collect();
        sorted.sort_unstable();
        body["boot_roles"] = json!(sorted.join(","));
    }
}

/// A boot per fault, with the certificates the case needs (each image its own).
async fn nova_faults(r: &mut Recorder, target: &Target, u: &ComputeUser, ledger: &Ledger, flavor: &Value) {
    let chain = u.certificates_of(&["root", "intermediate-a", "intermediate-b"]);
    let client = u.certificate("client").to_owned();
    let unknown = uuid::Uuid::new_v4().to_string();
    let signed = |seed: u8, name: &'static str| {
        let data = disk(seed);
        let properties = signature_properties(&data.bytes, &client);
        async move { image(u, ledger, name, &data.bytes, &properties, &[]).await }
    };
    // Signature properties added after an unsigned upload of other data, or with a value
    // Glance would have refused at upload.
    let added_after = |seed: u8, name: &'static str, tamper: bool, change: Option<(&'static str, String)>| {
        let data = disk(seed);
        let mut properties = signature_properties(&data.bytes, &client);
        if let Some((key, value)) = change {
            properties.iter_mut().filter(|(k, _)| *k == key).for_each(|(_, v)| *v = value.clone());
        }
        let bytes = if tamper { data.tampered() } else { data.bytes.clone() };
        async move { image(u, ledger, name, &bytes, &[], &properties).await }
    };
    let cases = [
        Boot {
            create: "nova_server_create_no_trusted_certs",
            show: "nova_server_show_fault_no_trusted_certs",
            admin_show: None,
            what: "no trusted_image_certificates, certificate validation on",
            server_name: "parity-no-trusted-certs",
            image: signed(3, "parity-no-trusted-certs").await,
            trusted: None,
        },
        Boot {
            create: "nova_server_create_tampered",
            show: "nova_server_show_fault_signature_mismatch",
            admin_show: Some("nova_server_show_fault_signature_mismatch_admin"),
            what: "a signature that does not match the data, the chain trusted",
            server_name: "parity-tampered",
            image: added_after(4, "parity-tampered", true, None).await,
            trusted: Some(chain.clone()),
        },
        Boot {
            create: "nova_server_create_signer_not_trusted",
            show: "nova_server_show_fault_certificate_not_trusted",
            admin_show: Some("nova_server_show_fault_certificate_not_trusted_admin"),
            what: "trusted_image_certificates: intermediate-a only",
            server_name: "parity-not-trusted",
            image: signed(5, "parity-not-trusted").await,
            trusted: Some(u.certificates_of(&["intermediate-a"])),
        },
        Boot {
            create: "nova_server_create_unknown_signing_certificate",
            show: "nova_server_show_fault_unknown_signing_certificate",
            admin_show: None,
            what: "img_signature_certificate_uuid not in Barbican, the chain trusted",
            server_name: "parity-unknown-signing-certificate",
            image: added_after(6, "parity-unknown-signing-certificate", false, Some(("img_signature_certificate_uuid", unknown.clone())))
                .await,
            trusted: Some(chain.clone()),
        },
        Boot {
            create: "nova_server_create_unknown_trusted_certificate",
            show: "nova_server_show_fault_unknown_trusted_certificate",
            admin_show: None,
            what: "trusted_image_certificates: an id not in Barbican",
            server_name: "parity-unknown-trusted-certificate",
            image: signed(7, "parity-unknown-trusted-certificate").await,
            trusted: Some(json!([unknown])),
        },
        Boot {
            create: "nova_server_create_unsigned",
            show: "nova_server_show_fault_missing_signature_properties",
            admin_show: None,
            what: "an unsigned image, the chain trusted",
            server_name: "parity-unsigned",
            image: image(u, ledger, "parity-unsigned", &disk(8).bytes, &[], &[]).await,
            trusted: Some(chain.clone()),
        },
        Boot {
            create: "nova_server_create_md5_hash_method",
            show: "nova_server_show_fault_md5_hash_method",
            admin_show: None,
            what: "img_signature_hash_method MD5 set after the upload, the chain trusted",
            server_name: "parity-md5",
            image: added_after(9, "parity-md5", false, Some(("img_signature_hash_method", "MD5".into()))).await,
            trusted: Some(chain.clone()),
        },
    ];
    for case in cases {
        boot(r, target, u, ledger, flavor, case).await;
    }
}
