//! Steps of `features/barbican.feature`: Barbican v1 secrets, roles, ACLs and expiry.

use cucumber::{given, then, when};
use reqwest::Method;
use sigstack_client::key_manager::{self, Acl, AclEntry, NewSecret};

use crate::ledger::Resource;
use crate::world::Conformance;

/// A fixture file by its repository path, from the copies embedded at build time (see
/// `build.rs`), so an installed binary needs no checkout.
pub fn fixture(path: &str) -> Vec<u8> {
    crate::FIXTURES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| bytes.to_vec())
        .unwrap_or_else(|| panic!("fixture {path} is not embedded: name it in a feature or in build.rs EXTRA_FIXTURES"))
}

/// `POST /v1/secrets` with the Nova document's certificate recipe; records the answer and,
/// on 201, the secret's uuid under `name`.
async fn store(w: &mut Conformance, user: &str, path: &str, name: &str, expiration: Option<String>) {
    let secret = NewSecret { expiration, ..NewSecret::certificate(&format!("{}-{name}", w.run), &fixture(path)) };
    store_secret(w, user, name, &secret).await;
}

/// `POST /v1/secrets` of `secret`; records the answer and, on 201, the uuid under `name`.
async fn store_secret(w: &mut Conformance, user: &str, name: &str, secret: &NewSecret) {
    let s = w.session(user).await;
    let url = format!("{}/secrets", key_manager::v1(&s).expect("key-manager endpoint"));
    let answer = w.record(s.request(Method::POST, &url).json(&secret)).await;
    if answer.status == 201 {
        let body: serde_json::Value = serde_json::from_str(&answer.body).expect("JSON body");
        let secret_ref = body["secret_ref"].as_str().expect("secret_ref");
        let uuid = key_manager::secret_uuid(secret_ref).to_owned();
        w.created(user, Resource::Secret { id: uuid.clone() });
        w.secrets.insert(name.to_owned(), uuid);
    }
}

#[when(expr = "{string} stores the certificate {string} as secret {string}")]
async fn stores(w: &mut Conformance, user: String, path: String, name: String) {
    store(w, &user, &path, &name, None).await;
}

#[given(expr = "{string} stored the certificate {string} as secret {string}")]
async fn stored(w: &mut Conformance, user: String, path: String, name: String) {
    store(w, &user, &path, &name, None).await;
    assert_eq!(w.answer().status, 201, "{}", w.answer().body);
}

#[given(expr = "{string} stored the certificate {string} as secret {string} expiring in {int} seconds")]
async fn stored_expiring(w: &mut Conformance, user: String, path: String, name: String, seconds: i64) {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    let expiration = at.format(&time::format_description::well_known::Rfc3339).expect("formats");
    store(w, &user, &path, &name, Some(expiration)).await;
    assert_eq!(w.answer().status, 201, "{}", w.answer().body);
}

/// The certificate recipe with an expiration one second ahead, then waits until it has passed.
#[given(expr = "{string} stored the certificate {string} as an expired secret {string}")]
async fn stored_expired(w: &mut Conformance, user: String, path: String, name: String) {
    stored_expiring(w, user, path, name, 1).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
}

/// The certificate recipe with `secret_type` "opaque" (Barbican's default type).
#[given(expr = "{string} stored the certificate {string} as an opaque secret {string}")]
async fn stored_opaque(w: &mut Conformance, user: String, path: String, name: String) {
    let secret = NewSecret { secret_type: Some("opaque".into()), ..NewSecret::certificate(&format!("{}-{name}", w.run), &fixture(&path)) };
    store_secret(w, &user, &name, &secret).await;
    assert_eq!(w.answer().status, 201, "{}", w.answer().body);
}

#[when(expr = "{int} seconds have passed")]
async fn wait(_w: &mut Conformance, seconds: u64) {
    tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
}

#[when(expr = "{string} reads the metadata of secret {string}")]
async fn reads_metadata(w: &mut Conformance, user: String, name: String) {
    let s = w.session(&user).await;
    let url = format!("{}/secrets/{}", key_manager::v1(&s).expect("key-manager endpoint"), w.secret(&name));
    w.record(s.request(Method::GET, &url).header("Accept", "application/json")).await;
}

#[given(expr = "{string} grants {string} read access to secret {string}")]
async fn grants_read(w: &mut Conformance, owner: String, reader: String, name: String) {
    let s = w.session(&owner).await;
    let reader_id = w.session(&reader).await.token().user.id.clone();
    let acl = Acl { read: AclEntry { users: Some(vec![reader_id]), ..AclEntry::default() } };
    let secret_id = w.secret(&name).to_owned();
    key_manager::set_acl(&s, &secret_id, &acl).await.expect("ACL set");
    w.created(&owner, Resource::SecretAcl { secret_id });
}

#[then(expr = "{string} reads secret {string} as a {string} secret with algorithm {string}")]
async fn reads_as(w: &mut Conformance, user: String, name: String, secret_type: String, algorithm: String) {
    let s = w.session(&user).await;
    let meta = key_manager::get_secret(&s, w.secret(&name)).await.expect("metadata readable");
    assert_eq!((meta.secret_type.as_str(), meta.algorithm.as_deref()), (secret_type.as_str(), Some(algorithm.as_str())));
    assert_eq!(meta.name, Some(format!("{}-{name}", w.run)));
}

#[then(expr = "the payload of secret {string} read by {string} as {string} is the file {string}")]
async fn payload_is(w: &mut Conformance, name: String, user: String, accept: String, path: String) {
    let s = w.session(&user).await;
    let payload = key_manager::get_payload(&s, w.secret(&name), &accept).await.expect("payload readable");
    assert!(payload == fixture(&path), "the payload differs from {path}");
}
