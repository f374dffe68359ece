//! Carry-less multiplication kernels and the generic sparse-polynomial reduction.
//!
//! Limb order is little-endian: limb `i` holds the coefficients of x^(64i) .. x^(64i+63).
//! Wide products have `W = 2N` limbs.

/// 64x64 -> 128-bit carry-less product without CPU support, using a 4-bit window.
///
/// The table holds the low 61 bits of `a` times every 4-bit polynomial, so entries fit in a
/// u64; the three top bits of `a` are added afterwards. Table lookups are data-dependent, which
/// is acceptable here: see the crate docs on constant time.
#[inline]
pub(crate) fn clmul64_portable(a: u64, b: u64) -> (u64, u64) {
    let a1 = a & 0x1FFF_FFFF_FFFF_FFFF;
    let mut tab = [0u64; 16];
    tab[1] = a1;
    tab[2] = a1 << 1;
    tab[3] = tab[2] ^ a1;
    tab[4] = a1 << 2;
    tab[5] = tab[4] ^ a1;
    tab[6] = tab[4] ^ tab[2];
    tab[7] = tab[6] ^ a1;
    tab[8] = a1 << 3;
    for i in 9..16 {
        tab[i] = tab[8] ^ tab[i - 8];
    }
    let mut lo = tab[(b & 15) as usize];
    let mut hi = 0u64;
    for i in 1..16 {
        let t = tab[((b >> (4 * i)) & 15) as usize];
        lo ^= t << (4 * i);
        hi ^= t >> (64 - 4 * i);
    }
    // Bits 61..63 of `a`, branch-free.
    for j in 61..64 {
        let mask = 0u64.wrapping_sub((a >> j) & 1);
        lo ^= (b << j) & mask;
        hi ^= (b >> (64 - j)) & mask;
    }
    (lo, hi)
}

/// Schoolbook N x N limb product with the portable 64-bit kernel.
#[inline]
pub(crate) fn mul_wide_portable<const N: usize, const W: usize>(a: &[u64; N], b: &[u64; N]) -> [u64; W] {
    let mut r = [0u64; W];
    for i in 0..N {
        for j in 0..N {
            let (lo, hi) = clmul64_portable(a[i], b[j]);
            r[i + j] ^= lo;
            r[i + j + 1] ^= hi;
        }
    }
    r
}

/// Spread the low 32 bits of `x` to the even bit positions (the squaring map in GF(2)[x]).
#[inline(always)]
fn spread32(x: u64) -> u64 {
    let mut x = x & 0xFFFF_FFFF;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Polynomial square without CPU support: squaring in characteristic 2 only interleaves zeros.
#[inline]
pub(crate) fn square_wide_portable<const N: usize, const W: usize>(a: &[u64; N]) -> [u64; W] {
    let mut r = [0u64; W];
    for i in 0..N {
        r[2 * i] = spread32(a[i]);
        r[2 * i + 1] = spread32(a[i] >> 32);
    }
    r
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{
        __m128i, _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi64x, _mm_setzero_si128, _mm_unpackhi_epi64, _mm_xor_si128,
    };

    #[inline]
    #[target_feature(enable = "pclmulqdq")]
    fn halves(x: __m128i) -> (u64, u64) {
        (_mm_cvtsi128_si64(x) as u64, _mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x)) as u64)
    }

    /// Schoolbook N x N limb product with PCLMULQDQ; partial products are accumulated per
    /// diagonal in 128-bit registers and folded into limbs once at the end.
    #[target_feature(enable = "pclmulqdq")]
    pub(crate) fn mul_wide_clmul<const N: usize, const W: usize>(a: &[u64; N], b: &[u64; N]) -> [u64; W] {
        let mut acc = [_mm_setzero_si128(); W];
        let mut bv = [_mm_setzero_si128(); N];
        for j in 0..N {
            bv[j] = _mm_set_epi64x(0, b[j] as i64);
        }
        for i in 0..N {
            let ai = _mm_set_epi64x(0, a[i] as i64);
            for j in 0..N {
                acc[i + j] = _mm_xor_si128(acc[i + j], _mm_clmulepi64_si128::<0x00>(ai, bv[j]));
            }
        }
        let mut r = [0u64; W];
        for k in 0..W - 1 {
            let (lo, hi) = halves(acc[k]);
            r[k] ^= lo;
            r[k + 1] ^= hi;
        }
        r
    }

    /// Polynomial square with PCLMULQDQ (one carry-less product per limb).
    #[target_feature(enable = "pclmulqdq")]
    pub(crate) fn square_wide_clmul<const N: usize, const W: usize>(a: &[u64; N]) -> [u64; W] {
        let mut r = [0u64; W];
        for i in 0..N {
            let v = _mm_set_epi64x(0, a[i] as i64);
            let (lo, hi) = halves(_mm_clmulepi64_si128::<0x00>(v, v));
            r[2 * i] = lo;
            r[2 * i + 1] = hi;
        }
        r
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{mul_wide_clmul, square_wide_clmul};

/// Whether the PCLMULQDQ kernels are used: detected at run time, and switched off by the
/// environment variable `SIGSTACK_GF2M_PORTABLE` set to anything but empty or `0` (read once per
/// process) to exercise the portable path end to end, e.g.
/// `SIGSTACK_GF2M_PORTABLE=1 cargo test -p sigstack-binary-curves`.
#[inline]
pub(crate) fn has_clmul() -> bool {
    static USE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *USE.get_or_init(|| cpu_has_clmul() && !portable_forced())
}

/// `SIGSTACK_GF2M_PORTABLE` is set to something other than empty or `0`.
pub(crate) fn portable_forced() -> bool {
    std::env::var_os("SIGSTACK_GF2M_PORTABLE").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The CPU capability alone (ignores the environment override).
pub(crate) fn cpu_has_clmul() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Reduce a wide polynomial modulo f(x) = x^m + sum_{k in ks} x^k, where `ks` lists the
/// low-order terms including 0 (e.g. `[0, 87]` for x^409 + x^87 + 1).
///
/// Words are folded from the top down; each fold moves bits down by m - k >= 156 positions for
/// the SEC 2 polynomials (at least one word, which `field/mod.rs` asserts at compile time), so
/// every word that can still hold bits >= m is visited after it has received them.
#[inline(always)]
pub(crate) fn reduce<const N: usize, const W: usize>(mut w: [u64; W], m: usize, ks: &[usize]) -> [u64; N] {
    let top = m / 64;
    let sh = m % 64;
    let mut i = W - 1;
    loop {
        let t = if i == top { (w[i] >> sh) << sh } else { w[i] };
        if t != 0 {
            w[i] ^= t;
            for &k in ks {
                let d = m - k;
                let (q, r) = (d / 64, d % 64);
                w[i - q] ^= t >> r;
                // When i == q the low part would land below bit 0; it is empty because t only
                // holds bits >= m >= d there.
                if r != 0 && i > q {
                    w[i - q - 1] ^= t << (64 - r);
                }
            }
        }
        if i == top {
            break;
        }
        i -= 1;
    }
    let mut out = [0u64; N];
    out.copy_from_slice(&w[..N]);
    out
}
