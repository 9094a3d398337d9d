//! Diagnostics: deadlocks, wait-for cycles and starvation, read off the executor's
//! state.
//!
//! Everything here reads the state and describes it; nothing here changes it (the
//! one exception, moving the clock to the instant a starvation limit passed, is the
//! caller's). A deadlock report names every live task and what it waits on, as far as
//! seedloop knows: the primitive (with who holds it), the task it joins, its group's
//! children, and the source line it awaited at.
//!
//! A wait-for cycle is found from declared waits only (see `primitives.rs`): a task is
//! blocked for good when it is idle, every wait it declared went through its own
//! waker, no clone of its waker is held outside the executor (clones count
//! themselves: see `waker.rs`), it has no pending timer, and every
//! primitive it waits on is held, by tasks that are all blocked for good in turn. A
//! task that waits on an event, a queue or a promise (which nobody holds: any task
//! may set it) is never blocked for good.

use super::executor::{Core, Stop, Waiting};
use super::primitives::WaitStart;
use super::slab::{IoWait, State};
use super::waker;
use crate::failure::{BlockedTask, FailureKind};
use crate::scheduler::TaskRef;
use std::time::Duration;

/// Bounds the wait-for graph search on pathological graphs: past it, nothing is
/// reported (missing a cycle is better than failing a correct program).
const WAIT_GRAPH_BUDGET: usize = 4096;

impl Core {
    /// The deadlock failure: every live task and what it waits on, in id order.
    pub(super) fn deadlock(&self) -> Stop {
        let blocked = self
            .tasks
            .live_tasks()
            .into_iter()
            .map(|task| self.blocked_task(task, self.waits_on(task)))
            .collect();
        Box::new(FailureKind::Deadlock { blocked })
    }

    fn blocked_task(&self, task: TaskRef, waits_on: String) -> BlockedTask {
        BlockedTask {
            task: task.id,
            name: self.trace.task_name(task.id).map(str::to_string),
            waits_on: self.awaited_at(task.slot, waits_on),
            last_poll_step: self.tasks.parked(task.slot).last_poll_step as u64,
        }
    }

    fn waits_on(&self, task: TaskRef) -> String {
        let parked = self.tasks.parked(task.slot);
        match parked.waiting {
            Waiting::Unknown => format!(
                "a future outside seedloop (last polled at step {})",
                parked.last_poll_step
            ),
            Waiting::Join(target) => {
                let name = self
                    .trace
                    .task_name(target)
                    .map(|name| format!(" ({name})"))
                    .unwrap_or_default();
                format!("the JoinHandle of {target}{name}")
            }
            Waiting::Group(live) => format!("its task group's {live} running child task(s)"),
            Waiting::Primitive(primitive) => self.describe_wait(primitive),
            Waiting::Never => "a sleep whose deadline is never reached".to_string(),
            Waiting::Io(what, note) => {
                let what = match what {
                    IoWait::Accept => "a connection to accept:",
                    IoWait::Connect => "an answer to its connect on",
                    IoWait::Read => "data to read on",
                    IoWait::Write => "room in the receiver's window on",
                    IoWait::Receive => "a datagram on",
                };
                format!("{what} {}", self.trace.message_text(note))
            }
        }
    }

    /// Adds where the task awaited, when a seedloop future knows it.
    fn awaited_at(&self, slot: u32, waits_on: String) -> String {
        match self.tasks.parked(slot).site {
            Some(site) => format!("{waits_on}, awaited at {site}"),
            None => waits_on,
        }
    }

    /// "Lock 0 (accounts), held by task 2 (transfer-2)".
    fn describe_wait(&self, primitive: u32) -> String {
        let mut text = self.trace.primitive_label(primitive);
        let holders = self
            .primitives
            .entries
            .get(primitive as usize)
            .map(|entry| entry.holders.as_slice())
            .unwrap_or_default();
        for (index, holder) in holders.iter().enumerate() {
            text.push_str(if index == 0 { ", held by " } else { " and " });
            text.push_str(&holder.task.to_string());
            if let Some(name) = self.trace.task_name(holder.task) {
                text.push_str(&format!(" ({name})"));
            }
        }
        text
    }

    /// The step-based starvation limit: fails when a waiter has waited too many steps.
    pub(super) fn check_wait_steps(&self) -> Result<(), Stop> {
        let limit = self.config.max_wait_steps.unwrap_or(u64::MAX);
        for (primitive, entry) in self.primitives.entries.iter().enumerate() {
            if let Some(start) = entry.oldest_wait {
                if self.step.saturating_sub(start.step) > limit {
                    return Err(self.starvation(primitive as u32, start));
                }
            }
        }
        Ok(())
    }

    /// The time-based starvation limit, checked before the clock jumps to `deadline`:
    /// fails, at the instant the limit passed, when a waiter would wait too long.
    pub(super) fn check_wait_time(
        &mut self,
        deadline: u64,
        max_wait: Duration,
    ) -> Result<(), Stop> {
        let Some((limit, primitive, start)) = self.starving_before(deadline, max_wait) else {
            return Ok(());
        };
        if limit > self.now_nanos {
            self.now_nanos = limit;
            self.record(crate::trace::EventKind::Advance, None, None);
        }
        Err(self.starvation(primitive, start))
    }

    /// The oldest waiter whose wait passes `max_wait` before `deadline`, with the
    /// instant it does.
    fn starving_before(&self, deadline: u64, max_wait: Duration) -> Option<(u64, u32, WaitStart)> {
        let max_wait = max_wait.as_nanos().min(u64::MAX as u128) as u64;
        let (start, primitive) = self
            .primitives
            .entries
            .iter()
            .enumerate()
            .filter_map(|(primitive, entry)| Some((entry.oldest_wait?, primitive as u32)))
            .min_by_key(|(start, primitive)| (start.time_nanos, *primitive))?;
        let limit = start.time_nanos.saturating_add(max_wait);
        (deadline > limit).then_some((limit, primitive, start))
    }

    pub(super) fn wait_cycle(&self, chain: Vec<(TaskRef, u32)>) -> Stop {
        let cycle = chain
            .into_iter()
            .map(|(task, primitive)| self.blocked_task(task, self.describe_wait(primitive)))
            .collect();
        Box::new(FailureKind::WaitCycle { cycle })
    }

    fn starvation(&self, primitive: u32, start: WaitStart) -> Stop {
        Box::new(FailureKind::Starvation {
            task: start.task,
            name: self.trace.task_name(start.task).map(str::to_string),
            primitive: self.trace.primitive_label(primitive),
            waited: Duration::from_nanos(self.now_nanos.saturating_sub(start.time_nanos)),
            waited_steps: self.step.saturating_sub(start.step),
        })
    }

    /// The primitives a task waits on, if it can only be woken by them: it is idle
    /// (or the task that just blocked), every wait it declared went through its own
    /// waker, and no clone of its waker is held outside the executor.
    fn declared_only(&self, task: TaskRef, start: TaskRef) -> Option<&[u32]> {
        let slot = self.tasks.live(task)?;
        if task != start && slot.state != State::Idle {
            return None;
        }
        let waits = self.primitives.declared(task.slot, task.id)?;
        if waits.has_foreign() || waits.own().is_empty() {
            return None;
        }
        if waker::clones_held(task.slot, slot.generation) {
            return None;
        }
        Some(waits.own())
    }

    /// Whether `start`, which has just declared a wait on a lock or semaphore, is
    /// blocked for good; returns the chain (task, primitive it waits on) from `start`
    /// along first holders until a task repeats.
    pub(super) fn find_wait_cycle(&self, start: TaskRef) -> Option<Vec<(TaskRef, u32)>> {
        let mut budget = WAIT_GRAPH_BUDGET;
        let mut path = Vec::new();
        let mut involved = Vec::new();
        if !self.stuck(start, start, &mut path, &mut involved, &mut budget) {
            return None;
        }
        // A task with a pending timer (a `timeout` around its wait) can still be freed.
        if involved
            .iter()
            .any(|task| self.timers.has_timer_of(task.id))
        {
            return None;
        }
        let mut chain: Vec<(TaskRef, u32)> = Vec::new();
        let mut task = start;
        while let Some(waits) = self.declared_only(task, start) {
            if chain.iter().any(|(seen, _)| *seen == task) {
                break;
            }
            let primitive = waits[0];
            chain.push((task, primitive));
            let holder = self.primitives.entries[primitive as usize].holders[0];
            task = TaskRef {
                slot: holder.slot,
                id: holder.task,
            };
        }
        Some(chain)
    }

    /// Whether every way to wake `task` goes through a holder that is stuck too.
    fn stuck(
        &self,
        task: TaskRef,
        start: TaskRef,
        path: &mut Vec<TaskRef>,
        involved: &mut Vec<TaskRef>,
        budget: &mut usize,
    ) -> bool {
        if path.contains(&task) {
            // Back on the path: a cycle (through `start` or ahead of it).
            return true;
        }
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let Some(waits) = self.declared_only(task, start) else {
            return false;
        };
        path.push(task);
        involved.push(task);
        let all_stuck = waits.iter().all(|primitive| {
            let holders = &self.primitives.entries[*primitive as usize].holders;
            !holders.is_empty()
                && holders.iter().all(|holder| {
                    let holder = TaskRef {
                        slot: holder.slot,
                        id: holder.task,
                    };
                    self.stuck(holder, start, path, involved, budget)
                })
        });
        path.pop();
        all_stuck
    }
}
