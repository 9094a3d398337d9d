//! What code running inside a simulation may ask of it.
//!
//! The layers above the runtime (`time`, `task`, `sync`, `rand`) reach the running
//! simulation through [`super::context`] and then only through these methods: the
//! clock and its timers, decisions, the running task, trace events, the primitives'
//! bookkeeping (holders, waiters, declared waits) and the cooperative budget. None of
//! them reaches into the executor's state, so the executor can change shape without
//! them noticing.

use super::context;
use super::debug::DebugFinding;
use super::executor::{Shared, Site, Waiting};
use super::primitives::WaitStart;
use super::timer::TimerKey;
use super::timer::{TimerAction, WorldEvent, WORLD_TIMER};
use super::waker::{self, TaskWake, Wakeup};
use super::world::{HostError, HostId, MAIN_HOST};
use crate::choices::Stream;
use crate::id::TaskId;
use crate::scheduler::TaskRef;
use crate::trace::EventKind;
use std::task::{Context, Poll, Waker};

/// A wait declared by a wait queue, to be ended when the waiter is granted, closed or
/// dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeclaredWait {
    task: TaskRef,
    primitive: u32,
    own: bool,
}

/// Spends one unit of the running task's budget; once it is spent, returns `Pending`
/// and wakes the task, so that it runs again at its next turn. Seedloop's futures call
/// it before they complete without waiting; outside a simulation it always proceeds.
#[inline]
pub(crate) fn poll_proceed(cx: &Context<'_>) -> Poll<()> {
    let proceed = context::try_with_current(|shared| {
        if shared.current.get().is_none() {
            return true;
        }
        let left = shared.budget.get();
        if left == 0 {
            return false;
        }
        shared.budget.set(left - 1);
        true
    })
    .unwrap_or(true);
    if proceed {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Shared {
    /// The run's id (tells runs apart; never in a trace).
    #[inline]
    pub(crate) fn run_id(&self) -> u64 {
        self.origin.run_id
    }

    /// The running task, if a task is being polled or dropped.
    #[inline]
    pub(crate) fn current_task(&self) -> Option<TaskRef> {
        self.current.get()
    }

    /// The network's conditions for this run.
    pub(crate) fn net_config(&self) -> &crate::config::NetConfig {
        &self.net_config
    }

    /// The run's disk configuration.
    pub(crate) fn disk_config(&self) -> &crate::config::DiskConfig {
        &self.disk_config
    }

    /// The run's fault plan, if any.
    pub(crate) fn fault_plan(&self) -> Option<&crate::config::FaultPlan> {
        self.fault_plan.as_ref()
    }

    /// A task's name.
    pub(crate) fn task_name(&self, task: TaskId) -> Option<String> {
        self.core.borrow().trace.task_name(task).map(str::to_string)
    }

    /// The virtual clock, in nanoseconds since the epoch.
    #[inline]
    pub(crate) fn now_nanos(&self) -> u64 {
        self.core.borrow().now_nanos
    }

    /// A decision from `stream`, recorded for replay.
    pub(crate) fn choose(&self, stream: Stream, bound: u64) -> u64 {
        self.core.borrow_mut().choose(stream, bound)
    }

    /// Whether an event of probability `rate` happens, drawn from `stream`: the top
    /// `rate` of a range of 2^20 draws, never decision 0 (the production order has no
    /// faults), and nothing drawn for a rate of 0 or less.
    pub(crate) fn chance(&self, stream: Stream, rate: f64) -> bool {
        const SCALE: u64 = 1 << 20;
        rate > 0.0 && {
            let draw = self.choose(stream, SCALE);
            draw > 0 && (draw as f64) >= (1.0 - rate) * SCALE as f64
        }
    }

    /// Registers a timer for the running task (the main future outside a task).
    pub(crate) fn register_timer(&self, deadline_nanos: u64, waker: &Waker) -> TimerKey {
        let owner = self.current.get().map_or(TaskId::MAIN, |task| task.id);
        self.core.borrow_mut().timers.register(
            deadline_nanos,
            TimerAction::Wake(waker.clone()),
            owner,
        )
    }

    /// Registers a timer of the simulated world (a message's delivery) that runs
    /// `fire(self, argument)` after a drawn delay: `min_nanos` plus a whole number of
    /// microseconds up to `spread_micros`, drawn from `stream` (decision 0 is
    /// `min_nanos`), and no earlier than `not_before_nanos`. Returns the instant it
    /// fires. The timer belongs to no task, so it is not a task's way out of a wait
    /// cycle, and its firing is not a trace event of its own (what `fire` does is). It
    /// ends with the run: a world event never fires in another run than the one that
    /// registered it. One borrow of the executor's state for the clock, the draw and
    /// the timer: the network sends every message through here.
    pub(crate) fn register_world_timer_after(
        &self,
        stream: Stream,
        min_nanos: u64,
        spread_micros: u64,
        not_before_nanos: u64,
        fire: fn(&Shared, u64),
        argument: u64,
    ) -> u64 {
        let mut core = self.core.borrow_mut();
        let drawn = core.choose(stream, spread_micros.saturating_add(1));
        let deadline = core
            .now_nanos
            .saturating_add(min_nanos)
            .saturating_add(drawn.saturating_mul(1000))
            .max(not_before_nanos);
        core.timers.register(
            deadline,
            TimerAction::World(WorldEvent { fire, argument }),
            WORLD_TIMER,
        );
        deadline
    }

    /// Points a live timer at `waker` (its future was polled by another waker).
    pub(crate) fn update_timer(&self, key: TimerKey, waker: &Waker) {
        let replaced = self.core.borrow_mut().timers.update_waker(key, waker);
        // Dropped with the state released: a waker's drop may run user code.
        drop(replaced);
    }

    /// Forgets a timer; when the executor's state is borrowed (a timer's future
    /// dropped by code the executor runs), the cancellation is carried out before the
    /// next step instead of being skipped.
    pub(crate) fn cancel_timer(&self, key: TimerKey) {
        match self.core.try_borrow_mut() {
            Ok(mut core) => {
                let waker = core.timers.cancel(key);
                drop(core);
                drop(waker);
            }
            Err(_) => {
                self.timer_cancels.borrow_mut().push(key);
                self.deferred.set(true);
            }
        }
    }

    /// Records an event about the running task.
    #[inline]
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

    /// Whether debug mode is on.
    fn debug_enabled(&self) -> bool {
        self.slow_poll.is_some()
    }

    /// Counts an evaluation of the `sometimes!`/`always!` condition `name`.
    pub(crate) fn record_condition(&self, name: &'static str, held: bool) {
        let mut core = self.core.borrow_mut();
        let coverage = core.coverage.entry(name).or_default();
        coverage.reached += 1;
        coverage.held += u64::from(held);
    }

    /// Reports a debug mode finding: on stderr now, and in the run's findings.
    pub(crate) fn report_debug(&self, finding: DebugFinding) {
        eprintln!("seedloop debug: {finding}");
        // A finding made while the executor's state is borrowed (a handle dropped by
        // code the executor runs) is printed, and kept when possible.
        if let Ok(mut core) = self.core.try_borrow_mut() {
            core.debug_findings.push(finding);
        }
    }

    /// A caught panic of `task` (the running task when `None`) that nobody will take
    /// (debug mode).
    pub(crate) fn report_error_never_retrieved(&self, task: Option<TaskId>, message: &str) {
        if !self.debug_enabled() {
            return;
        }
        let Some(task) = task.or_else(|| self.current.get().map(|task| task.id)) else {
            return;
        };
        let name = self
            .core
            .try_borrow()
            .ok()
            .and_then(|core| core.trace.task_name(task).map(str::to_string));
        self.report_debug(DebugFinding::ErrorNeverRetrieved {
            task,
            name,
            message: message.to_string(),
        });
    }

    /// A poll of `task` that took `real_time` (debug mode).
    pub(super) fn report_slow_poll(&self, task: TaskRef, real_time: std::time::Duration) {
        let (name, step) = {
            let core = self.core.borrow();
            (core.trace.task_name(task.id).map(str::to_string), core.step)
        };
        self.report_debug(DebugFinding::SlowPoll {
            task: task.id,
            name,
            real_time,
            site: self.suspension_site.get(),
            step,
        });
    }

    /// The running task's own wake-up, if `waker` is its own waker (not a
    /// combinator's): what a wait queue keeps instead of a clone of the waker.
    #[inline]
    pub(crate) fn own_wake(&self, waker: &Waker) -> Option<TaskWake> {
        if !self.is_current_waker(waker) {
            return None;
        }
        let task = self.current.get()?;
        Some(TaskWake {
            run_id: self.origin.run_id,
            slot: task.slot,
            generation: waker::generation_of(self.current_waker.get()),
        })
    }

    /// Keeps in `slot` how to wake the running task, polled with `waker`: its own
    /// wake-up handle, or a clone of a combinator's waker, replaced only when it
    /// changed (a socket is polled by the same task again and again).
    #[inline]
    pub(crate) fn register_wakeup(&self, slot: &mut Wakeup, waker: &Waker) {
        match (self.own_wake(waker), &*slot) {
            (Some(wake), Wakeup::Own(current)) if wake == *current => {}
            (Some(wake), _) => *slot = Wakeup::Own(wake),
            (None, Wakeup::Foreign(current)) if current.will_wake(waker) => {}
            (None, _) => *slot = Wakeup::Foreign(waker.clone()),
        }
    }

    /// Declares that the running task waits on `primitive`, through its own waker
    /// when `own`, and notes the wait for this poll ([`Shared::note_wait`]).
    pub(crate) fn declare_wait(
        &self,
        primitive: u32,
        own: bool,
        check_cycle: bool,
    ) -> Option<DeclaredWait> {
        let task = self.current.get()?;
        let mut core = self.core.borrow_mut();
        core.primitives
            .declare_wait(task.slot, task.id, primitive, own);
        drop(core);
        self.waiting.set(Waiting::Primitive(primitive));
        if check_cycle {
            self.check_wait_cycle.set(true);
        }
        Some(DeclaredWait {
            task,
            primitive,
            own,
        })
    }

    /// Notes, for this poll, that the running task waits on `primitive` (for deadlock
    /// reports); with `check_cycle` (a lock or semaphore waited on through the task's
    /// own waker) the executor looks for a wait-for cycle once the poll returns.
    pub(crate) fn note_wait(&self, primitive: u32, check_cycle: bool) {
        self.set_waiting(Waiting::Primitive(primitive));
        if check_cycle {
            self.check_wait_cycle.set(true);
        }
    }

    /// Ends a declared wait (granted, closed, or its future dropped).
    pub(crate) fn end_wait(&self, wait: DeclaredWait) {
        self.core.borrow_mut().primitives.end_wait(
            wait.task.slot,
            wait.task.id,
            wait.primitive,
            wait.own,
        );
    }

    /// Notes where the running task's pending seedloop future was created.
    #[inline]
    pub(crate) fn note_site(&self, site: Site) {
        self.suspension_site.set(Some(site));
    }

    /// Notes what the current task waits on (for deadlock reports).
    pub(crate) fn set_waiting(&self, waiting: Waiting) {
        if self.current.get().is_some() {
            self.waiting.set(waiting);
        }
    }

    /// Wakes the running task if `waker` is its own waker; returns false otherwise.
    #[inline]
    pub(crate) fn wake_current(&self, waker: &Waker) -> bool {
        if !self.is_current_waker(waker) {
            return false;
        }
        self.self_woken.set(true);
        true
    }

    /// The running task's host (`main` outside any task).
    pub(crate) fn current_host(&self) -> HostId {
        let core = self.core.borrow();
        self.current
            .get()
            .map_or(MAIN_HOST, |task| core.host_of(task))
    }

    /// Creates a host.
    pub(crate) fn add_host(&self, name: &str) -> Result<HostId, HostError> {
        self.core.borrow_mut().hosts.add(name)
    }

    /// The host named `name`.
    pub(crate) fn find_host(&self, name: &str) -> Option<HostId> {
        self.core.borrow().hosts.find(name)
    }

    /// A host's name.
    pub(crate) fn host_name(&self, host: HostId) -> String {
        self.core.borrow().hosts.name(host).to_string()
    }

    /// How many hosts the world has.
    pub(crate) fn host_count(&self) -> usize {
        self.core.borrow().hosts.len()
    }

    /// Whether a host is up (not crashed).
    pub(crate) fn host_is_up(&self, host: HostId) -> bool {
        self.core.borrow().hosts.is_up(host)
    }

    /// Runs `f` on the layers' world state of type `T` (created on first use). `f`
    /// must not wake tasks or call back into the simulation's world state.
    pub(crate) fn with_extension<T: Default + 'static, R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(self.extensions.borrow_mut().get::<T>())
    }

    /// Records an event of the simulated world with a note; returns the note's index,
    /// which later events about the same thing may reuse ([`Shared::record_noted`]).
    pub(crate) fn record_note(&self, kind: EventKind, note: &str) -> u32 {
        let task = self.current.get().map(|task| task.id);
        let mut core = self.core.borrow_mut();
        let index = core.trace.add_message(note);
        core.record(kind, task, Some(index));
        index
    }

    /// Stores a note for later events ([`Shared::record_noted`]) without recording one.
    pub(crate) fn add_note(&self, note: &str) -> u32 {
        self.core.borrow_mut().trace.add_message(note)
    }

    /// The text of a note.
    pub(crate) fn note_text(&self, note: u32) -> String {
        self.core.borrow().trace.message_text(note).to_string()
    }

    /// Records an event of the simulated world with a note added before.
    #[inline]
    pub(crate) fn record_noted(&self, kind: EventKind, note: u32) {
        let task = self.current.get().map(|task| task.id);
        self.core.borrow_mut().record(kind, task, Some(note));
    }

    /// Fails the run at its next step (a limit of the simulated world was hit inside
    /// a task, where the failure cannot be returned).
    pub(crate) fn fail_soon(&self, kind: crate::failure::FailureKind) {
        let mut core = self.core.borrow_mut();
        if core.stop.is_none() {
            core.stop = Some(Box::new(kind));
        }
    }
}
