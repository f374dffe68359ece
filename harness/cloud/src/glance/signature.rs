//! Glance's use of cursive (cursive.md §6, openstack-behaviour.md A2–A4): a verifier only when
//! all four properties are present, built before any data is read, with the certificate
//! fetched from Barbican over HTTP with the uploading user's token.

use std::collections::BTreeMap;

use sigstack_verify::{Error, KeyTypeProfile, SignatureProperties, Verifier, should_create_verifier};

use super::webob::Fault;
use crate::wire::AuthContext;

/// cursive's `get_verifier` as Glance calls it: `None` for an image without the full set of
/// properties (no verification at all, A2).
pub async fn verifier_for(
    http: &reqwest::Client,
    ctx: &AuthContext,
    properties: &BTreeMap<String, String>,
    profile: KeyTypeProfile,
) -> Result<Option<Verifier>, Error> {
    if !should_create_verifier(properties.keys()) {
        return Ok(None);
    }
    let pairs = properties.iter().map(|(k, v)| (k.as_str(), Some(v.clone())));
    let prepared = SignatureProperties::from_pairs(pairs).prepare(profile)?;
    let session = ctx.session(http.clone());
    let certificate = sigstack_client::key_manager::get_certificate(&session, &prepared.certificate_uuid).await?;
    prepared.verifier(&certificate).map(Some)
}

/// How the v2 upload API reports a verification error (`image_data.upload`): a
/// `SignatureVerificationError` (or the data mismatch Glance raises as one) is a 400 with
/// `Signature verification failed for image <id>: <message>`; a `ValueError` escaping cursive
/// is a 400 with its own text; anything else is a 500.
pub fn upload_fault(image_id: &str, error: &Error) -> Fault {
    match error.cursive_exception() {
        "SignatureVerificationError" | "InvalidSignature" => {
            Fault::bad_request(format!("Signature verification failed for image {image_id}: {error}"))
        }
        "ValueError" => Fault::bad_request(error.to_string()),
        _ => Fault::internal(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let f = upload_fault("X", &Error::InvalidSignature);
        assert_eq!(f.explanation, "Signature verification failed for image X: Signature verification failed");
        let f = upload_fault("X", &Error::CertificateNotFound("u".into()));
        assert_eq!(
            f.explanation,
            "Signature verification failed for image X: Signature verification for the image failed: Certificate not found with ID: u."
        );
        let f = upload_fault("X", &Error::PemLoad("MalformedFraming".into()));
        assert!(f.explanation.starts_with("Unable to load PEM file."));
        assert_eq!(upload_fault("X", &Error::UnsupportedAlgorithm("c".into())).status.as_u16(), 500);
    }
}
