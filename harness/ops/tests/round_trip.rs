//! The library against the embedded simulated cloud: an unsigned image is audited as failing,
//! a dry run and a refused certificate id change nothing, signing makes the audit clean (data
//! included), a re-run is idempotent and reuses the stored certificate.

use std::sync::Mutex;

use serde_json::json;
use sigstack_client::Session;
use sigstack_client::image::{self, NewImage};
use sigstack_client::key_manager::{self, ListQuery, NewSecret};
use sigstack_cloud::{CloudConfig, CloudHandle};
use sigstack_ops::{
    AuditOptions, CertificateSecret, ImageState, NoProgress, OpsError, Progress, SignOptions, SignOutcome, Signer, secret_name,
};
use sigstack_verify::HashMethod;

const KEY: &str = "fixtures/pki/signing/rsa-2048.key.pem";
const CERT: &str = "fixtures/pki/signing/rsa-2048.crt.pem";
const OTHER_KEY: &str = "fixtures/pki/signing/rsa-3072.key.pem";
const OTHER_CERT: &str = "fixtures/pki/signing/rsa-3072.crt.pem";

fn fixture(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn admin(cloud: &CloudHandle) -> Session {
    Session::authenticate(&cloud.admin()).await.expect("admin authenticates")
}

/// An active, private, unsigned raw image; its id.
async fn unsigned_image(s: &Session, name: &str, len: usize) -> String {
    let img = image::create_image(s, &NewImage::raw(name)).await.expect("image created");
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    image::upload(s, &img.id, std::io::Cursor::new(data), Some(len as u64)).await.expect("uploaded");
    img.id
}

async fn signature_properties(s: &Session, id: &str) -> Vec<(String, String)> {
    let img = image::get_image(s, id).await.expect("image readable");
    img.properties
        .into_iter()
        .filter(|(k, _)| k.starts_with("img_signature"))
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

async fn stored_secrets(s: &Session, name: &str) -> usize {
    let query = ListQuery { name: Some(name.to_owned()), limit: Some(100), ..ListQuery::default() };
    key_manager::list_secrets(s, &query).await.expect("secrets listed").secrets.len()
}

/// Records what the library reports, in order.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn events(&self) -> Vec<String> {
        self.0.lock().expect("not poisoned").clone()
    }
}

impl Progress for Recorder {
    fn download_started(&self, id: &str, label: &str, total: Option<u64>) {
        self.0.lock().expect("not poisoned").push(format!("download {id} {label} {total:?}"));
    }

    fn download_finished(&self, id: &str) {
        self.0.lock().expect("not poisoned").push(format!("finished {id}"));
    }

    fn certificate(&self, secret: &CertificateSecret) {
        self.0.lock().expect("not poisoned").push(format!("certificate {secret:?}"));
    }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signing_makes_the_audit_clean_and_a_rerun_changes_nothing() {
    let cloud = sigstack_cloud::start(CloudConfig::default()).await.expect("cloud starts");
    let s = admin(&cloud).await;
    let id = unsigned_image(&s, "ops-unsigned", 90_000).await;
    let only = |id: &str| vec![id.to_owned()];

    // 1. The audit says the unsigned image would fail to boot, with Nova's message.
    let options = AuditOptions { only: only(&id), ..AuditOptions::default() };
    let report = assert_send(sigstack_ops::audit(&s, &options, &NoProgress)).await.expect("audit runs");
    assert_eq!(report.findings.len(), 1);
    let finding = report.finding(&id).expect("the image is audited");
    assert_eq!(finding.state, ImageState::Unsigned);
    assert_eq!(finding.fails_signature, Some(true));
    assert!(finding.detail.ends_with("Missing property: img_signature_uuid."), "{}", finding.detail);
    assert_eq!((report.failing(), report.is_clean()), (1, false));
    assert_eq!(report.summary().by_state.get("unsigned"), Some(&1));

    // An image that is not there is an error, not an empty (clean) report.
    let missing = AuditOptions { only: vec!["no-such-image".into()], ..AuditOptions::default() };
    let e = sigstack_ops::audit(&s, &missing, &NoProgress).await.expect_err("unknown image refused");
    assert!(matches!(&e, OpsError::UnknownImage(name) if name == "no-such-image"), "{e:?}");

    let signer = Signer::from_pem(&fixture(KEY), &fixture(CERT), HashMethod::Sha256).expect("matching pair");
    let name = secret_name(signer.certificate());

    // 2. A dry run decides, stores nothing and changes nothing.
    let dry = SignOptions { only: only(&id), dry_run: true, ..SignOptions::default() };
    let report = sigstack_ops::sign_images(&s, &signer, &dry, &NoProgress).await.expect("dry run");
    assert_eq!(report.result(&id).map(|r| &r.outcome), Some(&SignOutcome::WouldSign));
    assert_eq!(report.certificate, Some(CertificateSecret::WouldStore { name: name.clone() }));
    assert!(signature_properties(&s, &id).await.is_empty());
    assert_eq!(stored_secrets(&s, &name).await, 0);

    // 3. A certificate id holding another certificate is refused before any change.
    let other = NewSecret::certificate("other", &fixture(OTHER_CERT));
    let other = key_manager::secret_uuid(&key_manager::create_secret(&s, &other).await.expect("stored")).to_owned();
    let wrong = SignOptions { only: only(&id), certificate_id: Some(other.clone()), ..SignOptions::default() };
    let e = sigstack_ops::sign_images(&s, &signer, &wrong, &NoProgress).await.expect_err("wrong certificate id refused");
    assert!(matches!(&e, OpsError::CertificateIdMismatch { id } if *id == other), "{e:?}");
    assert!(e.is_usage());
    assert!(signature_properties(&s, &id).await.is_empty());

    // 4. Signing: the certificate stored once, the image hashed, patched, verified again.
    let progress = Recorder::default();
    let sign = SignOptions { only: only(&id), ..SignOptions::default() };
    let report = assert_send(sigstack_ops::sign_images(&s, &signer, &sign, &progress)).await.expect("signs");
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.result(&id).map(|r| &r.outcome), Some(&SignOutcome::Signed), "{report:?}");
    let stored = match &report.certificate {
        Some(CertificateSecret::Stored { id, name: stored_name }) if *stored_name == name => id.clone(),
        other => panic!("expected a stored certificate named {name}, got {other:?}"),
    };
    assert_eq!(
        progress.events(),
        [
            format!("certificate {:?}", report.certificate.as_ref().expect("certificate")),
            format!("download {id} ops-unsigned Some(90000)"),
            format!("finished {id}"),
            format!("download {id} verify ops-unsigned Some(90000)"),
            format!("finished {id}"),
        ]
    );
    let props = signature_properties(&s, &id).await;
    assert_eq!(props.len(), 4, "{props:?}");
    assert!(props.contains(&("img_signature_certificate_uuid".into(), stored.clone())), "{props:?}");
    assert!(props.contains(&("img_signature_key_type".into(), "RSA-PSS".into())), "{props:?}");

    // 5. The audit is clean, data included.
    let verify = AuditOptions { only: only(&id), verify_data: true, ..AuditOptions::default() };
    let report = sigstack_ops::audit(&s, &verify, &NoProgress).await.expect("audit runs");
    let finding = report.finding(&id).expect("the image is audited");
    assert_eq!(finding.state, ImageState::Verified, "{finding:?}");
    assert_eq!(finding.fails_signature, Some(false));
    assert!(report.is_clean(), "{report:?}");

    // 6. Idempotent: the signed image is skipped, nothing is stored or resolved.
    let report = sigstack_ops::sign_images(&s, &signer, &sign, &NoProgress).await.expect("re-run");
    assert_eq!(report.result(&id).map(|r| &r.outcome), Some(&SignOutcome::Skipped("already signed with this certificate".into())));
    assert_eq!(report.certificate, None);
    assert!(report.is_success());

    // 7. Another image reuses the stored certificate instead of storing a second copy.
    let second = unsigned_image(&s, "ops-second", 10_000).await;
    let report = sigstack_ops::sign_images(&s, &signer, &SignOptions { only: only(&second), ..SignOptions::default() }, &NoProgress)
        .await
        .expect("signs");
    assert_eq!(report.result(&second).map(|r| &r.outcome), Some(&SignOutcome::Signed), "{report:?}");
    assert_eq!(report.certificate, Some(CertificateSecret::Existing { id: stored, name: name.clone() }));
    assert_eq!(stored_secrets(&s, &name).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn images_signed_with_another_certificate_are_re_signed_only_when_selected() {
    let cloud = sigstack_cloud::start(CloudConfig::default()).await.expect("cloud starts");
    let s = admin(&cloud).await;
    let a = unsigned_image(&s, "ops-a", 20_000).await;
    let b = unsigned_image(&s, "ops-b", 20_001).await;
    let both = vec![a.clone(), b.clone()];
    let previous = Signer::from_pem(&fixture(OTHER_KEY), &fixture(OTHER_CERT), HashMethod::Sha384).expect("matching pair");
    let first = SignOptions { only: vec![a.clone()], ..SignOptions::default() };
    let report = sigstack_ops::sign_images(&s, &previous, &first, &NoProgress).await.expect("signs");
    assert_eq!(report.result(&a).map(|r| &r.outcome), Some(&SignOutcome::Signed), "{report:?}");
    // b gets a's signature: its properties are fine, its data is not what was signed.
    let ops: Vec<image::PatchOp> = signature_properties(&s, &a)
        .await
        .into_iter()
        .map(|(k, v)| image::PatchOp::Add { path: format!("/{k}"), value: json!(v) })
        .collect();
    image::update_image(&s, &b, &ops).await.expect("patched");

    let verify = AuditOptions { only: both.clone(), verify_data: true, ..AuditOptions::default() };
    let report = sigstack_ops::audit(&s, &verify, &NoProgress).await.expect("audit runs");
    assert_eq!(report.finding(&a).map(|f| f.state), Some(ImageState::Verified), "{report:?}");
    let mismatch = report.finding(&b).expect("audited");
    assert_eq!((mismatch.state, mismatch.detail.as_str()), (ImageState::DataMismatch, "Signature verification failed"));
    assert_eq!(report.summary().fail_signature, 1);
    // Without the data, b's properties look fine.
    let quick = AuditOptions { only: both.clone(), ..AuditOptions::default() };
    let report = sigstack_ops::audit(&s, &quick, &NoProgress).await.expect("audit runs");
    assert_eq!(report.finding(&b).map(|f| f.state), Some(ImageState::Signed));
    assert!(report.is_clean());

    // Another signer leaves both alone unless they are selected.
    let signer = Signer::from_pem(&fixture(KEY), &fixture(CERT), HashMethod::Sha256).expect("matching pair");
    let report = sigstack_ops::sign_images(&s, &signer, &SignOptions::default(), &NoProgress).await.expect("runs");
    for id in [&a, &b] {
        match report.result(id).map(|r| &r.outcome) {
            Some(SignOutcome::Skipped(why)) => assert!(why.starts_with("signed with another certificate ("), "{why}"),
            other => panic!("{id}: expected skipped, got {other:?}"),
        }
    }
    assert_eq!(report.certificate, None);
    let selected = SignOptions { only: both.clone(), ..SignOptions::default() };
    let report = sigstack_ops::sign_images(&s, &signer, &selected, &NoProgress).await.expect("signs");
    assert_eq!(report.tally().signed, 2, "{report:?}");
    let props = signature_properties(&s, &b).await;
    assert!(props.contains(&("img_signature_hash_method".into(), "SHA-256".into())), "{props:?}");
    let report = sigstack_ops::audit(&s, &verify, &NoProgress).await.expect("audit runs");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.summary().by_state.get("verified"), Some(&2));
}
