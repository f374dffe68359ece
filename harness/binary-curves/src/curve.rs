//! The ten SEC 2 binary curves y^2 + xy = x^3 + a x^2 + b and their domain parameters.
//!
//! Constants are SEC 2 v2 (2010) section 3.2-3.6; the test suite compares every one of them with
//! `openssl ecparam -name <curve> -param_enc explicit -text`.

use std::sync::OnceLock;

use der::asn1::ObjectIdentifier;

use crate::field::{F163, F233, F283, F409, F571, Field};
use crate::point::Affine;
use crate::scalar::Order;

/// One of the SEC 2 binary curves supported by this crate: every binary curve Python's
/// cryptography loaded for ECDSA before version 47.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinaryCurve {
    /// sect163k1 (NIST K-163), Koblitz curve, cofactor 2.
    Sect163k1,
    /// sect163r2 (NIST B-163), cofactor 2.
    Sect163r2,
    /// sect233k1 (NIST K-233), Koblitz curve, cofactor 4.
    Sect233k1,
    /// sect233r1 (NIST B-233), cofactor 2.
    Sect233r1,
    /// sect283k1 (NIST K-283), Koblitz curve, cofactor 4.
    Sect283k1,
    /// sect283r1 (NIST B-283), cofactor 2.
    Sect283r1,
    /// sect409k1 (NIST K-409), Koblitz curve, cofactor 4.
    Sect409k1,
    /// sect409r1 (NIST B-409), cofactor 2.
    Sect409r1,
    /// sect571k1 (NIST K-571), Koblitz curve, cofactor 4.
    Sect571k1,
    /// sect571r1 (NIST B-571), cofactor 2.
    Sect571r1,
}

impl BinaryCurve {
    /// All ten curves, in declaration order.
    pub const ALL: [BinaryCurve; 10] = [
        Self::Sect163k1,
        Self::Sect163r2,
        Self::Sect233k1,
        Self::Sect233r1,
        Self::Sect283k1,
        Self::Sect283r1,
        Self::Sect409k1,
        Self::Sect409r1,
        Self::Sect571k1,
        Self::Sect571r1,
    ];

    /// Look a curve up by its SEC 2 named-curve OID (1.3.132.0.x).
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.oid() == *oid)
    }

    /// The SEC 2 named-curve OID.
    pub fn oid(self) -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap(match self {
            Self::Sect163k1 => "1.3.132.0.1",
            Self::Sect163r2 => "1.3.132.0.15",
            Self::Sect233k1 => "1.3.132.0.26",
            Self::Sect233r1 => "1.3.132.0.27",
            Self::Sect283k1 => "1.3.132.0.16",
            Self::Sect283r1 => "1.3.132.0.17",
            Self::Sect409k1 => "1.3.132.0.36",
            Self::Sect409r1 => "1.3.132.0.37",
            Self::Sect571k1 => "1.3.132.0.38",
            Self::Sect571r1 => "1.3.132.0.39",
        })
    }

    /// Upper-case name as cursive spells it after `ECC_` (e.g. "SECT571K1"). cursive registers
    /// key types only for the 409- and 571-bit curves, but any EC key passes any `ECC_*` type.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sect163k1 => "SECT163K1",
            Self::Sect163r2 => "SECT163R2",
            Self::Sect233k1 => "SECT233K1",
            Self::Sect233r1 => "SECT233R1",
            Self::Sect283k1 => "SECT283K1",
            Self::Sect283r1 => "SECT283R1",
            Self::Sect409k1 => "SECT409K1",
            Self::Sect409r1 => "SECT409R1",
            Self::Sect571k1 => "SECT571K1",
            Self::Sect571r1 => "SECT571R1",
        }
    }

    /// OpenSSL / SEC 2 name (e.g. "sect571k1").
    pub fn openssl_name(self) -> &'static str {
        match self {
            Self::Sect163k1 => "sect163k1",
            Self::Sect163r2 => "sect163r2",
            Self::Sect233k1 => "sect233k1",
            Self::Sect233r1 => "sect233r1",
            Self::Sect283k1 => "sect283k1",
            Self::Sect283r1 => "sect283r1",
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
            Self::Sect163k1 | Self::Sect163r2 => F163::M,
            Self::Sect233k1 | Self::Sect233r1 => F233::M,
            Self::Sect283k1 | Self::Sect283r1 => F283::M,
            Self::Sect409k1 | Self::Sect409r1 => F409::M,
            Self::Sect571k1 | Self::Sect571r1 => F571::M,
        }
    }

    /// Bit length of the group order n.
    pub fn order_bits(self) -> u32 {
        match self {
            Self::Sect163k1 => SECT163K1.order.bits(),
            Self::Sect163r2 => SECT163R2.order.bits(),
            Self::Sect233k1 => SECT233K1.order.bits(),
            Self::Sect233r1 => SECT233R1.order.bits(),
            Self::Sect283k1 => SECT283K1.order.bits(),
            Self::Sect283r1 => SECT283R1.order.bits(),
            Self::Sect409k1 => SECT409K1.order.bits(),
            Self::Sect409r1 => SECT409R1.order.bits(),
            Self::Sect571k1 => SECT571K1.order.bits(),
            Self::Sect571r1 => SECT571R1.order.bits(),
        }
    }

    /// Cofactor h.
    pub fn cofactor(self) -> u32 {
        match self {
            Self::Sect233k1 | Self::Sect283k1 | Self::Sect409k1 | Self::Sect571k1 => 4,
            Self::Sect163k1 | Self::Sect163r2 | Self::Sect233r1 | Self::Sect283r1 | Self::Sect409r1 | Self::Sect571r1 => 2,
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
    /// a is 0 or 1 on all ten curves, so it is stored as a flag (a*x costs nothing).
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

pub(crate) static SECT163K1: CurveParams<F163> = CurveParams {
    id: BinaryCurve::Sect163k1,
    a_one: true,
    b: F163::ONE,
    b_one: true,
    g: Affine {
        x: F163::from_hex("2fe13c0537bbc11acaa07d793de4e6d5e5c94eee8"),
        y: F163::from_hex("289070fb05d38ff58321f2e800536d538ccdaa3d9"),
    },
    order: Order::from_be_hex(
        "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004000000000000000000020108a2e0cc0d99f8a5ef",
    ),
    cofactor: 2,
    g_table: OnceLock::new(),
};

pub(crate) static SECT163R2: CurveParams<F163> = CurveParams {
    id: BinaryCurve::Sect163r2,
    a_one: true,
    b: F163::from_hex("20a601907b8c953ca1481eb10512f78744a3205fd"),
    b_one: false,
    g: Affine {
        x: F163::from_hex("3f0eba16286a2d57ea0991168d4994637e8343e36"),
        y: F163::from_hex("d51fbc6c71a0094fa2cdd545b11c5c0c797324f1"),
    },
    order: Order::from_be_hex(
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000040000000000000000000292fe77e70c12a4234c33",
    ),
    cofactor: 2,
    g_table: OnceLock::new(),
};

pub(crate) static SECT233K1: CurveParams<F233> = CurveParams {
    id: BinaryCurve::Sect233k1,
    a_one: false,
    b: F233::ONE,
    b_one: true,
    g: Affine {
        x: F233::from_hex("17232ba853a7e731af129f22ff4149563a419c26bf50a4c9d6eefad6126"),
        y: F233::from_hex("1db537dece819b7f70f555a67c427a8cd9bf18aeb9b56e0c11056fae6a3"),
    },
    order: Order::from_be_hex(
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000069d5bb915bcd46efb1ad5f173abdf",
    ),
    cofactor: 4,
    g_table: OnceLock::new(),
};

pub(crate) static SECT233R1: CurveParams<F233> = CurveParams {
    id: BinaryCurve::Sect233r1,
    a_one: true,
    b: F233::from_hex("66647ede6c332c7f8c0923bb58213b333b20e9ce4281fe115f7d8f90ad"),
    b_one: false,
    g: Affine {
        x: F233::from_hex("fac9dfcbac8313bb2139f1bb755fef65bc391f8b36f8f8eb7371fd558b"),
        y: F233::from_hex("1006a08a41903350678e58528bebf8a0beff867a7ca36716f7e01f81052"),
    },
    order: Order::from_be_hex(
        "00000000000000000000000000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000013e974e72f8a6922031d2603cfe0d7",
    ),
    cofactor: 2,
    g_table: OnceLock::new(),
};

pub(crate) static SECT283K1: CurveParams<F283> = CurveParams {
    id: BinaryCurve::Sect283k1,
    a_one: false,
    b: F283::ONE,
    b_one: true,
    g: Affine {
        x: F283::from_hex("503213f78ca44883f1a3b8162f188e553cd265f23c1567a16876913b0c2ac2458492836"),
        y: F283::from_hex("1ccda380f1c9e318d90f95d07e5426fe87e45c0e8184698e45962364e34116177dd2259"),
    },
    order: Order::from_be_hex(
        "00000000000000000000000000000000000000000000000000000000000000000000000001ffffffffffffffffffffffffffffffffffe9ae2ed07577265dff7f94451e061e163c61",
    ),
    cofactor: 4,
    g_table: OnceLock::new(),
};

pub(crate) static SECT283R1: CurveParams<F283> = CurveParams {
    id: BinaryCurve::Sect283r1,
    a_one: true,
    b: F283::from_hex("27b680ac8b8596da5a4af8a19a0303fca97fd7645309fa2a581485af6263e313b79a2f5"),
    b_one: false,
    g: Affine {
        x: F283::from_hex("5f939258db7dd90e1934f8c70b0dfec2eed25b8557eac9c80e2e198f8cdbecd86b12053"),
        y: F283::from_hex("3676854fe24141cb98fe6d4b20d02b4516ff702350eddb0826779c813f0df45be8112f4"),
    },
    order: Order::from_be_hex(
        "00000000000000000000000000000000000000000000000000000000000000000000000003ffffffffffffffffffffffffffffffffffef90399660fc938a90165b042a7cefadb307",
    ),
    cofactor: 2,
    g_table: OnceLock::new(),
};

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
