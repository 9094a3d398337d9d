//! The FIFO wait queue every primitive waits through.
//!
//! Fairness, cancellation safety and instrumentation live here once, so the
//! primitives stay thin (tokio's `batch_semaphore.rs` has the same shape). A waiter is
//! a slot in a slab (its amount, waker, task, and when it began to wait) plus its
//! place in a FIFO line. The primitive decides *whether* the front waiter can be
//! served; the queue does the serving: [`WaitQueue::grant_front`] takes the front
//! waiter out of the line, marks it granted (the resource is now its, handed over
//! directly: nobody can barge in between) and wakes it. When the waiter's future runs
//! it sees the grant and completes.
//!
//! A waiter that is cancelled (its future dropped) leaves the line; if it had already
//! been granted, [`WaitQueue::cancel`] says how much, and the primitive passes it on to
//! the next waiter. So a cancelled waiter never receives anything afterwards and
//! nothing is lost. Cancelled waiters are removed from the line lazily (their slot's
//! generation changes and the stale line entry is skipped), so cancelling is O(1).
//!
//! Every step is reported through the queue's [`Probe`]: a `Request` event when a
//! task starts to wait, `Acquire` when it is granted (recorded at the grant, under
//! the waiter), `GiveUp` when a waiter leaves without a grant (cancelled, or the
//! primitive closed: recorded at the close).
//!
//! The queue also tells the executor what each task waits on: a task that parks here
//! declares the wait, and the declaration ends when the waiter is granted, closed or
//! dropped. A waiter polled with its task's own waker keeps a `TaskWake` (the task's
//! slot and generation) rather than a clone of the waker, so that a waker held by
//! anyone else tells the executor that code outside seedloop can wake the task.

use super::probe::Probe;
use crate::id::Site;
use crate::runtime::context;
use crate::runtime::primitives::WaitStart;
use crate::runtime::services::DeclaredWait;
use crate::runtime::waker::Wakeup;
use crate::scheduler::TaskRef;
use crate::trace::EventKind;
use std::collections::VecDeque;
use std::task::Context;

/// A waiter's ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaiterKey {
    index: u32,
    generation: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WaiterState {
    Free,
    Waiting,
    Granted,
    Closed,
}

struct WaiterSlot {
    generation: u32,
    state: WaiterState,
    amount: u64,
    wakeup: Wakeup,
    task: Option<TaskRef>,
    start: Option<WaitStart>,
    // Invariant: `Some` exactly while the waiter is `Waiting` inside a simulation.
    declared: Option<DeclaredWait>,
}

/// What a waiter's poll found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Polled {
    Waiting,
    /// Granted this amount; the ticket is spent.
    Granted(u64),
    /// The primitive was closed (or aborted) while it waited; the ticket is spent.
    Closed,
}

/// What cancelling a ticket found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cancelled {
    /// It was still waiting: nothing to give back.
    Waiting,
    /// It had been granted this amount: the primitive passes it on.
    Granted(u64),
    /// The ticket was already spent or closed.
    Gone,
}

/// The most waiters one queue holds at once: a limit on everything, and far above any
/// simulation's task count.
const MAX_WAITERS: usize = 1 << 24;

pub(crate) struct WaitQueue {
    pub probe: Probe,
    slots: Vec<WaiterSlot>,
    free: Vec<u32>,
    // Waiting tickets in FIFO order; may hold stale (cancelled) entries.
    line: VecDeque<WaiterKey>,
    // Tickets still waiting (the line minus stale entries).
    waiting: usize,
}

impl WaitQueue {
    pub(crate) fn new(probe: Probe) -> WaitQueue {
        WaitQueue {
            probe,
            slots: Vec::new(),
            free: Vec::new(),
            line: VecDeque::new(),
            waiting: 0,
        }
    }

    /// Whether no task is waiting (granted waiters that have not run yet don't count).
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    /// How many tasks wait.
    pub(crate) fn len(&self) -> usize {
        self.waiting
    }

    fn live(&self, key: WaiterKey) -> Option<&WaiterSlot> {
        self.slots
            .get(key.index as usize)
            .filter(|slot| slot.generation == key.generation && slot.state != WaiterState::Free)
    }

    /// Drops stale entries from the front of the line.
    fn settle_front(&mut self) {
        while let Some(&key) = self.line.front() {
            match self.live(key) {
                Some(slot) if slot.state == WaiterState::Waiting => return,
                _ => {
                    self.line.pop_front();
                }
            }
        }
    }

    /// The amount the first waiter asks for.
    pub(crate) fn front_amount(&mut self) -> Option<u64> {
        self.settle_front();
        let key = *self.line.front()?;
        self.live(key).map(|slot| slot.amount)
    }

    /// Enqueues the running task, asking for `amount`; records the request.
    pub(crate) fn wait(&mut self, amount: u64, cx: &Context<'_>, site: Site) -> WaiterKey {
        assert!(
            self.waiting < MAX_WAITERS,
            "more than {MAX_WAITERS} tasks wait on one {}",
            self.probe.kind()
        );
        let (task, start, own, declared) = context::try_with_current(|shared| {
            self.probe.record(shared, EventKind::Request, None);
            let own = shared.own_wake(cx.waker());
            let number = self.probe.number(shared);
            let check_cycle = own.is_some() && self.probe.holds();
            let declared = shared.declare_wait(number, own.is_some(), check_cycle);
            shared.note_site(site);
            (shared.current_task(), shared.wait_start(), own, declared)
        })
        .unwrap_or((None, None, None, None));
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(WaiterSlot {
                    generation: 0,
                    state: WaiterState::Free,
                    amount: 0,
                    wakeup: Wakeup::None,
                    task: None,
                    start: None,
                    declared: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        debug_assert_eq!(slot.state, WaiterState::Free);
        slot.state = WaiterState::Waiting;
        slot.amount = amount;
        slot.wakeup = match own {
            Some(wake) => Wakeup::Own(wake),
            None => Wakeup::Foreign(cx.waker().clone()),
        };
        slot.task = task;
        slot.start = start;
        slot.declared = declared;
        let key = WaiterKey {
            index,
            generation: slot.generation,
        };
        self.line.push_back(key);
        self.waiting += 1;
        if self.waiting == 1 {
            self.report_oldest();
        }
        key
    }

    /// Keeps the executor's record of the oldest waiter, for the starvation limits.
    /// Only locks and semaphores count: their waiters wait for what other tasks hold.
    /// Waiting for an item, an event or a notification is the program's own logic (an
    /// idle consumer is not starving).
    fn report_oldest(&mut self) {
        if !self.probe.holds() {
            return;
        }
        self.settle_front();
        let start = self
            .line
            .front()
            .and_then(|key| self.live(*key))
            .and_then(|slot| slot.start);
        context::try_with_current(|shared| self.probe.oldest_wait(shared, start));
    }

    /// Grants the first waiter what it asked for and wakes it; returns the amount.
    pub(crate) fn grant_front(&mut self) -> Option<u64> {
        self.settle_front();
        let key = self.line.pop_front()?;
        let slot = &mut self.slots[key.index as usize];
        slot.state = WaiterState::Granted;
        self.waiting -= 1;
        let (amount, task, declared) = (slot.amount, slot.task, slot.declared.take());
        let wakeup = std::mem::replace(&mut slot.wakeup, Wakeup::None);
        context::try_with_current(|shared| {
            if let Some(declared) = declared {
                shared.end_wait(declared);
            }
            if let Some(task) = task {
                self.probe.granted_to(shared, task, amount);
            }
        });
        self.report_oldest();
        wakeup.wake();
        Some(amount)
    }

    /// Grants every waiter (an event that was set, a barrier that filled).
    pub(crate) fn grant_all(&mut self) {
        while self.grant_front().is_some() {}
    }

    /// Fails every waiter (a closed semaphore, an aborted barrier, a shut-down queue).
    pub(crate) fn close_all(&mut self) {
        while let Some(key) = self.line.pop_front() {
            let Some(slot) = self.slots.get_mut(key.index as usize) else {
                continue;
            };
            if slot.generation != key.generation || slot.state != WaiterState::Waiting {
                continue;
            }
            slot.state = WaiterState::Closed;
            self.waiting -= 1;
            let (task, declared) = (slot.task, slot.declared.take());
            let wakeup = std::mem::replace(&mut slot.wakeup, Wakeup::None);
            // The waiter gives up now, not when it next runs: from here on it is no
            // longer in line, and a grant to another task bypasses nobody.
            context::try_with_current(|shared| {
                if let Some(declared) = declared {
                    shared.end_wait(declared);
                }
                self.probe
                    .record(shared, EventKind::GiveUp, task.map(|task| task.id))
            });
            wakeup.wake();
        }
        self.report_oldest();
    }

    /// Checks a ticket: granted (spent), closed (spent), or still waiting (its
    /// waker refreshed).
    pub(crate) fn poll(&mut self, key: WaiterKey, cx: &Context<'_>, site: Site) -> Polled {
        let Some(slot) = self
            .slots
            .get_mut(key.index as usize)
            .filter(|slot| slot.generation == key.generation)
        else {
            return Polled::Closed;
        };
        match slot.state {
            WaiterState::Waiting => {
                self.refresh(key.index, cx, site);
                Polled::Waiting
            }
            WaiterState::Granted => {
                let amount = slot.amount;
                self.release_slot(key.index);
                Polled::Granted(amount)
            }
            WaiterState::Closed => {
                self.release_slot(key.index);
                Polled::Closed
            }
            WaiterState::Free => Polled::Closed,
        }
    }

    /// A waiter polled again while it waits: its wakeup follows the waker it was
    /// polled with (the declaration too, when that changes between the task's own and
    /// a combinator's), and the wait is noted for this poll.
    fn refresh(&mut self, index: u32, cx: &Context<'_>, site: Site) {
        let slot = &mut self.slots[index as usize];
        let probe = &self.probe;
        let inside = context::try_with_current(|shared| {
            let was_own = matches!(slot.wakeup, Wakeup::Own(_));
            shared.register_wakeup(&mut slot.wakeup, cx.waker());
            let own = matches!(slot.wakeup, Wakeup::Own(_));
            if was_own != own {
                if let Some(declared) = slot.declared.take() {
                    shared.end_wait(declared);
                }
                let check_cycle = own && probe.holds();
                slot.declared = shared.declare_wait(probe.number(shared), own, check_cycle);
            } else {
                shared.note_wait(probe.number(shared), own && probe.holds());
            }
            shared.note_site(site);
        });
        if inside.is_none() {
            match &slot.wakeup {
                Wakeup::Foreign(waker) if waker.will_wake(cx.waker()) => {}
                _ => slot.wakeup = Wakeup::Foreign(cx.waker().clone()),
            }
        }
    }

    /// Takes a ticket back (its future was dropped).
    pub(crate) fn cancel(&mut self, key: WaiterKey) -> Cancelled {
        let Some(slot) = self
            .slots
            .get(key.index as usize)
            .filter(|slot| slot.generation == key.generation)
        else {
            return Cancelled::Gone;
        };
        let outcome = match slot.state {
            WaiterState::Waiting => {
                self.waiting -= 1;
                let declared = slot.declared;
                context::try_with_current(|shared| {
                    if let Some(declared) = declared {
                        shared.end_wait(declared);
                    }
                    self.probe.record(shared, EventKind::GiveUp, None)
                });
                Cancelled::Waiting
            }
            WaiterState::Granted => {
                let (amount, task) = (slot.amount, slot.task);
                // It gives back, unused, what it was granted.
                context::try_with_current(|shared| {
                    self.probe
                        .released_by(shared, task.map(|task| task.id), amount)
                });
                Cancelled::Granted(amount)
            }
            WaiterState::Closed => Cancelled::Gone,
            WaiterState::Free => return Cancelled::Gone,
        };
        self.release_slot(key.index);
        if outcome == Cancelled::Waiting {
            if self.line.len() > 2 * self.waiting + 64 {
                // Stale entries of cancelled waiters pile up behind a front waiter
                // that does not move: drop them, keeping the order.
                let slots = &self.slots;
                self.line.retain(|key| {
                    slots[key.index as usize].generation == key.generation
                        && slots[key.index as usize].state == WaiterState::Waiting
                });
            }
            self.report_oldest();
        }
        outcome
    }

    fn release_slot(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        slot.state = WaiterState::Free;
        slot.generation = slot.generation.wrapping_add(1);
        slot.wakeup = Wakeup::None;
        slot.task = None;
        slot.start = None;
        slot.declared = None;
        self.free.push(index);
    }

    /// Records an immediate acquisition by the running task (no wait).
    pub(crate) fn acquired_now(&self, amount: u64) {
        context::try_with_current(|shared| {
            if let Some(task) = shared.current_task() {
                self.probe.granted_to(shared, task, amount);
            }
        });
    }

    /// Records a release by the running task of what `holder` held.
    pub(crate) fn released(&self, holder: Option<crate::id::TaskId>, amount: u64) {
        context::try_with_current(|shared| self.probe.released_by(shared, holder, amount));
    }

    /// Forgets that `holder` holds `amount` (permits given up without a release).
    pub(crate) fn forget_holder(&self, holder: Option<crate::id::TaskId>, amount: u64) {
        let Some(holder) = holder else {
            return;
        };
        if !self.probe.holds() {
            return;
        }
        context::try_with_current(|shared| {
            let number = self.probe.number(shared);
            shared.remove_holder(number, holder, amount);
        });
    }

    /// The running task, if inside a simulation.
    pub(crate) fn current_task() -> Option<crate::id::TaskId> {
        context::try_with_current(|shared| shared.current_task().map(|task| task.id)).flatten()
    }
}
