//! Wait cycles are found from what tasks declare they wait on, never inferred from
//! internals: a lock wait wrapped or stored by a combinator, with a way out through an
//! event, a timer or a foreign waker, must pass; a cycle through combinators that pass
//! the task's own waker (select, map, boxing) must still be reported the moment it
//! forms; a wait registered through a combinator's own waker (`FuturesUnordered`,
//! `Shared`) is left out of cycle detection, because what else that combinator waits
//! on is unknown. Every case runs each seed twice and compares traces.

mod common;

use common::{named, now, run_twice, secs};
use futures::future::{select, Either, FutureExt};
use futures::stream::{FuturesUnordered, StreamExt};
use seedloop::sync::{Event, Lock, LockGuard};
use seedloop::time::sleep;
use seedloop::{FailureKind, Policy, Sim};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

fn sims() -> Vec<Sim> {
    let mut sims = vec![Sim::new(0).policy(Policy::Fifo)];
    sims.extend((0..8).map(Sim::new));
    sims.extend((0..4).map(|seed| Sim::new(seed).policy(Policy::Pct { depth: 2 })));
    sims
}

fn for_each_sim<Fut: Future<Output = ()>>(
    program: impl Fn() -> Fut,
    check: impl Fn(Result<(), seedloop::Failure>),
) {
    for (index, _) in sims().iter().enumerate() {
        let (_, result) = run_twice(|| sims().swap_remove(index), &program);
        check(result);
    }
}

fn passes<Fut: Future<Output = ()>>(program: impl Fn() -> Fut) {
    for_each_sim(program, |result| {
        if let Err(failure) = result {
            panic!("a correct program failed:\n{failure}");
        }
    });
}

fn wait_cycle_at_once<Fut: Future<Output = ()>>(program: impl Fn() -> Fut) {
    for_each_sim(program, |result| {
        let failure = result.expect_err("the cycle is reported");
        assert!(
            matches!(failure.kind, FailureKind::WaitCycle { .. }),
            "expected a wait cycle, got:\n{failure}"
        );
        assert_eq!(failure.time, secs(1), "reported the moment it formed");
    });
}

/// The main task keeps running for 10 s of virtual time, one step a second, so that
/// a wait cycle among other tasks is a partial deadlock, not a whole one.
async fn keep_running() {
    for _ in 0..10 {
        sleep(secs(1)).await;
    }
}

/// A waker slot filled by [`Parked`]: code outside seedloop that keeps a task's waker
/// and wakes it later (as a channel from another crate does).
type Stored = Rc<RefCell<(bool, Option<Waker>)>>;

/// Completes once the flag in `Stored` is set; keeps a clone of its waker meanwhile.
struct Parked(Stored);

impl Future for Parked {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.0.borrow_mut();
        if state.0 {
            return Poll::Ready(());
        }
        state.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

fn release(stored: &Stored) {
    let waker = {
        let mut state = stored.borrow_mut();
        state.0 = true;
        state.1.take()
    };
    if let Some(waker) = waker {
        waker.wake();
    }
}

type Accounts = (Rc<Lock<i64>>, Rc<Lock<i64>>);

fn accounts() -> Accounts {
    let a = Rc::new(Lock::new(0).named("a"));
    let b = Rc::new(Lock::new(0).named("b"));
    (a, b)
}

/// `second` holds `b` from the start and, at 1 s, waits for `a`; the caller's task
/// holds `a` and waits for `b` through whatever combinator it is testing.
fn holds_b_then_wants_a(a: Rc<Lock<i64>>, b: Rc<Lock<i64>>) -> seedloop::JoinHandle<()> {
    named("second", async move {
        let _b = b.lock().await;
        sleep(secs(1)).await;
        let _a = a.lock().await;
    })
}

/// `first` holds `a` from the start and, at 1 s, runs `then` (a wait for `b` through
/// whatever combinator the test is about) while still holding `a`.
fn holds_a_then(
    a: Rc<Lock<i64>>,
    then: impl Future<Output = ()> + 'static,
) -> seedloop::JoinHandle<()> {
    named("first", async move {
        let _a = a.lock().await;
        sleep(secs(1)).await;
        then.await;
    })
}

/// `second` as in [`holds_b_then_wants_a`], and `first` holding `a` and then running
/// `then` (given `b` and a waker slot that [`release`] completes); returns the slot and
/// the two handles.
fn with_parking_slot<Fut: Future<Output = ()> + 'static>(
    then: impl FnOnce(Rc<Lock<i64>>, Stored) -> Fut,
) -> (Stored, seedloop::JoinHandle<()>, seedloop::JoinHandle<()>) {
    let (a, b) = accounts();
    let stored: Stored = Rc::default();
    let second = holds_b_then_wants_a(a.clone(), b.clone());
    let first = holds_a_then(a, then(b, stored.clone()));
    (stored, first, second)
}

/// Waits for `b` inside a `FuturesUnordered` (which polls it with its own waker and
/// keeps the task's waker), next to a foreign future that a third task completes.
async fn lock_or_parked_in_futures_unordered(b: Rc<Lock<i64>>, stored: Stored) -> bool {
    type Branch<'a> = Pin<Box<dyn Future<Output = Option<LockGuard<'a, i64>>> + 'a>>;
    let mut branches: FuturesUnordered<Branch<'_>> = FuturesUnordered::new();
    branches.push(Box::pin(b.lock().map(Some)));
    branches.push(Box::pin(Parked(stored).map(|()| None)));
    branches.next().await.unwrap().is_some()
}

#[test]
fn a_lock_wait_in_futures_unordered_beside_a_foreign_wakeup_is_not_a_cycle() {
    passes(|| async {
        let (a, b) = accounts();
        let stored: Stored = Rc::default();
        let second = holds_b_then_wants_a(a.clone(), b.clone());
        let first = holds_a_then(a.clone(), {
            let (b, stored) = (b.clone(), stored.clone());
            async move {
                // Looks like a cycle with `second` at 1 s, but the parked future is
                // completed at 2 s: `first` gives up on `b` and releases `a`.
                let got_b = lock_or_parked_in_futures_unordered(b, stored).await;
                assert!(!got_b);
            }
        });
        sleep(secs(2)).await;
        release(&stored);
        first.await.unwrap();
        second.await.unwrap();
        assert_eq!(now(), secs(2));
    });
}

#[test]
fn a_lock_wait_in_a_shared_future_beside_an_event_is_not_a_cycle() {
    passes(|| async {
        let (a, b) = accounts();
        let give_up = Rc::new(Event::new());
        let second = holds_b_then_wants_a(a.clone(), b.clone());
        let first = holds_a_then(a.clone(), {
            let give_up = give_up.clone();
            async move {
                // `Shared` polls the waits with its own waker and keeps the task's.
                let either = async move {
                    let (wait, lock_b) = (give_up.wait(), b.lock());
                    futures::pin_mut!(wait, lock_b);
                    matches!(select(wait, lock_b).await, Either::Left(_))
                };
                assert!(either.shared().await, "the event frees it");
            }
        });
        sleep(secs(2)).await;
        give_up.set();
        first.await.unwrap();
        second.await.unwrap();
    });
}

#[test]
fn a_lock_wait_beside_a_stored_own_waker_is_not_a_cycle() {
    passes(|| async {
        let (stored, first, second) = with_parking_slot(|b, stored| async move {
            let lock_b = b.lock();
            match select(Box::pin(lock_b), Parked(stored)).await {
                Either::Left(_) => panic!("b is held until a is released"),
                Either::Right(((), _)) => {}
            }
        });
        sleep(secs(2)).await;
        release(&stored);
        first.await.unwrap();
        second.await.unwrap();
    });
}

#[test]
fn a_cycle_is_found_once_the_last_clone_of_the_waker_is_dropped() {
    // `first` parks with a clone of its waker in user code; the main task wakes it
    // by value at 1 s, which drops that clone. From then on nothing outside seedloop
    // can wake `first`, so its wait for `b` closes a cycle at once.
    wait_cycle_at_once(|| async {
        let (stored, first, second) = with_parking_slot(|b, stored| async move {
            Parked(stored).await;
            let _b = b.lock().await;
        });
        sleep(secs(1)).await;
        release(&stored);
        keep_running().await;
        drop((first, second));
    });
}

#[test]
fn a_clone_of_the_waker_still_held_keeps_a_lock_wait_out_of_cycles() {
    // The same program, but `first` keeps a clone of its own waker while it waits
    // for `b`: whoever holds a clone may wake it, so no cycle is reported; the run
    // ends with `first` and `second` still waiting.
    passes(|| async {
        let (a, b) = accounts();
        let second = holds_b_then_wants_a(a.clone(), b.clone());
        let first = holds_a_then(a.clone(), async move {
            let kept = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
            let _b = b.lock().await;
            drop(kept);
        });
        keep_running().await;
        assert!(!first.is_finished() && !second.is_finished());
        first.detach();
        second.detach();
    });
}

#[test]
fn a_lock_wait_beside_an_event_is_not_a_cycle() {
    passes(|| async {
        let (a, b) = accounts();
        let give_up = Rc::new(Event::new());
        let second = holds_b_then_wants_a(a.clone(), b.clone());
        let first = holds_a_then(a.clone(), {
            let give_up = give_up.clone();
            async move {
                let lock_b = b.lock();
                let wait = give_up.wait();
                futures::pin_mut!(lock_b, wait);
                assert!(matches!(select(lock_b, wait).await, Either::Right(_)));
            }
        });
        sleep(secs(3)).await;
        give_up.set();
        first.await.unwrap();
        second.await.unwrap();
    });
}

#[test]
fn a_lock_wait_under_a_timeout_is_not_a_cycle() {
    passes(|| async {
        let (a, b) = accounts();
        let second = holds_b_then_wants_a(a.clone(), b.clone());
        let first = holds_a_then(a.clone(), {
            async move {
                let late = seedloop::time::timeout(secs(5), b.lock()).await;
                assert!(late.is_err());
            }
        });
        first.await.unwrap();
        second.await.unwrap();
        assert_eq!(now(), secs(6));
    });
}

#[test]
fn a_cycle_through_a_select_of_two_locks_is_found() {
    wait_cycle_at_once(|| async {
        let (a, b) = accounts();
        let c = Rc::new(Lock::new(0).named("c"));
        let second = holds_b_then_wants_a(a.clone(), b.clone());
        let third = named("third", {
            let (a, c) = (a.clone(), c.clone());
            async move {
                let _c = c.lock().await;
                sleep(secs(1)).await;
                let _a = a.lock().await;
            }
        });
        let first = holds_a_then(a.clone(), {
            async move {
                // Either lock would do, but both holders wait for `a`.
                let (lock_b, lock_c) = (b.lock(), c.lock());
                futures::pin_mut!(lock_b, lock_c);
                let _ = select(lock_b, lock_c).await;
            }
        });
        // Only the three are stuck.
        keep_running().await;
        drop((first, second, third));
    });
}

#[test]
fn a_cycle_through_wrapping_combinators_is_found() {
    wait_cycle_at_once(|| async {
        let (a, b) = accounts();
        let second = holds_b_then_wants_a(a.clone(), b.clone());
        let first = holds_a_then(a.clone(), {
            async move {
                let boxed: Pin<Box<dyn Future<Output = i64> + '_>> =
                    Box::pin(b.lock().map(|guard| *guard));
                boxed.await;
            }
        });
        keep_running().await;
        drop((first, second));
    });
}

#[test]
fn a_wait_through_a_combinators_own_waker_is_left_out_of_cycle_detection() {
    // A real cycle, but `first` waits for `b` through `FuturesUnordered`'s waker:
    // seedloop cannot see what else it waits on, so no wait cycle is reported; the
    // run ends as a deadlock once nothing else can run.
    for_each_sim(
        || async {
            let (a, b) = accounts();
            let second = holds_b_then_wants_a(a.clone(), b.clone());
            let first = holds_a_then(a.clone(), {
                async move {
                    let mut waits = FuturesUnordered::new();
                    waits.push(b.lock());
                    waits.next().await;
                }
            });
            first.await.unwrap();
            second.await.unwrap();
        },
        |result| {
            let failure = result.expect_err("the program deadlocks");
            assert!(
                matches!(failure.kind, FailureKind::Deadlock { .. }),
                "{failure}"
            );
        },
    );
}
