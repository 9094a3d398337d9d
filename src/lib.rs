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
//! | [`task`] | `spawn`, `Builder`, `JoinHandle`, `yield_now`, `current`; `TaskGroup`, `gather`, `wait`, `as_completed`, `shield` |
//! | [`time`] | virtual `Instant`, `sleep`, `sleep_until`, `timeout`, `interval` |
//! | [`sync`] | `Lock`, `Semaphore`, `Event`, `Condition`, `Queue`, `Barrier`, `Promise`; `Fairness` |
//! | [`Check`], [`check`] | seed sweeps; [`harness::env`] has every `SEEDLOOP_*` variable |
//! | [`CancelExplorer`] | cancels a task at each of its await points in turn |
//! | [`Failure`] | what failed, where, and the replay command |
//! | [`Policy`] (`scheduler`) | Random, Fifo, PCT, Replay: one file per policy; the portfolio a sweep runs by default |
//! | [`choices`] | the one source of decisions: seeded ChaCha streams or a byte tape |
//! | [`trace`] | fixed-size event records, hash, stable snapshot text |
//! | [`rand`] | seeded randomness for the program under test |
//! | [`net`] | simulated hosts (crash, restart) and the network between them |
//! | [`fs`] | a simulated disk per host: page cache, sync, what a crash keeps |
//!
//! ## Layers
//!
//! A module imports only from its own layer or the layers below it (a test,
//! `tests/layers.rs`, reads every `crate::` path in `src/` and holds this list):
//!
//! 1. leaf types: `id` (task ids, source sites), `recycle` (spare buffers)
//! 2. `choices` (the decision sources), `trace` (event records), `clock` (`Instant`)
//! 3. `scheduler` (the `Scheduler` trait, one file per policy)
//! 4. `config` (every knob of a run), `failure` (what failed, the report)
//! 5. `runtime` (`Sim`, the executor in parts: slab, step loop, teardown,
//!    diagnostics, timers, wakers; the services the layers above call)
//! 6. `time` (sleep, timeout, interval), `rand` (seeded randomness)
//! 7. `task` (spawn, groups, gather/wait), `sync` (the primitives on one wait queue)
//! 8. `net` (simulated hosts and the network between them), `fs` (a disk per host),
//!    `fault` (buggify, fault plans)
//! 9. `harness` (sweeps, the cancellation explorer, the environment)
//!
//! ## Determinism rules for code under test
//!
//! Inside a simulation, use seedloop's clock, tasks and randomness: no `std::time`,
//! no OS threads, no real I/O, no iteration over a `HashMap` with random state. Every
//! sweep runs its first seed twice and fails with [`FailureKind::Nondeterminism`] if
//! the two executions differ.

#![forbid(unsafe_code)]
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
pub mod rand;
mod recycle;
mod runtime;
mod scheduler;
pub mod sync;
pub mod task;
pub mod time;
pub mod trace;

pub use config::{CancelAt, Config, DEFAULT_MAX_STEPS, DEFAULT_MAX_TASKS, DEFAULT_MAX_TIME};
pub use failure::{BlockedTask, CancelPoint, Failure, FailureKind, FailureReport, REPORT_EVENTS};
pub use harness::check::{check, Check};
pub use harness::explore::{explore_cancellation, CancelExplorer};
pub use harness::{ExploreSummary, Summary};
pub use runtime::{Sim, Stats};
pub use scheduler::{
    ParsePolicyError, Policy, Schedule, DEFAULT_PCT_HORIZON, MAX_PCT_DEPTH, MAX_PCT_HORIZON,
    PORTFOLIO, PORTFOLIO_PCT_DEPTH,
};
pub use task::{spawn, yield_now, JoinError, JoinHandle};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
