//! How Keystone keeps passwords and application-credential secrets: never in clear. Keystone
//! stores a passlib hash (`[identity] password_hash_algorithm`, bcrypt by default); here
//! PBKDF2-HMAC-SHA256 from RustCrypto's `pbkdf2`, salted, in a self-describing string
//! `pbkdf2-sha256$<rounds>$<salt>$<hash>` (base64). An empty secret is never stored as one and
//! never matches: a user created without a password cannot authenticate with any.

use base64::Engine as _;
use rand::RngExt as _;
use subtle::ConstantTimeEq as _;

const SCHEME: &str = "pbkdf2-sha256";
/// Enough to make a stolen database costly, cheap enough for the hundreds of logins a
/// conformance run makes (dependencies build optimised even in debug).
const ROUNDS: u32 = 10_000;

fn derive(secret: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret, salt, rounds, &mut out);
    out
}

/// `verify_length_and_trunc_password`: the UTF-8 bytes of `secret`, cut to `limit` bytes
/// when longer, unless `strict` (`[DEFAULT] strict_password_check`), when a longer one is
/// refused (`Err(limit)`).
pub fn fit(secret: &str, limit: usize, strict: bool) -> Result<&[u8], usize> {
    let bytes = secret.as_bytes();
    match bytes.len() > limit {
        true if strict => Err(limit),
        true => Ok(&bytes[..limit]),
        false => Ok(bytes),
    }
}

/// The stored form of `secret`; `""` (no password) for an empty one.
pub fn hash(secret: &str) -> String {
    hash_bytes(secret.as_bytes())
}

/// [`hash`] of bytes (a password as [`fit`] cut it).
pub fn hash_bytes(secret: &[u8]) -> String {
    if secret.is_empty() {
        return String::new();
    }
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt[..]);
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    format!("{SCHEME}${ROUNDS}${}${}", engine.encode(salt), engine.encode(derive(secret, &salt, ROUNDS)))
}

/// Whether `secret` is the one `stored` was made from. No password matches nothing.
pub fn verify(secret: &str, stored: &str) -> bool {
    verify_bytes(secret.as_bytes(), stored)
}

/// [`verify`] of bytes.
pub fn verify_bytes(secret: &[u8], stored: &str) -> bool {
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(rounds), Some(salt), Some(expected), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(rounds), Ok(salt), Ok(expected)) = (rounds.parse::<u32>(), engine.decode(salt), engine.decode(expected)) else {
        return false;
    };
    !secret.is_empty() && (1..=1_000_000).contains(&rounds) && bool::from(derive(secret, &salt, rounds).ct_eq(&expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_passwords_are_cut_or_refused() {
        let long = "é".repeat(40); // 80 bytes
        assert_eq!(fit(&long, 72, false).unwrap().len(), 72);
        assert_eq!(fit(&long, 72, true), Err(72));
        assert_eq!(fit("short", 72, true).unwrap(), b"short");
        let stored = hash_bytes(fit(&long, 72, false).unwrap());
        let longer = format!("{long}tail");
        assert!(verify_bytes(fit(&longer, 72, false).unwrap(), &stored), "only the first 72 bytes count");
        assert!(!verify(&long, &stored), "uncut, it is another password");
    }

    #[test]
    fn secrets_are_salted_hashes_that_only_their_secret_matches() {
        let a = hash("s3cret");
        let b = hash("s3cret");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("pbkdf2-sha256$10000$") && !a.contains("s3cret"), "{a}");
        assert!(verify("s3cret", &a) && verify("s3cret", &b));
        assert!(!verify("s3cret!", &a) && !verify("", &a));
        assert!(!verify("s3cret", "s3cret"), "a clear-text value is not a hash");
        assert_eq!(hash(""), "");
        assert!(!verify("", "") && !verify("x", ""), "no password matches nothing");
    }
}
