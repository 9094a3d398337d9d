//! Seed sweeps: run a test program under many seeds and report the first failure.
//!
//! [`Check`] runs the program once per seed, each time on a fresh [`Sim`], in seed
//! order. The seed sequence is fixed by the configuration and the environment, never by
//! the wall clock: the same command runs the same seeds. The first seed always runs
//! twice and the two trace hashes are compared, so a test that is not deterministic
//! (it reads the real clock, iterates a `HashMap`, uses a global counter) is caught at
//! the cost of one extra run; `SEEDLOOP_CHECK_DETERMINISM=1` checks every seed.
//! Environment variables ([`crate::harness::env`]) override the builder.

use super::sweep::{compare_runs, sweep_builder, SweepConfig};
use crate::config::Config;
use crate::failure::Failure;
#[cfg(doc)]
use crate::runtime::Sim;
use crate::scheduler::Policy;
use std::future::Future;
use std::ops::Range;

/// The number of seeds [`Check::new`] runs.
pub const DEFAULT_SEEDS: u64 = 100;

/// What a passing sweep did.
///
/// # Examples
///
/// ```
/// let summary = seedloop::Check::new().seeds(10..20).run(|| async {
///     seedloop::yield_now().await;
/// });
/// assert_eq!(summary.seeds_run, 10);
/// assert_eq!(summary.determinism_checked, 1, "the first seed ran twice");
/// assert!(summary.steps >= 20);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// The seeds run, first to last. The end is exclusive and saturates: a sweep whose
    /// last seed is `u64::MAX` ends at `u64::MAX` too ([`Summary::seeds_run`] counts it).
    pub seeds: Range<u64>,
    /// How many seeds ran (never 0: a sweep that runs nothing does not pass).
    pub seeds_run: u64,
    /// The policy configured ([`Policy::Portfolio`] unless one was given).
    pub policy: Policy,
    /// The program's length the sweep fitted PCT's horizon to: the number of steps its
    /// first seed's run took (each later PCT run drew this length, its half, quarter or
    /// eighth). `None` when a horizon was pinned.
    pub fitted_pct_horizon: Option<u64>,
    /// Total scheduling steps over all runs.
    pub steps: u64,
    /// How many seeds were run twice to check determinism.
    pub determinism_checked: u64,
}

/// A seed sweep.
///
/// # Examples
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
    sweep: SweepConfig,
    check_determinism: bool,
}

sweep_builder!(Check);

impl Default for Check {
    fn default() -> Check {
        Check::new()
    }
}

/// Runs `test` under seeds `0..seeds` with the default policy; panics with the failure
/// report (ending in its replay line) on the first failing seed, and when `seeds` is 0
/// (a sweep that runs nothing must not pass).
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
    /// A sweep of [`DEFAULT_SEEDS`] seeds from 0 under [`Policy::Portfolio`].
    pub fn new() -> Check {
        Check {
            sweep: SweepConfig::new(0..DEFAULT_SEEDS, Policy::Portfolio),
            check_determinism: false,
        }
    }

    /// Sets every knob at once (the builder methods set one each). The seed of `config`
    /// is not used: each run gets its seed from [`Check::seeds`]. Its policy is used:
    /// [`Config::new`]'s is [`Policy::Random`]; set [`Policy::Portfolio`] for the
    /// default sweep's.
    ///
    /// ```
    /// use seedloop::{Check, Config, Policy};
    /// let config = Config::new(0).policy(Policy::Fifo).max_steps(1_000);
    /// let summary = Check::new().config(config).seeds(0..3).run(|| async {});
    /// assert_eq!(summary.policy, Policy::Fifo);
    /// ```
    ///
    /// # Panics
    ///
    /// When a field of `config` set directly cannot run (see [`Sim::with_config`]).
    #[track_caller]
    pub fn config(mut self, config: Config) -> Check {
        config.validate();
        self.sweep.config = config;
        self
    }

    /// Runs every seed twice and compares the traces (the first seed always is).
    pub fn check_determinism(mut self, every_seed: bool) -> Check {
        self.check_determinism = every_seed;
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
    #[track_caller]
    pub fn try_run<F, Fut>(mut self, mut test: F) -> Result<Summary, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let env = self.sweep.apply_env();
        if let Some(every_seed) = env.check_determinism {
            self.check_determinism = every_seed;
        }
        let seeds = self.sweep.seeds.clone();
        let first = *seeds.start();
        let mut summary = Summary {
            seeds: self.sweep.seed_range(),
            seeds_run: 0,
            policy: self.sweep.config.policy.clone(),
            fitted_pct_horizon: None,
            steps: 0,
            determinism_checked: 0,
        };
        for seed in seeds {
            summary.seeds_run += 1;
            let mut sim = self.sweep.sim(seed);
            sim.run(test())?;
            summary.steps += sim.stats().steps;
            if seed == first || self.check_determinism {
                let mut again = self.sweep.sim(seed);
                // A failure on the second run is itself evidence of nondeterminism.
                let second = again.run(test());
                summary.determinism_checked += 1;
                compare_runs(seed, &sim, &again, second)?;
            }
            if seed == first {
                self.sweep.fit_horizon(&sim);
            }
        }
        summary.fitted_pct_horizon = self.sweep.fitted_horizon;
        Ok(summary)
    }
}
