//! The entry point for users' own `cargo fuzz` targets: one execution whose every
//! decision is read from the fuzzer's bytes.
//!
//! The bytes are a tape (see [`crate::choices::Tape`]): each decision of the run (the
//! task that runs next, timer ties, latencies, the program's own random values) reads
//! as few bytes as its number of options needs, and past the end the tape reads as
//! zeros, the FIFO order. So empty or all-zero input is the production order, and the
//! fuzzer's coverage feedback steers it toward schedules that reach new code.

use crate::runtime::Sim;
use std::future::Future;

/// Runs `make()`'s future once with `bytes` as the schedule; returns its output, or
/// panics with the failure's report (which the fuzzer records as a crash).
///
/// # Examples
///
/// ```
/// // fuzz/fuzz_targets/transfer.rs:
/// // fuzz_target!(|bytes: &[u8]| seedloop::fuzz::run(bytes, || my_program()));
/// let sum = seedloop::fuzz::run(&[1, 0, 1], || async {
///     let a = seedloop::spawn(async { 1 });
///     let b = seedloop::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
///
/// # Panics
///
/// When the run fails, with the failure's report.
#[track_caller]
pub fn run<F, Fut>(bytes: &[u8], make: F) -> Fut::Output
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    Sim::new(0)
        .tape(bytes.to_vec())
        .run(make())
        .unwrap_or_else(|failure| panic!("{failure}"))
}
