//! The step loop: pick, poll, wake.
//!
//! A step is: ask the [`Scheduler`] for the next task, take its future out of the
//! slab, release every borrow, poll it (catching panics), and put it back. User code
//! therefore never runs while the executor holds its state borrowed: `spawn`, `sleep`
//! and wakers called from inside a poll borrow it briefly themselves. A wake makes an
//! idle task ready at once (a task woken twice is queued once); a task that wakes
//! itself (a yield) is queued when its poll returns, behind every task it woke. When
//! no task is ready the clock jumps to the earliest timer; when there is none either,
//! the run is deadlocked.
//!
//! The other parts of the executor are files of their own: the task slab
//! (`slab.rs`), cancellation and teardown (`teardown.rs`), the diagnostics that read
//! the state (`diagnostics.rs`: deadlocks, wait cycles, starvation), the cancellation
//! explorer's hook (`cancel_target.rs`), and what code inside a run may ask of it
//! (`services.rs`).
//!
//! In the steady state a step allocates nothing: the trace and the scheduler's
//! structures are vectors that have already grown, a task's waker is a number made
//! afresh for each poll (`waker.rs`), and a sweep's next simulation reuses the
//! previous one's buffers (`recycle.rs`).

use super::cancel_target::{CancelTarget, TargetWatch};
use super::debug::{Coverage, DebugFinding};
use super::primitives::Primitives;
use super::quiet_panics;
use super::slab::{saturate, Parked, Slab, State};
use super::timer::{DueTimer, TimerKey, Timers};
use super::waker::{self, Domain, WakerOrigin};
use super::world::{Extensions, Hosts, MAIN_HOST};
use super::Stats;
use crate::choices::{write_decision, ChoiceSource, Choices, Stream};
use crate::config::{DiskConfig, FaultPlan, NetConfig};
use crate::failure::FailureKind;
use crate::id::TaskId;
use crate::recycle;
use crate::scheduler::{spare_picks, AnyScheduler, Scheduler, TaskRef};
use crate::trace::{EventKind, Trace};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub(crate) use super::slab::{IoWait, TaskKey, Waiting};
pub(crate) use crate::id::Site;

/// Why a run stopped early. Boxed, so that the hot path's `Result`s stay small.
pub(crate) type Stop = Box<FailureKind>;

/// A spawned task as the executor stores it: a future of `()` that also knows how to
/// report a panic to its `JoinHandle` before it is dropped.
pub(crate) trait Runnable {
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
    /// Returns whether nobody will take the panic (the handle is gone).
    fn set_panicked(self: Pin<&mut Self>, message: &str) -> bool;
}

pub(crate) type BoxedTask = Pin<Box<dyn Runnable>>;
pub(crate) type MainFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// The executor's view of a [`crate::Config`]: the limits and switches of one run,
/// built from it in one place (`Sim::run`); names, commands and tapes stay outside.
#[derive(Clone, Debug)]
pub(crate) struct RunConfig {
    pub max_steps: u64,
    pub max_time: Duration,
    pub max_tasks: usize,
    pub continue_on_panic: bool,
    pub record_schedule: bool,
    pub cancel_target: Option<CancelTarget>,
    pub max_wait: Option<Duration>,
    pub max_wait_steps: Option<u64>,
    pub detect_wait_cycles: bool,
    // Debug mode: report polls slower than this in real time (None: off).
    pub slow_poll: Option<Duration>,
    /// Whether to write the run's decisions down as a tape (`Core::transcript`).
    pub transcribe: bool,
}

/// How many of seedloop's own futures a task may find ready in one poll before they
/// start returning `Pending` (and wake the task at once): a spin on an uncontended
/// lock or a passed deadline then takes steps, which the step limit counts, instead of
/// never returning to the executor. tokio's cooperative budget does the same.
pub(crate) const BUDGET_PER_POLL: u32 = 128;

pub(crate) struct Core {
    pub(super) config: RunConfig,
    pub(super) tasks: Slab,
    // Tasks alive, the main future not counted. Invariant: at most `max_tasks`.
    pub(super) live_tasks: usize,
    pub(super) scheduler: AnyScheduler,
    pub(super) choices: ChoiceSource,
    pub(super) picks: Vec<TaskId>,
    pub(super) decisions: Vec<(Stream, u64)>,
    pub(super) timers: Timers,
    pub(super) due: Vec<DueTimer>,
    pub(super) now_nanos: u64,
    pub(super) start_nanos: u64,
    pub(super) step: u64,
    // `step` as traces and slots store it (saturating at u32::MAX), kept by `pick`:
    // one conversion a step rather than one an event.
    recorded_step: u32,
    pub(super) trace: Trace,
    pub(super) stats: Stats,
    // Debug mode's findings, in the order they happened.
    pub(super) debug_findings: Vec<DebugFinding>,
    // `sometimes!` and `always!` conditions, by name.
    pub(super) coverage: std::collections::BTreeMap<&'static str, Coverage>,
    pub(super) target: TargetWatch,
    pub(super) primitives: Primitives,
    // The world's hosts (kept across runs).
    pub(super) hosts: Hosts,
    // A failure found where it could not be returned (a task dropped by a crash that
    // panicked, ...): the run stops with it before its next step.
    pub(super) stop: Option<Stop>,
    // Whether the choice source can diverge from the program (a replayed recording).
    checks_divergence: bool,
    // Steps below this need nothing but counting: the step limit, or 0 in a run that
    // watches its steps (a transcript, a recording that may diverge, a limit on wait
    // steps; fixed for the run). One comparison a step.
    plain_steps_below: u64,
    // The step at which a replayed recording stopped matching the program, and how;
    // the run goes on under the seed.
    pub(super) divergence: Option<(u64, String)>,
    // Every decision of the run as a tape would make it (the scheduler's picks as
    // FIFO indices), when the run transcribes itself: the minimizer's scripted run
    // turned into a tape.
    pub(super) transcript: Option<Vec<u8>>,
}

thread_local! {
    static SPARE_WAKES: Cell<Vec<(u32, u32, u32)>> = const { Cell::new(Vec::new()) };
}

impl Drop for Core {
    fn drop(&mut self) {}
}

impl Drop for Shared {
    fn drop(&mut self) {
        recycle::keep(&SPARE_WAKES, std::mem::take(self.wakes.get_mut()));
    }
}

/// The state of one run, shared (through the thread-local context) with every API
/// called from inside it.
pub(crate) struct Shared {
    pub(super) origin: WakerOrigin,
    // Wakes that arrived while the executor's state was borrowed (slot, generation,
    // index of the waking task or u32::MAX); applied before the next pick. Rare: user
    // code, and so wakers, never run while the executor holds its state.
    wakes: RefCell<Vec<(u32, u32, u32)>>,
    // Timers whose future was dropped while the executor's state was borrowed;
    // cancelled before the next pick, so that no timer outlives its future.
    pub(super) timer_cancels: RefCell<Vec<TimerKey>>,
    // Whether `wakes` or `timer_cancels` holds anything: one check per step.
    pub(super) deferred: Cell<bool>,
    pub(super) core: RefCell<Core>,
    // The layers' world state (network, disks), borrowed apart from the executor's.
    pub(super) extensions: RefCell<Extensions>,
    // The network's conditions and the fault plan for this run (from its `Config`).
    pub(super) net_config: NetConfig,
    pub(super) fault_plan: Option<FaultPlan>,
    pub(super) disk_config: DiskConfig,
    // Debug mode's slow-poll limit (None: debug mode off).
    pub(super) slow_poll: Option<Duration>,
    pub(super) current: Cell<Option<TaskRef>>,
    // The data word of the running task's waker (null between polls): recognising the
    // task's own waker, which every yield does, is then one comparison; it also names
    // the running task's generation.
    pub(super) current_waker: Cell<*const ()>,
    // Whether the running task woke itself. It is queued when its poll returns, after
    // every task it woke during the poll: a yield goes to the back of the ready queue,
    // as tokio's `yield_now` (deferred wake) and asyncio's `sleep(0)` do.
    pub(super) self_woken: Cell<bool>,
    // Set when the running task declared a wait on a lock or semaphore through its own
    // waker: once its poll returns, the executor looks for a wait-for cycle through it.
    pub(super) check_wait_cycle: Cell<bool>,
    // Where the running task's last seedloop future to return `Pending` was created
    // (its await point in the source), for the cancellation explorer's reports.
    pub(super) suspension_site: Cell<Option<Site>>,
    // What the running task's seedloop futures said it waits on (for deadlock
    // reports), kept for the slab if the poll leaves the task idle.
    pub(super) waiting: Cell<Waiting>,
    // What is left of the running task's budget (see `BUDGET_PER_POLL`).
    pub(super) budget: Cell<u32>,
}

/// The main future seen as a task for one poll (it has no join handle to tell of a
/// panic: the run itself fails).
struct MainPoll<'a, 'b>(Pin<&'b mut (dyn Future<Output = ()> + 'a)>);

impl Runnable for MainPoll<'_, '_> {
    fn poll_task(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }

    fn set_panicked(self: Pin<&mut Self>, _message: &str) -> bool {
        unreachable!("the main future's panic fails the run; nothing is told of it")
    }
}

enum Pick {
    Poll(TaskRef, u32, Option<BoxedTask>),
    Cancel(TaskRef, Option<BoxedTask>),
    // A task dropped by a host crash while it was queued: only its slot is left.
    Reap(TaskRef),
}

/// What became of a task that returned `Pending`.
enum Suspended {
    Idle,
    // It cancelled itself during the poll: its future is dropped now.
    CancelNow(Option<BoxedTask>),
}

impl Core {
    pub(crate) fn new(
        config: RunConfig,
        scheduler: AnyScheduler,
        choices: ChoiceSource,
        now_nanos: u64,
        trace: Trace,
        hosts: Hosts,
    ) -> Core {
        let target = TargetWatch::new(config.cancel_target.clone());
        let checks_divergence = choices.can_diverge();
        let transcript = config.transcribe.then(Vec::new);
        let watches_steps =
            transcript.is_some() || checks_divergence || config.max_wait_steps.is_some();
        let plain_steps_below = if watches_steps { 0 } else { config.max_steps };
        Core {
            config,
            tasks: Slab::new(),
            live_tasks: 0,
            scheduler,
            choices,
            picks: spare_picks(),
            decisions: Vec::new(),
            timers: Timers::default(),
            due: Vec::new(),
            now_nanos,
            start_nanos: now_nanos,
            step: 0,
            recorded_step: 0,
            trace,
            stats: Stats::default(),
            debug_findings: Vec::new(),
            coverage: std::collections::BTreeMap::new(),
            target,
            primitives: Primitives::default(),
            stop: None,
            checks_divergence,
            plain_steps_below,
            divergence: None,
            transcript,
            hosts,
        }
    }

    #[inline]
    pub(super) fn record(&mut self, kind: EventKind, task: Option<TaskId>, other: Option<u32>) {
        self.trace
            .record(self.recorded_step, self.now_nanos, kind, task, other);
    }

    /// A decision for a component other than the scheduler, recorded for replay.
    pub(super) fn choose(&mut self, stream: Stream, bound: u64) -> u64 {
        let value = self.choices.choose(stream, bound);
        if let Some(transcript) = &mut self.transcript {
            write_decision(transcript, value, bound);
        }
        if bound > 1 && self.config.record_schedule {
            self.decisions.push((stream, value));
        }
        if self.checks_divergence {
            self.note_divergence(self.step);
        }
        value
    }

    /// Keeps where a replayed recording first stopped matching, if it just did.
    fn note_divergence(&mut self, step: u64) {
        if self.divergence.is_none() {
            if let Some(detail) = self.choices.divergence() {
                self.divergence = Some((step, detail.to_string()));
            }
        }
    }

    #[inline]
    pub(super) fn make_ready(&mut self, slot: u32, generation: u32, by: u32) {
        let Some(entry) = self.tasks.get_mut(slot) else {
            return;
        };
        if entry.generation != generation || entry.state != State::Idle {
            return;
        }
        entry.state = State::Queued;
        let task = TaskRef { slot, id: entry.id };
        self.scheduler.ready(task);
        if by != task.id.index() {
            let by = (by != u32::MAX).then_some(by);
            self.record(EventKind::Wake, Some(task.id), by);
        }
    }

    fn pick(&mut self) -> Result<Option<Pick>, Stop> {
        if self.stop.is_some() {
            return Err(self.stop.take().expect("checked"));
        }
        let Some(task) = self.scheduler.next(&mut self.choices) else {
            return Ok(None);
        };
        if self.step >= self.plain_steps_below {
            self.watched_step()?;
        } else {
            self.step += 1;
        }
        if self.config.record_schedule {
            self.picks.push(task.id);
        }
        let step = saturate(self.step);
        self.recorded_step = step;
        let entry = &mut self.tasks[task.slot];
        debug_assert_eq!(
            entry.state,
            State::Queued,
            "{:?} picked but not queued",
            task.id
        );
        debug_assert_eq!(entry.id, task.id, "scheduler returned a stale task");
        entry.state = State::Running;
        if entry.cancel_requested {
            if entry.future.is_none() && task.id != TaskId::MAIN {
                return Ok(Some(Pick::Reap(task)));
            }
            return Ok(Some(Pick::Cancel(task, entry.future.take())));
        }
        let generation = entry.generation;
        let future = entry.future.take();
        self.stats.polls += 1;
        self.record(EventKind::Poll, Some(task.id), None);
        Ok(Some(Pick::Poll(task, generation, future)))
    }

    /// A step that needs more than counting: at the step limit, or in a run that
    /// watches its steps (a transcript, a recording that may diverge, a limit on wait
    /// steps). Taken out of line so that the common step makes one comparison.
    #[cold]
    fn watched_step(&mut self) -> Result<(), Stop> {
        if self.step >= self.config.max_steps {
            self.transcribe_pick();
            return Err(Box::new(FailureKind::StepLimit {
                max_steps: self.config.max_steps,
            }));
        }
        debug_assert_eq!(self.plain_steps_below, 0, "a plain step taken out of line");
        self.transcribe_pick();
        if self.primitives.waiting > 0 && self.config.max_wait_steps.is_some() {
            self.check_wait_steps()?;
        }
        self.step += 1;
        if self.checks_divergence {
            // Noted only for a step that runs: a recording ends where its run
            // stopped (at the step limit, say), which a faithful replay reaches too.
            self.note_divergence(self.step);
        }
        Ok(())
    }

    /// Writes the pick down, in a run that transcribes itself (before the step limit
    /// is checked: a tape run draws the pick first too).
    fn transcribe_pick(&mut self) {
        if let Some(transcript) = &mut self.transcript {
            // A tape run draws this pick too, before it checks the step limit.
            if let Some((index, ready)) = self.scheduler.last_pick() {
                write_decision(transcript, index, ready);
            }
        }
    }

    /// Puts a task that returned `Pending` back to sleep, or straight back in the ready
    /// set when it woke itself (a yield: behind every task it woke during the poll),
    /// unless it cancelled itself; the explorer's chosen await point requests its
    /// cancellation.
    fn suspend(
        &mut self,
        task: TaskRef,
        future: Option<BoxedTask>,
        site: Option<Site>,
        waiting: Waiting,
        self_woken: bool,
    ) -> Suspended {
        let entry = &mut self.tasks[task.slot];
        if entry.cancel_requested {
            // A task that cancelled itself stops once its poll returns.
            return Suspended::CancelNow(future);
        }
        entry.future = future;
        let is_cancel_target = entry.is_cancel_target;
        if self_woken {
            entry.state = State::Queued;
            self.scheduler.ready(task);
        } else {
            entry.state = State::Idle;
            let parked = Parked {
                waiting,
                site,
                last_poll_step: self.recorded_step,
            };
            self.tasks.park(task.slot, parked);
        }
        if is_cancel_target && self.target.suspended(site, &mut self.stats) {
            self.request_cancel(task, None);
        }
        Suspended::Idle
    }

    pub(super) fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.now_nanos - self.start_nanos)
    }
}

impl Shared {
    pub(crate) fn new(
        run_id: u64,
        core: Core,
        extensions: Extensions,
        net_config: NetConfig,
        fault_plan: Option<FaultPlan>,
        disk_config: DiskConfig,
    ) -> Rc<Shared> {
        quiet_panics::install();
        let slow_poll = core.config.slow_poll;
        let domain = core.tasks.domain();
        Rc::new(Shared {
            slow_poll,
            origin: WakerOrigin { run_id, domain },
            extensions: RefCell::new(extensions),
            net_config,
            fault_plan,
            disk_config,
            wakes: RefCell::new(recycle::take(&SPARE_WAKES)),
            timer_cancels: RefCell::new(Vec::new()),
            deferred: Cell::new(false),
            core: RefCell::new(core),
            current: Cell::new(None),
            current_waker: Cell::new(std::ptr::null()),
            self_woken: Cell::new(false),
            check_wait_cycle: Cell::new(false),
            suspension_site: Cell::new(None),
            waiting: Cell::new(Waiting::Unknown),
            budget: Cell::new(BUDGET_PER_POLL),
        })
    }

    /// Whether `waker` is the running task's own waker (not a combinator's).
    #[inline]
    pub(super) fn is_current_waker(&self, waker: &Waker) -> bool {
        waker::is_task_waker(waker, self.current_waker.get())
    }

    /// The domain of the thread this run is on (its tasks' wakers name it).
    #[inline]
    pub(crate) fn domain(&self) -> Domain {
        self.origin.domain
    }

    /// Makes the task in `(slot, generation)` ready, if that task still lives and is
    /// idle; a task waking itself is queued when its poll returns.
    #[inline]
    pub(crate) fn wake(&self, slot: u32, generation: u32) {
        let by = match self.current.get() {
            Some(task) if task.slot == slot => {
                if generation == waker::generation_of(self.current_waker.get()) {
                    self.self_woken.set(true);
                }
                return;
            }
            Some(task) => task.id.index(),
            None => u32::MAX,
        };
        match self.core.try_borrow_mut() {
            Ok(mut core) => core.make_ready(slot, generation, by),
            Err(_) => {
                self.wakes.borrow_mut().push((slot, generation, by));
                self.deferred.set(true);
            }
        }
    }

    /// Applies what arrived while the executor's state was borrowed.
    #[inline]
    fn drain_deferred(&self) {
        if self.deferred.get() {
            self.apply_deferred();
        }
    }

    #[cold]
    fn apply_deferred(&self) {
        self.deferred.set(false);
        let cancels = std::mem::take(&mut *self.timer_cancels.borrow_mut());
        let wakers: Vec<Waker> = {
            let mut core = self.core.borrow_mut();
            cancels
                .into_iter()
                .filter_map(|key| core.timers.cancel(key))
                .collect()
        };
        drop(wakers);
        let mut wakes = self.wakes.borrow_mut();
        let mut core = self.core.borrow_mut();
        for (slot, generation, by) in wakes.drain(..) {
            core.make_ready(slot, generation, by);
        }
    }

    /// Runs the main future to completion (or failure), then drops every task that is
    /// left, inside the simulation.
    pub(crate) fn run(&self, main: MainFuture<'_>) -> Result<(), Stop> {
        let mut main = Some(main);
        {
            let mut core = self.core.borrow_mut();
            let key = core.insert(&self.origin, MAIN_HOST, Some("main".into()), None, false);
            debug_assert_eq!(key.id, TaskId::MAIN);
        }
        let running = waker::Running::enter(self.origin.domain);
        let result = self
            .run_loop(&mut main)
            .and_then(|()| self.core.borrow_mut().stop.take().map_or(Ok(()), Err));
        let cleanup = self.drop_all(&mut main, result.is_ok());
        let result = result.and(cleanup);
        drop(running);
        let mut core = self.core.borrow_mut();
        core.stats.elapsed = core.elapsed();
        core.stats.steps = core.step;
        core.stats.preemptions = core.choices.preemptions();
        result
    }

    fn run_loop(&self, main: &mut Option<MainFuture<'_>>) -> Result<(), Stop> {
        loop {
            self.drain_deferred();
            let pick = self.core.borrow_mut().pick()?;
            match pick {
                Some(Pick::Poll(task, generation, future)) => {
                    if self.poll(task, generation, future, main)? {
                        return Ok(());
                    }
                }
                Some(Pick::Cancel(task, future)) => self.cancel_now(task, future)?,
                Some(Pick::Reap(task)) => self.core.borrow_mut().release(task.slot),
                None => {
                    if !self.fire_timers()? {
                        return Err(self.core.borrow().deadlock());
                    }
                }
            }
        }
    }

    /// Debug mode: reports the poll that began at `started` if it took too long.
    #[cold]
    fn check_slow_poll(&self, task: TaskRef, started: std::time::Instant) {
        let real_time = started.elapsed();
        if self.slow_poll.is_some_and(|limit| real_time > limit) {
            self.report_slow_poll(task, real_time);
        }
    }

    /// Polls one task; returns whether the main future finished.
    fn poll(
        &self,
        task: TaskRef,
        generation: u32,
        mut future: Option<BoxedTask>,
        main: &mut Option<MainFuture<'_>>,
    ) -> Result<bool, Stop> {
        let is_main = task.id == TaskId::MAIN;
        // A number, not a resource: nothing to drop (see `waker.rs`).
        let waker = ManuallyDrop::new(waker::task_waker(self.origin.domain, task.slot, generation));
        self.current.set(Some(task));
        self.current_waker.set(waker.data());
        // A wake recorded while a task was being dropped means nothing for this poll.
        self.self_woken.set(false);
        self.check_wait_cycle.set(false);
        self.suspension_site.set(None);
        self.waiting.set(Waiting::Unknown);
        self.budget.set(BUDGET_PER_POLL);
        let mut cx = Context::from_waker(&waker);
        // Debug mode only: real time never feeds back into the simulation.
        let started = self.slow_poll.map(|_| std::time::Instant::now());
        // One dynamic call under the panic catcher, chosen before it: the closure then
        // carries two pointers (measured: fewer spills around the catch).
        let mut main_poll;
        let target: Pin<&mut dyn Runnable> = match &mut future {
            Some(future) => future.as_mut(),
            None => {
                assert!(is_main, "{:?} polled without a future", task.id);
                main_poll = MainPoll(main.as_mut().expect("main future present").as_mut());
                Pin::new(&mut main_poll) as Pin<&mut dyn Runnable>
            }
        };
        let result = quiet_panics::catch_payload(move || target.poll_task(&mut cx));
        if let Some(started) = started {
            self.check_slow_poll(task, started);
        }
        self.current.set(None);
        self.current_waker.set(std::ptr::null());
        // A finished, panicked or cancelled task has nothing left to wake.
        let self_woken = self.self_woken.take();
        match result {
            Ok(Poll::Ready(())) => {
                let mut core = self.core.borrow_mut();
                core.record(EventKind::Complete, Some(task.id), None);
                core.release(task.slot);
                drop(core);
                drop(future);
                Ok(is_main)
            }
            Ok(Poll::Pending) => {
                let mut core = self.core.borrow_mut();
                let site = self.suspension_site.get();
                let waiting = self.waiting.get();
                if let Suspended::CancelNow(future) =
                    core.suspend(task, future, site, waiting, self_woken)
                {
                    drop(core);
                    return self.cancel_now(task, future).map(|()| false);
                }
                if self_woken {
                    // Queued again by `suspend`.
                } else if self.check_wait_cycle.take() && core.config.detect_wait_cycles {
                    if let Some(chain) = core.find_wait_cycle(task) {
                        return Err(core.wait_cycle(chain));
                    }
                }
                Ok(false)
            }
            Err(payload) => {
                let panic = quiet_panics::caught(payload);
                self.task_panicked(task, future, panic).map(|()| false)
            }
        }
    }
}
