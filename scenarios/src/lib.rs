//! The conformance suite lives in `tests/conformance.rs` and `../features/`.
