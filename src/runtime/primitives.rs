//! What the executor knows about synchronization primitives, for reports.
//!
//! The primitives themselves live in `sync/`; each registers once per run (lazily, at
//! its first use in the run) and gets a number that trace events and reports use. The
//! executor keeps, per primitive, the tasks that hold it (locks and semaphores) and the
//! oldest waiter still waiting. Holders give deadlock reports their "held by" and let
//! the executor see a cycle in the wait-for graph the moment it forms; the oldest
//! waiter lets it enforce the starvation limits ([`crate::Sim::max_wait`]).
//!
//! It also keeps, per task, the waits the task has declared: a wait queue declares a
//! wait when the task parks in it and ends the declaration when the task is granted,
//! when the primitive closes, or when the waiting future is dropped. Blocking is never
//! inferred from anything else: a task blocked for good is one whose every declared
//! wait is on a primitive whose every holder is blocked for good. A wait registered
//! through a waker that is not the task's own (a combinator such as
//! `FuturesUnordered` polled it) is declared as foreign: what else that combinator
//! waits on is unknown, so such a task is never part of a reported cycle.

use crate::id::TaskId;

/// A task holding (part of) a primitive. `slot` finds the task's executor slot; the
/// id tells a stale entry from the slot's next task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    pub task: TaskId,
    pub slot: u32,
    pub count: u64,
}

/// When the oldest current waiter of a primitive began to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaitStart {
    pub task: TaskId,
    pub step: u64,
    pub time_nanos: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Primitive {
    pub holders: Vec<Holder>,
    pub oldest_wait: Option<WaitStart>,
}

/// The waits one task has declared and not yet ended.
#[derive(Debug)]
pub(crate) struct DeclaredWaits {
    task: TaskId,
    // Primitives waited on through the task's own waker; a primitive appears once per
    // wait (a `select` over two locks of one kind declares two).
    own: Vec<u32>,
    // Waits registered through a waker that is not the task's own.
    foreign: u32,
}

impl Default for DeclaredWaits {
    fn default() -> DeclaredWaits {
        DeclaredWaits {
            // No task has this id: a fresh entry belongs to nobody.
            task: TaskId::new(u32::MAX),
            own: Vec::new(),
            foreign: 0,
        }
    }
}

impl DeclaredWaits {
    /// The primitives waited on through the task's own waker.
    pub(crate) fn own(&self) -> &[u32] {
        &self.own
    }

    /// Whether any wait went through a waker that is not the task's own.
    pub(crate) fn has_foreign(&self) -> bool {
        self.foreign > 0
    }
}

/// Every primitive used in the run, by number, and the waits tasks declared on them.
#[derive(Debug, Default)]
pub(crate) struct Primitives {
    pub entries: Vec<Primitive>,
    // How many entries have an `oldest_wait`: the starvation check skips the scan
    // when nobody waits.
    pub waiting: usize,
    // By task slot. Invariant: an entry describes the task whose id it carries; a
    // stale entry (the slot's task has ended) is reset when the slot's next task
    // declares a wait.
    declared: Vec<DeclaredWaits>,
}

impl Primitives {
    pub(crate) fn add_holder(&mut self, primitive: u32, task: TaskId, slot: u32, count: u64) {
        let holders = &mut self.entries[primitive as usize].holders;
        match holders.iter_mut().find(|holder| holder.task == task) {
            Some(holder) => holder.count += count,
            None => holders.push(Holder { task, slot, count }),
        }
    }

    pub(crate) fn remove_holder(&mut self, primitive: u32, task: TaskId, count: u64) {
        let holders = &mut self.entries[primitive as usize].holders;
        if let Some(index) = holders.iter().position(|holder| holder.task == task) {
            let holder = &mut holders[index];
            holder.count = holder.count.saturating_sub(count);
            if holder.count == 0 {
                holders.remove(index);
            }
        }
    }

    /// Notes that `task` (in `slot`) waits on `primitive`, through its own waker or
    /// not.
    pub(crate) fn declare_wait(&mut self, slot: u32, task: TaskId, primitive: u32, own: bool) {
        let index = slot as usize;
        if self.declared.len() <= index {
            self.declared.resize_with(index + 1, DeclaredWaits::default);
        }
        let waits = &mut self.declared[index];
        if waits.task != task {
            waits.task = task;
            waits.own.clear();
            waits.foreign = 0;
        }
        if own {
            waits.own.push(primitive);
        } else {
            waits.foreign += 1;
        }
    }

    /// Ends a wait declared with [`Primitives::declare_wait`].
    pub(crate) fn end_wait(&mut self, slot: u32, task: TaskId, primitive: u32, own: bool) {
        let Some(waits) = self.declared.get_mut(slot as usize) else {
            return;
        };
        if waits.task != task {
            return;
        }
        if own {
            let position = waits.own.iter().position(|number| *number == primitive);
            debug_assert!(position.is_some(), "{task:?} ended an undeclared wait");
            if let Some(position) = position {
                waits.own.swap_remove(position);
            }
        } else {
            debug_assert!(waits.foreign > 0, "{task:?} ended an undeclared wait");
            waits.foreign = waits.foreign.saturating_sub(1);
        }
    }

    /// The waits `task` has declared and not ended.
    pub(crate) fn declared(&self, slot: u32, task: TaskId) -> Option<&DeclaredWaits> {
        self.declared
            .get(slot as usize)
            .filter(|waits| waits.task == task)
    }

    pub(crate) fn set_oldest_wait(&mut self, primitive: u32, start: Option<WaitStart>) {
        let entry = &mut self.entries[primitive as usize];
        match (entry.oldest_wait.is_some(), start.is_some()) {
            (false, true) => self.waiting += 1,
            (true, false) => self.waiting -= 1,
            _ => {}
        }
        entry.oldest_wait = start;
    }
}
