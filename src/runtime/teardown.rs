//! Cancellation and teardown: every way a task's future is dropped.
//!
//! A task's future is dropped inside the simulation, as that task (so its `Drop` code
//! may read the clock, spawn cleanup tasks and release locks, and what it does is
//! traced under its name), through one path, [`Shared::drop_as`], with one panic
//! guard: a cancelled task, a task that panicked (when its panic is caught), the main
//! future at the end of a run, and the tasks still alive then ("leaked").
//!
//! Teardown drops what is left in rounds, in id order: dropping a task may spawn new
//! ones (cleanup), which the next round drops. A program whose drops keep spawning
//! would never end, so teardown stops after [`MAX_TEARDOWN_ROUNDS`] rounds, forgets
//! (without dropping: a drop would spawn again) the tasks still alive, and fails the
//! run with [`FailureKind::TeardownLimit`] naming the chain of spawns.

use super::executor::{BoxedTask, MainFuture, Shared, Stop};
use super::quiet_panics::{self, Panic};
use super::slab::State;
use super::world::{HostId, MAIN_HOST};
use crate::failure::FailureKind;
use crate::id::TaskId;
use crate::scheduler::TaskRef;
use crate::trace::EventKind;

/// The most rounds of dropping leftover tasks at the end of a run.
pub(crate) const MAX_TEARDOWN_ROUNDS: u32 = 1000;

/// How many spawns back a teardown failure traces the chain.
const CHAIN_LENGTH: usize = 8;

const MAIN: TaskRef = TaskRef {
    slot: 0,
    id: TaskId::MAIN,
};

impl Shared {
    /// Drops `value` inside the simulation, as `task`; a panic in its `Drop` fails the
    /// run.
    pub(super) fn drop_as<T>(&self, task: TaskRef, value: T) -> Result<(), Stop> {
        let previous = self.current.replace(Some(task));
        let dropped = quiet_panics::catch(move || drop(value));
        self.current.set(previous);
        dropped.map_err(|panic| self.drop_panic(task, panic))
    }

    /// Drops a cancelled task's future and frees its slot.
    pub(super) fn cancel_now(&self, task: TaskRef, future: Option<BoxedTask>) -> Result<(), Stop> {
        let dropped = self.drop_as(task, future);
        let mut core = self.core.borrow_mut();
        core.record(EventKind::Cancelled, Some(task.id), None);
        core.release(task.slot);
        dropped
    }

    fn drop_panic(&self, task: TaskRef, panic: Panic) -> Stop {
        let message = format!("panic while dropping the task: {}", panic.message);
        let mut core = self.core.borrow_mut();
        let index = core.trace.add_message(&message);
        core.record(EventKind::Panic, Some(task.id), Some(index));
        Box::new(FailureKind::Panic {
            task: task.id,
            name: core.trace.task_name(task.id).map(str::to_string),
            message,
            location: panic.location,
        })
    }

    /// Crashes `host`: every task on it is dropped now, in id order, inside the
    /// simulation (a task that is queued keeps its slot until the scheduler reaps it;
    /// the running task, if it is on the host, stops at its next await). A panic in a
    /// `Drop` fails the run at its next step.
    pub(crate) fn crash_host(&self, host: HostId) {
        let running = self.current.get();
        let victims = {
            let mut core = self.core.borrow_mut();
            assert!(
                host != MAIN_HOST,
                "the host `main` cannot crash: it runs the main future; put the code to crash on a Host of its own"
            );
            if !core.hosts.is_up(host) {
                return;
            }
            core.hosts.set_up(host, false);
            let name = core.hosts.name(host).to_string();
            let note = core.trace.add_message(&name);
            core.record(EventKind::Crash, running.map(|task| task.id), Some(note));
            let mut victims = core.tasks.live_tasks();
            victims.retain(|task| core.host_of(*task) == host);
            victims
        };
        for task in victims {
            if Some(task) == running {
                self.core.borrow_mut().request_cancel(task, None);
                continue;
            }
            let future = {
                let mut core = self.core.borrow_mut();
                core.record(EventKind::Cancelled, Some(task.id), None);
                let entry = &mut core.tasks[task.slot];
                entry.cancel_requested = true;
                entry.future.take()
            };
            let dropped = self.drop_as(task, future);
            let mut core = self.core.borrow_mut();
            if core.tasks[task.slot].state != State::Queued {
                core.release(task.slot);
            }
            if let (Err(stop), None) = (dropped, &core.stop) {
                core.stop = Some(stop);
            }
        }
    }

    /// Brings a crashed host back up, with nothing running.
    pub(crate) fn restart_host(&self, host: HostId) {
        let mut core = self.core.borrow_mut();
        if core.hosts.is_up(host) {
            return;
        }
        core.hosts.set_up(host, true);
        let name = core.hosts.name(host).to_string();
        let note = core.trace.add_message(&name);
        let running = self.current.get().map(|task| task.id);
        core.record(EventKind::Restart, running, Some(note));
    }

    /// Handles a panic in `task`: fails the run, or (when configured to continue)
    /// hands the message to the task's awaiter and drops the task.
    pub(super) fn task_panicked(
        &self,
        task: TaskRef,
        future: Option<BoxedTask>,
        panic: Panic,
    ) -> Result<(), Stop> {
        let mut core = self.core.borrow_mut();
        let index = core.trace.add_message(&panic.message);
        core.record(EventKind::Panic, Some(task.id), Some(index));
        let caught = core.config.continue_on_panic || core.tasks[task.slot].catch_panics;
        if task.id == TaskId::MAIN || !caught {
            let fail = Box::new(FailureKind::Panic {
                task: task.id,
                name: core.trace.task_name(task.id).map(str::to_string),
                message: panic.message.clone(),
                location: panic.location.clone(),
            });
            // Put the future back so the end-of-run cleanup drops it in order.
            let entry = &mut core.tasks[task.slot];
            entry.future = future;
            entry.state = State::Idle;
            return Err(fail);
        }
        drop(core);
        let mut future = future;
        if let Some(future) = &mut future {
            if future.as_mut().set_panicked(&panic.message) {
                self.report_error_never_retrieved(Some(task.id), &panic.message);
            }
        }
        let dropped = self.drop_as(task, future);
        self.core.borrow_mut().release(task.slot);
        dropped
    }

    /// Drops the main future and every task still alive, in id order, inside the
    /// simulation. Drops may spawn tasks (cleanup); those are dropped in turn.
    pub(super) fn drop_all(
        &self,
        main: &mut Option<MainFuture<'_>>,
        record: bool,
    ) -> Result<(), Stop> {
        if !record {
            // A failed run's trace ends at the failure.
            self.core.borrow_mut().trace.close();
        }
        let mut result = self.drop_as(MAIN, main.take());
        for _ in 0..MAX_TEARDOWN_ROUNDS {
            let live = self.leftover_tasks();
            if live.is_empty() {
                break;
            }
            for task in live {
                let future = {
                    let mut core = self.core.borrow_mut();
                    core.stats.leaked += 1;
                    core.record(EventKind::Leaked, Some(task.id), None);
                    core.tasks[task.slot].future.take()
                };
                let dropped = self.drop_as(task, future);
                self.core.borrow_mut().release(task.slot);
                result = result.and(dropped);
            }
        }
        let left = self.leftover_tasks();
        if !left.is_empty() {
            result = result.and(Err(self.forget_endless(left)));
        }
        let wakers = self.core.borrow_mut().timers.clear();
        drop(wakers);
        self.timer_cancels.borrow_mut().clear();
        result
    }

    /// Every task still alive but the main future, in id order.
    fn leftover_tasks(&self) -> Vec<TaskRef> {
        let mut live = self.core.borrow().tasks.live_tasks();
        live.retain(|task| task.id != TaskId::MAIN);
        live
    }

    /// Forgets the tasks that teardown could not finish (dropping them would spawn
    /// again) and describes the chain of spawns that kept it going.
    fn forget_endless(&self, left: Vec<TaskRef>) -> Stop {
        let mut core = self.core.borrow_mut();
        let newest = left.last().map(|task| task.id);
        for task in &left {
            core.stats.leaked += 1;
            // Not dropped: its `Drop` would spawn again. Its memory is leaked.
            std::mem::forget(core.tasks[task.slot].future.take());
            core.release(task.slot);
        }
        let chain = newest
            .map(|task| spawn_chain(&core.trace, task))
            .unwrap_or_default()
            .into_iter()
            .map(|task| match core.trace.task_name(task) {
                Some(name) => format!("{task} ({name})"),
                None => task.to_string(),
            })
            .collect();
        Box::new(FailureKind::TeardownLimit {
            rounds: MAX_TEARDOWN_ROUNDS,
            left: left.len() as u64,
            chain,
        })
    }
}

/// `task` and the tasks that spawned it, newest first, as far as the trace tells.
fn spawn_chain(trace: &crate::trace::Trace, task: TaskId) -> Vec<TaskId> {
    let mut chain = vec![task];
    while chain.len() < CHAIN_LENGTH {
        let child = chain[chain.len() - 1];
        let parent = trace.events().iter().rev().find_map(|event| {
            (event.kind() == EventKind::Spawn && event.other_task() == Some(child))
                .then(|| event.task())
                .flatten()
        });
        match parent {
            Some(parent) if !chain.contains(&parent) => chain.push(parent),
            _ => break,
        }
    }
    chain
}
