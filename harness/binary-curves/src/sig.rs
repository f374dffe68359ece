//! Strict DER for ECDSA signatures: `SEQUENCE { r INTEGER, s INTEGER }` (X9.62 / RFC 3279).
//!
//! Hand-written rather than via the `der` crate so that every rejection reason is explicit and
//! the parser is trivially fuzzable. OpenSSL 3 also rejects non-DER (it re-encodes and compares),
//! so strictness matches the reference behaviour.

use crate::Error;

/// An ECDSA signature as decoded from DER: the big-endian magnitudes of r and s, without
/// leading zero bytes. Range checks against the group order happen at verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    r: Vec<u8>,
    s: Vec<u8>,
}

impl Signature {
    /// Build from big-endian magnitudes (leading zeros are stripped).
    pub fn from_scalars(r: &[u8], s: &[u8]) -> Self {
        Signature { r: strip_zeros(r).to_vec(), s: strip_zeros(s).to_vec() }
    }

    /// Parse strict DER: definite minimal lengths, minimal non-negative INTEGERs, no trailing
    /// bytes inside or after the SEQUENCE.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let (body, rest) = read_tlv(der, 0x30, "expected SEQUENCE")?;
        if !rest.is_empty() {
            return Err(Error::SignatureEncoding("trailing bytes after SEQUENCE"));
        }
        let (r, body) = read_integer(body)?;
        let (s, body) = read_integer(body)?;
        if !body.is_empty() {
            return Err(Error::SignatureEncoding("extra data inside SEQUENCE"));
        }
        Ok(Signature { r: r.to_vec(), s: s.to_vec() })
    }

    /// Canonical DER encoding.
    pub fn to_der(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.r.len() + self.s.len() + 8);
        write_integer(&mut body, &self.r);
        write_integer(&mut body, &self.s);
        let mut out = Vec::with_capacity(body.len() + 4);
        out.push(0x30);
        write_len(&mut out, body.len());
        out.extend_from_slice(&body);
        out
    }

    /// Big-endian magnitude of r (empty for zero).
    pub fn r(&self) -> &[u8] {
        &self.r
    }

    /// Big-endian magnitude of s (empty for zero).
    pub fn s(&self) -> &[u8] {
        &self.s
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

/// One TLV with the given tag; returns (contents, remaining input).
fn read_tlv<'a>(input: &'a [u8], tag: u8, what: &'static str) -> Result<(&'a [u8], &'a [u8]), Error> {
    let (&t, rest) = input.split_first().ok_or(Error::SignatureEncoding("truncated"))?;
    if t != tag {
        return Err(Error::SignatureEncoding(what));
    }
    let (&l0, rest) = rest.split_first().ok_or(Error::SignatureEncoding("truncated length"))?;
    let (len, rest) = match l0 {
        0x00..=0x7f => (l0 as usize, rest),
        0x81 => {
            let (&l1, rest) = rest.split_first().ok_or(Error::SignatureEncoding("truncated length"))?;
            if l1 < 0x80 {
                return Err(Error::SignatureEncoding("non-minimal length"));
            }
            (l1 as usize, rest)
        }
        0x82 => {
            let lb = rest.get(..2).ok_or(Error::SignatureEncoding("truncated length"))?;
            let len = u16::from_be_bytes([lb[0], lb[1]]) as usize;
            if len < 0x100 {
                return Err(Error::SignatureEncoding("non-minimal length"));
            }
            (len, &rest[2..])
        }
        0x80 => return Err(Error::SignatureEncoding("indefinite length")),
        _ => return Err(Error::SignatureEncoding("length too large")),
    };
    if rest.len() < len {
        return Err(Error::SignatureEncoding("truncated contents"));
    }
    Ok(rest.split_at(len))
}

/// A minimal, non-negative INTEGER; returns its magnitude without the sign byte.
fn read_integer(input: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let (v, rest) = read_tlv(input, 0x02, "expected INTEGER")?;
    match v {
        [] => Err(Error::SignatureEncoding("empty INTEGER")),
        [b, ..] if b & 0x80 != 0 => Err(Error::SignatureEncoding("negative INTEGER")),
        [0, b, ..] if b & 0x80 == 0 => Err(Error::SignatureEncoding("non-minimal INTEGER")),
        [0, mag @ ..] => Ok((mag, rest)),
        mag => Ok((mag, rest)),
    }
}

fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
}

fn write_integer(out: &mut Vec<u8>, mag: &[u8]) {
    let mag = strip_zeros(mag);
    let pad = mag.first().is_none_or(|&b| b & 0x80 != 0);
    out.push(0x02);
    write_len(out, mag.len() + pad as usize);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(mag);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_padding() {
        let sig = Signature::from_scalars(&[0x80, 1], &[0x00, 0x7f]);
        let der = sig.to_der();
        assert_eq!(der, [0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x7f]);
        assert_eq!(Signature::from_der(&der), Ok(sig));
        // zero encodes as 02 01 00 and decodes to an empty magnitude
        let zero = Signature::from_scalars(&[], &[0]);
        assert_eq!(zero.to_der(), [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]);
        assert_eq!(Signature::from_der(&zero.to_der()).map(|s| s.r().len()), Ok(0));
    }

    #[test]
    fn long_form_lengths() {
        let big = [0x11u8; 72];
        let sig = Signature::from_scalars(&big, &big);
        let der = sig.to_der();
        assert_eq!(&der[..3], &[0x30, 0x81, 148]);
        assert_eq!(Signature::from_der(&der), Ok(sig));
    }

    #[test]
    fn rejects_non_der() {
        let enc = |e: &'static str| Err(Error::SignatureEncoding(e));
        let cases: &[(&[u8], Result<Signature, Error>)] = &[
            (&[], enc("truncated")),
            (&[0x31, 0x00], enc("expected SEQUENCE")),
            (&[0x30, 0x80, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0, 0], enc("indefinite length")),
            (&[0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01], enc("non-minimal length")),
            (&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00], enc("trailing bytes after SEQUENCE")),
            (&[0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00], enc("extra data inside SEQUENCE")),
            (&[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01], enc("non-minimal INTEGER")),
            (&[0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01], enc("negative INTEGER")),
            (&[0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01], enc("empty INTEGER")),
            (&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x02, 0x01], enc("truncated contents")),
            (&[0x30, 0x03, 0x02, 0x01, 0x01], enc("truncated")),
            (&[0x30, 0x83, 0, 0, 1], enc("length too large")),
        ];
        for (der, want) in cases {
            assert_eq!(&Signature::from_der(der), want, "{der:02x?}");
        }
    }
}
