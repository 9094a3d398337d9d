//! Replaying a recorded schedule.
//!
//! Every run records which task it polled at each step and the decisions of the
//! components other than the scheduler (timer ties, network, faults). That record is a
//! [`Schedule`]; [`Policy::Replay`](super::Policy::Replay) runs exactly that task order
//! again, whichever policy produced it, which makes a schedule a policy-independent
//! description of an interleaving (and the thing a shrinker edits).
//!
//! A replay survives small edits of the program. If the schedule asks for a task that
//! is not ready at that step, or runs out while tasks are still ready, or the other
//! components' decisions stop matching (a log line, an await or a random number was
//! added since the recording), the replay has diverged: from that step on it picks
//! ready tasks as [`Policy::Random`](super::Policy::Random) would, from the seed of
//! the `Sim` (in FIFO-ordered form, the tape mode's), and the run reports where it
//! diverged ([`crate::Stats::divergence`], the failure report's
//! `schedule diverged at step 412: ..; continued with seed 17`). The prefix replayed
//! exactly is usually what led to the bug.

use super::{Scheduler, TaskRef};
use crate::choices::{ChoiceSource, Choices, Stream};
use crate::id::TaskId;
use std::collections::VecDeque;
use std::sync::Arc;

/// The recorded decisions of one run: the task polled at each step, and every other
/// component's decisions in order. Cheap to clone.
///
/// # Examples
///
/// ```
/// use seedloop::{Policy, Sim};
/// let program = || async {
///     let a = seedloop::spawn(async { seedloop::yield_now().await; 1 });
///     let b = seedloop::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// };
/// let mut sim = Sim::new(9);
/// sim.run(program()).unwrap();
/// let (trace, schedule) = (sim.trace().clone(), sim.schedule());
///
/// let mut replay = Sim::new(0).policy(Policy::Replay(schedule));
/// replay.run(program()).unwrap();
/// assert_eq!(replay.trace().to_string(), trace.to_string());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    // A `Vec` behind the `Arc` (not `Arc<[_]>`) so that taking a run's recording is a
    // move, not a copy.
    pub(crate) picks: Arc<Vec<TaskId>>,
    pub(crate) decisions: Arc<Vec<(Stream, u64)>>,
}

thread_local! {
    static SPARE_PICKS: std::cell::Cell<Vec<TaskId>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A buffer for recording the next run's picks.
pub(crate) fn spare_picks() -> Vec<TaskId> {
    crate::recycle::take(&SPARE_PICKS)
}

impl Drop for Schedule {
    fn drop(&mut self) {
        if let Some(picks) = Arc::get_mut(&mut self.picks) {
            crate::recycle::keep(&SPARE_PICKS, std::mem::take(picks));
        }
    }
}

impl Schedule {
    /// A schedule from the task polled at each step and the other components'
    /// decisions, in order.
    pub fn new(picks: Vec<TaskId>, decisions: Vec<(Stream, u64)>) -> Schedule {
        Schedule {
            picks: Arc::new(picks),
            decisions: Arc::new(decisions),
        }
    }

    /// The number of steps recorded.
    pub fn len(&self) -> usize {
        self.picks.len()
    }

    /// Whether no step was recorded.
    pub fn is_empty(&self) -> bool {
        self.picks.is_empty()
    }

    /// The task polled at each step.
    pub fn picks(&self) -> &[TaskId] {
        &self.picks
    }

    /// The non-scheduler decisions, in the order they were made.
    pub fn decisions(&self) -> &[(Stream, u64)] {
        &self.decisions
    }
}

pub(crate) struct Replay {
    picks: Arc<Vec<TaskId>>,
    position: usize,
    ready: VecDeque<TaskRef>,
}

impl Replay {
    pub(crate) fn new(schedule: Schedule) -> Replay {
        Replay {
            picks: Arc::clone(&schedule.picks),
            position: 0,
            ready: VecDeque::new(),
        }
    }
}

impl Replay {
    /// A ready task as the seed picks it, once the schedule no longer fits.
    fn seeded_pick(&mut self, choices: &mut dyn Choices) -> Option<TaskRef> {
        let index = choices.choose(Stream::Scheduler, self.ready.len() as u64) as usize;
        self.ready.remove(index)
    }
}

impl Scheduler for Replay {
    fn ready(&mut self, task: TaskRef) {
        self.ready.push_back(task);
    }

    fn next(&mut self, choices: &mut ChoiceSource) -> Option<TaskRef> {
        if self.ready.is_empty() {
            return None;
        }
        if choices.divergence().is_some() {
            return self.seeded_pick(choices);
        }
        let Some(&wanted) = self.picks.get(self.position) else {
            let ready: Vec<String> = self.ready.iter().map(|t| t.id.to_string()).collect();
            choices.diverge(format!(
                "the schedule's {} steps ran out with tasks still ready ({})",
                self.picks.len(),
                ready.join(", ")
            ));
            return self.seeded_pick(choices);
        };
        self.position += 1;
        match self.ready.iter().position(|task| task.id == wanted) {
            Some(index) => self.ready.remove(index),
            None => {
                let ready: Vec<String> = self.ready.iter().map(|t| t.id.to_string()).collect();
                choices.diverge(format!(
                    "the schedule runs {wanted} next, which is not ready (ready: {})",
                    ready.join(", ")
                ));
                self.seeded_pick(choices)
            }
        }
    }
}
