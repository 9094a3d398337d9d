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
//! (`SEEDLOOP_CANCEL_AT=k`) reruns exactly that case.

use super::check::describe_difference;
use super::env::EnvConfig;
use crate::failure::{Failure, FailureKind};
use crate::runtime::{Sim, DEFAULT_MAX_STEPS, DEFAULT_MAX_TIME};
use crate::scheduler::{Policy, DEFAULT_PCT_HORIZON};
use std::future::Future;
use std::ops::Range;
use std::time::Duration;

/// What a passing exploration did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExploreSummary {
    /// The seeds explored.
    pub seeds: Range<u64>,
    /// The policy used.
    pub policy: Policy,
    /// The target's await points (suspensions) under each seed, in seed order.
    pub await_points: Vec<u64>,
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
#[derive(Clone, Debug)]
pub struct CancelExplorer {
    target: String,
    seeds: Range<u64>,
    policy: Policy,
    max_steps: u64,
    max_time: Duration,
    pct_horizon: u64,
    name: Option<String>,
    command: Option<String>,
    env: Option<EnvConfig>,
}

impl CancelExplorer {
    /// Explores the first task spawned with the name `target`
    /// ([`crate::task::Builder::name`]), under seed 0 and [`Policy::Fifo`] (the
    /// production order) unless configured otherwise.
    pub fn new(target: impl Into<String>) -> CancelExplorer {
        CancelExplorer {
            target: target.into(),
            seeds: 0..1,
            policy: Policy::Fifo,
            max_steps: DEFAULT_MAX_STEPS,
            max_time: DEFAULT_MAX_TIME,
            pct_horizon: DEFAULT_PCT_HORIZON,
            name: None,
            command: None,
            env: None,
        }
    }

    /// The seeds to explore under, in order (each seed: one baseline run, then one run
    /// per await point).
    pub fn seeds(mut self, seeds: Range<u64>) -> CancelExplorer {
        self.seeds = seeds;
        self
    }

    /// The scheduling policy.
    pub fn policy(mut self, policy: Policy) -> CancelExplorer {
        policy.validate();
        self.policy = policy;
        self
    }

    /// See [`Sim::max_steps`].
    pub fn max_steps(mut self, max_steps: u64) -> CancelExplorer {
        self.max_steps = max_steps;
        self
    }

    /// See [`Sim::max_time`].
    pub fn max_time(mut self, max_time: Duration) -> CancelExplorer {
        self.max_time = max_time;
        self
    }

    /// The test name for replay lines; see [`crate::Check::name`].
    pub fn name(mut self, name: impl Into<String>) -> CancelExplorer {
        self.name = Some(name.into());
        self
    }

    /// See [`Sim::replay_command`].
    pub fn replay_command(mut self, command: impl Into<String>) -> CancelExplorer {
        self.command = Some(command.into());
        self
    }

    /// Uses these overrides instead of reading the process environment.
    pub fn env(mut self, env: EnvConfig) -> CancelExplorer {
        self.env = Some(env);
        self
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
    /// says how to name it), and when a `SEEDLOOP_*` variable has a bad value.
    pub fn try_run<F, Fut>(mut self, mut scenario: F) -> Result<ExploreSummary, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let only_point = self.apply_env();
        let mut summary = ExploreSummary {
            seeds: self.seeds.clone(),
            policy: self.policy.clone(),
            await_points: Vec::new(),
            runs: 0,
        };
        for seed in self.seeds.clone() {
            let mut baseline = self.sim(seed).cancel_at(self.target.clone(), 0);
            baseline.run(scenario())?;
            summary.runs += 1;
            if seed == self.seeds.start {
                let mut again = self.sim(seed).cancel_at(self.target.clone(), 0);
                let second = again.run(scenario());
                summary.runs += 1;
                if second.is_err() || again.trace().hash() != baseline.trace().hash() {
                    let detail = describe_difference(baseline.trace(), again.trace());
                    let mut failure = second.err().unwrap_or_else(|| {
                        again.failure(FailureKind::Nondeterminism {
                            detail: String::new(),
                        })
                    });
                    failure.kind = FailureKind::Nondeterminism {
                        detail: format!(
                            "seed {seed} ran twice with different executions: {detail}"
                        ),
                    };
                    return Err(failure);
                }
            }
            let Some(points) = baseline.stats().target_await_points else {
                panic!(
                    "CancelExplorer: no task named `{target}` was spawned (seed {seed}); spawn the task to explore with seedloop::task::Builder::new().name(\"{target}\")",
                    target = self.target
                );
            };
            summary.await_points.push(points);
            let range = match only_point {
                Some(point) => point..=point,
                None => 1..=points,
            };
            for point in range {
                let mut sim = self.sim(seed).cancel_at(self.target.clone(), point);
                sim.run(scenario())?;
                summary.runs += 1;
                let reached = sim.stats().target_await_points.unwrap_or(0);
                if reached < point && only_point.is_none() {
                    return Err(sim.failure(FailureKind::Nondeterminism {
                        detail: format!(
                            "task `{}` suspended {points} times in the baseline run of seed {seed} but only {reached} times when it was to be cancelled at await point {point}",
                            self.target
                        ),
                    }));
                }
            }
        }
        Ok(summary)
    }

    /// Applies the environment; returns `SEEDLOOP_CANCEL_AT`.
    fn apply_env(&mut self) -> Option<u64> {
        let env = match self.env.take() {
            Some(env) => env,
            None => EnvConfig::from_env().unwrap_or_else(|error| panic!("seedloop: {error}")),
        };
        env.warn_unknown();
        if let Some(count) = env.seeds {
            self.seeds = self.seeds.start..self.seeds.start.saturating_add(count);
        }
        if let Some(seed) = env.seed {
            self.seeds = seed..seed.saturating_add(1);
        }
        if let Some(policy) = env.policy {
            self.policy = policy;
        }
        if let Some(steps) = env.pct_horizon {
            self.pct_horizon = steps;
        }
        env.cancel_at
    }

    fn sim(&self, seed: u64) -> Sim {
        let mut sim = Sim::new(seed)
            .policy(self.policy.clone())
            .max_steps(self.max_steps)
            .max_time(self.max_time)
            .pct_horizon(self.pct_horizon);
        if let Some(name) = &self.name {
            sim = sim.name(name.clone());
        }
        if let Some(command) = &self.command {
            sim = sim.replay_command(command.clone());
        }
        sim
    }
}
