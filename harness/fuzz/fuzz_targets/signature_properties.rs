//! The four `img_signature*` image properties, as any image owner can set them: picked out of
//! a property list, checked as cursive's `get_verifier` does (lenient base64, hash method, key
//! type under both profiles), then a verifier built for fixed keys and fed data.
//!
//! Input: one byte whose low four bits say which properties are present (bit 4 picks the
//! key-type profile), then the four values separated by NUL bytes (lossy UTF-8).
//! Properties: never a panic; `from_pairs(to_pairs())` is the identity; `presence` and
//! `should_create_verifier` agree with what was set; an accepted signature decodes to what
//! `base64_lenient::decode` gives and re-decodes from its strict base64 encoding; the
//! prepared values name exactly the property strings.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use sigstack_verify::{
    Certificate, KeyTypeProfile, PROPERTY_NAMES, Presence, PublicKey, SignatureProperties, base64_lenient, should_create_verifier,
};

fn keys() -> &'static [PublicKey] {
    static KEYS: OnceLock<Vec<PublicKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            include_str!("../../../fixtures/pki/signing/rsa-2048.crt.pem"),
            include_str!("../../../fixtures/pki/signing/dsa-2048-224.crt.pem"),
            include_str!("../../../fixtures/pki/signing/ec-p384.crt.pem"),
            include_str!("../../../fixtures/binary-curves/sect409k1.crt.pem"),
        ]
        .iter()
        .map(|pem| Certificate::from_pem(pem.as_bytes()).expect("fixture certificate").public_key().expect("fixture key"))
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let profile = if flags & 0x10 == 0 { KeyTypeProfile::Current } else { KeyTypeProfile::Legacy };
    let mut values = rest.split(|b| *b == 0).map(|v| String::from_utf8_lossy(v).into_owned());
    let mut pairs: Vec<(String, Option<String>)> = vec![("os_distro".into(), Some("cirros".into()))];
    for (i, name) in PROPERTY_NAMES.iter().enumerate() {
        let value = values.next().unwrap_or_default();
        if flags & (1 << i) != 0 {
            pairs.push(((*name).to_owned(), Some(value)));
        }
    }
    let props = SignatureProperties::from_pairs(pairs.iter().cloned());

    // The pairs round-trip, and the presence tests agree with what was set.
    let again = SignatureProperties::from_pairs(props.to_pairs().into_iter().map(|(k, v)| (k, Some(v))));
    assert_eq!(again, props);
    let set = (flags & 0x0f).count_ones();
    assert_eq!(should_create_verifier(pairs.iter().map(|(k, _)| k)), set == 4);
    match props.presence() {
        Presence::Complete => assert_eq!(set, 4),
        Presence::Unsigned => assert_eq!(set, 0),
        Presence::Partial(missing) => assert_eq!(missing.len() as u32, 4 - set),
    }

    // The lenient decoder alone: what it accepts survives a strict round trip.
    if let Some(sig) = &props.signature
        && let Ok(bytes) = base64_lenient::decode(sig)
    {
        let strict = base64::engine::general_purpose::STANDARD.encode(&bytes);
        assert_eq!(base64_lenient::decode(&strict).as_deref(), Ok(&bytes[..]));
    }

    let Ok(prepared) = props.prepare(profile) else {
        return;
    };
    assert_eq!(Some(prepared.hash_method.name()), props.hash_method.as_deref());
    assert_eq!(Some(prepared.key_type.name()), props.key_type.as_deref());
    assert_eq!(Some(prepared.certificate_uuid.as_str()), props.certificate_uuid.as_deref());
    let decoded = base64_lenient::decode(props.signature.as_deref().expect("prepared means present"));
    assert_eq!(decoded.as_deref(), Ok(&prepared.signature[..]));
    assert!(profile.registers(prepared.key_type));

    for key in keys() {
        if let Ok(mut verifier) = prepared.verifier_for_key(key.clone()) {
            verifier.update(b"sigstack fuzz image data");
            let _ = verifier.finish();
        }
    }
});
