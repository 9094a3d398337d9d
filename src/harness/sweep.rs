//! What every sweep of seeds shares: its configuration, how the environment overrides
//! it, the `Sim` each seed runs on, and the determinism check of a seed run twice.
//! [`crate::Check`] and [`crate::CancelExplorer`] are both built on it; the
//! `sweep_builder!` macro gives them the same builder methods, every knob of
//! [`Config`] among them.

use super::env::{EnvConfig, SEEDS};
use crate::config::Config;
use crate::failure::{Failure, FailureKind};
use crate::id::TaskId;
use crate::runtime::Sim;
use crate::scheduler::{Policy, MAX_PCT_HORIZON};
use crate::trace::{EventKind, Trace};
use std::ops::{Range, RangeInclusive};

#[derive(Clone, Debug)]
pub(crate) struct SweepConfig {
    /// Never empty: a sweep that runs nothing must not pass. Inclusive, so that
    /// `u64::MAX` is a seed like any other.
    pub seeds: RangeInclusive<u64>,
    /// The configuration of every run; each run gets its own seed.
    pub config: Config,
    pub env: Option<EnvConfig>,
    /// PCT's horizon measured on the first seed ([`SweepConfig::fit_horizon`]).
    pub fitted_horizon: Option<u64>,
}

impl SweepConfig {
    pub(crate) fn new(seeds: Range<u64>, policy: Policy) -> SweepConfig {
        SweepConfig {
            seeds: seeds_to_run(seeds),
            config: Config::new(0).policy(policy),
            env: None,
            fitted_horizon: None,
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
        let first = *self.seeds.start();
        if let Some(count) = env.seeds {
            assert!(
                count > 0,
                "seedloop: {SEEDS}=0 must be at least 1: a sweep of no seeds would pass without testing anything"
            );
            // Past u64::MAX there are no more seeds: the sweep ends there.
            self.seeds = first..=first.saturating_add(count - 1);
        }
        if let Some(seed) = env.seed {
            self.seeds = seed..=seed;
        }
        if let Some(policy) = &env.policy {
            self.config.policy = policy.clone();
        }
        if let Some(steps) = env.pct_horizon {
            self.config.pct_horizon = Some(steps);
        }
        if let Some(tape) = &env.tape {
            self.config.tape = Some(tape.clone());
        }
        if let Some(debug) = env.debug {
            self.config.debug = debug;
        }
        if self.config.tape.is_some() {
            // A tape makes every decision: every seed would run the same execution.
            self.seeds = *self.seeds.start()..=*self.seeds.start();
        }
        env
    }

    /// The seeds as a summary reports them: a half-open range whose end saturates at
    /// `u64::MAX` (the summaries' `seeds_run` counts a last seed of `u64::MAX`).
    pub(crate) fn seed_range(&self) -> Range<u64> {
        *self.seeds.start()..self.seeds.end().saturating_add(1)
    }

    /// The configuration of the run of `seed`, with its concrete policy: a
    /// portfolio's member for the seed's place in the sweep, and PCT's horizon (pinned,
    /// else fitted, else the default).
    pub(crate) fn config(&self, seed: u64) -> Config {
        let mut config = self.config.clone();
        config.seed = seed;
        config.from_sweep = true;
        let position = seed.wrapping_sub(*self.seeds.start());
        config.policy = config.concrete_policy(position, self.fitted_horizon);
        config
    }

    /// Fits PCT's horizon to the program: the number of steps `first_run` (the run of
    /// the sweep's first seed) took; each later seed draws its scale of it
    /// (`config::fitted_horizon`). Nothing to fit when a horizon is pinned. This is the
    /// one thing a sweep carries from one seed to the next, and each run names the
    /// horizon it used in its concrete policy, so a failure still replays from its
    /// report alone.
    pub(crate) fn fit_horizon(&mut self, first_run: &Sim) {
        if self.fitted_horizon.is_none() && self.config.pct_horizon.is_none() {
            let steps = first_run.stats().steps.clamp(1, MAX_PCT_HORIZON);
            self.fitted_horizon = Some(steps);
        }
    }

    /// A `Sim` for `seed`, configured like the sweep.
    pub(crate) fn sim(&self, seed: u64) -> Sim {
        Sim::with_config(self.config(seed))
    }
}

/// `seeds` as the sweep runs them.
///
/// # Panics
///
/// When `seeds` is empty (the message names the fix).
#[track_caller]
pub(crate) fn seeds_to_run(seeds: Range<u64>) -> RangeInclusive<u64> {
    assert!(
        seeds.start < seeds.end,
        "seeds({seeds:?}) is empty: a sweep that runs no seed would pass without testing anything; give a range of at least one seed, such as 0..100"
    );
    seeds.start..=seeds.end - 1
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
        None => describe_side_tables(first, second),
    }
}

/// Where two traces with the same events differ in their side tables: the first task
/// whose name differs (named at its spawn step), the first panic whose message
/// differs, or the first primitive whose name differs.
fn describe_side_tables(first: &Trace, second: &Trace) -> String {
    let hint = "a name or message built from something that is not deterministic (a HashMap's iteration order, an address, the real clock)?";
    for index in 0..first.task_count().max(second.task_count()) {
        let task = TaskId::new(index as u32);
        let (a, b) = (first.task_name(task), second.task_name(task));
        if a != b {
            let spawned = first
                .events()
                .iter()
                .find(|event| event.kind() == EventKind::Spawn && event.other_task() == Some(task))
                .map(|event| format!(", spawned at step {},", event.step()))
                .unwrap_or_default();
            let show =
                |name: Option<&str>| name.map_or("nothing".to_string(), |name| format!("{name:?}"));
            return format!(
                "the events match, but {task}{spawned} is named {} in the first run and {} in the second: {hint}",
                show(a),
                show(b)
            );
        }
    }
    for (a, b) in first.events().iter().zip(second.events()) {
        let (message_a, message_b) = (first.panic_message(a), second.panic_message(b));
        if message_a != message_b {
            let task = a
                .task()
                .map_or("a task".to_string(), |task| task.to_string());
            return format!(
                "the events match, but the panic of {task} at step {} says {message_a:?} in the first run and {message_b:?} in the second: {hint}",
                a.step()
            );
        }
    }
    for number in 0..first.primitive_count().max(second.primitive_count()) as u32 {
        let (a, b) = (first.primitive(number), second.primitive(number));
        if a != b {
            return format!(
                "the events match, but primitive {number} is {a:?} in the first run and {b:?} in the second: {hint}"
            );
        }
    }
    "the events match, and so do task names, panic messages and primitive names, but the hashes differ".to_string()
}

/// The builder methods every sweep has, over its `sweep: SweepConfig` field: the
/// seeds, the environment, and every knob of [`Config`] (`config_knobs!`).
macro_rules! sweep_builder {
    ($type:ident) => {
        $crate::config::config_knobs!($type => |this| this.sweep.config);

        impl $type {
            /// The seeds to run, in order (`SEEDLOOP_SEED` and `SEEDLOOP_SEEDS`
            /// override them).
            ///
            /// # Panics
            ///
            /// When `seeds` is empty: a sweep that runs no seed would pass without
            /// testing anything.
            #[track_caller]
            pub fn seeds(mut self, seeds: std::ops::Range<u64>) -> $type {
                self.sweep.seeds = $crate::harness::sweep::seeds_to_run(seeds);
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
