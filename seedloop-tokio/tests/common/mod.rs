//! Helpers shared by the facade's tests.

use seedloop::{Policy, Sim};
use std::future::Future;

/// Runs `program` twice on `seed` under `policy`; both runs must pass with the same
/// trace. Returns the first run's output.
pub fn run_twice<T, Fut: Future<Output = T>>(
    seed: u64,
    policy: Policy,
    program: impl Fn() -> Fut,
) -> T {
    let mut first = Sim::new(seed).policy(policy.clone());
    let output = first
        .run(program())
        .unwrap_or_else(|failure| panic!("{failure}"));
    let mut second = Sim::new(seed).policy(policy);
    second
        .run(program())
        .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(
        first.trace().to_string(),
        second.trace().to_string(),
        "a seed replays event for event"
    );
    output
}
