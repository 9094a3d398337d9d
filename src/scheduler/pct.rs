//! Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
//! "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010),
//! as the paper defines it.
//!
//! **Priorities.** Every task gets a random initial priority when it is spawned (a
//! random 30-bit value, ties broken by spawn order, so that the ranks are a uniform
//! permutation however tasks arrive), and the highest-priority ready task always runs.
//!
//! **Change points.** Before the run, `depth - 1` change points `k_1 .. k_(depth-1)`
//! are drawn, each on its own and uniformly over a horizon of `k` steps. Change point
//! `k_i` carries priority `i`: the task about to run at step `k_i` drops to priority
//! `i`, below every initial priority, and the highest-priority ready task runs instead.
//! The indices are not sorted by step, so two demoted tasks can resume in either order.
//! When the later change point carries the higher index, the task preempted second
//! resumes first: a nested preemption (A preempted, B runs and is preempted, C runs,
//! and B finishes before A resumes). When it carries the lower index, the task
//! preempted first resumes first. (An earlier version demoted each later change point
//! below the earlier ones, which made nested preemptions impossible.)
//!
//! **The guarantee.** A bug of depth `d` (`d` ordering constraints between the steps of
//! its tasks) is found by one run with probability at least `1 / (n * k^(d-1))` for
//! `n` tasks, as the paper proves, under its assumptions: `d <= depth`, the horizon `k`
//! reaches past every step at which the bug needs a preemption (change points never
//! land after step `k`), and the starvation guard below does not fire before the bug
//! shows (it adds preemptions the proof does not count). A run from a byte tape is
//! steered, not random, and has no such bound.
//!
//! **The horizon `k`** is [`Policy::PctWithHorizon`](super::Policy::PctWithHorizon)'s
//! `horizon`. [`Policy::Pct`](super::Policy::Pct) leaves it to be fitted: a sweep's
//! first seed runs over [`DEFAULT_PCT_HORIZON`] steps and measures the number of steps
//! its run took, and each later seed draws,
//! from the seed alone, that length, its half, its quarter or its eighth (a bug whose
//! preemptions must come early is found up to `4^(d-1)` times as often at a small
//! scale; one whose preemptions come late keeps the whole length on a quarter of the
//! seeds, where the guarantee above holds). `Config::pct_horizon` or
//! `SEEDLOOP_PCT_HORIZON` pin it instead; a bare `Sim` uses [`DEFAULT_PCT_HORIZON`].
//! Either way the run's concrete policy names its horizon, so a failure's policy and
//! replay line reproduce it exactly. Fitting relaxes an earlier rule, that nothing is
//! learned across seeds: a sweep now carries one number, the length of its first
//! seed's run, to its later seeds. What must hold, and does, is that every failure's
//! report names everything needed to replay it: `Sim::new(seed).policy(policy)`
//! with the failure's seed and policy runs the same execution.
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
//! were ready drops below every other priority, the change points' included (each such
//! demotion below the last, so spinning tasks take turns). The guard is deterministic
//! and never fires for a task that blocks, so it adds preemptions only to long-running
//! or spinning code.
//!
//! Cost: the ready set is a binary heap keyed by priority, with lazy removal: the task
//! picked stays in the heap, marked running, and a yield (ready again at once) costs
//! no heap operation at all; only a task that blocks is popped, when it next reaches
//! the top. A pick is O(log n) at worst and allocates nothing once the heap has grown.

use super::{Scheduler, TaskRef};
use crate::choices::{ChoiceSource, Choices, Stream};
use std::collections::BinaryHeap;

/// The PCT horizon `k`, in steps, of a run that no sweep fitted and no knob pinned
/// (a bare `Sim` running [`Policy::Pct`](super::Policy::Pct)).
pub const DEFAULT_PCT_HORIZON: u64 = 100;

/// Consecutive steps a task may run while others are ready before it is demoted.
pub const STARVATION_STEPS: u32 = 32;

/// The three tiers of priority, highest first: every initial priority is above every
/// change point's, and every change point's above the starvation guard's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tier {
    Starved = 0,
    ChangePoint = 1,
    Initial = 2,
}

/// A priority packed into one word so that heap comparisons are one instruction:
/// bits 62..64 are the tier, bits 32..62 the priority within the tier, bits 0..32 the
/// task id inverted (older tasks win ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u64);

const PRIORITY_BITS: u32 = 30;

impl Key {
    fn new(tier: Tier, priority: u64, id: u32) -> Key {
        debug_assert!(
            priority < 1 << PRIORITY_BITS,
            "priority {priority} out of range"
        );
        Key((tier as u64) << 62 | priority << 32 | (u32::MAX - id) as u64)
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

/// A change point: the step at which the task about to run is demoted, and the
/// priority it gets (the point's index `i`, from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ChangePoint {
    step: u64,
    priority: u64,
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
    // Sorted by step (then index); `next_change` indexes the first not yet reached.
    change_points: Vec<ChangePoint>,
    next_change: usize,
    drawn: bool,
    step: u64,
    // The starvation guard's next priority: each demotion goes below the last.
    next_starved_priority: u64,
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
            next_starved_priority: (1 << PRIORITY_BITS) - 1,
            last_slot: u32::MAX,
            consecutive_steps: 0,
        }
    }

    /// Draws `k_1 .. k_(depth-1)`, each on its own: point `i` keeps its index as its
    /// priority wherever its step falls, so that demoted tasks can resume in any order.
    fn draw_change_points(&mut self, choices: &mut dyn Choices) {
        self.drawn = true;
        for index in 1..self.depth {
            let step = if self.ordered {
                // On a tape, 0 means "no change point": all zeros is a run without
                // preemptions.
                choices.choose(Stream::Scheduler, self.horizon + 1)
            } else {
                choices.choose(Stream::Scheduler, self.horizon) + 1
            };
            if step > 0 {
                self.change_points.push(ChangePoint {
                    step,
                    priority: index as u64,
                });
            }
        }
        self.change_points.sort_unstable();
    }

    /// Gives the task at the top of the heap `key`, re-keying its entry in place.
    fn rekey_top(&mut self, slot: u32, tier: Tier, priority: u64) {
        let key = &mut self.keys[slot as usize];
        *key = Key::new(tier, priority, key.id());
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

    /// The priority of the change point at the current step, if one is there. Points
    /// that share a step demote the one task once, to the highest of their indices
    /// (they are sorted by index within a step).
    fn change_point_here(&mut self) -> Option<u64> {
        let mut hit = None;
        while let Some(point) = self.change_points.get(self.next_change) {
            if point.step > self.step {
                break;
            }
            if point.step == self.step {
                hit = Some(point.priority);
            }
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
        let key = Key::new(Tier::Initial, priority, task.id.index());
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

    fn next(&mut self, _choices: &mut ChoiceSource) -> Option<TaskRef> {
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
        if let Some(priority) = self.change_point_here() {
            self.rekey_top(slot, Tier::ChangePoint, priority);
            slot = self.top_ready();
            self.consecutive_steps = 0;
        } else if self.consecutive_steps >= STARVATION_STEPS {
            let priority = self.next_starved_priority;
            // After 2^30 demotions the guard's tasks share its lowest priority.
            self.next_starved_priority = priority.saturating_sub(1);
            self.rekey_top(slot, Tier::Starved, priority);
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
        let mut choices = ChoiceSource::Seeded(Box::new(Seeded::new(3)));
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

    /// Three tasks of initial priorities 30 > 20 > 10 (from a tape), and change points
    /// at steps 1 and 2 with the given indices. Step 1 demotes task 0, task 1 runs and
    /// blocks; step 2 demotes task 2; the task that runs third is the one whose change
    /// point carried the higher index.
    fn third_task_run(first_index: u64, second_index: u64) -> u32 {
        let mut choices = ChoiceSource::other(crate::choices::Tape::new(vec![30, 20, 10]));
        let mut pct = Pct::new(3, 2, true);
        pct.drawn = true;
        pct.change_points = vec![
            ChangePoint {
                step: 1,
                priority: first_index,
            },
            ChangePoint {
                step: 2,
                priority: second_index,
            },
        ];
        for slot in 0..3 {
            pct.spawned(task(slot), &mut choices);
            pct.ready(task(slot));
        }
        let mut next = || pct.next(&mut choices).unwrap().slot;
        assert_eq!(next(), 1, "step 1 demotes task 0: task 1 runs (and blocks)");
        next() // step 2 demotes task 2 too: one of the two demoted tasks runs
    }

    #[test]
    fn a_change_point_gives_its_index_as_priority_whatever_its_step() {
        // The later change point carries the higher index: the task preempted second
        // resumes first (a nested preemption).
        assert_eq!(third_task_run(1, 2), 2);
        // The earlier one carries it: the task preempted first resumes first.
        assert_eq!(third_task_run(2, 1), 0);
    }

    #[test]
    fn change_points_rank_below_every_initial_priority() {
        let mut choices = ChoiceSource::other(crate::choices::Tape::new(vec![0, 255]));
        let mut pct = Pct::new(2, 1, true);
        pct.drawn = true;
        pct.change_points = vec![ChangePoint {
            step: 1,
            priority: 1,
        }];
        for slot in 0..2 {
            pct.spawned(task(slot), &mut choices);
            pct.ready(task(slot));
        }
        // Task 1 (255) would run; demoted at step 1, it ranks below task 0's 0.
        assert_eq!(pct.next(&mut choices).unwrap().slot, 0);
        pct.ready(task(0));
        assert_eq!(pct.next(&mut choices).unwrap().slot, 0);
    }

    #[test]
    fn starvation_guard_demotes_a_spinning_task() {
        let mut choices = ChoiceSource::Seeded(Box::new(Seeded::new(3)));
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
