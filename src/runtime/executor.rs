//! The event loop: task slab, wakes, poll loop.
//!
//! Tasks live in a slab of slots, reused through a free list; a slot's generation
//! changes each time its task ends, so a stale waker or handle naming `(slot,
//! generation)` can never reach the slot's next task. A step is: ask the
//! [`Scheduler`] for the next task, take its future out of the slot, release every
//! borrow, poll it (catching panics), and put it back. User code therefore never runs
//! while the executor holds its state borrowed: `spawn`, `sleep` and wakers called
//! from inside a poll borrow it briefly themselves. A wake makes an idle task ready at
//! once (a task woken twice is queued once); a task that wakes itself (a yield) is
//! queued when its poll returns, behind every task it woke. When no task is ready the
//! clock jumps to the earliest timer; when there is none either, the run is
//! deadlocked.
//!
//! In the steady state a step allocates nothing: the trace and the scheduler's
//! structures are vectors that have already grown, a task's waker is created when the
//! task is spawned (and reused with its slot), and a sweep's next simulation reuses the
//! previous one's buffers (`recycle.rs`).

use super::primitives::{Primitives, WaitStart};
use super::timer::{DueTimer, Timers};
use super::waker::TaskWaker;
use super::Stats;
use crate::choices::{Choices, Stream};
use crate::failure::{BlockedTask, FailureKind};

/// Why a run stopped early. Boxed, so that the hot path's `Result`s stay small.
pub(crate) type Stop = Box<FailureKind>;
use crate::id::TaskId;
use crate::recycle;
use crate::scheduler::{spare_picks, Scheduler, TaskRef};
use crate::trace::{EventKind, Trace};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;
use std::time::Duration;

/// A spawned task as the executor stores it: a future of `()` that also knows how to
/// report a panic to its `JoinHandle` before it is dropped.
pub(crate) trait Runnable {
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
    fn set_panicked(self: Pin<&mut Self>, message: &str);
}

pub(crate) type BoxedTask = Pin<Box<dyn Runnable>>;
pub(crate) type MainFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// What a blocked task waits on, for deadlock reports. Set by seedloop's own futures
/// when they return `Pending`; reset before every poll.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Waiting {
    Unknown,
    Join(TaskId),
    // A task group scope waiting for this many children to end.
    Group(u32),
    // A synchronization primitive, by its number in the run.
    Primitive(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    Idle,
    Queued,
    Running,
}

/// One task's entry. Aligned to a cache line: a random pick touches one line.
#[repr(align(64))]
struct Slot {
    // Invariant: changes every time the slot's task ends.
    generation: u32,
    id: TaskId,
    // Invariant: Queued exactly when the scheduler holds this slot.
    state: State,
    cancel_requested: bool,
    // A task group child: its panic goes to the group instead of failing the run.
    catch_panics: bool,
    // The task the cancellation explorer cancels at one of its await points.
    is_cancel_target: bool,
    future: Option<BoxedTask>,
    // The slot's waker state, reused by the slot's next task when no waker of the
    // previous task survives (so a steady spawn rate allocates no wakers).
    waker_state: Arc<TaskWaker>,
    // Taken out (a plain move) while the task is polled.
    waker: Option<Waker>,
    waiting: Waiting,
    // Saturates at u32::MAX, as trace steps do; keeps a slot within one cache line.
    last_poll_step: u32,
}

/// A handle's view of a task: enough to cancel it, and to notice it is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskKey {
    pub slot: u32,
    pub generation: u32,
    pub id: TaskId,
    pub run_id: u64,
}

/// Limits and switches fixed for one run.
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
}

/// The cancellation explorer's target: the first task spawned with this name, counted
/// at each suspension and, when `at` is set, cancelled at its `at`-th one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CancelTarget {
    pub name: Box<str>,
    pub at: Option<u64>,
}

pub(crate) struct Core {
    pub config: RunConfig,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live_tasks: usize,
    scheduler: Box<dyn Scheduler>,
    pub choices: Box<dyn Choices + Send>,
    pub picks: Vec<TaskId>,
    pub decisions: Vec<(Stream, u64)>,
    pub timers: Timers,
    due: Vec<DueTimer>,
    pub now_nanos: u64,
    start_nanos: u64,
    pub step: u64,
    pub trace: Trace,
    // Set when a failed run is cleaned up: the failure's trace ends at the failure.
    trace_closed: bool,
    pub stats: Stats,
    target_spawned: bool,
    pub primitives: Primitives,
    // By slot: where the task's last seedloop future to return `Pending` was created,
    // for deadlock reports ("awaited at src/bank.rs:12:9").
    sites: Vec<Option<Site>>,
}

thread_local! {
    static SPARE_SLOTS: Cell<Vec<Slot>> = const { Cell::new(Vec::new()) };
    static SPARE_FREE: Cell<Vec<u32>> = const { Cell::new(Vec::new()) };
    static SPARE_SITES: Cell<Vec<Option<Site>>> = const { Cell::new(Vec::new()) };
    static SPARE_WAKES: Cell<Vec<(u32, u32, u32)>> = const { Cell::new(Vec::new()) };
}

impl Drop for Core {
    fn drop(&mut self) {
        // Slots are kept whole (with their waker state, see `insert`), emptied of
        // everything that belonged to this run.
        let mut slots = std::mem::take(&mut self.slots);
        for slot in &mut slots {
            slot.future = None;
            slot.waker = None;
            slot.state = State::Free;
            slot.cancel_requested = false;
        }
        if slots.len() <= MAX_SPARE_SLOTS {
            let _ = SPARE_SLOTS.try_with(|spare| spare.set(slots));
        }
        recycle::keep(&SPARE_FREE, std::mem::take(&mut self.free));
        let mut sites = std::mem::take(&mut self.sites);
        sites.clear();
        recycle::keep(&SPARE_SITES, sites);
    }
}

/// References to a task's waker state when one wait queue holds its waker: the
/// slot's `waker_state` and `waker`, and the queue's clone.
const WAKERS_OF_A_TASK_BLOCKED_ON_ONE_THING: usize = 3;

/// The most task slots kept for the next run on a thread.
const MAX_SPARE_SLOTS: usize = 1 << 16;

/// The previous run's slots, all free; the free list pops slot 0 first (the main
/// future's slot).
fn spare_slots() -> (Vec<Slot>, Vec<u32>) {
    let slots = SPARE_SLOTS.try_with(Cell::take).unwrap_or_default();
    let mut free = recycle::take(&SPARE_FREE);
    free.extend((0..slots.len() as u32).rev());
    (slots, free)
}

impl Drop for Shared {
    fn drop(&mut self) {
        recycle::keep(&SPARE_WAKES, std::mem::take(self.wakes.get_mut()));
    }
}

/// The state of one run, shared (through the thread-local context) with every API
/// called from inside it.
pub(crate) struct Shared {
    pub run_id: u64,
    // This thread's "run going on" marker, cloned into wakers.
    pub thread_run: Arc<AtomicU64>,
    pub owner: ThreadId,
    // Wakes that arrived while the executor's state was borrowed (slot, generation,
    // index of the waking task or u32::MAX); applied before the next pick. Rare: user
    // code, and so wakers, never run while the executor holds its state.
    wakes: RefCell<Vec<(u32, u32, u32)>>,
    pub core: RefCell<Core>,
    pub current: Cell<Option<TaskRef>>,
    // The running task's own waker, by identity: `yield_now` compares `cx.waker()`
    // with it to wake the task without a second thread-local lookup.
    current_waker: Cell<WakerIdentity>,
    current_generation: Cell<u32>,
    // Whether the running task woke itself. It is queued when its poll returns, after
    // every task it woke during the poll: a yield goes to the back of the ready queue,
    // as tokio's `yield_now` (deferred wake) and asyncio's `sleep(0)` do.
    self_woken: Cell<bool>,
    // Set when the running task blocked on a lock or semaphore: once its poll returns,
    // the executor looks for a wait-for cycle through it.
    check_wait_cycle: Cell<bool>,
    // Where the running task's last seedloop future to return `Pending` was created
    // (its await point in the source), for the cancellation explorer's reports.
    suspension_site: Cell<Option<Site>>,
}

/// A place in the source: where a seedloop future was created (and so awaited).
pub(crate) type Site = &'static std::panic::Location<'static>;

type WakerIdentity = (*const (), *const std::task::RawWakerVTable);

fn identity(waker: &Waker) -> WakerIdentity {
    (waker.data(), waker.vtable())
}

enum Pick {
    Poll(TaskRef, u32, Option<BoxedTask>, Waker),
    Cancel(TaskRef, Option<BoxedTask>),
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message.to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "<a panic payload that is not a string>".to_string()
    }
}

impl Core {
    pub(crate) fn new(
        config: RunConfig,
        scheduler: Box<dyn Scheduler>,
        choices: Box<dyn Choices + Send>,
        now_nanos: u64,
        trace: Trace,
    ) -> Core {
        let (slots, free) = spare_slots();
        Core {
            config,
            slots,
            free,
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
            trace,
            trace_closed: false,
            stats: Stats::default(),
            target_spawned: false,
            primitives: Primitives::default(),
            sites: recycle::take(&SPARE_SITES),
        }
    }

    #[inline]
    pub(crate) fn record(&mut self, kind: EventKind, task: Option<TaskId>, other: Option<u32>) {
        if self.trace_closed {
            return;
        }
        let step = self.step.min(u32::MAX as u64) as u32;
        self.trace.record(step, self.now_nanos, kind, task, other);
    }

    /// A decision for a component other than the scheduler, recorded for replay.
    pub(crate) fn choose(&mut self, stream: Stream, bound: u64) -> u64 {
        let value = self.choices.choose(stream, bound);
        if bound > 1 && self.config.record_schedule {
            self.decisions.push((stream, value));
        }
        value
    }

    /// Creates a task slot; the caller supplies the future (`None` for the main task).
    fn insert(
        &mut self,
        shared: &Shared,
        name: Option<Box<str>>,
        future: Option<BoxedTask>,
        catch_panics: bool,
    ) -> TaskKey {
        let is_cancel_target = match (&self.config.cancel_target, &name) {
            (Some(target), Some(name)) if !self.target_spawned && target.name == *name => {
                self.target_spawned = true;
                self.stats.target_await_points = Some(0);
                true
            }
            _ => false,
        };
        let id = self.trace.register_task(name);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = self.slots.len() as u32;
                self.slots.push(Slot {
                    generation: 0,
                    id,
                    state: State::Free,
                    cancel_requested: false,
                    catch_panics: false,
                    is_cancel_target: false,
                    future: None,
                    waker_state: Arc::new(TaskWaker::new(shared, slot, 0)),
                    waker: None,
                    waiting: Waiting::Unknown,
                    last_poll_step: 0,
                });
                slot
            }
        };
        if self.sites.len() <= slot as usize {
            self.sites.resize(slot as usize + 1, None);
        }
        self.sites[slot as usize] = None;
        let entry = &mut self.slots[slot as usize];
        debug_assert_eq!(
            entry.state,
            State::Free,
            "slot {slot} reused while {:?} lives",
            entry.id
        );
        if Arc::strong_count(&entry.waker_state) == 1 {
            entry.waker_state.reset(shared, entry.generation);
        } else {
            // A waker of the slot's previous task is still held somewhere: it must keep
            // naming the old generation, so the new task gets fresh state.
            entry.waker_state = Arc::new(TaskWaker::new(shared, slot, entry.generation));
        }
        let waker = Waker::from(Arc::clone(&entry.waker_state));
        entry.id = id;
        entry.state = State::Queued;
        entry.cancel_requested = false;
        entry.catch_panics = catch_panics;
        entry.is_cancel_target = is_cancel_target;
        entry.future = future;
        entry.waker = Some(waker);
        entry.waiting = Waiting::Unknown;
        entry.last_poll_step = self.step.min(u32::MAX as u64) as u32;
        let key = TaskKey {
            slot,
            generation: entry.generation,
            id,
            run_id: shared.run_id,
        };
        let task = TaskRef { slot, id };
        self.scheduler.spawned(task, &mut *self.choices);
        self.scheduler.ready(task);
        key
    }

    fn release(&mut self, slot: u32) {
        let entry = &mut self.slots[slot as usize];
        debug_assert!(
            entry.future.is_none(),
            "{:?} released with its future",
            entry.id
        );
        entry.state = State::Free;
        entry.generation = entry.generation.wrapping_add(1);
        entry.cancel_requested = false;
        entry.waker = None;
        self.free.push(slot);
        if entry.id != TaskId::MAIN {
            self.live_tasks -= 1;
        }
    }

    #[inline]
    fn make_ready(&mut self, slot: u32, generation: u32, by: u32) {
        let Some(entry) = self.slots.get_mut(slot as usize) else {
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

    /// Counts a suspension of the explorer's target; cancels it at the chosen one.
    fn target_suspended(&mut self, task: TaskRef, site: Option<Site>) {
        let suspensions = self.stats.target_await_points.get_or_insert(0);
        *suspensions += 1;
        let suspensions = *suspensions;
        self.stats.target_await_sites.push(site);
        let at = self
            .config
            .cancel_target
            .as_ref()
            .and_then(|target| target.at);
        if at != Some(suspensions) {
            return;
        }
        self.request_cancel(task, None);
    }

    /// Marks a live task for cancellation, carried out when the scheduler next picks
    /// it; an idle task is made ready for that. `by` is the requesting task's index.
    fn request_cancel(&mut self, task: TaskRef, by: Option<u32>) {
        let entry = &mut self.slots[task.slot as usize];
        entry.cancel_requested = true;
        if entry.state == State::Idle {
            entry.state = State::Queued;
            self.scheduler.ready(task);
        }
        self.record(EventKind::CancelRequest, Some(task.id), by);
    }

    fn pick(&mut self) -> Result<Option<Pick>, Stop> {
        let next = self
            .scheduler
            .next(&mut *self.choices)
            .map_err(|divergence| {
                Box::new(FailureKind::Nondeterminism {
                    detail: divergence.0,
                })
            })?;
        let Some(task) = next else {
            return Ok(None);
        };
        if self.step >= self.config.max_steps {
            return Err(Box::new(FailureKind::StepLimit {
                max_steps: self.config.max_steps,
            }));
        }
        if self.primitives.waiting > 0 && self.config.max_wait_steps.is_some() {
            self.check_wait_steps()?;
        }
        self.step += 1;
        if self.config.record_schedule {
            self.picks.push(task.id);
        }
        let step = self.step;
        let entry = &mut self.slots[task.slot as usize];
        debug_assert_eq!(
            entry.state,
            State::Queued,
            "{:?} picked but not queued",
            task.id
        );
        debug_assert_eq!(entry.id, task.id, "scheduler returned a stale task");
        entry.state = State::Running;
        entry.last_poll_step = step.min(u32::MAX as u64) as u32;
        if entry.cancel_requested {
            return Ok(Some(Pick::Cancel(task, entry.future.take())));
        }
        entry.waiting = Waiting::Unknown;
        let generation = entry.generation;
        let future = entry.future.take();
        let waker = entry.waker.take().expect("a queued task has its waker");
        self.stats.polls += 1;
        self.record(EventKind::Poll, Some(task.id), None);
        Ok(Some(Pick::Poll(task, generation, future, waker)))
    }

    fn blocked_tasks(&self) -> Vec<BlockedTask> {
        let mut blocked: Vec<BlockedTask> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.state != State::Free)
            .map(|(index, slot)| BlockedTask {
                task: slot.id,
                name: self.trace.task_name(slot.id).map(str::to_string),
                waits_on: self.awaited_at(
                    index,
                    match slot.waiting {
                        Waiting::Unknown => format!(
                            "a future outside seedloop (last polled at step {})",
                            slot.last_poll_step
                        ),
                        Waiting::Join(target) => {
                            let name = self
                                .trace
                                .task_name(target)
                                .map(|name| format!(" ({name})"))
                                .unwrap_or_default();
                            format!("the JoinHandle of {target}{name}")
                        }
                        Waiting::Group(live) => {
                            format!("its task group's {live} running child task(s)")
                        }
                        Waiting::Primitive(primitive) => self.describe_wait(primitive),
                    },
                ),
                last_poll_step: slot.last_poll_step as u64,
            })
            .collect();
        blocked.sort_by_key(|blocked| blocked.task);
        blocked
    }

    /// Adds where the task awaited, when a seedloop future knows it.
    fn awaited_at(&self, slot: usize, waits_on: String) -> String {
        match self.sites.get(slot).copied().flatten() {
            Some(site) => format!("{waits_on}, awaited at {site}"),
            None => waits_on,
        }
    }

    /// "Lock 0 (accounts), held by task 2 (transfer-2)".
    fn describe_wait(&self, primitive: u32) -> String {
        let mut text = self.trace.primitive_label(primitive);
        let holders = self
            .primitives
            .entries
            .get(primitive as usize)
            .map(|entry| entry.holders.as_slice())
            .unwrap_or_default();
        for (index, holder) in holders.iter().enumerate() {
            text.push_str(if index == 0 { ", held by " } else { " and " });
            text.push_str(&holder.task.to_string());
            if let Some(name) = self.trace.task_name(holder.task) {
                text.push_str(&format!(" ({name})"));
            }
        }
        text
    }

    /// The step-based starvation limit: fails when a waiter has waited too many steps.
    fn check_wait_steps(&self) -> Result<(), Stop> {
        let limit = self.config.max_wait_steps.unwrap_or(u64::MAX);
        for (primitive, entry) in self.primitives.entries.iter().enumerate() {
            if let Some(start) = entry.oldest_wait {
                if self.step.saturating_sub(start.step) > limit {
                    return Err(self.starvation(primitive as u32, start));
                }
            }
        }
        Ok(())
    }

    /// The time-based starvation limit, checked before the clock jumps to `deadline`:
    /// fails, at the instant the limit passed, when a waiter would wait too long.
    fn check_wait_time(&mut self, deadline: u64, max_wait: Duration) -> Result<(), Stop> {
        let max_wait = max_wait.as_nanos().min(u64::MAX as u128) as u64;
        let oldest = self
            .primitives
            .entries
            .iter()
            .enumerate()
            .filter_map(|(primitive, entry)| Some((entry.oldest_wait?, primitive as u32)))
            .min_by_key(|(start, primitive)| (start.time_nanos, *primitive));
        let Some((start, primitive)) = oldest else {
            return Ok(());
        };
        let limit = start.time_nanos.saturating_add(max_wait);
        if deadline <= limit {
            return Ok(());
        }
        if limit > self.now_nanos {
            self.now_nanos = limit;
            self.record(EventKind::Advance, None, None);
        }
        Err(self.starvation(primitive, start))
    }

    fn wait_cycle(&self, chain: Vec<(TaskRef, u32)>) -> Stop {
        let cycle = chain
            .into_iter()
            .map(|(task, primitive)| BlockedTask {
                task: task.id,
                name: self.trace.task_name(task.id).map(str::to_string),
                waits_on: self.awaited_at(task.slot as usize, self.describe_wait(primitive)),
                last_poll_step: self.slots[task.slot as usize].last_poll_step as u64,
            })
            .collect();
        Box::new(FailureKind::WaitCycle { cycle })
    }

    fn starvation(&self, primitive: u32, start: WaitStart) -> Stop {
        Box::new(FailureKind::Starvation {
            task: start.task,
            name: self.trace.task_name(start.task).map(str::to_string),
            primitive: self.trace.primitive_label(primitive),
            waited: Duration::from_nanos(self.now_nanos.saturating_sub(start.time_nanos)),
            waited_steps: self.step.saturating_sub(start.step),
        })
    }

    /// The primitive a task waits on, if it is idle (or the task that just blocked)
    /// and waits on that one thing only. Timers are checked once a whole cycle is
    /// found.
    fn blocked_on(&self, task: TaskRef, start: TaskRef) -> Option<u32> {
        let slot = self.slots.get(task.slot as usize)?;
        if slot.id != task.id || slot.state == State::Free {
            return None;
        }
        if task != start && slot.state != State::Idle {
            return None;
        }
        let Waiting::Primitive(primitive) = slot.waiting else {
            return None;
        };
        // Who can wake the task holds a clone of its waker: the slot holds two
        // references (its waker state and its waker) and the primitive's wait queue
        // one. Any more (a second primitive in a `select`, a timer, a channel outside
        // seedloop) can still wake it, so it is not blocked for good.
        if Arc::strong_count(&slot.waker_state) != WAKERS_OF_A_TASK_BLOCKED_ON_ONE_THING {
            return None;
        }
        Some(primitive)
    }

    /// Whether `start`, which has just blocked on a primitive, is blocked for good:
    /// every holder of what it waits on is blocked for good too, transitively, the
    /// chain closing in a cycle. Returns the chain (task, primitive it waits on) from
    /// `start` along first holders until a task repeats.
    fn find_wait_cycle(&self, start: TaskRef) -> Option<Vec<(TaskRef, u32)>> {
        // Bounds the search on pathological graphs: past it, nothing is reported.
        let mut budget: usize = 4096;
        let mut path = Vec::new();
        let mut involved = Vec::new();
        if !self.stuck(start, start, &mut path, &mut involved, &mut budget) {
            return None;
        }
        // A task with a pending timer (a `timeout` around its wait) can still be freed.
        if involved
            .iter()
            .any(|task: &TaskRef| self.timers.has_timer_of(task.id))
        {
            return None;
        }
        let mut chain: Vec<(TaskRef, u32)> = Vec::new();
        let mut task = start;
        while let Some(primitive) = self.blocked_on(task, start) {
            if chain.iter().any(|(seen, _)| *seen == task) {
                break;
            }
            chain.push((task, primitive));
            let holder = self.primitives.entries[primitive as usize].holders[0];
            task = TaskRef {
                slot: holder.slot,
                id: holder.task,
            };
        }
        Some(chain)
    }

    fn stuck(
        &self,
        task: TaskRef,
        start: TaskRef,
        path: &mut Vec<TaskRef>,
        involved: &mut Vec<TaskRef>,
        budget: &mut usize,
    ) -> bool {
        if path.contains(&task) {
            // Back on the path: a cycle (through `start` or ahead of it).
            return true;
        }
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let Some(primitive) = self.blocked_on(task, start) else {
            return false;
        };
        let holders = &self.primitives.entries[primitive as usize].holders;
        if holders.is_empty() {
            return false;
        }
        path.push(task);
        involved.push(task);
        let all_stuck = holders.iter().all(|holder| {
            let holder = TaskRef {
                slot: holder.slot,
                id: holder.task,
            };
            self.stuck(holder, start, path, involved, budget)
        });
        path.pop();
        all_stuck
    }

    fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.now_nanos - self.start_nanos)
    }
}

impl Shared {
    pub(crate) fn new(run_id: u64, core: Core) -> Rc<Shared> {
        Rc::new(Shared {
            run_id,
            thread_run: super::waker::set_thread_run(run_id),
            owner: std::thread::current().id(),
            wakes: RefCell::new(recycle::take(&SPARE_WAKES)),
            core: RefCell::new(core),
            current: Cell::new(None),
            current_waker: Cell::new((std::ptr::null(), std::ptr::null())),
            current_generation: Cell::new(0),
            self_woken: Cell::new(false),
            check_wait_cycle: Cell::new(false),
            suspension_site: Cell::new(None),
        })
    }

    /// Wakes the running task if `waker` is its own waker; returns false otherwise.
    #[inline]
    pub(crate) fn wake_current(&self, waker: &Waker) -> bool {
        if self.current.get().is_none() || identity(waker) != self.current_waker.get() {
            return false;
        }
        self.self_woken.set(true);
        true
    }

    /// Makes the task in `(slot, generation)` ready, if that task still lives and is
    /// idle; a task waking itself is queued when its poll returns.
    #[inline]
    pub(crate) fn wake(&self, slot: u32, generation: u32) {
        let by = match self.current.get() {
            Some(task) if task.slot == slot => {
                if generation == self.current_generation.get() {
                    self.self_woken.set(true);
                }
                return;
            }
            Some(task) => task.id.index(),
            None => u32::MAX,
        };
        match self.core.try_borrow_mut() {
            Ok(mut core) => core.make_ready(slot, generation, by),
            Err(_) => self.wakes.borrow_mut().push((slot, generation, by)),
        }
    }

    /// Spawns a task; panics at the task limit.
    pub(crate) fn spawn(
        &self,
        name: Option<Box<str>>,
        future: BoxedTask,
        catch_panics: bool,
    ) -> TaskKey {
        let mut core = self.core.borrow_mut();
        if core.live_tasks >= core.config.max_tasks {
            let limit = core.config.max_tasks;
            drop(core);
            panic!("task limit reached: {limit} tasks alive; raise it with Sim::max_tasks if the program really needs more");
        }
        core.live_tasks += 1;
        core.stats.tasks_spawned += 1;
        let key = core.insert(self, name, Some(future), catch_panics);
        let parent = self.current.get().map(|task| task.id);
        core.record(EventKind::Spawn, parent, Some(key.id.index()));
        key
    }

    /// Requests cancellation; returns whether the task was still alive.
    pub(crate) fn cancel(&self, key: TaskKey) -> bool {
        let mut core = self.core.borrow_mut();
        let Some(entry) = core.slots.get_mut(key.slot as usize) else {
            return false;
        };
        if entry.generation != key.generation || entry.state == State::Free {
            return false;
        }
        let task = TaskRef {
            slot: key.slot,
            id: key.id,
        };
        let by = self.current.get().map(|task| task.id.index());
        core.request_cancel(task, by);
        true
    }

    /// Records an event about the running task.
    pub(crate) fn record_current(&self, kind: EventKind, other: Option<u32>) {
        let task = self.current.get().map(|task| task.id);
        self.core.borrow_mut().record(kind, task, other);
    }

    /// Registers a synchronization primitive for this run; returns its number.
    pub(crate) fn register_primitive(&self, kind: &'static str, name: Option<Box<str>>) -> u32 {
        let mut core = self.core.borrow_mut();
        core.primitives.entries.push(Default::default());
        let number = core.trace.register_primitive(kind, name);
        debug_assert_eq!(number as usize + 1, core.primitives.entries.len());
        number
    }

    /// Records a synchronization event about `task` (or the running task).
    pub(crate) fn sync_event(&self, kind: EventKind, task: Option<TaskId>, primitive: u32) {
        let task = task.or_else(|| self.current.get().map(|task| task.id));
        self.core.borrow_mut().record(kind, task, Some(primitive));
    }

    /// Notes that `task` holds `count` more units (permits) of `primitive`.
    pub(crate) fn add_holder(&self, primitive: u32, task: TaskRef, count: u64) {
        self.core
            .borrow_mut()
            .primitives
            .add_holder(primitive, task.id, task.slot, count);
    }

    /// Notes that `task` gave back `count` units of `primitive`.
    pub(crate) fn remove_holder(&self, primitive: u32, task: TaskId, count: u64) {
        self.core
            .borrow_mut()
            .primitives
            .remove_holder(primitive, task, count);
    }

    /// The running task, the step and the time: when a wait begins.
    pub(crate) fn wait_start(&self) -> Option<WaitStart> {
        let task = self.current.get()?;
        let core = self.core.borrow();
        Some(WaitStart {
            task: task.id,
            step: core.step,
            time_nanos: core.now_nanos,
        })
    }

    /// Notes the oldest current waiter of `primitive` (for the starvation limits).
    pub(crate) fn set_oldest_wait(&self, primitive: u32, start: Option<WaitStart>) {
        self.core
            .borrow_mut()
            .primitives
            .set_oldest_wait(primitive, start);
    }

    /// Notes that the running task waits on `primitive`; for locks and semaphores
    /// (`holds`), the executor checks for a wait-for cycle once the poll returns.
    pub(crate) fn block_on(&self, primitive: u32, holds: bool) {
        self.set_waiting(Waiting::Primitive(primitive));
        if holds {
            self.check_wait_cycle.set(true);
        }
    }

    /// Notes where the running task's pending seedloop future was created.
    #[inline]
    pub(crate) fn note_site(&self, site: Site) {
        self.suspension_site.set(Some(site));
    }

    /// Notes what the current task waits on (for deadlock reports).
    pub(crate) fn set_waiting(&self, waiting: Waiting) {
        if let Some(task) = self.current.get() {
            self.core.borrow_mut().slots[task.slot as usize].waiting = waiting;
        }
    }

    fn drain_wakes(&self) {
        let mut wakes = self.wakes.borrow_mut();
        if wakes.is_empty() {
            return;
        }
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
            let key = core.insert(self, Some("main".into()), None, false);
            debug_assert_eq!(key.id, TaskId::MAIN);
        }
        let result = self.run_loop(&mut main);
        let cleanup = self.drop_all(&mut main, result.is_ok());
        let result = result.and(cleanup);
        self.thread_run.store(0, Ordering::Release);
        let mut core = self.core.borrow_mut();
        core.stats.elapsed = core.elapsed();
        core.stats.steps = core.step;
        result
    }

    fn run_loop(&self, main: &mut Option<MainFuture<'_>>) -> Result<(), Stop> {
        loop {
            self.drain_wakes();
            let pick = self.core.borrow_mut().pick()?;
            match pick {
                Some(Pick::Poll(task, generation, future, waker)) => {
                    if self.poll(task, generation, future, waker, main)? {
                        return Ok(());
                    }
                }
                Some(Pick::Cancel(task, future)) => {
                    self.drop_task(task, future, EventKind::Cancelled)?
                }
                None => {
                    if !self.fire_timers()? {
                        let core = self.core.borrow();
                        return Err(Box::new(FailureKind::Deadlock {
                            blocked: core.blocked_tasks(),
                        }));
                    }
                }
            }
        }
    }

    /// Polls one task; returns whether the main future finished.
    fn poll(
        &self,
        task: TaskRef,
        generation: u32,
        mut future: Option<BoxedTask>,
        waker: Waker,
        main: &mut Option<MainFuture<'_>>,
    ) -> Result<bool, Stop> {
        let is_main = task.id == TaskId::MAIN;
        self.current.set(Some(task));
        self.current_waker.set(identity(&waker));
        self.current_generation.set(generation);
        // A wake recorded while a task was being dropped means nothing for this poll.
        self.self_woken.set(false);
        self.check_wait_cycle.set(false);
        self.suspension_site.set(None);
        let mut cx = Context::from_waker(&waker);
        let result = catch_unwind(AssertUnwindSafe(|| match (&mut future, is_main) {
            (Some(future), _) => future.as_mut().poll_task(&mut cx),
            (None, true) => main
                .as_mut()
                .expect("main future present")
                .as_mut()
                .poll(&mut cx),
            (None, false) => unreachable!("{:?} polled without a future", task.id),
        }));
        self.current.set(None);
        self.current_waker.set((std::ptr::null(), std::ptr::null()));
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
                let entry = &mut core.slots[task.slot as usize];
                entry.waker = Some(waker);
                if entry.cancel_requested {
                    // A task that cancelled itself stops once its poll returns.
                    drop(core);
                    return self
                        .drop_task(task, future, EventKind::Cancelled)
                        .map(|()| false);
                }
                entry.state = State::Idle;
                entry.future = future;
                let site = self.suspension_site.get();
                if entry.is_cancel_target {
                    core.target_suspended(task, site);
                }
                core.sites[task.slot as usize] = site;
                if self_woken {
                    core.make_ready(task.slot, generation, task.id.index());
                } else if self.check_wait_cycle.take() && core.config.detect_wait_cycles {
                    if let Some(chain) = core.find_wait_cycle(task) {
                        return Err(core.wait_cycle(chain));
                    }
                }
                Ok(false)
            }
            Err(payload) => {
                let message = panic_message(&*payload);
                drop(payload);
                self.task_panicked(task, future, &message).map(|()| false)
            }
        }
    }

    /// Handles a panic in `task`: fails the run, or (when configured to continue)
    /// hands the message to the task's awaiter and drops the task.
    fn task_panicked(
        &self,
        task: TaskRef,
        future: Option<BoxedTask>,
        message: &str,
    ) -> Result<(), Stop> {
        let mut core = self.core.borrow_mut();
        let index = core.trace.add_message(message);
        core.record(EventKind::Panic, Some(task.id), Some(index));
        let fail = Box::new(FailureKind::Panic {
            task: task.id,
            name: core.trace.task_name(task.id).map(str::to_string),
            message: message.to_string(),
        });
        let caught = core.config.continue_on_panic || core.slots[task.slot as usize].catch_panics;
        if task.id == TaskId::MAIN || !caught {
            // Put the future back so the end-of-run cleanup drops it in order.
            let entry = &mut core.slots[task.slot as usize];
            entry.future = future;
            entry.state = State::Idle;
            return Err(fail);
        }
        drop(core);
        let mut future = future;
        if let Some(future) = &mut future {
            future.as_mut().set_panicked(message);
        }
        self.current.set(Some(task));
        let dropped = catch_unwind(AssertUnwindSafe(|| drop(future)));
        self.current.set(None);
        self.core.borrow_mut().release(task.slot);
        dropped.map_err(|payload| self.drop_panic(task, &*payload))
    }

    fn drop_panic(&self, task: TaskRef, payload: &(dyn std::any::Any + Send)) -> Stop {
        let message = format!("panic while dropping the task: {}", panic_message(payload));
        let mut core = self.core.borrow_mut();
        let index = core.trace.add_message(&message);
        core.record(EventKind::Panic, Some(task.id), Some(index));
        Box::new(FailureKind::Panic {
            task: task.id,
            name: core.trace.task_name(task.id).map(str::to_string),
            message,
        })
    }

    /// Drops a task's future inside the simulation, as that task, and frees its slot.
    fn drop_task(
        &self,
        task: TaskRef,
        future: Option<BoxedTask>,
        kind: EventKind,
    ) -> Result<(), Stop> {
        self.current.set(Some(task));
        let dropped = catch_unwind(AssertUnwindSafe(|| drop(future)));
        self.current.set(None);
        let mut core = self.core.borrow_mut();
        core.record(kind, Some(task.id), None);
        core.release(task.slot);
        drop(core);
        dropped.map_err(|payload| self.drop_panic(task, &*payload))
    }

    /// Advances the clock to the earliest timer and fires every timer due then, in an
    /// order drawn from the choices. Returns false when no timer is pending.
    fn fire_timers(&self) -> Result<bool, Stop> {
        let mut core = self.core.borrow_mut();
        let Some(deadline) = core.timers.next_deadline() else {
            return Ok(false);
        };
        let limit = core
            .start_nanos
            .saturating_add(core.config.max_time.as_nanos().min(u64::MAX as u128) as u64);
        if deadline > limit {
            return Err(Box::new(FailureKind::TimeLimit {
                max_time: core.config.max_time,
            }));
        }
        debug_assert!(deadline >= core.now_nanos, "the clock never goes back");
        if core.primitives.waiting > 0 {
            if let Some(max_wait) = core.config.max_wait {
                core.check_wait_time(deadline, max_wait)?;
            }
        }
        if deadline > core.now_nanos {
            core.now_nanos = deadline;
            core.record(EventKind::Advance, None, None);
        }
        let mut due = std::mem::take(&mut core.due);
        core.timers.pop_due(deadline, &mut due);
        // An in-place shuffle, linear in the number of timers: decision 0 keeps the
        // next timer in registration order.
        for index in 0..due.len() {
            let remaining = (due.len() - index) as u64;
            let chosen = index + core.choose(Stream::Timers, remaining) as usize;
            due.swap(index, chosen);
            core.record(EventKind::TimerFire, Some(due[index].owner), None);
        }
        core.stats.timers_fired += due.len() as u64;
        drop(core);
        for timer in due.drain(..) {
            timer.waker.wake();
        }
        self.core.borrow_mut().due = due;
        Ok(true)
    }

    /// Drops the main future and every task still alive, in id order, inside the
    /// simulation. Drops may spawn tasks (cleanup); those are dropped in turn.
    fn drop_all(&self, main: &mut Option<MainFuture<'_>>, record: bool) -> Result<(), Stop> {
        let mut result = Ok(());
        self.core.borrow_mut().trace_closed = !record;
        let main_task = TaskRef {
            slot: 0,
            id: TaskId::MAIN,
        };
        self.current.set(Some(main_task));
        let dropped = catch_unwind(AssertUnwindSafe(|| drop(main.take())));
        self.current.set(None);
        if let Err(payload) = dropped {
            result = Err(self.drop_panic(main_task, &*payload));
        }
        const MAX_CLEANUP_ROUNDS: usize = 1000;
        for _ in 0..MAX_CLEANUP_ROUNDS {
            let live: Vec<TaskRef> = {
                let core = self.core.borrow();
                let mut live: Vec<TaskRef> = core
                    .slots
                    .iter()
                    .enumerate()
                    .filter(|(_, slot)| slot.state != State::Free && slot.id != TaskId::MAIN)
                    .map(|(index, slot)| TaskRef {
                        slot: index as u32,
                        id: slot.id,
                    })
                    .collect();
                live.sort_by_key(|task| task.id);
                live
            };
            if live.is_empty() {
                break;
            }
            for task in live {
                let future = {
                    let mut core = self.core.borrow_mut();
                    core.stats.leaked += 1;
                    core.record(EventKind::Leaked, Some(task.id), None);
                    core.slots[task.slot as usize].future.take()
                };
                self.current.set(Some(task));
                let dropped = catch_unwind(AssertUnwindSafe(|| drop(future)));
                self.current.set(None);
                self.core.borrow_mut().release(task.slot);
                if let (Err(payload), true) = (dropped, result.is_ok()) {
                    result = Err(self.drop_panic(task, &*payload));
                }
            }
        }
        let wakers = self.core.borrow_mut().timers.clear();
        drop(wakers);
        self.wakes.borrow_mut().clear();
        result
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_slot_fits_one_cache_line() {
        assert_eq!(std::mem::size_of::<super::Slot>(), 64);
    }
}
