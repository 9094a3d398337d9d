//! Helpers shared by the behaviour tests.
#![allow(dead_code)]

pub mod bug_programs;

use seedloop::{Failure, Sim};
use std::future::Future;

/// Runs `program` on `make()` twice and asserts both runs have the same trace (text
/// and hash) and the same outcome; returns the first run's sim and result.
pub fn run_twice<T, Fut>(
    make: impl Fn() -> Sim,
    program: impl Fn() -> Fut,
) -> (Sim, Result<T, Failure>)
where
    Fut: Future<Output = T>,
    T: PartialEq + std::fmt::Debug,
{
    let mut first = make();
    let first_result = first.run(program());
    let mut second = make();
    let second_result = second.run(program());
    assert_eq!(
        first.trace().to_string(),
        second.trace().to_string(),
        "the same seed must replay event for event"
    );
    assert_eq!(first.trace().hash(), second.trace().hash());
    match (&first_result, &second_result) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.kind, b.kind),
        _ => panic!("one run failed and the other did not"),
    }
    (first, first_result)
}
