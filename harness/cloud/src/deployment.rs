//! The deployment profile: which cloud is being simulated. A YAML document (`sigstack serve
//! --deployment FILE`) or the same structure from Rust. Options carry their real names: MOS's
//! `features.glance.signature.enabled` switch from the `OpenStackDeployment` custom resource,
//! nova.conf's `[glance]` options, policy rules and the Nova release whose microversions the
//! compute API speaks (the Nova section is in `deployment/nova.rs`), cinder.conf's `verify_glance_signatures`
//! and image-volume cache, the compute nodes with their ephemeral storage back ends, Cinder's
//! back ends and the instance-HA service user. One section is no real option: `defects`
//! ([`Defects`]), for testing the conformance suite, makes the simulated cloud misbehave on
//! purpose.
//!
//! The running cloud holds it in a [`DeploymentState`]: the services read it on every
//! operation, and `/_sim/deployment` changes it (turning the MOS switch on for an existing
//! cloud leaves its images unsigned, as the MOS document says).

use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sigstack_verify::KeyTypeProfile;

mod nova;

pub use nova::{NOVA_34_MAX_MICROVERSION, NovaGlanceOptions, NovaOptions};

/// The three shipped profiles, by name (`sigstack serve --deployment mos`).
pub const SHIPPED: [(&str, &str); 3] = [
    ("mos", include_str!("../deployments/mos.yaml")),
    ("upstream-certificate-validation", include_str!("../deployments/upstream-certificate-validation.yaml")),
    ("upstream-defaults", include_str!("../deployments/upstream-defaults.yaml")),
];

/// Why a deployment document was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error("cannot read deployment file {0}: {1} (shipped profiles: mos, upstream-certificate-validation, upstream-defaults)")]
    Read(String, std::io::Error),
    #[error("invalid deployment {0}: {1}")]
    Invalid(String, String),
}

/// A whole deployment profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// A label shown by `/_sim/deployment` and `serve`.
    #[serde(default)]
    pub name: String,
    /// MOS `spec:features`. Absent (`null`) for upstream-style profiles.
    #[serde(default)]
    pub features: Features,
    /// Which key types the cloud's cursive registers (cryptography >= 47: `current`).
    #[serde(default = "current_profile", with = "profile_name")]
    pub key_type_profile: KeyTypeProfile,
    /// Provision MOS's baseline images (signed when the signature feature is on at deploy time).
    #[serde(default)]
    pub baseline_images: bool,
    #[serde(default)]
    pub glance: GlanceOptions,
    #[serde(default)]
    pub nova: NovaOptions,
    #[serde(default)]
    pub cinder: CinderOptions,
    #[serde(default)]
    pub barbican: BarbicanOptions,
    #[serde(default)]
    pub keystone: KeystoneOptions,
    #[serde(default = "default_compute_nodes")]
    pub compute_nodes: Vec<ComputeNodeSpec>,
    #[serde(default)]
    pub instance_ha: InstanceHa,
    /// For testing the conformance suite: makes the simulated cloud misbehave on purpose.
    /// Every switch is off by default; no real deployment has this section.
    #[serde(default)]
    pub defects: Defects,
}

impl Default for Deployment {
    fn default() -> Self {
        Deployment::shipped("upstream-defaults").unwrap_or_else(|_| Deployment::empty())
    }
}

fn current_profile() -> KeyTypeProfile {
    KeyTypeProfile::Current
}

mod profile_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use sigstack_verify::KeyTypeProfile;

    pub fn serialize<S: Serializer>(p: &KeyTypeProfile, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&p.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<KeyTypeProfile, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// `spec:features` of the MOS `OpenStackDeployment` resource (only what sigstack models).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Features {
    #[serde(default)]
    pub glance: GlanceFeatures,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlanceFeatures {
    #[serde(default)]
    pub signature: SignatureFeature,
}

/// `features.glance.signature.enabled`: `None` when the profile is not a MOS one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFeature {
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// glance-api.conf `[DEFAULT]` limits, with Glance's defaults. Read on every request, so
/// `/_sim/deployment` changes them for the next ones. A negative quota is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlanceOptions {
    /// `image_property_quota`: additional properties an image may have (those in the
    /// reserved `os_glance` namespace not counted); more is a 413.
    #[serde(default = "default_glance_quota")]
    pub image_property_quota: i64,
    /// `image_tag_quota`: tags an image may have; more is a 413.
    #[serde(default = "default_glance_quota")]
    pub image_tag_quota: i64,
    /// `image_size_cap`: bytes an upload or a stage may carry (1 TiB); the data stops there,
    /// nothing of it is kept, and the answer is a 413. Between 1 and 8 EiB.
    #[serde(default = "default_image_size_cap")]
    pub image_size_cap: u64,
}

/// Glance's `image_property_quota` and `image_tag_quota` default.
pub const GLANCE_DEFAULT_QUOTA: i64 = 128;
/// Glance's `image_size_cap` default, 1 TiB, and its `max` (8 EiB).
pub const GLANCE_DEFAULT_IMAGE_SIZE_CAP: u64 = 1_099_511_627_776;
pub const GLANCE_MAX_IMAGE_SIZE_CAP: u64 = 9_223_372_036_854_775_808;

fn default_glance_quota() -> i64 {
    GLANCE_DEFAULT_QUOTA
}

fn default_image_size_cap() -> u64 {
    GLANCE_DEFAULT_IMAGE_SIZE_CAP
}

impl Default for GlanceOptions {
    fn default() -> Self {
        GlanceOptions {
            image_property_quota: GLANCE_DEFAULT_QUOTA,
            image_tag_quota: GLANCE_DEFAULT_QUOTA,
            image_size_cap: GLANCE_DEFAULT_IMAGE_SIZE_CAP,
        }
    }
}

/// cinder.conf's `verify_glance_signatures` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CinderVerification {
    Enabled,
    Disabled,
}

/// cinder.conf and Cinder's back ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CinderOptions {
    /// Unset: follows the MOS switch, else upstream's default (`enabled`).
    #[serde(default)]
    pub verify_glance_signatures: Option<CinderVerification>,
    /// `image_volume_cache_enabled` (per back end in real Cinder; one switch here).
    #[serde(default)]
    pub image_volume_cache_enabled: bool,
    /// Volume back ends; the first is the default volume type's.
    #[serde(default = "default_volume_backends")]
    pub backends: Vec<VolumeBackendSpec>,
}

impl Default for CinderOptions {
    fn default() -> Self {
        CinderOptions { verify_glance_signatures: None, image_volume_cache_enabled: false, backends: default_volume_backends() }
    }
}

/// Where Cinder keeps a back end's volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeDriver {
    /// LVM: every image-backed volume is downloaded (and verified).
    Lvm,
    /// Ceph RBD: RAW images are cloned inside Ceph, never downloaded, never verified.
    Rbd,
}

/// One Cinder back end; its name is also its volume type's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeBackendSpec {
    pub name: String,
    pub driver: VolumeDriver,
}

fn default_volume_backends() -> Vec<VolumeBackendSpec> {
    vec![VolumeBackendSpec { name: "lvmdriver-1".into(), driver: VolumeDriver::Lvm }]
}

/// A compute node's ephemeral storage back end (`[libvirt] images_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Lvm,
    Local,
    /// Ceph RBD: RAW images are cloned, never downloaded, never verified.
    #[serde(rename = "rbd")]
    CephRbd,
}

/// One nova-compute host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeNodeSpec {
    pub host: String,
    /// `[libvirt] images_type`.
    pub images_type: StorageBackend,
    /// The driver's `supports_trusted_certs` (libvirt: true; ironic: false).
    #[serde(default = "yes")]
    pub supports_trusted_certs: bool,
}

fn yes() -> bool {
    true
}

fn default_compute_nodes() -> Vec<ComputeNodeSpec> {
    ["compute-0", "compute-1"]
        .into_iter()
        .map(|host| ComputeNodeSpec { host: host.into(), images_type: StorageBackend::Local, supports_trusted_certs: true })
        .collect()
}

/// barbican.conf options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarbicanOptions {
    /// `[oslo_policy] enforce_new_defaults`. `false` (the default here): Barbican's legacy
    /// (deprecated) policy rules, which the documents and MOS describe: creating a secret needs
    /// `admin` or `creator`. `true`: Barbican 23's secure-RBAC defaults
    /// (`barbican/common/policies`), where any project `member` may create and list secrets
    /// and `reader` alone is refused. oslo.policy 4.4.0 (2024.2 "Dalmatian") turned
    /// `enforce_new_defaults` on by default, so Barbican 23.0.0 with a stock configuration
    /// runs the new rules; `ci/realstack` sets `False`
    /// (`REALSTACK_BARBICAN_NEW_DEFAULTS=1` for `True`).
    #[serde(default)]
    pub enforce_new_defaults: bool,
    /// `[oslo_policy] enforce_scope`. `false` (the default here, as in the shipped profiles):
    /// a token's scope is not checked against the rules' `scope_types`. `true`: every Barbican
    /// rule is `scope_types=['project']`, so a system-scoped token is refused (oslo.policy's
    /// `InvalidScope`, a 403 "... attempt not allowed") whatever its roles.
    #[serde(default)]
    pub enforce_scope: bool,
}

/// keystone.conf options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeystoneOptions {
    /// `[token] expiration`: seconds a new token stays valid (Keystone's default 3600, minimum
    /// 0). Read when a token is issued, so `/_sim/deployment` changes it for the next ones.
    /// A token rescoped with the `token` method keeps its original expiry, and one from an
    /// application credential never outlives the credential.
    #[serde(default = "default_token_expiration")]
    pub token_expiration: u32,
    /// `[identity] max_password_length` (default and maximum 4096 bytes of UTF-8). With the
    /// default `password_hash_algorithm` (bcrypt) the limit in force is bcrypt's 72 bytes.
    #[serde(default = "default_max_password_length")]
    pub max_password_length: u32,
    /// `[DEFAULT] strict_password_check`: a password over the limit is refused with a 403
    /// (`true`) or silently cut to the limit (`false`, Keystone's default), both when it is
    /// set and when it is checked.
    #[serde(default)]
    pub strict_password_check: bool,
    /// `[identity] password_hash_algorithm` (the simulator stores PBKDF2 hashes whatever it
    /// says; it decides the password length limit).
    #[serde(default)]
    pub password_hash_algorithm: PasswordHashAlgorithm,
}

/// `[identity] max_password_length`'s default and maximum.
pub const KEYSTONE_MAX_PASSWORD_LENGTH: u32 = 4096;

fn default_token_expiration() -> u32 {
    crate::keystone::TOKEN_TTL_SECONDS as u32
}

fn default_max_password_length() -> u32 {
    KEYSTONE_MAX_PASSWORD_LENGTH
}

impl Default for KeystoneOptions {
    fn default() -> Self {
        KeystoneOptions {
            token_expiration: default_token_expiration(),
            max_password_length: KEYSTONE_MAX_PASSWORD_LENGTH,
            strict_password_check: false,
            password_hash_algorithm: PasswordHashAlgorithm::default(),
        }
    }
}

impl KeystoneOptions {
    /// The password length (bytes) in force: `verify_length_and_trunc_password` caps bcrypt
    /// at its 72 bytes when the configured maximum is larger.
    pub fn password_limit(&self) -> usize {
        const BCRYPT_MAX_LENGTH: u32 = 72;
        match self.password_hash_algorithm {
            PasswordHashAlgorithm::Bcrypt if self.max_password_length > BCRYPT_MAX_LENGTH => BCRYPT_MAX_LENGTH as usize,
            _ => self.max_password_length as usize,
        }
    }
}

/// `[identity] password_hash_algorithm`'s choices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordHashAlgorithm {
    #[default]
    Bcrypt,
    BcryptSha256,
    Scrypt,
    Pbkdf2Sha512,
}

/// The instance-HA (Masakari) service user that evacuates instances from failed hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceHa {
    pub user: String,
}

impl Default for InstanceHa {
    fn default() -> Self {
        InstanceHa { user: "instance-ha".into() }
    }
}

/// For testing the conformance suite: makes the simulated cloud misbehave on purpose, one
/// switch per way a vendor's cloud can be broken while its capability file still claims the
/// feature (`scenarios/tests/broken_clouds.rs` runs the suite against each and asserts the
/// scenarios that catch it; docs/certification.md, "What a broken cloud looks like"). Each is
/// implemented where the real behaviour lives in the service model, read on every operation,
/// so `PATCH /_sim/deployment` with `{"defects": {...}}` turns one on in a running cloud. All
/// are off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Defects {
    /// Glance stores and activates a signed upload (or glance-direct import) without
    /// verifying it: no certificate is fetched, any data and any signature are accepted.
    pub glance_skips_verification: bool,
    /// Glance refuses an upload that fails verification with another message: `Signature
    /// verification failed for image <id>` without cursive's reason (still 400).
    pub glance_wrong_error_message: bool,
    /// Glance refuses an upload that fails verification with another status code: 500 instead
    /// of 400 (the message unchanged).
    pub glance_wrong_error_status: bool,
    /// nova-compute behaves as if `[glance] verify_glance_signatures` were False whatever the
    /// deployment says: only trusted certificates the user gives (2.63) make it verify.
    pub nova_skips_verification: bool,
    /// nova-compute verifies signatures but never validates the signing certificate, not
    /// even against the trusted certificates the user gives, and never refuses a boot for
    /// having no trusted certificates.
    pub nova_skips_certificate_validation: bool,
    /// nova-compute, verifying, boots an image that lacks some or all of the four signature
    /// properties without verifying it (an image with all four is still verified).
    pub nova_boots_unsigned: bool,
    /// Not a defect: nova-compute is stricter than upstream and verifies an image already in
    /// the host's cache too (boot, rebuild, hard reboot), which the MOS document lists as a
    /// known limitation. The suite must not fail a cloud for it.
    pub nova_verifies_cached_images: bool,
    /// Barbican lets any user read any secret's metadata and payload, whatever its project and
    /// read ACL (a private secret included).
    pub barbican_ignores_acls: bool,
    /// Cinder records `signature_verified: 'True'` for a volume from an image with the four
    /// signature properties without fetching the certificate or checking the data, so a
    /// tampered image becomes an available volume.
    pub cinder_marks_unverified_as_verified: bool,
}

impl Deployment {
    fn empty() -> Deployment {
        Deployment {
            name: String::new(),
            features: Features::default(),
            key_type_profile: KeyTypeProfile::Current,
            baseline_images: false,
            glance: GlanceOptions::default(),
            nova: NovaOptions::default(),
            cinder: CinderOptions::default(),
            barbican: BarbicanOptions::default(),
            keystone: KeystoneOptions::default(),
            compute_nodes: default_compute_nodes(),
            instance_ha: InstanceHa::default(),
            defects: Defects::default(),
        }
    }

    /// Parses a YAML (or JSON) document and checks it.
    pub fn from_yaml(source: &str, text: &str) -> Result<Deployment, DeploymentError> {
        let d: Deployment = serde_yaml_ng::from_str(text).map_err(|e| DeploymentError::Invalid(source.into(), e.to_string()))?;
        d.check().map_err(|e| DeploymentError::Invalid(source.into(), e))?;
        Ok(d)
    }

    /// A shipped profile by name.
    pub fn shipped(name: &str) -> Result<Deployment, DeploymentError> {
        let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
            DeploymentError::Invalid(name.into(), format!("no shipped profile '{name}' (shipped: {})", names.join(", ")))
        })?;
        Deployment::from_yaml(name, text)
    }

    /// `--deployment` argument: a shipped profile name, or a file path.
    pub fn load(name_or_path: &str) -> Result<Deployment, DeploymentError> {
        if SHIPPED.iter().any(|(n, _)| *n == name_or_path) && !Path::new(name_or_path).exists() {
            return Deployment::shipped(name_or_path);
        }
        let text = std::fs::read_to_string(name_or_path).map_err(|e| DeploymentError::Read(name_or_path.into(), e))?;
        Deployment::from_yaml(name_or_path, &text)
    }

    /// Rules serde cannot express.
    fn check(&self) -> Result<(), String> {
        if self.compute_nodes.is_empty() {
            return Err("compute_nodes: at least one compute node is needed".into());
        }
        let mut hosts: Vec<&str> = self.compute_nodes.iter().map(|n| n.host.as_str()).collect();
        hosts.sort_unstable();
        if let Some(w) = hosts.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("compute_nodes: host '{}' listed twice", w[0]));
        }
        if hosts.iter().any(|h| h.is_empty() || h.contains(['/', ':', ' '])) {
            return Err("compute_nodes: a host name must be non-empty, without '/', ':' or spaces".into());
        }
        if self.cinder.backends.is_empty() {
            return Err("cinder.backends: at least one back end is needed".into());
        }
        if !(1..=GLANCE_MAX_IMAGE_SIZE_CAP).contains(&self.glance.image_size_cap) {
            return Err(format!(
                "glance.image_size_cap must be between 1 and {GLANCE_MAX_IMAGE_SIZE_CAP} (got {})",
                self.glance.image_size_cap
            ));
        }
        if !(1..=KEYSTONE_MAX_PASSWORD_LENGTH).contains(&self.keystone.max_password_length) {
            return Err(format!(
                "keystone.max_password_length must be between 1 and {KEYSTONE_MAX_PASSWORD_LENGTH} (got {})",
                self.keystone.max_password_length
            ));
        }
        self.nova.check()
    }

    /// nova `[glance] verify_glance_signatures` in effect.
    pub fn nova_verify_glance_signatures(&self) -> bool {
        self.nova.glance.verify_glance_signatures.unwrap_or(self.features.glance.signature.enabled.unwrap_or(false))
    }

    /// cinder `verify_glance_signatures` in effect (upstream default `enabled`; a MOS profile
    /// follows its switch).
    pub fn cinder_verification(&self) -> CinderVerification {
        self.cinder.verify_glance_signatures.unwrap_or(match self.features.glance.signature.enabled {
            Some(false) => CinderVerification::Disabled,
            _ => CinderVerification::Enabled,
        })
    }

    /// Whether the MOS switch is on.
    pub fn signature_feature_enabled(&self) -> bool {
        self.features.glance.signature.enabled == Some(true)
    }
}

/// The deployment of a running cloud, shared by the services and `/_sim/deployment`.
#[derive(Debug)]
pub struct DeploymentState {
    initial: Deployment,
    current: RwLock<Deployment>,
}

impl DeploymentState {
    pub fn new(deployment: Deployment) -> Arc<DeploymentState> {
        Arc::new(DeploymentState { initial: deployment.clone(), current: RwLock::new(deployment) })
    }

    /// A snapshot of the deployment in effect.
    pub fn get(&self) -> Deployment {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Applies a JSON merge patch (RFC 7396) to the deployment; the result is checked before
    /// it takes effect. Compute nodes and back ends can be changed; their caches and volumes
    /// are kept by host and back-end name.
    pub fn merge_patch(&self, patch: &Value) -> Result<Deployment, String> {
        let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
        let mut doc = serde_json::to_value(&*guard).map_err(|e| e.to_string())?;
        merge(&mut doc, patch);
        let next: Deployment = serde_json::from_value(doc).map_err(|e| e.to_string())?;
        next.check()?;
        *guard = next.clone();
        Ok(next)
    }

    /// Back to the deployment the cloud started with (`/_sim/reset`).
    pub fn restore(&self) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = self.initial.clone();
    }
}

impl crate::control::Resettable for DeploymentState {
    fn name(&self) -> String {
        "deployment".into()
    }

    fn reset(&self) -> Result<Value, String> {
        self.restore();
        Ok(Value::String(self.initial.name.clone()))
    }
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shipped_profiles_parse_and_say_what_the_documents_say() {
        let mos = Deployment::shipped("mos").unwrap();
        assert!(mos.signature_feature_enabled());
        assert!(mos.nova_verify_glance_signatures());
        assert!(!mos.nova.glance.enable_certificate_validation);
        assert_eq!(mos.cinder_verification(), CinderVerification::Enabled);
        assert!(mos.baseline_images);
        assert!(mos.compute_nodes.iter().any(|n| n.images_type == StorageBackend::CephRbd));

        let upstream = Deployment::shipped("upstream-certificate-validation").unwrap();
        assert!(upstream.nova_verify_glance_signatures());
        assert!(upstream.nova.glance.enable_certificate_validation);
        assert!(!upstream.baseline_images);

        let defaults = Deployment::shipped("upstream-defaults").unwrap();
        assert!(!defaults.nova_verify_glance_signatures());
        assert_eq!(defaults.cinder_verification(), CinderVerification::Enabled);
        assert_eq!(Deployment::default(), defaults);
    }

    #[test]
    fn barbican_policy_defaults_are_legacy_unless_asked() {
        for (name, _) in SHIPPED {
            assert!(!Deployment::shipped(name).unwrap().barbican.enforce_new_defaults, "{name}");
        }
        let d = Deployment::from_yaml("x", "barbican: {enforce_new_defaults: true}").unwrap();
        assert!(d.barbican.enforce_new_defaults);
        let e = Deployment::from_yaml("x", "barbican: {enforce_new_default: true}").unwrap_err().to_string();
        assert!(e.contains("unknown field `enforce_new_default`"), "{e}");
        let state = DeploymentState::new(Deployment::default());
        assert!(state.merge_patch(&json!({"barbican": {"enforce_new_defaults": true}})).unwrap().barbican.enforce_new_defaults);
        assert!(state.get().barbican.enforce_new_defaults);
        state.restore();
        assert!(!state.get().barbican.enforce_new_defaults);
    }

    #[test]
    fn keystone_token_expiration_defaults_to_keystones_and_can_change() {
        for (name, _) in SHIPPED {
            assert_eq!(Deployment::shipped(name).unwrap().keystone.token_expiration, 3600, "{name}");
        }
        let d = Deployment::from_yaml("x", "keystone: {token_expiration: 60}").unwrap();
        assert_eq!(d.keystone.token_expiration, 60);
        let e = Deployment::from_yaml("x", "keystone: {expiration: 60}").unwrap_err().to_string();
        assert!(e.contains("unknown field `expiration`"), "{e}");
        let e = Deployment::from_yaml("x", "keystone: {token_expiration: -1}").unwrap_err().to_string();
        assert!(e.contains("-1"), "{e}");
        let state = DeploymentState::new(Deployment::default());
        assert_eq!(state.merge_patch(&json!({"keystone": {"token_expiration": 5}})).unwrap().keystone.token_expiration, 5);
        state.restore();
        assert_eq!(state.get().keystone.token_expiration, 3600);
    }

    #[test]
    fn glance_limits_and_keystone_passwords_default_to_upstreams() {
        for (name, _) in SHIPPED {
            let d = Deployment::shipped(name).unwrap();
            assert_eq!(d.glance, GlanceOptions { image_property_quota: 128, image_tag_quota: 128, image_size_cap: 1 << 40 }, "{name}");
            assert_eq!(
                (d.keystone.max_password_length, d.keystone.strict_password_check, d.keystone.password_hash_algorithm),
                (4096, false, PasswordHashAlgorithm::Bcrypt),
                "{name}"
            );
            assert_eq!(d.keystone.password_limit(), 72, "bcrypt's limit wins over 4096");
        }
        let d = Deployment::from_yaml(
            "x",
            "glance: {image_tag_quota: -1}\nkeystone: {password_hash_algorithm: pbkdf2_sha512, max_password_length: 100}",
        )
        .unwrap();
        assert_eq!((d.glance.image_tag_quota, d.glance.image_property_quota), (-1, 128));
        assert_eq!(d.keystone.password_limit(), 100);
        let d = Deployment::from_yaml("x", "keystone: {max_password_length: 50}").unwrap();
        assert_eq!(d.keystone.password_limit(), 50, "a limit below bcrypt's is the configured one");
        let e = Deployment::from_yaml("x", "glance: {image_size_cap: 0}").unwrap_err().to_string();
        assert!(e.contains("glance.image_size_cap must be between 1 and 9223372036854775808 (got 0)"), "{e}");
        let e = Deployment::from_yaml("x", "glance: {image_size_cap: 9223372036854775809}").unwrap_err().to_string();
        assert!(e.contains("(got 9223372036854775809)"), "{e}");
        let e = Deployment::from_yaml("x", "keystone: {max_password_length: 0}").unwrap_err().to_string();
        assert!(e.contains("keystone.max_password_length must be between 1 and 4096 (got 0)"), "{e}");
        let e = Deployment::from_yaml("x", "glance: {image_quota: 1}").unwrap_err().to_string();
        assert!(e.contains("unknown field `image_quota`"), "{e}");
        let e = Deployment::from_yaml("x", "keystone: {password_hash_algorithm: md5}").unwrap_err().to_string();
        assert!(e.contains("unknown variant `md5`"), "{e}");
        let state = DeploymentState::new(Deployment::default());
        assert_eq!(state.merge_patch(&json!({"glance": {"image_size_cap": 10}})).unwrap().glance.image_size_cap, 10);
        state.restore();
        assert_eq!(state.get().glance.image_size_cap, GLANCE_DEFAULT_IMAGE_SIZE_CAP);
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let e = Deployment::from_yaml("x", "compute_nodes: []").unwrap_err().to_string();
        assert!(e.contains("at least one compute node"), "{e}");
        let e = Deployment::from_yaml("x", "nova: {glance: {verify_glance_signature: true}}").unwrap_err().to_string();
        assert!(e.contains("unknown field `verify_glance_signature`"), "{e}");
        let e = Deployment::from_yaml("x", "compute_nodes: [{host: a, images_type: ceph}]").unwrap_err().to_string();
        assert!(e.contains("unknown variant `ceph`"), "{e}");
        let e = Deployment::from_yaml("x", "key_type_profile: newest").unwrap_err().to_string();
        assert!(e.contains("newest"), "{e}");
        let e = Deployment::shipped("nope").unwrap_err().to_string();
        assert!(e.contains("shipped: mos, upstream-certificate-validation, upstream-defaults"), "{e}");
    }

    #[test]
    fn switch_drives_nova_and_cinder_unless_overridden() {
        let d = Deployment::from_yaml("x", "features: {glance: {signature: {enabled: false}}}").unwrap();
        assert!(!d.nova_verify_glance_signatures());
        assert_eq!(d.cinder_verification(), CinderVerification::Disabled);
        let d =
            Deployment::from_yaml("x", "features: {glance: {signature: {enabled: true}}}\ncinder: {verify_glance_signatures: disabled}")
                .unwrap();
        assert!(d.nova_verify_glance_signatures());
        assert_eq!(d.cinder_verification(), CinderVerification::Disabled);
    }

    #[test]
    fn defects_are_off_unless_asked_and_patchable() {
        for (name, _) in SHIPPED {
            assert_eq!(Deployment::shipped(name).unwrap().defects, Defects::default(), "{name}");
        }
        let d = Deployment::from_yaml("x", "defects: {glance_skips_verification: true, barbican_ignores_acls: true}").unwrap();
        assert!(d.defects.glance_skips_verification && d.defects.barbican_ignores_acls);
        assert!(!d.defects.nova_skips_verification);
        let e = Deployment::from_yaml("x", "defects: {glance_skips_verifying: true}").unwrap_err().to_string();
        assert!(e.contains("unknown field `glance_skips_verifying`"), "{e}");
        let state = DeploymentState::new(Deployment::default());
        let d = state.merge_patch(&json!({"defects": {"nova_boots_unsigned": true}})).unwrap();
        assert!(d.defects.nova_boots_unsigned);
        // A patch of another section keeps the defects; reset clears them.
        assert!(state.merge_patch(&json!({"nova": {"glance": {"verify_glance_signatures": true}}})).unwrap().defects.nova_boots_unsigned);
        state.restore();
        assert_eq!(state.get().defects, Defects::default());
    }

    #[test]
    fn merge_patch_changes_and_checks() {
        let existing = Deployment::from_yaml("x", "features: {glance: {signature: {enabled: false}}}").unwrap();
        let state = DeploymentState::new(existing);
        assert!(!state.get().nova_verify_glance_signatures());
        let d = state.merge_patch(&json!({"features": {"glance": {"signature": {"enabled": true}}}})).unwrap();
        assert!(d.nova_verify_glance_signatures());
        assert!(state.get().nova_verify_glance_signatures());
        let e = state.merge_patch(&json!({"compute_nodes": []})).unwrap_err();
        assert!(e.contains("at least one compute node"), "{e}");
        assert!(state.get().nova_verify_glance_signatures(), "a refused patch changes nothing");
        state.restore();
        assert!(!state.get().nova_verify_glance_signatures());
    }
}
