//! Uniform random scheduling: every step, each ready task is equally likely to run.
//!
//! With seeded choices the ready set is an unordered vector and a pick is a
//! `swap_remove` at a random index: O(1) however many tasks are ready. With a tape the
//! value of a decision matters (decision 0 must be the FIFO choice, so that shrinking a
//! tape toward zeros shrinks toward the production order), so the ready set is kept in
//! FIFO order and decision `k` runs the k-th oldest ready task.

use super::{Scheduler, TaskRef};
use crate::choices::{ChoiceSource, Choices, Stream};
use std::collections::VecDeque;

#[derive(Default)]
pub(crate) struct Random {
    ready: Vec<TaskRef>,
}

impl Scheduler for Random {
    #[inline]
    fn ready(&mut self, task: TaskRef) {
        self.ready.push(task);
    }

    #[inline]
    fn next(&mut self, choices: &mut ChoiceSource) -> Option<TaskRef> {
        if self.ready.is_empty() {
            return None;
        }
        let index = choices.choose(Stream::Scheduler, self.ready.len() as u64) as usize;
        Some(self.ready.swap_remove(index))
    }
}

#[derive(Default)]
pub(crate) struct OrderedRandom {
    ready: VecDeque<TaskRef>,
}

impl Scheduler for OrderedRandom {
    fn ready(&mut self, task: TaskRef) {
        self.ready.push_back(task);
    }

    fn next(&mut self, choices: &mut ChoiceSource) -> Option<TaskRef> {
        if self.ready.is_empty() {
            return None;
        }
        let index = choices.choose(Stream::Scheduler, self.ready.len() as u64) as usize;
        self.ready.remove(index)
    }
}
