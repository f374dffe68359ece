//! Encrypted volumes on a compute host: before the driver attaches one, Nova reads its
//! encryption metadata from Cinder (`GET /volumes/{id}/encryption`) and its key from Barbican
//! with the user's token (`_attach_encryptor` through castellan). The key's Barbican rules
//! decide: a project member the key is private from cannot attach the volume or boot from it,
//! one on the key's ACL can, and nobody can once the key is deleted. A refused attach leaves the
//! volume `available` and the server without it; a refused boot is rescheduled until the hosts
//! run out, with castellan's message as the reschedule reason.

mod nova_support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Credentials;
use sigstack_client::compute::{self, NewServer, NewVolumeAttachment};
use sigstack_client::key_manager::{self, Acl, AclEntry};
use sigstack_client::volume::{self, EncryptionType, NewVolume, NewVolumeType, Volume};
use sigstack_client::{Session, identity};
use sigstack_cloud::CloudHandle;

use nova_support as nova;

const WAIT: Duration = Duration::from_secs(20);
const V279: &str = "2.79";
const FORBIDDEN: &str = "Key manager error: Forbidden: Secret retrieval attempt not allowed - please review your user/project privileges";

struct Setup {
    cloud: CloudHandle,
    admin: Session,
    /// demo with `creator`: owns the server, the volume and (so) the key.
    demo: Session,
    /// A second `creator` of demo's project, who did not create the key.
    colleague: Session,
    colleague_id: String,
    server: String,
}

/// A cloud verifying signatures, the admin's LUKS type, demo's ACTIVE server from a signed
/// image, and a colleague in demo's project.
async fn setup() -> Setup {
    let cloud = nova::cloud(nova::deployment(true, false, nova::two_local_nodes())).await;
    let admin = nova::session(&cloud, "admin").await;
    let t = volume::create_volume_type(&admin, &NewVolumeType { name: "luks".into(), ..NewVolumeType::default() }).await.unwrap();
    volume::create_encryption_type(&admin, &t.id, &EncryptionType::luks()).await.unwrap();
    let demo = nova::creator(&cloud).await;
    let (image, _, _) = nova::signed_image(&demo, "raw").await;
    let server = nova::boot_and_settle(&demo, &image, None, None).await;
    nova::assert_active(&server);

    let template = cloud.credentials("demo").expect("seeded demo");
    let project = demo.token().project.clone().expect("scoped").id;
    let domain = identity::domain_id(&admin, &template.user_domain_name).await.unwrap();
    let user = identity::create_user(&admin, "colleague", "colleague-password", &domain, &project).await.unwrap();
    for role in ["member", "creator"] {
        let role_id = identity::role_id(&admin, role).await.unwrap();
        identity::grant(&admin, &project, &user.id, &role_id).await.unwrap();
    }
    let credentials = Credentials { username: "colleague".into(), password: "colleague-password".into(), ..template };
    let colleague = Session::authenticate(&credentials).await.expect("colleague logs in");
    Setup { cloud, admin, demo, colleague, colleague_id: user.id, server: server.id }
}

/// A blank 1 GiB volume of `volume_type` (or the default), once available.
async fn blank_volume(s: &Session, volume_type: Option<&str>) -> Volume {
    let new = NewVolume { size: 1, volume_type: volume_type.map(str::to_owned), ..NewVolume::default() };
    let created = volume::create_volume(s, &new).await.expect("create accepted");
    let done = volume::wait_for_volume_status(s, &created.id, &["available", "error"], WAIT).await.unwrap();
    assert_eq!(done.status, "available", "{done:?}");
    done
}

/// `GET /volumes/{id}/encryption` as `s`: status and body.
async fn encryption_metadata(s: &Session, volume_id: &str) -> (StatusCode, Value) {
    let url = format!("{}/volumes/{volume_id}/encryption", volume::project_url(s).unwrap());
    let r = volume::request(s, Method::GET, &url).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Attaches as `s` (the API accepts: the key is the compute host's business) and waits for
/// Cinder's verdict: `in-use`, or `available` again when the host gave up (and the server's
/// `owner` no longer sees it mapped).
async fn attach_and_settle(s: &Session, owner: &Session, server: &str, volume_id: &str) -> Volume {
    let request = NewVolumeAttachment::volume(volume_id);
    compute::attach_volume(s, V279, server, &request).await.expect("attach accepted");
    let settled = volume::wait_for_volume_status(s, volume_id, &["in-use", "available"], WAIT).await.unwrap();
    // A refused attach frees the volume in Cinder first and drops Nova's mapping after (as
    // Nova's compute manager does): wait for both before the next attach.
    if settled.status == "available" {
        wait_unmapped(owner, server, volume_id).await;
    }
    settled
}

/// Nova drops a volume's mapping after Cinder frees the volume (a refused attach, a detach),
/// as its compute manager does: waits until the server's `owner` no longer sees it.
async fn wait_unmapped(owner: &Session, server: &str, volume_id: &str) {
    let started = std::time::Instant::now();
    while attached_volumes(owner, server).await.contains(&volume_id.to_owned()) {
        assert!(started.elapsed() < WAIT, "Nova still maps {volume_id} after {WAIT:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn attached_volumes(s: &Session, server: &str) -> Vec<String> {
    compute::list_volume_attachments(s, V279, server).await.unwrap().into_iter().map(|a| a.volume_id).collect()
}

/// Makes the key private to its creator (and the listed users).
async fn restrict_key(owner: &Session, key: &str, users: &[&str]) {
    let acl = Acl {
        read: AclEntry { users: Some(users.iter().map(|u| (*u).to_owned()).collect()), project_access: Some(false), ..AclEntry::default() },
    };
    key_manager::set_acl(owner, key, &acl).await.expect("owner sets the key's ACL");
}

async fn detach_and_settle(s: &Session, server: &str, volume_id: &str) {
    compute::detach_volume(s, server, volume_id).await.expect("detach accepted");
    volume::wait_for_volume_status(s, volume_id, &["available"], WAIT).await.expect("detached");
    wait_unmapped(s, server, volume_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cinder_shows_a_volumes_encryption_metadata_to_its_project() {
    let s = setup().await;
    let encrypted = blank_volume(&s.demo, Some("luks")).await;
    let (status, body) = encryption_metadata(&s.colleague, &encrypted.id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let key = body["encryption_key_id"].as_str().expect("a key id").to_owned();
    let spec = EncryptionType::luks();
    assert_eq!(
        body,
        json!({"encryption_key_id": key, "provider": spec.provider, "cipher": spec.cipher, "key_size": spec.key_size, "control_location": spec.control_location})
    );
    // The key is a real secret of demo's project in Barbican.
    assert_eq!(key_manager::get_secret(&s.demo, &key).await.unwrap().secret_type, "symmetric");

    let plain = blank_volume(&s.demo, None).await;
    assert_eq!(encryption_metadata(&s.demo, &plain.id).await, (StatusCode::OK, json!({"encryption_key_id": null})));
    // Another project sees neither volume.
    let alt = nova::session(&s.cloud, "alt_demo").await;
    let (status, body) = encryption_metadata(&alt, &encrypted.id).await;
    assert_eq!(
        (status, body["itemNotFound"]["message"].as_str()),
        (StatusCode::NOT_FOUND, Some(format!("Volume {} could not be found.", encrypted.id).as_str()))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn attaching_an_encrypted_volume_needs_its_key_from_barbican() {
    let s = setup().await;
    let vol = blank_volume(&s.demo, Some("luks")).await;
    let key = encryption_metadata(&s.demo, &vol.id).await.1["encryption_key_id"].as_str().unwrap().to_owned();

    // While the key is readable by the project, the colleague attaches it.
    assert_eq!(attach_and_settle(&s.colleague, &s.demo, &s.server, &vol.id).await.status, "in-use");
    assert_eq!(attached_volumes(&s.demo, &s.server).await, vec![vol.id.clone()]);
    detach_and_settle(&s.demo, &s.server, &vol.id).await;

    // Private to demo: the colleague's attach is accepted, then fails on the host.
    restrict_key(&s.demo, &key, &[]).await;
    let refused = attach_and_settle(&s.colleague, &s.demo, &s.server, &vol.id).await;
    assert_eq!(refused.status, "available", "{refused:?}");
    assert!(attached_volumes(&s.demo, &s.server).await.is_empty());
    assert!(volume::list_attachments(&s.demo).await.unwrap().iter().all(|a| a.volume_id != vol.id));
    // demo, the key's creator, still can.
    assert_eq!(attach_and_settle(&s.demo, &s.demo, &s.server, &vol.id).await.status, "in-use");
    detach_and_settle(&s.demo, &s.server, &vol.id).await;

    // On the key's ACL, the colleague can again.
    restrict_key(&s.demo, &key, &[&s.colleague_id]).await;
    assert_eq!(attach_and_settle(&s.colleague, &s.demo, &s.server, &vol.id).await.status, "in-use");
    detach_and_settle(&s.demo, &s.server, &vol.id).await;

    // Once the key is gone, nobody can; an unencrypted volume never asks Barbican.
    key_manager::delete_secret(&s.demo, &key).await.unwrap();
    assert_eq!(attach_and_settle(&s.demo, &s.demo, &s.server, &vol.id).await.status, "available");
    assert!(attached_volumes(&s.demo, &s.server).await.is_empty());
    let plain = blank_volume(&s.demo, None).await;
    assert_eq!(attach_and_settle(&s.demo, &s.demo, &s.server, &plain.id).await.status, "in-use");
}

/// A server booting from `volume_id` as `s`; its id.
async fn boot_from_volume(s: &Session, volume_id: &str) -> String {
    let mut server = NewServer { name: "bfv".into(), flavor_ref: "1".into(), networks: Some(json!("none")), ..NewServer::default() };
    server.block_device_mapping_v2 =
        vec![json!({"boot_index": 0, "uuid": volume_id, "source_type": "volume", "destination_type": "volume"})];
    compute::create_server(s, nova::V263, &server).await.expect("create accepted").id
}

#[tokio::test(flavor = "multi_thread")]
async fn booting_from_an_encrypted_volume_whose_key_is_refused_reschedules_then_fails() {
    let s = setup().await;
    let vol = blank_volume(&s.demo, Some("luks")).await;
    let key = encryption_metadata(&s.demo, &vol.id).await.1["encryption_key_id"].as_str().unwrap().to_owned();
    restrict_key(&s.demo, &key, &[]).await;

    let id = boot_from_volume(&s.colleague, &vol.id).await;
    let failed = nova::settle(&s.colleague, &id).await;
    assert_eq!(
        nova::fault(&failed),
        format!("Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance {id}.")
    );
    let seen_by_admin = compute::get_server(&s.admin, nova::V263, &id).await.unwrap();
    let details = seen_by_admin.fault.and_then(|f| f.details).unwrap_or_default();
    assert!(details.contains(&format!("Last reschedule reason: {FORBIDDEN}\n")), "{details}");
    // Each host detached the volume when it gave up.
    let after = volume::get_volume(&s.demo, &vol.id).await.unwrap();
    assert_eq!(after.status, "available", "{after:?}");
    assert!(volume::list_attachments(&s.demo).await.unwrap().iter().all(|a| a.volume_id != vol.id));

    // With the colleague on the key's ACL, the same boot works and the volume is in use.
    restrict_key(&s.demo, &key, &[&s.colleague_id]).await;
    let id = boot_from_volume(&s.colleague, &vol.id).await;
    nova::assert_active(&nova::settle(&s.colleague, &id).await);
    assert_eq!(volume::get_volume(&s.demo, &vol.id).await.unwrap().status, "in-use");
}
