//! What every sweep of seeds shares: its configuration, how the environment overrides
//! it, the `Sim` each seed runs on, and the determinism check of a seed run twice.
//! [`crate::Check`] and [`crate::CancelExplorer`] are both built on it; the
//! `sweep_builder!` macro gives them the same builder methods, every knob of
//! [`Config`] among them.

use super::env::EnvConfig;
use crate::config::Config;
use crate::failure::{Failure, FailureKind};
use crate::runtime::Sim;
use crate::scheduler::Policy;
use crate::trace::Trace;
use std::ops::Range;

#[derive(Clone, Debug)]
pub(crate) struct SweepConfig {
    pub seeds: Range<u64>,
    /// The configuration of every run; each run gets its own seed.
    pub config: Config,
    pub env: Option<EnvConfig>,
}

impl SweepConfig {
    pub(crate) fn new(seeds: Range<u64>, policy: Policy) -> SweepConfig {
        SweepConfig {
            seeds,
            config: Config::new(0).policy(policy),
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
            self.config.policy = policy.clone();
        }
        if let Some(steps) = env.pct_horizon {
            self.config.pct_horizon = steps;
        }
        if let Some(tape) = &env.tape {
            self.config.tape = Some(tape.clone());
        }
        if self.config.tape.is_some() {
            // A tape makes every decision: every seed would run the same execution.
            self.seeds = self.seeds.start..self.seeds.start.saturating_add(1);
        }
        env
    }

    /// The configuration of the run of `seed`.
    pub(crate) fn config(&self, seed: u64) -> Config {
        let mut config = self.config.clone();
        config.seed = seed;
        config.from_sweep = true;
        config
    }

    /// A `Sim` for `seed`, configured like the sweep.
    pub(crate) fn sim(&self, seed: u64) -> Sim {
        Sim::with_config(self.config(seed))
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

/// The builder methods every sweep has, over its `sweep: SweepConfig` field: the
/// seeds, the environment, and every knob of [`Config`] (`config_knobs!`).
macro_rules! sweep_builder {
    ($type:ident) => {
        $crate::config::config_knobs!($type => |this| this.sweep.config);

        impl $type {
            /// The seeds to run, in order.
            pub fn seeds(mut self, seeds: std::ops::Range<u64>) -> $type {
                self.sweep.seeds = seeds;
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
