//! The runner: [`Sim`], asyncio's `Runner` for simulations.
//!
//! A `Sim` is configured with a builder (seed, policy, limits), then runs main futures
//! with [`Sim::run`]. Each run builds a fresh executor (task slab, scheduler, timer
//! heap) around the world the `Sim` keeps across runs: the virtual clock and the
//! choice source. After a run, [`Sim::trace`], [`Sim::stats`] and [`Sim::schedule`]
//! describe it. The event loop itself is in `executor.rs`; this file only wires
//! configuration into it and turns its outcome into a [`Failure`].

mod advance;
mod cancel_target;
pub(crate) mod context;
mod diagnostics;
pub(crate) mod executor;
pub(crate) mod primitives;
mod quiet_panics;
pub(crate) mod services;
mod slab;
mod teardown;
pub(crate) mod timer;
pub(crate) mod waker;

use crate::choices::{Choices, Exhausted, ProductionOrder, Recorded, Seeded, Tape};
use crate::failure::{CancelPoint, Failure, FailureKind, FailureReport};
use crate::scheduler::{self, Policy, Schedule, DEFAULT_PCT_HORIZON};
use crate::time::Instant;
use crate::trace::{Trace, DEFAULT_TRACE_LIMIT, TAIL_LIMIT};
use cancel_target::CancelTarget;
use executor::{Core, MainFuture, RunConfig, Shared};
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The default [`Sim::max_steps`].
pub const DEFAULT_MAX_STEPS: u64 = 1_000_000;
/// The default [`Sim::max_time`]: 30 virtual days.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// The default [`Sim::max_tasks`] (tasks alive at once).
pub const DEFAULT_MAX_TASKS: usize = 1_000_000;

/// Run ids only tell runs apart (stale wakers); they never reach a trace.
static NEXT_RUN_ID: AtomicU64 = AtomicU64::new(1);

/// Counters of one run.
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
}

/// A simulation: a seeded, single-threaded event loop with a virtual clock.
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
    seed: u64,
    policy: Policy,
    max_steps: u64,
    max_time: Duration,
    max_tasks: usize,
    pct_horizon: u64,
    trace_limit: usize,
    continue_on_panic: bool,
    record_schedule: bool,
    test_name: Option<String>,
    command: Option<String>,
    tape: Option<Vec<u8>>,
    cancel_target: Option<CancelTarget>,
    max_wait: Option<Duration>,
    max_wait_steps: Option<u64>,
    detect_wait_cycles: bool,
    // The world kept across runs.
    choices: Option<Box<dyn Choices + Send>>,
    now_nanos: u64,
    trace: Trace,
    stats: Stats,
    schedule: Schedule,
}

impl Sim {
    /// A simulation whose every decision derives from `seed`.
    pub fn new(seed: u64) -> Sim {
        Sim {
            seed,
            policy: Policy::Random,
            max_steps: DEFAULT_MAX_STEPS,
            max_time: DEFAULT_MAX_TIME,
            max_tasks: DEFAULT_MAX_TASKS,
            pct_horizon: DEFAULT_PCT_HORIZON,
            trace_limit: DEFAULT_TRACE_LIMIT,
            continue_on_panic: false,
            record_schedule: true,
            test_name: None,
            command: None,
            tape: None,
            cancel_target: None,
            max_wait: None,
            max_wait_steps: None,
            detect_wait_cycles: true,
            choices: None,
            now_nanos: 0,
            trace: Trace::default(),
            stats: Stats::default(),
            schedule: Schedule::default(),
        }
    }

    /// The scheduling policy (default [`Policy::Random`]).
    pub fn policy(mut self, policy: Policy) -> Sim {
        policy.validate();
        if policy != self.policy {
            // The choice source's shape depends on the policy (Fifo is seed-free).
            self.choices = None;
        }
        self.policy = policy;
        self
    }

    /// The most scheduling steps a run may take before it fails with
    /// [`FailureKind::StepLimit`] (default [`DEFAULT_MAX_STEPS`]).
    pub fn max_steps(mut self, max_steps: u64) -> Sim {
        assert!(max_steps > 0, "Sim::max_steps must be at least 1");
        self.max_steps = max_steps;
        self
    }

    /// The most virtual time a run may cover before it fails with
    /// [`FailureKind::TimeLimit`] (default [`DEFAULT_MAX_TIME`]).
    pub fn max_time(mut self, max_time: Duration) -> Sim {
        self.max_time = max_time;
        self
    }

    /// The most tasks alive at once; spawning more panics (default
    /// [`DEFAULT_MAX_TASKS`]).
    pub fn max_tasks(mut self, max_tasks: usize) -> Sim {
        self.max_tasks = max_tasks;
        self
    }

    /// The PCT horizon `k`: change points are drawn over the first `k` steps (default
    /// [`DEFAULT_PCT_HORIZON`]). Part of the configuration a replay needs.
    pub fn pct_horizon(mut self, steps: u64) -> Sim {
        assert!(steps > 0, "Sim::pct_horizon must be at least 1 step");
        self.pct_horizon = steps;
        self
    }

    /// Whether to keep the whole trace (default) or only its hash and a short tail, for
    /// long soak runs.
    pub fn record_trace(mut self, record: bool) -> Sim {
        self.trace_limit = if record {
            DEFAULT_TRACE_LIMIT
        } else {
            TAIL_LIMIT
        };
        self.record_schedule = record;
        self
    }

    /// The most trace events kept (older ones are dropped but still hashed).
    pub fn trace_limit(mut self, events: usize) -> Sim {
        self.trace_limit = events;
        self
    }

    /// When true, a panicking task no longer fails the run: its awaiter sees
    /// [`crate::JoinError::Panicked`]. A panic of the main future always fails it.
    pub fn continue_on_panic(mut self, continue_on_panic: bool) -> Sim {
        self.continue_on_panic = continue_on_panic;
        self
    }

    /// The test name printed in failure reports' replay line (default: the current
    /// thread's name, which libtest sets to the test's name).
    pub fn name(mut self, name: impl Into<String>) -> Sim {
        self.test_name = Some(name.into());
        self
    }

    /// The command a failure's replay line runs after its `SEEDLOOP_*` assignments,
    /// for programs that are not tests (default: `cargo test <test name>`).
    ///
    /// ```
    /// let failure = seedloop::Sim::new(3)
    ///     .replay_command("cargo run --example demo")
    ///     .run(async { panic!("bug") })
    ///     .unwrap_err();
    /// assert!(failure.replay_command().ends_with("SEEDLOOP_POLICY=random cargo run --example demo"));
    /// ```
    pub fn replay_command(mut self, command: impl Into<String>) -> Sim {
        self.command = Some(command.into());
        self
    }

    /// Fails the run ([`crate::FailureKind::Starvation`]) when any task waits for a
    /// [`crate::sync::Lock`] or for [`crate::sync::Semaphore`] permits (what other
    /// tasks hold) longer than `limit` of virtual time. Waits for queue items, events,
    /// notifications or promises do not count: an idle consumer is not starving. Off
    /// by default.
    ///
    /// ```
    /// use seedloop::sync::Lock;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    ///
    /// let failure = seedloop::Sim::new(0)
    ///     .max_wait(Duration::from_secs(5))
    ///     .run(async {
    ///         let lock = Rc::new(Lock::new(()));
    ///         let hog = lock.clone();
    ///         drop(seedloop::spawn(async move {
    ///             let _guard = hog.lock().await;
    ///             seedloop::time::sleep(Duration::from_secs(60)).await;
    ///         }));
    ///         while !lock.is_locked() {
    ///             seedloop::yield_now().await;
    ///         }
    ///         let _guard = lock.lock().await; // waits 60 s: too long
    ///     })
    ///     .unwrap_err();
    /// assert_eq!(failure.kind.name(), "starvation");
    /// assert_eq!(failure.time, Duration::from_secs(5));
    /// ```
    pub fn max_wait(mut self, limit: Duration) -> Sim {
        self.max_wait = Some(limit);
        self
    }

    /// Like [`Sim::max_wait`], in scheduling steps: catches starvation in programs
    /// whose virtual clock does not move (spin loops, yields).
    pub fn max_wait_steps(mut self, limit: u64) -> Sim {
        self.max_wait_steps = Some(limit);
        self
    }

    /// Whether a cycle of tasks waiting on each other's locks and semaphores fails the
    /// run at once ([`crate::FailureKind::WaitCycle`]), even while other tasks can
    /// still run (default: on).
    ///
    /// A task counts as blocked for good only when the one primitive holds its waker:
    /// a task with a pending timer (a `timeout` around its wait), waiting in a
    /// `select` on something else too, or whose waker a future outside seedloop keeps,
    /// can still be woken and is never part of a reported cycle. Holders are the tasks
    /// that acquired: a guard or permit moved to another task (which needs a
    /// `'static` primitive) is not followed, so a program that moves them should turn
    /// this check off.
    pub fn detect_wait_cycles(mut self, detect: bool) -> Sim {
        self.detect_wait_cycles = detect;
        self
    }

    /// Cancels the first task spawned with the name `task` at its `await_point`-th
    /// suspension (counting from 1): the cancellation explorer's mechanism
    /// ([`crate::CancelExplorer`]), public so that a failure it found replays with
    /// [`crate::FailureReport::sim`]. With `await_point` 0 nothing is cancelled, and the
    /// run only counts the task's suspensions in [`Stats::target_await_points`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut sim = seedloop::Sim::new(0).cancel_at("worker", 2);
    /// let result = sim.run(async {
    ///     seedloop::task::Builder::new().name("worker").spawn(async {
    ///         for _ in 0..3 {
    ///             seedloop::time::sleep(Duration::from_secs(1)).await;
    ///         }
    ///     }).await
    /// }).unwrap();
    /// assert!(result.unwrap_err().is_cancelled());
    /// // Dropped at its second await point: the second sleep, which began at 1 s.
    /// assert_eq!(sim.now().elapsed_since_epoch(), Duration::from_secs(1));
    /// assert_eq!(sim.stats().target_await_points, Some(2));
    /// ```
    ///
    /// # Panics
    ///
    /// When `task` is `main`: the main future is not a task that can be cancelled;
    /// spawn the code to explore as a named task.
    #[track_caller]
    pub fn cancel_at(mut self, task: impl Into<String>, await_point: u64) -> Sim {
        let task = task.into();
        assert!(
            task != "main",
            "the main future cannot be cancelled at an await point: spawn the code to explore as a task named with seedloop::task::Builder::new().name(..)"
        );
        self.cancel_target = Some(CancelTarget {
            name: task.into_boxed_str(),
            at: (await_point > 0).then_some(await_point),
        });
        self
    }

    /// Draws every decision from a byte tape instead of the seed (property tests,
    /// fuzzing): a tape of zeros is the FIFO production order. See
    /// [`crate::choices::Tape`].
    pub fn tape(mut self, bytes: impl Into<Vec<u8>>) -> Sim {
        self.tape = Some(bytes.into());
        self.choices = None;
        self
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The trace of the last run.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The counters of the last run.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The recorded decisions of the last run, for [`Policy::Replay`].
    pub fn schedule(&self) -> Schedule {
        self.schedule.clone()
    }

    /// The virtual clock; it starts at the epoch and is kept across runs.
    pub fn now(&self) -> Instant {
        Instant::from_nanos(self.now_nanos)
    }

    fn take_choices(&mut self) -> Box<dyn Choices + Send> {
        if let Policy::Replay(schedule) = &self.policy {
            return Box::new(Recorded::new(schedule.decisions.clone()));
        }
        match (self.choices.take(), &self.tape) {
            (Some(choices), _) => choices,
            (None, Some(tape)) => Box::new(Tape::new(tape.clone())),
            (None, None) if self.policy == Policy::Fifo => {
                Box::new(ProductionOrder(Seeded::new(self.seed)))
            }
            (None, None) => Box::new(Seeded::new(self.seed)),
        }
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
        let choices = self.take_choices();
        let scheduler = scheduler::build(&self.policy, choices.is_ordered(), self.pct_horizon);
        let config = RunConfig {
            max_steps: self.max_steps,
            max_time: self.max_time,
            max_tasks: self.max_tasks,
            continue_on_panic: self.continue_on_panic,
            record_schedule: self.record_schedule,
            cancel_target: self.cancel_target.clone(),
            max_wait: self.max_wait,
            max_wait_steps: self.max_wait_steps,
            detect_wait_cycles: self.detect_wait_cycles,
        };
        let trace = Trace::with_limit(self.trace_limit);
        let core = Core::new(config, scheduler, choices, self.now_nanos, trace);
        let shared = Shared::new(NEXT_RUN_ID.fetch_add(1, Ordering::Relaxed), core);
        let mut output = None;
        let result = {
            let _enter = context::Enter::new(Rc::clone(&shared));
            let main: MainFuture<'_> = Box::pin(async {
                output = Some(future.await);
            });
            shared.run(main)
        };
        debug_assert_eq!(Rc::strong_count(&shared), 1, "nothing outlives a run");
        self.absorb(&mut shared.core.borrow_mut());
        match result {
            Ok(()) => Ok(output.expect("the main future completed")),
            Err(kind) => Err(self.failure(*kind)),
        }
    }

    /// Keeps what the world carries across runs, and the last run's record.
    fn absorb(&mut self, core: &mut Core) {
        self.now_nanos = core.now_nanos;
        self.stats = std::mem::take(&mut core.stats);
        self.schedule = Schedule::new(
            std::mem::take(&mut core.picks),
            std::mem::take(&mut core.decisions),
        );
        self.trace = std::mem::take(&mut core.trace);
        let choices = std::mem::replace(&mut core.choices, Box::new(Exhausted));
        if !matches!(self.policy, Policy::Replay(_)) {
            self.choices = Some(choices);
        }
    }

    pub(crate) fn failure(&self, kind: FailureKind) -> Failure {
        let test_name = self.test_name.clone().or_else(|| {
            std::thread::current()
                .name()
                .filter(|name| *name != "main")
                .map(str::to_string)
        });
        Failure::new(FailureReport {
            seed: self.seed,
            policy: self.policy.clone(),
            kind,
            trace: self.trace.clone(),
            schedule: self.schedule.clone(),
            step: self.stats.steps,
            time: Duration::from_nanos(self.now_nanos),
            pct_horizon: self.pct_horizon,
            test_name,
            command: self.command.clone(),
            from_tape: self.tape.is_some(),
            cancel_point: self.cancel_target.as_ref().and_then(|target| {
                let await_point = target.at?;
                Some(CancelPoint {
                    task: target.name.to_string(),
                    await_point,
                    site: self
                        .stats
                        .target_await_sites
                        .get(await_point as usize - 1)
                        .copied()
                        .flatten()
                        .map(|site| site.to_string()),
                })
            }),
        })
    }
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("policy", &self.policy)
            .field("max_steps", &self.max_steps)
            .field("max_time", &self.max_time)
            .field("pct_horizon", &self.pct_horizon)
            .field("now", &self.now())
            .finish_non_exhaustive()
    }
}
