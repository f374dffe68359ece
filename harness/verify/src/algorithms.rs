//! Hash methods, key types and the key-type profiles (which names a cloud's cursive registers).

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

use crate::Error;

/// `img_signature_hash_method`: exact, case-sensitive names (cursive `HASH_METHODS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashMethod {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HashMethod {
    pub const ALL: [HashMethod; 4] = [HashMethod::Sha224, HashMethod::Sha256, HashMethod::Sha384, HashMethod::Sha512];

    /// The property value, e.g. `SHA-256`.
    pub fn name(self) -> &'static str {
        match self {
            HashMethod::Sha224 => "SHA-224",
            HashMethod::Sha256 => "SHA-256",
            HashMethod::Sha384 => "SHA-384",
            HashMethod::Sha512 => "SHA-512",
        }
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashMethod::Sha224 => 28,
            HashMethod::Sha256 => 32,
            HashMethod::Sha384 => 48,
            HashMethod::Sha512 => 64,
        }
    }

    /// A fresh streaming hasher for this method.
    pub fn hasher(self) -> Hasher {
        match self {
            HashMethod::Sha224 => Hasher::Sha224(sha2::Sha224::new()),
            HashMethod::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashMethod::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            HashMethod::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// One-shot digest (certificates, tests).
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finalize()
    }
}

impl fmt::Display for HashMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashMethod {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        HashMethod::ALL.into_iter().find(|h| h.name() == s).ok_or_else(|| Error::InvalidHashMethod(s.to_owned()))
    }
}

/// A running SHA-2 computation; the image is hashed exactly once, as it streams.
#[derive(Clone)]
pub enum Hasher {
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub fn finalize(self) -> Vec<u8> {
        match self {
            Hasher::Sha224(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// The curves cursive may register, in cursive's candidate order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcCurve {
    Sect571k1,
    Sect409k1,
    Sect571r1,
    Sect409r1,
    Secp521r1,
    Secp384r1,
}

impl EcCurve {
    pub const ALL: [EcCurve; 6] =
        [EcCurve::Sect571k1, EcCurve::Sect409k1, EcCurve::Sect571r1, EcCurve::Sect409r1, EcCurve::Secp521r1, EcCurve::Secp384r1];

    /// Upper-case curve name as used after `ECC_`.
    pub fn name(self) -> &'static str {
        match self {
            EcCurve::Sect571k1 => "SECT571K1",
            EcCurve::Sect409k1 => "SECT409K1",
            EcCurve::Sect571r1 => "SECT571R1",
            EcCurve::Sect409r1 => "SECT409R1",
            EcCurve::Secp521r1 => "SECP521R1",
            EcCurve::Secp384r1 => "SECP384R1",
        }
    }

    /// Binary-field curves, which Python's cryptography dropped in 47.
    pub fn is_binary(self) -> bool {
        matches!(self, EcCurve::Sect571k1 | EcCurve::Sect409k1 | EcCurve::Sect571r1 | EcCurve::Sect409r1)
    }
}

/// `img_signature_key_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    RsaPss,
    Dsa,
    /// `ECC_<CURVE>`. Like cursive, the curve is a name only: any EC key satisfies any ECC type.
    Ecc(EcCurve),
}

impl KeyType {
    /// Every name any profile can register.
    pub const ALL: [KeyType; 8] = [
        KeyType::RsaPss,
        KeyType::Dsa,
        KeyType::Ecc(EcCurve::Sect571k1),
        KeyType::Ecc(EcCurve::Sect409k1),
        KeyType::Ecc(EcCurve::Sect571r1),
        KeyType::Ecc(EcCurve::Sect409r1),
        KeyType::Ecc(EcCurve::Secp521r1),
        KeyType::Ecc(EcCurve::Secp384r1),
    ];

    /// The property value, e.g. `RSA-PSS` or `ECC_SECP384R1`.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::RsaPss => "RSA-PSS",
            KeyType::Dsa => "DSA",
            KeyType::Ecc(EcCurve::Sect571k1) => "ECC_SECT571K1",
            KeyType::Ecc(EcCurve::Sect409k1) => "ECC_SECT409K1",
            KeyType::Ecc(EcCurve::Sect571r1) => "ECC_SECT571R1",
            KeyType::Ecc(EcCurve::Sect409r1) => "ECC_SECT409R1",
            KeyType::Ecc(EcCurve::Secp521r1) => "ECC_SECP521R1",
            KeyType::Ecc(EcCurve::Secp384r1) => "ECC_SECP384R1",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which key-type names are registered, i.e. which cursive/cryptography a cloud runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyTypeProfile {
    /// cursive on cryptography < 47: all eight names, binary curves included.
    Legacy,
    /// cursive 0.3.1 on cryptography >= 47: `RSA-PSS`, `DSA`, `ECC_SECP384R1`, `ECC_SECP521R1`.
    #[default]
    Current,
}

impl KeyTypeProfile {
    pub fn name(self) -> &'static str {
        match self {
            KeyTypeProfile::Legacy => "legacy",
            KeyTypeProfile::Current => "current",
        }
    }

    pub fn registers(self, key_type: KeyType) -> bool {
        match (self, key_type) {
            (KeyTypeProfile::Current, KeyType::Ecc(curve)) => !curve.is_binary(),
            _ => true,
        }
    }

    /// The registered names, sorted as cursive's registry prints them.
    pub fn registered_names(self) -> Vec<&'static str> {
        let mut names: Vec<_> = KeyType::ALL.into_iter().filter(|k| self.registers(*k)).map(KeyType::name).collect();
        names.sort_unstable();
        names
    }

    /// cursive's `SignatureKeyType.lookup`: exact, case-sensitive.
    pub fn lookup(self, name: &str) -> Result<KeyType, Error> {
        KeyType::ALL.into_iter().find(|k| k.name() == name && self.registers(*k)).ok_or_else(|| Error::InvalidKeyType(name.to_owned()))
    }
}

impl fmt::Display for KeyTypeProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyTypeProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "legacy" => Ok(KeyTypeProfile::Legacy),
            "current" => Ok(KeyTypeProfile::Current),
            other => Err(format!("unknown key-type profile '{other}' (expected legacy or current)")),
        }
    }
}
