//! Signature decoding: strict DER must round-trip byte for byte, and verification of arbitrary
//! bytes against a fixed key must return Ok or Err, never panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sigstack_binary_curves::{BinaryCurve, PublicKey, Signature, SigningKey};

fn keys() -> &'static [PublicKey] {
    static KEYS: OnceLock<Vec<PublicKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        BinaryCurve::ALL
            .iter()
            .map(|&c| {
                SigningKey::from_bytes(c, &[0x42; 20])
                    .expect("fixed key")
                    .public_key()
                    .clone()
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(sig) = Signature::from_der(data) {
        assert_eq!(sig.to_der(), data, "strict DER must re-encode identically");
    }
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let key = &keys()[usize::from(selector) % BinaryCurve::ALL.len()];
    // Split the rest into a prehash (first byte = its length) and the signature.
    let Some((&len, rest)) = rest.split_first() else {
        return;
    };
    let (prehash, sig) = rest.split_at(usize::from(len).min(rest.len()));
    let _ = key.verify_prehash(prehash, sig);
});
