//! What `#[seedloop::test]` expands to: the test's body as a sweep, named for the
//! test, a failure panicking with its report (and replay line), a pass printing one
//! line of what ran (shown with `cargo test -- --nocapture`).

use super::check::Check;
use std::future::Future;

/// What a test body may return: `()` or `Result<(), E: Debug>`.
pub trait TestOutput {
    /// Panics (failing the run) on an error.
    fn check(self);
}

impl TestOutput for () {
    fn check(self) {}
}

impl<E: std::fmt::Debug> TestOutput for Result<(), E> {
    #[track_caller]
    fn check(self) {
        if let Err(error) = self {
            panic!("the test returned an error: {error:?}");
        }
    }
}

/// Runs `make()`'s futures as the sweep `check`, named for the test at `path`
/// (`module_path!()::name`; the crate's name is dropped, as `cargo test` filters
/// without it).
#[track_caller]
pub fn run_test<F, Fut>(path: &str, check: Check, make: F)
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: TestOutput,
{
    let name = path.split_once("::").map_or(path, |(_, rest)| rest);
    let result = check.test_path(name).try_run(|| {
        let body = make();
        async move { body.await.check() }
    });
    match result {
        Ok(summary) => println!(
            "seedloop: {name} passed {} seeds ({}..{}), policy {}, {} steps",
            summary.seeds_run,
            summary.seeds.start,
            summary.seeds.end,
            summary.policy,
            summary.steps
        ),
        Err(failure) => panic!("{failure}"),
    }
}
