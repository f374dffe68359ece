//! Base64 decoding exactly as cursive does it (`oslo_serialization.base64.decode_as_bytes`, i.e.
//! CPython's non-strict `binascii.a2b_base64`).
//!
//! Written by hand on purpose: no base64 crate reproduces CPython's leniency (characters outside
//! the alphabet are dropped, `=` is ignored where it cannot be padding, decoding stops at the
//! first complete padding), and conformance depends on accepting and rejecting the same strings.

use crate::Error;

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes `img_signature`. Non-ASCII input fails the way Python's `b64decode` does (a bare
/// `ValueError`); a wrong length or padding is cursive's base64 error.
pub fn decode(input: &str) -> Result<Vec<u8>, Error> {
    if !input.is_ascii() {
        return Err(Error::NonAsciiSignature);
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut quad_pos = 0u8;
    let mut left = 0u8;
    let mut pads = 0u8;
    for c in input.bytes() {
        if c == b'=' {
            // Mirrors `if (quad_pos >= 2 && quad_pos + ++pads >= 4)`: a pad completes the
            // quad only after two or more data characters; elsewhere it is skipped.
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let Some(v) = sextet(c) else { continue };
        pads = 0;
        match quad_pos {
            0 => {
                left = v;
                quad_pos = 1;
            }
            1 => {
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
                quad_pos = 2;
            }
            2 => {
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
                quad_pos = 3;
            }
            _ => {
                out.push((left << 6) | v);
                quad_pos = 0;
            }
        }
    }
    if quad_pos == 0 { Ok(out) } else { Err(Error::SignatureEncoding) }
}

#[cfg(test)]
mod tests {
    use super::decode;
    use crate::Error;
    use base64::Engine as _;
    use proptest::prelude::*;

    #[test]
    fn cursive_examples() {
        // The cases recorded from cursive 0.3.1 (docs/reference/cursive.md §1).
        assert_eq!(decode("QU\nFB").unwrap(), b"AAA");
        assert_eq!(decode("QUFB!!").unwrap(), b"AAA");
        assert_eq!(decode("QUFB====").unwrap(), b"AAA");
        assert_eq!(decode("BLAH").unwrap().len(), 3);
        assert_eq!(decode("").unwrap(), b"");
        for bad in ["///", "QQ", "A", "fake_signature"] {
            assert_eq!(decode(bad), Err(Error::SignatureEncoding), "{bad:?}");
        }
        assert_eq!(decode("é"), Err(Error::NonAsciiSignature));
    }

    #[test]
    fn padding_rules() {
        assert_eq!(decode("QQ==").unwrap(), b"A");
        assert_eq!(decode("QUE=").unwrap(), b"AA");
        // Decoding stops at completed padding; what follows is ignored.
        assert_eq!(decode("QQ==QUFB").unwrap(), b"A");
        // A pad where no padding can be is skipped.
        assert_eq!(decode("=QUFB").unwrap(), b"AAA");
        assert_eq!(decode("Q=UFB").unwrap(), b"AAA");
        // A single pad after two data characters is not enough.
        assert_eq!(decode("QQ="), Err(Error::SignatureEncoding));
    }

    proptest! {
        #[test]
        fn standard_base64_round_trips(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let text = base64::engine::general_purpose::STANDARD.encode(&data);
            prop_assert_eq!(decode(&text).unwrap(), data.clone());
            // Line-wrapped (as `base64` without -w 0 prints) still decodes.
            let wrapped: String = text.as_bytes().chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\n");
            prop_assert_eq!(decode(&wrapped).unwrap(), data);
        }
    }
}
