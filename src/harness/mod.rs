//! The test harness: seed sweeps ([`check`](crate::check), [`Check`](crate::Check)),
//! serial or on worker threads, sliced across machines ([`Partition`]); the
//! cancellation explorer ([`CancelExplorer`](crate::CancelExplorer)); the minimizer
//! ([`FailureReport::minimize`](crate::FailureReport::minimize)); and the
//! `SEEDLOOP_*` environment ([`env`](mod@env)).

pub(crate) mod check;
#[doc(hidden)]
pub mod coverage;
pub mod env;
mod exhaustive;
pub(crate) mod explore;
pub mod fuzz;
mod minimize;
mod partition;
mod plan;
mod progress;
#[cfg(feature = "proptest")]
pub mod proptest;
pub(crate) mod sweep;
#[doc(hidden)]
pub mod test_attribute;
mod trace_dir;
mod workers;

pub use check::{Summary, DEFAULT_SEEDS, MAX_JOBS, MAX_TIME_BUDGET};
pub use exhaustive::{
    Exhaustive, ExhaustiveSummary, DEFAULT_MAX_SCHEDULES, MAX_SCHEDULES, SMALL_DECISION,
};
pub use explore::ExploreSummary;
pub use minimize::{MinimizeError, Minimized, MINIMIZE_RUNS};
pub use partition::{ParsePartitionError, Partition, MAX_PARTITIONS};
