//! The cancellation explorer: cancel a task at each of its await points in turn.
//!
//! A cancel-unsafe function changes state before an await and fixes it up after; it
//! breaks only when it is cancelled between the two, which a seed sweep reaches by
//! luck if at all. The explorer reaches it on purpose. It runs the scenario once,
//! counting how many times the target task (the first task spawned with the target
//! name) suspends, that is, returns `Pending`. Then, for each k from 1 to that count,
//! it reruns the scenario from the same seed, cancelling the target right after its
//! k-th suspension (its future is dropped when it is next scheduled, exactly as
//! [`crate::JoinHandle::cancel`] would). Because one seed is one execution, run k is
//! identical to the first run up to that suspension: k names one await point of the
//! program. The scenario's own assertions are the invariants; the first k at which
//! one fails is reported as a [`Failure`] naming the seed and k, whose replay line
//! (`SEEDLOOP_CANCEL_AT=k`) reruns exactly that case. seedloop's own futures record
//! where in the source they were created (`#[track_caller]`), so the report also
//! names the await point's file, line and column.

use super::env::{EnvConfig, CANCEL_AT};
use super::sweep::{compare_runs, sweep_builder, SweepConfig};
use super::trace_dir;
use crate::config::{CancelAt, Config};
use crate::failure::{Failure, FailureKind};
use crate::runtime::Sim;
use crate::scheduler::Policy;
use std::future::Future;
use std::ops::Range;

/// What a passing exploration did.
///
/// # Examples
///
/// ```
/// let summary = seedloop::explore_cancellation("worker", || async {
///     let worker = seedloop::task::Builder::new().name("worker").spawn(async {
///         seedloop::yield_now().await;
///         seedloop::yield_now().await;
///     });
///     let _ = worker.await;
/// });
/// assert_eq!(summary.await_points, [2]);
/// assert_eq!(summary.runs, 4, "a baseline, its determinism check, one run per point");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExploreSummary {
    /// The seeds explored, first to last. The end is exclusive and saturates: an
    /// exploration whose last seed is `u64::MAX` ends at `u64::MAX` too (one entry of
    /// [`ExploreSummary::await_points`] per seed counts it).
    pub seeds: Range<u64>,
    /// The policy used.
    pub policy: Policy,
    /// The target's await points (suspensions) under each seed, in seed order.
    pub await_points: Vec<u64>,
    /// Where each await point of the first seed is in the source (`file:line:column`
    /// of the seedloop future awaited there; `None` for a future outside seedloop or a
    /// `JoinHandle`).
    pub sites: Vec<Option<String>>,
    /// Runs of the scenario, baselines and determinism checks included.
    pub runs: u64,
}

/// Explores cancelling the task named `target` at each of its await points, under
/// [`Policy::Fifo`] and seed 0; panics with the failure report at the first await point
/// where the scenario's assertions fail. See [`CancelExplorer`].
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// // Cancel-safe: the flag is reset by a guard, even when the task is dropped.
/// struct Reset(Rc<Cell<bool>>);
/// impl Drop for Reset {
///     fn drop(&mut self) { self.0.set(false) }
/// }
/// let summary = seedloop::explore_cancellation("refresh", || async {
///     let busy = Rc::new(Cell::new(false));
///     let task = seedloop::task::Builder::new().name("refresh").spawn({
///         let busy = busy.clone();
///         async move {
///             busy.set(true);
///             let _reset = Reset(busy);
///             seedloop::time::sleep(Duration::from_secs(1)).await;
///             seedloop::time::sleep(Duration::from_secs(1)).await;
///         }
///     });
///     let _ = task.await;
///     assert!(!busy.get(), "left busy");
/// });
/// assert_eq!(summary.await_points, [2]);
/// ```
#[track_caller]
pub fn explore_cancellation<F, Fut>(target: &str, scenario: F) -> ExploreSummary
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    CancelExplorer::new(target).run(scenario)
}

/// The cancellation explorer, configured (see the module docs and
/// [`explore_cancellation`]).
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use seedloop::{CancelExplorer, Policy};
///
/// // Cancel-unsafe: the flag is set before an await and reset after it.
/// let failure = CancelExplorer::new("refresh")
///     .seeds(0..10)
///     .policy(Policy::Random)
///     .try_run(|| async {
///         let busy = Rc::new(Cell::new(false));
///         let task = seedloop::task::Builder::new().name("refresh").spawn({
///             let busy = busy.clone();
///             async move {
///                 busy.set(true);
///                 seedloop::time::sleep(Duration::from_secs(1)).await;
///                 busy.set(false);
///             }
///         });
///         let _ = task.await;
///         assert!(!busy.get(), "left busy");
///     })
///     .unwrap_err();
/// let point = failure.cancel_point.clone().unwrap();
/// assert_eq!((point.task.as_str(), point.await_point), ("refresh", 1));
/// assert!(failure.replay_command().contains("SEEDLOOP_CANCEL_AT=1"));
/// ```
///
/// The target is the configuration's [`Config::cancel_at`] task: `cancel_at(task, k)`
/// retargets the explorer, and with `k >= 1` tries only await point `k` (as
/// `SEEDLOOP_CANCEL_AT=k` does).
#[derive(Clone, Debug)]
pub struct CancelExplorer {
    // Invariant: `sweep.config.cancel_at` is set (the target).
    sweep: SweepConfig,
}

sweep_builder!(CancelExplorer);

impl CancelExplorer {
    /// Explores the first task spawned with the name `target`
    /// ([`crate::task::Builder::name`]), under seed 0 and [`Policy::Fifo`] (the
    /// production order) unless configured otherwise.
    ///
    /// # Panics
    ///
    /// When `target` is `main` (see [`Config::cancel_at`]).
    #[track_caller]
    pub fn new(target: impl Into<String>) -> CancelExplorer {
        let mut sweep = SweepConfig::new(0..1, Policy::Fifo);
        sweep.config = sweep.config.cancel_at(target, 0);
        CancelExplorer { sweep }
    }

    /// Sets every knob at once (the builder methods set one each). The seed of `config`
    /// is not used (see [`CancelExplorer::seeds`]); when `config` names no
    /// [`Config::cancel_at`] target, the explorer keeps its own.
    ///
    /// # Panics
    ///
    /// When a field of `config` set directly cannot run (see
    /// [`crate::Sim::with_config`]).
    #[track_caller]
    pub fn config(mut self, mut config: Config) -> CancelExplorer {
        config.validate();
        if config.cancel_at.is_none() {
            config.cancel_at = self.sweep.config.cancel_at.take();
        }
        self.sweep.config = config;
        self
    }

    fn target(&self) -> &CancelAt {
        self.sweep
            .config
            .cancel_at
            .as_ref()
            .expect("a CancelExplorer always has a target")
    }

    /// Explores; panics with the failure report at the first failing await point.
    #[track_caller]
    pub fn run<F, Fut>(self, scenario: F) -> ExploreSummary
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        match self.try_run(scenario) {
            Ok(summary) => summary,
            Err(failure) => panic!("{failure}"),
        }
    }

    /// Explores; returns the first failure. A failure of a baseline run (nothing
    /// cancelled) is returned as it is, without a cancel point.
    ///
    /// # Panics
    ///
    /// When no task named like the target is spawned in a baseline run (the message
    /// says how to name it); when the one await point asked for (`SEEDLOOP_CANCEL_AT`
    /// or [`Config::cancel_at`]) is beyond the target's await points in a baseline run
    /// (a stale replay line: the code changed); and when a `SEEDLOOP_*` variable has a
    /// bad value.
    pub fn try_run<F, Fut>(mut self, scenario: F) -> Result<ExploreSummary, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let env = self.sweep.apply_env();
        let trace_dir = env.trace_dir.clone();
        self.explore(env, scenario).map_err(|mut failure| {
            if let Some(directory) = &trace_dir {
                failure.trace_files = Some(trace_dir::write(directory, &failure));
            }
            failure
        })
    }

    fn explore<F, Fut>(&self, env: EnvConfig, mut scenario: F) -> Result<ExploreSummary, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let target = self.target().task.clone();
        let configured = self.target().await_point;
        // The one await point to try, and where it was set (for a stale point's message).
        let only_point = match env.cancel_at {
            Some(point) => Some((point, format!("{CANCEL_AT}={point}"))),
            None => (configured > 0)
                .then(|| (configured, format!("cancel_at({target:?}, {configured})"))),
        };
        let seeds = self.sweep.seeds.clone();
        let first = *seeds.start();
        let mut summary = ExploreSummary {
            seeds: self.sweep.seed_range(),
            policy: self.sweep.config.policy.clone(),
            await_points: Vec::new(),
            sites: Vec::new(),
            runs: 0,
        };
        for seed in seeds {
            let mut baseline = self.sim(seed, 0);
            baseline.run(scenario())?;
            summary.runs += 1;
            if seed == first {
                let mut again = self.sim(seed, 0);
                let second = again.run(scenario());
                summary.runs += 1;
                compare_runs(seed, &baseline, &again, second)?;
            }
            let Some(points) = baseline.stats().target_await_points else {
                panic!(
                    "CancelExplorer: no task named `{target}` was spawned (seed {seed}); spawn the task to explore with seedloop::task::Builder::new().name(\"{target}\")"
                );
            };
            summary.await_points.push(points);
            if seed == first {
                summary.sites = baseline
                    .stats()
                    .target_await_sites
                    .iter()
                    .map(|site| site.map(|site| site.to_string()))
                    .collect();
            }
            let range = match &only_point {
                Some((point, source)) if *point > points => panic!(
                    "CancelExplorer: {source} asks for await point {point}, but task `{target}` has only {points} await points under seed {seed}: the code changed since that point was found, and trying it would pass without cancelling anything; unset {CANCEL_AT} (or drop the cancel_at point) to explore every await point, or re-run the exploration and use the point its new replay line prints"
                ),
                Some((point, _)) => *point..=*point,
                None => 1..=points,
            };
            for point in range {
                let mut sim = self.sim(seed, point);
                sim.run(scenario())?;
                summary.runs += 1;
                let reached = sim.stats().target_await_points.unwrap_or(0);
                if reached < point {
                    return Err(sim.failure(FailureKind::Nondeterminism {
                        detail: format!(
                            "task `{target}` suspended {points} times in the baseline run of seed {seed} but only {reached} times when it was to be cancelled at await point {point}"
                        ),
                    }));
                }
            }
        }
        Ok(summary)
    }

    /// A `Sim` for `seed` that cancels the target at `await_point` (0: only counts).
    fn sim(&self, seed: u64, await_point: u64) -> Sim {
        let mut config = self.sweep.config(seed);
        config.cancel_at = Some(CancelAt {
            task: self.target().task.clone(),
            await_point,
        });
        Sim::with_config(config)
    }
}
