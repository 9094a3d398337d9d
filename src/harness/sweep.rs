//! What every sweep of seeds shares: its configuration, how the environment overrides
//! it, the `Sim` each seed runs on, and the determinism check of a seed run twice.
//! [`crate::Check`] and [`crate::CancelExplorer`] are both built on it; the
//! `sweep_builder!` macro gives them the same builder methods.

use super::env::EnvConfig;
use crate::failure::{Failure, FailureKind};
use crate::runtime::{Sim, DEFAULT_MAX_STEPS, DEFAULT_MAX_TIME};
use crate::scheduler::{Policy, DEFAULT_PCT_HORIZON};
use crate::trace::Trace;
use std::ops::Range;
use std::time::Duration;

#[derive(Clone, Debug)]
pub(crate) struct SweepConfig {
    pub seeds: Range<u64>,
    pub policy: Policy,
    pub max_steps: u64,
    pub max_time: Duration,
    pub pct_horizon: u64,
    pub name: Option<String>,
    pub command: Option<String>,
    pub env: Option<EnvConfig>,
}

impl SweepConfig {
    pub(crate) fn new(seeds: Range<u64>, policy: Policy) -> SweepConfig {
        SweepConfig {
            seeds,
            policy,
            max_steps: DEFAULT_MAX_STEPS,
            max_time: DEFAULT_MAX_TIME,
            pct_horizon: DEFAULT_PCT_HORIZON,
            name: None,
            command: None,
            env: None,
        }
    }

    /// Applies the overrides (the process environment unless [`SweepConfig::env`] was
    /// set) and returns them, for the settings only one kind of sweep has.
    ///
    /// # Panics
    ///
    /// When a `SEEDLOOP_*` variable has a bad value (the message names it).
    pub(crate) fn apply_env(&mut self) -> EnvConfig {
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
        if let Some(policy) = &env.policy {
            self.policy = policy.clone();
        }
        if let Some(steps) = env.pct_horizon {
            self.pct_horizon = steps;
        }
        env
    }

    /// A `Sim` for `seed`, configured like the sweep.
    pub(crate) fn sim(&self, seed: u64) -> Sim {
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

/// Compares a seed's second run with its first: a failure of the second run, or a
/// different trace, is nondeterminism.
pub(crate) fn compare_runs(
    seed: u64,
    first: &Sim,
    second: &Sim,
    second_result: Result<(), Failure>,
) -> Result<(), Failure> {
    if second_result.is_ok() && second.trace().hash() == first.trace().hash() {
        return Ok(());
    }
    let detail = describe_difference(first.trace(), second.trace());
    let mut failure = match second_result {
        Err(failure) => failure,
        Ok(()) => second.failure(FailureKind::Nondeterminism {
            detail: String::new(),
        }),
    };
    failure.kind = FailureKind::Nondeterminism {
        detail: format!("seed {seed} ran twice with different executions: {detail}"),
    };
    Err(failure)
}

/// Where two traces of the same seed first differ.
fn describe_difference(first: &Trace, second: &Trace) -> String {
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

/// The builder methods every sweep has, over its `sweep: SweepConfig` field.
macro_rules! sweep_builder {
    ($type:ident) => {
        impl $type {
            /// The seeds to run, in order.
            pub fn seeds(mut self, seeds: std::ops::Range<u64>) -> $type {
                self.sweep.seeds = seeds;
                self
            }

            /// The scheduling policy.
            pub fn policy(mut self, policy: $crate::Policy) -> $type {
                policy.validate();
                self.sweep.policy = policy;
                self
            }

            /// See [`Sim::max_steps`](crate::Sim::max_steps).
            pub fn max_steps(mut self, max_steps: u64) -> $type {
                self.sweep.max_steps = max_steps;
                self
            }

            /// See [`Sim::max_time`](crate::Sim::max_time).
            pub fn max_time(mut self, max_time: std::time::Duration) -> $type {
                self.sweep.max_time = max_time;
                self
            }

            /// See [`Sim::pct_horizon`](crate::Sim::pct_horizon).
            pub fn pct_horizon(mut self, steps: u64) -> $type {
                self.sweep.pct_horizon = steps;
                self
            }

            /// The test name for replay lines (default: the current thread's name,
            /// which libtest sets to the test's path).
            pub fn name(mut self, name: impl Into<String>) -> $type {
                self.sweep.name = Some(name.into());
                self
            }

            /// See [`Sim::replay_command`](crate::Sim::replay_command).
            pub fn replay_command(mut self, command: impl Into<String>) -> $type {
                self.sweep.command = Some(command.into());
                self
            }

            /// Uses these overrides instead of reading the process environment (for
            /// tests of the overrides themselves, and for sweeps that must ignore a
            /// replay line's variables).
            pub fn env(mut self, env: $crate::harness::env::EnvConfig) -> $type {
                self.sweep.env = Some(env);
                self
            }
        }
    };
}

pub(crate) use sweep_builder;
