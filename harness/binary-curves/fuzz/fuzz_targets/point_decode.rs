//! Public-key decoding: SEC 1 points on each curve and SubjectPublicKeyInfo DER.
//! Any input must yield Ok or Err (never a panic); accepted keys must re-encode consistently.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigstack_binary_curves::{BinaryCurve, PublicKey};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let curve = BinaryCurve::ALL[usize::from(selector) % BinaryCurve::ALL.len()];
    if let Ok(key) = PublicKey::from_sec1_bytes(curve, rest) {
        for compressed in [false, true] {
            let again = PublicKey::from_sec1_bytes(curve, &key.to_sec1_bytes(compressed))
                .expect("a re-encoded valid key must decode");
            assert_eq!(again, key);
        }
    }
    if let Ok(key) = PublicKey::from_public_key_der(rest) {
        let der = key.to_public_key_der().expect("encodes");
        assert_eq!(PublicKey::from_public_key_der(&der).as_ref(), Ok(&key));
    }
});
