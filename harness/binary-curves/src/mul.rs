//! Scalar multiplication: width-w NAF recoding and interleaved multi-scalar multiplication
//! (Shamir's trick with per-base windows) over affine tables of odd multiples.
//!
//! Variable time: used for verification (public data) and for the test-only signer.

use crate::curve::CurveParams;
use crate::field::Field;
use crate::point::{Affine, Ld};
use crate::scalar::Int;

/// wNAF window for variable bases (public keys): table of 2^(w-2) = 8 odd multiples.
pub(crate) const Q_WINDOW: u32 = 5;
pub(crate) const Q_TABLE: usize = 1 << (Q_WINDOW - 2);

/// Width-w NAF of k, least significant digit first. Every nonzero digit is odd with
/// |digit| < 2^(w-1), and any w consecutive digits hold at most one nonzero digit.
pub(crate) fn wnaf(k: &Int, w: u32) -> Vec<i8> {
    debug_assert!((2..=8).contains(&w));
    // One spare limb absorbs the carry when a negative digit is subtracted (k grows).
    let mut d = [0u64; 10];
    d[..9].copy_from_slice(k.as_words());
    let width = 1i64 << w;
    let half = 1i64 << (w - 1);
    let mut out = Vec::with_capacity(9 * 64 + 2);
    while d.iter().any(|&l| l != 0) {
        let mut digit = 0i64;
        if d[0] & 1 == 1 {
            let m = (d[0] & (width as u64 - 1)) as i64;
            digit = if m >= half { m - width } else { m };
            if digit > 0 {
                sub_small(&mut d, digit as u64);
            } else {
                add_small(&mut d, (-digit) as u64);
            }
        }
        out.push(digit as i8);
        for i in 0..d.len() {
            let next = d.get(i + 1).copied().unwrap_or(0);
            d[i] = (d[i] >> 1) | (next << 63);
        }
    }
    out
}

fn sub_small(d: &mut [u64], v: u64) {
    let mut borrow = v;
    for l in d.iter_mut() {
        let (r, b) = l.overflowing_sub(borrow);
        *l = r;
        borrow = b as u64;
        if borrow == 0 {
            break;
        }
    }
}

fn add_small(d: &mut [u64], v: u64) {
    let mut carry = v;
    for l in d.iter_mut() {
        let (r, c) = l.overflowing_add(carry);
        *l = r;
        carry = c as u64;
        if carry == 0 {
            break;
        }
    }
}

/// [P, 3P, 5P, ..., (2*count - 1)P] in affine form. None if 2P or any listed multiple is the
/// point at infinity, which only happens for points of tiny order (never in the n-subgroup).
pub(crate) fn odd_multiples<F: Field>(curve: &CurveParams<F>, p: &Affine<F>, count: usize) -> Option<Vec<Affine<F>>> {
    let p2 = curve.to_affine(&curve.double(&Ld::from_affine(p)))?;
    let mut pts = Vec::with_capacity(count);
    let mut acc = Ld::from_affine(p);
    pts.push(acc);
    for _ in 1..count {
        acc = curve.add_mixed(&acc, &p2);
        pts.push(acc);
    }
    curve.batch_to_affine(&pts)
}

/// sum_i k_i P_i from wNAF digit strings and matching odd-multiple tables, sharing one
/// chain of doublings (interleaved / Shamir).
pub(crate) fn mul_multi<F: Field>(curve: &CurveParams<F>, terms: &[(&[i8], &[Affine<F>])]) -> Ld<F> {
    let len = terms.iter().map(|(d, _)| d.len()).max().unwrap_or(0);
    let mut r = Ld::INFINITY;
    for i in (0..len).rev() {
        r = curve.double(&r);
        for (digits, table) in terms {
            let d = digits.get(i).copied().unwrap_or(0);
            if d == 0 {
                continue;
            }
            // digit 2j+1 -> table[j]; digits come from `wnaf` with a window matching the table.
            if let Some(p) = table.get((d.unsigned_abs() as usize) / 2) {
                let p = if d > 0 { *p } else { p.neg() };
                r = curve.add_mixed(&r, &p);
            }
        }
    }
    r
}
