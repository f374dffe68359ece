//! The four SEC 2 binary curves y^2 + xy = x^3 + a x^2 + b and their domain parameters.
//!
//! Constants are SEC 2 v2 (2010) section 3.5/3.6; the test suite compares every one of them with
//! `openssl ecparam -name <curve> -param_enc explicit -text`.

use std::sync::OnceLock;

use der::asn1::ObjectIdentifier;

use crate::field::{F409, F571, Field};
use crate::point::Affine;
use crate::scalar::Order;

/// One of the SEC 2 binary curves supported by this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinaryCurve {
    /// sect409k1 (NIST K-409), Koblitz curve, cofactor 4.
    Sect409k1,
    /// sect409r1 (NIST B-409), cofactor 2.
    Sect409r1,
    /// sect571k1 (NIST K-571), Koblitz curve, cofactor 4.
    Sect571k1,
    /// sect571r1 (NIST B-571), cofactor 2.
    Sect571r1,
}

const OID_SECT409K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.36");
const OID_SECT409R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.37");
const OID_SECT571K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.38");
const OID_SECT571R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.39");

impl BinaryCurve {
    /// All four curves, in declaration order.
    pub const ALL: [BinaryCurve; 4] = [Self::Sect409k1, Self::Sect409r1, Self::Sect571k1, Self::Sect571r1];

    /// Look a curve up by its SEC 2 named-curve OID (1.3.132.0.36 ..= 39).
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.oid() == *oid)
    }

    /// The SEC 2 named-curve OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sect409k1 => OID_SECT409K1,
            Self::Sect409r1 => OID_SECT409R1,
            Self::Sect571k1 => OID_SECT571K1,
            Self::Sect571r1 => OID_SECT571R1,
        }
    }

    /// Upper-case name as cursive spells it after `ECC_` (e.g. "SECT571K1").
    pub fn name(self) -> &'static str {
        match self {
            Self::Sect409k1 => "SECT409K1",
            Self::Sect409r1 => "SECT409R1",
            Self::Sect571k1 => "SECT571K1",
            Self::Sect571r1 => "SECT571R1",
        }
    }

    /// OpenSSL / SEC 2 name (e.g. "sect571k1").
    pub fn openssl_name(self) -> &'static str {
        match self {
            Self::Sect409k1 => "sect409k1",
            Self::Sect409r1 => "sect409r1",
            Self::Sect571k1 => "sect571k1",
            Self::Sect571r1 => "sect571r1",
        }
    }

    /// Accepts exactly [`name`](Self::name) or [`openssl_name`](Self::openssl_name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name || c.openssl_name() == name)
    }

    /// Field degree m.
    pub fn field_bits(self) -> u32 {
        match self {
            Self::Sect409k1 | Self::Sect409r1 => F409::M,
            Self::Sect571k1 | Self::Sect571r1 => F571::M,
        }
    }

    /// Bit length of the group order n.
    pub fn order_bits(self) -> u32 {
        match self {
            Self::Sect409k1 => SECT409K1.order.bits(),
            Self::Sect409r1 => SECT409R1.order.bits(),
            Self::Sect571k1 => SECT571K1.order.bits(),
            Self::Sect571r1 => SECT571R1.order.bits(),
        }
    }

    /// Cofactor h.
    pub fn cofactor(self) -> u32 {
        match self {
            Self::Sect409k1 | Self::Sect571k1 => 4,
            Self::Sect409r1 | Self::Sect571r1 => 2,
        }
    }
}

impl core::fmt::Display for BinaryCurve {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Domain parameters of one curve over field F.
pub(crate) struct CurveParams<F: Field> {
    pub(crate) id: BinaryCurve,
    /// a is 0 or 1 on all four curves, so it is stored as a flag (a*x costs nothing).
    pub(crate) a_one: bool,
    pub(crate) b: F,
    /// b == 1 (Koblitz curves) lets doubling skip one multiplication.
    pub(crate) b_one: bool,
    pub(crate) g: Affine<F>,
    pub(crate) order: Order,
    pub(crate) cofactor: u32,
    /// Odd multiples G, 3G, 5G, ... for the fixed-base wNAF, built on first use.
    pub(crate) g_table: OnceLock<Vec<Affine<F>>>,
}

/// wNAF window for the fixed base G (table of 2^(w-2) affine points, built once per process).
pub(crate) const G_WINDOW: u32 = 7;

impl<F: Field> CurveParams<F> {
    pub(crate) fn g_table(&self) -> &[Affine<F>] {
        self.g_table.get_or_init(|| {
            crate::mul::odd_multiples(self, &self.g, 1 << (G_WINDOW - 2))
                .expect("the generator has order n > 2, so its odd multiples are finite")
        })
    }
}

pub(crate) static SECT409K1: CurveParams<F409> = CurveParams {
    id: BinaryCurve::Sect409k1,
    a_one: false,
    b: F409::ONE,
    b_one: true,
    g: Affine {
        x: F409::from_hex("60f05f658f49c1ad3ab1890f7184210efd0987e307c84c27accfb8f9f67cc2c460189eb5aaaa62ee222eb1b35540cfe9023746"),
        y: F409::from_hex("1e369050b7c4e42acba1dacbf04299c3460782f918ea427e6325165e9ea10e3da5f6c42e9c55215aa9ca27a5863ec48d8e0286b"),
    },
    order: Order::from_be_hex(
        "0000000000000000000000000000000000000000007ffffffffffffffffffffffffffffffffffffffffffffffffffe5f83b2d4ea20400ec4557d5ed3e3e7ca5b4b5c83b8e01e5fcf",
    ),
    cofactor: 4,
    g_table: OnceLock::new(),
};

pub(crate) static SECT409R1: CurveParams<F409> = CurveParams {
    id: BinaryCurve::Sect409r1,
    a_one: true,
    b: F409::from_hex("21a5c2c8ee9feb5c4b9a753b7b476b7fd6422ef1f3dd674761fa99d6ac27c8a9a197b272822f6cd57a55aa4f50ae317b13545f"),
    b_one: false,
    g: Affine {
        x: F409::from_hex("15d4860d088ddb3496b0c6064756260441cde4af1771d4db01ffe5b34e59703dc255a868a1180515603aeab60794e54bb7996a7"),
        y: F409::from_hex("61b1cfab6be5f32bbfa78324ed106a7636b9c5a7bd198d0158aa4f5488d08f38514f1fdf4b4f40d2181b3681c364ba0273c706"),
    },
    order: Order::from_be_hex(
        "0000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000001e2aad6a612f33307be5fa47c3c9e052f838164cd37d9a21173",
    ),
    cofactor: 2,
    g_table: OnceLock::new(),
};

pub(crate) static SECT571K1: CurveParams<F571> = CurveParams {
    id: BinaryCurve::Sect571k1,
    a_one: false,
    b: F571::ONE,
    b_one: true,
    g: Affine {
        x: F571::from_hex(
            "26eb7a859923fbc82189631f8103fe4ac9ca2970012d5d46024804801841ca44370958493b205e647da304db4ceb08cbbd1ba39494776fb988b47174dca88c7e2945283a01c8972",
        ),
        y: F571::from_hex(
            "349dc807f4fbf374f4aeade3bca95314dd58cec9f307a54ffc61efc006d8a2c9d4979c0ac44aea74fbebbb9f772aedcb620b01a7ba7af1b320430c8591984f601cd4c143ef1c7a3",
        ),
    },
    order: Order::from_be_hex(
        "020000000000000000000000000000000000000000000000000000000000000000000000131850e1f19a63e4b391a8db917f4138b630d84be5d639381e91deb45cfe778f637c1001",
    ),
    cofactor: 4,
    g_table: OnceLock::new(),
};

pub(crate) static SECT571R1: CurveParams<F571> = CurveParams {
    id: BinaryCurve::Sect571r1,
    a_one: true,
    b: F571::from_hex(
        "2f40e7e2221f295de297117b7f3d62f5c6a97ffcb8ceff1cd6ba8ce4a9a18ad84ffabbd8efa59332be7ad6756a66e294afd185a78ff12aa520e4de739baca0c7ffeff7f2955727a",
    ),
    b_one: false,
    g: Affine {
        x: F571::from_hex(
            "303001d34b856296c16c0d40d3cd7750a93d1d2955fa80aa5f40fc8db7b2abdbde53950f4c0d293cdd711a35b67fb1499ae60038614f1394abfa3b4c850d927e1e7769c8eec2d19",
        ),
        y: F571::from_hex(
            "37bf27342da639b6dccfffeb73d69d78c6c27a6009cbbca1980f8533921e8a684423e43bab08a576291af8f461bb2a8b3531d2f0485c19b16e2f1516e23dd3c1a4827af1b8ac15b",
        ),
    },
    order: Order::from_be_hex(
        "03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe661ce18ff55987308059b186823851ec7dd9ca1161de93d5174d66e8382e9bb2fe84e47",
    ),
    cofactor: 2,
    g_table: OnceLock::new(),
};
