//! Creating and cancelling tasks: a task is inserted into the slab on a host (its
//! spawner's, unless told otherwise), named for traces (`db/worker-2` on a host other
//! than `main`), handed to the scheduler, and freed when it ends; cancellation marks
//! it, to be carried out when the scheduler next picks it.

use super::executor::{BoxedTask, Core, Shared, TaskKey};
use super::slab::{NewTask, State};
use super::waker::WakerOrigin;
use super::world::{HostId, MAIN_HOST};
use crate::id::TaskId;
use crate::scheduler::{Scheduler, TaskRef};
use crate::trace::EventKind;

impl Core {
    /// Creates a task (queued); the caller supplies the future (`None` for the main
    /// task).
    #[inline]
    pub(super) fn insert(
        &mut self,
        origin: &WakerOrigin,
        host: HostId,
        name: Option<Box<str>>,
        future: Option<BoxedTask>,
        catch_panics: bool,
    ) -> TaskKey {
        let is_cancel_target = self.target.spawned(name.as_deref(), &mut self.stats);
        let name = self.label_on_host(host, name);
        let id = self.trace.register_task(name);
        if host != MAIN_HOST {
            self.trace.set_task_host(id, self.hosts.name(host));
        }
        let new_task = NewTask {
            id,
            host,
            future,
            catch_panics,
            is_cancel_target,
            step: self.step,
        };
        let (slot, generation) = self.tasks.insert(new_task);
        let task = TaskRef { slot, id };
        self.scheduler.spawned(task, &mut self.choices);
        self.scheduler.ready(task);
        TaskKey {
            slot,
            generation,
            id,
            run_id: origin.run_id,
        }
    }

    /// A task's name as traces show it: on a host other than `main`, prefixed with the
    /// host's name (`db/worker-2`; an unnamed task is just `db`).
    fn label_on_host(&self, host: HostId, name: Option<Box<str>>) -> Option<Box<str>> {
        if host == MAIN_HOST {
            return name;
        }
        let host = self.hosts.name(host);
        Some(match name {
            Some(name) => format!("{host}/{name}").into_boxed_str(),
            None => host.into(),
        })
    }

    /// The host of a live task.
    #[inline]
    pub(super) fn host_of(&self, task: TaskRef) -> HostId {
        self.tasks
            .get(task.slot)
            .map_or(MAIN_HOST, |slot| slot.host)
    }

    /// Frees the slot of a task that ended.
    pub(super) fn release(&mut self, slot: u32) {
        if self.tasks[slot].id != TaskId::MAIN {
            self.live_tasks -= 1;
        }
        self.tasks.release(slot);
    }

    /// Marks a live task for cancellation, carried out when the scheduler next picks
    /// it; an idle task is made ready for that. `by` is the requesting task's index.
    pub(super) fn request_cancel(&mut self, task: TaskRef, by: Option<u32>) {
        let entry = &mut self.tasks[task.slot];
        debug_assert_eq!(
            entry.id, task.id,
            "cancel request for a stale {:?}",
            task.id
        );
        entry.cancel_requested = true;
        if entry.state == State::Idle {
            entry.state = State::Queued;
            self.scheduler.ready(task);
        }
        self.record(EventKind::CancelRequest, Some(task.id), by);
    }
}

impl Shared {
    /// Spawns a task on `host`, or on the spawning task's host; panics at the task
    /// limit and on a host that is down.
    pub(crate) fn spawn(
        &self,
        host: Option<HostId>,
        name: Option<Box<str>>,
        future: BoxedTask,
        catch_panics: bool,
    ) -> TaskKey {
        let mut core = self.core.borrow_mut();
        let host = host.unwrap_or_else(|| {
            self.current
                .get()
                .map_or(MAIN_HOST, |task| core.host_of(task))
        });
        if !core.hosts.is_up(host) {
            let name = core.hosts.name(host).to_string();
            drop(core);
            panic!("cannot spawn on host `{name}`: it is down (crashed); call restart() on its Host first");
        }
        if core.live_tasks >= core.config.max_tasks {
            let limit = core.config.max_tasks;
            drop(core);
            panic!("task limit reached: {limit} tasks alive; raise it with Sim::max_tasks if the program really needs more");
        }
        core.live_tasks += 1;
        core.stats.tasks_spawned += 1;
        let key = core.insert(&self.origin, host, name, Some(future), catch_panics);
        let parent = self.current.get().map(|task| task.id);
        core.record(EventKind::Spawn, parent, Some(key.id.index()));
        key
    }

    /// Requests cancellation; returns whether the task was still alive.
    pub(crate) fn cancel(&self, key: TaskKey) -> bool {
        let mut core = self.core.borrow_mut();
        let Some(entry) = core.tasks.get(key.slot) else {
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
}
