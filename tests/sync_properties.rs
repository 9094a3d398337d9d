//! Property tests of the synchronization primitives in `seedloop::sync`: fairness,
//! exclusion, permit bounds, cancellation safety, and the semantics of `Queue`,
//! `Event`, `Barrier` and `Promise`.
//!
//! Every property draws a seed, a policy (Random, Fifo, PCT of depth 1 to 3), a number
//! of tasks and their pauses (a virtual-time sleep or a number of yields), and runs its
//! scenario twice on `Sim::new(seed).policy(policy)` through [`common::run_twice`], so
//! each one also checks that the seed replays event for event. Scenarios record what
//! the tasks saw from inside the simulation (who asked when, who got what, with a
//! sequence number for every event that matters); the tests assert it, and read grant
//! order against request order from the trace with [`Fairness`].
//!
//! The last section writes a deliberately unfair (barging) lock, instrumented with a
//! [`Probe`], to show that the fairness check does fail when grants bypass waiters.
//!
//! 64 cases a property; `PROPTEST_CASES=2000` for a longer soak.

mod common;

use common::props::{
    config, passed, pause, pause_checking, pause_for, policy, sim_for, suspending_pause, Pause,
    Shared,
};
use common::run_twice;
use proptest::prelude::*;
use seedloop::sync::{
    Barrier, Event, Fairness, InvalidState, Lock, PrimitiveFairness, Probe, Promise, PromiseError,
    Queue, Semaphore,
};
use seedloop::task::{current, TaskId};
use seedloop::time::sleep;
use seedloop::{spawn, JoinError, JoinHandle, Policy};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

// ---------------------------------------------------------------------------------
// Shared helpers (the strategies are in `common::props`).
// ---------------------------------------------------------------------------------

/// Every scenario's pauses end well before this: a task that sleeps this long wakes
/// when every other task has finished or is blocked for good (virtual time moves
/// only when no task is ready).
const LONG_AFTER: Duration = Duration::from_secs(60);

fn me() -> TaskId {
    current().id()
}

/// The fairness record of the primitive named `name`.
fn fairness_of<'a>(fairness: &'a Fairness, name: &str) -> &'a PrimitiveFairness {
    fairness
        .primitive(name)
        .unwrap_or_else(|| panic!("no primitive named {name} in {fairness}"))
}

/// `order` without the main task (which only checks the final state).
fn without_main(order: &[TaskId]) -> Vec<TaskId> {
    order
        .iter()
        .copied()
        .filter(|task| *task != TaskId::MAIN)
        .collect()
}

/// Awaits every handle in order.
async fn join_all<T>(handles: Vec<JoinHandle<T>>) -> Vec<Result<T, JoinError>> {
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await);
    }
    results
}

// ---------------------------------------------------------------------------------
// 1 and 2. `Lock`: FIFO grants, mutual exclusion.
// ---------------------------------------------------------------------------------

/// One acquisition: held across `hold`, then `after` before the next.
#[derive(Clone, Copy, Debug)]
struct Round {
    hold: Pause,
    after: Pause,
    /// Permits asked for (semaphores only).
    permits: u32,
}

#[derive(Clone, Debug)]
struct Contender {
    start: Pause,
    rounds: Vec<Round>,
}

fn contender(max_permits: u32) -> impl Strategy<Value = Contender> {
    (
        pause(),
        prop::collection::vec(
            (suspending_pause(), pause(), 1..=max_permits).prop_map(|(hold, after, permits)| {
                Round {
                    hold,
                    after,
                    permits,
                }
            }),
            1..=3,
        ),
    )
        .prop_map(|(start, rounds)| Contender { start, rounds })
}

fn lock_contenders() -> impl Strategy<Value = Vec<Contender>> {
    prop::collection::vec(contender(1), 2..=6)
}

#[derive(Debug, Default, PartialEq)]
struct LockRecord {
    /// Every `lock()` call, in order.
    asked: Vec<TaskId>,
    /// The calls that found the lock held or waited for (so had to wait), in order.
    waited: Vec<TaskId>,
    /// Every acquisition, in the order the tasks got the lock.
    got: Vec<TaskId>,
    /// The acquisitions of the tasks that had to wait.
    got_after_waiting: Vec<TaskId>,
    /// The most tasks ever seen inside the critical section at once.
    most_inside: usize,
    /// `try_lock` succeeded while a task held the lock.
    try_lock_broke_in: bool,
    /// The counter the lock guards, and the rounds run.
    counted: usize,
    rounds: usize,
    locked_at_end: bool,
    waiters_at_end: usize,
}

async fn lock_contention(contenders: Vec<Contender>) -> LockRecord {
    let lock = Rc::new(Lock::new(0usize).named("lock"));
    let record: Shared<LockRecord> = Rc::default();
    let inside = Rc::new(Cell::new(0usize));
    let handles: Vec<_> = contenders
        .into_iter()
        .map(|contender| {
            let (lock, record, inside) = (lock.clone(), record.clone(), inside.clone());
            spawn(async move {
                pause_for(contender.start).await;
                for round in contender.rounds {
                    let waits = lock.is_locked() || lock.waiters() > 0;
                    {
                        let mut record = record.borrow_mut();
                        record.asked.push(me());
                        if waits {
                            record.waited.push(me());
                        }
                    }
                    let mut guard = lock.lock().await;
                    inside.set(inside.get() + 1);
                    let observe = || {
                        let mut record = record.borrow_mut();
                        record.most_inside = record.most_inside.max(inside.get());
                        record.try_lock_broke_in |= lock.try_lock().is_ok();
                    };
                    {
                        let mut record = record.borrow_mut();
                        record.got.push(me());
                        if waits {
                            record.got_after_waiting.push(me());
                        }
                        record.rounds += 1;
                    }
                    observe();
                    let read = *guard;
                    pause_checking(round.hold, observe).await;
                    *guard = read + 1;
                    inside.set(inside.get() - 1);
                    drop(guard);
                    pause_for(round.after).await;
                }
            })
        })
        .collect();
    for result in join_all(handles).await {
        result.expect("no contender is cancelled");
    }
    let mut record = record.take();
    record.locked_at_end = lock.is_locked();
    record.waiters_at_end = lock.waiters();
    record.counted = *lock.try_lock().expect("the lock is free at the end");
    record
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn lock_grants_the_lock_in_request_order_under_every_policy(
        seed in any::<u64>(),
        policy in policy(),
        contenders in lock_contenders(),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || lock_contention(contenders.clone()));
        let record = passed(result);
        // Seen from inside: tasks got the lock in the order they asked for it.
        prop_assert_eq!(&record.got, &record.asked);
        prop_assert_eq!(&record.got_after_waiting, &record.waited);
        // Seen from the trace: the same orders, and no grant bypassed a waiter.
        let fairness = Fairness::of(sim.trace());
        prop_assert!(!fairness.is_partial());
        let lock = fairness_of(&fairness, "lock");
        prop_assert_eq!(without_main(&lock.request_order), record.asked.clone());
        prop_assert_eq!(&lock.grant_order, &lock.request_order);
        prop_assert_eq!(lock.waits as usize, record.waited.len());
        prop_assert_eq!(lock.max_bypassed, 0);
        fairness.assert_no_bypass();
    }

    #[test]
    fn lock_never_has_two_holders(
        seed in any::<u64>(),
        policy in policy(),
        contenders in lock_contenders(),
    ) {
        let (_, result) = run_twice(sim_for(seed, &policy), || lock_contention(contenders.clone()));
        let record = passed(result);
        prop_assert_eq!(record.most_inside, 1, "two tasks held the lock at once");
        prop_assert!(!record.try_lock_broke_in, "try_lock took a held lock");
        // Every read-yield-write in the critical section counted: no lost update.
        prop_assert_eq!(record.counted, record.rounds);
        prop_assert!(!record.locked_at_end);
        prop_assert_eq!(record.waiters_at_end, 0);
    }
}

// ---------------------------------------------------------------------------------
// 1 and 3. `Semaphore`: FIFO grants, never more than its permits held.
// ---------------------------------------------------------------------------------

fn semaphore_contenders() -> impl Strategy<Value = (u32, Vec<Contender>)> {
    (1u32..=4).prop_flat_map(|permits| {
        (
            Just(permits),
            prop::collection::vec(contender(permits), 2..=6),
        )
    })
}

#[derive(Debug, Default, PartialEq)]
struct SemaphoreRecord {
    /// Every request, in order.
    asked: Vec<TaskId>,
    /// The requests that had to wait (nobody waited and enough permits were free
    /// otherwise), in order.
    waited: Vec<TaskId>,
    /// Tasks that got their permits while a task that had asked before them still
    /// waited: (task, its place among the waiters, how many waiters had been served).
    out_of_line: Vec<(TaskId, usize, usize)>,
    /// The most permits held at once.
    most_held: u32,
    /// Held plus free exceeded the initial count at some point.
    overcounted: bool,
    available_at_end: usize,
    waiters_at_end: usize,
}

async fn semaphore_contention(permits: u32, contenders: Vec<Contender>) -> SemaphoreRecord {
    let semaphore = Rc::new(Semaphore::new(permits as usize).named("semaphore"));
    let record: Shared<SemaphoreRecord> = Rc::default();
    let held = Rc::new(Cell::new(0u32));
    let handles: Vec<_> = contenders
        .into_iter()
        .map(|contender| {
            let (semaphore, record, held) = (semaphore.clone(), record.clone(), held.clone());
            spawn(async move {
                pause_for(contender.start).await;
                for round in contender.rounds {
                    let waits =
                        semaphore.waiters() > 0 || semaphore.available() < round.permits as usize;
                    let place = {
                        let mut record = record.borrow_mut();
                        record.asked.push(me());
                        waits.then(|| {
                            record.waited.push(me());
                            record.waited.len() - 1
                        })
                    };
                    let permit = semaphore
                        .acquire_many(round.permits)
                        .await
                        .expect("never closed");
                    held.set(held.get() + round.permits);
                    let observe = || {
                        let mut record = record.borrow_mut();
                        record.most_held = record.most_held.max(held.get());
                        record.overcounted |=
                            held.get() as usize + semaphore.available() > permits as usize;
                    };
                    if let Some(place) = place {
                        // FIFO: the waiters served so far are the first ones in line.
                        let mut record = record.borrow_mut();
                        let served = record.waited.len() - semaphore.waiters();
                        if place >= served {
                            record.out_of_line.push((me(), place, served));
                        }
                    }
                    observe();
                    pause_checking(round.hold, observe).await;
                    held.set(held.get() - round.permits);
                    drop(permit);
                    pause_for(round.after).await;
                }
            })
        })
        .collect();
    for result in join_all(handles).await {
        result.expect("no contender is cancelled");
    }
    let mut record = record.take();
    record.available_at_end = semaphore.available();
    record.waiters_at_end = semaphore.waiters();
    record
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn semaphore_grants_permits_in_request_order_under_every_policy(
        seed in any::<u64>(),
        policy in policy(),
        (permits, contenders) in semaphore_contenders(),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || {
            semaphore_contention(permits, contenders.clone())
        });
        let record = passed(result);
        prop_assert!(
            record.out_of_line.is_empty(),
            "served ahead of earlier waiters: {:?} (waiters in order: {:?})",
            record.out_of_line, record.waited
        );
        let fairness = Fairness::of(sim.trace());
        prop_assert!(!fairness.is_partial());
        let semaphore = fairness_of(&fairness, "semaphore");
        prop_assert_eq!(&semaphore.request_order, &record.asked);
        prop_assert_eq!(&semaphore.grant_order, &semaphore.request_order);
        prop_assert_eq!(semaphore.waits as usize, record.waited.len());
        prop_assert_eq!(semaphore.max_bypassed, 0);
        fairness.assert_no_bypass();
    }

    #[test]
    fn semaphore_never_has_more_than_its_permits_held(
        seed in any::<u64>(),
        policy in policy(),
        (permits, contenders) in semaphore_contenders(),
    ) {
        let (_, result) = run_twice(sim_for(seed, &policy), || {
            semaphore_contention(permits, contenders.clone())
        });
        let record = passed(result);
        prop_assert!(record.most_held <= permits, "{} permits held of {}", record.most_held, permits);
        prop_assert!(!record.overcounted, "held plus free permits exceeded {}", permits);
        prop_assert_eq!(record.available_at_end, permits as usize);
        prop_assert_eq!(record.waiters_at_end, 0);
    }
}

// ---------------------------------------------------------------------------------
// 4. Cancelled waiters: nothing lost or duplicated, nothing received after a cancel.
// ---------------------------------------------------------------------------------

/// What each waiter received and when it was cancelled, on one clock.
#[derive(Debug, Default)]
struct Ledger {
    clock: u64,
    /// Waiters whose wait is pending (asked, not yet received, future not dropped),
    /// in the order they asked.
    line: Vec<usize>,
    /// Per waiter: (tick, what) for everything it received.
    received: Vec<Vec<(u64, usize)>>,
    /// Per waiter: the tick of the first successful `cancel()`.
    cancelled: Vec<Option<u64>>,
}

impl Ledger {
    fn new(waiters: usize) -> Ledger {
        Ledger {
            received: vec![Vec::new(); waiters],
            cancelled: vec![None; waiters],
            ..Ledger::default()
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn receive(&mut self, waiter: usize, what: usize) {
        let tick = self.tick();
        self.received[waiter].push((tick, what));
    }
}

type Handles = Shared<Vec<JoinHandle<()>>>;

/// Cancels `waiter`, noting the tick if the cancel took.
fn cancel_waiter(ledger: &Shared<Ledger>, handles: &Handles, waiter: usize) {
    if handles.borrow()[waiter].cancel() {
        let mut ledger = ledger.borrow_mut();
        let tick = ledger.tick();
        ledger.cancelled[waiter].get_or_insert(tick);
    }
}

/// Cancels the first waiter in line (right after a release or a put, that is the one
/// just handed the lock, the permits or the item, which has not run yet).
fn cancel_front(ledger: &Shared<Ledger>, handles: &Handles) {
    let front = ledger.borrow().line.first().copied();
    if let Some(front) = front {
        cancel_waiter(ledger, handles, front);
    }
}

/// A waiter's place in the ledger's line, from before its wait to its end (or to its
/// future's drop, when it is cancelled).
struct InLine {
    ledger: Shared<Ledger>,
    waiter: usize,
}

impl InLine {
    fn join(ledger: &Shared<Ledger>, waiter: usize) -> InLine {
        ledger.borrow_mut().line.push(waiter);
        InLine {
            ledger: ledger.clone(),
            waiter,
        }
    }
}

impl Drop for InLine {
    fn drop(&mut self) {
        self.ledger
            .borrow_mut()
            .line
            .retain(|waiter| *waiter != self.waiter);
    }
}

/// Counts `amount` held in `held` from its creation to its drop (a cancelled holder's
/// drop included).
struct Holding {
    held: Rc<Cell<u32>>,
    amount: u32,
}

impl Holding {
    fn new(held: &Rc<Cell<u32>>, amount: u32) -> Holding {
        held.set(held.get() + amount);
        Holding {
            held: held.clone(),
            amount,
        }
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.held.set(self.held.get() - self.amount);
    }
}

#[derive(Clone, Debug)]
struct CancelWaiter {
    start: Pause,
    hold: Pause,
    /// Permits asked for (semaphores only).
    permits: u32,
    /// A canceller task cancels this waiter after this pause.
    cancel_after: Option<Pause>,
    /// Right after releasing, this waiter cancels the first one in line.
    cancels_next: bool,
}

fn cancel_waiter_plan(max_permits: u32) -> impl Strategy<Value = CancelWaiter> {
    (
        pause(),
        suspending_pause(),
        1..=max_permits,
        prop::option::weighted(0.4, pause()),
        prop::bool::weighted(0.4),
    )
        .prop_map(
            |(start, hold, permits, cancel_after, cancels_next)| CancelWaiter {
                start,
                hold,
                permits,
                cancel_after,
                cancels_next,
            },
        )
}

/// How a cancellation scenario ended.
#[derive(Debug, PartialEq)]
struct CancelOutcome {
    received: Vec<Vec<(u64, usize)>>,
    cancelled: Vec<Option<u64>>,
    /// Each waiter's result; `None` if it had not finished long after every pause.
    results: Vec<Option<Result<(), JoinError>>>,
    /// The most held at once (lock holders, or permits).
    most_held: u32,
    /// Held when everything had ended.
    held_at_end: u32,
}

impl CancelOutcome {
    /// Nothing was received after a cancel; only cancelled waiters ended cancelled;
    /// nobody got stuck.
    fn check_waiters(&self) -> Result<(), TestCaseError> {
        for (waiter, result) in self.results.iter().enumerate() {
            let received = &self.received[waiter];
            match (result, self.cancelled[waiter]) {
                (None, _) => {
                    return Err(TestCaseError::fail(format!(
                        "waiter {waiter} never finished"
                    )))
                }
                (Some(Ok(())), None) => {}
                (Some(Err(JoinError::Cancelled)), Some(cancelled)) => {
                    prop_assert!(
                        received.iter().all(|(tick, _)| *tick < cancelled),
                        "waiter {} received {:?} after its cancel at tick {}",
                        waiter,
                        received,
                        cancelled
                    );
                }
                (Some(result), cancelled) => {
                    return Err(TestCaseError::fail(format!(
                        "waiter {waiter} ended with {result:?}, cancelled at tick {cancelled:?}"
                    )))
                }
            }
        }
        Ok(())
    }
}

/// Spawns a canceller for each waiter that has one; returns their handles.
fn spawn_cancellers(
    plans: &[Option<Pause>],
    ledger: &Shared<Ledger>,
    handles: &Handles,
) -> Vec<JoinHandle<()>> {
    plans
        .iter()
        .enumerate()
        .filter_map(|(waiter, plan)| {
            let pause = (*plan)?;
            let (ledger, handles) = (ledger.clone(), handles.clone());
            Some(spawn(async move {
                pause_for(pause).await;
                cancel_waiter(&ledger, &handles, waiter);
            }))
        })
        .collect()
}

/// Waits until everything has settled, then collects each waiter's result.
async fn settle(
    handles: &Handles,
    cancellers: Vec<JoinHandle<()>>,
) -> Vec<Option<Result<(), JoinError>>> {
    sleep(LONG_AFTER).await;
    for result in join_all(cancellers).await {
        result.expect("cancellers finish");
    }
    let handles: Vec<_> = handles.borrow_mut().drain(..).collect();
    let mut results = Vec::new();
    for handle in handles {
        if handle.is_finished() {
            results.push(Some(handle.await));
        } else {
            handle.cancel();
            results.push(None);
        }
    }
    results
}

#[derive(Clone, Copy, Debug)]
enum Guarded {
    Lock,
    Semaphore(u32),
}

/// Waiters on a lock or a semaphore, some cancelled: by a canceller after a pause, or
/// by the previous holder right after it released.
async fn cancelled_waiters(guarded: Guarded, plans: Vec<CancelWaiter>) -> (CancelOutcome, bool) {
    let lock = Rc::new(Lock::new(()).named("lock"));
    let semaphore = Rc::new(
        Semaphore::new(match guarded {
            Guarded::Lock => 0,
            Guarded::Semaphore(permits) => permits as usize,
        })
        .named("semaphore"),
    );
    let ledger = Rc::new(RefCell::new(Ledger::new(plans.len())));
    let handles: Handles = Rc::default();
    let held = Rc::new(Cell::new(0u32));
    let most_held = Rc::new(Cell::new(0u32));
    for (waiter, plan) in plans.iter().cloned().enumerate() {
        let (lock, semaphore, ledger, all, held, most_held) = (
            lock.clone(),
            semaphore.clone(),
            ledger.clone(),
            handles.clone(),
            held.clone(),
            most_held.clone(),
        );
        let handle = spawn(async move {
            pause_for(plan.start).await;
            let in_line = InLine::join(&ledger, waiter);
            match guarded {
                Guarded::Lock => {
                    let guard = lock.lock().await;
                    ledger.borrow_mut().receive(waiter, 1);
                    drop(in_line);
                    let holding = Holding::new(&held, 1);
                    most_held.set(most_held.get().max(held.get()));
                    pause_for(plan.hold).await;
                    drop(holding);
                    drop(guard);
                }
                Guarded::Semaphore(_) => {
                    let permit = semaphore
                        .acquire_many(plan.permits)
                        .await
                        .expect("never closed");
                    ledger.borrow_mut().receive(waiter, plan.permits as usize);
                    drop(in_line);
                    let holding = Holding::new(&held, plan.permits);
                    most_held.set(most_held.get().max(held.get()));
                    pause_for(plan.hold).await;
                    drop(holding);
                    drop(permit);
                }
            }
            if plan.cancels_next {
                cancel_front(&ledger, &all);
            }
        });
        handles.borrow_mut().push(handle);
    }
    let cancel_plans: Vec<_> = plans.iter().map(|plan| plan.cancel_after).collect();
    let cancellers = spawn_cancellers(&cancel_plans, &ledger, &handles);
    let results = settle(&handles, cancellers).await;
    let free = match guarded {
        Guarded::Lock => !lock.is_locked() && lock.waiters() == 0 && lock.try_lock().is_ok(),
        Guarded::Semaphore(permits) => {
            semaphore.available() == permits as usize && semaphore.waiters() == 0
        }
    };
    let ledger = ledger.take();
    let outcome = CancelOutcome {
        received: ledger.received,
        cancelled: ledger.cancelled,
        results,
        most_held: most_held.get(),
        held_at_end: held.get(),
    };
    (outcome, free)
}

fn cancel_plans(max_permits: u32) -> impl Strategy<Value = Vec<CancelWaiter>> {
    prop::collection::vec(cancel_waiter_plan(max_permits), 2..=7)
}

#[derive(Clone, Debug)]
struct GetterPlan {
    start: Pause,
    /// Items it gets before it ends.
    wants: usize,
    between: Pause,
    cancel_after: Option<Pause>,
}

#[derive(Clone, Debug)]
struct QueueCancelPlan {
    capacity: usize,
    /// Per item: the pause before it is put, and whether the producer then cancels the
    /// first getter in line (the one the item was just reserved for).
    items: Vec<(Pause, bool)>,
    getters: Vec<GetterPlan>,
}

fn queue_cancel_plan() -> impl Strategy<Value = QueueCancelPlan> {
    (
        1usize..=4,
        prop::collection::vec((pause(), prop::bool::weighted(0.3)), 0..=10),
        prop::collection::vec(
            (
                pause(),
                1usize..=3,
                pause(),
                prop::option::weighted(0.4, pause()),
            )
                .prop_map(|(start, wants, between, cancel_after)| GetterPlan {
                    start,
                    wants,
                    between,
                    cancel_after,
                }),
            1..=5,
        ),
    )
        .prop_map(|(capacity, items, getters)| QueueCancelPlan {
            capacity,
            items,
            getters,
        })
}

#[derive(Debug, PartialEq)]
struct QueueCancelOutcome {
    waiters: CancelOutcome,
    /// Items whose `put` returned `Ok`, in order.
    put: Vec<usize>,
    /// What was left in the queue at the end, drained in order.
    left: Vec<usize>,
    len_at_end: usize,
    /// Once everything had settled, a getter still waited while items were queued.
    waiting_beside_items: bool,
}

/// Getters on a bounded queue, some cancelled (by a canceller after a pause, or by the
/// producer right after a put); the queue is shut down once everything settled.
async fn cancelled_getters(plan: QueueCancelPlan) -> QueueCancelOutcome {
    let queue = Rc::new(Queue::bounded(plan.capacity).named("queue"));
    let ledger = Rc::new(RefCell::new(Ledger::new(plan.getters.len())));
    let handles: Handles = Rc::default();
    for (getter, getter_plan) in plan.getters.iter().cloned().enumerate() {
        let (queue, ledger) = (queue.clone(), ledger.clone());
        let handle = spawn(async move {
            pause_for(getter_plan.start).await;
            for _ in 0..getter_plan.wants {
                let in_line = InLine::join(&ledger, getter);
                let Ok(item) = queue.get().await else {
                    break;
                };
                ledger.borrow_mut().receive(getter, item);
                drop(in_line);
                pause_for(getter_plan.between).await;
            }
        });
        handles.borrow_mut().push(handle);
    }
    let put: Shared<Vec<usize>> = Rc::default();
    let producer = spawn({
        let (queue, ledger, handles, put) =
            (queue.clone(), ledger.clone(), handles.clone(), put.clone());
        let items = plan.items.clone();
        async move {
            for (item, (pause, cancel_next)) in items.into_iter().enumerate() {
                pause_for(pause).await;
                if queue.put(item).await.is_err() {
                    break;
                }
                put.borrow_mut().push(item);
                if cancel_next {
                    cancel_front(&ledger, &handles);
                }
            }
        }
    });
    let cancel_plans: Vec<_> = plan.getters.iter().map(|plan| plan.cancel_after).collect();
    let mut cancellers = spawn_cancellers(&cancel_plans, &ledger, &handles);
    // Settled: shut down, so the getters still waiting (for items never coming) and a
    // producer waiting for room (all getters gone) end.
    sleep(LONG_AFTER).await;
    let waiting_beside_items = !ledger.borrow().line.is_empty() && !queue.is_empty();
    queue.shutdown(false);
    cancellers.push(producer);
    let results = settle(&handles, cancellers).await;
    let len_at_end = queue.len();
    let mut left = Vec::new();
    while let Ok(item) = queue.try_get() {
        left.push(item);
    }
    let ledger = ledger.take();
    QueueCancelOutcome {
        waiters: CancelOutcome {
            received: ledger.received,
            cancelled: ledger.cancelled,
            results,
            most_held: 0,
            held_at_end: 0,
        },
        put: put.take(),
        left,
        len_at_end,
        waiting_beside_items,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_cancelled_lock_waiter_never_gets_the_lock_and_the_lock_is_never_lost(
        seed in any::<u64>(),
        policy in policy(),
        plans in cancel_plans(1),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || {
            cancelled_waiters(Guarded::Lock, plans.clone())
        });
        let (outcome, free) = passed(result);
        outcome.check_waiters()?;
        prop_assert!(outcome.most_held <= 1, "two holders");
        prop_assert_eq!(outcome.held_at_end, 0);
        prop_assert!(free, "the lock is held or waited for at the end");
        Fairness::of(sim.trace()).assert_no_bypass();
    }

    #[test]
    fn cancelled_semaphore_waiters_never_get_permits_and_no_permit_is_lost(
        seed in any::<u64>(),
        policy in policy(),
        (permits, plans) in (1u32..=3).prop_flat_map(|permits| (Just(permits), cancel_plans(permits))),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || {
            cancelled_waiters(Guarded::Semaphore(permits), plans.clone())
        });
        let (outcome, free) = passed(result);
        outcome.check_waiters()?;
        prop_assert!(outcome.most_held <= permits, "{} permits held of {}", outcome.most_held, permits);
        prop_assert_eq!(outcome.held_at_end, 0);
        prop_assert!(free, "permits are missing (or waiters left) at the end");
        Fairness::of(sim.trace()).assert_no_bypass();
    }

    #[test]
    fn cancelled_queue_getters_never_get_items_and_no_item_is_lost_or_duplicated(
        seed in any::<u64>(),
        policy in policy(),
        plan in queue_cancel_plan(),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || cancelled_getters(plan.clone()));
        let outcome = passed(result);
        outcome.waiters.check_waiters()?;
        prop_assert!(!outcome.waiting_beside_items, "a getter waits for good while items are queued");
        prop_assert_eq!(outcome.len_at_end, outcome.left.len());
        // Every item put left the queue exactly once, in the order it was put: the
        // items received (in the order they were received), then those left.
        let mut received: Vec<(u64, usize)> =
            outcome.waiters.received.iter().flatten().copied().collect();
        received.sort();
        let mut delivered: Vec<usize> = received.into_iter().map(|(_, item)| item).collect();
        delivered.extend(&outcome.left);
        prop_assert_eq!(&delivered, &outcome.put);
        Fairness::of(sim.trace()).assert_no_bypass();
    }
}

// ---------------------------------------------------------------------------------
// 5. `Queue`: every item delivered once, in FIFO order per producer.
// ---------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct QueuePlan {
    capacity: usize,
    /// Per producer, the pause before each of its items.
    producers: Vec<Vec<Pause>>,
    /// Per consumer, the pause before each get.
    consumers: Vec<Pause>,
}

fn queue_plan() -> impl Strategy<Value = QueuePlan> {
    (
        1usize..=4,
        prop::collection::vec(prop::collection::vec(pause(), 0..=6), 1..=4),
        prop::collection::vec(pause(), 1..=4),
    )
        .prop_map(|(capacity, producers, consumers)| QueuePlan {
            capacity,
            producers,
            consumers,
        })
}

#[derive(Debug, PartialEq)]
struct QueueRecord {
    /// (producer, index) in the order the puts completed.
    put: Vec<(usize, usize)>,
    /// (producer, index) in the order the gets completed.
    got: Vec<(usize, usize)>,
    /// How many items each consumer got.
    per_consumer: Vec<usize>,
    len_at_end: usize,
}

async fn producers_and_consumers(plan: QueuePlan) -> QueueRecord {
    let queue = Rc::new(Queue::bounded(plan.capacity).named("queue"));
    let put: Shared<Vec<(usize, usize)>> = Rc::default();
    let got: Shared<Vec<(usize, usize)>> = Rc::default();
    let producers: Vec<_> = plan
        .producers
        .iter()
        .cloned()
        .enumerate()
        .map(|(producer, pauses)| {
            let (queue, put) = (queue.clone(), put.clone());
            spawn(async move {
                for (index, pause) in pauses.into_iter().enumerate() {
                    pause_for(pause).await;
                    queue
                        .put((producer, index))
                        .await
                        .expect("not shut down yet");
                    put.borrow_mut().push((producer, index));
                }
            })
        })
        .collect();
    let consumers: Vec<_> = plan
        .consumers
        .iter()
        .map(|&pause| {
            let (queue, got) = (queue.clone(), got.clone());
            spawn(async move {
                let mut count = 0;
                loop {
                    pause_for(pause).await;
                    let Ok(item) = queue.get().await else {
                        return count;
                    };
                    got.borrow_mut().push(item);
                    count += 1;
                }
            })
        })
        .collect();
    for result in join_all(producers).await {
        result.expect("producers finish");
    }
    queue.shutdown(false);
    let per_consumer = join_all(consumers)
        .await
        .into_iter()
        .map(|result| result.expect("consumers finish"))
        .collect();
    QueueRecord {
        put: put.take(),
        got: got.take(),
        per_consumer,
        len_at_end: queue.len(),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn queue_delivers_every_item_exactly_once_in_fifo_order_per_producer(
        seed in any::<u64>(),
        policy in policy(),
        plan in queue_plan(),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || producers_and_consumers(plan.clone()));
        let record = passed(result);
        let total: usize = plan.producers.iter().map(Vec::len).sum();
        prop_assert_eq!(record.put.len(), total);
        prop_assert_eq!(record.per_consumer.iter().sum::<usize>(), total);
        prop_assert_eq!(record.len_at_end, 0);
        // Exactly once.
        let distinct: BTreeSet<_> = record.got.iter().collect();
        prop_assert_eq!(distinct.len(), total, "an item was delivered twice");
        // Each producer's items in the order it put them...
        for (producer, pauses) in plan.producers.iter().enumerate() {
            let mine: Vec<usize> = record
                .got
                .iter()
                .filter(|(from, _)| *from == producer)
                .map(|(_, index)| *index)
                .collect();
            prop_assert_eq!(mine, (0..pauses.len()).collect::<Vec<_>>());
        }
        // ...and, globally, the order the puts completed in.
        prop_assert_eq!(&record.got, &record.put);
        Fairness::of(sim.trace()).assert_no_bypass();
    }
}

// ---------------------------------------------------------------------------------
// 6. `Event`: `set` wakes every task waiting at that moment, even if cleared at once.
// ---------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct EventPlan {
    /// When each waiter starts to wait.
    waiters: Vec<Pause>,
    /// Each `set`: the pause before it, and whether `clear` follows at once.
    sets: Vec<(Pause, bool)>,
}

fn event_plan() -> impl Strategy<Value = EventPlan> {
    (
        prop::collection::vec(pause(), 1..=6),
        prop::collection::vec((pause(), prop::bool::weighted(0.7)), 1..=3),
    )
        .prop_map(|(waiters, sets)| EventPlan { waiters, sets })
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum WaiterState {
    NotYet,
    Waiting,
    Woke,
}

#[derive(Debug, PartialEq)]
struct EventRecord {
    /// Per `set`, the waiters that were waiting when it was called.
    snapshots: Vec<Vec<usize>>,
    /// Per waiter: whether the event was set when it called `wait`.
    found_set: Vec<bool>,
    /// Per waiter: whether it had woken before the final `set` (by main, at the end).
    woke_before_final_set: Vec<bool>,
}

async fn event_waiters(plan: EventPlan) -> EventRecord {
    let event = Rc::new(Event::new().named("event"));
    let count = plan.waiters.len();
    let states = Rc::new(RefCell::new(vec![WaiterState::NotYet; count]));
    let found_set = Rc::new(RefCell::new(vec![false; count]));
    let mut handles: Vec<Option<JoinHandle<()>>> = plan
        .waiters
        .iter()
        .enumerate()
        .map(|(waiter, &start)| {
            let (event, states, found_set) = (event.clone(), states.clone(), found_set.clone());
            Some(spawn(async move {
                pause_for(start).await;
                found_set.borrow_mut()[waiter] = event.is_set();
                states.borrow_mut()[waiter] = WaiterState::Waiting;
                event.wait().await;
                states.borrow_mut()[waiter] = WaiterState::Woke;
            }))
        })
        .collect();
    let setter = spawn({
        let (event, states) = (event.clone(), states.clone());
        let sets = plan.sets.clone();
        async move {
            let mut snapshots = Vec::new();
            for (pause, clear) in sets {
                pause_for(pause).await;
                let waiting: Vec<usize> = states
                    .borrow()
                    .iter()
                    .enumerate()
                    .filter(|(_, state)| **state == WaiterState::Waiting)
                    .map(|(waiter, _)| waiter)
                    .collect();
                event.set();
                if clear {
                    event.clear();
                }
                snapshots.push(waiting);
            }
            snapshots
        }
    });
    let snapshots = setter.await.expect("the setter finishes");
    // Every waiter present at a set ends without another set (or the run deadlocks).
    let present: BTreeSet<usize> = snapshots.iter().flatten().copied().collect();
    for &waiter in &present {
        let handle = handles[waiter].take().expect("awaited once");
        handle.await.expect("a waiter present at a set wakes");
    }
    let woke_before_final_set = states
        .borrow()
        .iter()
        .map(|state| *state == WaiterState::Woke)
        .collect();
    event.set();
    for handle in handles.into_iter().flatten() {
        handle
            .await
            .expect("every waiter wakes after the final set");
    }
    let found_set = found_set.take();
    EventRecord {
        snapshots,
        found_set,
        woke_before_final_set,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn event_set_wakes_every_task_waiting_at_that_moment_even_if_cleared_at_once(
        seed in any::<u64>(),
        policy in policy(),
        plan in event_plan(),
    ) {
        let (_, result) = run_twice(sim_for(seed, &policy), || event_waiters(plan.clone()));
        let record = passed(result);
        let present: BTreeSet<usize> = record.snapshots.iter().flatten().copied().collect();
        for waiter in 0..plan.waiters.len() {
            if present.contains(&waiter) {
                prop_assert!(record.woke_before_final_set[waiter]);
            } else if record.woke_before_final_set[waiter] {
                // Not waiting at any set, yet woken: only if it found the event set.
                prop_assert!(
                    record.found_set[waiter],
                    "waiter {} woke without a set (snapshots {:?})", waiter, record.snapshots
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// 7. `Barrier`: parties pass together, once all have arrived, cycle after cycle.
// ---------------------------------------------------------------------------------

#[derive(Debug, Default, PartialEq)]
struct BarrierRecord {
    /// Per cycle: each party's (arrivals counted before it, what `waiting()` said).
    arrivals: Vec<Vec<(usize, usize)>>,
    /// Per cycle: (index returned, arrivals counted when the party passed).
    passes: Vec<Vec<(usize, usize)>>,
}

async fn barrier_cycles(parties: Vec<Vec<Pause>>) -> BarrierRecord {
    let count = parties.len();
    let cycles = parties[0].len();
    let barrier = Rc::new(Barrier::new(count).named("barrier"));
    let record = Rc::new(RefCell::new(BarrierRecord {
        arrivals: vec![Vec::new(); cycles],
        passes: vec![Vec::new(); cycles],
    }));
    let handles: Vec<_> = parties
        .into_iter()
        .map(|pauses| {
            let (barrier, record) = (barrier.clone(), record.clone());
            spawn(async move {
                for (cycle, pause) in pauses.into_iter().enumerate() {
                    pause_for(pause).await;
                    let before = record.borrow().arrivals[cycle].len();
                    record.borrow_mut().arrivals[cycle].push((before, barrier.waiting()));
                    let index = barrier.wait().await.expect("never broken");
                    let arrived = record.borrow().arrivals[cycle].len();
                    record.borrow_mut().passes[cycle].push((index, arrived));
                }
            })
        })
        .collect();
    for result in join_all(handles).await {
        result.expect("parties finish");
    }
    assert_eq!(barrier.waiting(), 0);
    record.take()
}

fn barrier_parties() -> impl Strategy<Value = Vec<Vec<Pause>>> {
    (1usize..=5, 2usize..=3).prop_flat_map(|(parties, cycles)| {
        prop::collection::vec(prop::collection::vec(pause(), cycles), parties)
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn barrier_lets_no_party_pass_before_all_have_arrived_cycle_after_cycle(
        seed in any::<u64>(),
        policy in policy(),
        parties in barrier_parties(),
    ) {
        let (_, result) = run_twice(sim_for(seed, &policy), || barrier_cycles(parties.clone()));
        let record = passed(result);
        let count = parties.len();
        for (cycle, (arrivals, passes)) in record.arrivals.iter().zip(&record.passes).enumerate() {
            prop_assert_eq!(arrivals.len(), count);
            prop_assert_eq!(passes.len(), count);
            for &(before, waiting) in arrivals {
                prop_assert_eq!(before, waiting, "cycle {}: the barrier counts arrivals of this cycle", cycle);
            }
            for &(_, arrived) in passes {
                prop_assert_eq!(arrived, count, "cycle {}: a party passed before all arrived", cycle);
            }
            // The index is the arrival's rank in its cycle: 0..n, each once.
            let mut indexes: Vec<usize> = passes.iter().map(|(index, _)| *index).collect();
            indexes.sort();
            prop_assert_eq!(indexes, (0..count).collect::<Vec<_>>());
        }
    }
}

// ---------------------------------------------------------------------------------
// 8. `Promise`: callbacks run exactly once, every awaiter gets the value, set once.
// ---------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct PromisePlan {
    value: u32,
    callbacks_before: usize,
    awaiters: Vec<Pause>,
    /// Tasks that add a callback after a pause (before or after the set).
    late_adders: Vec<Pause>,
    setter: Pause,
    callbacks_after: usize,
}

fn promise_plan() -> impl Strategy<Value = PromisePlan> {
    (
        any::<u32>(),
        0usize..=3,
        prop::collection::vec(pause(), 0..=5),
        prop::collection::vec(pause(), 0..=3),
        pause(),
        0usize..=3,
    )
        .prop_map(
            |(value, callbacks_before, awaiters, late_adders, setter, callbacks_after)| {
                PromisePlan {
                    value,
                    callbacks_before,
                    awaiters,
                    late_adders,
                    setter,
                    callbacks_after,
                }
            },
        )
}

type PromiseOutcome = Result<u32, PromiseError<String>>;

#[derive(Debug, PartialEq)]
struct PromiseRecord {
    /// Per callback, the outcomes it was called with.
    calls: Vec<Vec<PromiseOutcome>>,
    /// Callbacks added before the set that had not run when `set_result` returned.
    pending_after_set: usize,
    /// Callbacks added to a done promise that had not run when `add_done_callback`
    /// returned.
    late_not_at_once: usize,
    /// A second set, a set_error and a cancel, after the first set.
    second_set: Result<(), InvalidState>,
    set_error: Result<(), InvalidState>,
    cancelled: bool,
    result: PromiseOutcome,
    awaited: Vec<PromiseOutcome>,
}

async fn promise_scenario(plan: PromisePlan) -> PromiseRecord {
    let promise: Rc<Promise<u32>> = Rc::new(Promise::new().named("promise"));
    let calls: Shared<Vec<Vec<PromiseOutcome>>> = Rc::default();
    let add = {
        let (promise, calls) = (promise.clone(), calls.clone());
        move || -> usize {
            let callback = {
                let mut calls = calls.borrow_mut();
                calls.push(Vec::new());
                calls.len() - 1
            };
            let calls = calls.clone();
            promise.add_done_callback(move |outcome| {
                calls.borrow_mut()[callback].push(outcome.clone());
            });
            callback
        }
    };
    let add = Rc::new(add);
    let late_not_at_once = Rc::new(Cell::new(0));
    let not_run_yet = {
        let calls = calls.clone();
        move |callback: usize| calls.borrow()[callback].is_empty()
    };
    for _ in 0..plan.callbacks_before {
        add();
    }
    let awaiters: Vec<_> = plan
        .awaiters
        .iter()
        .enumerate()
        .map(|(awaiter, &pause)| {
            let promise = promise.clone();
            spawn(async move {
                pause_for(pause).await;
                if awaiter % 2 == 0 {
                    promise.wait().await
                } else {
                    (&*promise).await
                }
            })
        })
        .collect();
    let adders: Vec<_> = plan
        .late_adders
        .iter()
        .map(|&pause| {
            let (promise, add, late_not_at_once, not_run_yet) = (
                promise.clone(),
                add.clone(),
                late_not_at_once.clone(),
                not_run_yet.clone(),
            );
            spawn(async move {
                pause_for(pause).await;
                let done = promise.is_done();
                let callback = add();
                if done && not_run_yet(callback) {
                    late_not_at_once.set(late_not_at_once.get() + 1);
                }
            })
        })
        .collect();
    let setter = spawn({
        let (promise, calls) = (promise.clone(), calls.clone());
        let (setter, value) = (plan.setter, plan.value);
        async move {
            pause_for(setter).await;
            promise.set_result(value).expect("the first set");
            let pending_after_set = calls
                .borrow()
                .iter()
                .filter(|outcomes| outcomes.is_empty())
                .count();
            let second_set = promise.set_result(value.wrapping_add(1));
            let set_error = promise.set_error("too late".to_string());
            let cancelled = promise.cancel();
            (pending_after_set, second_set, set_error, cancelled)
        }
    });
    let (pending_after_set, second_set, set_error, cancelled) =
        setter.await.expect("the setter finishes");
    for _ in 0..plan.callbacks_after {
        let callback = add();
        if not_run_yet(callback) {
            late_not_at_once.set(late_not_at_once.get() + 1);
        }
    }
    let awaited = join_all(awaiters)
        .await
        .into_iter()
        .map(|result| result.expect("awaiters finish"))
        .collect();
    for result in join_all(adders).await {
        result.expect("adders finish");
    }
    let calls = calls.take();
    PromiseRecord {
        calls,
        pending_after_set,
        late_not_at_once: late_not_at_once.get(),
        second_set,
        set_error,
        cancelled,
        result: promise.result(),
        awaited,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn promise_runs_each_callback_exactly_once_and_every_awaiter_gets_the_value(
        seed in any::<u64>(),
        policy in policy(),
        plan in promise_plan(),
    ) {
        let (_, result) = run_twice(sim_for(seed, &policy), || promise_scenario(plan.clone()));
        let record = passed(result);
        let value: PromiseOutcome = Ok(plan.value);
        prop_assert_eq!(
            record.calls.len(),
            plan.callbacks_before + plan.late_adders.len() + plan.callbacks_after
        );
        for (callback, outcomes) in record.calls.iter().enumerate() {
            prop_assert_eq!(outcomes, &vec![value.clone()], "callback {}", callback);
        }
        prop_assert_eq!(record.pending_after_set, 0, "callbacks not run by set_result");
        prop_assert_eq!(record.late_not_at_once, 0, "a callback added to a done promise did not run at once");
        prop_assert_eq!(record.second_set, Err(InvalidState));
        prop_assert_eq!(record.set_error, Err(InvalidState));
        prop_assert!(!record.cancelled, "a done promise was cancelled");
        prop_assert_eq!(&record.result, &value);
        prop_assert_eq!(record.awaited.len(), plan.awaiters.len());
        for awaited in &record.awaited {
            prop_assert_eq!(awaited, &value);
        }
    }
}

// ---------------------------------------------------------------------------------
// 9. The fairness check can fail: a barging lock is caught, the real `Lock` is not.
// ---------------------------------------------------------------------------------

/// A deliberately unfair lock: unlocking wakes every waiter and whoever polls first
/// takes it, so a newcomer (or the releaser itself) can barge in ahead of waiters.
/// Instrumented with a [`Probe`] like the built-in primitives.
struct BargingLock {
    locked: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
    probe: Probe,
}

impl BargingLock {
    fn new() -> BargingLock {
        BargingLock {
            locked: Cell::new(false),
            wakers: RefCell::new(Vec::new()),
            probe: Probe::new("BargingLock", Some("barging")),
        }
    }

    fn lock(&self) -> BargingAcquire<'_> {
        BargingAcquire {
            lock: self,
            waiting: false,
        }
    }
}

struct BargingAcquire<'a> {
    lock: &'a BargingLock,
    waiting: bool,
}

impl<'a> Future for BargingAcquire<'a> {
    type Output = BargingGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BargingGuard<'a>> {
        let lock = self.lock;
        if !lock.locked.get() {
            lock.locked.set(true);
            self.waiting = false;
            lock.probe.acquired();
            return Poll::Ready(BargingGuard { lock });
        }
        if !self.waiting {
            self.waiting = true;
            lock.probe.requested();
        }
        lock.wakers.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for BargingAcquire<'_> {
    fn drop(&mut self) {
        if self.waiting {
            self.lock.probe.gave_up();
        }
    }
}

struct BargingGuard<'a> {
    lock: &'a BargingLock,
}

impl Drop for BargingGuard<'_> {
    fn drop(&mut self) {
        self.lock.locked.set(false);
        self.lock.probe.released();
        for waker in self.lock.wakers.take() {
            waker.wake();
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Which {
    Barging,
    Real,
}

/// Tasks that each take the lock a few times, holding it across a pause.
async fn lock_workload(which: Which, contenders: Vec<Contender>) -> usize {
    let barging = Rc::new(BargingLock::new());
    let real = Rc::new(Lock::new(()).named("real"));
    let rounds = Rc::new(Cell::new(0));
    let handles: Vec<_> = contenders
        .into_iter()
        .map(|contender| {
            let (barging, real, rounds) = (barging.clone(), real.clone(), rounds.clone());
            spawn(async move {
                pause_for(contender.start).await;
                for round in contender.rounds {
                    match which {
                        Which::Barging => {
                            let guard = barging.lock().await;
                            pause_for(round.hold).await;
                            drop(guard);
                        }
                        Which::Real => {
                            let guard = real.lock().await;
                            pause_for(round.hold).await;
                            drop(guard);
                        }
                    }
                    rounds.set(rounds.get() + 1);
                    pause_for(round.after).await;
                }
            })
        })
        .collect();
    for result in join_all(handles).await {
        result.expect("no contender is cancelled");
    }
    rounds.get()
}

/// A fixed workload for the seed search: four tasks, three rounds each, holding the
/// lock across a yield and yielding once between rounds.
fn fixed_contenders() -> Vec<Contender> {
    (0..4)
        .map(|task| Contender {
            start: Pause::Yields(task),
            rounds: vec![
                Round {
                    hold: Pause::Yields(1),
                    after: Pause::Yields(1),
                    permits: 1,
                };
                3
            ],
        })
        .collect()
}

#[test]
fn a_barging_lock_is_caught_by_the_fairness_check() {
    let mut caught = None;
    for seed in 0..200 {
        let (sim, result) = run_twice(sim_for(seed, &Policy::Random), || {
            lock_workload(Which::Barging, fixed_contenders())
        });
        assert_eq!(passed(result), 12);
        let fairness = Fairness::of(sim.trace());
        let barging = fairness_of(&fairness, "barging").clone();
        assert_eq!(barging.kind, "BargingLock");
        assert_eq!(barging.grants(), 12);
        if barging.max_bypassed > 0 {
            caught = Some((seed, fairness));
            break;
        }
    }
    let (seed, fairness) =
        caught.expect("no seed in 0..200 showed the barging lock bypassing a waiter");
    let barging = fairness_of(&fairness, "barging");
    assert!(barging.bypass_count > 0 && !barging.bypasses.is_empty());
    assert_ne!(barging.grant_order, barging.request_order);
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fairness.assert_no_bypass()))
            .expect_err("assert_no_bypass passed a lock that bypassed waiters");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("grants did not follow request order") && message.contains("barging"),
        "seed {seed}: {message}"
    );

    // The real lock, same seed and workload: no bypass.
    let (sim, result) = run_twice(sim_for(seed, &Policy::Random), || {
        lock_workload(Which::Real, fixed_contenders())
    });
    assert_eq!(passed(result), 12);
    let fairness = Fairness::of(sim.trace());
    assert_eq!(fairness_of(&fairness, "real").max_bypassed, 0);
    fairness.assert_no_bypass();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_real_lock_never_bypasses_under_the_barging_workload(
        seed in any::<u64>(),
        policy in policy(),
        contenders in lock_contenders(),
    ) {
        let rounds: usize = contenders.iter().map(|contender| contender.rounds.len()).sum();
        let (sim, result) = run_twice(sim_for(seed, &policy), || {
            lock_workload(Which::Real, contenders.clone())
        });
        prop_assert_eq!(passed(result), rounds);
        let fairness = Fairness::of(sim.trace());
        let real = fairness_of(&fairness, "real");
        prop_assert_eq!(real.grants(), rounds);
        prop_assert_eq!(real.max_bypassed, 0);
        fairness.assert_no_bypass();
    }
}
