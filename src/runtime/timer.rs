//! The timer heap.
//!
//! Each registered timer occupies a slot (its waker, the task that registered it, and
//! a registration number) and has one entry in a min-heap: one `u128` that packs the
//! deadline, the registration number and the slot, so that ordering entries (by
//! deadline, then registration) is one integer comparison. Cancelling a timer frees its slot and leaves the heap entry behind; a
//! heap entry whose slot no longer carries its registration number is stale and is
//! skipped when popped. When stale entries outnumber live ones the heap is rebuilt, so
//! code that sets many timeouts that never fire does not grow it without bound.
//!
//! Timers due at the same instant are popped together, in registration order; the
//! executor then draws the order they fire in from the choices (decision 0 = that
//! registration order).
//!
//! A timer does one of two things when it fires: wake a waker (a task's sleep), or run
//! a world event, a plain function of the executor with one number (a message's
//! delivery). A world event costs no allocation, no reference count and no
//! thread-local lookup to find the executor again, which matters because the network
//! fires one per message.

use crate::id::TaskId;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::Waker;

use super::executor::Shared;

/// The owner of a timer that belongs to no task (a message's delivery).
pub(crate) const WORLD_TIMER: TaskId = TaskId::new(u32::MAX);

/// A registered timer, as held by the future that registered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: u32,
    registration: u64,
}

/// A world event: `fire(executor, argument)` runs when its timer fires, with no
/// borrow of the executor's state held. It belongs to no task.
#[derive(Clone, Copy)]
pub(crate) struct WorldEvent {
    pub fire: fn(&Shared, u64),
    pub argument: u64,
}

/// What a timer does when it fires.
pub(crate) enum TimerAction {
    Wake(Waker),
    World(WorldEvent),
}

struct TimerSlot {
    // Invariant: `registration` is 0 exactly when the slot is free, and then `action`
    // is `None`.
    registration: u64,
    action: Option<TimerAction>,
    owner: TaskId,
}

/// A timer that is due.
pub(crate) struct DueTimer {
    pub action: TimerAction,
    pub owner: TaskId,
}

/// Bits of a heap entry's low half that hold the slot; the registration number takes
/// the rest.
const SLOT_BITS: u32 = 24;
/// The most timers registered at once (slots).
const MAX_TIMER_SLOTS: usize = 1 << SLOT_BITS;
/// The most timers one run registers (registration numbers).
const MAX_REGISTRATIONS: u64 = 1 << (64 - SLOT_BITS);

/// A heap entry: deadline, then registration number, then slot, high bits first.
#[inline]
fn heap_entry(deadline_nanos: u64, registration: u64, slot: u32) -> u128 {
    (u128::from(deadline_nanos) << 64) | u128::from(registration << SLOT_BITS | u64::from(slot))
}

/// A heap entry's (deadline, registration number, slot).
#[inline]
fn parts(entry: u128) -> (u64, u64, u32) {
    let low = entry as u64;
    (
        (entry >> 64) as u64,
        low >> SLOT_BITS,
        (low & ((1 << SLOT_BITS) - 1)) as u32,
    )
}

#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<u128>>,
    slots: Vec<TimerSlot>,
    free: Vec<u32>,
    next_registration: u64,
    live: usize,
}

impl Timers {
    pub(crate) fn register(
        &mut self,
        deadline_nanos: u64,
        action: TimerAction,
        owner: TaskId,
    ) -> TimerKey {
        self.next_registration += 1;
        let registration = self.next_registration;
        assert!(
            registration < MAX_REGISTRATIONS,
            "a run registered {MAX_REGISTRATIONS} timers: lower max_steps or max_time"
        );
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                assert!(
                    self.slots.len() < MAX_TIMER_SLOTS,
                    "more than {MAX_TIMER_SLOTS} timers are pending at once"
                );
                self.slots.push(TimerSlot {
                    registration: 0,
                    action: None,
                    owner,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let entry = &mut self.slots[slot as usize];
        debug_assert_eq!(entry.registration, 0, "timer slot {slot} reused while live");
        *entry = TimerSlot {
            registration,
            action: Some(action),
            owner,
        };
        self.live += 1;
        self.heap
            .push(Reverse(heap_entry(deadline_nanos, registration, slot)));
        TimerKey { slot, registration }
    }

    fn is_live(&self, key: TimerKey) -> bool {
        self.slots
            .get(key.slot as usize)
            .is_some_and(|slot| slot.registration == key.registration)
    }

    /// Replaces the waker of a live timer (the future was polled by another waker);
    /// returns the replaced one, for the caller to drop once it holds no borrow.
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) -> Option<Waker> {
        if !self.is_live(key) {
            return None;
        }
        let slot = &mut self.slots[key.slot as usize];
        match &mut slot.action {
            Some(TimerAction::Wake(current)) if current.will_wake(waker) => None,
            Some(TimerAction::Wake(current)) => Some(std::mem::replace(current, waker.clone())),
            _ => None,
        }
    }

    /// Forgets a timer that has not fired; a no-op for one that has.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> Option<Waker> {
        if !self.is_live(key) {
            return None;
        }
        let action = self.release(key.slot);
        if self.heap.len() > 2 * self.live + 1024 {
            self.compact();
        }
        match action {
            Some(TimerAction::Wake(waker)) => Some(waker),
            _ => None,
        }
    }

    fn release(&mut self, slot: u32) -> Option<TimerAction> {
        let entry = &mut self.slots[slot as usize];
        entry.registration = 0;
        self.free.push(slot);
        self.live -= 1;
        entry.action.take()
    }

    #[cold]
    fn compact(&mut self) {
        let slots = &self.slots;
        self.heap.retain(|&Reverse(entry)| {
            let (_, registration, slot) = parts(entry);
            slots[slot as usize].registration == registration
        });
    }

    /// The earliest live deadline, discarding stale entries on the way.
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        while let Some(&Reverse(entry)) = self.heap.peek() {
            let (deadline, registration, slot) = parts(entry);
            if self.slots[slot as usize].registration == registration {
                return Some(deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes every live timer due at exactly `deadline`, in registration order.
    pub(crate) fn pop_due(&mut self, deadline: u64, due: &mut Vec<DueTimer>) {
        while let Some(&Reverse(entry)) = self.heap.peek() {
            let (at, registration, slot) = parts(entry);
            if at != deadline {
                break;
            }
            self.heap.pop();
            if self.slots[slot as usize].registration != registration {
                continue;
            }
            let owner = self.slots[slot as usize].owner;
            if let Some(action) = self.release(slot) {
                due.push(DueTimer { action, owner });
            }
        }
    }

    /// Whether `task` registered a timer that has not fired (linear: only once a wait
    /// cycle has been found).
    pub(crate) fn has_timer_of(&self, task: TaskId) -> bool {
        self.slots
            .iter()
            .any(|slot| slot.registration != 0 && slot.owner == task)
    }

    /// Drops every timer (end of a run).
    pub(crate) fn clear(&mut self) -> Vec<Waker> {
        let wakers = self
            .slots
            .iter_mut()
            .filter_map(|slot| match slot.action.take() {
                Some(TimerAction::Wake(waker)) => Some(waker),
                _ => None,
            })
            .collect();
        *self = Timers::default();
        wakers
    }
}

#[cfg(test)]
mod tests {
    use super::{heap_entry, parts, MAX_REGISTRATIONS, MAX_TIMER_SLOTS};

    /// An entry unpacks to what was packed, and entries order by deadline, then by
    /// registration, whatever their slots.
    #[test]
    fn heap_entries_pack_losslessly_and_order_by_deadline_then_registration() {
        let last_slot = (MAX_TIMER_SLOTS - 1) as u32;
        let last_registration = MAX_REGISTRATIONS - 1;
        for (deadline, registration, slot) in [
            (0, 1, 0),
            (u64::MAX, last_registration, last_slot),
            (17, 3, last_slot),
        ] {
            assert_eq!(
                parts(heap_entry(deadline, registration, slot)),
                (deadline, registration, slot)
            );
        }
        assert!(heap_entry(5, 9, 0) < heap_entry(6, 1, 0));
        assert!(heap_entry(5, 1, last_slot) < heap_entry(5, 2, 0));
    }
}
