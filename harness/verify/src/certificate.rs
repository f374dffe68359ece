//! X.509 certificates as cursive sees them: parsed from PEM or DER, compared by their DER bytes,
//! names compared by value, extensions read the way `certificate_utils` reads them.

use std::fmt;
use std::time::{Duration, SystemTime};

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::name::Name;

use crate::Error;
use crate::algorithms::{HashMethod, KeyTypeProfile};
use crate::public_key::{PublicKey, RsaPadding, SignatureHash};

const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

/// A parsed X.509 certificate, kept with its exact DER encoding.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    /// The `tbsCertificate` bytes exactly as encoded, which is what the issuer signed.
    tbs: std::ops::Range<usize>,
    inner: x509_cert::Certificate,
}

impl PartialEq for Certificate {
    /// cryptography's `Certificate.__eq__`: identical DER.
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}
impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate").field("subject", &self.subject()).finish()
    }
}

/// Why a certificate cannot serve as a trust anchor or intermediate (cursive
/// `can_sign_certificates`, in the order it checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningCapability {
    Capable,
    NoBasicConstraints,
    NoKeyUsage,
    NotCa,
    NoKeyCertSign,
}

impl Certificate {
    /// PEM (any text before the `BEGIN CERTIFICATE` line is skipped, as OpenSSL does) or DER.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, Error> {
        if find(bytes, PEM_BEGIN.as_bytes()).is_some() { Self::from_pem(bytes) } else { Self::from_der(bytes) }
    }

    /// The first PEM certificate block in `bytes`.
    pub fn from_pem(bytes: &[u8]) -> Result<Self, Error> {
        let start = find(bytes, PEM_BEGIN.as_bytes()).ok_or_else(|| Error::CertificateParse("no PEM certificate block found".into()))?;
        let rest = &bytes[start..];
        let end = find(rest, PEM_END.as_bytes())
            .map(|e| e + PEM_END.len())
            .ok_or_else(|| Error::CertificateParse("PEM certificate block is not terminated".into()))?;
        let (label, der) = pem_rfc7468::decode_vec(&rest[..end]).map_err(|e| Error::CertificateParse(format!("invalid PEM: {e}")))?;
        if label != "CERTIFICATE" {
            return Err(Error::CertificateParse(format!("unexpected PEM label {label}")));
        }
        Self::from_der(&der)
    }

    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let inner = x509_cert::Certificate::from_der(der).map_err(|e| Error::CertificateParse(format!("invalid X.509 DER: {e}")))?;
        let tbs = tbs_range(der).map_err(|e| Error::CertificateParse(format!("invalid X.509 DER: {e}")))?;
        Ok(Certificate { der: der.to_vec(), tbs, inner })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn to_pem(&self) -> String {
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &self.der).unwrap_or_default()
    }

    pub fn x509(&self) -> &x509_cert::Certificate {
        &self.inner
    }

    /// RFC 4514 text of the subject, for messages and reports.
    pub fn subject(&self) -> String {
        self.inner.tbs_certificate().subject().to_string()
    }

    pub fn issuer(&self) -> String {
        self.inner.tbs_certificate().issuer().to_string()
    }

    pub fn not_before(&self) -> SystemTime {
        self.inner.tbs_certificate().validity().not_before.to_system_time()
    }

    pub fn not_after(&self) -> SystemTime {
        self.inner.tbs_certificate().validity().not_after.to_system_time()
    }

    /// cursive `is_within_valid_dates`: both bounds inclusive.
    pub fn is_within_valid_dates(&self, now: SystemTime) -> bool {
        now >= self.not_before() && now <= self.not_after()
    }

    /// The public key as a cloud with this key-type profile loads it (binary curves fail to
    /// load under `current`, as on cryptography >= 47).
    pub fn public_key_for(&self, profile: KeyTypeProfile) -> Result<PublicKey, Error> {
        let key = self.public_key()?;
        key.check_profile(profile)?;
        Ok(key)
    }

    /// The public key, whatever the profile.
    pub fn public_key(&self) -> Result<PublicKey, Error> {
        let spki = self.inner.tbs_certificate().subject_public_key_info().to_der().map_err(|e| Error::CertificateParse(e.to_string()))?;
        PublicKey::from_spki_der(&spki)
    }

    /// The BasicConstraints extension, if present (critical or not).
    pub fn basic_constraints(&self) -> Result<Option<BasicConstraints>, Error> {
        self.inner
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .map(|e| e.map(|(_, bc)| bc))
            .map_err(|e| Error::CertificateParse(format!("invalid basic constraints extension: {e}")))
    }

    pub fn key_usage(&self) -> Result<Option<KeyUsage>, Error> {
        self.inner
            .tbs_certificate()
            .get_extension::<KeyUsage>()
            .map(|e| e.map(|(_, ku)| ku))
            .map_err(|e| Error::CertificateParse(format!("invalid key usage extension: {e}")))
    }

    /// cursive `can_sign_certificates`: BasicConstraints and KeyUsage present, CA true,
    /// keyCertSign set; the first failing check is reported.
    pub fn signing_capability(&self) -> Result<SigningCapability, Error> {
        let Some(bc) = self.basic_constraints()? else {
            return Ok(SigningCapability::NoBasicConstraints);
        };
        let Some(ku) = self.key_usage()? else {
            return Ok(SigningCapability::NoKeyUsage);
        };
        Ok(if !bc.ca {
            SigningCapability::NotCa
        } else if !ku.key_cert_sign() {
            SigningCapability::NoKeyCertSign
        } else {
            SigningCapability::Capable
        })
    }

    /// cursive `is_issuer(issuer, self)`: `issuer`'s subject equals this certificate's issuer
    /// name exactly (no RFC 5280 normalisation, string types ignored) and `issuer`'s key verifies
    /// this certificate's signature (RSA always with PKCS#1 v1.5). A bad signature is `false`;
    /// an algorithm that cannot be evaluated is an error, as the exception escapes in cursive.
    pub fn is_issued_by(&self, issuer: &Certificate, profile: KeyTypeProfile) -> Result<bool, Error> {
        if !names_equal(issuer.inner.tbs_certificate().subject(), self.inner.tbs_certificate().issuer()) {
            return Ok(false);
        }
        let hash = self.signature_hash()?;
        let key = issuer.public_key_for(profile)?;
        let tbs = &self.der[self.tbs.clone()];
        let digest = hash.digest(tbs);
        let signature = self.inner.signature().raw_bytes();
        match key.verify_digest(hash, &digest, signature, RsaPadding::Pkcs1v15) {
            Ok(()) => Ok(true),
            Err(Error::InvalidSignature) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The hash of this certificate's signature algorithm (cryptography's
    /// `signature_hash_algorithm`).
    fn signature_hash(&self) -> Result<SignatureHash, Error> {
        let alg = self.inner.signature_algorithm();
        let oid = alg.oid.to_string();
        let hash = match oid.as_str() {
            // sha*WithRSAEncryption
            "1.2.840.113549.1.1.5" => SignatureHash::Sha1,
            "1.2.840.113549.1.1.14" => SignatureHash::Sha2(HashMethod::Sha224),
            "1.2.840.113549.1.1.11" => SignatureHash::Sha2(HashMethod::Sha256),
            "1.2.840.113549.1.1.12" => SignatureHash::Sha2(HashMethod::Sha384),
            "1.2.840.113549.1.1.13" => SignatureHash::Sha2(HashMethod::Sha512),
            // ecdsa-with-SHA*
            "1.2.840.10045.4.1" => SignatureHash::Sha1,
            "1.2.840.10045.4.3.1" => SignatureHash::Sha2(HashMethod::Sha224),
            "1.2.840.10045.4.3.2" => SignatureHash::Sha2(HashMethod::Sha256),
            "1.2.840.10045.4.3.3" => SignatureHash::Sha2(HashMethod::Sha384),
            "1.2.840.10045.4.3.4" => SignatureHash::Sha2(HashMethod::Sha512),
            // dsa-with-SHA*
            "1.2.840.10040.4.3" => SignatureHash::Sha1,
            "2.16.840.1.101.3.4.3.1" => SignatureHash::Sha2(HashMethod::Sha224),
            "2.16.840.1.101.3.4.3.2" => SignatureHash::Sha2(HashMethod::Sha256),
            // RSASSA-PSS: the hash comes from the parameters; cursive then checks the signature
            // with PKCS#1 v1.5, which cannot match, so any SHA-2 choice gives the same verdict.
            "1.2.840.113549.1.1.10" => pss_hash(alg)?,
            other => {
                return Err(Error::UnsupportedAlgorithm(format!("Signature algorithm OID: {other} not recognized")));
            }
        };
        Ok(hash)
    }
}

fn pss_hash(alg: &spki::AlgorithmIdentifierOwned) -> Result<SignatureHash, Error> {
    let Some(params) = alg.parameters.as_ref() else { return Ok(SignatureHash::Sha1) };
    let der = params.to_der().map_err(|e| Error::CertificateParse(e.to_string()))?;
    let params =
        pkcs1::RsaPssParamsOwned::from_der(&der).map_err(|e| Error::CertificateParse(format!("invalid RSASSA-PSS parameters: {e}")))?;
    let oid = Some(params.hash.oid);
    Ok(match oid.map(|o| o.to_string()).as_deref() {
        None | Some("1.3.14.3.2.26") => SignatureHash::Sha1,
        Some("2.16.840.1.101.3.4.2.4") => SignatureHash::Sha2(HashMethod::Sha224),
        Some("2.16.840.1.101.3.4.2.1") => SignatureHash::Sha2(HashMethod::Sha256),
        Some("2.16.840.1.101.3.4.2.2") => SignatureHash::Sha2(HashMethod::Sha384),
        Some("2.16.840.1.101.3.4.2.3") => SignatureHash::Sha2(HashMethod::Sha512),
        Some(other) => {
            return Err(Error::UnsupportedAlgorithm(format!("Hash algorithm OID: {other} not recognized")));
        }
    })
}

/// Byte range of the first element (tbsCertificate) inside the outer SEQUENCE.
fn tbs_range(der: &[u8]) -> der::Result<std::ops::Range<usize>> {
    let mut reader = SliceReader::new(der)?;
    let outer = der::Header::decode(&mut reader)?;
    if outer.tag() != Tag::Sequence {
        return Err(der::Tag::Sequence.value_error().into());
    }
    let start: usize = reader.position().try_into()?;
    let tbs_header = der::Header::decode(&mut reader)?;
    let len: usize = (tbs_header.encoded_len()? + tbs_header.length())?.try_into()?;
    Ok(start..start + len)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An attribute value as cryptography compares it: strings by their text whatever their
/// ASN.1 string type, anything else by its encoding.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum AttributeValue {
    Text(String),
    Raw(Vec<u8>),
}

fn attribute_value(any: &der::asn1::Any) -> AttributeValue {
    let value = any.value();
    let text = match any.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => std::str::from_utf8(value).ok().map(str::to_owned),
        // T61String: cryptography decodes it as Latin-1.
        Tag::TeletexString => Some(value.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = value.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).ok()
        }
        // UniversalString (tag 28), which `der` has no variant for.
        tag if tag.number().value() == 28 && tag.class() == der::Class::Universal => {
            value.chunks_exact(4).map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))).collect()
        }
        _ => None,
    };
    match text {
        Some(t) => AttributeValue::Text(t),
        None => AttributeValue::Raw(any.to_der().unwrap_or_default()),
    }
}

type NameKey = Vec<Vec<(ObjectIdentifier, AttributeValue)>>;

/// Ordered RDNs, each a set of (type, value): cryptography's `Name.__eq__`.
fn name_key(name: &Name) -> NameKey {
    name.iter_rdn()
        .map(|rdn| {
            let mut set: Vec<_> = rdn.iter().map(|atv| (atv.oid, attribute_value(&atv.value))).collect();
            set.sort();
            set.dedup();
            set
        })
        .collect()
}

pub(crate) fn names_equal(a: &Name, b: &Name) -> bool {
    name_key(a) == name_key(b)
}

/// Seconds since the epoch as a `SystemTime` (tests and the CLI's `--now`).
pub fn unix_time(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}
