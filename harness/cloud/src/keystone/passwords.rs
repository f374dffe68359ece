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

fn derive(secret: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret.as_bytes(), salt, rounds, &mut out);
    out
}

/// The stored form of `secret`; `""` (no password) for an empty one.
pub fn hash(secret: &str) -> String {
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
