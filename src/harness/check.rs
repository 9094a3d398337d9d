//! Seed sweeps: run a test program under many seeds and report the first failure.
//!
//! [`Check`] runs the program once per seed, each time on a fresh [`Sim`]. The seed
//! sequence is fixed by the configuration and the environment, never by the wall
//! clock (a time budget only decides how far along it a sweep gets): the same command
//! runs the same seeds. The first seed always runs twice and the two trace hashes are
//! compared, so a test that is not deterministic (it reads the real clock, iterates a
//! `HashMap`, uses a global counter) is caught at the cost of one extra run;
//! `SEEDLOOP_CHECK_DETERMINISM=1` checks every seed. Environment variables
//! ([`crate::harness::env`]) override the builder.
//!
//! Two ways to run, chosen by the closure's bounds:
//!
//! - [`Check::run`] / [`Check::try_run`] / [`check`] take any `FnMut() -> Fut` and run
//!   the seeds in order on the calling thread.
//! - [`Check::run_parallel`] / [`Check::try_run_parallel`] / [`check_parallel`] take
//!   an `Fn() -> Fut + Sync` and run the seeds on [`Check::jobs`] worker threads
//!   (default: the available cores). Each simulation stays on the worker that made it,
//!   so only the closure crosses threads: the futures it returns may hold `Rc`s and
//!   need not be `Send`. The result is the serial sweep's: the smallest failing seed
//!   of the range, with the same report.
//!
//! Stable Rust cannot pick one of the two inside one generic function by whether the
//! closure happens to be `Sync`, and requiring `Sync` everywhere would break closures
//! that capture a `Cell` or an `Rc` (a counter of runs, a shared recorder). So the
//! choice is the method's name: a closure that captures nothing, or only `Sync` data,
//! can go to the parallel methods; any closure keeps working with the serial ones.

use super::partition::Partition;
use super::plan::{Plan, SweepSettings};
use super::sweep::{sweep_builder, SweepConfig};
use super::workers;
use crate::config::Config;
use crate::failure::Failure;
use crate::plural::plural;
#[cfg(doc)]
use crate::runtime::Sim;
use crate::scheduler::Policy;
use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::time::Duration;

/// The number of seeds [`Check::new`] runs.
pub const DEFAULT_SEEDS: u64 = 100;

/// The most worker threads a parallel sweep starts ([`Check::jobs`], `SEEDLOOP_JOBS`).
pub const MAX_JOBS: usize = 1024;

/// The longest time budget accepted ([`Check::time_budget`], `SEEDLOOP_TIME_BUDGET`):
/// a week.
pub const MAX_TIME_BUDGET: Duration = Duration::from_secs(7 * 24 * 3600);

/// What a passing sweep did.
///
/// `Display` says it in one line.
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
/// assert!(summary.to_string().starts_with("ran 10 seeds (10..20) under portfolio"), "{summary}");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// The seeds run, first to last. The end is exclusive and saturates: a sweep whose
    /// last seed is `u64::MAX` ends at `u64::MAX` too ([`Summary::seeds_run`] counts it).
    pub seeds: Range<u64>,
    /// How many seeds ran. Never 0, but for one case: a partition
    /// (`SEEDLOOP_PARTITION`) of a sweep with fewer seeds than partitions may be given
    /// none, while the other partitions run them all.
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
    /// The worker threads that ran the seeds (1 for a serial sweep).
    pub jobs: usize,
    /// The slice of the sweep's seeds this process ran (`SEEDLOOP_PARTITION`).
    pub partition: Option<Partition>,
    /// The time budget the sweep had.
    pub time_budget: Option<Duration>,
    /// Whether the time budget ran out before the last seed of the range.
    pub budget_spent: bool,
    /// The `sometimes!` and `always!` conditions the seeds evaluated, by name, with
    /// how often each was reached and held over the sweep.
    pub coverage: std::collections::BTreeMap<&'static str, crate::runtime::Coverage>,
}

impl Summary {
    /// The `sometimes!` conditions that were reached but never held: states the seeds
    /// did not get to.
    ///
    /// ```
    /// let summary = seedloop::Check::new().seeds(0..20).run(|| async {
    ///     seedloop::sometimes!(false, "the impossible");
    /// });
    /// assert_eq!(summary.never_held(), ["the impossible"]);
    /// ```
    pub fn never_held(&self) -> Vec<&'static str> {
        self.coverage
            .iter()
            .filter(|(_, coverage)| coverage.held == 0)
            .map(|(name, _)| *name)
            .collect()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ran {} seeds ({:?}) under {} on {}: {} steps, {} run twice to check determinism",
            self.seeds_run,
            self.seeds,
            self.policy,
            plural(self.jobs as u64, "worker"),
            self.steps,
            plural(self.determinism_checked, "seed"),
        )?;
        if let Some(partition) = self.partition {
            write!(f, "; partition {partition}")?;
        }
        match (self.time_budget, self.budget_spent) {
            (Some(budget), true) => write!(f, "; stopped by its time budget of {budget:?}"),
            (Some(budget), false) => {
                write!(f, "; every seed ran within its time budget of {budget:?}")
            }
            (None, _) => Ok(()),
        }
    }
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
///
/// The sweep's own settings ([`Check::seeds`], [`Check::jobs`],
/// [`Check::time_budget`], [`Check::check_determinism`]) are here rather than in
/// [`Config`]: they choose which runs happen and where, not how one run goes, so a
/// failure's configuration (what replays it) does not carry them.
#[derive(Clone, Debug)]
pub struct Check {
    sweep: SweepConfig,
    check_determinism: bool,
    jobs: Option<usize>,
    time_budget: Option<Duration>,
    required_sometimes: Vec<&'static str>,
}

sweep_builder!(Check);

impl Default for Check {
    fn default() -> Check {
        Check::new()
    }
}

/// Runs `test` under seeds `0..seeds` with the default policy, in order on this
/// thread; panics with the failure report (ending in its replay line) on the first
/// failing seed, and when `seeds` is 0 (a sweep that runs nothing must not pass).
/// [`check_parallel`] is the same sweep on every core, for closures that are `Sync`.
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
    assert_some_seeds("check", seeds);
    Check::new().seeds(0..seeds).run(test);
}

/// Fails `check(0, ..)` with a message that names the call the user wrote (the sweep's
/// own would name `seeds(0..0)`).
#[track_caller]
fn assert_some_seeds(function: &str, seeds: u64) {
    assert!(
        seeds > 0,
        "seedloop::{function}(0, ..) runs no seed, and a sweep that runs nothing would pass without testing anything; give at least one seed, such as {function}(100, ..)"
    );
}

/// [`check`] on worker threads, one per available core (`SEEDLOOP_JOBS` sets the
/// number): the same seeds, the same report on the smallest failing seed. The closure
/// is called on the workers, so it must be `Sync` (capture nothing, or only `Sync`
/// data); the futures it returns may hold `Rc`s (see [`Check::run_parallel`]).
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// seedloop::check_parallel(1000, || async {
///     let hits = Rc::new(Cell::new(0)); // made inside the simulation: fine
///     let task = seedloop::spawn({
///         let hits = hits.clone();
///         async move { hits.set(hits.get() + 1) }
///     });
///     task.await.unwrap();
///     assert_eq!(hits.get(), 1);
/// });
/// ```
#[track_caller]
pub fn check_parallel<F, Fut>(seeds: u64, test: F)
where
    F: Fn() -> Fut + Sync,
    Fut: Future<Output = ()>,
{
    assert_some_seeds("check_parallel", seeds);
    Check::new().seeds(0..seeds).run_parallel(test);
}

impl Check {
    /// A sweep of [`DEFAULT_SEEDS`] seeds from 0 under [`Policy::Portfolio`].
    pub fn new() -> Check {
        Check {
            sweep: SweepConfig::new(0..DEFAULT_SEEDS, Policy::Portfolio),
            check_determinism: false,
            jobs: None,
            time_budget: None,
            required_sometimes: Vec::new(),
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

    /// The worker threads of [`Check::run_parallel`] (default: the available cores;
    /// `SEEDLOOP_JOBS` overrides it). A serial run ignores it.
    ///
    /// ```
    /// let summary = seedloop::Check::new().seeds(0..20).jobs(2).run_parallel(|| async {});
    /// assert_eq!((summary.jobs, summary.seeds_run), (2, 20));
    /// ```
    ///
    /// # Panics
    ///
    /// When `workers` is 0 or above [`MAX_JOBS`].
    #[track_caller]
    pub fn jobs(mut self, workers: usize) -> Check {
        assert!(
            (1..=MAX_JOBS).contains(&workers),
            "jobs({workers}) is invalid: a parallel sweep needs 1 to MAX_JOBS ({MAX_JOBS}) worker threads; 1 runs the seeds in order on the calling thread"
        );
        self.jobs = Some(workers);
        self
    }

    /// Stops taking new seeds once `budget` of real time has passed since the sweep
    /// began: the seeds that ran are a prefix of [`Check::seeds`], at least the first
    /// one, and the summary says how many ([`Summary::seeds_run`],
    /// [`Summary::budget_spent`]). A seed that has begun runs to its end.
    /// `SEEDLOOP_TIME_BUDGET` overrides it, and also lifts the seed count (as many
    /// seeds as fit, for soak jobs; `SEEDLOOP_SEEDS` still caps them).
    ///
    /// ```
    /// use std::time::Duration;
    /// let summary = seedloop::Check::new()
    ///     .seeds(0..5)
    ///     .time_budget(Duration::from_secs(60))
    ///     .run(|| async {});
    /// assert_eq!(summary.seeds_run, 5, "the budget leaves the range as it is");
    /// assert!(!summary.budget_spent);
    /// ```
    ///
    /// # Panics
    ///
    /// When `budget` is zero or above [`MAX_TIME_BUDGET`].
    #[track_caller]
    pub fn time_budget(mut self, budget: Duration) -> Check {
        assert!(
            !budget.is_zero() && budget <= MAX_TIME_BUDGET,
            "time_budget({budget:?}) is invalid: a budget is more than zero and at most MAX_TIME_BUDGET (a week)"
        );
        self.time_budget = Some(budget);
        self
    }

    /// Runs the sweep in order on this thread; panics with the failure report on the
    /// first failing seed.
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

    /// Runs the sweep in order on this thread; returns the first failure.
    ///
    /// # Panics
    ///
    /// When a `SEEDLOOP_*` variable has a bad value (the message names it).
    #[track_caller]
    pub fn try_run<F, Fut>(self, mut test: F) -> Result<Summary, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut plan = self.plan();
        let result = plan.run_first(&mut test).and_then(|mut tally| {
            tally.add(workers::serial(&plan, &mut test)?);
            Ok(tally)
        });
        match result {
            Ok(tally) => plan.finish(plan.summary(tally, 1), &mut test),
            Err(failure) => Err(plan.report(failure)),
        }
    }

    /// Runs the sweep on [`Check::jobs`] worker threads; panics with the report of the
    /// smallest failing seed, the one [`Check::run`] reports. See
    /// [`Check::try_run_parallel`] for what it asks of the closure.
    ///
    /// ```
    /// let summary = seedloop::Check::new().seeds(0..1_000).run_parallel(|| async {
    ///     let task = seedloop::spawn(async { seedloop::yield_now().await });
    ///     task.await.unwrap();
    /// });
    /// assert_eq!(summary.seeds_run, 1_000);
    /// assert!(summary.jobs >= 1, "one worker per available core");
    /// ```
    #[track_caller]
    pub fn run_parallel<F, Fut>(self, test: F) -> Summary
    where
        F: Fn() -> Fut + Sync,
        Fut: Future<Output = ()>,
    {
        match self.try_run_parallel(test) {
            Ok(summary) => summary,
            Err(failure) => panic!("{failure}"),
        }
    }

    /// Runs the sweep on [`Check::jobs`] worker threads, one simulation per worker at
    /// a time; returns the failure of the smallest failing seed, exactly as
    /// [`Check::try_run`] would (seeds are handed out in order, and workers finish every
    /// seed below a failure before it is reported).
    ///
    /// The closure is called on the workers, so it must be `Sync`: a closure that
    /// captures nothing, or only `Sync` data (numbers, `&str`, an `Arc<Mutex<..>>`),
    /// qualifies. The futures it returns are made and run on one worker and need not
    /// be `Send`: they may hold `Rc`s and `Cell`s. A closure that captures an `Rc` or
    /// a `Cell` is not `Sync`, and stays with [`Check::try_run`], unchanged:
    ///
    /// ```
    /// use std::cell::Cell;
    /// let runs = Cell::new(0);
    /// let summary = seedloop::Check::new().seeds(0..10).run(|| {
    ///     runs.set(runs.get() + 1); // a Cell: not Sync, so run, not run_parallel
    ///     async {}
    /// });
    /// assert_eq!(runs.get(), 11, "ten seeds and the first seed's second run");
    /// # let _ = summary;
    /// ```
    ///
    /// ```compile_fail
    /// use std::cell::Cell;
    /// let runs = Cell::new(0);
    /// // error: `Cell<i32>` cannot be shared between threads safely
    /// seedloop::Check::new().run_parallel(|| {
    ///     runs.set(runs.get() + 1);
    ///     async {}
    /// });
    /// ```
    ///
    /// With one job, or one seed, the sweep runs on the calling thread. The closure
    /// must not depend on thread-local state the calling thread set up: the workers
    /// have their own.
    ///
    /// ```
    /// use seedloop::Check;
    /// use std::{cell::Cell, rc::Rc};
    /// let program = || async {
    ///     let a_done = Rc::new(Cell::new(false)); // an Rc in the future: fine
    ///     let a = seedloop::spawn({
    ///         let a_done = a_done.clone();
    ///         async move {
    ///             seedloop::yield_now().await;
    ///             a_done.set(true);
    ///         }
    ///     });
    ///     let b = seedloop::spawn(async move { assert!(a_done.get(), "b ran before a was done") });
    ///     a.await.unwrap();
    ///     b.await.unwrap();
    /// };
    /// let parallel = Check::new().seeds(0..200).jobs(2).try_run_parallel(program).unwrap_err();
    /// let serial = Check::new().seeds(0..200).try_run(program).unwrap_err();
    /// assert_eq!(parallel.seed, serial.seed);
    /// assert_eq!(parallel.trace.to_string(), serial.trace.to_string());
    /// ```
    ///
    /// # Panics
    ///
    /// When a `SEEDLOOP_*` variable has a bad value (the message names it), and with
    /// the panic of the test closure itself on the smallest seed where it panicked.
    #[track_caller]
    pub fn try_run_parallel<F, Fut>(self, test: F) -> Result<Summary, Failure>
    where
        F: Fn() -> Fut + Sync,
        Fut: Future<Output = ()>,
    {
        let mut plan = self.plan();
        let seeds = plan
            .seeds
            .as_ref()
            .map_or(0, |seeds| (*seeds.end() - *seeds.start()).saturating_add(1));
        let workers = (plan.jobs as u64).min(seeds).max(1) as usize;
        // The first seed runs here, alone: it fits PCT's horizon for the others.
        let mut call = || test();
        let result = plan.run_first(&mut call).and_then(|mut tally| {
            let rest = if workers == 1 {
                workers::serial(&plan, &mut call)
            } else {
                workers::parallel(&plan, workers, &test)
            };
            tally.add(rest?);
            Ok(tally)
        });
        match result {
            Ok(tally) => plan.finish(plan.summary(tally, workers), &mut call),
            Err(failure) => Err(plan.report(failure)),
        }
    }

    /// Fails the sweep (with [`FailureKind::NeverHeld`](crate::FailureKind::NeverHeld))
    /// when one of these `sometimes!` conditions held on none of its seeds: proof that
    /// the seeds reached the states the test is about (a cancel while a lock is held,
    /// a full queue).
    ///
    /// ```
    /// let failure = seedloop::Check::new()
    ///     .seeds(0..10)
    ///     .require_sometimes(["queue full"])
    ///     .try_run(|| async {
    ///         seedloop::sometimes!(false, "queue full");
    ///     })
    ///     .unwrap_err();
    /// assert_eq!(failure.kind.name(), "never held");
    /// assert!(failure.to_string().contains("queue full"), "{failure}");
    /// ```
    pub fn require_sometimes(mut self, names: impl IntoIterator<Item = &'static str>) -> Check {
        self.required_sometimes.extend(names);
        self
    }

    /// The configuration of the sweep's runs (before the environment applies).
    pub(crate) fn sweep_config(&self) -> &crate::config::Config {
        &self.sweep.config
    }

    /// The environment applied: what this process runs.
    #[track_caller]
    fn plan(self) -> Plan {
        Plan::new(
            self.sweep,
            SweepSettings {
                required_sometimes: self.required_sometimes,
                check_every_seed: self.check_determinism,
                jobs: self.jobs,
                time_budget: self.time_budget,
            },
        )
    }
}
