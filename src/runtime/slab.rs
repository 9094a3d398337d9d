//! The task slab: where live tasks are kept, with generations.
//!
//! Tasks live in a vector of slots, reused through a free list. A slot's generation
//! changes each time its task ends, so a stale waker or handle naming `(slot,
//! generation)` can never reach the slot's next task. Generations keep counting across
//! the runs of a thread's domain (see `waker.rs`): the slab starts from the ones the
//! domain's last run left and gives them back when it is dropped, every task still
//! alive then counted as ended. So a waker, which is nothing but a task's name, never
//! names a task of a later run either.

use super::executor::BoxedTask;
use super::waker::{self, Domain};
use super::world::HostId;
use crate::id::{Site, TaskId};
use crate::recycle;
use crate::scheduler::TaskRef;
use std::cell::Cell;

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
    // A sleep whose deadline is past the clock's range: it never ends.
    Never,
    // Simulated I/O: what (see `IoWait`) on the thing the trace note names.
    Io(IoWait, u32),
}

/// What a task blocked in simulated I/O waits to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IoWait {
    Accept,
    Connect,
    Read,
    Write,
    Receive,
}

/// A handle's view of a task: enough to cancel it, and to notice it is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskKey {
    pub slot: u32,
    pub generation: u32,
    pub id: TaskId,
    pub run_id: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Free,
    Idle,
    Queued,
    Running,
}

/// One task's entry: what a step reads and writes, in 32 bytes (two to a cache line).
/// A random pick touches one line, and a thousand tasks' slots fit in a 32 KiB L1
/// data cache; what only a report reads is kept apart ([`Parked`]).
#[repr(align(32))]
pub(crate) struct Slot {
    // Invariant: changes every time the slot's task ends.
    pub generation: u32,
    pub id: TaskId,
    // The host the task runs on.
    pub host: HostId,
    // Invariant: Queued exactly when the scheduler holds this slot.
    pub state: State,
    pub cancel_requested: bool,
    // A task group child: its panic goes to the group instead of failing the run.
    pub catch_panics: bool,
    // The task the cancellation explorer cancels at one of its await points.
    pub is_cancel_target: bool,
    pub future: Option<BoxedTask>,
}

/// How an idle task went to sleep, for deadlock and wait-cycle reports: written when
/// a poll leaves its task idle (`Core::suspend`), read only while it is. A task that
/// yields (queued again at once) writes nothing, so a yield touches only its slot.
#[derive(Clone, Copy)]
pub(crate) struct Parked {
    pub waiting: Waiting,
    // Where the task's last seedloop future to return `Pending` was created
    // ("awaited at src/bank.rs:12:9").
    pub site: Option<Site>,
    // The step of the poll that left the task idle; saturates at u32::MAX, as trace
    // steps do.
    pub last_poll_step: u32,
}

impl Parked {
    const NEW: Parked = Parked {
        waiting: Waiting::Unknown,
        site: None,
        last_poll_step: 0,
    };
}

/// What a new task is created with.
pub(crate) struct NewTask {
    pub id: TaskId,
    pub host: HostId,
    pub future: Option<BoxedTask>,
    pub catch_panics: bool,
    pub is_cancel_target: bool,
    pub step: u64,
}

pub(crate) struct Slab {
    slots: Vec<Slot>,
    // By slot: how each idle task went to sleep (see `Parked`).
    parked: Vec<Parked>,
    free: Vec<u32>,
    // The thread's domain, and the generation each slot index reached in the
    // domain's earlier runs (slots not created yet start from it).
    domain: Domain,
    generations: Vec<u32>,
}

thread_local! {
    static SPARE_SLOTS: Cell<Vec<Slot>> = const { Cell::new(Vec::new()) };
    static SPARE_PARKED: Cell<Vec<Parked>> = const { Cell::new(Vec::new()) };
    static SPARE_FREE: Cell<Vec<u32>> = const { Cell::new(Vec::new()) };
}

/// The most task slots kept for the next run on a thread.
const MAX_SPARE_SLOTS: usize = 1 << 16;

impl Slab {
    /// The previous run's slots, all free; the free list pops slot 0 first (the main
    /// future's slot).
    pub(crate) fn new() -> Slab {
        let (domain, generations) = waker::enter_domain();
        let slots: Vec<Slot> = SPARE_SLOTS.try_with(Cell::take).unwrap_or_default();
        debug_assert!(
            slots
                .iter()
                .zip(&generations)
                .all(|(slot, generation)| slot.generation == *generation),
            "a spare slot lost its generation"
        );
        let mut free = recycle::take(&SPARE_FREE);
        free.extend((0..slots.len() as u32).rev());
        let mut parked = recycle::take(&SPARE_PARKED);
        parked.resize(slots.len(), Parked::NEW);
        Slab {
            slots,
            parked,
            free,
            domain,
            generations,
        }
    }

    /// The domain of the thread the slab belongs to (its tasks' wakers name it).
    #[inline]
    pub(crate) fn domain(&self) -> Domain {
        self.domain
    }

    /// Puts a new task in a free slot (queued); returns its slot and generation.
    #[inline]
    pub(crate) fn insert(&mut self, task: NewTask) -> (u32, u32) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = self.slots.len();
                assert!(
                    slot < waker::MAX_SLOTS,
                    "more than {} tasks alive at once: seedloop's wakers name at most that \
                     many slots; lower Sim::max_tasks",
                    waker::MAX_SLOTS - 1
                );
                self.slots.push(Slot {
                    generation: self.generations.get(slot).copied().unwrap_or(0),
                    id: task.id,
                    host: task.host,
                    state: State::Free,
                    cancel_requested: false,
                    catch_panics: false,
                    is_cancel_target: false,
                    future: None,
                });
                self.parked.push(Parked::NEW);
                slot as u32
            }
        };
        let entry = &mut self.slots[slot as usize];
        debug_assert_eq!(
            entry.state,
            State::Free,
            "slot {slot} reused while {:?} lives",
            entry.id
        );
        entry.id = task.id;
        entry.host = task.host;
        entry.state = State::Queued;
        entry.cancel_requested = false;
        entry.catch_panics = task.catch_panics;
        entry.is_cancel_target = task.is_cancel_target;
        waker::start_counting_clones(slot, entry.generation);
        entry.future = task.future;
        let generation = entry.generation;
        // Read only once the task is idle, which it is not until a poll has written
        // this again; set for a report of a task that never ran all the same.
        self.parked[slot as usize] = Parked {
            last_poll_step: saturate(task.step),
            ..Parked::NEW
        };
        (slot, generation)
    }

    /// Frees a slot whose task ended (its future already taken out and dropped).
    pub(crate) fn release(&mut self, slot: u32) {
        let entry = &mut self.slots[slot as usize];
        debug_assert!(
            entry.future.is_none(),
            "{:?} released with its future",
            entry.id
        );
        debug_assert_ne!(entry.state, State::Free, "slot {slot} released twice");
        entry.state = State::Free;
        entry.generation = entry.generation.wrapping_add(1);
        entry.cancel_requested = false;
        self.free.push(slot);
    }

    #[inline]
    pub(crate) fn get(&self, slot: u32) -> Option<&Slot> {
        self.slots.get(slot as usize)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, slot: u32) -> Option<&mut Slot> {
        self.slots.get_mut(slot as usize)
    }

    /// How the idle task in `slot` went to sleep.
    #[inline]
    pub(crate) fn parked(&self, slot: u32) -> &Parked {
        &self.parked[slot as usize]
    }

    /// Notes how the task in `slot` went to sleep, as its poll leaves it idle.
    #[inline]
    pub(crate) fn park(&mut self, slot: u32, parked: Parked) {
        self.parked[slot as usize] = parked;
    }

    /// The slot of a task that is alive, or `None` for a task that has ended.
    pub(crate) fn live(&self, task: TaskRef) -> Option<&Slot> {
        self.get(task.slot)
            .filter(|slot| slot.id == task.id && slot.state != State::Free)
    }

    /// Every live task, in id order.
    pub(crate) fn live_tasks(&self) -> Vec<TaskRef> {
        let mut live: Vec<TaskRef> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.state != State::Free)
            .map(|(index, slot)| TaskRef {
                slot: index as u32,
                id: slot.id,
            })
            .collect();
        live.sort_by_key(|task| task.id);
        live
    }
}

impl std::ops::Index<u32> for Slab {
    type Output = Slot;

    #[inline]
    fn index(&self, slot: u32) -> &Slot {
        &self.slots[slot as usize]
    }
}

impl std::ops::IndexMut<u32> for Slab {
    #[inline]
    fn index_mut(&mut self, slot: u32) -> &mut Slot {
        &mut self.slots[slot as usize]
    }
}

impl Drop for Slab {
    fn drop(&mut self) {
        // Slots are kept, emptied of everything that belonged to this run; a task
        // still alive ends here, so its slot's generation moves on (no waker of it
        // may name a task of a later run), and every generation goes back to the
        // domain.
        let mut slots = std::mem::take(&mut self.slots);
        let mut generations = std::mem::take(&mut self.generations);
        if generations.len() < slots.len() {
            generations.resize(slots.len(), 0);
        }
        for (slot, generation) in slots.iter_mut().zip(&mut generations) {
            if slot.state != State::Free {
                slot.generation = slot.generation.wrapping_add(1);
            }
            slot.future = None;
            slot.state = State::Free;
            slot.cancel_requested = false;
            *generation = slot.generation;
        }
        waker::leave_domain(generations);
        if slots.len() <= MAX_SPARE_SLOTS {
            let _ = SPARE_SLOTS.try_with(|spare| spare.set(slots));
        }
        recycle::keep(&SPARE_FREE, std::mem::take(&mut self.free));
        recycle::keep(&SPARE_PARKED, std::mem::take(&mut self.parked));
    }
}

/// A step number as slots and trace events keep it.
#[inline]
pub(crate) fn saturate(step: u64) -> u32 {
    step.min(u32::MAX as u64) as u32
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_slot_is_half_a_cache_line() {
        assert_eq!(std::mem::size_of::<super::Slot>(), 32);
    }
}
