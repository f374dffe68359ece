//! Certificate-chain cases: the certificate pool, the families chains are drawn from, the
//! generated case and its strategy.

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::BoxedStrategy;

use crate::common::*;

/// Every certificate chains may be built from: `(uuid, file)`.
pub fn pool() -> Vec<(&'static str, PathBuf)> {
    let mut pool: Vec<(&'static str, PathBuf)> = CHAIN_CERTIFICATES
        .iter()
        .copied()
        .chain([
            ("cycle-a", "variants/cycle/a.crt.pem"),
            ("cycle-b", "variants/cycle/b.crt.pem"),
            ("cycle-leaf", "variants/cycle/leaf.crt.pem"),
            ("rsa-2048", "signing/rsa-2048.crt.pem"),
            ("rsa-1024-e3", "signing/rsa-1024-e3.crt.pem"),
            ("dsa-2048-256", "signing/dsa-2048-256.crt.pem"),
            ("ec-p256", "signing/ec-p256.crt.pem"),
            ("ec-p384", "signing/ec-p384.crt.pem"),
            ("ec-p521", "signing/ec-p521.crt.pem"),
        ])
        .map(|(u, rel)| (u, path(rel)))
        .collect();
    pool.extend(BINARY.iter().map(|(curve, _)| (*curve, binary_path(curve, "crt"))));
    pool
}

/// Related certificates, so that chains actually form: a case draws mostly from one family
/// Self-signed signing certificates: each is both a possible trusted certificate and a leaf.
const SELF_SIGNED_SIGNING: &[&str] = &["expired-signing", "rsa-2048", "rsa-1024-e3", "dsa-2048-256", "ec-p256", "ec-p384", "ec-p521"];

/// `(members, likely leaves)`. Families listed twice are drawn twice as often.
pub const FAMILIES: &[(&[&str], &[&str])] = &[
    (&["root", "a", "b", "client"], &["client", "b", "a"]),
    (&["root", "a", "b", "client"], &["client", "b", "a"]),
    (&["root", "a", "b", "client", "expired-ca", "no-bc", "no-kcs", "rsa-2048"], &["client"]),
    (&["expired-ca", "expired-ca-leaf", "future-ca", "future-ca-leaf"], &["expired-ca-leaf", "future-ca-leaf"]),
    (&["no-ca", "no-ca-leaf", "no-bc", "no-bc-leaf"], &["no-ca-leaf", "no-bc-leaf"]),
    (&["no-ku", "no-ku-leaf", "no-kcs", "no-kcs-leaf"], &["no-ku-leaf", "no-kcs-leaf"]),
    (&["nopl", "nopl-leaf"], &["nopl-leaf"]),
    (&["sp-root", "sp-inter", "sp-leaf"], &["sp-leaf", "sp-inter"]),
    (&["sp-root", "sp-inter", "sp-leaf"], &["sp-leaf", "sp-inter"]),
    (&["sp-root", "sp-inter", "sp-leaf"], &["sp-leaf", "sp-inter"]),
    (&["ei-root", "ei-inter", "ei-leaf"], &["ei-leaf", "ei-inter"]),
    (&["orphan", "orphan-leaf"], &["orphan-leaf"]),
    (&["pss-root", "pss-inter", "pss-leaf", "pss-direct"], &["pss-leaf", "pss-direct", "pss-inter"]),
    (&["st-root", "st-leaf", "case-root", "case-leaf"], &["st-leaf", "case-leaf"]),
    (&["cycle-a", "cycle-b", "cycle-leaf"], &["cycle-leaf", "cycle-a"]),
    (SELF_SIGNED_SIGNING, SELF_SIGNED_SIGNING),
    (&["sect409k1", "sect409r1", "sect571k1", "sect571r1", "ec-p384"], &["sect409k1", "sect571r1", "ec-p384"]),
];

/// Key-manager failures for uuids that do not resolve to a certificate.
const OUTAGES: &[&str] = &["not-found", "key-manager-error", "opaque", "public-key-pem"];

#[derive(Clone, Debug)]
pub enum Member {
    /// A pool certificate, fetched under its uuid (its pool name).
    Cert(&'static str),
    /// An uuid the key manager cannot serve as a certificate (one of OUTAGES).
    Unavailable(&'static str),
}

#[derive(Clone, Debug)]
pub struct ChainCase {
    pub leaf: Member,
    pub trusted: Vec<Member>,
    /// Seconds since the epoch and microseconds: cursive's `utcnow()`.
    pub now: (u64, u32),
}

const NOW: u64 = 1_795_435_200; // 2026-11-23T12:00:00Z

/// Validity edges of the fixtures: 2000-01-01, 2001-01-01, 2020-01-01, 2090-01-01,
/// 2099-12-31T23:59:59, 2100-01-01.
const EDGES: &[u64] = &[946_684_800, 978_307_200, 1_577_836_800, 3_786_912_000, 4_102_444_799, 4_102_444_800];

pub fn chain_case_strategy(pool: Vec<&'static str>) -> BoxedStrategy<ChainCase> {
    let now = prop_oneof![
        5 => Just((NOW, 0u32)),
        // On an edge (both bounds are inclusive), a second either side, or in between.
        4 => (select(EDGES), select(vec![0i64, 0, -1, 1]), prop_oneof![3 => Just(0u32), 1 => 0u32..1_000_000])
            .prop_map(|(edge, d, us)| (edge.checked_add_signed(d).unwrap(), us)),
        2 => (631_152_000u64..4_417_977_600, Just(0u32)), // 1990 .. 2110
    ];
    (select(FAMILIES), now)
        .prop_flat_map(move |((family, leaves), now)| {
            let leaf = prop_oneof![
                4 => select(leaves).prop_map(Member::Cert),
                2 => select(family).prop_map(Member::Cert),
                1 => select(pool.clone()).prop_map(Member::Cert),
                1 => select(OUTAGES).prop_map(Member::Unavailable),
            ];
            let member = prop_oneof![
                6 => select(family).prop_map(Member::Cert),
                2 => select(pool.clone()).prop_map(Member::Cert),
                1 => select(OUTAGES).prop_map(Member::Unavailable),
            ];
            // Mostly the family with at most one member missing, plus a few others, shuffled;
            // sometimes any few members.
            let trusted = prop_oneof![
                2 => (
                    prop::sample::subsequence(family, family.len() - 1..=family.len()),
                    prop::collection::vec(member.clone(), 0..3),
                )
                    .prop_map(|(members, extra)| {
                        members.into_iter().map(Member::Cert).chain(extra).collect::<Vec<_>>()
                    })
                    .prop_shuffle(),
                1 => prop::collection::vec(member, 0..8),
            ];
            (leaf, trusted, Just(now))
        })
        .prop_map(|(leaf, trusted, now)| ChainCase { leaf, trusted, now })
        .boxed()
}

pub fn rfc3339((secs, micros): (u64, u32)) -> String {
    let dt = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}
