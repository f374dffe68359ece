//! The Barbican side of encrypted volumes, as Cinder does it through castellan with the
//! caller's token: a key per volume when the volume is created
//! (`volume_utils.create_encryption_key`, in the API before the volume exists) and its
//! deletion with the volume (`volume_utils.delete_encryption_key`).
//!
//! castellan's `create_key` asks Barbican for the key with an order (`POST /v1/orders`); the
//! simulated Barbican has no orders API, so the key is made here and stored with
//! `POST /v1/secrets` (castellan's `store`, which Cinder uses to clone a volume's key). Either
//! way the key is a real symmetric secret in the caller's project, made with the caller's
//! token, so a Barbican that refuses the caller fails the volume create as it does in Cinder.

use base64::Engine as _;
use rand::RngExt as _;
use sigstack_client::Session;
use sigstack_client::key_manager::{self, NewSecret};

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
    // Barbican refuses a symmetric key without a bit length that is a positive multiple of 8;
    // castellan turns that refusal into a KeyManagerError.
    let Some(bits) = spec.key_size.filter(|b| *b > 0 && b % 8 == 0) else {
        return Err(Fault::bad_request(KEY_MANAGER_ERROR));
    };
    let mut key = vec![0u8; (bits / 8) as usize];
    rand::rng().fill(&mut key[..]);
    let secret = NewSecret {
        secret_type: Some("symmetric".into()),
        algorithm: Some(algorithm.to_owned()),
        bit_length: Some(bits as i64),
        payload: Some(base64::engine::general_purpose::STANDARD.encode(&key)),
        payload_content_type: Some("application/octet-stream".into()),
        payload_content_encoding: Some("base64".into()),
        ..NewSecret::default()
    };
    match key_manager::create_secret(session, &secret).await {
        Ok(secret_ref) => Ok(key_manager::secret_uuid(&secret_ref).to_owned()),
        Err(_) => Err(Fault::bad_request(KEY_MANAGER_ERROR)),
    }
}

/// `delete_encryption_key`: a key already gone is fine; any other failure is returned for the
/// operator log (Cinder then retries with its service user, which the simulator has not).
pub async fn delete_key(session: &Session, key_id: &str) -> Result<(), sigstack_client::Error> {
    match key_manager::delete_secret(session, key_id).await {
        Err(e) if e.status() == Some(404) => Ok(()),
        other => other,
    }
}
