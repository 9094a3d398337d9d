//! The runner: [`Sim`], asyncio's `Runner` for simulations.
//!
//! A `Sim` carries one [`Config`] (seed, policy, limits, switches), set through its
//! builder methods (which forward to `Config`'s) or given whole with
//! [`Sim::with_config`], then runs main futures with [`Sim::run`]. Each run builds a fresh executor (task slab, scheduler, timer
//! heap) around the world the `Sim` keeps across runs: the virtual clock and the
//! choice source. After a run, [`Sim::trace`], [`Sim::stats`] and [`Sim::schedule`]
//! describe it. The event loop itself is in `executor.rs`; this file only wires
//! configuration into it and turns its outcome into a [`Failure`].

mod advance;
mod debug;
pub use debug::{Coverage, DebugFinding};
mod cancel_target;
pub(crate) mod context;
mod diagnostics;
pub(crate) mod executor;
pub(crate) mod primitives;
mod quiet_panics;
pub(crate) mod services;
mod slab;
mod spawn;
mod teardown;
pub(crate) mod timer;
// The crate's only `unsafe`: one audited block (see its module doc).
#[allow(unsafe_code)]
pub(crate) mod waker;
pub(crate) mod world;

use crate::choices::{
    ChoiceSource, Choices, Deviating, Exhausted, ProductionOrder, Recorded, Seeded, Tape,
};
use crate::clock::Instant;
use crate::config::{config_knobs, Config};
use crate::failure::{CancelPoint, Failure, FailureKind, FailureReport};
use crate::scheduler::{self, Policy, Schedule};
use crate::trace::Trace;
use cancel_target::CancelTarget;
use executor::{Core, MainFuture, RunConfig, Shared};
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Run ids only tell runs apart (stale wakers); they never reach a trace. They are
/// unique in the process (a waker may travel to another thread's simulation), and
/// handed to each thread in blocks, so that the simulations of a parallel sweep do not
/// contend for one counter on every run.
static NEXT_RUN_ID: AtomicU64 = AtomicU64::new(1);
const RUN_ID_BLOCK: u64 = 1024;

thread_local! {
    // The next run id this thread may use, and the end of its block.
    static RUN_IDS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// A run id no other run of the process has.
fn next_run_id() -> u64 {
    RUN_IDS.with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            next = NEXT_RUN_ID.fetch_add(RUN_ID_BLOCK, Ordering::Relaxed);
            end = next + RUN_ID_BLOCK;
        }
        ids.set((next + 1, end));
        next
    })
}

/// Counters of one run.
///
/// # Examples
///
/// ```
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(async {
///     let task = seedloop::spawn(seedloop::time::sleep(std::time::Duration::from_secs(2)));
///     task.await.unwrap();
/// })
/// .unwrap();
/// let stats = sim.stats();
/// assert_eq!(stats.tasks_spawned, 1);
/// assert_eq!(stats.timers_fired, 1);
/// assert_eq!(stats.elapsed, std::time::Duration::from_secs(2));
/// // main, the task before and after its sleep, main again
/// assert_eq!(stats.polls, 4);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Scheduling steps: polls plus cancellations carried out.
    pub steps: u64,
    /// Polls of tasks (the main future included).
    pub polls: u64,
    /// Tasks spawned (the main future not included).
    pub tasks_spawned: u64,
    /// Tasks still pending when the run ended, dropped by the runner.
    pub leaked: u64,
    /// Timers that fired.
    pub timers_fired: u64,
    /// Virtual time that passed during the run.
    pub elapsed: Duration,
    /// How many times the task named by [`Sim::cancel_at`] suspended (returned
    /// `Pending`) before it ended or was cancelled; `None` when no task of that name
    /// was spawned (or none was named).
    pub target_await_points: Option<u64>,
    /// Where the task named by [`Sim::cancel_at`] was at each suspension: the source
    /// location of the seedloop future it awaited (`None` for a future outside
    /// seedloop, such as a channel from another crate).
    pub target_await_sites: Vec<Option<&'static std::panic::Location<'static>>>,
    /// The steps where the scheduler did not pick the task a FIFO loop would have
    /// (the oldest ready one), when the decisions say it (a tape, or
    /// [`Config::deviations`](crate::Config::deviations), under the Random or Fifo
    /// policy); `None` for a seeded run, whose picks are uniform.
    pub preemptions: Option<u64>,
    /// Where a replayed schedule ([`Policy::Replay`]) stopped matching the program and
    /// the run went on under the seed: `schedule diverged at step 412: the schedule
    /// runs task 3 next, which is not ready (..); continued with seed 17`.
    ///
    /// ```
    /// use seedloop::{Policy, Sim};
    /// let mut recording = Sim::new(1);
    /// recording.run(async { seedloop::spawn(async {}).await.unwrap() }).unwrap();
    /// // The program gained an await since: the replay goes on under seed 5.
    /// let mut replay = Sim::new(5).policy(Policy::Replay(recording.schedule()));
    /// replay
    ///     .run(async {
    ///         seedloop::yield_now().await;
    ///         seedloop::spawn(async {}).await.unwrap()
    ///     })
    ///     .unwrap();
    /// let divergence = replay.stats().divergence.clone().unwrap();
    /// assert!(divergence.starts_with("schedule diverged at step"), "{divergence}");
    /// assert!(divergence.ends_with("continued with seed 5"), "{divergence}");
    /// ```
    pub divergence: Option<String>,
}

/// A simulation: a seeded, single-threaded event loop with a virtual clock.
///
/// Its builder methods (`policy`, `max_steps`, `max_time`, ...) set the knobs of its
/// [`Config`]; each is documented on `Config`.
///
/// # Examples
///
/// ```
/// use seedloop::{Policy, Sim};
/// use std::time::Duration;
///
/// let mut sim = Sim::new(42).policy(Policy::Pct { depth: 3 }).max_steps(10_000);
/// let value = sim
///     .run(async {
///         let worker = seedloop::spawn(async {
///             seedloop::time::sleep(Duration::from_secs(3600)).await;
///             7
///         });
///         worker.await.unwrap()
///     })
///     .unwrap();
/// assert_eq!(value, 7);
/// assert_eq!(sim.stats().elapsed, Duration::from_secs(3600));
/// assert_eq!(sim.now().elapsed_since_epoch(), Duration::from_secs(3600));
/// ```
pub struct Sim {
    config: Config,
    // The world kept across runs: the choice source (with what it was made from, so a
    // reconfigured Sim starts a fresh one), the clock, and the last run's record.
    choices: Option<(ChoiceSource, ChoiceOrigin)>,
    now_nanos: u64,
    world: world::World,
    trace: Trace,
    stats: Stats,
    schedule: Schedule,
    debug_findings: Vec<DebugFinding>,
    coverage: std::collections::BTreeMap<&'static str, Coverage>,
}

/// What a run's choice source was made from: the next run may keep drawing from it
/// only when its configuration makes the same one.
#[derive(Clone, Debug, PartialEq)]
enum ChoiceOrigin {
    Seeded(u64),
    ProductionOrder(u64),
    Tape(Vec<u8>),
    Deviations(Vec<(u64, u64)>, u64),
}

impl ChoiceOrigin {
    /// `None` for a replayed schedule, which starts over every run. `policy` is the
    /// run's concrete policy.
    fn of(config: &Config, policy: &Policy) -> Option<ChoiceOrigin> {
        match (policy, &config.tape) {
            (Policy::Replay(_), _) => None,
            (_, Some(tape)) => Some(ChoiceOrigin::Tape(tape.clone())),
            _ if config.deviations.is_some() => Some(ChoiceOrigin::Deviations(
                config.deviations.clone().unwrap_or_default(),
                config.seed,
            )),
            (Policy::Fifo, None) => Some(ChoiceOrigin::ProductionOrder(config.seed)),
            (_, None) => Some(ChoiceOrigin::Seeded(config.seed)),
        }
    }
}

config_knobs!(Sim => |this| this.config);

impl Sim {
    /// A simulation whose every decision derives from `seed`:
    /// `Sim::with_config(Config::new(seed))`.
    pub fn new(seed: u64) -> Sim {
        Sim::with_config(Config::new(seed))
    }

    /// A simulation configured by `config`.
    ///
    /// # Panics
    ///
    /// When a field of `config` set directly cannot run (a PCT depth of 0, a step
    /// limit of 0, ...); the message names it.
    #[track_caller]
    pub fn with_config(config: Config) -> Sim {
        config.validate();
        Sim {
            config,
            choices: None,
            now_nanos: 0,
            world: world::World::default(),
            trace: Trace::placeholder(),
            stats: Stats::default(),
            schedule: Schedule::default(),
            debug_findings: Vec::new(),
            coverage: std::collections::BTreeMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.config.seed
    }

    /// The trace of the last run.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The counters of the last run.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The decisions the last run took from its tape, in order (empty without a tape).
    pub(crate) fn take_decision_log(&mut self) -> Vec<crate::choices::Decision> {
        self.choices
            .as_mut()
            .map(|(choices, _)| choices.take_log())
            .unwrap_or_default()
    }

    /// The `sometimes!` and `always!` conditions the last run evaluated, by name:
    /// how often each was reached and held.
    pub fn coverage(&self) -> &std::collections::BTreeMap<&'static str, Coverage> {
        &self.coverage
    }

    /// What debug mode ([`Config::debug`](crate::Config::debug)) found in the last run:
    /// slow polls, task errors never retrieved. Empty when debug mode is off.
    pub fn debug_findings(&self) -> &[DebugFinding] {
        &self.debug_findings
    }

    /// The recorded decisions of the last run, for [`Policy::Replay`].
    pub fn schedule(&self) -> Schedule {
        self.schedule.clone()
    }

    /// The virtual clock; it starts at the epoch and is kept across runs.
    pub fn now(&self) -> Instant {
        Instant::from_nanos(self.now_nanos)
    }

    fn take_choices(&mut self, policy: &Policy) -> (ChoiceSource, Option<ChoiceOrigin>) {
        let origin = ChoiceOrigin::of(&self.config, policy);
        if let Some((choices, kept)) = self.choices.take() {
            if Some(&kept) == origin.as_ref() {
                return (choices, origin);
            }
        }
        let choices = match (&origin, policy) {
            (None, Policy::Replay(schedule)) => {
                ChoiceSource::other(Recorded::new(schedule.decisions.clone(), self.config.seed))
            }
            (Some(ChoiceOrigin::Tape(tape)), _) => ChoiceSource::other(Tape::new(tape.clone())),
            (Some(ChoiceOrigin::Deviations(deviations, seed)), _) => {
                ChoiceSource::other(Deviating::new(deviations, *seed))
            }
            (Some(ChoiceOrigin::ProductionOrder(seed)), _) => {
                ChoiceSource::other(ProductionOrder(Seeded::new(*seed)))
            }
            _ => ChoiceSource::Seeded(Box::new(Seeded::new(self.config.seed))),
        };
        (choices, origin)
    }

    /// Runs `future` as the main task until it completes, and returns its output; or
    /// the [`Failure`] that stopped the run. Tasks still pending when the main future
    /// completes are dropped, inside the simulation, in id order, and counted in
    /// [`Stats::leaked`].
    ///
    /// # Panics
    ///
    /// When called from inside a running simulation (simulations do not nest).
    pub fn run<F: Future>(&mut self, future: F) -> Result<F::Output, Failure> {
        self.run_with(future, false, None).0
    }

    /// Runs `future` under `schedule` as a script (the minimizer's policy, see
    /// `scheduler/scripted.rs`) instead of the configured policy, the other decisions
    /// replayed from `schedule` (from the seed past them); and writes every decision
    /// of the run down as the byte tape that makes the same run under
    /// [`Policy::Random`]: each pick as its index among the ready tasks in FIFO order,
    /// the other decisions as they were drawn.
    pub(crate) fn run_scripted<F: Future>(
        &mut self,
        future: F,
        schedule: &Schedule,
    ) -> (Result<F::Output, Failure>, Vec<u8>) {
        let (result, transcript) = self.run_with(future, true, Some(schedule));
        (result, transcript.unwrap_or_default())
    }

    fn run_with<F: Future>(
        &mut self,
        future: F,
        transcribe: bool,
        script: Option<&Schedule>,
    ) -> (Result<F::Output, Failure>, Option<Vec<u8>>) {
        let policy = self.concrete_policy();
        let (choices, origin) = match script {
            Some(script) => {
                let replayed = Recorded::new(script.decisions.clone(), self.config.seed);
                (ChoiceSource::other(replayed), None)
            }
            None => self.take_choices(&policy),
        };
        let config = &self.config;
        let scheduler = match script {
            Some(script) => {
                scheduler::AnyScheduler::other(scheduler::Scripted::new(script.picks.clone()))
            }
            None => scheduler::build(&policy, choices.is_ordered()),
        };
        let run_config = RunConfig {
            max_steps: config.max_steps,
            max_time: config.max_time,
            max_tasks: config.max_tasks,
            continue_on_panic: config.continue_on_panic,
            record_schedule: config.record_schedule,
            cancel_target: config.cancel_at.as_ref().map(|target| CancelTarget {
                name: target.task.clone().into_boxed_str(),
                at: (target.await_point > 0).then_some(target.await_point),
            }),
            max_wait: config.max_wait,
            max_wait_steps: config.max_wait_steps,
            detect_wait_cycles: config.detect_wait_cycles,
            slow_poll: config.debug.then_some(config.slow_poll),
            transcribe,
        };
        let trace = Trace::with_limit(config.trace_limit);
        let world::World { hosts, extensions } = std::mem::take(&mut self.world);
        let core = Core::new(run_config, scheduler, choices, self.now_nanos, trace, hosts);
        let run_id = next_run_id();
        let shared = Shared::new(
            run_id,
            core,
            extensions,
            self.config.net.clone(),
            self.config.faults.clone(),
            self.config.disk.clone(),
        );
        let mut output = None;
        let result = {
            let _enter = context::Enter::new(Rc::clone(&shared));
            let main: MainFuture<'_> = Box::pin(async {
                output = Some(future.await);
            });
            shared.run(main)
        };
        debug_assert_eq!(Rc::strong_count(&shared), 1, "nothing outlives a run");
        self.world.extensions = shared.extensions.take();
        let transcript = shared.core.borrow_mut().transcript.take();
        self.absorb(&mut shared.core.borrow_mut(), origin);
        let result = match result {
            Ok(()) => Ok(output.expect("the main future completed")),
            Err(kind) => Err(self.failure(*kind)),
        };
        (result, transcript)
    }

    /// Keeps what the world carries across runs, and the last run's record.
    fn absorb(&mut self, core: &mut Core, origin: Option<ChoiceOrigin>) {
        self.now_nanos = core.now_nanos;
        self.stats = std::mem::take(&mut core.stats);
        self.stats.divergence = core.divergence.take().map(|(step, detail)| {
            format!(
                "schedule diverged at step {step}: {detail}; continued with seed {}",
                self.config.seed
            )
        });
        self.schedule = Schedule::new(
            std::mem::take(&mut core.picks),
            std::mem::take(&mut core.decisions),
        );
        self.trace = std::mem::take(&mut core.trace);
        self.debug_findings = std::mem::take(&mut core.debug_findings);
        self.coverage = std::mem::take(&mut core.coverage);
        self.world.hosts = std::mem::take(&mut core.hosts);
        let choices = std::mem::replace(&mut core.choices, ChoiceSource::other(Exhausted));
        self.choices = origin.map(|origin| (choices, origin));
    }

    /// The policy a run of this `Sim` runs: its configured policy made concrete, a
    /// portfolio's member taken as if the seed were the place in a sweep from seed 0
    /// (a sweep gives each of its runs a concrete policy already).
    fn concrete_policy(&self) -> Policy {
        self.config.concrete_policy(self.config.seed, None)
    }

    /// The failure of the last run: the one place a [`FailureReport`] is made. Its
    /// configuration names the concrete policy that ran, so that it replays exactly.
    pub(crate) fn failure(&self, kind: FailureKind) -> Failure {
        let mut config = self.config.clone();
        config.policy = self.concrete_policy();
        let cancel_point = config.cancel_at.as_ref().and_then(|target| {
            let await_point = target.await_point;
            (await_point > 0).then(|| CancelPoint {
                task: target.task.clone(),
                await_point,
                site: self
                    .stats
                    .target_await_sites
                    .get(await_point as usize - 1)
                    .copied()
                    .flatten()
                    .map(|site| site.to_string()),
            })
        });
        Failure::new(FailureReport {
            seed: config.seed,
            policy: config.policy.clone(),
            config,
            kind,
            trace: self.trace.clone(),
            schedule: self.schedule.clone(),
            step: self.stats.steps,
            time: Duration::from_nanos(self.now_nanos),
            thread_name: std::thread::current()
                .name()
                .filter(|name| *name != "main")
                .map(str::to_string),
            cancel_point,
            divergence: self.stats.divergence.clone(),
            trace_files: None,
        })
    }
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("config", &self.config)
            .field("now", &self.now())
            .finish_non_exhaustive()
    }
}

// Defined here rather than in `failure.rs`: a failure report sits below the runtime,
// and only the runtime knows how to build a `Sim`.
impl FailureReport {
    /// A `Sim` configured exactly like the failing run (`Sim::with_config` of
    /// `self.config`): running the same program on it fails the same way.
    ///
    /// # Examples
    ///
    /// ```
    /// let program = || async { seedloop::spawn(async { panic!("bug") }).await.unwrap() };
    /// let failure = seedloop::Sim::new(3).max_steps(50).run(program()).unwrap_err();
    /// let mut replay = failure.sim();
    /// assert_eq!(replay.config(), &failure.config);
    /// let again = replay.run(program()).unwrap_err();
    /// assert_eq!(again.trace.to_string(), failure.trace.to_string());
    /// ```
    pub fn sim(&self) -> Sim {
        Sim::with_config(self.config.clone())
    }
}
