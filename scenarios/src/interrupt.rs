//! Ctrl-C during a run. `sigstack conformance` calls [`request`] on the first SIGINT (and exits
//! at once on the second): from then on no scenario starts (each fails at once with "not run:
//! the run was interrupted"), a running one fails at its next step or poll, and every
//! scenario's `after` hook still deletes what it created; then the reports are written and the
//! command exits 130.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// What a scenario that did not get to run, or stopped, says.
pub const MESSAGE: &str = "the run was interrupted (SIGINT)";

/// Asks the run in progress to stop; `true` the first time.
pub fn request() -> bool {
    !REQUESTED.swap(true, Ordering::SeqCst)
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Panics (fails the step) when the run was interrupted.
pub fn check() {
    if requested() {
        panic!("{MESSAGE}");
    }
}
