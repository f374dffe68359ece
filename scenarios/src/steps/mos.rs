//! Steps of `features/mos.feature`. The MOS flow runs the operator tools' core
//! (`sigstack-ops`, what `sigstack audit` and `sigstack sign-images` run) against the target
//! through the OpenStack APIs, on the scenario's image only: the cloud is shared, so other
//! images are none of the scenario's business.

use cucumber::{given, then, when};
use sigstack_client::image;
use sigstack_ops::{AuditOptions, AuditReport, NoProgress, SignOptions, SignOutcome, Signer};
use sigstack_verify::{HashMethod, KeyTypeProfile};

use crate::steps::barbican::fixture;
use crate::target;
use crate::world::Conformance;

/// The key types the target's cursive registers (its capability), as an operator would pass
/// `--profile`.
fn profile() -> KeyTypeProfile {
    target::current().capabilities.get("key_type_profile").and_then(|p| p.parse().ok()).unwrap_or_default()
}

/// Audits the scenario's image as `user`, the data downloaded and verified when `verify_data`.
async fn audit_image(w: &mut Conformance, user: &str, verify_data: bool) -> AuditReport {
    let s = w.session(user).await;
    let options = AuditOptions { verify_data, profile: profile(), only: vec![w.image().to_owned()], ..AuditOptions::default() };
    sigstack_ops::audit(&s, &options, &NoProgress).await.unwrap_or_else(|e| panic!("the audit ran: {e}"))
}

#[then(expr = "the audit by {string} reports the image {string}, failing to boot with {string}")]
async fn audit_fails(w: &mut Conformance, user: String, state: String, detail: String) {
    let report = audit_image(w, &user, false).await;
    let finding = report.finding(w.image()).unwrap_or_else(|| panic!("the image is not in the audit: {report:?}"));
    assert_eq!(finding.state.name(), state, "{finding:?}");
    assert_eq!(finding.fails_signature, Some(true), "{finding:?}");
    assert_eq!(finding.detail, w.expand(&detail), "{finding:?}");
    assert_eq!((report.summary().fail_signature, report.failing()), (1, 1), "{report:?}");
}

#[then(expr = "the audit by {string} with the data verified reports the image {string} and nothing would fail to boot")]
async fn audit_clean(w: &mut Conformance, user: String, state: String) {
    let report = audit_image(w, &user, true).await;
    let finding = report.finding(w.image()).unwrap_or_else(|| panic!("the image is not in the audit: {report:?}"));
    assert_eq!(finding.state.name(), state, "{finding:?}");
    assert!(report.is_clean(), "{report:?}");
}

/// sign-images on the scenario's image, with the certificate already stored as `secret`
/// (`--certificate-id`): the data streamed from Glance, hashed, signed, the four properties in
/// one JSON-patch, then downloaded again and verified as Nova would.
#[when(
    expr = "{string} signs the image with sign-images, the key {string}, the certificate {string} stored as secret {string} and {string}"
)]
async fn signs_with_tool(w: &mut Conformance, user: String, key: String, certificate: String, secret: String, hash: String) {
    let s = w.session(&user).await;
    let hash: HashMethod = hash.parse().unwrap_or_else(|e| panic!("hash method {hash}: {e}"));
    let signer = Signer::from_pem(&fixture(&key), &fixture(&certificate), hash).unwrap_or_else(|e| panic!("signer: {e}"));
    let options = SignOptions { certificate_id: Some(w.secret(&secret).to_owned()), only: vec![w.image().to_owned()], dry_run: false };
    let report = sigstack_ops::sign_images(&s, &signer, &options, &NoProgress).await.unwrap_or_else(|e| panic!("sign-images ran: {e}"));
    let result = report.result(w.image()).unwrap_or_else(|| panic!("the image is not in the report: {report:?}"));
    assert_eq!(result.outcome, SignOutcome::Signed, "{report:?}");
    assert!(report.is_success(), "{report:?}");
}

/// `GET /v2/images?name=<name>` as the user: the pre-built image the cloud was deployed with
/// (public, so every user sees it).
#[given(expr = "{string} finds the pre-built image {string}")]
async fn finds_prebuilt(w: &mut Conformance, user: String, name: String) {
    let s = w.session(&user).await;
    let images = image::list_all_images(&s, &[("name", name.as_str())]).await.expect("images listed");
    let img = images.into_iter().next().unwrap_or_else(|| panic!("no image named {name:?} visible to {user}"));
    w.image_id = Some(img.id);
    w.image_user = user;
}

#[then(expr = "the image carries the four signature properties")]
async fn carries_signature(w: &mut Conformance) {
    let user = w.image_user.clone();
    let s = w.session(&user).await;
    let img = image::get_image(&s, w.image()).await.expect("image readable");
    for property in ["img_signature", "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid"] {
        assert!(img.property(property).is_some_and(|v| !v.is_empty()), "no {property}: {img:?}");
    }
}
