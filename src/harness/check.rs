//! Seed sweeps: run a test program under many seeds and report the first failure.
//!
//! [`Check`] runs the program once per seed, each time on a fresh [`Sim`], in seed
//! order. The seed sequence is fixed by the configuration and the environment, never by
//! the wall clock: the same command runs the same seeds. The first seed always runs
//! twice and the two trace hashes are compared, so a test that is not deterministic
//! (it reads the real clock, iterates a `HashMap`, uses a global counter) is caught at
//! the cost of one extra run; `SEEDLOOP_CHECK_DETERMINISM=1` checks every seed.
//! Environment variables ([`crate::harness::env`]) override the builder.

use super::env::EnvConfig;
use crate::failure::{Failure, FailureKind};
use crate::runtime::{Sim, DEFAULT_MAX_STEPS, DEFAULT_MAX_TIME};
use crate::scheduler::{Policy, DEFAULT_PCT_HORIZON};
use crate::trace::Trace;
use std::future::Future;
use std::ops::Range;
use std::time::Duration;

/// The number of seeds [`Check::new`] runs.
pub const DEFAULT_SEEDS: u64 = 100;

/// What a passing sweep did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// The seeds run.
    pub seeds: Range<u64>,
    /// The policy used.
    pub policy: Policy,
    /// Total scheduling steps over all runs.
    pub steps: u64,
    /// How many seeds were run twice to check determinism.
    pub determinism_checked: u64,
}

/// A seed sweep.
///
/// ```
/// use seedloop::{Check, Policy};
/// let summary = Check::new()
///     .seeds(0..50)
///     .policy(Policy::Pct { depth: 2 })
///     .run(|| async {
///         let a = seedloop::spawn(async { 1 });
///         let b = seedloop::spawn(async { 2 });
///         assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
///     });
/// assert!(summary.seeds.end - summary.seeds.start >= 1);
/// ```
#[derive(Clone, Debug)]
pub struct Check {
    seeds: Range<u64>,
    policy: Policy,
    max_steps: u64,
    max_time: Duration,
    pct_horizon: u64,
    name: Option<String>,
    command: Option<String>,
    check_determinism: bool,
    env: Option<EnvConfig>,
}

impl Default for Check {
    fn default() -> Check {
        Check::new()
    }
}

/// Runs `test` under seeds `0..seeds` with the default policy; panics with the failure
/// report (ending in its replay line) on the first failing seed.
///
/// ```
/// seedloop::check(100, || async {
///     let handle = seedloop::spawn(async { 2 + 2 });
///     assert_eq!(handle.await.unwrap(), 4);
/// });
/// ```
#[track_caller]
pub fn check<F, Fut>(seeds: u64, test: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    Check::new().seeds(0..seeds).run(test);
}

impl Check {
    /// A sweep of [`DEFAULT_SEEDS`] seeds from 0 under [`Policy::Random`].
    pub fn new() -> Check {
        Check {
            seeds: 0..DEFAULT_SEEDS,
            policy: Policy::Random,
            max_steps: DEFAULT_MAX_STEPS,
            max_time: DEFAULT_MAX_TIME,
            pct_horizon: DEFAULT_PCT_HORIZON,
            name: None,
            command: None,
            check_determinism: false,
            env: None,
        }
    }

    /// The seeds to run, in order.
    pub fn seeds(mut self, seeds: Range<u64>) -> Check {
        self.seeds = seeds;
        self
    }

    /// The scheduling policy.
    pub fn policy(mut self, policy: Policy) -> Check {
        policy.validate();
        self.policy = policy;
        self
    }

    /// See [`Sim::max_steps`].
    pub fn max_steps(mut self, max_steps: u64) -> Check {
        self.max_steps = max_steps;
        self
    }

    /// See [`Sim::max_time`].
    pub fn max_time(mut self, max_time: Duration) -> Check {
        self.max_time = max_time;
        self
    }

    /// See [`Sim::pct_horizon`].
    pub fn pct_horizon(mut self, steps: u64) -> Check {
        self.pct_horizon = steps;
        self
    }

    /// The test name for replay lines (default: the current thread's name, which
    /// libtest sets to the test's path).
    pub fn name(mut self, name: impl Into<String>) -> Check {
        self.name = Some(name.into());
        self
    }

    /// See [`Sim::replay_command`].
    pub fn replay_command(mut self, command: impl Into<String>) -> Check {
        self.command = Some(command.into());
        self
    }

    /// Runs every seed twice and compares the traces (the first seed always is).
    pub fn check_determinism(mut self, every_seed: bool) -> Check {
        self.check_determinism = every_seed;
        self
    }

    /// Uses these overrides instead of reading the process environment (for tests of
    /// the overrides themselves).
    pub fn env(mut self, env: EnvConfig) -> Check {
        self.env = Some(env);
        self
    }

    /// Runs the sweep; panics with the failure report on the first failing seed.
    #[track_caller]
    pub fn run<F, Fut>(self, test: F) -> Summary
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        match self.try_run(test) {
            Ok(summary) => summary,
            Err(failure) => panic!("{failure}"),
        }
    }

    /// Runs the sweep; returns the first failure.
    ///
    /// # Panics
    ///
    /// When a `SEEDLOOP_*` variable has a bad value (the message names it).
    pub fn try_run<F, Fut>(mut self, mut test: F) -> Result<Summary, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        self.apply_env();
        let mut summary = Summary {
            seeds: self.seeds.clone(),
            policy: self.policy.clone(),
            steps: 0,
            determinism_checked: 0,
        };
        for seed in self.seeds.clone() {
            let mut sim = self.sim(seed);
            sim.run(test())?;
            summary.steps += sim.stats().steps;
            if seed == self.seeds.start || self.check_determinism {
                let mut again = self.sim(seed);
                // A failure on the second run is itself evidence of nondeterminism.
                let second = again.run(test());
                summary.determinism_checked += 1;
                if second.is_err() || again.trace().hash() != sim.trace().hash() {
                    let detail = describe_difference(sim.trace(), again.trace());
                    let mut failure = match second {
                        Err(failure) => failure,
                        Ok(()) => self.failure_from(&again),
                    };
                    failure.kind = FailureKind::Nondeterminism {
                        detail: format!(
                            "seed {seed} ran twice with different executions: {detail}"
                        ),
                    };
                    return Err(failure);
                }
            }
        }
        Ok(summary)
    }

    fn apply_env(&mut self) {
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
        if let Some(every_seed) = env.check_determinism {
            self.check_determinism = every_seed;
        }
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

    fn failure_from(&self, sim: &Sim) -> Failure {
        let mut failure = sim.failure(FailureKind::Nondeterminism {
            detail: String::new(),
        });
        if self.name.is_some() {
            failure.test_name = self.name.clone();
        }
        failure.command = self.command.clone();
        failure
    }
}

/// Where two traces of the same seed first differ.
pub(crate) fn describe_difference(first: &Trace, second: &Trace) -> String {
    let index = first
        .events()
        .iter()
        .zip(second.events())
        .position(|(a, b)| a != b);
    match index {
        Some(index) => format!(
            "first difference at event {}:\n    first run:  {}\n    second run: {}",
            first.dropped() + index as u64,
            first.format_event(&first.events()[index]).trim_end(),
            second.format_event(&second.events()[index]).trim_end()
        ),
        None if first.len() != second.len() => format!(
            "the first run recorded {} events, the second {}",
            first.len(),
            second.len()
        ),
        None => "the events match but task names or panic messages differ".to_string(),
    }
}
