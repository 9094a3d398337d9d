//! The test harness: seed sweeps ([`check`](crate::check), [`Check`](crate::Check)),
//! the cancellation explorer ([`CancelExplorer`](crate::CancelExplorer)) and the
//! `SEEDLOOP_*` environment ([`env`](mod@env)).

pub(crate) mod check;
pub mod env;
pub(crate) mod explore;
pub mod fuzz;
#[cfg(feature = "proptest")]
pub mod proptest;
pub(crate) mod sweep;
#[doc(hidden)]
pub mod test_attribute;

pub use check::{Summary, DEFAULT_SEEDS};
pub use explore::ExploreSummary;
