//! Fault injection: [`buggify`] (FoundationDB's BUGGIFY) and the [`FaultPlan`] a run
//! carries out by itself.
//!
//! Both draw from the run's fault stream of choices, separate from the scheduler's
//! and the network's, so turning faults on does not reshuffle the schedule; and in
//! both, decision 0 is "no fault", so a run under [`crate::Policy::Fifo`] (or from a
//! tape of zeros) has none. A [`FaultPlan`] is carried out by a task named `faults`,
//! started when the run creates its first host; every crash, restart, partition and
//! heal it injects is a trace event, and a failure report lists them.

mod plan;

pub use crate::config::FaultPlan;
pub(crate) use plan::start_if_planned;

use crate::choices::Stream;
use crate::runtime::context;
use crate::runtime::executor::Shared;
use std::collections::BTreeMap;

/// The buggify sites reached in one run: whether each is enabled.
#[derive(Debug, Default)]
struct Sites {
    run_id: u64,
    enabled: BTreeMap<(&'static str, u32, u32), bool>,
}

/// Whether to take a seeded, rare code path here (FoundationDB's `BUGGIFY`): use it
/// to make a program under test misbehave on purpose (a short timeout, an extra
/// delay, a forced retry) where real life might, so that sweeps explore those paths.
///
/// The first time a run reaches a call site, the site is enabled or not (one in
/// four); an enabled site then fires one call in four. Both draws come from the run's
/// fault stream. Outside a simulation, and under [`crate::Policy::Fifo`], it is always
/// false.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let fired = (0..100u64)
///     .filter(|seed| {
///         seedloop::Sim::new(*seed)
///             .run(async { (0..20).any(|_| seedloop::fault::buggify()) })
///             .unwrap()
///     })
///     .count();
/// assert!(fired > 5 && fired < 60, "{fired} seeds of 100 took the path");
/// assert!(!seedloop::fault::buggify(), "never outside a simulation");
/// ```
#[track_caller]
pub fn buggify() -> bool {
    let site = std::panic::Location::caller();
    let key = (site.file(), site.line(), site.column());
    context::try_with_current(|shared| fires(shared, key)).unwrap_or(false)
}

fn fires(shared: &Shared, key: (&'static str, u32, u32)) -> bool {
    let run_id = shared.run_id();
    let known = shared.with_extension::<Sites, _>(|sites| {
        if sites.run_id != run_id {
            *sites = Sites {
                run_id,
                enabled: BTreeMap::new(),
            };
        }
        sites.enabled.get(&key).copied()
    });
    let enabled = known.unwrap_or_else(|| {
        let enabled = shared.choose(Stream::Faults, 4) == 3;
        shared.with_extension::<Sites, _>(|sites| sites.enabled.insert(key, enabled));
        enabled
    });
    enabled && shared.choose(Stream::Faults, 4) == 3
}
