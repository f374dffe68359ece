//! Support for `tests/cursive_proptest.rs`: the batched cursive oracle and what both sides are
//! compared on (`oracle`), the generate/batch/compare/shrink loop (`differential`), and the
//! case generators for signatures (`signatures`) and certificate chains (`chains`). Fixture
//! paths and spawning the oracle come from the suite's shared `tests/common`.

mod chains;
mod differential;
mod oracle;
mod signatures;

use sigstack_verify::KeyTypeProfile;

pub use chains::{ChainCase, FAMILIES, Member, chain_case_strategy, pool, rfc3339};
pub use differential::{Built, differential};
pub use oracle::{Secret, Secrets, fetch_from, ours, secrets_json, verdict};
pub use signatures::{Declared, Fixture, KeyManager, SIGNING_FIXTURES, SigCase, image_data, perturb, sig_case_strategy, signing_fixtures};

pub const PROFILES: [(KeyTypeProfile, &str); 2] = [(KeyTypeProfile::Current, "current"), (KeyTypeProfile::Legacy, "legacy")];
