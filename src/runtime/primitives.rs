//! What the executor knows about synchronization primitives, for reports.
//!
//! The primitives themselves live in `sync/`; each registers once per run (lazily, at
//! its first use in the run) and gets a number that trace events and reports use. The
//! executor keeps, per primitive, the tasks that hold it (locks and semaphores) and the
//! oldest waiter still waiting. Holders give deadlock reports their "held by" and let
//! the executor see a cycle in the wait-for graph the moment it forms; the oldest
//! waiter lets it enforce the starvation limits ([`crate::Sim::max_wait`]).

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

/// Every primitive used in the run, by number.
#[derive(Debug, Default)]
pub(crate) struct Primitives {
    pub entries: Vec<Primitive>,
    // How many entries have an `oldest_wait`: the starvation check skips the scan
    // when nobody waits.
    pub waiting: usize,
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
