//! The production order: a FIFO ready queue, as asyncio's loop and tokio's
//! current-thread runtime run tasks. It draws no decisions, so every seed gives the
//! same execution.

use super::{Scheduler, TaskRef};
use crate::choices::ChoiceSource;
use std::collections::VecDeque;

#[derive(Default)]
pub(crate) struct Fifo {
    queue: VecDeque<TaskRef>,
}

impl Scheduler for Fifo {
    #[inline]
    fn ready(&mut self, task: TaskRef) {
        self.queue.push_back(task);
    }

    #[inline]
    fn next(&mut self, _choices: &mut ChoiceSource) -> Option<TaskRef> {
        self.queue.pop_front()
    }
}
