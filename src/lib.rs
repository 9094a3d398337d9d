//! # seedloop: deterministic simulation testing for async Rust
//!
//! seedloop runs your async code on a simulated, single-threaded event loop with a
//! virtual clock. Every choice the loop makes (which ready task runs next, the order of
//! timers that fire together, random numbers) comes from one seeded source, so one seed
//! is one execution, event for event: sweep thousands of seeds in `cargo test`, and a
//! failing seed is a bug report that replays exactly.
//!
//! ```
//! use std::cell::Cell;
//! use std::rc::Rc;
//!
//! // A check-then-act bug: two withdrawals both see enough money.
//! let program = || async {
//!     let balance = Rc::new(Cell::new(100));
//!     let withdraw = |amount| {
//!         let balance = balance.clone();
//!         seedloop::spawn(async move {
//!             if balance.get() >= amount {
//!                 seedloop::yield_now().await; // e.g. an audit log write
//!                 balance.set(balance.get() - amount);
//!             }
//!         })
//!     };
//!     let (a, b) = (withdraw(80), withdraw(80));
//!     a.await.unwrap();
//!     b.await.unwrap();
//!     assert!(balance.get() >= 0, "overdrawn: {}", balance.get());
//! };
//! let failure = seedloop::Check::new().seeds(0..200).try_run(program).unwrap_err();
//! // Replaying the failing seed runs the same execution, to the same failure.
//! let again = failure.sim().run(program()).unwrap_err();
//! assert_eq!(again.kind.name(), failure.kind.name());
//! assert_eq!(again.trace.to_string(), failure.trace.to_string());
//! ```
//!
//! ## Where to start reading
//!
//! | module | what it holds |
//! |---|---|
//! | [`Config`] (`config`) | every knob of a run, carried by `Sim`, the sweeps and `Failure` |
//! | [`Sim`] (`runtime`) | the runner: `run`, trace, stats; the executor |
//! | [`task`] | `spawn`, `Builder`, `JoinHandle`, `yield_now`, `current`; `spawn_blocking`; `TaskGroup`, `gather`, `wait`, `as_completed`, `shield` |
//! | [`time`] | virtual `Instant`, `sleep`, `sleep_until`, `timeout`, `interval` |
//! | [`sync`] | `Lock`, `Semaphore`, `Event`, `Condition`, `Queue`, `Barrier`, `Promise`; `Fairness` |
//! | [`Check`], [`check`], [`check_parallel`] | seed sweeps, serial or on every core, partitions, time budgets; [`harness::env`] has every `SEEDLOOP_*` variable |
//! | [`CancelExplorer`] | cancels a task at each of its await points in turn |
//! | [`Failure`] | what failed, where, and the replay command; [`FailureReport::minimize`] shortens it |
//! | [`Policy`] (`scheduler`) | Random, Fifo, PCT, Replay: one file per policy; the portfolio a sweep runs by default |
//! | [`choices`] | the one source of decisions: seeded ChaCha streams or a byte tape |
//! | [`trace`] | fixed-size event records, hash, stable snapshot text, Chrome JSON for Perfetto |
//! | [`rand`] | seeded randomness for the program under test |
//! | [`net`] | simulated hosts (crash, restart), the network between them, fake external services |
//! | [`fs`] | a simulated disk per host: page cache, sync, what a crash keeps |
//!
//! ## Layers
//!
//! A module imports only from its own layer or the layers below it (a test,
//! `tests/layers.rs`, reads every `crate::` path in `src/` and holds this list):
//!
//! 1. leaf types: `id` (task ids, source sites), `recycle` (spare buffers), `plural`
//!    (counts in messages)
//! 2. `choices` (the decision sources), `trace` (event records), `clock` (`Instant`)
//! 3. `scheduler` (the `Scheduler` trait, one file per policy)
//! 4. `config` (every knob of a run), `failure` (what failed, the report)
//! 5. `runtime` (`Sim`, the executor in parts: slab, step loop, teardown,
//!    diagnostics, timers, wakers; the services the layers above call)
//! 6. `time` (sleep, timeout, interval), `rand` (seeded randomness)
//! 7. `task` (spawn, groups, gather/wait), `sync` (the primitives on one wait queue)
//! 8. `net` (simulated hosts, the network between them, fake services), `fs` (a disk
//!    per host), `fault` (buggify, fault plans)
//! 9. `harness` (sweeps, serial and parallel; the minimizer, the cancellation
//!    explorer, the environment, the test attribute, proptest schedules, fuzzing)
//!
//! ## Determinism rules for code under test
//!
//! Inside a simulation, use seedloop's clock, tasks and randomness: no `std::time`,
//! no OS threads, no real I/O, no iteration over a `HashMap` with random state. Every
//! sweep runs its first seed twice and fails with [`FailureKind::Nondeterminism`] if
//! the two executions differ.

// `unsafe` is allowed in one audited file (`runtime/waker.rs`, the raw task waker);
// `tests/unsafe_audit.rs` checks that it stays there.
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod choices;
mod clock;
mod config;
mod failure;
pub mod fault;
pub mod fs;
pub mod harness;
mod id;
pub mod net;
mod plural;
pub mod rand;
mod recycle;
mod runtime;
mod scheduler;
pub mod sync;
pub mod task;
pub mod time;
pub mod trace;

pub use config::{
    CancelAt, Config, DEFAULT_MAX_STEPS, DEFAULT_MAX_TASKS, DEFAULT_MAX_TIME, DEFAULT_SLOW_POLL,
    MAX_TASKS,
};
pub use failure::{
    BlockedTask, CancelPoint, Failure, FailureKind, FailureReport, TraceFiles, REPORT_EVENTS,
};
pub use harness::check::{check, check_parallel, Check};
pub use harness::explore::{explore_cancellation, CancelExplorer};
/// Schedules as proptest values (feature `proptest`, on by default).
#[cfg(feature = "proptest")]
pub use harness::proptest;
pub use harness::{fuzz, Exhaustive, ExhaustiveSummary, ExploreSummary, Summary};
pub use runtime::{Coverage, DebugFinding, Sim, Stats};
pub use scheduler::{
    ParsePolicyError, Policy, Schedule, DEFAULT_PCT_HORIZON, MAX_PCT_DEPTH, MAX_PCT_HORIZON,
    PORTFOLIO, PORTFOLIO_PCT_DEPTH,
};
pub use task::{spawn, spawn_blocking, yield_now, JoinError, JoinHandle};

/// An `async fn` test run as a sweep of seeds: `#[seedloop::test]` (100 seeds, the
/// `SEEDLOOP_*` variables apply) or `#[seedloop::test(seeds = 1000, policy = "pct:3",
/// max_steps = 50_000, max_time = "10s")]`. It expands to a `#[test]`; other
/// attributes (`#[ignore]`, `#[should_panic]`, doc comments) are kept. A failing seed
/// panics with the failure's report and a replay line naming the test; a pass prints
/// one line of what ran (seen with `--nocapture`). The body may return
/// `Result<(), E: Debug>`; an `Err` fails the run. A misspelt argument is a compile
/// error naming the accepted ones.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// #[seedloop::test(seeds = 50, policy = "pct:2")]
/// async fn both_increments_are_counted() {
///     let count = Rc::new(Cell::new(0));
///     let tasks: Vec<_> = (0..2)
///         .map(|_| {
///             let count = count.clone();
///             seedloop::spawn(async move { count.set(count.get() + 1) })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(count.get(), 2);
/// }
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// #[seedloop::test(seed = 5)] // `seeds`, not `seed`
/// async fn misspelt() {}
/// # fn main() {}
/// ```
pub use seedloop_macros::seedloop_test as test;

/// What the macros expand to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::harness::coverage::{always, sometimes};
    pub use crate::harness::test_attribute::{run_test, TestOutput};
    #[cfg(feature = "insta")]
    pub use insta;
}

/// Marks an interesting state: counts, under `name`, that the program reached this
/// point and whether `condition` held. A sweep adds the counts up
/// ([`Summary::coverage`]), lists the conditions that never held
/// ([`Summary::never_held`]), and fails when one it requires never held
/// ([`Check::require_sometimes`]): proof that the seeds reached the states the test is
/// about. Returns `condition`. Outside a simulation it only returns it.
///
/// ```
/// let summary = seedloop::Check::new().seeds(0..50).run(|| async {
///     let a = seedloop::spawn(async {});
///     let b = seedloop::spawn(async {});
///     seedloop::yield_now().await;
///     seedloop::sometimes!(a.is_finished() && !b.is_finished(), "a ended before b");
///     a.await.unwrap();
///     b.await.unwrap();
/// });
/// assert!(summary.coverage["a ended before b"].held > 0);
/// assert!(summary.never_held().is_empty());
/// ```
#[macro_export]
macro_rules! sometimes {
    ($condition:expr, $name:literal $(,)?) => {
        $crate::__private::sometimes($condition, $name)
    };
}

/// An invariant with a name: counts it like [`sometimes!`], and fails the run when
/// `condition` is false, with a report naming it.
///
/// ```
/// let failure = seedloop::Sim::new(0)
///     .run(async { seedloop::always!(1 + 1 == 3, "arithmetic") })
///     .unwrap_err();
/// assert!(failure.to_string().contains("always!(\"arithmetic\") did not hold"), "{failure}");
/// ```
#[macro_export]
macro_rules! always {
    ($condition:expr, $name:literal $(,)?) => {
        $crate::__private::always($condition, $name)
    };
}

/// Snapshots a trace view with insta, in the top-level `snapshots/` folder of the
/// crate under test, as `<name>.snap` (review with `cargo insta review`). Feature
/// `insta` (on by default).
///
/// ```
/// use seedloop::trace::EventKind;
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(async { seedloop::yield_now().await }).unwrap();
/// let view = sim.trace().view().kinds(&[EventKind::Yield]).without_steps();
/// # let _ = || {
/// seedloop::assert_trace_snapshot!("main_yields", view);
/// # };
/// ```
#[cfg(feature = "insta")]
#[macro_export]
macro_rules! assert_trace_snapshot {
    ($name:expr, $view:expr $(,)?) => {{
        let text = ::std::string::ToString::to_string(&$view);
        $crate::__private::insta::with_settings!({
            snapshot_path => ::std::path::Path::new(::std::env!("CARGO_MANIFEST_DIR")).join("snapshots"),
            prepend_module_to_snapshot => false,
        }, {
            $crate::__private::insta::assert_snapshot!($name, text);
        });
    }};
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
