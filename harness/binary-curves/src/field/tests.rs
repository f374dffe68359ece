//! Field arithmetic known-answer and cross-check tests.
//!
//! The reference is a deliberately naive bit-serial multiply-and-reduce, independent of the
//! word-level kernels and reduction under test.

use super::*;

/// SplitMix64: a tiny deterministic generator so failures are reproducible.
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn set_bit(l: &mut [u64], i: usize) {
    l[i / 64] |= 1 << (i % 64);
}

fn get_bit(l: &[u64], i: usize) -> bool {
    (l[i / 64] >> (i % 64)) & 1 == 1
}

/// Bit-serial a*b mod f (Horner over the bits of b).
fn naive_mulmod(a: &[u64], b: &[u64], m: usize, terms: &[usize]) -> Vec<u64> {
    let n = a.len();
    let mut r = vec![0u64; n];
    for i in (0..m).rev() {
        let carry = get_bit(&r, m - 1);
        for j in (0..n).rev() {
            r[j] = (r[j] << 1) | if j > 0 { r[j - 1] >> 63 } else { 0 };
        }
        r[m / 64] &= !(1u64 << (m % 64));
        if carry {
            for &k in terms {
                r[k / 64] ^= 1 << (k % 64);
            }
        }
        if get_bit(b, i) {
            for j in 0..n {
                r[j] ^= a[j];
            }
        }
    }
    r
}

macro_rules! field_tests {
    ($modname:ident, $F:ident, $n:expr) => {
        mod $modname {
            use super::*;

            fn random(rng: &mut Rng) -> $F {
                let mut l = [0u64; $n];
                for x in l.iter_mut() {
                    *x = rng.next();
                }
                let m = <$F as Field>::M as usize;
                l[m / 64] &= (1u64 << (m % 64)) - 1;
                $F(l)
            }

            fn all_ones() -> $F {
                let mut l = [0u64; $n];
                for i in 0..<$F as Field>::M as usize {
                    set_bit(&mut l, i);
                }
                $F(l)
            }

            fn monomial(i: usize) -> $F {
                let mut l = [0u64; $n];
                set_bit(&mut l, i);
                $F(l)
            }

            fn naive(a: &$F, b: &$F) -> $F {
                let v = naive_mulmod(&a.0, &b.0, <$F as Field>::M as usize, $F::TERMS);
                let mut l = [0u64; $n];
                l.copy_from_slice(&v);
                $F(l)
            }

            fn edge_cases() -> Vec<$F> {
                let m = <$F as Field>::M as usize;
                vec![$F::ZERO, $F::ONE, all_ones(), monomial(m - 1), monomial(63), monomial(64), $F::ONE.add(&monomial(m - 1))]
            }

            #[test]
            fn mul_matches_naive_reference() {
                let mut rng = Rng(1);
                let mut cases: Vec<($F, $F)> = Vec::new();
                for a in edge_cases() {
                    for b in edge_cases() {
                        cases.push((a, b));
                    }
                }
                for _ in 0..40 {
                    cases.push((random(&mut rng), random(&mut rng)));
                }
                for (a, b) in cases {
                    let want = naive(&a, &b);
                    assert_eq!(a.mul_portable(&b), want, "portable {a:?} * {b:?}");
                    assert_eq!(a.mul(&b), want, "dispatch {a:?} * {b:?}");
                }
            }

            #[test]
            #[cfg(target_arch = "x86_64")]
            fn pclmul_matches_portable() {
                assert!(kernels::cpu_has_clmul(), "this machine is expected to have PCLMULQDQ");
                let mut rng = Rng(2);
                let mut inputs = edge_cases();
                for _ in 0..500 {
                    inputs.push(random(&mut rng));
                }
                for w in inputs.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    assert_eq!(a.mul_clmul(&b), Some(a.mul_portable(&b)), "{a:?} * {b:?}");
                    assert_eq!(a.square_clmul(), Some(a.square_portable()), "{a:?}^2");
                }
            }

            #[test]
            fn square_equals_mul_self() {
                let mut rng = Rng(3);
                let mut inputs = edge_cases();
                for _ in 0..100 {
                    inputs.push(random(&mut rng));
                }
                for a in inputs {
                    assert_eq!(a.square(), a.mul(&a));
                    assert_eq!(a.square_portable(), a.mul_portable(&a));
                }
            }

            #[test]
            fn reduction_edge_cases() {
                let m = <$F as Field>::M as usize;
                // x^(2m-2) is the largest product degree: compare with (x^(m-1))^2 computed naively.
                let mut w = [0u64; 2 * $n];
                set_bit(&mut w, 2 * m - 2);
                let xm1 = monomial(m - 1);
                assert_eq!($F::reduce_wide(w), naive(&xm1, &xm1));
                // Every bit below 2m-1 set (all-ones wide input).
                let mut w = [0u64; 2 * $n];
                for i in 0..2 * m - 1 {
                    set_bit(&mut w, i);
                }
                // sum_{i<=2m-2} x^i = ones + x^m * (ones - x^(m-1)), and x^m == the low terms.
                let ones = all_ones();
                let mut xm = $F::ZERO;
                for &k in $F::TERMS {
                    xm = xm.add(&monomial(k));
                }
                let low_part = ones.add(&monomial(m - 1));
                assert_eq!($F::reduce_wide(w), ones.add(&naive(&xm, &low_part)));
                // x^m reduces to the low terms.
                let mut w = [0u64; 2 * $n];
                set_bit(&mut w, m);
                assert_eq!($F::reduce_wide(w), xm);
                // all-ones times all-ones, both kernels.
                assert_eq!(ones.mul_portable(&ones), naive(&ones, &ones));
                assert_eq!(ones.mul(&ones), naive(&ones, &ones));
            }

            #[test]
            fn inverse_times_self_is_one() {
                let mut rng = Rng(4);
                assert_eq!($F::ZERO.invert(), None);
                assert_eq!($F::ONE.invert(), Some($F::ONE));
                let mut inputs = edge_cases();
                inputs.retain(|a| !a.is_zero());
                for _ in 0..20 {
                    inputs.push(random(&mut rng));
                }
                for a in inputs {
                    let inv = a.invert().expect("nonzero");
                    assert_eq!(a.mul(&inv), $F::ONE, "{a:?}");
                }
            }

            fn trace_by_definition(a: &$F) -> bool {
                let mut t = *a;
                let mut s = *a;
                for _ in 1..<$F as Field>::M {
                    s = s.square();
                    t = t.add(&s);
                }
                assert!(t == $F::ZERO || t == $F::ONE, "trace must lie in GF(2)");
                t == $F::ONE
            }

            #[test]
            fn trace_mask_matches_definition() {
                let m = <$F as Field>::M as usize;
                let mut rng = Rng(5);
                let mut inputs: Vec<$F> = [0, 1, 2, 3, 87, 561 % m, 569 % m, m - 2, m - 1].iter().map(|&i| monomial(i)).collect();
                for _ in 0..8 {
                    inputs.push(random(&mut rng));
                }
                for a in inputs {
                    assert_eq!(a.trace(), trace_by_definition(&a), "{a:?}");
                }
            }

            #[test]
            fn half_trace_solves_quadratic() {
                let mut rng = Rng(6);
                let mut solved = 0;
                for _ in 0..20 {
                    let c = random(&mut rng);
                    let z = c.half_trace();
                    let lhs = z.square().add(&z);
                    if c.trace() {
                        assert_eq!(lhs, c.add(&$F::ONE));
                    } else {
                        assert_eq!(lhs, c);
                        solved += 1;
                    }
                }
                assert!(solved > 0);
            }

            #[test]
            fn sqrt_inverts_square() {
                let mut rng = Rng(7);
                for _ in 0..5 {
                    let a = random(&mut rng);
                    assert_eq!(a.square().sqrt(), a);
                }
            }

            #[test]
            fn byte_encoding() {
                let mut rng = Rng(8);
                let a = random(&mut rng);
                let bytes = a.to_be_bytes();
                assert_eq!(bytes.len(), <$F as Field>::BYTES);
                assert_eq!($F::from_be_bytes(&bytes), Ok(a));
                assert_eq!(
                    $F::from_be_bytes(&bytes[1..]),
                    Err(Error::FieldLength { expected: <$F as Field>::BYTES, got: bytes.len() - 1 })
                );
                let mut too_big = bytes.clone();
                too_big[0] |= 0x80;
                assert_eq!($F::from_be_bytes(&too_big), Err(Error::FieldElementRange));
                assert_eq!($F::from_be_bytes(&all_ones().to_be_bytes()), Ok(all_ones()));
            }
        }
    };
}

field_tests!(f163, F163, 3);
field_tests!(f233, F233, 4);
field_tests!(f283, F283, 5);
field_tests!(f409, F409, 7);
field_tests!(f571, F571, 9);
