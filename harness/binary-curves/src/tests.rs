//! Unit tests that need crate internals: domain parameters against OpenSSL, group law,
//! scalar multiplication, point decompression and subgroup checks.

use std::collections::HashMap;
use std::process::Command;

use crate::Error;
use crate::curve::{
    CurveParams, G_WINDOW, SECT163K1, SECT163R2, SECT233K1, SECT233R1, SECT283K1, SECT283R1, SECT409K1, SECT409R1, SECT571K1, SECT571R1,
};
use crate::field::tests::Rng;
use crate::field::{F163, F233, F283, F409, F571, Field};
use crate::mul::{Q_TABLE, mul_multi, odd_multiples, wnaf};
use crate::point::{Affine, Ld};
use crate::scalar::{Int, int_from_be_bytes};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn strip(h: &str) -> String {
    let t = h.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.into() }
}

/// `openssl ecparam -param_enc explicit -text` as label -> lower-case hex (no leading zeros).
fn openssl_params(name: &str) -> HashMap<String, String> {
    let out = Command::new("openssl")
        .args(["ecparam", "-name", name, "-param_enc", "explicit", "-text", "-noout"])
        .output()
        .expect("the openssl CLI must be installed for the differential tests");
    assert!(out.status.success(), "openssl ecparam failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut map = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with(char::is_whitespace) {
            if let Some(label) = &current {
                let v: String = line.trim().replace(':', "");
                map.entry(label.clone()).or_insert_with(String::new).push_str(&v);
            }
            continue;
        }
        let Some((label, rest)) = line.split_once(':') else {
            continue;
        };
        let rest = rest.trim();
        // Inline values look like "0" or "4 (0x4)".
        let inline = match rest.split_once("(0x") {
            Some((_, h)) => h.trim_end_matches(')').to_string(),
            None if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()) => {
                format!("{:x}", rest.parse::<u64>().expect("small decimal"))
            }
            None => String::new(),
        };
        map.insert(label.to_string(), inline);
        current = Some(label.to_string());
    }
    map.into_iter().map(|(k, v)| (k, strip(&v))).collect()
}

fn rand_scalar<F: Field>(curve: &CurveParams<F>, rng: &mut Rng) -> Int {
    let mut b = [0u8; 72];
    for x in b.iter_mut() {
        *x = rng.next() as u8;
    }
    curve.order.reduce(&int_from_be_bytes(&b).expect("72 bytes fit"))
}

fn mul_g<F: Field>(curve: &CurveParams<F>, k: &Int) -> Ld<F> {
    mul_multi(curve, &[(&wnaf(k, G_WINDOW), curve.g_table())])
}

fn eq_ld<F: Field>(curve: &CurveParams<F>, a: &Ld<F>, b: &Ld<F>) -> bool {
    match (curve.to_affine(a), curve.to_affine(b)) {
        (None, None) => true,
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// k*P by plain double-and-add: any point, any order (the table-based multipliers assume
/// points of large order).
fn mul_any<F: Field>(curve: &CurveParams<F>, p: &Affine<F>, k: &Int) -> Ld<F> {
    let mut r = Ld::INFINITY;
    for w in k.as_words().iter().rev() {
        for bit in (0..64).rev() {
            r = curve.double(&r);
            if (w >> bit) & 1 == 1 {
                r = curve.add_mixed(&r, p);
            }
        }
    }
    r
}

/// The order of P as (2-part, whether n divides it): 2^k is the least power with 2^k * n * P = O.
fn order_class<F: Field>(curve: &CurveParams<F>, p: &Affine<F>) -> (u32, bool) {
    let mut q = mul_any(curve, p, curve.order.n());
    let mut two = 1;
    while !q.is_infinity() {
        q = curve.double(&q);
        two *= 2;
    }
    let mut hp = Ld::from_affine(p);
    for _ in 0..curve.cofactor.trailing_zeros() {
        hp = curve.double(&hp);
    }
    (two, !hp.is_infinity())
}

/// Points of every order the group has: n, 2n, 4n and the small ones 2 and 4 (where h = 4),
/// from random curve points P, n*P (order dividing h), h*P (order n) and h*P + T.
fn points_of_every_order<F: Field>(curve: &CurveParams<F>, rng: &mut Rng) -> Vec<Affine<F>> {
    let t = Affine { x: F::ZERO, y: curve.b.sqrt() };
    let mut points = vec![t, curve.g, curve.g.neg()];
    let mut tried = 0;
    while tried < 12 {
        let limbs: Vec<u64> = (0..F::ZERO.limbs().len()).map(|_| rng.next()).collect();
        let mut bytes = Vec::new();
        for l in limbs.iter().rev() {
            bytes.extend_from_slice(&l.to_be_bytes());
        }
        let mut x = vec![0u8; F::BYTES];
        let len = x.len();
        x.copy_from_slice(&bytes[bytes.len() - len..]);
        x[0] &= (1u16 << (F::M % 8)).wrapping_sub(1) as u8;
        let Ok(p) = curve.decompress(F::from_be_bytes(&x).expect("in range"), rng.next() & 1 == 1) else {
            continue;
        };
        tried += 1;
        points.push(p);
        if let Some(small) = curve.to_affine(&mul_any(curve, &p, curve.order.n())) {
            points.push(small);
            let mut hp = Ld::from_affine(&p);
            for _ in 0..curve.cofactor.trailing_zeros() {
                hp = curve.double(&hp);
            }
            if let Some(sub) = curve.to_affine(&hp) {
                points.push(sub);
                if let Some(p2n) = curve.to_affine(&curve.add_mixed(&Ld::from_affine(&sub), &t)) {
                    points.push(p2n);
                }
                if let Some(mixed) = curve.to_affine(&curve.add_mixed(&Ld::from_affine(&sub), &small)) {
                    points.push(mixed);
                }
            }
        }
    }
    points
}

/// SubjectPublicKeyInfo DER for any point encoding, valid or not.
fn spki_der(curve: crate::BinaryCurve, point: &[u8]) -> Vec<u8> {
    use der::Encode;
    let oid = curve.oid();
    let spki = spki::SubjectPublicKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef { oid: crate::ID_EC_PUBLIC_KEY, parameters: Some(der::asn1::AnyRef::from(&oid)) },
        subject_public_key: der::asn1::BitStringRef::from_bytes(point).expect("bit string"),
    };
    spki.to_der().expect("DER")
}

macro_rules! curve_tests {
    ($modname:ident, $curve:expr, $F:ident) => {
        mod $modname {
            use super::*;

            fn c() -> &'static CurveParams<$F> {
                &$curve
            }

            #[test]
            fn params_match_openssl() {
                let c = c();
                let p = openssl_params(c.id.openssl_name());
                let mut poly = vec![0u8; <$F as Field>::BYTES];
                let set = |poly: &mut Vec<u8>, bit: usize| {
                    let len = poly.len();
                    poly[len - 1 - bit / 8] |= 1 << (bit % 8);
                };
                set(&mut poly, <$F as Field>::M as usize);
                for &k in $F::TERMS {
                    set(&mut poly, k);
                }
                assert_eq!(p["Polynomial"], strip(&hex(&poly)), "reduction polynomial");
                assert_eq!(p["A"], if c.a_one { "1" } else { "0" }, "a");
                assert_eq!(p["B"], strip(&hex(&c.b.to_be_bytes())), "b");
                assert_eq!(c.b_one, c.b == $F::ONE);
                assert_eq!(p["Generator (uncompressed)"], strip(&hex(&c.encode(&c.g, false))), "G");
                assert_eq!(p["Order"], strip(&format!("{:x}", c.order.n())), "n");
                assert_eq!(p["Cofactor"], format!("{:x}", c.cofactor), "h");
                assert_eq!(c.cofactor, c.id.cofactor());
                assert_eq!(c.id.field_bits(), <$F as Field>::M);
            }

            #[test]
            fn generator_on_curve_with_order_n() {
                let c = c();
                assert!(c.is_on_curve(&c.g));
                assert!(mul_g(c, c.order.n()).is_infinity(), "n*G must be infinity");
                assert!(c.in_prime_subgroup(&c.g));
                let n_minus_1 = c.order.n().wrapping_sub(&Int::ONE);
                let p = c.to_affine(&mul_g(c, &n_minus_1)).expect("finite");
                assert_eq!(p, c.g.neg(), "(n-1)G = -G");
                assert!(!mul_g(c, &Int::ONE).is_infinity());
            }

            #[test]
            fn g_table_holds_odd_multiples() {
                let c = c();
                let two_g = c.to_affine(&c.double(&Ld::from_affine(&c.g))).expect("finite");
                let mut acc = Ld::from_affine(&c.g);
                for (i, entry) in c.g_table().iter().enumerate() {
                    assert_eq!(Some(*entry), c.to_affine(&acc), "table[{i}]");
                    assert!(c.is_on_curve(entry));
                    acc = c.add_mixed(&acc, &two_g);
                }
                assert_eq!(c.g_table().len(), 1 << (G_WINDOW - 2));
            }

            #[test]
            fn group_law_special_cases() {
                let c = c();
                let g = Ld::from_affine(&c.g);
                assert!(eq_ld(c, &c.add_mixed(&g, &c.g), &c.double(&g)), "P + P = 2P");
                assert!(c.add_mixed(&g, &c.g.neg()).is_infinity(), "P + (-P) = O");
                assert!(eq_ld(c, &c.add_mixed(&Ld::INFINITY, &c.g), &g), "O + P = P");
                assert!(c.double(&Ld::INFINITY).is_infinity());
                // The 2-torsion point (0, sqrt(b)) doubles to infinity.
                let t = Affine { x: $F::ZERO, y: c.b.sqrt() };
                assert!(c.is_on_curve(&t));
                assert!(c.double(&Ld::from_affine(&t)).is_infinity());
                // Projective inputs with Z != 1: 3G + G = 2G + 2G.
                let g3 = c.add_mixed(&c.double(&g), &c.g);
                let two_g = c.to_affine(&c.double(&g)).expect("finite");
                assert!(eq_ld(c, &c.add_mixed(&g3, &c.g), &c.add_mixed(&c.double(&g), &two_g)));
            }

            #[test]
            fn scalar_multiplication_is_linear() {
                let c = c();
                let mut rng = Rng(11);
                for _ in 0..3 {
                    let (a, b) = (rand_scalar(c, &mut rng), rand_scalar(c, &mut rng));
                    let sum = c.order.add(&a, &b);
                    let bg = c.to_affine(&mul_g(c, &b)).expect("finite");
                    // aG + bG as an interleaved double-scalar product against a variable base.
                    let table = odd_multiples(c, &bg, Q_TABLE).expect("finite");
                    let one = wnaf(&Int::ONE, crate::mul::Q_WINDOW);
                    let both = mul_multi(c, &[(&wnaf(&a, G_WINDOW), c.g_table()), (&one, &table)]);
                    assert!(eq_ld(c, &both, &mul_g(c, &sum)));
                    // u1 G + u2 Q with Q = bG equals (u1 + u2 b) G.
                    let u2 = rand_scalar(c, &mut rng);
                    let lhs = mul_multi(c, &[(&wnaf(&a, G_WINDOW), c.g_table()), (&wnaf(&u2, crate::mul::Q_WINDOW), &table)]);
                    let rhs = mul_g(c, &c.order.add(&a, &c.order.mul(&u2, &b)));
                    assert!(eq_ld(c, &lhs, &rhs));
                }
            }

            #[test]
            fn compressed_points_round_trip() {
                let c = c();
                let mut rng = Rng(12);
                for _ in 0..4 {
                    let p = c.to_affine(&mul_g(c, &rand_scalar(c, &mut rng))).expect("finite");
                    let comp = c.encode(&p, true);
                    assert_eq!(comp.len(), 1 + <$F as Field>::BYTES);
                    assert_eq!(c.decode_validated(&comp), Ok(p));
                    let mut flipped = comp.clone();
                    flipped[0] ^= 1; // 02 <-> 03 selects the other root, which is -P
                    assert_eq!(c.decode_validated(&flipped), Ok(p.neg()));
                    assert_eq!(c.decode_validated(&c.encode(&p, false)), Ok(p));
                }
            }

            #[test]
            fn points_outside_the_subgroup_are_rejected() {
                let c = c();
                let t = Affine { x: $F::ZERO, y: c.b.sqrt() };
                assert_eq!(c.decode_validated(&c.encode(&t, false)), Err(Error::NotInSubgroup));
                let mut rng = Rng(13);
                let (mut rejected, mut tried) = (0, 0);
                while tried < 8 {
                    let mut l = $F::ZERO.0;
                    for x in l.iter_mut() {
                        *x = rng.next();
                    }
                    let m = <$F as Field>::M as usize;
                    l[m / 64] &= (1 << (m % 64)) - 1;
                    let Ok(p) = c.decompress($F(l), false) else {
                        continue;
                    };
                    tried += 1;
                    assert!(c.is_on_curve(&p));
                    let enc = c.encode(&p, false);
                    match c.decode_validated(&enc) {
                        Ok(_) => {}
                        Err(Error::NotInSubgroup) => rejected += 1,
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                    // h * P always lies in the prime-order subgroup.
                    let mut hp = Ld::from_affine(&p);
                    for _ in 0..c.cofactor.trailing_zeros() {
                        hp = c.double(&hp);
                    }
                    if let Some(hp) = c.to_affine(&hp) {
                        assert!(c.in_prime_subgroup(&hp));
                    }
                }
                assert!(rejected > 0, "random curve points should mostly lie outside the subgroup");
            }

            /// The trace conditions give n*P = O's verdict on points of every order.
            #[test]
            fn subgroup_trace_conditions_match_n_times_p() {
                let c = c();
                let mut rng = Rng(31);
                let mut seen = std::collections::BTreeSet::new();
                for p in points_of_every_order(c, &mut rng) {
                    assert!(c.is_on_curve(&p));
                    let class = order_class(c, &p);
                    seen.insert(class);
                    let by_definition = mul_any(c, &p, c.order.n()).is_infinity();
                    assert_eq!(by_definition, class == (1, true));
                    assert_eq!(c.in_prime_subgroup(&p), by_definition, "{p:?} of order class {class:?}");
                    assert_eq!(c.in_prime_subgroup_by_order(&p), by_definition, "{p:?}");
                    let decoded = c.decode_validated(&c.encode(&p, false));
                    assert_eq!(decoded, if by_definition { Ok(p) } else { Err(Error::NotInSubgroup) });
                }
                // Every order the group has came up: n, 2n and 2 (and 4n and 4 when h = 4).
                let mut want = vec![(1, true), (2, true), (2, false)];
                if c.cofactor == 4 {
                    want.extend([(4, true), (4, false)]);
                }
                for class in want {
                    assert!(seen.contains(&class), "no point of order class {class:?} among {seen:?}");
                }
                assert_eq!(seen.iter().map(|(two, _)| *two).max(), Some(c.cofactor), "the 2-part is cyclic of order h");
            }

            /// `openssl pkey -pubcheck` (n*Q = O among its checks) agrees on the same points.
            #[test]
            fn subgroup_check_matches_openssl_pubcheck() {
                let c = c();
                let mut rng = Rng(32);
                let dir = tempfile::tempdir().expect("tempdir");
                let path = dir.path().join("key.der");
                let mut classes = std::collections::BTreeMap::new();
                for p in points_of_every_order(c, &mut rng) {
                    // One point per order class keeps the OpenSSL runs few.
                    let class = order_class(c, &p);
                    if classes.insert(class, ()).is_some() {
                        continue;
                    }
                    let der = spki_der(c.id, &c.encode(&p, false));
                    std::fs::write(&path, &der).expect("write");
                    let out = Command::new("openssl")
                        .args(["pkey", "-pubin", "-inform", "DER", "-pubcheck", "-noout", "-in"])
                        .arg(&path)
                        .output()
                        .expect("openssl");
                    let ours = crate::PublicKey::from_public_key_der(&der);
                    assert_eq!(
                        ours.is_ok(),
                        out.status.success(),
                        "order class {class:?}: ours {ours:?}, openssl {:?}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    if !out.status.success() {
                        assert_eq!(ours, Err(Error::NotInSubgroup));
                        assert!(String::from_utf8_lossy(&out.stderr).contains("wrong order"), "{}", String::from_utf8_lossy(&out.stderr));
                    }
                }
                assert!(classes.len() >= 3, "{classes:?}");
            }

            #[test]
            fn malformed_encodings_are_errors() {
                let c = c();
                let good = c.encode(&c.g, false);
                assert_eq!(c.decode_validated(&[]), Err(Error::PointEncoding("empty point encoding")));
                assert_eq!(c.decode_validated(&[0x00]), Err(Error::PointAtInfinity));
                let mut hybrid = good.clone();
                hybrid[0] = 0x06;
                assert!(matches!(c.decode_validated(&hybrid), Err(Error::PointEncoding(_))));
                assert!(matches!(c.decode_validated(&good[..good.len() - 2]), Err(Error::FieldLength { .. })));
                assert!(matches!(c.decode_validated(&good[..good.len() - 1]), Err(Error::PointEncoding(_))));
                let mut off = good.clone();
                let last = off.len() - 1;
                off[last] ^= 1;
                assert_eq!(c.decode_validated(&off), Err(Error::NotOnCurve));
                let mut big = good.clone();
                big[1] = 0xff;
                assert_eq!(c.decode_validated(&big), Err(Error::FieldElementRange));
            }
        }
    };
}

curve_tests!(sect163k1, SECT163K1, F163);
curve_tests!(sect163r2, SECT163R2, F163);
curve_tests!(sect233k1, SECT233K1, F233);
curve_tests!(sect233r1, SECT233R1, F233);
curve_tests!(sect283k1, SECT283K1, F283);
curve_tests!(sect283r1, SECT283R1, F283);
curve_tests!(sect409k1, SECT409K1, F409);
curve_tests!(sect409r1, SECT409R1, F409);
curve_tests!(sect571k1, SECT571K1, F571);
curve_tests!(sect571r1, SECT571R1, F571);

#[test]
fn wnaf_digits_reconstruct_the_scalar() {
    let mut rng = Rng(21);
    let mut ks = vec![Int::ZERO, Int::ONE, *SECT571K1.order.n(), SECT571R1.order.n().wrapping_sub(&Int::ONE)];
    for _ in 0..20 {
        ks.push(rand_scalar(&SECT571R1, &mut rng));
    }
    for k in ks {
        for w in [4u32, 5, 7] {
            let digits = wnaf(&k, w);
            let mut acc = Int::ZERO;
            for &d in digits.iter().rev() {
                acc = acc.wrapping_add(&acc);
                let mag = Int::from_u64(d.unsigned_abs() as u64);
                acc = if d >= 0 { acc.wrapping_add(&mag) } else { acc.wrapping_sub(&mag) };
                assert!(d == 0 || (d % 2 != 0 && (d.unsigned_abs() as u32) < (1 << (w - 1))));
            }
            assert_eq!(acc, k, "w={w}");
            for win in digits.windows(w as usize) {
                assert!(win.iter().filter(|&&d| d != 0).count() <= 1, "NAF density");
            }
        }
    }
}

#[test]
fn bits2int_truncates_to_the_order_length() {
    // sect409k1 has a 407-bit order: a 512-bit all-ones digest becomes 2^407 - 1.
    let o = &SECT409K1.order;
    assert_eq!(o.bits(), 407);
    let want = Int::ONE.wrapping_shl_vartime(407).wrapping_sub(&Int::ONE);
    assert_eq!(o.bits2int(&[0xff; 64]), want);
    // Shorter digests are used whole.
    assert_eq!(o.bits2int(&[0x01, 0x02]), Int::from_u64(0x0102));
    assert_eq!(o.bits2int(&[]), Int::ZERO);
    // A 409-bit order with a 52-byte prefix keeps the first 409 bits.
    let o = &SECT409R1.order;
    let mut d = [0u8; 64];
    d[0] = 0x80;
    assert_eq!(o.bits2int(&d), Int::ONE.wrapping_shl_vartime(408));
    assert_eq!(SECT571K1.order.bits(), 570);
    let _ = F571::ZERO;
}
