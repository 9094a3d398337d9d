//! The test harness: seed sweeps ([`check`](crate::check), [`Check`](crate::Check)) and
//! the `SEEDLOOP_*` environment ([`env`](mod@env)).

pub(crate) mod check;
pub mod env;

pub use check::{Summary, DEFAULT_SEEDS};
