//! `sometimes!` and `always!` (as Antithesis and FoundationDB use them): named
//! conditions a run evaluates. A sweep adds up, per name, how often each was reached
//! and held ([`crate::Summary::coverage`]); `sometimes!` conditions that never held
//! show that the seeds never reached a state the test is about, and
//! [`crate::Check::require_sometimes`] turns that into a failure. An `always!` that
//! does not hold fails the run at once, with its name.

use crate::runtime::context;

/// What `sometimes!` expands to: counts the evaluation; returns `held`.
pub fn sometimes(held: bool, name: &'static str) -> bool {
    context::try_with_current(|shared| shared.record_condition(name, held));
    held
}

/// What `always!` expands to: counts the evaluation, and fails the run (a panic naming
/// the condition) when `held` is false.
#[track_caller]
pub fn always(held: bool, name: &'static str) {
    context::try_with_current(|shared| shared.record_condition(name, held));
    if !held {
        panic!("always!({name:?}) did not hold");
    }
}
