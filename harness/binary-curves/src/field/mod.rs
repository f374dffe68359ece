//! GF(2^m) in polynomial basis with the SEC 2 reduction polynomials, 64-bit limbs.
//!
//! * F163: x^163 + x^7 + x^6 + x^3 + 1 (3 limbs), used by sect163k1 / sect163r2.
//! * F233: x^233 + x^74 + 1 (4 limbs), used by sect233k1 / sect233r1.
//! * F283: x^283 + x^12 + x^7 + x^5 + 1 (5 limbs), used by sect283k1 / sect283r1.
//! * F409: x^409 + x^87 + 1 (7 limbs), used by sect409k1 / sect409r1.
//! * F571: x^571 + x^10 + x^5 + x^2 + 1 (9 limbs), used by sect571k1 / sect571r1.
//!
//! One generic implementation (the `gf2m_field!` macro over the kernels) serves all five; a
//! field is its degree, limb count, reduction terms and trace mask.
//!
//! Elements are always kept fully reduced (degree < m), so limb equality is field equality.

pub(crate) mod kernels;

use crate::Error;

/// Operations shared by both fields; point arithmetic is generic over this trait.
pub(crate) trait Field: Copy + Eq + core::fmt::Debug + Send + Sync + 'static {
    /// Extension degree m.
    const M: u32;
    /// Length of the SEC 1 octet-string encoding, ceil(m / 8).
    const BYTES: usize;
    const ZERO: Self;
    const ONE: Self;

    fn add(&self, rhs: &Self) -> Self;
    fn mul(&self, rhs: &Self) -> Self;
    fn square(&self) -> Self;
    fn is_zero(&self) -> bool;
    /// Little-endian limbs; bit i of the integer is the coefficient of x^i (SEC 1 FE2I).
    fn limbs(&self) -> &[u64];
    /// Absolute trace Tr(a) = sum a^(2^i), computed from the precomputed trace bit mask.
    fn trace(&self) -> bool;
    /// SEC 1 field-element-to-octet-string decoding: exactly `BYTES` bytes, value < 2^m.
    fn from_be_bytes(bytes: &[u8]) -> Result<Self, Error>;
    fn to_be_bytes(&self) -> Vec<u8>;

    /// a^(2^n).
    fn square_n(&self, n: u32) -> Self {
        let mut r = *self;
        for _ in 0..n {
            r = r.square();
        }
        r
    }

    /// Multiplicative inverse via Itoh–Tsujii: a^-1 = (a^(2^(m-1) - 1))^2.
    /// beta_k = a^(2^k - 1) follows an addition chain on the bits of m - 1:
    /// beta_{2k} = beta_k^(2^k) * beta_k and beta_{k+1} = beta_k^2 * a.
    fn invert(&self) -> Option<Self> {
        if self.is_zero() {
            return None;
        }
        let e = Self::M - 1;
        let mut beta = *self;
        let mut k = 1u32;
        let top = 31 - e.leading_zeros();
        for bit in (0..top).rev() {
            beta = beta.square_n(k).mul(&beta);
            k *= 2;
            if (e >> bit) & 1 == 1 {
                beta = beta.square().mul(self);
                k += 1;
            }
        }
        debug_assert_eq!(k, e);
        Some(beta.square())
    }

    /// Half-trace H(c) = sum_{i=0}^{(m-1)/2} c^(2^(2i)) (m odd). If Tr(c) = 0 then
    /// z = H(c) solves z^2 + z = c; the other solution is z + 1.
    fn half_trace(&self) -> Self {
        let mut h = *self;
        let mut t = *self;
        for _ in 0..(Self::M - 1) / 2 {
            t = t.square().square();
            h = h.add(&t);
        }
        h
    }

    /// Square root: a^(2^(m-1)), since squaring is an automorphism of order m.
    fn sqrt(&self) -> Self {
        self.square_n(Self::M - 1)
    }

    /// Coefficient of x^0 (the "y-tilde" bit of SEC 1 point compression).
    fn bit0(&self) -> bool {
        self.limbs().first().is_some_and(|l| l & 1 == 1)
    }
}

/// Parse big-endian hex (compile-time constants only) into N little-endian limbs.
pub(crate) const fn limbs_from_hex<const N: usize>(s: &str) -> [u64; N] {
    let b = s.as_bytes();
    let mut out = [0u64; N];
    let mut nib = 0usize;
    let mut idx = b.len();
    while idx > 0 {
        idx -= 1;
        let c = b[idx];
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("bad hex digit in constant"),
        };
        assert!(nib / 16 < N, "hex constant too long");
        out[nib / 16] |= (v as u64) << ((nib % 16) * 4);
        nib += 1;
    }
    out
}

macro_rules! gf2m_field {
    ($name:ident, m = $m:expr, limbs = $n:expr, terms = $terms:expr, trace_bits = $tb:expr) => {
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub(crate) struct $name(pub(crate) [u64; $n]);

        impl $name {
            /// Low-order terms of the reduction polynomial, including x^0.
            pub(crate) const TERMS: &'static [usize] = &$terms;
            /// Bit positions i with Tr(x^i) = 1.
            const TRACE_BITS: &'static [usize] = &$tb;

            pub(crate) const fn from_hex(s: &str) -> Self {
                Self(limbs_from_hex::<$n>(s))
            }

            /// Field multiplication with the portable kernel only (tests compare both paths).
            pub(crate) fn mul_portable(&self, rhs: &Self) -> Self {
                let w = kernels::mul_wide_portable::<$n, { 2 * $n }>(&self.0, &rhs.0);
                Self(kernels::reduce::<$n, { 2 * $n }>(w, $m, Self::TERMS))
            }

            pub(crate) fn square_portable(&self) -> Self {
                let w = kernels::square_wide_portable::<$n, { 2 * $n }>(&self.0);
                Self(kernels::reduce::<$n, { 2 * $n }>(w, $m, Self::TERMS))
            }

            /// Field multiplication with PCLMULQDQ, or None when the CPU lacks it.
            pub(crate) fn mul_clmul(&self, rhs: &Self) -> Option<Self> {
                #[cfg(target_arch = "x86_64")]
                if kernels::cpu_has_clmul() {
                    // SAFETY: the CPU supports pclmulqdq (checked just above).
                    let w = unsafe { kernels::mul_wide_clmul::<$n, { 2 * $n }>(&self.0, &rhs.0) };
                    return Some(Self(kernels::reduce::<$n, { 2 * $n }>(w, $m, Self::TERMS)));
                }
                let _ = rhs;
                None
            }

            pub(crate) fn square_clmul(&self) -> Option<Self> {
                #[cfg(target_arch = "x86_64")]
                if kernels::cpu_has_clmul() {
                    // SAFETY: the CPU supports pclmulqdq (checked just above).
                    let w = unsafe { kernels::square_wide_clmul::<$n, { 2 * $n }>(&self.0) };
                    return Some(Self(kernels::reduce::<$n, { 2 * $n }>(w, $m, Self::TERMS)));
                }
                None
            }

            /// Reduce an arbitrary wide (2N-limb) polynomial; used by the reduction tests.
            #[cfg(test)]
            pub(crate) fn reduce_wide(w: [u64; 2 * $n]) -> Self {
                Self(kernels::reduce::<$n, { 2 * $n }>(w, $m, Self::TERMS))
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}(0x", stringify!($name))?;
                for l in self.0.iter().rev() {
                    write!(f, "{:016x}", l)?;
                }
                write!(f, ")")
            }
        }

        impl Field for $name {
            const M: u32 = $m;
            const BYTES: usize = ($m as usize).div_ceil(8);
            const ZERO: Self = Self([0; $n]);
            const ONE: Self = {
                let mut l = [0u64; $n];
                l[0] = 1;
                Self(l)
            };

            #[inline]
            fn add(&self, rhs: &Self) -> Self {
                let mut r = self.0;
                for (x, y) in r.iter_mut().zip(rhs.0.iter()) {
                    *x ^= y;
                }
                Self(r)
            }

            #[inline]
            fn mul(&self, rhs: &Self) -> Self {
                if kernels::has_clmul() {
                    if let Some(r) = self.mul_clmul(rhs) {
                        return r;
                    }
                }
                self.mul_portable(rhs)
            }

            #[inline]
            fn square(&self) -> Self {
                if kernels::has_clmul() {
                    if let Some(r) = self.square_clmul() {
                        return r;
                    }
                }
                self.square_portable()
            }

            #[inline]
            fn is_zero(&self) -> bool {
                self.0.iter().all(|&l| l == 0)
            }

            fn limbs(&self) -> &[u64] {
                &self.0
            }

            fn trace(&self) -> bool {
                let mut t = 0u64;
                for &b in Self::TRACE_BITS {
                    t ^= (self.0[b / 64] >> (b % 64)) & 1;
                }
                t == 1
            }

            fn from_be_bytes(bytes: &[u8]) -> Result<Self, Error> {
                if bytes.len() != Self::BYTES {
                    return Err(Error::FieldLength { expected: Self::BYTES, got: bytes.len() });
                }
                let mut l = [0u64; $n];
                // Length checked above, so i / 8 < ceil(BYTES / 8) <= N.
                for (i, &byte) in bytes.iter().rev().enumerate() {
                    l[i / 8] |= (byte as u64) << (8 * (i % 8));
                }
                let top = $m / 64;
                let high_bits = (l[top] >> ($m % 64)) != 0 || l[top + 1..].iter().any(|&x| x != 0);
                if high_bits {
                    return Err(Error::FieldElementRange);
                }
                Ok(Self(l))
            }

            fn to_be_bytes(&self) -> Vec<u8> {
                let mut out = vec![0u8; Self::BYTES];
                for i in 0..Self::BYTES {
                    out[Self::BYTES - 1 - i] = (self.0[i / 8] >> (8 * (i % 8))) as u8;
                }
                out
            }
        }
    };
}

// Trace masks (HMV, "Guide to ECC", Table 3.x; re-derived from the definition in the tests).
gf2m_field!(F163, m = 163, limbs = 3, terms = [0, 3, 6, 7], trace_bits = [0, 157]);
gf2m_field!(F233, m = 233, limbs = 4, terms = [0, 74], trace_bits = [0, 159]);
gf2m_field!(F283, m = 283, limbs = 5, terms = [0, 5, 7, 12], trace_bits = [0, 271]);
gf2m_field!(F409, m = 409, limbs = 7, terms = [0, 87], trace_bits = [0]);
gf2m_field!(F571, m = 571, limbs = 9, terms = [0, 2, 5, 10], trace_bits = [0, 561, 569]);

// `kernels::reduce` folds words from the top down; that is complete only if every fold moves
// bits down by at least one word (m - k >= 64 for every low-order term k).
const _: () = {
    const fn folds_by_a_word(m: usize, terms: &[usize]) -> bool {
        let mut i = 0;
        while i < terms.len() {
            if m - terms[i] < 64 {
                return false;
            }
            i += 1;
        }
        true
    }
    assert!(folds_by_a_word(163, F163::TERMS));
    assert!(folds_by_a_word(233, F233::TERMS));
    assert!(folds_by_a_word(283, F283::TERMS));
    assert!(folds_by_a_word(409, F409::TERMS));
    assert!(folds_by_a_word(571, F571::TERMS));
};

#[cfg(test)]
pub(crate) mod tests;
