//! Step definitions, one module per feature file plus the shared ones. cucumber collects them
//! through `inventory` when the module is linked, so `lib.rs` only has to declare it.

pub mod barbican;
pub mod cinder;
pub mod common;
pub mod glance;
pub mod limitations;
pub mod mos;
pub mod nova;
