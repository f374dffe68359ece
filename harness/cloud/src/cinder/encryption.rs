//! The Barbican side of encrypted volumes, as Cinder does it through castellan with the
//! caller's token: a key per volume when the volume is created
//! (`volume_utils.create_encryption_key`, in the API before the volume exists) and its
//! deletion with the volume (`volume_utils.delete_encryption_key`).
//!
//! The key is made as castellan's `create_key` makes it: a Barbican key order
//! (`POST /v1/orders`), polled until `ACTIVE`, whose secret is a symmetric key in the caller's
//! project created with the caller's token, so a Barbican that refuses the caller (or the
//! order) fails the volume create as it does in Cinder. A clone's key is a copy of its
//! source's (`clone_encryption_key`).

use sigstack_client::Session;
use sigstack_client::key_manager;

use super::fault::Fault;
use super::types::Encryption;

/// The terse `exception.Invalid` Cinder answers for any key-manager failure (400).
pub const KEY_MANAGER_ERROR: &str = "Key manager error";

/// `create_encryption_key`: the algorithm is the cipher's first part (`aes` of
/// `aes-xts-plain64`), the length the spec's `key_size`. Returns the key's secret UUID.
pub async fn create_key(session: &Session, spec: &Encryption) -> Result<String, Fault> {
    let Some(algorithm) = spec.cipher.as_deref().and_then(|c| c.split('-').next()) else {
        // `InvalidVolumeType(message="Invalid encryption spec")`.
        return Err(Fault::bad_request("Invalid encryption spec"));
    };
    // Barbican itself refuses a missing, zero or non-multiple-of-8 length (and one past its
    // 32767 maximum); castellan turns any refusal into a KeyManagerError.
    let bits = match spec.key_size.map(i64::try_from) {
        None => None,
        Some(Ok(bits)) => Some(bits),
        Some(Err(_)) => return Err(Fault::bad_request(KEY_MANAGER_ERROR)),
    };
    key_manager::create_key(session, None, algorithm, bits).await.map_err(|_| Fault::bad_request(KEY_MANAGER_ERROR))
}

/// `delete_encryption_key`: a key already gone is fine; any other failure is returned for the
/// operator log (Cinder then retries with its service user, which the simulator has not).
pub async fn delete_key(session: &Session, key_id: &str) -> Result<(), sigstack_client::Error> {
    match key_manager::delete_secret(session, key_id).await {
        Err(e) if e.status() == Some(404) => Ok(()),
        other => other,
    }
}

/// `clone_encryption_key` (a clone's key, `key_manager.store(key_manager.get(key))`): a new
/// symmetric secret with the source key's bytes, in the caller's project.
pub async fn clone_key(session: &Session, key_id: &str) -> Result<String, Fault> {
    use base64::Engine as _;
    let (metadata, bytes) = key_manager::castellan_get(session, key_id).await.map_err(|_| Fault::bad_request(KEY_MANAGER_ERROR))?;
    let secret = key_manager::NewSecret {
        secret_type: Some("symmetric".into()),
        algorithm: metadata.algorithm,
        bit_length: metadata.bit_length,
        mode: metadata.mode,
        payload: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        payload_content_type: Some("application/octet-stream".into()),
        payload_content_encoding: Some("base64".into()),
        ..key_manager::NewSecret::default()
    };
    let reference = key_manager::create_secret(session, &secret).await.map_err(|_| Fault::bad_request(KEY_MANAGER_ERROR))?;
    Ok(reference.rsplit('/').next().unwrap_or(&reference).to_owned())
}
