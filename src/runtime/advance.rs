//! Advancing the virtual clock.
//!
//! The clock moves only when no task is ready: it jumps to the earliest pending
//! timer, and every timer due at that instant fires, in an order drawn from the
//! choices (decision 0 keeps registration order). Before the jump the starvation
//! limit in virtual time is checked, so a wait that passes it fails at the exact
//! instant it did; past the run's time limit the run fails instead.

use super::executor::{Shared, Stop};
use super::timer::{TimerAction, WORLD_TIMER};
use crate::choices::Stream;
use crate::failure::FailureKind;
use crate::trace::EventKind;

impl Shared {
    /// Advances the clock to the earliest timer and fires every timer due then, in an
    /// order drawn from the choices. Returns false when no timer is pending.
    pub(super) fn fire_timers(&self) -> Result<bool, Stop> {
        let mut core = self.core.borrow_mut();
        let Some(deadline) = core.timers.next_deadline() else {
            return Ok(false);
        };
        let limit = core
            .start_nanos
            .saturating_add(core.config.max_time.as_nanos().min(u64::MAX as u128) as u64);
        if deadline > limit {
            return Err(Box::new(FailureKind::TimeLimit {
                max_time: core.config.max_time,
            }));
        }
        debug_assert!(deadline >= core.now_nanos, "the clock never goes back");
        if core.primitives.waiting > 0 {
            if let Some(max_wait) = core.config.max_wait {
                core.check_wait_time(deadline, max_wait)?;
            }
        }
        if deadline > core.now_nanos {
            core.now_nanos = deadline;
            core.record(EventKind::Advance, None, None);
        }
        let mut due = std::mem::take(&mut core.due);
        core.timers.pop_due(deadline, &mut due);
        // An in-place shuffle, linear in the number of timers: decision 0 keeps the
        // next timer in registration order.
        for index in 0..due.len() {
            let remaining = (due.len() - index) as u64;
            // The last timer has no choice left (a decision of one option draws
            // nothing), so it costs no call.
            if remaining > 1 {
                let chosen = index + core.choose(Stream::Timers, remaining) as usize;
                due.swap(index, chosen);
            }
            if due[index].owner != WORLD_TIMER {
                core.record(EventKind::TimerFire, Some(due[index].owner), None);
            }
        }
        core.stats.timers_fired += due.len() as u64;
        drop(core);
        for timer in due.drain(..) {
            match timer.action {
                TimerAction::Wake(waker) => waker.wake(),
                TimerAction::World(event) => (event.fire)(self, event.argument),
            }
        }
        self.core.borrow_mut().due = due;
        Ok(true)
    }
}
