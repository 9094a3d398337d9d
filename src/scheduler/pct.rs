//! Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
//! "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).
//!
//! Every task gets a distinct random priority when it is spawned (a random 31-bit
//! value, ties broken by spawn order, so ranks are uniform however tasks arrive), and
//! the highest-priority ready task always runs. Before the run, `depth - 1` change
//! points are drawn uniformly over a horizon of `k` steps; at the i-th change point the
//! task about to run drops to a priority below every initial priority (later change
//! points go lower still), and the next highest task runs instead. A bug that needs
//! `d` ordering constraints is then found with probability at least `1 / (n * k^(d-1))`
//! for `n` tasks.
//!
//! **The horizon `k`** is configuration ([`crate::Sim::pct_horizon`], default
//! [`DEFAULT_PCT_HORIZON`] steps, near the length of small test programs), never
//! learned from earlier seeds: `Sim::new(seed).policy(policy)` alone replays a failure,
//! and a replay line names `k` when it is not the default.
//!
//! **Yields keep their priority.** A task that calls `yield_now` stays ready, and under
//! strict priorities it runs again: preemptions happen only at change points. This is
//! what keeps PCT's guarantee on programs whose tasks only yield: shuttle instead
//! demotes a task on every yield, which turns PCT into round-robin, and round-robin
//! never runs the one interleaving where task A is preempted between its check and its
//! act while B runs to completion. Here, that interleaving is one change point at the
//! right step, found with probability about `1/k` per seed.
//!
//! **The starvation guard.** Strict priorities can livelock a spin loop: a
//! high-priority task that yields while waiting for a low-priority one would run
//! forever. So a task that has run [`STARVATION_STEPS`] consecutive steps while others
//! were ready is demoted exactly as at a change point. The guard is deterministic and
//! never fires for a task that blocks, so it adds preemptions only to spinning code.
//!
//! Cost: the ready set is a binary heap keyed by priority, with lazy removal: the task
//! picked stays in the heap, marked running, and a yield (ready again at once) costs
//! no heap operation at all; only a task that blocks is popped, when it next reaches
//! the top. A pick is O(log n) at worst and allocates nothing once the heap has grown.

use super::{Scheduler, TaskRef};
use crate::choices::{Choices, Stream};
use std::collections::BinaryHeap;

/// The default PCT horizon `k`, in steps.
pub const DEFAULT_PCT_HORIZON: u64 = 100;

/// Consecutive steps a task may run while others are ready before it is demoted.
pub const STARVATION_STEPS: u32 = 32;

/// A priority packed into one word so that heap comparisons are one instruction:
/// bit 63 is the tier (1 = initial, 0 = demoted), bits 32..63 the priority within the
/// tier, bits 0..32 the task id inverted (older tasks win ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u64);

const PRIORITY_BITS: u32 = 31;

impl Key {
    fn new(initial: bool, priority: u64, id: u32) -> Key {
        debug_assert!(
            priority < 1 << PRIORITY_BITS,
            "priority {priority} out of range"
        );
        Key((initial as u64) << 63 | priority << 32 | (u32::MAX - id) as u64)
    }

    fn id(self) -> u32 {
        u32::MAX - self.0 as u32
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Flags {
    ready: bool,
    in_heap: bool,
}

pub(crate) struct Pct {
    depth: u32,
    horizon: u64,
    ordered: bool,
    // Invariant: keys[slot] is the key of the live task in `slot`.
    keys: Vec<Key>,
    // Invariant: flags[slot].ready exactly when the task in `slot` is in the ready set
    // (`ready_count` of them); flags[slot].in_heap exactly when the heap holds an entry
    // `(keys[slot], slot)`. Other entries are stale and are dropped when they surface.
    flags: Vec<Flags>,
    ready_count: usize,
    heap: BinaryHeap<(Key, u32)>,
    // Sorted ascending; `next_change` indexes the first not yet reached.
    change_points: Vec<u64>,
    next_change: usize,
    drawn: bool,
    step: u64,
    next_demoted_priority: u64,
    last_slot: u32,
    consecutive_steps: u32,
}

impl Pct {
    pub(crate) fn new(depth: u32, horizon: u64, ordered: bool) -> Pct {
        Pct {
            depth,
            horizon: horizon.max(1),
            ordered,
            keys: Vec::new(),
            flags: Vec::new(),
            ready_count: 0,
            heap: BinaryHeap::new(),
            change_points: Vec::new(),
            next_change: 0,
            drawn: false,
            step: 0,
            next_demoted_priority: (1 << PRIORITY_BITS) - 1,
            last_slot: u32::MAX,
            consecutive_steps: 0,
        }
    }

    fn draw_change_points(&mut self, choices: &mut dyn Choices) {
        self.drawn = true;
        for _ in 1..self.depth {
            let step = if self.ordered {
                // On a tape, 0 means "no change point": all zeros is a run without
                // preemptions.
                choices.choose(Stream::Scheduler, self.horizon + 1)
            } else {
                choices.choose(Stream::Scheduler, self.horizon) + 1
            };
            if step > 0 {
                self.change_points.push(step);
            }
        }
        self.change_points.sort_unstable();
    }

    /// Demotes the task at the top of the heap, re-keying its entry in place.
    fn demote_top(&mut self, slot: u32) {
        let key = &mut self.keys[slot as usize];
        *key = Key::new(false, self.next_demoted_priority, key.id());
        // Later demotions go lower; after 2^31 of them they share the lowest level.
        self.next_demoted_priority = self.next_demoted_priority.saturating_sub(1);
        let mut top = self
            .heap
            .peek_mut()
            .expect("the demoted task is at the top");
        debug_assert_eq!(top.1, slot, "only the top task is demoted");
        top.0 = *key;
    }

    /// The highest-priority ready task, left in the heap; stale entries and tasks
    /// that are no longer ready are popped on the way.
    fn top_ready(&mut self) -> u32 {
        loop {
            let &(key, slot) = self.heap.peek().expect("a ready task is in the heap");
            let index = slot as usize;
            if self.keys[index] != key {
                self.heap.pop();
            } else if !self.flags[index].ready {
                self.heap.pop();
                self.flags[index].in_heap = false;
            } else {
                return slot;
            }
        }
    }

    #[cold]
    fn compact(&mut self) {
        for flags in &mut self.flags {
            flags.in_heap = flags.ready;
        }
        let (keys, flags) = (&self.keys, &self.flags);
        self.heap
            .retain(|&(key, slot)| keys[slot as usize] == key && flags[slot as usize].ready);
    }

    fn is_change_point(&mut self) -> bool {
        let mut hit = false;
        while self.next_change < self.change_points.len()
            && self.change_points[self.next_change] <= self.step
        {
            hit |= self.change_points[self.next_change] == self.step;
            self.next_change += 1;
        }
        hit
    }
}

impl Scheduler for Pct {
    fn spawned(&mut self, task: TaskRef, choices: &mut dyn Choices) {
        if !self.drawn {
            self.draw_change_points(choices);
        }
        let priority = if self.ordered {
            // Zero is the lowest priority: a tape of zeros runs tasks in spawn order.
            choices.choose(Stream::Scheduler, 256)
        } else {
            choices.choose(Stream::Scheduler, 1 << PRIORITY_BITS)
        };
        let key = Key::new(true, priority, task.id.index());
        let slot = task.slot as usize;
        if self.keys.len() <= slot {
            self.keys.resize(slot + 1, key);
            self.flags.resize(slot + 1, Flags::default());
        }
        self.keys[slot] = key;
        self.flags[slot] = Flags::default();
    }

    fn ready(&mut self, task: TaskRef) {
        let index = task.slot as usize;
        let flags = &mut self.flags[index];
        debug_assert!(!flags.ready, "{:?} made ready twice", task.id);
        flags.ready = true;
        self.ready_count += 1;
        if !flags.in_heap {
            flags.in_heap = true;
            self.heap.push((self.keys[index], task.slot));
            if self.heap.len() > 2 * self.keys.len() + 64 {
                self.compact();
            }
        }
    }

    fn next(&mut self, _choices: &mut dyn Choices) -> Option<TaskRef> {
        if self.ready_count == 0 {
            return None;
        }
        let mut slot = self.top_ready();
        self.step += 1;
        let others_ready = self.ready_count > 1;
        if slot == self.last_slot && others_ready {
            self.consecutive_steps += 1;
        } else {
            self.consecutive_steps = 0;
        }
        let starving_others = self.consecutive_steps >= STARVATION_STEPS;
        if self.is_change_point() || starving_others {
            self.demote_top(slot);
            slot = self.top_ready();
            self.consecutive_steps = 0;
        }
        // The task runs: no longer ready, but its entry stays for a cheap re-ready.
        self.flags[slot as usize].ready = false;
        self.ready_count -= 1;
        self.last_slot = slot;
        let id = crate::id::TaskId::new(self.keys[slot as usize].id());
        Some(TaskRef { slot, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choices::Seeded;
    use crate::id::TaskId;

    fn task(slot: u32) -> TaskRef {
        TaskRef {
            slot,
            id: TaskId::new(slot),
        }
    }

    #[test]
    fn highest_priority_runs_until_a_change_point() {
        let mut choices = Seeded::new(3);
        let mut pct = Pct::new(1, 100, false);
        for slot in 0..3 {
            pct.spawned(task(slot), &mut choices);
            pct.ready(task(slot));
        }
        let first = pct.next(&mut choices).unwrap();
        for _ in 0..STARVATION_STEPS - 1 {
            pct.ready(first);
            assert_eq!(pct.next(&mut choices).unwrap(), first);
        }
    }

    #[test]
    fn starvation_guard_demotes_a_spinning_task() {
        let mut choices = Seeded::new(3);
        let mut pct = Pct::new(1, 100, false);
        for slot in 0..2 {
            pct.spawned(task(slot), &mut choices);
            pct.ready(task(slot));
        }
        let first = pct.next(&mut choices).unwrap();
        let mut switched = false;
        for _ in 0..=STARVATION_STEPS {
            pct.ready(first);
            if pct.next(&mut choices).unwrap() != first {
                switched = true;
                break;
            }
        }
        assert!(switched, "a spinning task must eventually give way");
    }
}
