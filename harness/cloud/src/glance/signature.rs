//! Glance's use of cursive (docs/reference/cursive.md §6, docs/reference/openstack-behaviour.md A2–A4): a verifier only when
//! all four properties are present, built before any data is read, with the certificate
//! fetched from Barbican over HTTP with the uploading user's token.

use std::collections::BTreeMap;

use sigstack_verify::{Error, KeyTypeProfile, SignatureProperties, Verifier, should_create_verifier};

use axum::http::StatusCode;

use super::webob::Fault;
use crate::deployment::Defects;
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
/// is a 400 with its own text; anything else is a 500. The deployment's defects
/// `glance_wrong_error_message` and `glance_wrong_error_status` answer the first case wrongly
/// on purpose (conformance-suite testing).
pub fn upload_fault(image_id: &str, error: &Error, defects: &Defects) -> Fault {
    match error.cursive_exception() {
        "SignatureVerificationError" | "InvalidSignature" => {
            let mut fault = Fault::bad_request(format!("Signature verification failed for image {image_id}: {error}"));
            if defects.glance_wrong_error_message {
                fault.explanation = format!("Signature verification failed for image {image_id}");
            }
            if defects.glance_wrong_error_status {
                fault.status = StatusCode::INTERNAL_SERVER_ERROR;
                crate::logging::cause(format!("the deployment's glance_wrong_error_status defect (the error was: {error})"));
            }
            fault
        }
        "ValueError" => Fault::bad_request(error.to_string()),
        _ => Fault::internal_because(format!("signature verification of image {image_id}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let healthy = Defects::default();
        let f = upload_fault("X", &Error::InvalidSignature, &healthy);
        assert_eq!(f.explanation, "Signature verification failed for image X: Signature verification failed");
        assert_eq!(f.status.as_u16(), 400);
        let f = upload_fault("X", &Error::CertificateNotFound("u".into()), &healthy);
        assert_eq!(
            f.explanation,
            "Signature verification failed for image X: Signature verification for the image failed: Certificate not found with ID: u."
        );
        let f = upload_fault("X", &Error::PemLoad("MalformedFraming".into()), &healthy);
        assert!(f.explanation.starts_with("Unable to load PEM file."));
        assert_eq!(upload_fault("X", &Error::UnsupportedAlgorithm("c".into()), &healthy).status.as_u16(), 500);
    }

    #[test]
    fn defects_answer_a_failed_verification_wrongly() {
        let message = Defects { glance_wrong_error_message: true, ..Defects::default() };
        let f = upload_fault("X", &Error::InvalidSignature, &message);
        assert_eq!((f.status.as_u16(), f.explanation.as_str()), (400, "Signature verification failed for image X"));
        let status = Defects { glance_wrong_error_status: true, ..Defects::default() };
        let f = upload_fault("X", &Error::InvalidSignature, &status);
        assert_eq!(
            (f.status.as_u16(), f.explanation.as_str()),
            (500, "Signature verification failed for image X: Signature verification failed")
        );
        // Only verification failures are misreported.
        let f = upload_fault("X", &Error::PemLoad("MalformedFraming".into()), &status);
        assert_eq!(f.status.as_u16(), 400);
    }
}
