//! Explicit EC domain parameters (RFC 3279 `SpecifiedECDomain`) that Python's cryptography maps
//! to a named curve. cryptography 50 (the `current` profile's; verified) compares the parsed parameters with P-256, P-384 and
//! P-521 exactly, "except the seed may be omitted" (pyca `ec_params_to_group`); everything else
//! explicit is refused. Since DER has one encoding per value, that comparison is a comparison of
//! the DER bytes below, which are `openssl ecparam -name <curve> -param_enc explicit [-no_seed]
//! -outform DER` (the test below checks them against the OpenSSL command line).

pub(crate) const P256_WITH_SEED: &str = concat!(
    "3081f7020101302c06072a8648ce3d0101022100ffffffff00000001000000000000000000000000ffffffffffffffff",
    "ffffffff305b0420ffffffff00000001000000000000000000000000fffffffffffffffffffffffc04205ac635d8aa3a",
    "93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b031500c49d360886e704936a6678e1139d26b7819f7e",
    "900441046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a",
    "7c0f9e162bce33576b315ececbb6406837bf51f5022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3",
    "b9cac2fc632551020101"
);

pub(crate) const P256_NO_SEED: &str = concat!(
    "3081e0020101302c06072a8648ce3d0101022100ffffffff00000001000000000000000000000000ffffffffffffffff",
    "ffffffff30440420ffffffff00000001000000000000000000000000fffffffffffffffffffffffc04205ac635d8aa3a",
    "93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b0441046b17d1f2e12c4247f8bce6e563a440f277037d",
    "812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5022100",
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551020101"
);

pub(crate) const P384_WITH_SEED: &str = concat!(
    "30820157020101303c06072a8648ce3d0101023100ffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "fffffffffeffffffff0000000000000000ffffffff307b0430ffffffffffffffffffffffffffffffffffffffffffffff",
    "fffffffffffffffffeffffffff0000000000000000fffffffc0430b3312fa7e23ee7e4988e056be3f82d19181d9c6efe",
    "8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef031500a335926aa319a27a1d00896a6773a4827acd",
    "ac73046104aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e",
    "3872760ab73617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d",
    "7c90ea0e5f023100ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77a",
    "ecec196accc52973020101"
);

pub(crate) const P384_NO_SEED: &str = concat!(
    "30820140020101303c06072a8648ce3d0101023100ffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "fffffffffeffffffff0000000000000000ffffffff30640430ffffffffffffffffffffffffffffffffffffffffffffff",
    "fffffffffffffffffeffffffff0000000000000000fffffffc0430b3312fa7e23ee7e4988e056be3f82d19181d9c6efe",
    "8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef046104aa87ca22be8b05378eb1c71ef320ad746e1d",
    "3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab73617de4a96262c6f5d9e98bf9292dc29f8f4",
    "1dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f023100ffffffffffffffffffffffffffffff",
    "ffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973020101"
);

pub(crate) const P521_WITH_SEED: &str = concat!(
    "308201c3020101304d06072a8648ce3d0101024201ffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff30819f044201ffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "fffffffffffffffffffffffffc04420051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109",
    "e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00031500d09e8800291cb85396cc6717",
    "393284aaa0da64ba0481850400c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b",
    "5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66011839296a789a3bc0045c8a5fb42c7d1bd9",
    "98f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650",
    "024201fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148",
    "f709a5d03bb5c9b8899c47aebb6fb71e91386409020101"
);

pub(crate) const P521_NO_SEED: &str = concat!(
    "308201ac020101304d06072a8648ce3d0101024201ffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff308188044201ffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "fffffffffffffffffffffffffc04420051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109",
    "e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f000481850400c6858e06b70404e9cd9e",
    "3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf9",
    "7e7e31c2e5bd66011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef426",
    "40c550b9013fad0761353c7086a272c24088be94769fd16650024201ffffffffffffffffffffffffffffffffffffffff",
    "fffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409020101"
);

/// The named curve explicit `parameters` (their full DER TLV) stand for, as cryptography 50
/// decides it.
pub(crate) fn named_curve_of(parameters_der: &[u8]) -> Option<super::public_key::NamedEcCurve> {
    use super::public_key::NamedEcCurve;
    let hex: String = parameters_der.iter().map(|b| format!("{b:02x}")).collect();
    [
        (P256_WITH_SEED, NamedEcCurve::P256),
        (P256_NO_SEED, NamedEcCurve::P256),
        (P384_WITH_SEED, NamedEcCurve::P384),
        (P384_NO_SEED, NamedEcCurve::P384),
        (P521_WITH_SEED, NamedEcCurve::P521),
        (P521_NO_SEED, NamedEcCurve::P521),
    ]
    .into_iter()
    .find(|(der, _)| *der == hex)
    .map(|(_, curve)| curve)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openssl_explicit(name: &str, seed: bool) -> String {
        let mut args = vec!["ecparam", "-name", name, "-param_enc", "explicit", "-outform", "DER"];
        if !seed {
            args.push("-no_seed");
        }
        let out = std::process::Command::new("openssl").args(&args).output().expect("the openssl command line must be installed");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn constants_are_what_openssl_writes() {
        for (name, with_seed, no_seed) in [
            ("prime256v1", P256_WITH_SEED, P256_NO_SEED),
            ("secp384r1", P384_WITH_SEED, P384_NO_SEED),
            ("secp521r1", P521_WITH_SEED, P521_NO_SEED),
        ] {
            assert_eq!(openssl_explicit(name, true), with_seed, "{name}");
            assert_eq!(openssl_explicit(name, false), no_seed, "{name} -no_seed");
        }
    }

    #[test]
    fn only_exact_encodings_map() {
        let bytes = |h: &str| (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect::<Vec<u8>>();
        assert!(named_curve_of(&bytes(P384_NO_SEED)).is_some());
        let mut changed = bytes(P384_NO_SEED);
        let last = changed.len() - 1;
        changed[last] = 2; // cofactor 2
        assert!(named_curve_of(&changed).is_none());
        assert!(named_curve_of(&bytes(&openssl_explicit("secp256k1", true))).is_none());
        assert!(named_curve_of(&[]).is_none());
    }
}
