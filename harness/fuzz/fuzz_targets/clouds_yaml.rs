//! clouds.yaml and secure.yaml, as a user writes them: YAML parsed into clouds, secure.yaml
//! merged over clouds.yaml, then every cloud resolved to credentials (auth type, URLs,
//! endpoint overrides, API versions, TLS options).
//!
//! Input: clouds.yaml text, optionally followed by a NUL byte and secure.yaml text.
//! Properties: never a panic; every listed cloud name resolves to credentials or an error
//! naming a configuration problem (never "unknown cloud"); an unknown name is reported as
//! unknown; a file without secure.yaml lists the same clouds when parsed again.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sigstack_client::clouds::{CloudsError, CloudsYaml};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (clouds, secure) = match text.split_once('\0') {
        Some((c, s)) => (c, Some((Path::new("secure.yaml"), s))),
        None => (text, None),
    };
    let Ok(parsed) = CloudsYaml::parse_with_secure(Path::new("clouds.yaml"), clouds, secure) else {
        return;
    };
    if secure.is_none() {
        let again = CloudsYaml::parse(Path::new("clouds.yaml"), clouds).expect("parses twice");
        assert_eq!(again.names(), parsed.names());
    }
    let names = parsed.names();
    for name in &names {
        if let Err(e) = parsed.credentials(name) {
            assert!(!matches!(e, CloudsError::UnknownCloud { .. }), "listed cloud {name:?}: {e}");
            let _ = e.to_string();
        }
    }
    let unknown = "sigstack-fuzz-no-such-cloud";
    if !names.iter().any(|n| n == unknown) {
        assert!(matches!(parsed.credentials(unknown), Err(CloudsError::UnknownCloud { .. })));
    }
});
