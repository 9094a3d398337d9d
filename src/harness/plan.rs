//! What a [`Check`](crate::Check) resolves to once the environment is read: the seeds
//! this process runs (after `SEEDLOOP_SEED`, `SEEDLOOP_SEEDS`, `SEEDLOOP_TIME_BUDGET`
//! and `SEEDLOOP_PARTITION`), the workers, the deadline, and what one seed's run is.
//!
//! One seed's run is the same whether a worker thread or the calling thread does it:
//! run the program on a fresh `Sim` of that seed, and for the first seed (or every
//! seed, when asked) run it again and compare the traces. Its result depends on the
//! seed alone, which is what lets [`super::workers`] hand seeds to threads in any
//! order and still report what a serial sweep reports.

use super::check::Summary;
use super::env::{EnvConfig, TIME_BUDGET};
use super::partition::Partition;
use super::sweep::{compare_runs, SweepConfig};
use super::trace_dir;
use crate::failure::Failure;
use crate::failure::FailureKind;
use crate::runtime::{Coverage, Sim};
use std::collections::BTreeMap;
use std::future::Future;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) struct Plan {
    /// The configuration of every run, the environment applied.
    pub sweep: SweepConfig,
    /// The seeds this process runs, in order; `None` when its partition's slice is
    /// empty (the sweep has fewer seeds than partitions).
    pub seeds: Option<RangeInclusive<u64>>,
    /// Whether every seed runs twice (the first seed always does).
    pub check_every_seed: bool,
    /// Worker threads for a parallel sweep.
    pub jobs: usize,
    pub time_budget: Option<Duration>,
    pub partition: Option<Partition>,
    pub trace_dir: Option<PathBuf>,
    /// The first seed has run ([`Plan::run_first`]): the workers skip it.
    pub first_ran: bool,
    /// When the sweep started (its time budget counts from here).
    pub started: std::time::Instant,
    /// `sometimes!` conditions the sweep fails without ([`crate::Check::require_sometimes`]).
    pub required_sometimes: Vec<&'static str>,
    /// `SEEDLOOP_VERBOSE`: a passing sweep says what it ran.
    pub verbose: bool,
}

/// What one seed's run added to the sweep.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tally {
    pub seeds_run: u64,
    pub steps: u64,
    pub determinism_checked: u64,
    pub coverage: BTreeMap<&'static str, Coverage>,
}

impl Tally {
    pub(crate) fn add(&mut self, other: Tally) {
        self.seeds_run += other.seeds_run;
        self.steps += other.steps;
        self.determinism_checked += other.determinism_checked;
        for (name, coverage) in other.coverage {
            self.coverage.entry(name).or_default().add(coverage);
        }
    }
}

/// The settings of a `Check` that are not knobs of a run.
pub(crate) struct SweepSettings {
    pub required_sometimes: Vec<&'static str>,
    pub check_every_seed: bool,
    pub jobs: Option<usize>,
    pub time_budget: Option<Duration>,
}

impl Plan {
    /// Applies the environment (the process's, unless the sweep was given one).
    ///
    /// # Panics
    ///
    /// When a `SEEDLOOP_*` variable has a bad value (the message names it).
    pub(crate) fn new(mut sweep: SweepConfig, settings: SweepSettings) -> Plan {
        let env: EnvConfig = sweep.apply_env();
        // A replayed seed or tape names one execution: no budget or slice applies.
        let one_execution = env.seed.is_some() || sweep.config.tape.is_some();
        let time_budget = match env.time_budget {
            Some(budget) if !one_execution => {
                if env.seeds.is_none() {
                    // The environment's budget replaces the code's count (as
                    // SEEDLOOP_SEEDS does): a soak job runs as many seeds as fit.
                    sweep.seeds = *sweep.seeds.start()..=u64::MAX;
                }
                Some(budget)
            }
            Some(_) => {
                eprintln!("seedloop: {TIME_BUDGET} is ignored: this sweep runs one execution (a replayed seed or tape)");
                None
            }
            None if one_execution => None,
            None => settings.time_budget,
        };
        let partition = env.partition.filter(|_| !one_execution);
        let seeds = match partition {
            Some(partition) => partition.slice(sweep.seeds.clone()),
            None => Some(sweep.seeds.clone()),
        };
        let jobs = env
            .jobs
            .or(settings.jobs)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        Plan {
            check_every_seed: env.check_determinism.unwrap_or(settings.check_every_seed),
            sweep,
            seeds,
            jobs,
            time_budget,
            partition,
            trace_dir: env.trace_dir,
            first_ran: false,
            started: std::time::Instant::now(),
            required_sometimes: settings.required_sometimes,
            verbose: env.verbose.unwrap_or(false),
        }
    }

    /// Runs the first seed this process runs (twice: its determinism is always
    /// checked), then fits PCT's horizon to its length (see
    /// `SweepConfig::fit_horizon`), before any other seed resolves its policy.
    /// Returns what it ran.
    pub(crate) fn run_first<F, Fut>(&mut self, test: &mut F) -> Result<Tally, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let Some(seeds) = self.seeds.clone() else {
            return Ok(Tally::default());
        };
        let (tally, sim) = self.run_seed_keeping(*seeds.start(), test)?;
        self.first_ran = true;
        self.sweep.fit_horizon(&sim);
        Ok(tally)
    }

    /// Runs `seed` (twice when it is checked for determinism); the failure, if any.
    pub(crate) fn run_seed<F, Fut>(&self, seed: u64, test: &mut F) -> Result<Tally, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        self.run_seed_keeping(seed, test).map(|(tally, _)| tally)
    }

    fn run_seed_keeping<F, Fut>(&self, seed: u64, test: &mut F) -> Result<(Tally, Sim), Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut sim = self.sweep.sim(seed);
        sim.run(test())?;
        let mut tally = Tally {
            seeds_run: 1,
            steps: sim.stats().steps,
            determinism_checked: 0,
            coverage: sim.coverage().clone(),
        };
        let first = self.seeds.as_ref().map(|seeds| *seeds.start());
        if Some(seed) == first || self.check_every_seed {
            let mut again = self.sweep.sim(seed);
            // A failure on the second run is itself evidence of nondeterminism.
            let second = again.run(test());
            tally.determinism_checked = 1;
            compare_runs(seed, &sim, &again, second)?;
        }
        Ok((tally, sim))
    }

    /// The summary of a sweep that passed having run `tally`.
    pub(crate) fn summary(&self, tally: Tally, jobs: usize) -> Summary {
        let first = self
            .seeds
            .as_ref()
            .map_or(*self.sweep.seeds.start(), |seeds| *seeds.start());
        let ran_all = self.seeds.as_ref().is_none_or(|seeds| {
            // The last seed ran: `seeds_run` seeds from the first reach it.
            (*seeds.end() as u128 - *seeds.start() as u128) < tally.seeds_run as u128
        });
        Summary {
            seeds: first..first.saturating_add(tally.seeds_run),
            seeds_run: tally.seeds_run,
            policy: self.sweep.config.policy.clone(),
            fitted_pct_horizon: self.sweep.fitted_horizon,
            steps: tally.steps,
            determinism_checked: tally.determinism_checked,
            coverage: tally.coverage,
            jobs,
            partition: self.partition,
            time_budget: self.time_budget,
            budget_spent: !ran_all,
        }
    }

    /// The sweep passed: fails it when a required `sometimes!` never held (the
    /// report's run is the first seed's, run again); says what ran when asked.
    pub(crate) fn finish<F, Fut>(&self, summary: Summary, test: &mut F) -> Result<Summary, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let never: Vec<String> = self
            .required_sometimes
            .iter()
            .filter(|name| {
                summary
                    .coverage
                    .get(*name)
                    .is_none_or(|coverage| coverage.held == 0)
            })
            .map(|name| name.to_string())
            .collect();
        if let (false, Some(seeds)) = (never.is_empty(), &self.seeds) {
            let mut sim = self.sweep.sim(*seeds.start());
            sim.run(test())?;
            return Err(self.report(sim.failure(FailureKind::NeverHeld {
                conditions: never,
                seeds_run: summary.seeds_run,
            })));
        }
        if self.verbose {
            eprintln!("seedloop: {}: {summary}", self.label());
        }
        Ok(summary)
    }

    /// The failure the sweep reports: its trace written out when the environment
    /// names a directory for it.
    pub(crate) fn report(&self, mut failure: Failure) -> Failure {
        if let Some(directory) = &self.trace_dir {
            failure.trace_files = Some(trace_dir::write(directory, &failure));
        }
        failure
    }

    /// The name the progress line gives the sweep: the test's.
    pub(crate) fn label(&self) -> String {
        self.sweep
            .config
            .name
            .clone()
            .or_else(|| std::thread::current().name().map(str::to_string))
            .unwrap_or_else(|| "sweep".to_string())
    }
}
