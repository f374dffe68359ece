//! The typed Barbican client (`sigstack_client::key_manager`) against the simulated Barbican,
//! and castellan's certificate retrieval with cursive's error mapping.

mod barbican_common;

use barbican_common::*;
use base64::Engine as _;
use sigstack_client::key_manager::{self as km, Acl, AclEntry, ListQuery, NewSecret};
use sigstack_client::{Error, Session};
use sigstack_verify::{Certificate, Error as V};

const PEM: &[u8] = include_bytes!("../../../fixtures/pki/chain/client.crt.pem");

async fn creator(cloud: &sigstack_cloud::CloudHandle) -> Session {
    grant(cloud, "demo", "demo", "creator").await;
    session(cloud, "demo").await
}

#[tokio::test]
async fn discovery_and_certificate_round_trip() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let versions = km::version_discovery(&demo).await.unwrap();
    assert_eq!(versions.len(), 1);
    let v = &versions[0];
    assert_eq!((v.id.as_str(), v.status.as_str()), ("v1", "CURRENT"));
    assert_eq!((v.min_version.as_deref(), v.max_version.as_deref()), (Some("1.0"), Some("1.2")));

    // The documents' recipe: certificate, RSA, octet-stream, base64 of the PEM.
    let mut new = NewSecret::certificate("signing-cert", PEM);
    new.expiration = Some("2099-01-01T00:00:00Z".into());
    assert_eq!(serde_json::to_value(&new).unwrap()["payload_content_encoding"], "base64");
    let secret_ref = km::create_secret(&demo, &new).await.unwrap();
    let uuid = km::secret_uuid(&secret_ref).to_owned();
    assert!(secret_ref.starts_with(&format!("{}/v1/secrets/", cloud.endpoints.key_manager)));

    let meta = km::get_secret(&demo, &uuid).await.unwrap();
    assert_eq!(meta.secret_ref, secret_ref);
    assert_eq!((meta.secret_type.as_str(), meta.algorithm.as_deref()), ("certificate", Some("RSA")));
    assert_eq!(meta.content_types.unwrap()["default"], "application/octet-stream");
    assert_eq!(meta.expiration.as_deref(), Some("2099-01-01T00:00:00"));
    assert_eq!(meta.creator_id.as_deref(), Some(demo.token().user.id.as_str()));
    assert_eq!(km::castellan_format(&meta.secret_type), "X.509");
    assert_eq!(km::get_payload(&demo, &uuid, "application/octet-stream").await.unwrap(), PEM);

    let cert = km::get_certificate(&demo, &uuid).await.unwrap();
    assert_eq!(cert.der(), Certificate::from_pem(PEM).unwrap().der());
}

#[tokio::test]
async fn get_certificate_maps_errors_like_cursive() {
    let cloud = cloud().await;
    let demo = creator(&cloud).await;
    let alt = session(&cloud, "alt_demo").await;
    let cert = km::secret_uuid(&km::create_secret(&demo, &NewSecret::certificate("c", PEM)).await.unwrap()).to_owned();

    // 404 (unknown, invalid id, deleted): "Certificate not found".
    let unknown = uuid::Uuid::new_v4().to_string();
    assert!(matches!(km::get_certificate(&demo, &unknown).await, Err(V::CertificateNotFound(id)) if id == unknown));
    assert!(matches!(km::get_certificate(&demo, "not-a-uuid").await, Err(V::CertificateNotFound(_))));
    // 403 from another project: "Unable to retrieve".
    assert!(matches!(km::get_certificate(&alt, &cert).await, Err(V::CertificateRetrieval(id)) if id == cert));
    // Not a certificate: castellan's format name.
    let opaque = NewSecret { secret_type: Some("opaque".into()), ..NewSecret::certificate("o", PEM) };
    let opaque = km::secret_uuid(&km::create_secret(&demo, &opaque).await.unwrap()).to_owned();
    let err = km::get_certificate(&demo, &opaque).await.unwrap_err();
    assert_eq!(err, V::InvalidCertificateFormat("Opaque".into()));
    assert_eq!(err.to_string(), "Signature verification for the image failed: Invalid certificate format: Opaque.");
    // A DER payload in a certificate secret: cryptography's PEM ValueError escapes.
    let der = Certificate::from_pem(PEM).unwrap().der().to_vec();
    let der_secret =
        NewSecret { payload: Some(base64::engine::general_purpose::STANDARD.encode(&der)), ..NewSecret::certificate("der", PEM) };
    let der_secret = km::secret_uuid(&km::create_secret(&demo, &der_secret).await.unwrap()).to_owned();
    assert!(matches!(km::get_certificate(&demo, &der_secret).await, Err(V::PemLoad(_))));

    km::delete_secret(&demo, &cert).await.unwrap();
    assert!(matches!(km::get_certificate(&demo, &cert).await, Err(V::CertificateNotFound(_))));
}

#[tokio::test]
async fn typed_crud_listing_and_acls() {
    let cloud = cloud().await;
    let plain = session(&cloud, "demo").await;
    let err = km::create_secret(&plain, &NewSecret::default()).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(
        matches!(&err, Error::Http { message, .. } if message == "Secret creation attempt not allowed - please review your user/project privileges")
    );

    let demo = creator(&cloud).await;
    // Two-step: metadata first, then the payload.
    let later = km::create_secret(&demo, &NewSecret { name: Some("later".into()), ..NewSecret::default() }).await.unwrap();
    let later = km::secret_uuid(&later).to_owned();
    assert_eq!(km::get_payload(&demo, &later, "*/*").await.unwrap_err().status(), Some(404));
    km::put_payload(&demo, &later, "application/octet-stream", Some("base64"), b"aGVsbG8=".to_vec()).await.unwrap();
    assert_eq!(km::get_payload(&demo, &later, "*/*").await.unwrap(), b"hello");
    let again = km::put_payload(&demo, &later, "text/plain", None, b"x".to_vec()).await.unwrap_err();
    assert!(matches!(&again, Error::Http { status: 409, message, .. } if message == "Secret already has data, cannot modify it."));

    for i in 0..3 {
        km::create_secret(
            &demo,
            &NewSecret { name: Some(format!("n{i}")), secret_type: Some("passphrase".into()), ..NewSecret::default() },
        )
        .await
        .unwrap();
    }
    let page = km::list_secrets(&demo, &ListQuery { limit: Some(2), secret_type: Some("passphrase".into()), ..ListQuery::default() })
        .await
        .unwrap();
    assert_eq!((page.total, page.secrets.len(), page.previous.is_none()), (3, 2, true));
    // Barbican 23 keeps the filters in the paging links.
    assert!(page.next.as_deref().is_some_and(|n| n.ends_with("/v1/secrets?limit=2&offset=2&secret_type=passphrase")), "{:?}", page.next);
    let names: Vec<_> = page.secrets.iter().filter_map(|s| s.name.clone()).collect();
    assert_eq!(names, ["n0", "n1"]);
    let all = km::list_secrets(&demo, &ListQuery::default()).await.unwrap();
    assert_eq!(all.total, 4);

    // ACLs: default, replace, merge, reset.
    assert_eq!(km::get_acl(&demo, &later).await.unwrap(), Acl { read: AclEntry { project_access: Some(true), ..AclEntry::default() } });
    let alt = session(&cloud, "alt_demo").await;
    let alt_id = alt.token().user.id.clone();
    let acl_ref =
        km::set_acl(&demo, &later, &Acl { read: AclEntry { users: Some(vec![alt_id.clone()]), ..AclEntry::default() } }).await.unwrap();
    assert_eq!(acl_ref, format!("{}/v1/secrets/{later}/acl", cloud.endpoints.key_manager));
    assert_eq!(km::get_payload(&alt, &later, "application/octet-stream").await.unwrap(), b"hello");
    km::patch_acl(&demo, &later, &Acl { read: AclEntry { project_access: Some(false), ..AclEntry::default() } }).await.unwrap();
    let acl = km::get_acl(&demo, &later).await.unwrap().read;
    assert_eq!((acl.users, acl.project_access), (Some(vec![alt_id]), Some(false)));
    assert!(acl.created.is_some() && acl.updated.is_some());
    km::delete_acl(&demo, &later).await.unwrap();
    assert_eq!(km::get_payload(&alt, &later, "application/octet-stream").await.unwrap_err().status(), Some(403));

    km::delete_secret(&demo, &later).await.unwrap();
    let gone = km::get_secret(&demo, &later).await.unwrap_err();
    assert!(matches!(&gone, Error::Http { status: 404, message, .. } if message == "Secret not found."));
}
