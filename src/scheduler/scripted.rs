//! A scripted task order, forgiving of a script that no longer fits: the
//! minimizer's policy.
//!
//! A script is a list of task ids. Each step runs the script's next task if it is
//! ready; an entry for a task that is not ready is skipped (dropped), and the next
//! entry is tried; past the script's end the ready tasks run in FIFO order. So
//! deleting entries from a script that fails always gives a script that runs, and one
//! in which the remaining entries still mean "this task, here, if it can": the
//! minimizer shortens a failing schedule by deleting the steps of tasks the bug does
//! not need. A recorded schedule's picks, as a script, run exactly that schedule.
//!
//! The ready tasks are kept in FIFO order, so each pick is also a tape decision (its
//! index among them, [`Scheduler::last_pick`]): a scripted run can be written down
//! as a tape.

use super::{Scheduler, TaskRef};
use crate::choices::ChoiceSource;
use crate::id::TaskId;
use std::collections::VecDeque;
use std::sync::Arc;

pub(crate) struct Scripted {
    script: Arc<Vec<TaskId>>,
    position: usize,
    ready: VecDeque<TaskRef>,
    last_pick: Option<(u64, u64)>,
}

impl Scripted {
    pub(crate) fn new(script: Arc<Vec<TaskId>>) -> Scripted {
        Scripted {
            script,
            position: 0,
            ready: VecDeque::new(),
            last_pick: None,
        }
    }
}

impl Scheduler for Scripted {
    fn ready(&mut self, task: TaskRef) {
        self.ready.push_back(task);
    }

    fn next(&mut self, _choices: &mut ChoiceSource) -> Option<TaskRef> {
        if self.ready.is_empty() {
            return None;
        }
        let mut index = 0;
        while let Some(&wanted) = self.script.get(self.position) {
            self.position += 1;
            if let Some(found) = self.ready.iter().position(|task| task.id == wanted) {
                index = found;
                break;
            }
        }
        self.last_pick = Some((index as u64, self.ready.len() as u64));
        self.ready.remove(index)
    }

    fn last_pick(&self) -> Option<(u64, u64)> {
        self.last_pick
    }
}
