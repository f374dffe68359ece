//! The four image properties that carry a signature, and cursive's rules for reading them.

use crate::algorithms::{HashMethod, KeyType, KeyTypeProfile};
use crate::certificate::Certificate;
use crate::public_key::PublicKey;
use crate::verifier::Verifier;
use crate::{Error, base64_lenient};

/// `img_signature`: base64 of the signature bytes.
pub const SIGNATURE: &str = "img_signature";
/// `img_signature_hash_method`: `SHA-224` … `SHA-512`.
pub const HASH_METHOD: &str = "img_signature_hash_method";
/// `img_signature_key_type`: `RSA-PSS`, `DSA`, `ECC_*`.
pub const KEY_TYPE: &str = "img_signature_key_type";
/// `img_signature_certificate_uuid`: the Barbican secret holding the signing certificate.
pub const CERTIFICATE_UUID: &str = "img_signature_certificate_uuid";

/// The four property names, in the order images usually list them.
pub const PROPERTY_NAMES: [&str; 4] = [SIGNATURE, HASH_METHOD, KEY_TYPE, CERTIFICATE_UUID];

/// Glance's test (cursive `should_create_verifier`): all four *keys* are present. A key whose
/// value is null still counts; a missing key means "do not verify", not an error.
pub fn should_create_verifier<I, K>(keys: I) -> bool
where
    I: IntoIterator<Item = K>,
    K: AsRef<str>,
{
    let mut seen = [false; 4];
    for key in keys {
        if let Some(i) = PROPERTY_NAMES.iter().position(|n| *n == key.as_ref()) {
            seen[i] = true;
        }
    }
    seen.iter().all(|s| *s)
}

/// The signature properties of one image, by value (`None` = absent or null).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureProperties {
    pub signature: Option<String>,
    pub hash_method: Option<String>,
    pub key_type: Option<String>,
    pub certificate_uuid: Option<String>,
}

/// How many of the four properties have values (Cinder branches on this before cursive runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// None of the four: an unsigned image.
    Unsigned,
    /// Some but not all; lists the missing property names.
    Partial(Vec<&'static str>),
    /// All four have values.
    Complete,
}

impl SignatureProperties {
    /// Picks the four properties out of an image's property list, ignoring all others.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut props = SignatureProperties::default();
        for (key, value) in pairs {
            let slot = match key.as_ref() {
                SIGNATURE => &mut props.signature,
                HASH_METHOD => &mut props.hash_method,
                KEY_TYPE => &mut props.key_type,
                CERTIFICATE_UUID => &mut props.certificate_uuid,
                _ => continue,
            };
            *slot = value.map(Into::into);
        }
        props
    }

    /// The properties as (name, value) pairs, absent ones left out.
    pub fn to_pairs(&self) -> Vec<(&'static str, &str)> {
        [
            (SIGNATURE, &self.signature),
            (HASH_METHOD, &self.hash_method),
            (KEY_TYPE, &self.key_type),
            (CERTIFICATE_UUID, &self.certificate_uuid),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }

    pub fn presence(&self) -> Presence {
        let missing: Vec<&'static str> = [
            (SIGNATURE, &self.signature),
            (HASH_METHOD, &self.hash_method),
            (KEY_TYPE, &self.key_type),
            (CERTIFICATE_UUID, &self.certificate_uuid),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
        match missing.len() {
            0 => Presence::Complete,
            4 => Presence::Unsigned,
            _ => Presence::Partial(missing),
        }
    }

    /// The first half of cursive's `get_verifier`, everything before the certificate is fetched:
    /// missing values (in cursive's order, with its `img_signature_uuid` name), then base64,
    /// then hash method, then key type. The caller then fetches
    /// [`PreparedSignature::certificate_uuid`] from its key manager and calls
    /// [`PreparedSignature::verifier`].
    pub fn prepare(&self, profile: KeyTypeProfile) -> Result<PreparedSignature, Error> {
        // cursive walks {img_signature_uuid, hash_method, signature, key_type} in this order.
        let uuid = required("img_signature_uuid", &self.certificate_uuid)?;
        let hash = required(HASH_METHOD, &self.hash_method)?;
        let sig = required(SIGNATURE, &self.signature)?;
        let key_type = required(KEY_TYPE, &self.key_type)?;
        let signature = base64_lenient::decode(sig)?;
        let hash_method: HashMethod = hash.parse()?;
        let key_type = profile.lookup(key_type)?;
        Ok(PreparedSignature { signature, hash_method, key_type, certificate_uuid: uuid.to_owned(), profile })
    }
}

fn required<'a>(name: &'static str, value: &'a Option<String>) -> Result<&'a str, Error> {
    value.as_deref().ok_or(Error::MissingProperty { property: name })
}

/// Properties that passed cursive's checks, waiting for the signing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedSignature {
    pub signature: Vec<u8>,
    pub hash_method: HashMethod,
    pub key_type: KeyType,
    pub certificate_uuid: String,
    /// The profile the properties were checked under; it also decides which keys load.
    pub profile: KeyTypeProfile,
}

impl PreparedSignature {
    /// The second half of `get_verifier`: the certificate's key must be of the declared type,
    /// then the verifier is built (an empty signature fails here, as in cursive's factory).
    pub fn verifier(&self, certificate: &Certificate) -> Result<Verifier, Error> {
        self.verifier_for_key(certificate.public_key_for(self.profile)?)
    }

    /// As [`Self::verifier`], for a public key obtained some other way.
    pub fn verifier_for_key(&self, key: PublicKey) -> Result<Verifier, Error> {
        key.check_profile(self.profile)?;
        key.check_key_type(self.key_type)?;
        if self.signature.is_empty() {
            return Err(Error::VerifierCreation);
        }
        Verifier::new(self.hash_method, key, self.signature.clone())
    }
}
