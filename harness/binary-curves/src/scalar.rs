//! Integers mod the group order n.
//!
//! One 576-bit width serves both field sizes: scalar work is a handful of operations per
//! signature, so specialising it per curve would buy nothing measurable.

use crypto_bigint::{NonZero, Odd, U576};

pub(crate) type Int = U576;

const INT_BYTES: usize = 72;

/// The prime group order n of a curve.
pub(crate) struct Order {
    n: Odd<U576>,
    bits: u32,
}

impl Order {
    /// `hex` must be exactly 144 hex digits (checked at compile time by crypto-bigint).
    pub(crate) const fn from_be_hex(hex: &str) -> Self {
        let n = Odd::<U576>::from_be_hex(hex);
        // Computed by hand: `Uint::bits` is deprecated in newer 0.7.x and `bit_width` is absent
        // from older ones.
        let words = n.as_ref().as_words();
        let mut i = words.len();
        let mut bits = 0;
        while i > 0 {
            i -= 1;
            if words[i] != 0 {
                bits = 64 * i as u32 + (64 - words[i].leading_zeros());
                break;
            }
        }
        Order { n, bits }
    }

    pub(crate) fn n(&self) -> &U576 {
        self.n.as_ref()
    }

    fn nz(&self) -> &NonZero<U576> {
        self.n.as_nz_ref()
    }

    /// Bit length of n ("qlen" in RFC 6979, "N" in FIPS 186-4).
    pub(crate) fn bits(&self) -> u32 {
        self.bits
    }

    /// ceil(qlen / 8): the length of int2octets output and of OpenSSL's private key octets.
    pub(crate) fn byte_len(&self) -> usize {
        self.bits.div_ceil(8) as usize
    }

    /// 1 <= a <= n-1.
    pub(crate) fn in_range(&self, a: &Int) -> bool {
        !a.is_zero_vartime() && a < self.n()
    }

    pub(crate) fn reduce(&self, a: &Int) -> Int {
        a.rem_vartime(self.nz())
    }

    /// a * b mod n (inputs need not be reduced).
    pub(crate) fn mul(&self, a: &Int, b: &Int) -> Int {
        a.mul_mod_vartime(b, self.nz())
    }

    /// a + b mod n for reduced inputs.
    pub(crate) fn add(&self, a: &Int, b: &Int) -> Int {
        a.add_mod(b, self.nz())
    }

    /// a^-1 mod n; None for a = 0 mod n.
    pub(crate) fn invert(&self, a: &Int) -> Option<Int> {
        self.reduce(a).invert_odd_mod_vartime(&self.n).into_option()
    }

    /// bits2int (RFC 6979 2.3.2) = FIPS 186-4 truncation: the leftmost qlen bits of `bytes`,
    /// read as a big-endian integer. Not reduced mod n.
    pub(crate) fn bits2int(&self, bytes: &[u8]) -> Int {
        let qlen = self.bits as usize;
        if bytes.len() * 8 <= qlen {
            return int_from_be_bytes(bytes).unwrap_or(Int::ZERO);
        }
        let take = qlen.div_ceil(8);
        let head = bytes.get(..take).unwrap_or(bytes);
        let v = int_from_be_bytes(head).unwrap_or(Int::ZERO);
        v.wrapping_shr_vartime((take * 8 - qlen) as u32)
    }

    /// int2octets (RFC 6979 2.3.3): `byte_len()` big-endian bytes.
    pub(crate) fn to_be_bytes(&self, a: &Int) -> Vec<u8> {
        let all = int_to_be_bytes(a);
        all[INT_BYTES - self.byte_len()..].to_vec()
    }
}

/// Big-endian bytes (any leading zeros) to an integer; None when it does not fit in 576 bits.
pub(crate) fn int_from_be_bytes(bytes: &[u8]) -> Option<Int> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let digits = &bytes[first..];
    if digits.len() > INT_BYTES {
        return None;
    }
    let mut words = [0u64; 9];
    for (i, &byte) in digits.iter().rev().enumerate() {
        words[i / 8] |= (byte as u64) << (8 * (i % 8));
    }
    Some(Int::from_words(words))
}

/// The 72-byte big-endian encoding.
pub(crate) fn int_to_be_bytes(a: &Int) -> [u8; INT_BYTES] {
    let mut out = [0u8; INT_BYTES];
    for (i, w) in a.as_words().iter().enumerate() {
        let start = INT_BYTES - 8 * (i + 1);
        out[start..start + 8].copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// Minimal big-endian magnitude (no leading zero bytes; empty for zero).
pub(crate) fn int_to_minimal_bytes(a: &Int) -> Vec<u8> {
    let all = int_to_be_bytes(a);
    let first = all.iter().position(|&b| b != 0).unwrap_or(INT_BYTES);
    all[first..].to_vec()
}

/// A field element's limbs read as an integer (SEC 1 field-element-to-integer conversion).
pub(crate) fn int_from_limbs(limbs: &[u64]) -> Int {
    let mut words = [0u64; 9];
    for (w, l) in words.iter_mut().zip(limbs) {
        *w = *l;
    }
    Int::from_words(words)
}
