//! The test harness: seed sweeps ([`check`](crate::check), [`Check`](crate::Check)),
//! serial or on worker threads, sliced across machines ([`Partition`]); the
//! cancellation explorer ([`CancelExplorer`](crate::CancelExplorer)); and the
//! `SEEDLOOP_*` environment ([`env`](mod@env)).

pub(crate) mod check;
pub mod env;
pub(crate) mod explore;
mod partition;
mod plan;
mod progress;
pub(crate) mod sweep;
mod trace_dir;
mod workers;

pub use check::{Summary, DEFAULT_SEEDS, MAX_JOBS, MAX_TIME_BUDGET};
pub use explore::ExploreSummary;
pub use partition::{ParsePartitionError, Partition, MAX_PARTITIONS};
