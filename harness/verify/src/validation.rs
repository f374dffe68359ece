//! Certificate validation with cursive's `certificate_utils` semantics (what Nova runs when
//! trusted certificate IDs are in play). Deliberately not RFC 5280: the trust set is filtered,
//! the chain is built by exact name match plus signature, first match, no backtracking, and
//! must end at a self-signed trusted certificate; path lengths count the root too.

use std::fmt;
use std::time::SystemTime;

use crate::Error;
use crate::algorithms::KeyTypeProfile;
use crate::certificate::{Certificate, SigningCapability};

/// The `enforce_*` switches of `CertificateVerificationContext` (all on in Nova).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationOptions {
    pub enforce_valid_dates: bool,
    pub enforce_signing_extensions: bool,
    pub enforce_path_length: bool,
    /// Which keys the cloud's cryptography can load (binary curves only under `legacy`).
    pub key_type_profile: KeyTypeProfile,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            enforce_valid_dates: true,
            enforce_signing_extensions: true,
            enforce_path_length: true,
            key_type_profile: KeyTypeProfile::Current,
        }
    }
}

/// Why a trusted certificate was left out of the trust set. cursive only logs these; they are
/// never errors. `Display` gives cursive's log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSkip {
    /// The certificate could not be fetched (Nova: `Skipping trusted certificate: <msg>`).
    Unavailable {
        uuid: String,
        reason: String,
    },
    OutsideValidDates {
        uuid: String,
    },
    NotSigningCertificate {
        uuid: String,
        capability: SigningCapability,
    },
}

impl fmt::Display for TrustSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustSkip::Unavailable { reason, .. } => write!(f, "Skipping trusted certificate: {reason}"),
            TrustSkip::OutsideValidDates { uuid } => write!(
                f,
                "Certificate '{uuid}' is outside its valid date range and cannot be used as a \
                 signing certificate."
            ),
            TrustSkip::NotSigningCertificate { uuid, .. } => write!(
                f,
                "Certificate '{uuid}' is not configured to act as a signing certificate. It will \
                 not be used as a signing certificate."
            ),
        }
    }
}

/// A filtered set of trusted certificates that validates signing certificates against it.
#[derive(Debug, Clone)]
pub struct CertificateValidator {
    trusted: Vec<(String, Certificate)>,
    skipped: Vec<TrustSkip>,
    options: ValidationOptions,
    now: SystemTime,
}

impl CertificateValidator {
    /// Builds the trust set from `(uuid, certificate)` pairs in order, dropping (and recording)
    /// the ones out of date or unable to sign certificates. `now` is the clock cursive reads.
    pub fn new<I>(trusted: I, now: SystemTime, options: ValidationOptions) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (String, Certificate)>,
    {
        let mut validator = CertificateValidator { trusted: Vec::new(), skipped: Vec::new(), options, now };
        for (uuid, cert) in trusted {
            validator.add_trusted(uuid, cert)?;
        }
        Ok(validator)
    }

    fn add_trusted(&mut self, uuid: String, cert: Certificate) -> Result<(), Error> {
        if self.options.enforce_valid_dates && !cert.is_within_valid_dates(self.now) {
            self.skipped.push(TrustSkip::OutsideValidDates { uuid });
            return Ok(());
        }
        if self.options.enforce_signing_extensions {
            let capability = cert.signing_capability()?;
            if capability != SigningCapability::Capable {
                self.skipped.push(TrustSkip::NotSigningCertificate { uuid, capability });
                return Ok(());
            }
        }
        self.trusted.push((uuid, cert));
        Ok(())
    }

    /// Records a trusted certificate that could not be fetched (Nova skips it).
    pub fn skip_unavailable(&mut self, uuid: impl Into<String>, reason: impl Into<String>) {
        self.skipped.push(TrustSkip::Unavailable { uuid: uuid.into(), reason: reason.into() });
    }

    /// The certificates that made it into the trust set, in order.
    pub fn trusted(&self) -> impl Iterator<Item = (&str, &Certificate)> {
        self.trusted.iter().map(|(u, c)| (u.as_str(), c))
    }

    /// What was left out and why, in the order cursive would have logged it.
    pub fn skipped(&self) -> &[TrustSkip] {
        &self.skipped
    }

    /// Validates `leaf` (cursive `update` + `verify`). On success returns the chain's uuids,
    /// root first, leaf last as `base`.
    pub fn validate(&self, leaf: &Certificate) -> Result<Vec<String>, Error> {
        if self.options.enforce_valid_dates && !leaf.is_within_valid_dates(self.now) {
            return Err(Error::CertificateOutsideValidDates);
        }
        let chain = self.build_chain(leaf)?;
        if self.options.enforce_path_length {
            check_path_lengths(&chain)?;
        }
        Ok(chain.into_iter().map(|(uuid, _)| uuid.to_owned()).collect())
    }

    /// First match, no backtracking, stop at a self-signed trusted certificate.
    fn build_chain<'a>(&'a self, leaf: &'a Certificate) -> Result<Vec<(&'a str, &'a Certificate)>, Error> {
        // Root-first, as cursive inserts each issuer at the front.
        let mut chain: Vec<(&str, &Certificate)> = vec![("base", leaf)];
        let mut current = leaf;
        loop {
            let mut found = None;
            for (uuid, candidate) in &self.trusted {
                if current.is_issued_by(candidate, self.options.key_type_profile)? {
                    found = Some((uuid.as_str(), candidate));
                    break;
                }
            }
            let Some((uuid, issuer)) = found else {
                let top = chain[0].0;
                return Err(Error::ChainBuilding { certificate: (top != "base").then(|| top.to_owned()) });
            };
            if issuer == current {
                return Ok(chain);
            }
            // cursive loops forever here; a certificate seen twice means a cycle.
            if chain.iter().any(|(_, c)| *c == issuer) {
                return Err(Error::ChainCycle(uuid.to_owned()));
            }
            chain.insert(0, (uuid, issuer));
            current = issuer;
        }
    }
}

/// cursive's path-length rule: every certificate above the leaf, the root included, must allow
/// as many intermediates as sit below it; a CA without pathLen is unlimited (0.3.1).
fn check_path_lengths(chain: &[(&str, &Certificate)]) -> Result<(), Error> {
    let Some((_, leaf)) = chain.last() else { return Ok(()) };
    for (i, (uuid, cert)) in chain.iter().enumerate() {
        if cert == leaf {
            break;
        }
        let bc = cert.basic_constraints()?.ok_or_else(|| Error::MissingBasicConstraints((*uuid).to_owned()))?;
        let Some(path_len) = bc.path_len_constraint else { continue };
        let below = (chain.len() - i).saturating_sub(2);
        if usize::from(path_len) < below {
            return Err(Error::PathLengthExceeded((*uuid).to_owned()));
        }
    }
    Ok(())
}

/// Nova's `verify_certificate` flow over a key manager: each trusted uuid is fetched in order
/// (failures are skipped), then the signing certificate (failures propagate), then the chain
/// is validated.
pub fn verify_certificate<F>(
    mut fetch: F,
    certificate_uuid: &str,
    trusted_uuids: &[String],
    now: SystemTime,
    options: ValidationOptions,
) -> Result<CertificateValidator, Error>
where
    F: FnMut(&str) -> Result<Certificate, Error>,
{
    let mut validator = CertificateValidator::new(Vec::new(), now, options)?;
    for uuid in trusted_uuids {
        match fetch(uuid) {
            Ok(cert) => validator.add_trusted(uuid.clone(), cert)?,
            // Only cursive's own SignatureVerificationError is skipped; anything else escapes.
            Err(e) if e.cursive_exception() == "SignatureVerificationError" => {
                validator.skip_unavailable(uuid.clone(), e.to_string());
            }
            Err(e) => return Err(e),
        }
    }
    let leaf = fetch(certificate_uuid)?;
    validator.validate(&leaf)?;
    Ok(validator)
}
