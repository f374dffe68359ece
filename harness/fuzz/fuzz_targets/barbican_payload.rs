//! Barbican secret payloads, as any creator can send them: the `POST /v1/secrets` body (JSON,
//! Barbican's schema and payload rules, lenient base64 payload decoding, content types, the
//! ISO-8601 expiration), the ACL body, and payload retrieval for an `Accept` header.
//!
//! Input: the first line is an `Accept` value (also tried as a content type and as a date),
//! the rest the JSON body.
//! Properties: never a panic; an accepted payload has one of the three internal content types
//! (empty only when base64 decoded to nothing, as in Barbican) and comes back byte for byte
//! for `Accept: */*` (and for any accepted `Accept`); a parsed date survives `isoformat` and
//! parsing again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigstack_cloud::barbican::validate::{acl_body, internal_type, isoformat, new_secret, parse_iso8601, render_payload};

/// 2026-01-01T00:00:00Z in Unix microseconds: "now" for the expiration check.
const NOW: i64 = 1_767_225_600_000_000;

fuzz_target!(|data: &[u8]| {
    let (accept, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), &data[i + 1..]),
        None => (String::new(), data),
    };

    if let Some(internal) = internal_type(&accept) {
        assert!(matches!(internal, "text/plain" | "application/octet-stream" | "application/pkcs8"));
    }
    if let Some(t) = parse_iso8601(&accept) {
        let text = isoformat(t);
        assert_eq!(parse_iso8601(&text), Some(t), "{accept:?} -> {t} -> {text:?}");
    }

    let _ = acl_body(body);
    let Ok(secret) = new_secret(body, NOW) else {
        return;
    };
    if let Some(expiration) = secret.expiration {
        assert!(expiration > NOW);
    }
    let Some((content_type, bytes)) = &secret.payload else {
        return;
    };
    assert!(matches!(content_type.as_str(), "text/plain" | "application/octet-stream" | "application/pkcs8"));
    // Only base64 can decode to nothing ("====" is b'' to Python, and Barbican stores that).
    if bytes.is_empty() {
        assert!(body.windows(6).any(|w| w == b"base64"), "an empty payload without base64");
    }
    let (out, _) = render_payload(content_type, bytes, "*/*").expect("a stored payload renders as its own type");
    assert_eq!(&out, bytes);
    if let Ok((out, _)) = render_payload(content_type, bytes, &accept) {
        assert_eq!(&out, bytes);
    }
});
